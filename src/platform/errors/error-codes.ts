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
  // policy
  POLICY_NOT_FOUND: 404,
  POLICY_VERSION_NOT_FOUND: 404,
  POLICY_NOT_ACTIVE: 409,
  POLICY_BINDING_NOT_FOUND: 404,
  POLICY_BINDING_CONFLICT: 409,
  EXCEPTION_INVALID: 400,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export function statusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}
