/**
 * Claim (issue 3): one core makes ≥ 100k policy decisions/s with p99 < 100 µs, for a realistic
 * policy of 10+ rules. Node runs this on one thread, so one core is what it measures.
 *
 *   npx tsc -p tsconfig.json --outDir /tmp/benchbuild --incremental false
 *   NODE_PATH=$PWD/node_modules node /tmp/benchbuild/bench/policy-decisions.js
 *
 * (NODE_PATH because the build lands outside the project, away from node_modules.)
 *
 * Each decision includes what the service does per launch apart from I/O: defaults, every
 * check, exception matching and building the decision. Parsing the request is measured
 * separately (it happens once per request too, but is not the decision).
 */
import {
  ContainerSpec,
  Exception,
  evaluatePolicy,
  parsePolicyDocument,
  policyVersionId,
  toContainerSpec,
} from '../src/policy/core';

const WARMUP = 20_000;
const THROUGHPUT_N = 500_000;
const LATENCY_N = 200_000;
const TARGET_RATE = 100_000;
const TARGET_P99_US = 100;

const parsed = parsePolicyDocument({
  name: 'prod',
  mode: 'enforce',
  rules: {
    resources: {
      memory: { required: true, max: '4g', default: '512m' },
      cpu: { required: true, max: 4, default: 1 },
      pids: { required: true, max: 4096, default: 1024 },
    },
    images: {
      allowedRegistries: ['corp.io/payments', 'corp.io/platform', 'ghcr.io/corp', '127.0.0.1:5000', ''],
      requireDigest: true,
      forbidLatest: true,
    },
    privileged: { allow: false },
    hostNamespaces: { allow: false },
    capabilities: { allowAdd: ['NET_BIND_SERVICE', 'CHOWN'] },
    binds: { allowedHostPaths: ['/srv/data', '/var/cache/app'] },
    devices: { allowedHostPaths: ['/dev/fuse'] },
    labels: { required: ['owner', 'cost-centre'] },
  },
});
if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
const policy = { name: parsed.doc.name, versionId: policyVersionId(parsed.doc), doc: parsed.doc };
// One rule per setting a user could be denied by: each resource bound, each image setting, each other section.
const { resources = {}, images = {}, ...others } = parsed.doc.rules;
const ruleCount =
  Object.values(resources).reduce((n, r) => n + Object.keys(r).length, 0) +
  Object.keys(images).length +
  Object.keys(others).length;

const DIGEST = `sha256:${'ab'.repeat(32)}`;
function spec(request: Record<string, unknown>): ContainerSpec {
  const r = toContainerSpec(request);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.spec;
}
const compliantRequest = {
  image: `corp.io/payments/api:2.4.1@${DIGEST}`,
  cmd: ['/app/server', '--port', '8080'],
  env: ['MODE=prod', 'LOG_LEVEL=info'],
  labels: { owner: 'payments', 'cost-centre': 'cc-042' },
  memory: '1g',
  cpus: 2,
  capAdd: ['NET_BIND_SERVICE'],
  binds: ['/srv/data/payments:/data:ro'],
  tmpfs: ['/tmp:size=64m'],
};
// A mix like a busy cluster's: mostly compliant, some defaults, some denials, one waived.
const specs: ContainerSpec[] = [
  spec(compliantRequest),
  spec({ ...compliantRequest, memory: undefined, cpus: undefined }),
  spec({ ...compliantRequest, image: 'corp.io/payments-evil/api:latest', memory: '9g', privileged: true }),
  spec({ ...compliantRequest, network: 'host', pid: 'host', capAdd: ['SYS_ADMIN'], labels: {} }),
  spec({ ...compliantRequest, binds: ['/srv/data/../../etc:/etc:ro'] }),
  spec({ ...compliantRequest, memory: '6g' }),
];
const exceptions: Exception[] = [
  {
    id: 'exc-1',
    rule: 'resources.memory.max',
    team: 'payments',
    image: { repository: 'corp.io/payments/api' },
    requester: 'dev-1',
    approver: 'sec-lead-1',
    ticket: 'SEC-1',
    expiresAt: new Date('2999-01-01T00:00:00Z'),
  },
];
const principal = { id: 'dev-1', teams: ['payments'] };
const now = new Date();

let sink = 0;
function decide(i: number): void {
  const { decision } = evaluatePolicy({ policy, spec: specs[i % specs.length], principal, exceptions, now });
  sink += decision.reasons.length + (decision.allowed ? 1 : 0);
}

for (let i = 0; i < WARMUP; i++) decide(i);

let t0 = process.hrtime.bigint();
for (let i = 0; i < THROUGHPUT_N; i++) decide(i);
const rate = THROUGHPUT_N / (Number(process.hrtime.bigint() - t0) / 1e9);

const lat = new Float64Array(LATENCY_N);
for (let i = 0; i < LATENCY_N; i++) {
  const s = process.hrtime.bigint();
  decide(i);
  lat[i] = Number(process.hrtime.bigint() - s) / 1000;
}
lat.sort();
const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];

t0 = process.hrtime.bigint();
const PARSE_N = 100_000;
for (let i = 0; i < PARSE_N; i++) sink += toContainerSpec(compliantRequest).ok ? 1 : 0;
const parseRate = PARSE_N / (Number(process.hrtime.bigint() - t0) / 1e9);

const rows: Array<[string, string, string, string]> = [
  [
    'decisions/s (one core)',
    Math.round(rate).toLocaleString('en'),
    `>= ${TARGET_RATE.toLocaleString('en')}`,
    rate >= TARGET_RATE ? 'ok' : 'MISS',
  ],
  ['p50 latency', `${pct(0.5).toFixed(2)} µs`, '', ''],
  [
    'p99 latency',
    `${pct(0.99).toFixed(2)} µs`,
    `< ${TARGET_P99_US} µs`,
    pct(0.99) < TARGET_P99_US ? 'ok' : 'MISS',
  ],
  ['p99.9 latency', `${pct(0.999).toFixed(2)} µs`, '', ''],
  ['max latency', `${lat[lat.length - 1].toFixed(2)} µs`, '', ''],
  ['request → spec parses/s', Math.round(parseRate).toLocaleString('en'), '(not part of the claim)', ''],
];
const width = [0, 1, 2, 3].map((c) =>
  Math.max(...[['metric', 'measured', 'target', ''], ...rows].map((r) => r[c].length)),
);
const line = (r: string[]) => r.map((cell, c) => cell.padEnd(width[c])).join('  ');
console.log(
  `policy-decisions: policy "${policy.name}" with ${ruleCount} rules, ${specs.length} specs in rotation, node ${process.version}`,
);
console.log(line(['metric', 'measured', 'target', '']));
console.log(width.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
if (sink === 0) console.log('');
