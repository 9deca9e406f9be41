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
  // A server Warden needs is down (its supervisor restarts an embedded one): retry later.
  DATABASE_UNAVAILABLE: 503,
  REDIS_UNAVAILABLE: 503,
  // platform: PostgreSQL errors by SQLSTATE class (src/platform/errors/classify.ts)
  DB_UNAVAILABLE: 503, // 08xxx, 53xxx, 57Pxx, 58xxx, 57014: the server is gone, full or restarting
  DB_VALUE_INVALID: 400, // 22xxx data exceptions, 23xxx other than unique: a value cannot be stored
  DB_VALUE_TOO_LARGE: 422, // 54xxx program limits (an index row too large)
  DB_CONFLICT: 409, // 23505 unique violation, 40001/40P01 serialization and deadlock
  // runtime: kernel errors (errno of a syscall, cgroupfs, the shim) by what they mean for the request
  RUNTIME_CONFLICT: 409, // EBUSY, EEXIST, ENOENT, ESRCH, ENOTEMPTY: the container changed state meanwhile
  RUNTIME_REJECTED: 422, // EINVAL, ERANGE, E2BIG, …: the kernel refused a value the request carried
  RUNTIME_EXHAUSTED: 503, // ENOSPC, ENOMEM, EAGAIN, EMFILE: the host is out of a resource
  RUNTIME_UNAVAILABLE: 503, // EPERM, EACCES, EIO, cgroup timeouts: the host would not do it now
  // auth
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  TEAM_NOT_MEMBER: 403,
  TLS_REQUIRED: 403,
  TOKEN_NOT_FOUND: 404,
  PRINCIPAL_NOT_FOUND: 404,
  PRINCIPAL_EXISTS: 409,
  // audit
  AUDIT_CURSOR_INVALID: 400,
  AUDIT_EVENT_NOT_FOUND: 404,
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
  EXEC_DENIED: 403,
  ATTACH_DENIED: 403,
  NETWORK_CONNECT_DENIED: 403, // the caller's policy refuses the network (network.allowedNetworks)
  EXEC_RECORDING_NOT_FOUND: 404,
  LOGS_NOT_READABLE: 409, // --log-driver none: nothing kept to read (Docker answers 501; Warden answers no 5xx for a request it understood)
  CONTAINER_NOT_FOUND: 404,
  CONTAINER_AMBIGUOUS: 400,
  CONTAINER_NAME_IN_USE: 409,
  CONTAINER_RUNNING: 409,
  CONTAINER_NOT_RUNNING: 409,
  // a verb that does not apply in the container's state (src/runtime/lifecycle/transitions.ts)
  CONTAINER_STATE_CONFLICT: 409,
  CONTAINER_NOT_MODIFIED: 304,
  CONTAINER_COMMAND_INVALID: 400,
  CONTAINER_START_FAILED: 500, // a start that failed for a reason nothing classified (a bug: logged)
  CONTAINER_SETUP_FAILED: 422, // the shim could not set the container up as configured (a mount, workdir, limit): step + errno
  EXEC_NOT_FOUND: 404,
  // network (src/network)
  NETWORK_NOT_FOUND: 404,
  NETWORK_AMBIGUOUS: 400,
  NETWORK_EXISTS: 409,
  NETWORK_IN_USE: 409,
  NETWORK_BUILTIN: 403, // bridge, host and none are Warden's own (Docker: "pre-defined network")
  NETWORK_OVERLAP: 409, // a subnet that overlaps another network's
  NETWORK_EXHAUSTED: 409, // no address left on the network, or no subnet left in the pool
  NETWORK_ADDRESS_IN_USE: 409,
  NETWORK_DISABLED: 400, // bridge networking is off on this Warden (WARDEN_NETWORKING)
  NETWORK_PORT_IN_USE: 409, // a host port already bound, by a container or anything else
  NETWORK_SETUP_FAILED: 503, // netavark could not set the container's network up: host state, retry
  CONTAINER_PATH_NOT_FOUND: 404,
  // volumes
  VOLUME_NOT_FOUND: 404,
  VOLUME_IN_USE: 409,
  VOLUME_DENIED: 403,
  // fleet
  NODE_NOT_FOUND: 404,
  NODE_UNAVAILABLE: 409, // a launch or verb for a node that is not heartbeating: nothing was sent
  DISPATCH_TIMEOUT: 504, // the target node did not answer in time; its job stays queued (runs at most once)
  DISPATCH_NODE_LOST: 504, // the target stopped heartbeating with the job queued: it runs once when the node is back
  DISPATCH_FAILED: 502, // the target node crashed on the job more often than it is retried
  DISPATCH_INTERRUPTED: 409, // a create whose node died mid-way before making the container: launch again
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export function statusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}
