import { DataSource } from 'typeorm';

export interface ChainRow {
  seq: number;
  id: string;
  type: string;
  occurredAt: string;
  principal: string;
  hash: string;
  prevHash: string;
  payload: Record<string, unknown>;
}

export interface LaunchStory {
  decision: ChainRow;
  pulls: ChainRow[];
  container: ChainRow | null;
  started: ChainRow | null;
  usage: { samples: number; final: Record<string, unknown> | null };
  exit: ChainRow | null;
}

interface Row {
  subject?: string;
  seq: string;
  id: string;
  type: string;
  occurred_at: Date;
  principal: string;
  hash: string;
  prev_hash: string;
  payload: Record<string, unknown>;
}

const toChainRow = (r: Row): ChainRow => ({
  seq: Number(r.seq),
  id: r.id,
  type: r.type,
  occurredAt: r.occurred_at.toISOString(),
  principal: r.principal,
  hash: r.hash,
  prevHash: r.prev_hash,
  payload: r.payload,
});

/**
 * Audit sampling: N random launches in the window, each expanded to its whole story —
 * pull (digest, upstream) → decision (policy hash, reasons) → container (caps applied) →
 * usage → exit — with the audit rows' seq, hash and prev_hash so each can be checked
 * against the chain (hash = sha256(prev_hash || canonical(event))).
 */
export async function sampleLaunches(
  ds: DataSource,
  from: Date,
  to: Date,
  n: number,
): Promise<LaunchStory[]> {
  const decisions: Row[] = await ds.query(
    `SELECT * FROM audit_events WHERE type = 'policy.decision' AND payload->>'action' = 'launch'
        AND occurred_at >= $1 AND occurred_at < $2 ORDER BY random() LIMIT $3`,
    [from, to, n],
  );
  const stories: LaunchStory[] = [];
  for (const d of decisions) stories.push(await storyOf(ds, d));
  return stories;
}

/** A container's story, from its id (it may be removed: the audit rows remain). */
export async function containerStory(ds: DataSource, containerId: string): Promise<LaunchStory | undefined> {
  const [created]: Row[] = await ds.query(
    `SELECT * FROM audit_events WHERE type = 'container.created' AND subject = $1 ORDER BY seq LIMIT 1`,
    [containerId],
  );
  const launchRequestId = created?.payload.launchRequestId as string | undefined;
  if (!launchRequestId) return undefined;
  const [decision]: Row[] = await ds.query(
    `SELECT * FROM audit_events WHERE type = 'policy.decision' AND subject = $1 ORDER BY seq LIMIT 1`,
    [launchRequestId],
  );
  return decision ? storyOf(ds, decision) : undefined;
}

async function storyOf(ds: DataSource, d: Row): Promise<LaunchStory> {
  const launchRequestId = d.payload.launchRequestId as string | undefined;
  const [container]: Row[] = launchRequestId
    ? await ds.query(
        `SELECT * FROM audit_events WHERE type = 'container.created' AND payload->>'launchRequestId' = $1 ORDER BY seq LIMIT 1`,
        [launchRequestId],
      )
    : [];
  const containerId = container?.subject as string | undefined;
  const byContainer = async (type: string): Promise<Row | undefined> =>
    containerId
      ? (
          await ds.query('SELECT * FROM audit_events WHERE type = $1 AND subject = $2 ORDER BY seq LIMIT 1', [
            type,
            containerId,
          ])
        )[0]
      : undefined;
  const digest = container?.payload.imageDigest as string | undefined;
  const pulls: Row[] = digest
    ? await ds.query(
        `SELECT * FROM audit_events WHERE type IN ('image.pulled', 'image.imported') AND occurred_at <= $2
            AND (subject = $1 OR payload->>'digest' = $1) ORDER BY seq DESC LIMIT 3`,
        [digest, d.occurred_at],
      )
    : [];
  const usage: Array<{ samples: string; final: Record<string, unknown> | null }> = containerId
    ? await ds.query(
        `SELECT count(*) AS samples,
                (SELECT to_jsonb(f) - 'labels' FROM usage_samples f WHERE f.container_id = $1 AND f.final ORDER BY sampled_at DESC LIMIT 1) AS final
           FROM usage_samples WHERE container_id = $1`,
        [containerId],
      )
    : [{ samples: '0', final: null }];
  const started = await byContainer('container.started');
  const exit = await byContainer('container.died');
  return {
    decision: toChainRow(d),
    pulls: pulls.map(toChainRow),
    container: container ? toChainRow(container) : null,
    started: started ? toChainRow(started) : null,
    usage: { samples: Number(usage[0]?.samples ?? 0), final: usage[0]?.final ?? null },
    exit: exit ? toChainRow(exit) : null,
  };
}
