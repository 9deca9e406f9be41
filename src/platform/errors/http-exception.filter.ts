import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { classifyError } from './classify';
import { databaseUnavailable, redisUnavailable } from './unavailable';
import { ErrorCode } from './error-codes';
import { WardenError } from './warden-error';

export interface ErrorBody {
  statusCode: number;
  code: ErrorCode | string;
  message: string;
  detail?: Record<string, unknown>;
  requestId?: string;
}

const NEST_STATUS_CODES: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** Turns anything thrown into the REST error body. Only unexpected errors are 500s and logged as errors. */
export function toErrorBody(err: unknown, req: Request): ErrorBody {
  const requestId = (req as { id?: string }).id;
  err = redisUnavailable(err) ?? err;
  const known = err instanceof HttpException ? undefined : (classifyError(err) ?? databaseUnavailable(err));
  if (known) {
    return {
      statusCode: known.status,
      code: known.code,
      message: known.message,
      detail: known.detail,
      requestId,
    };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse();
    let message =
      typeof res === 'string' ? res : ((res as { message?: string | string[] }).message ?? err.message);
    if (Array.isArray(message)) message = message.join('; ');
    if (status === 404 && /^Cannot [A-Z]+ /.test(message)) {
      message = `no route ${req.method} ${req.path}: see /docs for the API`;
    }
    return { statusCode: status, code: NEST_STATUS_CODES[status] ?? 'BAD_REQUEST', message, requestId };
  }
  return {
    statusCode: 500,
    code: 'INTERNAL',
    message: 'internal error; the request id is in the server log',
    requestId,
  };
}

@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly log = new Logger('http');

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    const body = toErrorBody(err, req);
    if (body.statusCode >= 500)
      this.log.error({ err, requestId: body.requestId }, `${req.method} ${req.url} failed`);
    // A database or kernel error answered 4xx is still worth seeing with its cause.
    else if (!(err instanceof WardenError) && !(err instanceof HttpException))
      this.log.warn({ err, requestId: body.requestId }, `${req.method} ${req.url}: ${body.message}`);
    if (res.headersSent) {
      res.end();
      return;
    }
    if (body.statusCode === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="warden"');
    res.status(body.statusCode).json(body);
  }
}
