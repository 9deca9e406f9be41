import { z } from 'zod';
import { absolutePath, containerRef, imageRefParam, text } from '../platform/http';
import { WardenError } from '../platform/errors';
import { dockerCreateBodySchema, dockerHostConfigSchema, dockerUser } from './create-body';
import { MAX_MEMORY_BYTES, MIN_MEMORY_BYTES } from '../policy';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * What every Docker route takes, checked by the server before its handler runs (and before
 * anything is recorded): path parameters, query values and the JSON body. One entry per
 * route, keyed `METHOD /path` as the controllers register it; the server refuses to start
 * with a route missing here. Queries are loose objects — Docker clients send parameters
 * Warden does not read, and Docker ignores unknown ones too — but every value Warden reads is
 * typed and bounded; a NUL byte anywhere in the URL is refused before routing.
 */
export interface DockerRouteSchema {
  params?: z.ZodType<Record<string, string>>;
  query?: z.ZodType<Record<string, unknown>>;
  /** The JSON body; a route without one takes no body (or, for uploads, a stream). */
  body?: z.ZodType;
  /**
   * Path parameters that are lookup keys: one that cannot be valid cannot exist either, and
   * Docker clients read 404 as "try the next kind" (`docker inspect <image>` asks for a
   * container of that name first), so it is answered as not found.
   */
  notFound?: (params: Record<string, string>) => WardenError;
}

/** Go's strconv.ParseBool spellings (Docker's query booleans), and "" for unset. */
const BOOL_WORDS = ['', '1', 't', 'T', 'true', 'TRUE', 'True', '0', 'f', 'F', 'false', 'FALSE', 'False'];
const flag = z.enum(BOOL_WORDS, { error: 'must be a boolean (1, 0, true or false)' }).optional();
const intText = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d{1,12}$/, 'must be a whole number')
    .refine((s) => Number(s) >= min && Number(s) <= max, `must be between ${min} and ${max}`)
    .optional();
const signal = z
  .string()
  .regex(/^((SIG)?[A-Z][A-Z0-9+-]{0,15}|\d{1,2})$/i, 'must be a signal name (SIGTERM, TERM) or number')
  .optional();
/** Unix seconds (with a fraction, as the CLI sends) or an RFC 3339 time. */
const time = z
  .string()
  .max(64)
  .refine(
    (s) => s === '' || /^\d{1,12}(\.\d{1,9})?$/.test(s) || !Number.isNaN(Date.parse(s)),
    'must be unix seconds or an RFC 3339 time',
  )
  .optional();
const filters = text(65_536).optional();

const byContainer = z.object({ id: containerRef });
const noSuchContainer = (p: Record<string, string>) =>
  new WardenError('CONTAINER_NOT_FOUND', `No such container: ${p.id}`, { ref: p.id });
const byExec = z.object({ id: z.string().regex(/^[0-9a-f]{1,64}$/, 'must be an exec id (hex)') });
const byImage = z.object({ name: imageRefParam });
const none = z.looseObject({});
const byVolume = z.object({
  name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/, 'must be a volume name'),
});
const noSuchVolume = (p: Record<string, string>) =>
  new WardenError('VOLUME_NOT_FOUND', `get ${p.name}: no such volume`, { name: p.name });
const volumeCreate = z.looseObject({
  Name: z.union([z.literal(''), byVolume.shape.name]).optional(),
  Driver: text(64).optional(),
  DriverOpts: z.record(text(64), text(4096)).nullable().optional(),
  Labels: z.record(text(1024), text(65_536)).nullable().optional(),
});

const execConfig = z.looseObject({
  AttachStdin: z.boolean().optional(),
  AttachStdout: z.boolean().optional(),
  AttachStderr: z.boolean().optional(),
  Tty: z.boolean().optional(),
  Cmd: z
    .array(text(131_072), { error: 'must be a list of strings' })
    .min(1, 'No exec command specified')
    .max(4096),
  Env: z.array(text(131_072)).max(4096).nullable().optional(),
  User: dockerUser.optional(),
  WorkingDir: z.union([z.literal(''), absolutePath('WorkingDir')]).optional(),
  Privileged: z.boolean().optional(),
  DetachKeys: text(64).optional(),
  ConsoleSize: z.array(z.number().int().min(0).max(65535)).length(2).nullable().optional(),
});

