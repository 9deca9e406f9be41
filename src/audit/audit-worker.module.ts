import { Module } from '@nestjs/common';
import { AuditEventRepository } from './audit-event.repository';
import { AuditProcessor } from './audit.processor';

/** Registered only in the worker role: the queue → chain processor. */
@Module({ providers: [AuditProcessor, AuditEventRepository] })
export class AuditWorkerModule {}
