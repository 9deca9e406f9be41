import { z } from 'zod';
import type { DockerRouteSchema } from '../../../src/docker-api/docker-routes.schemas';
import type { JsonSchema } from './bad-values';

export interface Param {
  name: string;
  schema: JsonSchema;
  required: boolean;
}

/** One operation of a surface, as its own document declares it. */
export interface Operation {
  surface: 'rest' | 'docker';
  method: string;
  /** With `{name}` placeholders. */
  path: string;
  params: Param[];
  query: Param[];
  /** JSON body schema; `binary` for an upload; undefined for none. */
  body?: JsonSchema | 'binary';
  bodyRequired: boolean;
  /** Needs no token (REST `@Public`). */
  public: boolean;
  /** Docker routes that hijack the connection. */
  upgrade: boolean;
}

type OpenApiDoc = {
  paths: Record<string, Record<string, OpenApiOp>>;
  components?: { schemas?: Record<string, JsonSchema> };
};
type OpenApiOp = {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: JsonSchema }>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
  security?: unknown[];
};

function deref(doc: OpenApiDoc, s: JsonSchema | undefined): JsonSchema {
  if (!s) return {};
  if (s.$ref) return deref(doc, doc.components?.schemas?.[s.$ref.split('/').pop()!]);
  return s;
}

/** Every operation of the OpenAPI document (GET /docs/openapi.json). */
export function restOperations(doc: OpenApiDoc): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete', 'head'].includes(method)) continue;
      const param = (where: string) =>
        (op.parameters ?? [])
          .filter((p) => p.in === where)
          .map((p) => ({ name: p.name, schema: deref(doc, p.schema), required: !!p.required }));
      const content = op.requestBody?.content ?? {};
      const json = content['application/json']?.schema;
      const binary = Object.keys(content).some((t) => t !== 'application/json');
      ops.push({
        surface: 'rest',
        method: method.toUpperCase(),
        path,
        params: param('path'),
        query: param('query'),
        body: json ? deref(doc, json) : binary ? 'binary' : undefined,
        bodyRequired: !!op.requestBody && op.requestBody.required !== false,
        public: op.security === undefined || op.security.length === 0,
        upgrade: false,
      });
    }
  return ops;
}

const toJson = (s: z.ZodType): JsonSchema =>
  z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as JsonSchema;

function objectParams(s: z.ZodType | undefined): Param[] {
  if (!s) return [];
  const json = toJson(s);
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
    name,
    schema,
    required: json.required?.includes(name) ?? false,
  }));
}

/** Every Docker route the socket serves, with its schema-table entry. */
export function dockerOperations(routes: string[], table: Record<string, DockerRouteSchema>): Operation[] {
  return routes.map((key) => {
    const [method, pattern] = key.split(' ');
    const entry = table[key] ?? {};
    return {
      surface: 'docker',
      method,
      path: pattern.replace(/:(\w+)\*?/g, '{$1}'),
      params: objectParams(entry.params),
      query: objectParams(entry.query),
      body: entry.body ? toJson(entry.body) : key === 'POST /images/load' ? 'binary' : undefined,
      bodyRequired: !!entry.body && key !== 'POST /exec/:id/start',
      public: false,
      upgrade: key === 'POST /containers/:id/attach' || key === 'POST /exec/:id/start',
    };
  });
}
