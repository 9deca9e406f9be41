import { applyDecorators, PipeTransform } from '@nestjs/common';
import { ApiBody, ApiParam, ApiQuery } from '@nestjs/swagger';
import { z } from 'zod';
import { ErrorCode, WardenError } from '../errors';

/** Lists every problem in one message: `body.memory: expected number; body.image: required`. */
export function describeIssues(where: string, error: z.ZodError): string[] {
  return error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
}

/** Validates and parses a body or query with a zod schema; bad input is a 400 naming each field. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly where: 'body' | 'query' | 'param' = 'body',
    /** The module's own code for this input, when it has one (e.g. IMAGE_REFERENCE_INVALID). */
    private readonly code: ErrorCode = 'VALIDATION_FAILED',
  ) {}

  transform(value: unknown): z.infer<S> {
    const r = this.schema.safeParse(value ?? (this.where === 'body' ? undefined : {}));
    if (r.success) return r.data;
    const problems = describeIssues(this.where, r.error);
    throw new WardenError(this.code, `invalid ${this.where}: ${problems.join('; ')}`, { problems });
  }
}

/** OpenAPI body schema straight from the zod schema, so docs and validation cannot drift. */
export function ApiZodBody(schema: z.ZodType, description?: string) {
  return applyDecorators(ApiBody({ description, schema: z.toJSONSchema(schema, { io: 'input' }) as object }));
}

export function ApiZodQuery(schema: z.ZodObject) {
  const json = z.toJSONSchema(schema, { io: 'input' }) as {
    properties?: Record<string, object>;
    required?: string[];
  };
  return applyDecorators(
    ...Object.entries(json.properties ?? {}).map(([name, s]) =>
      ApiQuery({ name, required: json.required?.includes(name) ?? false, schema: s }),
    ),
  );
}

/** OpenAPI path parameter schema from the zod schema that validates it (ZodPipe 'param'). */
export function ApiZodParam(name: string, schema: z.ZodType, description?: string) {
  return ApiParam({ name, description, schema: z.toJSONSchema(schema, { io: 'input' }) as object });
}
