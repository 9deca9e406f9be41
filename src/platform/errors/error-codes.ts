/**
 * Every error code Warden answers with, and its HTTP status: the one table (STYLE habit 4).
 * Modules own their codes (grouped below) and raise them as WardenError; REST answers
 * `{statusCode, code, message, detail}`, the registry routes OCI error bodies and the
 * docker routes `{message}` — all from these same codes.
 */
export const ERROR_STATUS = {
  // platform
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  // auth
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  TOKEN_NOT_FOUND: 404,
  PRINCIPAL_NOT_FOUND: 404,
  PRINCIPAL_EXISTS: 409,
  // audit
  AUDIT_CURSOR_INVALID: 400,
  // audit (reports)
  REPORT_NOT_FOUND: 404,
  // policy
  POLICY_NOT_FOUND: 404,
  POLICY_VERSION_NOT_FOUND: 404,
  POLICY_NOT_ACTIVE: 409,
  POLICY_BINDING_NOT_FOUND: 404,
  POLICY_BINDING_CONFLICT: 409,
  EXCEPTION_INVALID: 400,
  // images (content store, import, layer unpacking)
  BLOB_DIGEST_INVALID: 400,
  BLOB_DIGEST_MISMATCH: 400,
  BLOB_TOO_LARGE: 413,
  BLOB_NOT_FOUND: 404,
  BLOB_RANGE_NOT_SATISFIABLE: 416,
  IMAGE_ARCHIVE_INVALID: 400,
  IMAGE_ARCHIVE_TOO_LARGE: 413,
  IMAGE_REFERENCE_INVALID: 400,
  IMAGE_REFERENCE_AMBIGUOUS: 400,
  IMAGE_NOT_FOUND: 404,
  IMAGE_IN_USE: 409,
  LAYER_REFUSED: 422,
  LAYER_INVALID: 422,
  // registry (the /v2/ proxy; OCI codes in src/registry-proxy/registry.errors.ts)
  REGISTRY_NAME_INVALID: 400,
  REGISTRY_TAG_INVALID: 400,
  REGISTRY_NAME_UNKNOWN: 404,
  REGISTRY_MANIFEST_UNKNOWN: 404,
  REGISTRY_UNAUTHORIZED: 401,
  REGISTRY_DENIED: 403,
  REGISTRY_UNSUPPORTED: 405,
  REGISTRY_TOO_MANY_REQUESTS: 429,
  REGISTRY_UPSTREAM_FAILED: 502,
  REGISTRY_UPSTREAM_UNAVAILABLE: 503,
  // registry upstreams (admin API)
  REGISTRY_UPSTREAM_NOT_FOUND: 404,
  REGISTRY_UPSTREAM_EXISTS: 409,
  REGISTRY_UPSTREAM_READ_ONLY: 409,
  // runtime (containers)
  LAUNCH_DENIED: 403,
  CONTAINER_NOT_FOUND: 404,
  CONTAINER_AMBIGUOUS: 400,
  CONTAINER_NAME_IN_USE: 409,
  CONTAINER_RUNNING: 409,
  CONTAINER_NOT_RUNNING: 409,
  // a verb that does not apply in the container's state (src/runtime/lifecycle/transitions.ts)
  CONTAINER_STATE_CONFLICT: 409,
  CONTAINER_NOT_MODIFIED: 304,
  CONTAINER_COMMAND_INVALID: 400,
  CONTAINER_START_FAILED: 500,
  EXEC_NOT_FOUND: 404,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export function statusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}
