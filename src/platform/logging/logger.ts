import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { Logger as Pino } from 'pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import type { WardenConfig } from '../config';

/** One JSON logger per process; the HTTP layer and the boot code share it. */
export function createRootLogger(config: Pick<WardenConfig, 'log'>): Pino {
  return pino({
    level: config.log.level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/**
 * Request logging: every request gets an id (the client's X-Request-Id when it sends a sane
 * one), echoed back in the response and carried in error bodies and audit events. A 4xx is
 * the client's mistake and is logged as such, never as a server error.
 */
export function httpLogOptions(logger: Pino): PinoHttpOptions {
  return {
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel: (_req, res, err) =>
      err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    autoLogging: { ignore: (req) => req.url === '/metrics' || req.url === '/health' },
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        url: req.url,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
}
