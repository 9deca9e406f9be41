import { BLKIO_RATES, BlkioRate } from '../spec/block-io';
import { formatBytes } from '../spec/units';
import { Check, CheckResult, violation } from './check-result';

const UNIT: Record<BlkioRate, (n: number) => string> = {
  readBps: (n) => `${formatBytes(n)}/s`,
  writeBps: (n) => `${formatBytes(n)}/s`,
  readIops: (n) => `${n} IO/s`,
  writeIops: (n) => `${n} IO/s`,
};

/**
 * Block I/O caps (rules.resources.io): each device throttle a launch asks for must stay within
 * the policy's cap for that direction, and its weight within the weight cap. A throttle is a
 * ceiling on the container, so the cap bounds the value asked for; a launch without a throttle
 * is not denied (the device it would write to is the host's business, not the request's).
 */
export const blockIoCheck: Check = (spec, rules, ctx) => {
  const io = rules.resources?.io;
  const blkio = spec.blkio;
  if (!io || !blkio) return [];
  const out: CheckResult[] = [];
  for (const rate of BLKIO_RATES) {
    const max = io[rate]?.max;
    if (max === undefined) continue;
    for (const d of blkio.devices) {
      const value = d[rate];
      if (value !== undefined && value > max)
        out.push(
          violation(
            ctx,
            `resources.io.${rate}.max`,
            `${rate} ${UNIT[rate](value)} on ${d.path} exceeds cap ${UNIT[rate](max)}`,
            { field: `blkio.${rate}`, device: d.path, value, max },
          ),
        );
    }
  }
  const weightMax = io.weight?.max;
  if (weightMax !== undefined && blkio.weight !== undefined && blkio.weight > weightMax)
    out.push(
      violation(ctx, 'resources.io.weight.max', `block I/O weight ${blkio.weight} exceeds cap ${weightMax}`, {
        field: 'blkio.weight',
        value: blkio.weight,
        max: weightMax,
      }),
    );
  return out;
};
