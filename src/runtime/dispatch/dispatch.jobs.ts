import { createHash } from 'node:crypto';
import type { DecideResult } from '../../policy';
import type { Caller } from '../../platform/http';
import type { CreateRequest } from '../lifecycle/create';

/**
 * A launch for another node travels through that node's own BullMQ queue:
 *
 *   caller ─► node A (any API node)                      node C (the target)
 *             decide once, record the decision ─┐
 *             launch_requests: queued, node C   │
 *             add job (id = launch id) ─────────┼──► queue launch-C ─► worker on C
 *             wait for the job's result ◄───────┘                      claim: queued → claimed
 *                                                                      (guarded UPDATE; a second
 *                                                                       delivery finds it claimed)
 *                                                                      create (no new decision)
 *             ◄──────────────────── result: the container, or the error ◄─ done, container_id
 *
 * The job id is the launch id, so a launch is in the queue once however often it is added;
 * a job whose worker died is handed out again by BullMQ, and the claim makes the second run
 * answer with the first one's container (or, if the first died before it made one, an error
 * that says so) instead of creating another.
 */
export const dispatchQueueName = (node: string) => `launch-${node}`;

/** The verbs a node forwards to the node that runs the container. */
export type RemoteVerb = 'start' | 'stop' | 'kill' | 'remove';

export type DispatchJob =
  | {
      kind: 'create';
      caller: Caller;
      /** As resolved on the judging node (volumes-from applied); judged is its decision. */
      req: CreateRequest;
      judged: Judged;
    }
  | {
      kind: 'verb';
      verb: RemoteVerb;
      caller: Caller;
      id: string;
      args: { timeoutSec?: number; signal?: NodeJS.Signals; force?: boolean; volumes?: boolean };
    };

/** What a job returns: never a thrown error for a refusal, so BullMQ does not retry it. */
export type DispatchResult =
  | { ok: true; container?: unknown }
  | { ok: false; code: string; message: string; detail: Record<string, unknown> };

/** A decision made on the judging node, carried to the node that acts on it. */
export type Judged = DecideResult & { launchRequestId: string };

/**
 * A dispatched launch's container id follows from its launch id: a job delivered twice finds
 * the container the first delivery made (launch-worker.ts), and a caller told its node was
 * lost knows the id to look up.
 */
export const dispatchedContainerId = (launchRequestId: string) =>
  createHash('sha256').update(`warden-dispatch:${launchRequestId}`).digest('hex');
