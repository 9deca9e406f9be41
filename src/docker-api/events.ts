import { constants as osConstants } from 'node:os';
import type { AuditRow } from '../audit';
import { Filters, labelMatches, matchesAny } from './filters';

/**
 * Docker events from Warden's audit trail (so `docker events --since` reaches back past a
 * restart, unlike Docker's in-memory ring of 256). Pure: one audit row → zero or more events.
 */
export interface DockerEvent {
  Type: 'container' | 'image' | 'volume';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  /** Nanoseconds; kept as a string so JSON does not round it (written as a number). */
  timeNano: string;
}

export const EVENT_FILTERS = ['type', 'event', 'container', 'image', 'label'] as const;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function containerAttributes(p: Record<string, unknown>): Record<string, string> {
  const spec = p.spec as { labels?: Record<string, string> } | undefined;
  const attrs: Record<string, string> = { ...(spec?.labels ?? {}) };
  if (str(p.name)) attrs.name = str(p.name)!;
  if (str(p.image)) attrs.image = str(p.image)!;
  return attrs;
}

function signalNumber(name: unknown): string {
  const n = typeof name === 'string' ? (osConstants.signals as Record<string, number>)[name] : undefined;
  return n === undefined ? String(name ?? '') : String(n);
}

const cmdText = (cmd: unknown): string => (Array.isArray(cmd) ? cmd.join(' ') : '');

export function eventsOf(row: AuditRow): DockerEvent[] {
  const p = row.payload;
  const ms = Date.parse(row.occurredAt);
  const at = { scope: 'local' as const, time: Math.floor(ms / 1000), timeNano: `${BigInt(ms) * 1_000_000n}` };
  const container = (Action: string, extra: Record<string, string> = {}): DockerEvent => ({
    Type: 'container',
    Action,
    Actor: { ID: row.subject ?? '', Attributes: { ...containerAttributes(p), ...extra } },
    ...at,
  });
  const image = (Action: string, ID: string, name?: string): DockerEvent => ({
    Type: 'image',
    Action,
    Actor: { ID, Attributes: name ? { name } : {} },
    ...at,
  });
  switch (row.type) {
    case 'container.created':
      return [container('create')];
    case 'container.started':
      return [container('start')];
    case 'container.died': {
      const exit = { exitCode: String(p.exitCode ?? '') };
      return p.oomKilled ? [container('oom'), container('die', exit)] : [container('die', exit)];
    }
    case 'container.removed':
      return [container('destroy')];
    case 'container.updated':
      return [container('update')];
    case 'container.paused':
      return [container('pause')];
    case 'container.unpaused':
      return [container('unpause')];
    case 'container.health_status':
      return [container(`health_status: ${str(p.status) ?? ''}`)];
    case 'container.renamed':
      return [container('rename', { oldName: str(p.oldName) ?? '' })];
    case 'volume.created':
    case 'volume.mounted':
    case 'volume.removed': {
      const Action = { 'volume.created': 'create', 'volume.mounted': 'mount', 'volume.removed': 'destroy' }[
        row.type
      ];
      const Attributes: Record<string, string> = { driver: str(p.driver) ?? 'local' };
      const containerId = str(p.container);
      if (containerId) Attributes.container = containerId;
      return [{ Type: 'volume', Action, Actor: { ID: row.subject ?? '', Attributes }, ...at }];
    }
    case 'api.call': {
      const action = str(p.action);
      if (action === 'container.kill') return [container('kill', { signal: signalNumber(p.signal) })];
      if (action === 'container.stop') return [container('stop')];
      if (action === 'container.restart') return [container('restart')];
      return [];
    }
    // Docker's exec events, from the exec's decision, start and end (issue 15).
    case 'policy.decision':
      return p.action === 'exec' && row.decision !== 'denied'
        ? [container(`exec_create: ${cmdText(p.cmd)}`, { execID: str(p.execId) ?? '' })]
        : [];
    case 'exec.started':
      return [container(`exec_start: ${cmdText(p.cmd)}`, { execID: str(p.execId) ?? '' })];
    case 'exec.ended':
      return [container('exec_die', { execID: str(p.execId) ?? '', exitCode: String(p.exitCode ?? '') })];
    case 'image.pulled':
      // Blob and manifest reads through the /v2/ proxy are audited too; only whole-image pulls are `docker pull`.
      return p.kind === 'image' && p.outcome === 'complete' && row.decision !== 'denied'
        ? [image('pull', row.subject ?? '', row.subject)]
        : [];
    case 'image.imported': {
      const action = p.format === 'rootfs' ? 'import' : 'load';
      const tags = (p.tags as string[] | undefined) ?? [];
      return tags.length
        ? tags.map((t) => image(action, row.subject ?? '', t))
        : [image(action, row.subject ?? '')];
    }
    case 'image.tagged':
      return [image('tag', row.subject ?? '', str(p.tag))];
    case 'image.pushed':
      return [image('push', row.subject ?? '', str(p.image))];
    case 'image.saved':
      return ((p.images as Array<{ digest: string; names: string[] }> | undefined) ?? []).map((i) =>
        image('save', i.digest, i.names[0]),
      );
    case 'image.removed':
      return [
        ...((p.untagged as string[] | undefined) ?? []).map((t) => image('untag', row.subject ?? '', t)),
        ...((p.deleted as string[] | undefined) ?? []).map((d) => image('delete', d)),
      ];
    default:
      return [];
  }
}

/** Within a key any value may match; every key given must match (Docker's events filters). */
export function eventMatches(e: DockerEvent, f: Filters): boolean {
  const attrs = e.Actor.Attributes;
  return (
    matchesAny(f, 'type', (t) => t === e.Type) &&
    matchesAny(f, 'event', (a) => e.Action === a || e.Action.startsWith(`${a}:`)) &&
    matchesAny(
      f,
      'container',
      (c) => e.Type === 'container' && (e.Actor.ID.startsWith(c) || attrs.name === c),
    ) &&
    matchesAny(
      f,
      'image',
      (i) =>
        attrs.image === i || attrs.name === i || e.Actor.ID === i || (attrs.image ?? '').startsWith(`${i}:`),
    ) &&
    (f.get('label') ?? []).every((l) => labelMatches(attrs, l))
  );
}

/** One JSON line; timeNano written as an integer without passing through a double. */
export function eventLine(e: DockerEvent): string {
  const { timeNano, ...rest } = e;
  return `${JSON.stringify(rest).slice(0, -1)},"timeNano":${timeNano}}\n`;
}
