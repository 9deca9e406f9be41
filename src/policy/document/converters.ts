import { NANO_CPUS_PER_CPU, cpusToNanoCpus, parseByteSize } from '../spec/units';
import type { LimitRule } from './policy-document';
import { checkRate } from '../spec/bandwidth';
import { egressCovers, formatEgress, parseEgressList } from '../spec/egress';

/** Turns one field's input into its normalized number, or lists what is wrong with it. */
export type Converter<T> = (field: string, value: T, errors: string[]) => number | undefined;

export const toBytes: Converter<string | number> = (field, value, errors) => {
  const bytes = parseByteSize(value);
  if (bytes === undefined || !Number.isInteger(bytes) || bytes <= 0) {
    errors.push(`${field}: ${JSON.stringify(value)} must be a positive size such as 512m or 2g`);
    return undefined;
  }
  return bytes;
};

export const toCpus: Converter<string | number | { nanoCpus: number }> = (field, value, errors) => {
  const cpus =
    typeof value === 'object'
      ? value.nanoCpus / NANO_CPUS_PER_CPU
      : typeof value === 'number'
        ? value
        : value.trim() === ''
          ? NaN
          : Number(value);
  // Below one NanoCpu is not a limit the kernel can express.
  if (!Number.isFinite(cpus) || cpusToNanoCpus(cpus) <= 0) {
    errors.push(`${field}: ${JSON.stringify(value)} must be a positive number of CPUs such as 0.5`);
    return undefined;
  }
  return cpus;
};

export const toPids: Converter<number> = (field, value, errors) => {
  if (value <= 0) {
    errors.push(`${field}: ${value} must be a positive number of processes`);
    return undefined;
  }
  return value;
};

export const toOpsPerSecond: Converter<number> = (field, value, errors) => {
  if (value <= 0) {
    errors.push(`${field}: ${value} must be a positive number of operations per second`);
    return undefined;
  }
  return value;
};

/** A network rate (`10mbit`, or bits/s) as bits/s, within what tc shapes. */
export const toRate: Converter<string | number> = (field, value, errors) => checkRate(field, value, errors);

export function convertLimit<T>(
  field: string,
  input: { required?: boolean; max?: T; default?: T } | undefined,
  convert: Converter<T>,
  errors: string[],
): LimitRule | undefined {
  if (input === undefined) return undefined;
  const out: LimitRule = {};
  if (input.required !== undefined) out.required = input.required;
  const max = input.max === undefined ? undefined : convert(`${field}.max`, input.max, errors);
  const dflt = input.default === undefined ? undefined : convert(`${field}.default`, input.default, errors);
  if (max !== undefined) out.max = max;
  if (dflt !== undefined) out.default = dflt;
  // A default above the cap would make every request that relies on it fail.
  if (max !== undefined && dflt !== undefined && dflt > max)
    errors.push(
      `${field}.default is above ${field}.max; a request relying on the default would always be denied`,
    );
  return out;
}

// The shim's own bounds (native/shim/config.c): a file of at least 1 KiB, at most 100 files.
export const toLogBytes: Converter<string | number> = (field, value, errors) => {
  const bytes = toBytes(field, value, errors);
  if (bytes !== undefined && bytes < 1024) {
    errors.push(`${field}: ${JSON.stringify(value)} is below 1k, the smallest log file Warden keeps`);
    return undefined;
  }
  return bytes;
};

export const toLogFiles: Converter<number> = (field, value, errors) => {
  if (value < 1 || value > 100) {
    errors.push(`${field}: ${value} must be from 1 to 100 files`);
    return undefined;
  }
  return value;
};

/**
 * `rules.network.egress`: every entry an allowlist entry, and a default the policy's own
 * `allowed` admits (otherwise every container relying on it would be denied).
 */
export function convertEgressRules(
  egress: { allowed?: string[]; default?: string[] } | undefined,
  errors: string[],
): void {
  if (!egress) return;
  const field = 'rules.network.egress';
  const allowed = parseEgressList(`${field}.allowed`, egress.allowed ?? [], errors);
  const dflt = parseEgressList(`${field}.default`, egress.default ?? [], errors);
  if (!egress.allowed) return;
  for (const d of dflt)
    if (!allowed.some((a) => egressCovers(a, d)))
      errors.push(
        `${field}.default: ${formatEgress(d)} is outside ${field}.allowed; a container relying on the default would always be denied`,
      );
}
