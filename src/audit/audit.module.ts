import { Module } from '@nestjs/common';
import { AuditEventRepository } from './audit-event.repository';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';
import { UsageSampleRepository } from './usage-sample.repository';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';

/** The audit trail's and usage records' API side: recording (enqueue) and reading. */
@Module({
  providers: [AuditService, AuditEventRepository, UsageService, UsageSampleRepository],
  controllers: [AuditController, UsageController],
  exports: [AuditService, AuditEventRepository, UsageService, UsageSampleRepository],
})
export class AuditModule {}
