import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { AdmissionServer } from '../../src/admission';
import { SHOP_POLICY } from '../fixtures/admission/shop-policy';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

const FIXTURES = path.join(__dirname, '../fixtures/admission');
const MiB = 1024 ** 2;

interface Reason {
  rule: string;
  message: string;
}
interface Decision {
  allowed: boolean;
  policy: string;
  reasons: Reason[];
  defaultsApplied: Array<{ field: string; value: number }>;
}

/**
 * Parity (issue 18): a docker run over REST and the equivalent Pod, judged by one policy
 * (bound to the REST principal and to the pod's namespace), get the same decision, the same
 * reasons and the same defaults — both read back from the audit trail.
 */
describe('admission parity: docker run and the equivalent Pod get the same decision', () => {
  let w: TestWarden;
  let token: string;
  let port: number;
  let ca: Buffer;

  const CASES: Array<[string, Record<string, unknown>]> = [
    ['pod', {}],
    ['pod-privileged', { privileged: true, capAdd: ['NET_ADMIN'], pid: 'host' }],
    // A path that is no link here: a pod's hostPath is on a node and judged as written, while
    // a docker run's is resolved on this host (a link elsewhere would name its target).
    ['pod-hostpath', { binds: ['/etc:/host-etc:ro'] }],
    ['pod-big-memory', { memory: '64g' }],
    ['pod-hostport-unconfined', { publish: ['80:8080'], seccomp: 'unconfined' }],
    [
      'pod-restricted',
      { memory: '256m', cpus: 0.5, storageSize: '2g', user: '1000:1000', readOnly: true, capDrop: ['ALL'] },
    ],
    ['pod-init-ephemeral', {}],
  ];

  function review(name: string): Record<string, any> {
    return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.review.json`), 'utf8'));
  }

  function validate(body: unknown): Promise<any> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: '/validate',
          method: 'POST',
          ca,
          servername: 'localhost',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(JSON.parse(text)));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  async function decisionEvent(match: (e: any) => boolean): Promise<any> {
    return eventually('the decision audited', async () =>
      (await api(w, 'GET', '/audit/events?type=policy.decision&limit=1000&order=desc')).body.events.find(
        match,
      ),
    );
  }

  beforeAll(async () => {
    w = await startTestWarden('up', { WARDEN_ADMISSION_PORT: '0', WARDEN_ADMISSION_HOST: '127.0.0.1' });
    port = w.app.get(AdmissionServer).port as number;
    ca = fs.readFileSync(path.join(w.dataDir, 'admission-tls', 'ca.pem'));
    const doc = {
      ...SHOP_POLICY,
      rules: {
        ...SHOP_POLICY.rules,
        resources: { ...SHOP_POLICY.rules.resources, storage: { default: 1024 * MiB } },
        network: { publish: { wildcardBelow1024: false } },
      },
    };
    const made = await api(w, 'POST', '/policies', { body: doc });
    expect(made.status).toBe(201);
    await api(w, 'POST', '/policies/shop/activate', { body: { versionId: made.body.id } });
    for (const binding of [
      { kind: 'principal', value: 'dave' },
      { kind: 'k8s-namespace', value: 'shop' },
    ])
      expect((await api(w, 'POST', '/policies/shop/bindings', { body: binding })).status).toBe(201);
    expect((await api(w, 'POST', '/principals', { body: { id: 'dave', role: 'deployer' } })).status).toBe(
      201,
    );
    token = (await api(w, 'POST', '/tokens', { body: { principalId: 'dave', name: 'parity' } })).body.token;
  });
  afterAll(async () => {
    await w?.close();
  });

  it.each(CASES)('%s', async (name, run) => {
    const pod = review(name);
    if (name === 'pod-hostpath') {
      pod.request.object.spec.volumes[0].hostPath = { path: '/etc', type: 'Directory' };
      pod.request.object.spec.containers[0].volumeMounts[0] = {
        name: 'sock',
        mountPath: '/host-etc',
        readOnly: true,
      };
    }
    const uid = `parity-${name}`;
    pod.request.uid = uid;
    const answer = (await validate(pod)).response;

    const containers = [
      ...(pod.request.object.spec.initContainers ?? []),
      ...pod.request.object.spec.containers,
      ...(pod.request.object.spec.ephemeralContainers ?? []),
    ];
    const k8s = await decisionEvent((e) => e.payload.action === 'admission' && e.payload.review === uid);
    expect(k8s.payload.containers).toHaveLength(containers.length);

    // Each container as its own docker run: its image, the pod's labels, the pod's network.
    for (const [i, c] of containers.entries()) {
      const label = `${name}-${i}`;
      const body = {
        image: c.image,
        labels: { app: 'web', parity: label },
        network: 'bridge',
        ...(c.name === 'web' ? run : {}),
        ...(c.name === 'setup' ? { capAdd: ['SYS_ADMIN'] } : {}),
        ...(c.name === 'debug' ? { privileged: true } : {}),
      };
      const r = await api(w, 'POST', '/containers', { token, body });
      expect(r.status).not.toBe(500);
      const launch = await decisionEvent(
        (e) => e.payload.action === 'launch' && e.payload.spec?.labels?.parity === label,
      );
      const docker: Decision = launch.payload.decision;
      const pods: Decision = k8s.payload.containers[i].decision;
      expect(pods.allowed).toBe(docker.allowed);
      expect(pods.policy).toBe('shop');
      expect(pods.reasons.map((x) => [x.rule, x.message])).toEqual(
        docker.reasons.map((x) => [x.rule, x.message]),
      );
      expect(pods.defaultsApplied).toEqual(docker.defaultsApplied);
      if (!docker.allowed) expect(r.status).toBe(403);
    }
    // And the review as a whole: denied exactly when some container's run is.
    const anyDenied = k8s.payload.containers.some((c: { decision: Decision }) => !c.decision.allowed);
    expect(answer.allowed).toBe(!anyDenied);
  });
});
