import { Injectable } from '@nestjs/common';
import { AuditEventRepository } from '../audit';
import { WardenError } from '../platform/errors';
import { scopeOf } from '../platform/scope';
import { DockerReply, DockerRequest, DockerRouter } from './docker-http';
import { EVENT_FILTERS, eventLine, eventMatches, eventsOf } from './events';
import { parseFilters } from './filters';

const POLL_MS = 200;
const PAGE = 500;
// Audit events reach the table through the queue a few ms after they happen; an `until` in
// the past is answered only once that much time has passed, so late rows still make it.
const SETTLE_MS = 300;

/** `docker events`: history from the audit trail, then new events as they are recorded. */
@Injectable()
export class DockerEventsController {
  constructor(private readonly audit: AuditEventRepository) {}

  register(r: DockerRouter): void {
    r.add('GET', '/events', (q, s) => this.events(q, s));
  }

  private async events(req: DockerRequest, reply: DockerReply): Promise<void> {
    // A deployer's stream is its teams' (platform/scope), chosen in SQL.
    const scope = scopeOf((await req.caller()).principal);
    const filters = parseFilters(req.query.get('filters'), EVENT_FILTERS);
    const now = new Date();
    const since = eventTime(req.query.get('since')) ?? now;
    const until = eventTime(req.query.get('until'));
    const { out, onClose } = reply.stream(200, 'application/json');
    let open = true;
    onClose(() => (open = false));
    let after: number | undefined;
    while (open) {
      const rows = await this.audit.list({ from: since, to: until, after, limit: PAGE, scope });
      for (const row of rows) {
        after = row.seq;
        for (const e of eventsOf(row)) if (eventMatches(e, filters)) out.write(eventLine(e));
      }
      if (rows.length === PAGE) continue;
      if (until && Date.now() >= until.getTime() + SETTLE_MS) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    out.end();
  }
}

/** Unix seconds with an optional fraction (what the CLI sends), or RFC 3339. */
export function eventTime(v: string | null): Date | undefined {
  if (!v) return undefined;
  const d = /^\d+(\.\d+)?$/.test(v) ? new Date(Number(v) * 1000) : new Date(v);
  if (Number.isNaN(d.getTime()))
    throw new WardenError('VALIDATION_FAILED', `invalid time '${v}': use unix seconds or RFC 3339`);
  return d;
}
