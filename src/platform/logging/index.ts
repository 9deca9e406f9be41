export { createRootLogger, httpLogOptions } from './logger';
