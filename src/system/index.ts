// system: what other modules may use.
export { SystemModule } from './system.module';
