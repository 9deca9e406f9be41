export { runDoctor, formatDoctorTable } from './host/doctor';
export type { DoctorReport } from './host/doctor';
