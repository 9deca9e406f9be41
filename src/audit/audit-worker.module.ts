import { Module } from '@nestjs/common';
import { AuditEventRepository } from './audit-event.repository';
import { AuditProcessor } from './audit.processor';
import { UsageSampleRepository } from './usage-sample.repository';
import { UsageProcessor } from './usage.processor';

/** Registered only in the worker role: the queue → chain and queue → usage_samples processors. */
@Module({ providers: [AuditProcessor, AuditEventRepository, UsageProcessor, UsageSampleRepository] })
export class AuditWorkerModule {}
