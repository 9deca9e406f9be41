import 'reflect-metadata';
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express, { NextFunction, Request, Response } from 'express';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import type { Logger as Pino } from 'pino';
import { AppModule, Role, servesApi } from './app.module';
import { DockerApiServer, FORWARD_PREFIX } from './docker-api';
import { NodeRegistry, settleNodeName } from './fleet';
import { AuditService, recordStart } from './audit';
import { WardenConfig } from './platform/config';
import { migrate } from './platform/database';
import { toErrorBody, WardenError } from './platform/errors';
import { HttpExceptionFilter } from './platform/errors';
import { refusePlainTokens, rejectBadBytes, resolveHttpTls } from './platform/http';
import { Infrastructure, startInfrastructure } from './platform/infrastructure';
import { startWorkerChild } from './platform/process';
import { acquireInstanceLock, RestNodeForwarder } from './runtime';

export interface RunningWarden {
  app: INestApplicationContext;
  infra: Infrastructure;
  /** http://host:port when the API is served. */
  url?: string;
  /** `up` with its workers apart: the worker process's pid (undefined while it restarts). */
  workerPid(): number | undefined;
  stop(): Promise<void>;
}

/**
 * Malformed JSON and oversized bodies are the client's mistake: answer them in Warden's
 * error shape before any route runs, instead of letting them surface as server errors.
 */
function jsonBody(limit: string) {
  // RFC 8259: JSON text is UTF-8; bytes that are not would become U+FFFD without a word.
  const parse = express.json({
    limit,
    verify: (_req, _res, buf) => {
      if (!isUtf8(buf)) throw Object.assign(new Error('request body is not valid UTF-8'), { status: 400 });
    },
  });
  return [
    parse,
    (err: Error & { type?: string; status?: number }, req: Request, res: Response, next: NextFunction) => {
      if (!err) return next();
      const wrapped =
        err.type === 'entity.parse.failed'
          ? new WardenError('MALFORMED_JSON', `request body is not valid JSON: ${err.message}`)
          : err.type === 'entity.too.large'
            ? new WardenError('PAYLOAD_TOO_LARGE', `request body exceeds ${limit}`)
            : err.status && err.status < 500
              ? new WardenError('BAD_REQUEST', err.message)
              : err;
      const body = toErrorBody(wrapped, req);
      res.status(body.statusCode).json(body);
    },
  ];
}

/** The review console's static files (ui/ in the package), found from src/ and dist/ alike. */
function mountConsole(app: NestExpressApplication): void {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const ui = path.join(dir, 'ui');
    if (fs.existsSync(path.join(ui, 'index.html'))) {
      app.use('/ui', (req: Request, res: Response, next: NextFunction) =>
        req.originalUrl === '/ui' ? res.redirect(301, '/ui/') : next(),
      );
      app.useStaticAssets(ui, { prefix: '/ui/', index: 'index.html' });
      return;
    }
  }
}

function mountDocs(app: NestExpressApplication): void {
  const doc = new DocumentBuilder()
    .setTitle('Warden')
    .setDescription(
      'Policy-gated container engine: containers, policy, registry proxy and the audit trail. ' +
        'A container that another node of the fleet runs is acted on there: its routes answer as that node ' +
        'answered, 409 NODE_UNAVAILABLE when it is down, 504 DISPATCH_NODE_LOST when it stopped answering (docs/fleet.md).',
    )
    .setVersion('0.1.0')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), {
    jsonDocumentUrl: 'docs/openapi.json',
  });
}

