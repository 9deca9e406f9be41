export { ERROR_STATUS, statusOf } from './error-codes';
export type { ErrorCode } from './error-codes';
export { WardenError } from './warden-error';
export { HttpExceptionFilter, toErrorBody } from './http-exception.filter';
export type { ErrorBody } from './http-exception.filter';
export { databaseUnavailable, isUnavailable, redisUnavailable, untilAvailable } from './unavailable';
export { classifyError, isDatabaseUnavailable, sqlStateOf } from './classify';