const execStart = z.looseObject({
  Detach: z.boolean().optional(),
  Tty: z.boolean().optional(),
  ConsoleSize: z.array(z.number().int().min(0).max(65535)).length(2).nullable().optional(),
});

const byNetwork = z.object({
  id: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, 'must be a network id, id prefix or name'),
});
const noSuchNetwork = (p: Record<string, string>) =>
  new WardenError('NETWORK_NOT_FOUND', `network ${p.id} not found`, { ref: p.id });
const networkCreate = z.looseObject({
  Name: z.string({ error: 'is required: the network name' }).pipe(text(128)),
  CheckDuplicate: z.boolean().optional(),
  Driver: text(64).optional(),
  Internal: z.boolean().optional(),
  Attachable: z.boolean().optional(),
  Ingress: z.boolean().optional(),
  EnableIPv6: z.boolean().nullable().optional(),
  IPAM: z
    .looseObject({
      Driver: text(64).optional(),
      Config: z
        .array(
          z.looseObject({
            Subnet: text(64).optional(),
            IPRange: text(64).optional(),
            Gateway: text(64).optional(),
          }),
        )
        .max(16)
        .nullable()
        .optional(),
      Options: z.record(text(256), text(4096)).nullable().optional(),
    })
    .nullable()
    .optional(),
  Options: z.record(text(256), text(4096)).nullable().optional(),
  Labels: z.record(text(1024), text(65_536)).nullable().optional(),
});
const endpointSettings = z.looseObject({
  IPAMConfig: z
    .looseObject({ IPv4Address: text(64).optional() })
    .nullable()
    .optional(),
  Aliases: z.array(text(253)).max(64).nullable().optional(),
});
const networkConnect = z.looseObject({
  Container: z.string({ error: 'is required: the container' }).pipe(text(128)),
  EndpointConfig: endpointSettings.nullable().optional(),
});
const networkDisconnect = z.looseObject({
  Container: z.string({ error: 'is required: the container' }).pipe(text(128)),
  Force: z.boolean().optional(),
});

const attachQuery = z.looseObject({
  stream: flag,
  stdin: flag,
  stdout: flag,
  stderr: flag,
  logs: flag,
  detachKeys: text(64).optional(),
});

