import { DataSource } from 'typeorm';
import { AuditEventRepository } from '../audit-event.repository';
import type {
  CapHit,
  ComplianceReport,
  DecisionCounts,
  ExceptionUse,
  ImageUse,
  PolicyChange,
  ReportParams,
  RuleCount,
} from './compliance-report.types';
import { exposureIn } from './exposure';
import { diffDocuments } from './policy-diff';
import { showback, SHOWBACK_DEFINITION } from './showback';

const PAGE = 1000;

interface Reason {
  rule: string;
  message: string;
}
interface DecisionPayload {
  action?: 'launch' | 'pull' | 'admission';
  /** Kubernetes admission (issue 18): which webhook, a dry run, and the review's subjects. */
  webhook?: 'validate' | 'mutate';
  dryRun?: boolean;
  teams?: string[];
  image?: string;
  spec?: { labels?: Record<string, string>; image?: { registry?: string; repository?: string } };
  decision?: {
    reasons?: Reason[];
    waived?: Array<Reason & { exceptionId: string }>;
    policy?: string;
    policyVersion?: string;
  };
}

const zero = (): DecisionCounts => ({
  launches: 0,
  pulls: 0,
  allowed: 0,
  allowedByException: 0,
  denied: 0,
  wouldDeny: 0,
});

/**
 * Builds the compliance report for a window from the evidence itself: the audit trail (a
 * page at a time, yielding between pages so an API in the same process keeps answering),
 * policy versions for diffs, exceptions for who approved them, usage samples for showback.
 */
