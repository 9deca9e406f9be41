import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bindPolicy, netnsSuite, rest } from '../utils/netns-warden';
import { eventually } from '../utils/services';
import { ADMIN_TOKEN } from '../utils/warden';

const BB = 'busybox:1.35';

/**
 * The report's "Network exposure" section lists each container's egress allowlist beside its
 * networks, published ports and bandwidth caps (issue 16, point 4), in report.json,
 * exposure.csv and the PDF: an allowlist from the `warden.egress` label, an empty one, none at
 * all, and one a policy's `network.egress.default` gave. Warden runs in a network namespace
 * of the test's own; nothing is made in the machine's.
 */
describe('network exposure in the compliance report (Warden in its own netns)', () => {
  const suite = netnsSuite();
  const ok = suite.ok;
  const from = new Date(Date.now() - 60_000).toISOString();
  const file = (id: string, name: string) =>
    suite.w.inNetns([
      'curl',
      '-sf',
      '-H',
      `authorization: Bearer ${ADMIN_TOKEN}`,
      `http://127.0.0.1:8484/reports/${id}/files/${name}`,
      ...(name.endsWith('.pdf') ? ['-o', path.join(suite.w.dataDir, name)] : []),
    ]).stdout;

  it('lists each container’s egress allowlist in JSON, CSV and PDF', async () => {
    await ok(['network', 'create', '--subnet', '10.94.0.0/24', 'exnet']);
    const run = (name: string, ...flags: string[]) =>
      ok(['create', '--name', name, '--network', 'exnet', ...flags, BB, 'sleep', '300']);
    await run('listed', '--label', 'warden.egress=10.94.0.0/24:80/tcp,10.94.0.5', '-p', '127.0.0.1:18400:80');
    await run('closed', '--label', 'warden.egress=');
    await run('open', '--label', 'warden.bandwidth.egress=10mbit');
    bindPolicy(suite.w, 'egress-default', {
      network: { egress: { allowed: ['10.94.0.0/24'], default: ['10.94.0.0/24:53/udp'] } },
    });
    await run('defaulted');
    await ok(['start', 'listed']);

    const to = new Date(Date.now() + 60_000).toISOString();
    const id = rest(suite.w, 'POST', '/reports', { from, to }).body.id as string;
    await eventually(
      'the report',
      async () => rest(suite.w, 'GET', `/reports/${id}`).body.status === 'done' || undefined,
      60_000,
    );

    const exposure = (JSON.parse(file(id, 'report.json')) as { exposure: Array<Record<string, unknown>> })
      .exposure;
    const byName = Object.fromEntries(exposure.map((e) => [e.name, e]));
    expect(byName.listed).toMatchObject({
      networks: ['exnet'],
      published: ['127.0.0.1:18400->80/tcp'],
      egress: ['10.94.0.0/24:80/tcp', '10.94.0.5'],
    });
    expect(byName.closed).toMatchObject({ networks: ['exnet'], egress: [] });
    expect(byName.open).toMatchObject({ networks: ['exnet'], egressBps: 10_000_000 });
    expect(byName.open).not.toHaveProperty('egress');
    expect(byName.defaulted).toMatchObject({ egress: ['10.94.0.0/24:53/udp'] });

    const csv = file(id, 'exposure.csv').trim().split('\r\n');
    expect(csv[0]).toBe('container_id,name,image,networks,published,egress_bps,ingress_bps,egress_allowlist');
    const line = (name: string) => csv.find((l) => l.split(',')[1] === name);
    expect(line('listed')).toMatch(
      /,exnet,127\.0\.0\.1:18400->80\/tcp,,,10\.94\.0\.0\/24:80\/tcp 10\.94\.0\.5$/,
    );
    expect(line('closed')).toMatch(/,none$/);
    expect(line('open')).toMatch(/,10000000,,unrestricted$/);
    expect(line('defaulted')).toMatch(/,10\.94\.0\.0\/24:53\/udp$/);

    file(id, 'report.pdf');
    const pdf = path.join(suite.w.dataDir, 'report.pdf');
    const text = execFileSync('pdftotext', ['-layout', pdf, '-']).toString();
    fs.rmSync(pdf);
    const section = text.slice(text.indexOf('Network exposure'));
    expect(section).toMatch(/egress allowlist/);
    expect(section).toMatch(/open\s.*unrestricted/);
    expect(section).toMatch(/closed\s.*none/);
    expect(section).toMatch(/defaulted\s.*10\.94\.0\.0\/24/);

    rest(suite.w, 'DELETE', '/policies/egress-default/bindings?kind=principal&value=docker-root');
    await ok(['rm', '-f', 'listed', 'closed', 'open', 'defaulted']);
    await ok(['network', 'rm', 'exnet']);
  });
});
