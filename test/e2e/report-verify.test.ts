import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertBuilt, runCli } from '../utils/cli';
import { seedConsole } from '../utils/console-seed';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * `warden report verify` on a real report of a real Warden, run after that Warden has
 * stopped: only the file and the published public key are needed.
 */
describe('warden report verify, offline', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-report-verify-'));
  const file = path.join(dir, 'report.json');
  const key = path.join(dir, 'warden-report.pem');
  let w: TestWarden | undefined;

  beforeAll(async () => {
    assertBuilt();
    w = await startTestWarden('up');
    const { auditor } = await seedConsole(w);
    const to = new Date(Date.now() + 60_000).toISOString();
    const from = new Date(Date.now() - 864e5).toISOString();
    const id = (await api(w, 'POST', '/reports', { token: auditor, body: { from, to } })).body.id;
    await eventually(
      'the report',
      async () => (await api(w!, 'GET', `/reports/${id}`, { token: auditor })).body.status === 'done',
      60_000,
    );
    const json = await fetch(`${w.url}/reports/${id}/files/report.json`, {
      headers: { authorization: `Bearer ${auditor}` },
    });
    fs.writeFileSync(file, Buffer.from(await json.arrayBuffer()));
    fs.writeFileSync(key, await (await fetch(`${w.url}/reports/public-key`)).text());
    await w.close();
    w = undefined;
  }, 120_000);
  afterAll(async () => {
    await w?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('verifies the report as downloaded, with no Warden running', () => {
    const r = runCli(['report', 'verify', file, '--key', key], {});
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^ok {4}signature: valid over the canonical JSON/m);
    expect(r.stdout).toMatch(/^ok {4}chain: the report states the audit chain verified from genesis/m);
    expect(r.stdout.trim().split('\n').pop()).toBe(`${file}: verified`);
    expect(r.status).toBe(0);
  });

  it('says exactly what failed: a changed number, the wrong key, a missing file, a missing key', () => {
    const report = JSON.parse(fs.readFileSync(file, 'utf8'));
    report.population.denied += 1;
    const changed = path.join(dir, 'changed.json');
    fs.writeFileSync(changed, JSON.stringify(report));
    const r = runCli(['report', 'verify', changed, '--key', key], {});
    expect(r.stdout).toMatch(/^FAIL {2}signature: .*changed after it was signed/m);
    expect(r.stdout.trim().split('\n').pop()).toBe(`${changed}: NOT verified`);
    expect(r.status).toBe(1);

    const otherKey = path.join(dir, 'other.pem');
    fs.writeFileSync(
      otherKey,
      generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }),
    );
    const wrong = runCli(['report', 'verify', file, '--key', otherKey], {});
    expect(wrong.stdout).toMatch(
      /^FAIL {2}key: the report names key [0-9a-f]{16}, the public key given is [0-9a-f]{16}/m,
    );
    expect(wrong.status).toBe(1);

    const missing = runCli(['report', 'verify', path.join(dir, 'nope.json'), '--key', key], {});
    expect(missing.stderr).toMatch(/cannot read the report .*nope\.json: ENOENT/);
    expect(missing.status).toBe(2);
    const noKey = runCli(['report', 'verify', file], {});
    expect(noKey.stderr).toMatch(/give the public key: --key <public-key.pem>/);
    expect(noKey.status).toBe(2);
  });
});