export async function buildComplianceReport(
  ds: DataSource,
  events: AuditEventRepository,
  id: string,
  params: ReportParams,
): Promise<ComplianceReport> {
  const from = new Date(params.from);
  const to = new Date(params.to);
  const [labelKey, labelValue] = params.label?.split('=', 2) ?? [];

  const totals = zero();
  const byDay = new Map<string, DecisionCounts>();
  const rules = new Map<string, RuleCount>();
  const exceptionUses = new Map<string, { rule: string; uses: number }>();
  const images = new Map<string, ImageUse>();
  const versionsSeen = new Map<string, string>();

  for (let after = 0; ;) {
    const page: Array<{
      seq: string;
      occurred_at: Date;
      decision: string;
      payload: DecisionPayload;
      teams: string[] | null;
    }> = await ds.query(
      `SELECT a.seq, a.occurred_at, a.decision, a.payload, lr.principal_teams AS teams
           FROM audit_events a LEFT JOIN launch_requests lr ON a.payload->>'action' = 'launch' AND lr.id = (a.payload->>'launchRequestId')::uuid
          WHERE a.type = 'policy.decision' AND a.occurred_at >= $1 AND a.occurred_at < $2 AND a.seq > $3
          ORDER BY a.seq LIMIT $4`,
      [from, to, after, PAGE],
    );
    for (const row of page) {
      const p = row.payload;
      // A Kubernetes review is a launch when the validating webhook admits it for real: the
      // mutating one's and a dry run's are decisions about what was not launched.
      if (p.action === 'admission' && (p.webhook === 'mutate' || p.dryRun)) continue;
      const launch = p.action !== 'pull';
      const teams = row.teams ?? (p.action === 'admission' ? p.teams : null);
      if (params.team && !(launch && teams?.includes(params.team))) continue;
      if (labelKey !== undefined) {
        const labels = p.spec?.labels ?? {};
        if (!launch || !(labelKey in labels) || (labelValue !== undefined && labels[labelKey] !== labelValue))
          continue;
      }
      // A request whose decision was never recorded before Warden stopped: nothing came of it,
      // so it counts as no decision (its event says so; policy/interrupted-decisions.ts).
      if (row.decision === 'interrupted') continue;
      const day = row.occurred_at.toISOString().slice(0, 10);
      const dayCounts = byDay.get(day) ?? zero();
      byDay.set(day, dayCounts);
      const waived = p.decision?.waived ?? [];
      const kind =
        row.decision === 'denied'
          ? 'denied'
          : row.decision === 'would-deny'
            ? 'wouldDeny'
            : waived.length
              ? 'allowedByException'
              : 'allowed';
      for (const c of [totals, dayCounts]) {
        c[launch ? 'launches' : 'pulls'] += 1;
        c[kind] += 1;
      }
      if (kind === 'denied' || kind === 'wouldDeny') {
        for (const r of p.decision?.reasons ?? []) {
          const rc = rules.get(r.rule) ?? {
            rule: r.rule,
            denied: 0,
            wouldDeny: 0,
            waived: 0,
            example: r.message,
          };
          rc[kind] += 1;
          rules.set(r.rule, rc);
        }
      }
      for (const w of waived) {
        const rc = rules.get(w.rule) ?? {
          rule: w.rule,
          denied: 0,
          wouldDeny: 0,
          waived: 0,
          example: w.message,
        };
        rc.waived += 1;
        rules.set(w.rule, rc);
        const eu = exceptionUses.get(w.exceptionId) ?? { rule: w.rule, uses: 0 };
        eu.uses += 1;
        exceptionUses.set(w.exceptionId, eu);
      }
      if (p.decision?.policy && p.decision.policyVersion)
        versionsSeen.set(`${p.decision.policy}@${p.decision.policyVersion}`, p.decision.policy);
      const img = p.image ?? '';
      if (img) {
        const registry =
          p.spec?.image?.registry ??
          (img.includes('/') && /[.:]|^localhost/.test(img.split('/')[0]) ? img.split('/')[0] : '');
        const iu = images.get(img) ?? {
          registry: registry || '(local)',
          image: img,
          digest: null,
          launches: 0,
          pulls: 0,
        };
        iu[launch ? 'launches' : 'pulls'] += 1;
        images.set(img, iu);
      }
    }
    if (page.length < PAGE) break;
    after = Number(page[page.length - 1].seq);
    await new Promise((r) => setImmediate(r));
  }

  const exceptions = await exceptionDetails(ds, exceptionUses);
  const policyChanges = await policyChangesIn(ds, from, to);
  const team = params.team ?? null;
  const capHits = await capHitsIn(ds, from, to, team);
  const lifecycle: Array<{ type: string; n: string }> = await ds.query(
    `SELECT type, count(*) AS n FROM audit_events e WHERE type IN ('container.created', 'container.died') AND occurred_at >= $1 AND occurred_at < $2
        AND ${OF_TEAM('e', '$3')} GROUP BY type`,
    [from, to, team],
  );
  const digests: Array<{ image: string; digest: string }> = await ds.query(
    `SELECT DISTINCT payload->>'image' AS image, payload->>'imageDigest' AS digest FROM audit_events e
      WHERE type = 'container.created' AND occurred_at >= $1 AND occurred_at < $2 AND payload->>'imageDigest' IS NOT NULL
        AND ${OF_TEAM('e', '$3')}`,
    [from, to, team],
  );
  for (const d of digests) {
    const iu = images.get(d.image);
    if (iu) iu.digest = d.digest;
  }
  const chain = await chainForWindow(ds, events, from, to);
  const count = (t: string) => Number(lifecycle.find((l) => l.type === t)?.n ?? 0);

  return {
    kind: 'warden.compliance-report/v1',
    id,
    generatedAt: new Date().toISOString(),
    params,
    population: {
      ...totals,
      containersCreated: count('container.created'),
      containersDied: count('container.died'),
      decisionsByDay: [...byDay.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([day, c]) => ({ day, ...c })),
    },
    reasonsByRule: [...rules.values()].sort(
      (a, b) => b.denied + b.wouldDeny + b.waived - (a.denied + a.wouldDeny + a.waived),
    ),
    exceptions,
    policyVersionsActive: [...versionsSeen.entries()].map(([k, policy]) => ({
      policy,
      versionId: k.split('@')[1],
    })),
    policyChanges,
    capHits,
    exposure: await exposureIn(ds, from, to),
    images: [...images.values()].sort((a, b) => b.launches + b.pulls - (a.launches + a.pulls)),
    showback: { definition: SHOWBACK_DEFINITION, rows: await showback(ds, from, to, params) },
    chain,
  };
}

async function exceptionDetails(
  ds: DataSource,
  uses: Map<string, { rule: string; uses: number }>,
): Promise<ExceptionUse[]> {
  if (uses.size === 0) return [];
  const rows: Array<{
    id: string;
    rule: string;
    requester: string;
    approver: string;
    ticket: string;
    expires_at: Date;
  }> = await ds.query(
    'SELECT id, rule, requester, approver, ticket, expires_at FROM policy_exceptions WHERE id = ANY($1::uuid[])',
    [[...uses.keys()]],
  );
  return [...uses.entries()].map(([id, u]) => {
    const r = rows.find((x) => x.id === id);
    return {
      exceptionId: id,
      rule: r?.rule ?? u.rule,
      requester: r?.requester,
      approver: r?.approver,
      ticket: r?.ticket,
      expiresAt: r?.expires_at.toISOString(),
      uses: u.uses,
    };
  });
}

