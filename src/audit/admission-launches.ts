import type { AuditEvent } from './audit-event';

/**
 * The launch requests a Kubernetes review's decision event carries (issue 18), as the rows the
 * chain's commit writes to `launch_requests` in the same transaction (replay reads them).
 *
 * A docker run records its request row before its event, because the row is what it acts on.
 * A review acts on nothing: its answer is the decision, and the event (made durable in Redis
 * before the answer) already holds every container's spec and decision. So a validating,
 * non-dry-run review puts each container's launch request id and its spec as requested (before
 * defaults: what replay judges again) in the event, and the rows follow from the event once it
 * is on the chain — one durable write on the review's path instead of a PostgreSQL commit
 * and then a Redis append (bench/README.md, admission). A row then never exists without its
 * event, and an event's rows are never lost: both commit together or not at all.
 */
export interface AdmissionLaunchRow {
  id: string;
  principal: string;
  principalTeams: string[];
  request: { admission: Record<string, unknown> };
  spec: unknown;
  decision: unknown;
  policyVersion: string | null;
  createdAt: string;
}

interface CarriedContainer {
  name?: string;
  type?: string;
  launchRequestId?: string;
  requested?: unknown;
  decision?: { policyVersion?: string | null };
}

/** What of the review a row keeps in `request.admission`: the review, not its judgement. */
const REVIEW_FIELDS = ['webhook', 'review', 'operation', 'dryRun', 'kubernetes', 'object', 'subResource'];

export function admissionLaunchesOf(events: AuditEvent[]): AdmissionLaunchRow[] {
  const rows: AdmissionLaunchRow[] = [];
  for (const e of events) {
    const p = e.payload;
    if (e.type !== 'policy.decision' || p.action !== 'admission' || !Array.isArray(p.containers)) continue;
    const review = Object.fromEntries(REVIEW_FIELDS.filter((k) => k in p).map((k) => [k, p[k]]));
    const teams = Array.isArray(p.teams) ? (p.teams as string[]) : [];
    for (const c of p.containers as CarriedContainer[]) {
      if (!c.launchRequestId || c.requested === undefined || !c.decision) continue;
      rows.push({
        id: c.launchRequestId,
        principal: e.principal,
        principalTeams: teams,
        request: { admission: { ...review, container: c.name, type: c.type } },
        spec: c.requested,
        decision: c.decision,
        policyVersion: c.decision?.policyVersion ?? null,
        createdAt: e.occurredAt,
      });
    }
  }
  return rows;
}