/** Resolves true when `p` settles within `ms`, false when the time ran out first. */
async function withDeadline(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Boots Warden in one role: resolves (or starts) PostgreSQL and Redis, applies migrations,
 * builds the Nest application and, for API roles, listens on WARDEN_PORT.
 */
export async function startWarden(role: Role, config: WardenConfig, logger: Pino): Promise<RunningWarden> {
  // `up` with WARDEN_UP_WORKERS=process: this process serves, a child runs the workers.
  const workersApart = role === 'up' && config.upWorkers === 'process';
  const appRole: Role = workersApart ? 'serve' : role;
  // The roles that run containers own a runtime scope (docs/operations.md): before anything
  // starts, so a second Warden on the same data dir or cgroup parent touches nothing.
  const lock = servesApi(role) ? await acquireInstanceLock(config, role) : undefined;
  let infra: Infrastructure | undefined;
  let app: INestApplicationContext | undefined;
  try {
    infra = await startInfrastructure(config, servesApi(role), logger);
    const applied = await migrate(infra.databaseUrl, 'up', 1, config.database.connectTimeoutMs);
    if (applied.length) logger.info({ applied }, `applied ${applied.length} migration(s)`);
    if (servesApi(role)) await settleNodeName(config, infra.databaseUrl, logger);
    const module = AppModule.forRoot({ role: appRole, config, infra, logger });
    let url: string | undefined;
    if (servesApi(role)) {
      const tls = resolveHttpTls(config.http.tls, config.http.host, config.dataDir);
      // abortOnError false: a module that fails to initialise rejects here, so the catch below
      // stops what was started (servers, the lock) rather than Nest calling process.exit.
      const http = await NestFactory.create<NestExpressApplication>(module, {
        abortOnError: false,
        bufferLogs: true,
        bodyParser: false,
        httpsOptions: tls && { cert: tls.cert, key: tls.key },
      });
      app = http;
      http.useLogger(http.get(NestPinoLogger));
      // Docker requests another node of the fleet forwards here: before any body is read.
      http.use(FORWARD_PREFIX, http.get(DockerApiServer).forwardedRequests());
      // REST requests for a container another node runs: handed on there, body unread.
      http.use(refusePlainTokens, http.get(RestNodeForwarder).middleware());
      http.use(...jsonBody('4mb'), rejectBadBytes);
      http.useGlobalFilters(new HttpExceptionFilter());
      http.set('trust proxy', 'loopback');
      mountDocs(http);
      mountConsole(http);
      await http.listen(config.http.port, config.http.host);
      const addr = http.getHttpServer().address() as { port: number };
      url = `${tls ? 'https' : 'http'}://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${addr.port}`;
      logger.info(`Warden (${role}) listening on ${url}; API docs at ${url}/docs`);
      if (tls)
        logger.info(
          { certificate: tls.certFile, sha256: tls.fingerprint },
          `TLS certificate${tls.selfSigned ? ' (self-signed, made for this data dir)' : ''} SHA-256 fingerprint ${tls.fingerprint}`,
        );
      lock?.update({ http: url });
      // After listen, so recovery (the start-up reconcile of its containers) has run: only
      // then does this node count as alive again and its containers stop showing `unknown`.
      await http.get(NodeRegistry).join(url);
    } else {
      app = await NestFactory.createApplicationContext(module, { abortOnError: false, bufferLogs: true });
      app.useLogger(app.get(NestPinoLogger));
      await app.init();
      logger.info(role === 'admission' ? 'Warden admission webhooks running' : 'Warden worker running');
    }
    const audit = app.get(AuditService);
    const system = {
      principal: 'system',
      source: { via: 'system' as const },
      payload: { role, pid: process.pid },
    };
    await recordStart(audit, logger, {
      type: 'service.started',
      ...system,
      id: randomUUID(),
      occurredAt: new Date().toISOString(),
    });
    const worker = workersApart ? startWorkerChild(config, logger) : undefined;
    const running = app;
    const started = infra;
    let stopped: Promise<void> | undefined;
    // Each step runs even when the one before failed (a server down): the servers are stopped last.
    const step = (what: string, p: Promise<unknown> | undefined) =>
      p?.catch((err: Error) => logger.warn(`stopping: ${what} failed: ${err.message}`));
    const orderly = async () => {
      await step('recording service.stopped', audit.record({ type: 'service.stopped', ...system }));
      // The worker first: it commits what is queued while PostgreSQL and Redis are still up.
      await step('the worker process', worker?.stop());
      await step('the application', running.close());
      await started.stop();
    };
    return {
      app: running,
      infra: started,
      url,
      workerPid: () => worker?.pid,
      // Bounded: with PostgreSQL or Redis down, closing the workers can wait on a server that is
      // not coming back before the process manager's SIGKILL. Past the grace period the servers
      // are stopped (their supervisors told not to restart them) and stop() resolves; nothing
      // acknowledged is lost, since acknowledged jobs are on disk in Redis.
      stop: () =>
        (stopped ??= withDeadline(orderly(), config.shutdownGraceMs)
          .then(async (inTime) => {
            if (inTime) return;
            logger.error(
              `shutdown did not finish within ${config.shutdownGraceMs / 1000} s (a server down?); stopping anyway`,
            );
            await withDeadline(started.stop(), 5000);
          })
          .finally(() => lock?.release())),
    };
  } catch (err) {
    await app?.close().catch(() => undefined);
    await infra?.stop();
    lock?.release();
    throw err;
  }
}
