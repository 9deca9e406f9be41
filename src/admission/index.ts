// admission: what other modules may use.
export { AdmissionModule } from './admission.module';
export { AdmissionServer } from './admission.server';
export { AdmissionService } from './admission.service';
export type { Webhook } from './admission.service';
export { ensureGenerated } from './admission-tls';
export { mapPod } from './container-mapping';
export { podTemplateOf } from './pod-template';
