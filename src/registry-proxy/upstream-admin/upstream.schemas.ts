import { z } from 'zod';
import { UPSTREAM_ALIAS_RE } from '../../platform/config';
import { text } from '../../platform/http';
import type { UpstreamCredentials } from '../../platform/config';

const aliasSchema = z
  .string()
  .max(64, 'at most 64 characters')
  .regex(
    UPSTREAM_ALIAS_RE,
    'lowercase letters and digits, optionally joined by - or _ (e.g. hub, local-mirror)',
  );

export const upstreamAliasParam = z.object({ alias: aliasSchema });

/** Basic user/password (also what a Bearer realm gets), or the upstream's own bearer token. */
const credentialsSchema = z
  .strictObject({
    username: text(256).min(1).optional(),
    password: text(4096).min(1).optional(),
    token: text(8192).min(1).optional(),
  })
  .superRefine((c, ctx) => {
    const basic = c.username !== undefined || c.password !== undefined;
    const ok = c.token !== undefined ? !basic : c.username !== undefined && c.password !== undefined;
    if (!ok) ctx.addIssue({ code: 'custom', message: 'give username and password (Basic), or token alone' });
  })
  .transform((c): UpstreamCredentials =>
    c.token !== undefined
      ? { token: c.token }
      : { username: c.username as string, password: c.password as string },
  );

const fields = {
  url: text(2048)
    .min(1)
    .describe(
      'https://host[:port]; plain http as http+insecure://host[:port] or http:// with insecure: true',
    ),
  insecure: z
    .boolean()
    .optional()
    .describe('true allows a plain-http upstream (images and credentials travel unencrypted)'),
};

export const createUpstreamBody = z.strictObject({
  alias: aliasSchema.describe('clients pull <warden>/<alias>/<repository>'),
  ...fields,
  credentials: credentialsSchema.optional().describe('stored encrypted; never returned'),
});

export const updateUpstreamBody = z.strictObject({
  alias: aliasSchema.optional().describe('if given, must be the alias in the path'),
  ...fields,
  credentials: credentialsSchema
    .nullable()
    .optional()
    .describe('omitted: keep the stored credentials; null: remove them; an object: replace them'),
});

export type CreateUpstreamBody = z.infer<typeof createUpstreamBody>;
export type UpdateUpstreamBody = z.infer<typeof updateUpstreamBody>;
