import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bindPolicy, netnsSuite, rest } from '../utils/netns-warden';
import { eventually } from '../utils/services';

const BB = 'busybox:1.35';

interface DecisionEvent {
  decision: string;
  payload: {
    action: string;
    spec?: { networkMode: string; networks?: string[] };
    decision: { reasons: Array<{ rule: string; detail: { network?: string } }> };
  };
}

/**
 * Every network a container joins at create is judged by policy (issue 16, point 4): the
 * further networks of a create (Docker's EndpointsConfig: `docker run --network a --network
 * b`, REST's `endpoints` and `networks`) pass `network.allowedNetworks` as a `network connect`
 * does, and the launch decision lists them. Warden runs in a network namespace of the test's
 * own; nothing is made in the machine's.
 */
describe('a create on several networks, judged for each (Warden in its own netns)', () => {
  const suite = netnsSuite();
  const ok = suite.ok;

  beforeAll(async () => {
    for (const [subnet, name] of [
      ['10.91.0.0/24', 'cpa'],
      ['10.92.0.0/24', 'cpb'],
      ['10.93.0.0/24', 'cpoff'],
    ])
      await ok(['network', 'create', '--subnet', subnet, name]);
    const rules = { network: { allowedNetworks: ['cpa', 'cpb', 'mp_front', 'mp_back'] } };
    bindPolicy(suite.w, 'several-nets', rules);
    // REST's admin principal is held to the same policy.
    const bound = rest(suite.w, 'POST', '/policies/several-nets/bindings', {
      kind: 'principal',
      value: 'admin',
    });
    expect(bound.status).toBeLessThan(300);
  });

  /** The newest launch decision whose spec has these networks, once the audit worker wrote it. */
  const launchDecision = (mode: string, networks: string[]) =>
    eventually(`the launch decision for ${mode}+${networks.join(',')}`, async () => {
      const events = rest(suite.w, 'GET', '/audit/events?type=policy.decision&order=desc&limit=200').body
        .events as DecisionEvent[];
      return events.find(
        (e) =>
          e.payload.action === 'launch' &&
          e.payload.spec?.networkMode === mode &&
          JSON.stringify(e.payload.spec.networks) === JSON.stringify(networks),
      );
    });

  it('docker run --network a --network b: a refused further network is a 403 naming the rule; nothing is made', async () => {
    const before = suite.w.footprint();
    const refused = await suite.w.docker.run([
      'run',
      '--rm',
      '--network',
      'cpa',
      '--network',
      'cpoff',
      BB,
      'true',
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /network cpoff is not allowed \(allowed: cpa, cpb.*rule network\.allowedNetworks/,
    );
    expect(refused.stderr).not.toMatch(/network cpa is not allowed/);
    expect(await ok(['ps', '-aq'])).toBe('');
    expect(suite.w.footprint()).toEqual(before);
    const denied = await launchDecision('cpa', ['cpoff']);
    expect(denied.decision).toBe('denied');
    expect(denied.payload.decision.reasons.map((r) => [r.rule, r.detail.network])).toEqual([
      ['network.allowedNetworks', 'cpoff'],
    ]);

    // An id prefix is judged as the name it stands for, as a connect judges it.
    const offId = (await ok(['network', 'inspect', '-f', '{{.Id}}', 'cpoff'])).slice(0, 12);
    const byId = await suite.w.docker.run([
      'run',
      '--rm',
      '--network',
      'cpa',
      '--network',
      offId,
      BB,
      'true',
    ]);
    expect(byId.stderr).toMatch(/network cpoff is not allowed .*rule network\.allowedNetworks/);
    expect(await ok(['ps', '-aq'])).toBe('');
  });

  it('docker run on two allowed networks joins both; the decision lists them', async () => {
    await ok(['run', '-d', '--name', 'multi', '--network', 'cpa', '--network', 'cpb', BB, 'sleep', '300']);
    const c = JSON.parse(await ok(['inspect', 'multi']))[0];
    expect(Object.keys(c.NetworkSettings.Networks).sort()).toEqual(['cpa', 'cpb']);
    const addrs = await ok(['exec', 'multi', 'ip', '-4', '-o', 'addr']);
    expect(addrs).toMatch(/inet 10\.91\.0\.\d+/);
    expect(addrs).toMatch(/inet 10\.92\.0\.\d+/);
    const allowed = await launchDecision('cpa', ['cpb']);
    expect(allowed.decision).toBe('allowed');
    await ok(['rm', '-f', 'multi']);
  });

  it('REST: endpoints and networks are judged alike; a container on none has no other (400)', async () => {
    const create = (body: Record<string, unknown>) =>
      rest(suite.w, 'POST', '/containers', { image: BB, cmd: ['true'], ...body });
    for (const asked of [{ endpoints: { cpoff: {} } }, { networks: ['cpoff'] }]) {
      const r = create({ network: 'cpa', ...asked });
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('LAUNCH_DENIED');
      expect(r.body.message).toMatch(/network cpoff is not allowed .*rule network\.allowedNetworks/);
    }
    const alone = create({ networks: ['cpa'] });
    expect(alone.status).toBe(400);
    expect(alone.body.message).toMatch(/a container on network none has no other \(asked: cpa\)/);
    expect(create({ network: 'cpa', networks: ['nosuch'] }).status).toBe(404);
    expect(rest(suite.w, 'GET', '/containers?all=true').body).toEqual([]);

    // Allowed: on both, the endpoint's address where the network is named by id prefix too.
    const cpbId = rest(suite.w, 'GET', '/networks/cpb').body.id as string;
    const made = create({
      name: 'rest-multi',
      network: 'cpa',
      endpoints: { [cpbId.slice(0, 12)]: { ipv4Address: '10.92.0.40' } },
    });
    expect(made.status).toBe(201);
    const on = (net: string) =>
      (
        rest(suite.w, 'GET', `/networks/${net}`).body.containers as Array<{ name: string; address: string }>
      ).find((c) => c.name === 'rest-multi');
    expect(on('cpa')?.address).toMatch(/^10\.91\.0\.\d+$/);
    expect(on('cpb')?.address).toBe('10.92.0.40');
    expect((await launchDecision('cpa', ['cpb'])).decision).toBe('allowed');
    expect(rest(suite.w, 'DELETE', `/containers/${made.body.id as string}?force=true`).status).toBeLessThan(
      300,
    );
  });

  it('docker-compose: a service on two networks joins both; one the policy refuses fails naming the rule', async () => {
    const dir = fs.mkdtempSync(path.join(suite.w.dataDir, 'compose-'));
    // YAML is a superset of JSON: the file written as the object it is.
    const file = (second: string) =>
      fs.writeFileSync(
        path.join(dir, 'docker-compose.yml'),
        JSON.stringify({
          version: '3.7',
          services: {
            web: {
              image: BB,
              command: ['sh', '-c', 'trap "exit 0" TERM; sleep 60 & wait'],
              networks: ['front', second],
            },
          },
          networks: { front: {}, [second]: {} },
        }),
      );
    const compose = (...args: string[]) =>
      spawnSync('docker-compose', ['-p', 'mp', ...args], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60000,
        env: { ...suite.w.docker.env(), COMPOSE_INTERACTIVE_NO_CLI: '1' },
      });
    file('back');
    const up = compose('up', '-d');
    expect(up.status).toBe(0);
    const c = JSON.parse(await ok(['inspect', 'mp_web_1']))[0];
    expect(Object.keys(c.NetworkSettings.Networks).sort()).toEqual(['mp_back', 'mp_front']);
    expect(compose('down').status).toBe(0);

    file('ops');
    const refused = compose('up', '-d');
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/network mp_ops is not allowed .*rule network\.allowedNetworks/);
    expect(compose('down').status).toBe(0);
    expect(await ok(['ps', '-aq'])).toBe('');
    expect(suite.w.footprint().links.filter((l) => l.startsWith('veth'))).toEqual([]);
  });
});
