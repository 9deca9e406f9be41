/**
 * Human units as Docker users write them. Sizes are binary like Docker's units.RAMInBytes
 * (`512m` = 512 MiB; the optional `b`/`ib` suffix changes nothing), and are printed back in the
 * largest unit that divides them exactly, so a decision says `2g`, never `2147483648`.
 */

const SIZE_RE = /^(\d+(?:\.\d+)?)\s?([kmgtp])?(?:i?b)?$/i;
const SIZE_MULTIPLIER: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** Bytes from `512m`, `2g`, `1.5GiB`, `1048576`; undefined when it is not a size. */
export function parseByteSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) ? input : undefined;
  const m = SIZE_RE.exec(input.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * SIZE_MULTIPLIER[(m[2] ?? '').toLowerCase()];
  // Docker truncates fractional bytes (int64 conversion); so do we.
  return Number.isFinite(bytes) ? Math.trunc(bytes) : undefined;
}

const UNITS: ReadonlyArray<[string, number]> = [
  ['p', 1024 ** 5],
  ['t', 1024 ** 4],
  ['g', 1024 ** 3],
  ['m', 1024 ** 2],
  ['k', 1024],
];

export function formatBytes(bytes: number): string {
  if (bytes === -1) return 'unlimited';
  if (bytes > 0) {
    for (const [suffix, size] of UNITS) if (bytes % size === 0) return `${bytes / size}${suffix}`;
    // Not a whole unit: one decimal is what `docker stats` users read; exact bytes follow.
    for (const [suffix, size] of UNITS)
      if (bytes >= size) return `${(bytes / size).toFixed(1).replace(/\.0$/, '')}${suffix} (${bytes} bytes)`;
  }
  return `${bytes}b`;
}

export const NANO_CPUS_PER_CPU = 1e9;

export function cpusToNanoCpus(cpus: number): number {
  return Math.round(cpus * NANO_CPUS_PER_CPU);
}

/** `0.5 CPUs`, `1 CPU`: how `docker run --cpus` users think of NanoCpus. */
export function formatCpus(nanoCpus: number): string {
  const cpus = nanoCpus / NANO_CPUS_PER_CPU;
  return `${Number(cpus.toFixed(3))} CPU${cpus === 1 ? '' : 's'}`;
}

export { LINUX_CAPABILITIES, normalizeCapability } from '../../platform/linux';
