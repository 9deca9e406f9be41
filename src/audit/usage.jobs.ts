import type { UsageSample } from './usage-sample';

/**
 * The usage queue's job catalogue: one name per job kind, a discriminated union of their data.
 * A job may carry many samples; each keeps its own id (the row's primary key).
 */
export enum UsageJobName {
  /** One sample; jobId = its id. Also the shape of jobs enqueued before grouped jobs existed. */
  Sample = 'usage.sample',
  /** Several samples; jobId = a digest of their ids. */
  Samples = 'usage.samples',
}

export type UsageJob =
  | { name: UsageJobName.Sample; data: UsageSample }
  | { name: UsageJobName.Samples; data: { samples: UsageSample[] } };

export const MAX_SAMPLES_PER_JOB = 64;

/** The samples a job carries; throws for a job name this catalogue does not know. */
export function samplesOf(job: { name: string; data: unknown }): UsageSample[] {
  const j = job as UsageJob;
  switch (j.name) {
    case UsageJobName.Sample:
      return [j.data];
    case UsageJobName.Samples:
      return j.data.samples;
    default:
      throw new Error(`unknown usage job ${String(job.name)}`);
  }
}

export const usageJobShapes = {
  single: (sample: UsageSample): UsageJob => ({ name: UsageJobName.Sample, data: sample }),
  group: (samples: UsageSample[]): UsageJob => ({ name: UsageJobName.Samples, data: { samples } }),
};
