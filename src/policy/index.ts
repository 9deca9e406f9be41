export { PolicyModule } from './policy.module';
export { PolicyService, auditDecisionOf } from './policy.service';
export type { DecideOptions, DecideResult } from './policy.service';
export type { Resolution } from './resolve-binding';
export * from './core';
export { AdmissionDecisionService } from './admission-decision.service';
export type {
  AdmissionContainer,
  AdmissionInput,
  AdmissionResult,
  AdmittedContainer,
} from './admission-decision.service';