async function policyChangesIn(ds: DataSource, from: Date, to: Date): Promise<PolicyChange[]> {
  const rows: Array<{
    occurred_at: Date;
    principal: string;
    type: string;
    subject: string;
    payload: Record<string, unknown>;
  }> = await ds.query(
    `SELECT occurred_at, principal, type, subject, payload FROM audit_events
      WHERE type IN ('policy.version.created', 'policy.activated', 'policy.bound', 'policy.unbound', 'exception.created', 'exception.expired')
        AND occurred_at >= $1 AND occurred_at < $2 ORDER BY seq`,
    [from, to],
  );
  const out: PolicyChange[] = [];
  for (const r of rows) {
    const change: PolicyChange = {
      time: r.occurred_at.toISOString(),
      principal: r.principal,
      type: r.type,
      policy: String(r.payload.policy ?? r.subject ?? ''),
      versionId: (r.payload.versionId as string | undefined) ?? undefined,
      detail: r.type === 'policy.version.created' ? { versionId: r.payload.versionId } : r.payload,
    };
    if (r.type === 'policy.activated' && r.payload.previous && r.payload.versionId) {
      const docs: Array<{ id: string; document: unknown }> = await ds.query(
        'SELECT id, document FROM policy_versions WHERE id = ANY($1)',
        [[r.payload.previous, r.payload.versionId]],
      );
      const before = docs.find((d) => d.id === r.payload.previous)?.document;
      const after = docs.find((d) => d.id === r.payload.versionId)?.document;
      if (before && after) change.diff = diffDocuments(before, after);
    }
    out.push(change);
  }
  return out;
}

/**
 * A container event of the report's team (the parameter, or any when it is null): a container's
 * team is its launching principal's teams at decision time, as for decisions and showback.
 */
export const OF_TEAM = (alias: string, param: string) =>
  `(${param}::text IS NULL OR EXISTS (
     SELECT 1 FROM audit_events c JOIN launch_requests lr ON lr.id = (c.payload->>'launchRequestId')::uuid
      WHERE c.type = 'container.created' AND c.subject = ${alias}.subject AND ${param}::text = ANY(lr.principal_teams)))`;

async function capHitsIn(ds: DataSource, from: Date, to: Date, team: string | null): Promise<CapHit[]> {
  interface DiedPayload {
    name?: string;
    image?: string;
    oomKilled?: boolean;
    exitCode?: number;
    usage?: { oomKills?: number; throttledPeriods?: number };
  }
  const rows: Array<{ subject: string; occurred_at: Date; payload: DiedPayload }> = await ds.query(
    `SELECT subject, occurred_at, payload FROM audit_events e
      WHERE type = 'container.died' AND occurred_at >= $1 AND occurred_at < $2 AND ${OF_TEAM('e', '$3')}
        AND (payload->>'oomKilled' = 'true' OR coalesce((payload->'usage'->>'oomKills')::int, 0) > 0
             OR coalesce((payload->'usage'->>'throttledPeriods')::int, 0) > 0)
      ORDER BY seq`,
    [from, to, team],
  );
  return rows.map((r) => ({
    containerId: r.subject,
    name: r.payload.name,
    image: r.payload.image,
    time: r.occurred_at.toISOString(),
    oomKilled: r.payload.oomKilled === true,
    oomKills: Number(r.payload.usage?.oomKills ?? 0),
    throttledPeriods: Number(r.payload.usage?.throttledPeriods ?? 0),
    exitCode: r.payload.exitCode ?? null,
  }));
}

/** The chain from genesis to the window's end must verify; the head hash there anchors the report. */
async function chainForWindow(
  ds: DataSource,
  events: AuditEventRepository,
  from: Date,
  to: Date,
): Promise<ComplianceReport['chain']> {
  const v = await events.verify();
  const [head]: Array<{ seq: string; hash: string }> = await ds.query(
    'SELECT seq, hash FROM audit_events WHERE occurred_at < $1 ORDER BY seq DESC LIMIT 1',
    [to],
  );
  const [inWindow]: Array<{ n: string }> = await ds.query(
    'SELECT count(*) AS n FROM audit_events WHERE occurred_at >= $1 AND occurred_at < $2',
    [from, to],
  );
  return {
    verified: v.ok,
    rows: v.rows,
    rowsInWindow: Number(inWindow.n),
    headAtWindowEnd: head ? { seq: Number(head.seq), hash: head.hash } : null,
    ...(v.firstBroken ? { firstBroken: v.firstBroken } : {}),
  };
}
