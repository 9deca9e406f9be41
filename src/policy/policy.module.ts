import { Module } from '@nestjs/common';
import { AuditModule } from '../audit';
import { AdmissionDecisionService } from './admission-decision.service';
import { BaselineBootstrap } from './baseline.bootstrap';
import { ExceptionRepository } from './exception.repository';
import { ExceptionService } from './exception.service';
import { ExceptionsController } from './exceptions.controller';
import { ExecRequestRepository } from './exec-request.repository';
import { InterruptedDecisions } from './interrupted-decisions';
import { PolicyAdminService } from './policy-admin.service';
import { PolicyController } from './policy.controller';
import { PolicyRepository } from './policy.repository';
import { PolicyService } from './policy.service';
import { ReplayService } from './replay.service';

/** Policies, bindings, exceptions, decisions (PolicyService) and replay. API processes only. */
@Module({
  imports: [AuditModule],
  providers: [
    PolicyRepository,
    ExceptionRepository,
    ExecRequestRepository,
    PolicyService,
    PolicyAdminService,
    ExceptionService,
    ReplayService,
    BaselineBootstrap,
    InterruptedDecisions,
    AdmissionDecisionService,
  ],
  controllers: [PolicyController, ExceptionsController],
  exports: [PolicyService, AdmissionDecisionService],
})
export class PolicyModule {}
