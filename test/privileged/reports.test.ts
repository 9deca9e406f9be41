import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { verifyReport } from '../../src/audit';
import { importBusybox, runContainer } from '../utils/containers';
import { eventually } from '../utils/services';
import { ADMIN_TOKEN, api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * A seeded window — launches allowed and denied, one allowed by an exception, a policy
 * change, an OOM kill — and the report over it: counts, signature, PDF, CSVs.
 */
describe('compliance report for a seeded window', () => {
  let w: TestWarden;
  let deployer: string;
  let auditor: string;
  let report: any;
  let reportId: string;
  const from = new Date(Date.now() - 60_000).toISOString();

  const policyDoc = (maxMemory: string) => ({
    name: 'team-red',
    mode: 'enforce',
    rules: {
      resources: { memory: { required: true, max: maxMemory }, pids: { default: 256 } },
      images: { allowedRegistries: [''] },
      privileged: { allow: false },
      labels: { required: ['owner'] },
    },
  });

  beforeAll(async () => {
    w = await startTestWarden('up', { WARDEN_CGROUP_PARENT: `warden-report-${process.pid}` });
    await importBusybox(w);
    const token = async (id: string, role: string) => {
      await api(w, 'POST', '/principals', { body: { id, role, teams: ['red'] } });
      return (await api(w, 'POST', '/tokens', { body: { principalId: id, name: 't' } })).body.token as string;
    };
    deployer = await token('dana', 'deployer');
    auditor = await token('alex', 'auditor');
    const v1 = await api(w, 'POST', '/policies', { body: policyDoc('256m') });
    await api(w, 'POST', '/policies/team-red/activate', {
      body: { versionId: v1.body.versionId ?? v1.body.id },
    });
    await api(w, 'POST', '/policies/team-red/bindings', { body: { kind: 'team', value: 'red' } });

    // allowed, and OOM-killed
    const oom = await runContainer(
      w,
      { memory: '64m', labels: { owner: 'dana' }, cmd: ['sh', '-c', 'head -c 200m /dev/zero | tail'] },
      deployer,
    );
    expect(oom.inspect.oomKilled).toBe(true);
    // allowed
    await runContainer(w, { memory: '32m', labels: { owner: 'dana' }, cmd: ['true'] }, deployer);
    // denied twice: over the cap, and without the owner label
    expect(
      (
        await api(w, 'POST', '/containers', {
          token: deployer,
          body: { image: 'busybox:1.35', memory: '1g', labels: { owner: 'dana' } },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api(w, 'POST', '/containers', {
          token: deployer,
          body: { image: 'busybox:1.35', memory: '32m' },
        })
      ).status,
    ).toBe(403);
    // an exception admits one over the cap
    const exc = await api(w, 'POST', '/exceptions', {
      body: {
        rule: 'resources.memory.max',
        principalId: 'dana',
        image: { repository: 'busybox' },
        requester: 'dana',
        ticket: 'CHG-1234',
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      },
    });
    expect(exc.status).toBe(201);
    await runContainer(w, { memory: '300m', labels: { owner: 'dana' }, cmd: ['true'] }, deployer);
    // a policy change: the cap goes down
    const v2 = await api(w, 'POST', '/policies', { body: policyDoc('128m') });
    await api(w, 'POST', '/policies/team-red/activate', {
      body: { versionId: v2.body.versionId ?? v2.body.id },
    });

    await eventually('the last events in the trail', async () => {
      const r = await api(w, 'GET', '/audit/events?type=policy.activated&limit=1000');
      return r.body.events.filter((e: any) => e.subject === 'team-red').length === 2;
    });
    await eventually('usage records of the runs', async () => {
      const r = await api(w, 'GET', '/usage?label=owner');
      return r.body.rollups.length > 0;
    });
    const requested = await api(w, 'POST', '/reports', {
      token: auditor,
      body: { from, to: new Date(Date.now() + 60_000).toISOString(), team: 'red' },
    });
    expect(requested.status).toBe(201);
    reportId = requested.body.id;
    await eventually(
      'the report',
      async () => (await api(w, 'GET', `/reports/${reportId}`, { token: auditor })).body.status === 'done',
      60_000,
    );
    report = (await api(w, 'GET', `/reports/${reportId}/files/report.json`, { token: auditor })).body;
  }, 180_000);
  afterAll(() => w.close());

  it('counts launches allowed, denied and allowed by exception, with reasons by rule', () => {
    expect(report.population).toMatchObject({
      launches: 5,
      allowed: 2,
      denied: 2,
      allowedByException: 1,
      wouldDeny: 0,
    });
    const rules = Object.fromEntries(report.reasonsByRule.map((r: any) => [r.rule, r]));
    expect(rules['resources.memory.max']).toMatchObject({ denied: 1, waived: 1 });
    expect(rules['labels.required']).toMatchObject({ denied: 1 });
  });

  it('names the exception used, its approver and expiry', () => {
    expect(report.exceptions).toEqual([
      expect.objectContaining({
        rule: 'resources.memory.max',
        approver: 'admin',
        requester: 'dana',
        ticket: 'CHG-1234',
        uses: 1,
      }),
    ]);
  });

  it('shows the policy change with who, when and the diff', () => {
    const activations = report.policyChanges.filter(
      (c: any) => c.type === 'policy.activated' && c.policy === 'team-red',
    );
    expect(activations).toHaveLength(2);
    expect(activations[1].principal).toBe('admin');
    expect(activations[1].diff).toEqual([expect.objectContaining({ path: 'rules.resources.memory.max' })]);
  });

  it('lists the OOM-killed container and the images by digest, and verifies the chain', () => {
    expect(report.capHits).toEqual([expect.objectContaining({ oomKilled: true, exitCode: 137 })]);
    expect(report.images).toEqual([
      expect.objectContaining({
        image: 'busybox:1.35',
        digest: expect.stringMatching(/^sha256:/),
        launches: 5,
      }),
    ]);
    expect(report.chain).toMatchObject({
      verified: true,
      headAtWindowEnd: { hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
  });

  it('shows usage per team, label and image with the cap each ran with', () => {
    const keys = report.showback.rows.map((r: any) => r.key);
    expect(keys).toEqual(expect.arrayContaining(['team:red', 'label:owner=dana', 'image:busybox:1.35']));
    const team = report.showback.rows.find((r: any) => r.key === 'team:red');
    expect(team.peakMemoryBytes).toBeGreaterThan(0);
    expect(team.requestedMemoryBytes).toBe(300 * 1024 ** 2); // the largest cap among the team's runs
    expect(report.showback.definition).toMatch(/inactive_file/);
  });

  it('is signed: the published key verifies it, and one changed byte breaks it', async () => {
    const key = (await api(w, 'GET', '/reports/public-key', { token: null })).body as string;
    expect(key).toContain('BEGIN PUBLIC KEY');
    const raw = await fetch(`${w.url}/reports/${reportId}/files/report.json`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    }).then((r) => r.text());
    expect(verifyReport(raw, key)).toBe(true);
    const i = raw.indexOf('"denied": 2');
    expect(i).toBeGreaterThan(0);
    const tampered = raw.slice(0, i) + '"denied": 1' + raw.slice(i + '"denied": 2'.length);
    expect(verifyReport(tampered, key)).toBe(false);
  });

  it('renders a PDF a person can read, and CSVs that load', async () => {
    const res = await fetch(`${w.url}/reports/${reportId}/files/report.pdf`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const pdf = Buffer.from((await res.arrayBuffer()) as ArrayBuffer);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-pdf-'));
    fs.writeFileSync(path.join(dir, 'r.pdf'), pdf);
    execFileSync('pdftoppm', [
      '-png',
      '-r',
      '60',
      '-f',
      '1',
      '-l',
      '1',
      path.join(dir, 'r.pdf'),
      path.join(dir, 'page'),
    ]);
    const png = fs.readdirSync(dir).find((f) => f.endsWith('.png'))!;
    expect(fs.statSync(path.join(dir, png)).size).toBeGreaterThan(5000);
    const text = execFileSync('pdftotext', [path.join(dir, 'r.pdf'), '-']).toString();
    expect(text).toContain('Warden compliance report');
    expect(text).toContain('resources.memory.max');
    fs.rmSync(dir, { recursive: true, force: true });

    const meta = (await api(w, 'GET', `/reports/${reportId}`, { token: auditor })).body;
    const csvs = meta.files.filter((f: any) => f.name.endsWith('.csv'));
    expect(csvs.map((f: any) => f.name)).toEqual(
      expect.arrayContaining(['reasons-by-rule.csv', 'exceptions.csv', 'cap-hits.csv', 'showback.csv']),
    );
    const reasons = String(
      (await api(w, 'GET', `/reports/${reportId}/files/reasons-by-rule.csv`, { token: auditor })).body,
    );
    const lines = reasons.trim().split('\r\n');
    expect(lines[0]).toBe('rule,denied,would_deny,waived,example');
    expect(lines.length).toBe(report.reasonsByRule.length + 1);
  });

  it('samples launches with their whole story and the audit rows that prove it', async () => {
    const r = await api(
      w,
      'GET',
      `/reports/sample?from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}&n=10`,
      {
        token: auditor,
      },
    );
    expect(r.status).toBe(200);
    expect(r.body).toHaveLength(5);
    const oom = r.body.find((s: any) => s.exit?.payload.oomKilled);
    expect(oom.decision).toMatchObject({
      type: 'policy.decision',
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(oom.container.payload.spec.memoryBytes).toBe(64 * 1024 ** 2);
    expect(oom.pulls[0]).toMatchObject({ type: 'image.imported' });
    expect(oom.exit.payload).toMatchObject({ exitCode: 137 });
  });
});
