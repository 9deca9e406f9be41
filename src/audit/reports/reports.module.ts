import { Module } from '@nestjs/common';
import { AuditModule } from '../audit.module';
import { ReportRepository } from './report.repository';
import { ReportsController } from './reports.controller';
import { ReportsService } from './reports.service';

/** Reports, API side: request, status, files, the public key, sampling. */
@Module({
  imports: [AuditModule],
  providers: [ReportRepository, ReportsService],
  controllers: [ReportsController],
  exports: [ReportsService],
})
export class ReportsModule {}
