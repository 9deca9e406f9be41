import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../src/platform/process/child-process';
import { eventually } from './services';

/** One RESP command over a fresh TCP connection; the reply's first line(s), raw. */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    const done = setTimeout(() => sock.destroy(new Error(`no answer from :${port}`)), 3000);
    sock.on('connect', () =>
      sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`),
    );
    sock.on('data', (d) => {
      out += d.toString();
      // Enough for the replies read here: a status, an integer, an error, or a short array.
      if (/\r\n$/.test(out) && (!out.startsWith('*') || out.split('\r\n').length > 4)) sock.end();
    });
    sock.on('close', () => {
      clearTimeout(done);
      resolve(out);
    });
    sock.on('error', (err) => {
      clearTimeout(done);
      reject(err);
    });
  });
}

interface Server {
  port: number;
  proc: ChildProcess;
}

/**
 * A master, two replicas and three sentinels (quorum 2) on 127.0.0.1, each its own redis-server
 * process (the sentinels run `redis-server --sentinel`, what Debian's redis-sentinel runs),
 * for one test file. The master is called `warden`; a failure is seen after 1 s.
 */
export class SentinelGroup {
  private constructor(
    readonly dir: string,
    readonly servers: Server[],
    readonly sentinels: Server[],
  ) {}

  static async start(): Promise<SentinelGroup> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsent-'));
    const servers: Server[] = [];
    const sentinels: Server[] = [];
    const group = new SentinelGroup(dir, servers, sentinels);
    try {
      const run = async (name: string, lines: string[], sentinel = false): Promise<Server> => {
        const port = await freePort();
        const conf = path.join(dir, `${name}.conf`);
        fs.mkdirSync(path.join(dir, name));
        fs.writeFileSync(
          conf,
          [`bind 127.0.0.1`, `port ${port}`, `dir ${path.join(dir, name)}`, 'save ""', ...lines].join('\n'),
        );
        const proc = spawn('redis-server', sentinel ? [conf, '--sentinel'] : [conf], {
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        await eventually(
          `${name} on :${port}`,
          async () => (await redisCommand(port, 'PING')) === '+PONG\r\n',
        );
        return { port, proc };
      };
      const durable = ['appendonly yes', 'appendfsync always', 'maxmemory-policy noeviction'];
      servers.push(await run('master', durable));
      // Two replicas, as in production: after a failover one is at once the new master's
      // replica (a demoted master rejoins only ~10 s later, after Sentinel sees it again).
      for (const name of ['replica-1', 'replica-2'])
        servers.push(await run(name, [...durable, `replicaof 127.0.0.1 ${servers[0].port}`]));
      await eventually(
        'both replicas in sync',
        async () =>
          (await redisCommand(servers[0].port, 'INFO', 'replication')).split('state=online').length === 3,
        30_000,
      );
      for (let i = 0; i < 3; i++)
        sentinels.push(
          await run(
            `sentinel-${i}`,
            [
              `sentinel monitor warden 127.0.0.1 ${servers[0].port} 2`,
              'sentinel down-after-milliseconds warden 1000',
              'sentinel failover-timeout warden 5000',
              'sentinel parallel-syncs warden 1',
            ],
            true,
          ),
        );
      await eventually(
        'the sentinels to know each other and the replica',
        async () => {
          const r = await redisCommand(sentinels[0].port, 'SENTINEL', 'CKQUORUM', 'warden');
          return r.startsWith('+OK');
        },
        30_000,
      );
      return group;
    } catch (err) {
      await group.stop();
      throw err;
    }
  }

  /** REDIS_URL for Warden: the three sentinels and the master's name. */
  get url(): string {
    return `redis-sentinel://${this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/warden`;
  }

  /** The port the sentinels now name as master. */
  async masterPort(): Promise<number> {
    const r = await redisCommand(this.sentinels[0].port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'warden');
    return Number(r.split('\r\n')[4]);
  }

  /**
   * Graceful: the sentinels promote a replica and demote the master, which keeps running.
   * Retried while they answer NOGOODSLAVE: a sentinel learns the replicas from the master's
   * INFO, every 10 s. Resolves once the sentinels name another master (an accepted FAILOVER
   * takes a few seconds more to promote the replica).
   */
  async failover(): Promise<void> {
    const before = await this.masterPort();
    let r = '';
    await eventually(
      'SENTINEL FAILOVER accepted',
      async () =>
        (r = await redisCommand(this.sentinels[0].port, 'SENTINEL', 'FAILOVER', 'warden')).startsWith('+OK'),
      30_000,
    ).catch(() => {
      throw new Error(`SENTINEL FAILOVER: ${r}`);
    });
    await eventually(
      'the sentinels to name the promoted replica',
      async () => (await this.masterPort()) !== before,
      30_000,
    );
  }

  /**
   * Waits until the group could fail over again: the master has `replicas` replicas online and
   * the sentinels have their quorum (after a failover a replica takes a few seconds to follow
   * the new master; a failover before that can find no replica to promote).
   */
  async settled(replicas = 2): Promise<void> {
    await eventually(
      `the master to have ${replicas} replica(s) online and the sentinels their quorum`,
      async () => {
        const info = await redisCommand(await this.masterPort(), 'INFO', 'replication');
        const online = info.split('\r\n').filter((l) => /^slave\d+:.*state=online/.test(l)).length;
        const quorum = await redisCommand(this.sentinels[0].port, 'SENTINEL', 'CKQUORUM', 'warden');
        return /role:master/.test(info) && online >= replicas && quorum.startsWith('+OK');
      },
      30_000,
    );
  }

  /** SIGKILL of the server that is master now (a process this group started); returns its port. */
  killMaster(port: number): void {
    const s = this.servers.find((x) => x.port === port);
    if (!s) throw new Error(`no server of this group on :${port}`);
    s.proc.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.sentinels, ...this.servers].map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.proc.exitCode !== null || s.proc.signalCode !== null) return resolve();
            s.proc.once('exit', () => resolve());
            s.proc.kill('SIGTERM');
          }),
      ),
    );
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
