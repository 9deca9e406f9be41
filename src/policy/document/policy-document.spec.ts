import { baselinePolicy } from './baseline';
import { parsePolicyDocument, policyVersionId } from './policy-document';

const GiB = 1024 ** 3;

function parse(input: unknown) {
  const r = parsePolicyDocument(input);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.doc;
}
function errors(input: unknown): string {
  const r = parsePolicyDocument(input);
  if (r.ok) throw new Error('expected refusal');
  return r.errors.join('\n');
}

const prod = {
  name: 'prod',
  mode: 'enforce',
  rules: {
    resources: {
      memory: { required: true, max: '2g', default: '512m' },
      cpu: { max: 2, default: 0.5 },
      pids: { max: 1024, default: 256 },
    },
    images: {
      allowedRegistries: ['corp.io/team/', 'CORP.io/ops', '127.0.0.1:5000', ''],
      requireDigest: true,
    },
    privileged: { allow: false },
    hostNamespaces: { allow: false },
    capabilities: { allowAdd: ['net_bind_service', 'CAP_CHOWN'] },
    binds: { allowedHostPaths: ['/srv/data/', '/var/lib/../cache'] },
    labels: { required: ['owner', 'cost-centre'] },
  },
};

describe('parsePolicyDocument', () => {
  it('normalizes units, spellings and order', () => {
    const doc = parse(prod);
    expect(doc.rules.resources).toEqual({
      memory: { required: true, max: 2 * GiB, default: 512 * 1024 ** 2 },
      cpu: { max: 2, default: 0.5 },
      pids: { max: 1024, default: 256 },
    });
    expect(doc.rules.images?.allowedRegistries).toEqual([
      '',
      '127.0.0.1:5000',
      'corp.io/ops',
      'corp.io/team',
    ]);
    expect(doc.rules.capabilities?.allowAdd).toEqual(['CAP_CHOWN', 'CAP_NET_BIND_SERVICE']);
    expect(doc.rules.binds?.allowedHostPaths).toEqual(['/srv/data', '/var/cache']);
    expect(doc.rules.labels?.required).toEqual(['cost-centre', 'owner']);
  });

  it('accepts cpu as {nanoCpus}', () => {
    const doc = parse({
      name: 'p',
      mode: 'audit',
      rules: { resources: { cpu: { max: { nanoCpus: 250_000_000 } } } },
    });
    expect(doc.rules.resources?.cpu?.max).toBe(0.25);
  });

  it.each([
    [{ ...prod, name: 'Prod!' }, 'name: must be 1-63 lowercase'],
    [{ ...prod, mode: 'warn' }, 'mode: '],
    [
      { ...prod, rules: { resources: { memory: { max: '2x' } } } },
      'rules.resources.memory.max: "2x" must be a positive size',
    ],
    [{ ...prod, rules: { resources: { memory: { max: -1 } } } }, 'rules.resources.memory.max'],
    [
      { ...prod, rules: { resources: { cpu: { max: 0 } } } },
      'rules.resources.cpu.max: 0 must be a positive number',
    ],
    [
      { ...prod, rules: { resources: { pids: { max: 0 } } } },
      'rules.resources.pids.max: 0 must be a positive',
    ],
    [{ ...prod, rules: { resources: { memory: { max: '1g', default: '2g' } } } }, 'memory.default is above'],
    [{ ...prod, rules: { images: { allowedRegistries: ['corp.io/Team'] } } }, 'allowedRegistries[0]: "Team"'],
    [
      { ...prod, rules: { images: { allowedRegistries: ['bad_host.io'] } } },
      'allowedRegistries[0]: "bad_host.io"',
    ],
    [{ ...prod, rules: { capabilities: { allowAdd: ['FLY'] } } }, 'allowAdd[0]: unknown capability "FLY"'],
    [
      { ...prod, rules: { binds: { allowedHostPaths: ['srv'] } } },
      'allowedHostPaths[0]: "srv" must be an absolute path',
    ],
    [{ ...prod, rules: { privileged: { allow: false }, memory: {} } }, 'rules: Unrecognized key'],
  ])('refuses %j', (input, message) => {
    expect(errors(input)).toContain(message);
  });
});

describe('policyVersionId', () => {
  it('is the same for semantically equal documents', () => {
    const a = parse(prod);
    const b = parse({
      ...prod,
      rules: {
        ...prod.rules,
        resources: { ...prod.rules.resources, memory: { required: true, max: 2 * GiB, default: 536870912 } },
        images: {
          requireDigest: true,
          allowedRegistries: ['', '127.0.0.1:5000', 'corp.io/team', 'corp.io/ops'],
        },
      },
    });
    expect(policyVersionId(a)).toMatch(/^[a-f0-9]{64}$/);
    expect(policyVersionId(a)).toBe(policyVersionId(b));
  });

  it('changes when anything meaningful changes', () => {
    const a = parse(prod);
    expect(policyVersionId({ ...a, mode: 'audit' })).not.toBe(policyVersionId(a));
    expect(policyVersionId({ ...a, rules: { ...a.rules, privileged: { allow: true } } })).not.toBe(
      policyVersionId(a),
    );
  });
});

describe('baselinePolicy', () => {
  const doc = baselinePolicy({
    upstreamRegistries: ['https://registry-1.docker.io', 'ghcr.io', 'quay.io:443'],
  });

  it('fills caps, refuses the dangerous things and admits upstreams plus local images', () => {
    expect(doc).toMatchObject({
      name: 'baseline',
      mode: 'enforce',
      rules: {
        resources: { memory: { default: 512 * 1024 ** 2 }, cpu: { default: 1 }, pids: { default: 1024 } },
        images: { allowedRegistries: ['', 'ghcr.io', 'quay.io:443', 'registry-1.docker.io'] },
        privileged: { allow: false },
        hostNamespaces: { allow: false },
        capabilities: { allowAdd: [] },
        binds: { allowedHostPaths: [] },
        devices: { allowedHostPaths: [] },
      },
    });
  });

  it('is itself a valid document, stable under re-parsing', () => {
    expect(parse(JSON.parse(JSON.stringify(doc)))).toEqual(doc);
    expect(policyVersionId(baselinePolicy({ upstreamRegistries: ['quay.io:443', 'ghcr.io'] }))).toBe(
      policyVersionId(baselinePolicy({ upstreamRegistries: ['ghcr.io', 'quay.io:443'] })),
    );
  });
});
