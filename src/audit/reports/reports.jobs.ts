/** The reports queue's job catalogue. */
export enum ReportsJobName {
  Generate = 'reports.generate',
}

export type ReportsJob = { name: ReportsJobName.Generate; data: { reportId: string } };
