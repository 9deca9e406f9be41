/**
 * What starting a host tool costs the service's own process (issue 13 point 7, diagnostic, no
 * target): `child_process.execFile` (libuv forks the service) against `runProgram`
 * (posix_spawn, src/platform/linux/run-program.ts), each running `/bin/true` N times in
 * alternating blocks, in a process whose heap holds ~200 MiB touched (the service's size),
 * from `process.cpuUsage`. A launch under the baseline policy runs three tools (mkfs.ext4 and
 * mount at create, umount at remove).
 *
 *   bash bench/run.sh tool-spawn              (N=150 per block, 3 blocks each)
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { runProgram } from '../src/platform/linux/run-program';

const N = Number(process.env.TOOL_SPAWN_N ?? 150);
const run = promisify(execFile);

async function block(fn: () => Promise<unknown>) {
  for (let i = 0; i < 10; i++) await fn();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await fn();
  const c = process.cpuUsage(c0);
  return { user: c.user / 1000 / N, sys: c.system / 1000 / N, wall: (performance.now() - t0) / N };
}

async function main(): Promise<void> {
  const ballast = Array.from({ length: 200 }, () => Buffer.alloc(1 << 20, 1));
  const ways = [
    ['execFile (fork)', () => run('true', [])],
    ['runProgram (posix_spawn)', () => runProgram('true', [])],
  ] as const;
  const rows: string[] = [];
  for (let r = 0; r < 3; r++)
    for (const [name, fn] of ways) {
      const x = await block(fn);
      const f = (n: number) => n.toFixed(2).padStart(6);
      rows.push(`| ${name.padEnd(24)} | ${f(x.user)} | ${f(x.sys)} | ${f(x.user + x.sys)} | ${f(x.wall)} |`);
    }
  const rss = process.memoryUsage().rss / 2 ** 20;
  console.log(
    `/bin/true, N=${N} per block, service-sized heap (RSS ${rss.toFixed(0)} MiB, ${ballast.length} MiB ballast)`,
  );
  console.log('');
  console.log('| way                      | user ms | sys ms | CPU ms | wall ms |');
  console.log('|--------------------------|--------:|-------:|-------:|--------:|');
  for (const r of rows) console.log(r);
  console.log('');
  console.log(`load average: ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
