import type * as fs from 'node:fs';

/**
 * `X-Docker-Container-Path-Stat`: base64 of `{name, size, mode, mtime, linkTarget}`, where
 * `mode` is Go's os.FileMode — permission bits plus type bits high in the word, not the
 * st_mode layout (the docker CLI decides "is a directory" from bit 31).
 */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

// Go's io/fs FileMode bits (written as powers of two: 1 << 31 is negative in JS bit ops).
export const GO_MODE = {
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
} as const;

export function goFileMode(st: Pick<fs.Stats, 'mode'>): number {
  const m = st.mode;
  let mode = m & 0o777;
  const type = m & 0o170000;
  if (type === 0o040000) mode += GO_MODE.dir;
  else if (type === 0o120000) mode += GO_MODE.symlink;
  else if (type === 0o060000) mode += GO_MODE.device;
  else if (type === 0o020000) mode += GO_MODE.device + GO_MODE.charDevice;
  else if (type === 0o010000) mode += GO_MODE.namedPipe;
  else if (type === 0o140000) mode += GO_MODE.socket;
  if (m & 0o4000) mode += GO_MODE.setuid;
  if (m & 0o2000) mode += GO_MODE.setgid;
  if (m & 0o1000) mode += GO_MODE.sticky;
  return mode;
}

export function pathStatHeader(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}
