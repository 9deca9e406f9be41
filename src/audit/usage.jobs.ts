import type { UsageSample } from './usage-sample';

/** The usage queue's job catalogue: one name per job kind, a discriminated union of their data. */
export enum UsageJobName {
  Sample = 'usage.sample',
}

export type UsageJob = { name: UsageJobName.Sample; data: UsageSample };
