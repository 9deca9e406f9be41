import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { toErrorBody } from '../platform/errors';
import { ociCodeOf, OciErrorBody } from './registry.errors';
import { registryChallenge, RegistryRequest } from './registry-auth.guard';

/** Every /v2/ answer carries it; clients check it on `GET /v2/` to know they talk to a registry. */
export const API_VERSION_HEADER = ['Docker-Distribution-API-Version', 'registry/2.0'] as const;

/**
 * Errors on /v2/ routes as OCI error bodies (`{"errors":[{code,message,detail}]}`), statuses
 * from the same code table as REST. When the body had already begun (a blob failing
 * verification mid-stream) the only honest signal left is to cut the connection: the client
 * sees a short body, never a complete one.
 */
@Catch()
export class RegistryExceptionFilter implements ExceptionFilter {
  private readonly log = new Logger('registry');

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<RegistryRequest>();
    const res = ctx.getResponse<Response>();
    const rest = toErrorBody(err, req);
    if (rest.statusCode >= 500 && rest.code === 'INTERNAL')
      this.log.error({ err, requestId: rest.requestId }, `${req.method} ${req.path} failed`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body: OciErrorBody = {
      errors: [{ code: ociCodeOf(rest.code), message: rest.message, detail: rest.detail ?? {} }],
    };
    res.setHeader(...API_VERSION_HEADER);
    if (rest.statusCode === 401)
      res.setHeader('WWW-Authenticate', registryChallenge(req, rest.detail?.invalidToken === true));
    if (rest.code === 'REGISTRY_TOO_MANY_REQUESTS' && typeof rest.detail?.retryAfter === 'string')
      res.setHeader('Retry-After', rest.detail.retryAfter);
    if (rest.code === 'BLOB_RANGE_NOT_SATISFIABLE' && typeof rest.detail?.size === 'number')
      res.setHeader('Content-Range', `bytes */${rest.detail.size}`);
    res.status(rest.statusCode);
    if (req.method === 'HEAD') res.end();
    else res.json(body);
  }
}
