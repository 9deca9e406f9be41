// process: what other modules may use.
export {
  exited,
  freePort,
  isAlive,
  spawnSupervised,
  stopChild,
  tailOutput,
  waitFor,
  waitForStalePid,
  which,
} from './child-process';
export { findPackageFile } from './package-file';
export { startWorkerChild } from './worker-child';
export type { Logger } from './child-process';
export { SupervisedServer } from './supervised-server';
export type { ServerRun, ServerState } from './supervised-server';
