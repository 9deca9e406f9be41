import { z } from 'zod';
import { isValidDigest, parseImageReference } from '../images';
import { text } from '../platform/http';
import { imageName, launchRequestSchema, POLICY_NAME_RE, policyDocumentInputSchema } from './core';
import { BINDING_KINDS } from './policy.repository';

/** Request shapes of the policy and exception routes; the OpenAPI docs are generated from them. */

const versionId = z.string().regex(/^[a-f0-9]{64}$/, 'must be a policy version id (64 lowercase hex digits)');
const isoDate = (what: string) =>
  z.iso
    .datetime({ offset: true, error: `must be an ISO 8601 time with offset (${what})` })
    .transform((s) => new Date(s));

export const policyNameParam = z.object({
  name: z.string().regex(POLICY_NAME_RE, 'must be 1-63 lowercase letters, digits, ".", "_" or "-"'),
});

export const activateBody = z.strictObject({ versionId });

const bindingFields = {
  kind: z.enum(BINDING_KINDS),
  value: text(253)
    .min(1)
    .optional()
    .describe(
      'principal id, team name, Kubernetes user, group or namespace, or a service account as <namespace>:<name>; omitted for everyone',
    ),
};

function valueMatchesKind(b: { kind: string; value?: string }, ctx: z.RefinementCtx): void {
  if (b.kind !== 'everyone' && b.value === undefined)
    ctx.addIssue({ code: 'custom', path: ['value'], message: `is required for kind ${b.kind}` });
  if (b.kind === 'k8s-serviceaccount' && b.value !== undefined && !/^[^:]+:[^:]+$/.test(b.value))
    ctx.addIssue({
      code: 'custom',
      path: ['value'],
      message: 'must be <namespace>:<name> for kind k8s-serviceaccount (e.g. shop:checkout)',
    });
  if (b.kind === 'everyone' && b.value !== undefined && b.value !== '*')
    ctx.addIssue({ code: 'custom', path: ['value'], message: 'must be omitted for kind everyone' });
}

export const bindingBody = z
  .strictObject({
    ...bindingFields,
    replace: z.boolean().optional().describe('move the subject here if it is bound to another policy'),
  })
  .superRefine(valueMatchesKind);

export const bindingQuery = z.object(bindingFields).superRefine(valueMatchesKind);

export const evaluateQuery = z.object({
  versionId: versionId.optional().describe('evaluate this version instead of the active one'),
});

/** Docs only: validation of the body is toContainerSpec's, which names every bad field. */
export const evaluateBodyDocs = launchRequestSchema;

const replayFields = {
  from: isoDate('start of the window, inclusive'),
  to: isoDate('end of the window, exclusive'),
  limit: z.number().int().min(1).max(10_000).default(1000),
};

function windowOrdered(b: { from: Date; to: Date }, ctx: z.RefinementCtx): void {
  // Refinements run even when a field failed: then it is still the string that was sent.
  if (!(b.from instanceof Date) || !(b.to instanceof Date)) return;
  if (b.from.getTime() >= b.to.getTime())
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
}

// The document branch is checked by parsePolicyDocument, whose messages name each field.
export const replayBody = z
  .strictObject({
    candidate: z.union([versionId, z.record(z.string(), z.unknown())], {
      error: 'must be a policy version id or a policy document',
    }),
    ...replayFields,
  })
  .superRefine(windowOrdered);

export const replayBodyDocs = z.strictObject({
  candidate: z.union([versionId, policyDocumentInputSchema]),
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
  limit: z.number().int().min(1).max(10_000).optional(),
});

/** Rules an exception can waive: the rule names checks report (see src/policy/checks). */
export const WAIVABLE_RULES = [
  'resources.memory.required',
  'resources.memory.max',
  'resources.cpu.required',
  'resources.cpu.max',
  'resources.pids.required',
  'resources.pids.max',
  'images.allowedRegistries',
  'images.requireDigest',
  'images.forbidLatest',
  'privileged.allow',
  'hostNamespaces.allow',
  'capabilities.allowAdd',
  'binds.allowedHostPaths',
  'devices.allowedHostPaths',
  'labels.required',
  'network.allowedNetworks',
  'network.publish.allowedHostPorts',
  'network.publish.allowedHostIps',
  'network.publish.wildcardBelow1024',
] as const;

const repository = text(512)
  .transform((s, ctx) => {
    const r = parseImageReference(s);
    if (!r.ok || r.ref.tag !== undefined || r.ref.digest !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a repository such as corp.io/team/app (no tag or digest)',
      });
      return z.NEVER;
    }
    // Stored as the image name the rules match on, so `corp.io/team/app/` and the like agree.
    return imageName(r.ref);
  })
  .describe('registry/repository as in the image reference, e.g. corp.io/team/app');

const digest = z.string().refine(isValidDigest, 'must be a digest such as sha256:<64 hex digits>');

export const exceptionBody = z
  .strictObject({
    rule: z.enum(WAIVABLE_RULES),
    principalId: text(128).min(1).optional(),
    team: text(128).min(1).optional(),
    image: z
      .strictObject({ repository: repository.optional(), digest: digest.optional() })
      .refine(
        (i) => i.repository !== undefined || i.digest !== undefined,
        'give repository or digest (or both)',
      ),
    requester: text(128).min(1).describe('who asked for it; the approver is the calling admin'),
    ticket: text(256).min(1).describe('change or ticket reference'),
    expiresAt: isoDate('when the exception stops admitting').refine(
      (d) => d.getTime() > Date.now(),
      'must be in the future',
    ),
  })
  .superRefine((b, ctx) => {
    if (b.principalId === undefined && b.team === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['principalId'],
        message: 'give principalId or team: the scope the exception applies to',
      });
  });

export const exceptionsQuery = z.object({
  live: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .describe('only exceptions that have not expired'),
});