export const DOCKER_ROUTE_SCHEMAS: Record<string, DockerRouteSchema> = {
  // system
  'GET /version': { query: none },
  'GET /info': { query: none },
  // containers
  'POST /containers/create': {
    query: z.looseObject({
      name: z
        .string()
        .regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, 'must be [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128')
        .or(z.literal(''))
        .optional(),
      platform: text(64).optional(),
    }),
    body: dockerCreateBodySchema,
  },
  'GET /containers/json': {
    query: z.looseObject({ all: flag, limit: intText(-1, 1_000_000), size: flag, filters }),
  },
  'GET /containers/:id/json': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ size: flag }),
  },
  'POST /containers/:id/start': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ detachKeys: text(64).optional() }),
  },
  'POST /containers/:id/stop': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ t: intText(-1, 86_400), signal }),
  },
  'POST /containers/:id/kill': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ signal }),
  },
  'POST /containers/:id/restart': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ t: intText(-1, 86_400), signal }),
  },
  'DELETE /containers/:id': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ force: flag, v: flag, link: flag }),
  },
  // streams
  'POST /containers/:id/attach': {
    params: byContainer,
    notFound: noSuchContainer,
    query: attachQuery,
  },
  'GET /containers/:id/attach/ws': {
    params: byContainer,
    notFound: noSuchContainer,
    query: attachQuery,
  },
  'POST /containers/:id/resize': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ h: intText(0, 65535), w: intText(0, 65535) }),
  },
  'POST /containers/:id/wait': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ condition: z.enum(['', 'not-running', 'next-exit', 'removed']).optional() }),
  },
  'GET /containers/:id/logs': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({
      follow: flag,
      stdout: flag,
      stderr: flag,
      since: time,
      until: time,
      timestamps: flag,
      tail: z
        .string()
        .regex(/^(all|\d{1,9})?$/, 'must be all or a number of lines')
        .optional(),
    }),
  },
  'GET /containers/:id/stats': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ stream: flag, 'one-shot': flag }),
  },
  'GET /containers/:id/top': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ ps_args: text(256).optional() }),
  },
  'POST /containers/:id/pause': { params: byContainer, notFound: noSuchContainer, query: none },
  'POST /containers/:id/unpause': { params: byContainer, notFound: noSuchContainer, query: none },
  'POST /containers/:id/rename': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ name: text(256).optional() }),
  },
  'POST /containers/prune': { query: z.looseObject({ filters }) },
  'POST /containers/:id/update': {
    params: byContainer,
    notFound: noSuchContainer,
    query: none,
    body: dockerHostConfigSchema.extend({
      Memory: int(MIN_MEMORY_BYTES, MAX_MEMORY_BYTES).or(z.literal(0)).optional(),
    }),
  },
  // files in and out
  'GET /containers/:id/archive': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ path: text(4096).optional() }),
  },
  'PUT /containers/:id/archive': {
    params: byContainer,
    notFound: noSuchContainer,
    query: z.looseObject({ path: text(4096).optional(), noOverwriteDirNonDir: flag, copyUIDGID: flag }),
  },
  'GET /containers/:id/export': { params: byContainer, notFound: noSuchContainer, query: none },
  'GET /containers/:id/changes': { params: byContainer, notFound: noSuchContainer, query: none },
  // exec
  'POST /containers/:id/exec': {
    params: byContainer,
    notFound: noSuchContainer,
    query: none,
    body: execConfig,
  },
  'POST /exec/:id/start': { params: byExec, query: none, body: execStart },
  'POST /exec/:id/resize': {
    params: byExec,
    query: z.looseObject({ h: intText(0, 65535), w: intText(0, 65535) }),
  },
  'GET /exec/:id/json': { params: byExec, query: none },
  // images
  'GET /images/json': {
    query: z.looseObject({ all: flag, filters, digests: flag, 'shared-size': flag }),
  },
  'POST /images/create': {
    query: z.looseObject({
      fromImage: text(512).optional(),
      tag: text(256).optional(),
      platform: text(64).optional(),
      fromSrc: text(4096).optional(),
      repo: text(512).optional(),
      message: text(4096).optional(),
    }),
  },
  'GET /images/get': { query: z.looseObject({ names: text(512).optional() }) },
  'POST /images/prune': { query: z.looseObject({ filters }) },
  'GET /images/:name*/get': { params: byImage, query: none },
  'GET /images/:name*/history': { params: byImage, query: none },
  'POST /images/:name*/tag': {
    params: byImage,
    query: z.looseObject({ repo: text(512).optional(), tag: text(128).optional() }),
  },
  'GET /distribution/:name*/json': { params: byImage, query: none },
  'POST /images/:name*/push': { params: byImage, query: z.looseObject({ tag: text(128).optional() }) },
  'POST /commit': {
    query: z.looseObject({
      container: text(256).optional(),
      repo: text(512).optional(),
      tag: text(128).optional(),
      comment: text(4096).optional(),
      author: text(512).optional(),
      pause: flag,
    }),
  },
  'POST /images/load': { query: z.looseObject({ quiet: flag }) },
  'GET /images/:name*/json': { params: byImage, query: none },
  'DELETE /images/:name*': { params: byImage, query: z.looseObject({ force: flag, noprune: flag }) },
  // networks
  'GET /networks': { query: z.looseObject({ filters }) },
  'GET /networks/:id': { params: byNetwork, query: none, notFound: noSuchNetwork },
  'POST /networks/create': { query: none, body: networkCreate },
  'POST /networks/prune': { query: z.looseObject({ filters }) },
  'DELETE /networks/:id': { params: byNetwork, query: none, notFound: noSuchNetwork },
  'POST /networks/:id/connect': {
    params: byNetwork,
    query: none,
    body: networkConnect,
    notFound: noSuchNetwork,
  },
  'POST /networks/:id/disconnect': {
    params: byNetwork,
    query: none,
    body: networkDisconnect,
    notFound: noSuchNetwork,
  },
  // volumes
  'GET /volumes': { query: z.looseObject({ filters }) },
  'POST /volumes/create': { query: none, body: volumeCreate },
  'POST /volumes/prune': { query: z.looseObject({ filters }) },
  'GET /volumes/:name': { params: byVolume, notFound: noSuchVolume, query: none },
  'DELETE /volumes/:name': {
    params: byVolume,
    notFound: noSuchVolume,
    query: z.looseObject({ force: flag }),
  },
  // events
  'GET /events': { query: z.looseObject({ since: time, until: time, filters }) },
};
