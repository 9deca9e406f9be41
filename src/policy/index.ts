export { PolicyModule } from './policy.module';
export { PolicyService, auditDecisionOf } from './policy.service';
export type { DecideOptions, DecideResult } from './policy.service';
export type { Resolution } from './resolve-binding';
export * from './core';
