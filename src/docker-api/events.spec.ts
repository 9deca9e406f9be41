import type { AuditRow } from '../audit';
import { eventsOf } from './events';

const row = (type: string, subject: string, payload: Record<string, unknown>): AuditRow =>
  ({
    id: 'e1',
    type,
    principal: 'p',
    source: { via: 'docker' },
    subject,
    payload,
    occurredAt: '2026-01-01T00:00:00.000Z',
    seq: 1,
    recordedAt: '2026-01-01T00:00:00.000Z',
    prevHash: '',
    hash: '',
  }) as unknown as AuditRow;

const actions = (r: AuditRow) =>
  eventsOf(r).map((e) => `${e.Action} ${e.Actor.ID} ${e.Actor.Attributes.name ?? ''}`.trim());

describe('docker events of the image verbs', () => {
  it('maps tag, push, save, import and load as Docker names them', () => {
    expect(actions(row('image.tagged', 'sha256:a', { tag: 'app:1' }))).toEqual(['tag sha256:a app:1']);
    expect(actions(row('image.pushed', 'sha256:a', { image: 'h:5000/app:1' }))).toEqual([
      'push sha256:a h:5000/app:1',
    ]);
    expect(
      actions(
        row('image.saved', 'sha256:a,sha256:b', {
          images: [
            { digest: 'sha256:a', names: ['app:1'] },
            { digest: 'sha256:b', names: [] },
          ],
        }),
      ),
    ).toEqual(['save sha256:a app:1', 'save sha256:b']);
    expect(actions(row('image.imported', 'sha256:a', { format: 'rootfs', tags: [] }))).toEqual([
      'import sha256:a',
    ]);
    expect(actions(row('image.imported', 'sha256:a', { format: 'docker-save', tags: ['app:1'] }))).toEqual([
      'load sha256:a app:1',
    ]);
  });
});
