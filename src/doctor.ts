// `warden doctor` without the service: a composition root like main.ts, so the CLI can load the
// host probes alone (about 30 modules) instead of the runtime module's index (about 1,900).
export { formatDoctorTable, runDoctor } from './runtime/host/doctor';
