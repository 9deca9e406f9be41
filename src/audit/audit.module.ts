import { Module } from '@nestjs/common';
import { AuditEventRepository } from './audit-event.repository';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';

/** The audit trail's API side: recording (enqueue) and reading. */
@Module({
  providers: [AuditService, AuditEventRepository],
  controllers: [AuditController],
  exports: [AuditService, AuditEventRepository],
})
export class AuditModule {}
