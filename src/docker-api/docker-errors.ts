import { classifyError, databaseUnavailable, redisUnavailable } from '../platform/errors';

/**
 * Docker-shaped errors (`{"message": …}`, which the CLI prints after "Error response from
 * daemon:") from the same code → status table as every other surface.
 */
export function dockerError(err: unknown): { status: number; message: string } {
  const known = classifyError(redisUnavailable(err) ?? err) ?? databaseUnavailable(err);
  if (known) {
    // The CLI recognises a missing image by the 404 and pulls; Docker's own wording reads
    // right in its output ("Unable to find image … locally" follows).
    if (known.code === 'IMAGE_NOT_FOUND' && typeof known.detail.ref === 'string')
      return { status: 404, message: `No such image: ${known.detail.ref}` };
    return { status: known.status, message: known.message };
  }
  return { status: 500, message: `internal error: ${(err as Error)?.message ?? String(err)}` };
}
