import { ErrorCode, statusOf } from './error-codes';

/**
 * An error a user can act on: a code from the table, a message that says what was wrong
 * and what to do, and the detail (values, limits, ids) that a client can read.
 */
export class WardenError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WardenError';
  }

  get status(): number {
    return statusOf(this.code);
  }
}
