import { z } from 'zod';

/**
 * AdmissionReview `admission.k8s.io/v1` (k8s.io/api/admission/v1/types.go): the API server
 * sends a request and expects the same kind back with a response carrying the request's uid.
 */
export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

const groupVersionKind = z.looseObject({
  group: z.string().default(''),
  version: z.string(),
  kind: z.string(),
});

export const admissionReviewSchema = z.looseObject({
  apiVersion: z.literal(ADMISSION_API_VERSION, {
    error: `must be ${ADMISSION_API_VERSION} (configure the webhook with admissionReviewVersions: ["v1"])`,
  }),
  kind: z.literal('AdmissionReview', { error: 'must be AdmissionReview' }),
  request: z.looseObject(
    {
      uid: z.string({ error: 'is required' }).min(1, 'is required'),
      kind: groupVersionKind,
      resource: z.looseObject({ group: z.string(), version: z.string(), resource: z.string() }).optional(),
      subResource: z.string().optional(),
      name: z.string().optional(),
      namespace: z.string().optional(),
      operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
      userInfo: z.looseObject({
        username: z.string().optional(),
        uid: z.string().optional(),
        groups: z.array(z.string()).optional(),
      }),
      object: z.unknown().optional(),
      oldObject: z.unknown().optional(),
      dryRun: z.boolean().optional(),
    },
    { error: 'is required: the AdmissionReview the API server sends' },
  ),
});
export type AdmissionReview = z.infer<typeof admissionReviewSchema>;
export type AdmissionRequest = AdmissionReview['request'];

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  warnings?: string[];
  patchType?: 'JSONPatch';
  /** base64 of the JSON patch (RFC 6902). */
  patch?: string;
}

export function reviewResponse(response: AdmissionResponse): Record<string, unknown> {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

/** A review that cannot be read: the uid when there is one (the API server matches on it). */
export function uidOf(body: unknown): string {
  const uid = (body as { request?: { uid?: unknown } } | null)?.request?.uid;
  return typeof uid === 'string' ? uid : '';
}
