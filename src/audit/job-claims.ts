import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_PREFIX } from '../platform/queue';

/**
 * Who has a job: the worker that commits it, or the caller that gave up on it.
 *
 * An add that Redis did not answer in time (a paused or swapping server) may still run later:
 * the command is on the connection. Without more, the caller would answer 503 ("nothing was
 * done") and the job would land anyway, putting on the trail an action that never happened.
 * So each job has one claim key, set once, by whichever side gets there first:
 *
 *   caller (add timed out)                       worker (before committing a job)
 *   ──────────────────────                       ────────────────────────────────
 *   on the add's own connection, after the add:  CLAIM <key> commit
 *   VOID <keys…>                                   → 'commit': commit the job's items
 *     → 'voided': 503, and the job, if it          → 'void':   complete it, commit nothing
 *        lands, is dropped by the worker
 *     → 'landed': a worker already claimed one
 *        of them: the add ran, answer success
 *
 * Both are Lua scripts, so each check-and-set is atomic. The void goes on the connection that
 * carries the add, after it: Redis runs them in that order. A paused server has both in its
 * socket buffer when it resumes and runs them back to back, before any worker can fetch the
 * job; a slow one (an fsync) ran the add earlier, and then a worker's claim may already be
 * there, which the void reports as 'landed'.
 */
export type VoidVerdict = 'voided' | 'landed';

/** A worker's claim lasts well past any caller's timeout; a job retried later claims anew. */
const COMMIT_CLAIM_SECONDS = 600;
/** A void must outlive the job it voids: one waiting through a long PostgreSQL outage. */
const VOID_CLAIM_SECONDS = 7 * 24 * 3600;

// KEYS: claim keys. ARGV[1]: ttl. 'landed' if any is claimed for commit, else all void.
const VOID_SCRIPT = `
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == 'commit' then return 'landed' end
end
for _, k in ipairs(KEYS) do redis.call('SET', k, 'void', 'EX', ARGV[1]) end
return 'voided'`;

// KEYS[1]: the claim key. ARGV[1]: ttl. The claim as it stands after this call.
const CLAIM_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if v == 'void' then return 'void' end
redis.call('SET', KEYS[1], 'commit', 'EX', ARGV[1])
return 'commit'`;

export function claimKey(queue: string, jobId: string): string {
  return `${QUEUE_PREFIX}:${queue}:claim:${jobId}`;
}

/** The caller's side: void jobs whose add it gave up on. */
export interface JobVoider {
  void(jobIds: string[]): Promise<VoidVerdict>;
}

/** Voids on the queue's own connection, the one its adds travel on (see above). */
export function queueVoider(queue: Queue): JobVoider {
  return {
    async void(jobIds) {
      const client = (await queue.client) as unknown as Redis;
      const keys = jobIds.map((id) => claimKey(queue.name, id));
      return (await client.eval(VOID_SCRIPT, keys.length, ...keys, VOID_CLAIM_SECONDS)) as VoidVerdict;
    },
  };
}

/** The worker's side: true when the job is its to commit, false when its caller voided it. */
export async function claimForCommit(client: Redis, queue: string, jobId: string): Promise<boolean> {
  return (await client.eval(CLAIM_SCRIPT, 1, claimKey(queue, jobId), COMMIT_CLAIM_SECONDS)) === 'commit';
}
