import * as fs from 'node:fs';

/**
 * `docker top` without ps: the columns ps -ef prints, read from /proc for each pid in the
 * container's cgroup. Times in clock ticks (USER_HZ is 100 on Linux).
 */
export const TOP_TITLES = ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'];
const HZ = 100;

export function topRows(pids: number[], now = Date.now()): string[][] {
  const bootMs = now - Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
  const rows: string[][] = [];
  for (const pid of pids.sort((a, b) => a - b)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // comm may contain spaces and parentheses: fields start after the last ')'.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = f[1];
      const cpuTicks = Number(f[11]) + Number(f[12]);
      const startMs = bootMs + (Number(f[19]) / HZ) * 1000;
      const uid = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const elapsed = Math.max(1, (now - startMs) / 1000);
      const secs = Math.floor(cpuTicks / HZ);
      rows.push([
        uid,
        String(pid),
        ppid,
        String(Math.floor((cpuTicks / HZ / elapsed) * 100)),
        new Date(startMs).toISOString().slice(11, 16),
        '?',
        `${String(Math.floor(secs / 3600)).padStart(2, '0')}:${String(Math.floor(secs / 60) % 60).padStart(2, '0')}:${String(secs % 60).padStart(2, '0')}`,
        cmdline || `[${comm}]`,
      ]);
    } catch {
      /* exited between listing and reading */
    }
  }
  return rows;
}
