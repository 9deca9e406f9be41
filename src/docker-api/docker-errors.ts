import { databaseUnavailable, WardenError } from '../platform/errors';

/**
 * Docker-shaped errors (`{"message": …}`, which the CLI prints after "Error response from
 * daemon:") from the same code → status table as every other surface.
 */
export function dockerError(err: unknown): { status: number; message: string } {
  err = databaseUnavailable(err) ?? err;
  if (err instanceof WardenError) {
    // The CLI recognises a missing image by the 404 and pulls; Docker's own wording reads
    // right in its output ("Unable to find image … locally" follows).
    if (err.code === 'IMAGE_NOT_FOUND' && typeof err.detail.ref === 'string')
      return { status: 404, message: `No such image: ${err.detail.ref}` };
    return { status: err.status, message: err.message };
  }
  return { status: 500, message: `internal error: ${(err as Error)?.message ?? String(err)}` };
}
