import { Module } from '@nestjs/common';
import { PolicyModule } from '../policy';
import { AdmissionServer } from './admission.server';
import { AdmissionService } from './admission.service';

/** Kubernetes admission webhooks on WARDEN_ADMISSION_PORT (off unless set); API roles only. */
@Module({
  imports: [PolicyModule],
  providers: [AdmissionService, AdmissionServer],
  exports: [AdmissionServer, AdmissionService],
})
export class AdmissionModule {}
