import type { ErrorCode } from '../platform/errors';

/**
 * Warden's error codes as the OCI distribution spec names them (spec.md, "Error Codes").
 * The status comes from the one table in platform/errors; only the code word differs, so a
 * REST client and a registry client are told the same thing in their own dialect.
 */
const OCI_CODES: Partial<Record<ErrorCode, string>> = {
  REGISTRY_NAME_INVALID: 'NAME_INVALID',
  REGISTRY_TAG_INVALID: 'TAG_INVALID',
  BLOB_DIGEST_INVALID: 'DIGEST_INVALID',
  REGISTRY_NAME_UNKNOWN: 'NAME_UNKNOWN',
  REGISTRY_MANIFEST_UNKNOWN: 'MANIFEST_UNKNOWN',
  BLOB_NOT_FOUND: 'BLOB_UNKNOWN',
  BLOB_RANGE_NOT_SATISFIABLE: 'RANGE_INVALID',
  REGISTRY_UNAUTHORIZED: 'UNAUTHORIZED',
  UNAUTHENTICATED: 'UNAUTHORIZED',
  REGISTRY_DENIED: 'DENIED',
  FORBIDDEN: 'DENIED',
  REGISTRY_UNSUPPORTED: 'UNSUPPORTED',
  METHOD_NOT_ALLOWED: 'UNSUPPORTED',
  ROUTE_NOT_FOUND: 'UNSUPPORTED',
  REGISTRY_TOO_MANY_REQUESTS: 'TOOMANYREQUESTS',
  REGISTRY_UPSTREAM_UNAVAILABLE: 'UNAVAILABLE',
  REGISTRY_UPSTREAM_FAILED: 'UNKNOWN',
};

export function ociCodeOf(code: ErrorCode | string): string {
  return OCI_CODES[code as ErrorCode] ?? (code === 'INTERNAL' ? 'UNKNOWN' : 'UNKNOWN');
}

export interface OciErrorBody {
  errors: Array<{ code: string; message: string; detail?: unknown }>;
}
