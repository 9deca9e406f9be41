export { AuditModule } from './audit.module';
export { AuditWorkerModule } from './audit-worker.module';
export { AuditService } from './audit.service';
export { recordStart } from './record-start';
export type { EnqueueOptions } from './audit.service';
export { AuditJobName, MAX_EVENTS_PER_JOB } from './audit.jobs';
export type { AuditJob } from './audit.jobs';
export { groupJobId } from './grouped-enqueuer';
export { AuditEventRepository } from './audit-event.repository';
export { UsageService } from './usage.service';
export { UsageSampleRepository } from './usage-sample.repository';
export type { UsageSample, UsageRollup } from './usage-sample';
export type { ChainVerification, AuditQuery } from './audit-event.repository';
export { AUDIT_EVENT_TYPES } from './audit-event';
export type {
  AuditEvent,
  AuditEventInput,
  AuditEventType,
  AuditRow,
  AuditSource,
  AuditDecision,
} from './audit-event';
export { chainHash, canonicalEvent, GENESIS_HASH } from './audit-chain';
export { ReportsModule } from './reports/reports.module';
export { ReportsWorkerModule } from './reports/reports-worker.module';
export { verifyReport } from './reports/report-signer';
export { explainReport } from './reports/report-verification';
export type { ReportVerification, ReportCheck } from './reports/report-verification';
export { csvTable } from './reports/report-csv';
