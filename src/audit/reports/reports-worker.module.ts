import { Module } from '@nestjs/common';
import { ReportRepository } from './report.repository';
import { ReportsProcessor } from './reports.processor';

/** Registered only in the worker role: generates the reports the API queued. */
@Module({ providers: [ReportsProcessor, ReportRepository] })
export class ReportsWorkerModule {}
