import { z } from 'zod';
import { parseByteSize } from './units';

/** The log drivers Warden applies; any other is refused at the request, never ignored. */
export const LOG_DRIVERS = ['json-file', 'none'] as const;
export type LogDriver = (typeof LOG_DRIVERS)[number];

// The shim's bounds (native/shim/config.c): a file of at least 1 KiB, at most 100 files.
export const MIN_LOG_BYTES = 1024;
export const MAX_LOG_FILES = 100;

export const logRequestFields = {
  logDriver: z
    .enum(LOG_DRIVERS, {
      error:
        'must be json-file or none: Warden keeps container logs itself, other drivers (syslog, journald, …) are not available',
    })
    .optional(),
  logMaxSize: z
    .union([z.number(), z.string()], { error: 'must be a byte count or a size such as 10m' })
    .optional()
    .describe('bytes per log file before it rotates, e.g. 10m (--log-opt max-size)'),
  logMaxFiles: z
    .number()
    .int()
    .optional()
    .describe('log files kept, the current one included (--log-opt max-file)'),
};

interface LogRequest {
  logDriver?: LogDriver;
  logMaxSize?: number | string;
  logMaxFiles?: number;
}

interface LogSpec {
  logDriver?: LogDriver;
  logMaxBytes?: number;
  logMaxFiles?: number;
}

export function convertLog(req: LogRequest, spec: LogSpec, errors: string[]): void {
  if (req.logDriver !== undefined) spec.logDriver = req.logDriver;
  if (req.logMaxSize !== undefined) {
    const bytes = parseByteSize(req.logMaxSize);
    if (bytes === undefined || !Number.isInteger(bytes))
      errors.push(
        `logMaxSize: ${JSON.stringify(req.logMaxSize)} is not a size; use bytes or a number with k, m or g, e.g. 10m`,
      );
    else if (bytes < MIN_LOG_BYTES)
      errors.push(
        `logMaxSize: ${JSON.stringify(req.logMaxSize)} is below 1k, the smallest log file Warden keeps`,
      );
    else spec.logMaxBytes = bytes;
  }
  if (req.logMaxFiles !== undefined) {
    if (req.logMaxFiles < 1 || req.logMaxFiles > MAX_LOG_FILES)
      errors.push(`logMaxFiles: ${req.logMaxFiles} must be from 1 to ${MAX_LOG_FILES}`);
    else spec.logMaxFiles = req.logMaxFiles;
  }
  if (req.logDriver === 'none' && (req.logMaxSize !== undefined || req.logMaxFiles !== undefined))
    errors.push('logMaxSize/logMaxFiles: the none log driver keeps no log; leave them out or use json-file');
}
