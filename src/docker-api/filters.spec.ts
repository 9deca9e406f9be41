import { WardenError } from '../platform/errors';
import { eventMatches, eventsOf, eventLine } from './events';
import { labelMatches, labelPair, matchesAny, matchesLabels, parseFilters } from './filters';
import { namePatternSql } from '../runtime/container/container.repository';
import type { AuditRow } from '../audit';

describe('docker filters', () => {
  it('reads both the list form and the map form the CLI sends', () => {
    expect(
      parseFilters('{"label":["a=b"],"status":{"exited":true,"dead":false}}', ['label', 'status']),
    ).toEqual(
      new Map([
        ['label', ['a=b']],
        ['status', ['exited']],
      ]),
    );
    expect(parseFilters(null, ['label']).size).toBe(0);
    expect(() => parseFilters('{"volume":["x"]}', ['label'])).toThrow(WardenError);
    expect(() => parseFilters('not json', ['label'])).toThrow(/not JSON/);
  });

  it('labels: key alone or key=value, all must hold; other keys are alternatives', () => {
    const labels = { team: 'a', env: 'prod' };
    expect(labelMatches(labels, 'team')).toBe(true);
    expect(labelMatches(labels, 'team=b')).toBe(false);
    expect(matchesLabels(labels, new Map([['label', ['team=a', 'env=prod']]]))).toBe(true);
    expect(matchesLabels(labels, new Map([['label', ['team=a', 'env=dev']]]))).toBe(false);
    const f = new Map([['status', ['exited', 'running']]]);
    expect(matchesAny(f, 'status', (s) => s === 'running')).toBe(true);
    expect(matchesAny(f, 'name', () => false)).toBe(true); // no such filter: no restriction
  });

  it('labels become SQL pairs: key alone (has key) or key=value (exactly), the first = splits', () => {
    expect(labelPair('team')).toEqual(['team', undefined]);
    expect(labelPair('a=b=c')).toEqual(['a', 'b=c']);
  });

  it('names: simple regexes go to SQL as Docker, anything with quantifiers as plain text', () => {
    expect(namePatternSql('web')).toEqual({ op: '~', value: 'web' });
    expect(namePatternSql('^/web-1$')).toEqual({ op: '~', value: '^/web-1$' });
    // never a regex: no catastrophic backtracking in the database
    expect(namePatternSql('(a+)+$')).toEqual({ op: 'strpos', value: '(a+)+$' });
  });
});

describe('docker events from audit rows', () => {
  const row = (type: string, payload: Record<string, unknown>, subject = 'c'.repeat(64)): AuditRow =>
    ({
      seq: 1,
      id: 'x',
      type,
      occurredAt: '2025-01-02T03:04:05.678Z',
      principal: 'p',
      source: { via: 'docker' },
      subject,
      payload,
      recordedAt: '',
      prevHash: '',
      hash: '',
    }) as AuditRow;

  it('maps lifecycle rows, with an oom event before the die of an OOM kill', () => {
    const created = eventsOf(
      row('container.created', { name: 'web', image: 'busybox:1.35', spec: { labels: { team: 'a' } } }),
    );
    expect(created).toEqual([
      expect.objectContaining({
        Type: 'container',
        Action: 'create',
        Actor: { ID: 'c'.repeat(64), Attributes: { name: 'web', image: 'busybox:1.35', team: 'a' } },
        time: 1735787045,
      }),
    ]);
    expect(
      eventsOf(row('container.died', { name: 'web', exitCode: 137, oomKilled: true })).map((e) => e.Action),
    ).toEqual(['oom', 'die']);
    expect(
      eventsOf(row('api.call', { action: 'container.kill', signal: 'SIGKILL' }))[0].Actor.Attributes.signal,
    ).toBe('9');
    expect(eventsOf(row('policy.decision', {}))).toEqual([]);
    const exec = { execId: 'e1', cmd: ['sh', '-c', 'true'] };
    expect(eventsOf(row('policy.decision', { action: 'exec', ...exec })).map((e) => e.Action)).toEqual([
      'exec_create: sh -c true',
    ]);
    expect(eventsOf(row('exec.started', exec))[0]).toMatchObject({
      Action: 'exec_start: sh -c true',
      Actor: { Attributes: { execID: 'e1' } },
    });
    expect(eventsOf(row('exec.ended', { ...exec, exitCode: 3 }))[0]).toMatchObject({
      Action: 'exec_die',
      Actor: { Attributes: { execID: 'e1', exitCode: '3' } },
    });
    expect(
      eventsOf(row('image.removed', { untagged: ['busybox:1.35'], deleted: ['sha256:ab'] }, 'sha256:ab')).map(
        (e) => e.Action,
      ),
    ).toEqual(['untag', 'delete']);
  });

  it('filters by type, event, container name or id prefix, and labels', () => {
    const [e] = eventsOf(
      row('container.created', { name: 'web', image: 'busybox:1.35', spec: { labels: { team: 'a' } } }),
    );
    const f = (o: Record<string, string[]>) => new Map(Object.entries(o));
    expect(eventMatches(e, f({ type: ['container'], event: ['create'], container: ['web'] }))).toBe(true);
    expect(eventMatches(e, f({ container: ['ccc'] }))).toBe(true);
    expect(eventMatches(e, f({ event: ['die'] }))).toBe(false);
    expect(eventMatches(e, f({ label: ['team=b'] }))).toBe(false);
    expect(eventMatches(e, f({ image: ['busybox'] }))).toBe(true);
  });

  it('writes timeNano as an exact integer', () => {
    const [e] = eventsOf(row('container.started', { name: 'web' }));
    expect(eventLine(e)).toMatch(/"timeNano":1735787045678000000}\n$/);
  });
});
