import 'reflect-metadata';
import * as fs from 'node:fs';
import type { Logger as Pino } from 'pino';
import type { Role } from '../app.module';
import { ConfigError, loadConfig, WardenConfig } from '../platform/config';
import { createRootLogger } from '../platform/logging';
import { IMAGE_USAGE_TEXT, imageCommand } from './image.command';

// The service (~2,100 modules), the database layer and the report verifier load when a command
// needs them: `warden doctor` loads its probes alone and answers in a fraction of the time, which
// on an emulated cgroup v2 guest was the difference between 5 minutes and seconds.

const USAGE = `usage: warden <command>

  up                     API and workers in one process (the default)
  serve                  API only (HTTP, docker socket); workers run elsewhere
  worker                 queue workers only
  migrate [up]           apply pending database migrations
  migrate down [N]       revert the last N migrations (default 1)
  migrate status         list migrations and whether each is applied
  doctor [--json]        what this host offers the runtime, from real probes
  image import|ls|inspect|rm   local images, via the running Warden (warden image --help)
  report verify <file> --key <pem>   verify a compliance report offline (warden report --help)
  admission              the Kubernetes admission webhooks only (WARDEN_ADMISSION_PORT; no runtime)
  admission ca-bundle    the admission webhooks' CA, base64 for a webhook configuration's caBundle

Configuration comes from the environment; see README.md.`;

function loadOrExit(): WardenConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`warden: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function run(role: Role, config: WardenConfig, logger: Pino): Promise<void> {
  const { startWarden } = await import('../main');
  const warden = await startWarden(role, config, logger);
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      logger.warn(`${sig} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    logger.info(`${sig}: shutting down`);
    warden.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
}

/** Migrations against DATABASE_URL, or against the embedded PostgreSQL started just for this. */
async function runMigrate(args: string[], config: WardenConfig, logger: Pino): Promise<void> {
  const [sub = 'up', n] = args;
  if (!['up', 'down', 'status'].includes(sub)) throw new UsageError(`unknown migrate command '${sub}'`);
  const steps = n === undefined ? 1 : Number(n);
  if (!Number.isInteger(steps) || steps < 1)
    throw new UsageError(`migrate down takes a positive count, got '${n}'`);
  const [{ migrate, migrationStatusOf }, { startInfrastructure }] = await Promise.all([
    import('../platform/database'),
    import('../platform/infrastructure'),
  ]);
  const infra = await startInfrastructure(
    { ...config, redis: { url: config.redis.url ?? 'redis://unused' } },
    true,
    logger,
  );
  try {
    if (sub === 'status') {
      for (const m of await migrationStatusOf(infra.databaseUrl)) {
        process.stdout.write(`${m.applied ? 'applied' : 'pending'}  ${m.name}\n`);
      }
      return;
    }
    const names = await migrate(infra.databaseUrl, sub as 'up' | 'down', steps);
    process.stdout.write(
      names.length ? `${sub === 'up' ? 'applied' : 'reverted'}: ${names.join(', ')}\n` : 'nothing to do\n',
    );
  } finally {
    await infra.stop();
  }
}

class UsageError extends Error {}

export async function main(argv: string[]): Promise<void> {
  const [command = 'up', ...rest] = argv;
  try {
    switch (command) {
      case 'up':
      case 'serve':
      case 'worker': {
        const config = loadOrExit();
        await run(command, config, createRootLogger(config));
        return;
      }
      case 'migrate': {
        const config = loadOrExit();
        await runMigrate(rest, config, createRootLogger(config));
        return;
      }
      case 'doctor': {
        // Probe on the data dir's filesystem: that is where overlay upper dirs will live.
        const config = loadOrExit();
        fs.mkdirSync(config.dataDir, { recursive: true });
        const { runDoctor, formatDoctorTable } = await import('../doctor');
        const report = await runDoctor({ tmpDir: config.dataDir });
        process.stdout.write(
          rest.includes('--json')
            ? `${JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`
            : `${formatDoctorTable(report)}\n`,
        );
        process.exitCode = report.summary.canRunContainers ? 0 : 1;
        return;
      }
      case 'image': {
        if (rest.length === 0 || rest.includes('--help')) {
          process.stdout.write(`${IMAGE_USAGE_TEXT}\n`);
          return;
        }
        // Its errors (ImageCommandError) are user-facing messages: the catch below prints them.
        await imageCommand(rest, loadOrExit(), (t) => process.stdout.write(t));
        return;
      }
      case 'report': {
        const report = await import('./report.command');
        if (rest.length === 0 || rest.includes('--help')) {
          process.stdout.write(`${report.REPORT_USAGE_TEXT}\n`);
          return;
        }
        // Offline: no configuration, no database, no server.
        try {
          process.exitCode = report.reportCommand(rest, (t) => process.stdout.write(t));
        } catch (err) {
          if (!(err instanceof report.ReportCommandError)) throw err;
          process.stderr.write(`warden: ${err.message}\n`);
          process.exit(2);
        }
        return;
      }
      case 'admission': {
        const config = loadOrExit();
        if (!config.admission)
          throw new UsageError('set WARDEN_ADMISSION_PORT: the admission webhooks are off');
        if (rest.length === 0) {
          await run('admission', config, createRootLogger(config));
          return;
        }
        // Made here if the server has not made it yet, so it can be pasted before the first start.
        if (rest[0] !== 'ca-bundle') throw new UsageError(`unknown admission command '${rest[0]}'`);
        if (config.admission.tls.mode === 'files')
          throw new UsageError(
            'WARDEN_ADMISSION_TLS_CERT is given: the caBundle is the CA that signed it, which Warden does not hold',
          );
        const { ensureGenerated } = await import('../admission/admission-tls');
        const { ca } = ensureGenerated(`${config.dataDir}/admission-tls`, config.admission.tls.serverNames);
        process.stdout.write(`${fs.readFileSync(ca).toString('base64')}\n`);
        return;
      }
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`warden: ${err.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`warden: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
