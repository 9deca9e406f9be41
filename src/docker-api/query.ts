import { WardenError } from '../platform/errors';

/** Docker's boolean query values: `1`, `true`, `True` (Go's strconv.ParseBool). */
export function flag(v: string | null): boolean {
  return v !== null && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v);
}

export function optionalInt(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw new WardenError('VALIDATION_FAILED', `'${v}' is not a whole number`);
  return Number(v);
}
