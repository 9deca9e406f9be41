import { toContainerSpec } from '../policy';
import { WardenError } from '../platform/errors';
import { dockerCreateBodySchema, mapCreateBody } from './create-body';

// What docker CLI 28 sends for `docker run busybox:1.35 true` (trimmed to the fields that matter;
// `--network bridge` typed out would send 'bridge' and get a warning).
const minimal = {
  Hostname: '',
  User: '',
  AttachStdout: true,
  AttachStderr: true,
  Tty: false,
  OpenStdin: false,
  Env: [],
  Cmd: ['true'],
  Image: 'busybox:1.35',
  WorkingDir: '',
  Entrypoint: null,
  Labels: {},
  HostConfig: {
    NetworkMode: 'default',
    AutoRemove: false,
    CapAdd: null,
    CapDrop: null,
    Memory: 0,
    MemorySwap: 0,
    NanoCpus: 0,
    CpuShares: 0,
    PidsLimit: null,
    CpusetCpus: '',
    Privileged: false,
    ReadonlyRootfs: false,
    IpcMode: '',
    PidMode: '',
    UTSMode: '',
    RestartPolicy: { Name: 'no' },
  },
};

describe('docker create body → launch request', () => {
  it("drops Docker's zero values: the request says only what the user asked", () => {
    const m = mapCreateBody(minimal);
    expect(m.launch).toEqual({ image: 'busybox:1.35', cmd: ['true'], env: [], network: 'none' });
    expect(m.options).toEqual({ autoRemove: false, openStdin: false, hostname: undefined });
    expect(m.warnings).toEqual([]);
    expect(toContainerSpec(m.launch).ok).toBe(true);
  });

  it('maps every resource, identity and privilege flag onto the fields policy judges', () => {
    const m = mapCreateBody({
      ...minimal,
      User: '1000:1000',
      WorkingDir: '/srv',
      Env: ['A=1', 'UNSET'],
      Labels: { team: 'a' },
      Entrypoint: ['/bin/sh', '-c'],
      OpenStdin: true,
      Hostname: 'h1',
      HostConfig: {
        ...minimal.HostConfig,
        AutoRemove: true,
        Memory: 64 * 1024 ** 2,
        MemorySwap: 128 * 1024 ** 2,
        NanoCpus: 5e8,
        CpuShares: 512,
        PidsLimit: 50,
        CpusetCpus: '0-1',
        Privileged: true,
        CapAdd: ['NET_ADMIN'],
        CapDrop: ['ALL'],
        NetworkMode: 'host',
        PidMode: 'host',
        ReadonlyRootfs: true,
        Binds: ['/srv/data:/data:ro'],
        Tmpfs: { '/run': 'size=64m' },
        Devices: [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }],
      },
    });
    expect(m.launch).toEqual({
      image: 'busybox:1.35',
      cmd: ['true'],
      entrypoint: ['/bin/sh', '-c'],
      env: ['A=1'],
      user: '1000:1000',
      workingDir: '/srv',
      labels: { team: 'a' },
      memory: 64 * 1024 ** 2,
      memorySwap: 128 * 1024 ** 2,
      nanoCpus: 5e8,
      cpuShares: 512,
      pidsLimit: 50,
      cpusetCpus: '0-1',
      privileged: true,
      capAdd: ['NET_ADMIN'],
      capDrop: ['ALL'],
      network: 'host',
      pid: 'host',
      binds: ['/srv/data:/data:ro'],
      tmpfs: { '/run': 'size=64m' },
      devices: [{ hostPath: '/dev/fuse', containerPath: '/dev/fuse', permissions: 'rwm' }],
      readOnly: true,
    });
    expect(m.options).toEqual({ autoRemove: true, openStdin: true, hostname: 'h1' });
    const spec = toContainerSpec(m.launch);
    expect(spec.ok && spec.spec).toMatchObject({
      privileged: true,
      hostNamespaces: { net: true, pid: true },
    });
  });

  it('--cpu-quota/--cpu-period become nanoCpus; --entrypoint "" clears the entrypoint', () => {
    const m = mapCreateBody({
      ...minimal,
      Entrypoint: [''],
      HostConfig: { ...minimal.HostConfig, CpuQuota: 50_000, CpuPeriod: 100_000 },
    });
    expect(m.launch).toMatchObject({ nanoCpus: 5e8, entrypoint: [] });
  });

  it('maps -it: a terminal with its first size, stdin kept open, closed by the first attach (StdinOnce)', () => {
    const m = mapCreateBody({
      ...minimal,
      Tty: true,
      OpenStdin: true,
      StdinOnce: true,
      HostConfig: { ...minimal.HostConfig, ConsoleSize: [40, 120] },
    });
    expect(m.options).toMatchObject({ tty: true, openStdin: true, stdinOnce: true, consoleSize: [40, 120] });
    const plain = mapCreateBody({
      ...minimal,
      HostConfig: { ...minimal.HostConfig, ConsoleSize: [40, 120] },
    });
    expect(plain.options).not.toHaveProperty('tty');
    expect(plain.options).not.toHaveProperty('consoleSize'); // a size without a terminal means nothing
  });

  it('refuses what it cannot honour instead of dropping it', () => {
    const refused = (hc: Record<string, unknown>, top: Record<string, unknown> = {}) => {
      try {
        mapCreateBody({ ...minimal, ...top, HostConfig: { ...minimal.HostConfig, ...hc } });
      } catch (err) {
        expect(err).toBeInstanceOf(WardenError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused({ PidMode: 'container:abc' })).toMatch(/PidMode 'container:abc'/);
    expect(refused({ Mounts: [{ Type: 'npipe', Source: 'v', Target: '/v' }] })).toMatch(/mount type 'npipe'/);
    expect(refused({ SecurityOpt: ['apparmor=unconfined'] })).toMatch(/apparmor=unconfined is not applied/);
    expect(refused({ PortBindings: { '80/tcp': [{ HostPort: '8080' }] } })).toMatch(/port publishing/);
    expect(refused({}, { Image: '' })).toMatch(/Image is required/);
  });

  it('with bridge networking on: the default network is bridge, -p/-P publish, endpoints carry --ip and aliases', () => {
    const m = mapCreateBody(
      {
        ...minimal,
        ExposedPorts: { '80/tcp': {}, '53/udp': {}, '9000/tcp': {} },
        HostConfig: {
          ...minimal.HostConfig,
          PublishAllPorts: true,
          PortBindings: {
            '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }],
            '53/udp': [{ HostPort: '' }],
          },
        },
        NetworkingConfig: {
          EndpointsConfig: {
            default: { IPAMConfig: { IPv4Address: '10.231.0.9' }, Aliases: ['api'] },
            other: {},
          },
        },
      },
      { networking: true },
    );
    expect(m.launch.network).toBe('bridge');
    expect(m.launch.publish).toEqual([
      { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8080 },
      { containerPort: 53, protocol: 'udp', hostIp: undefined, hostPort: undefined },
      { containerPort: 9000, protocol: 'tcp' },
    ]);
    expect(m.options.endpoints).toEqual({
      bridge: { ipv4Address: '10.231.0.9', aliases: ['api'] },
      other: {},
    });
    // Kept so that inspect's HostConfig.PublishAllPorts says what was asked.
    expect(m.options.publishAllPorts).toBe(true);
    expect(m.warnings).toEqual([]);
    const spec = toContainerSpec(m.launch);
    expect(spec.ok && spec.spec.ports).toEqual([
      { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '', hostPort: 0, containerPort: 53, protocol: 'udp' },
      { hostIp: '', hostPort: 0, containerPort: 9000, protocol: 'tcp' },
    ]);
    expect(() =>
      mapCreateBody(
        {
          ...minimal,
          HostConfig: { ...minimal.HostConfig, PortBindings: { '80/tcp': [{ HostPort: '80-81' }] } },
        },
        { networking: true },
      ),
    ).toThrow("host port '80-81' is not 0-65535");
  });

  it('bind and tmpfs mounts given as --mount are mapped like -v and --tmpfs', () => {
    const m = mapCreateBody({
      ...minimal,
      HostConfig: {
        ...minimal.HostConfig,
        Mounts: [
          { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true },
          { Type: 'tmpfs', Target: '/scratch' },
          { Type: 'tmpfs', Target: '/sized', TmpfsOptions: { SizeBytes: 8388608, Mode: 0o1777 } },
        ],
      },
    });
    expect(m.launch).toMatchObject({
      binds: [{ source: '/a', target: '/b', readOnly: true }],
      tmpfs: { '/scratch': '', '/sized': 'size=8388608,mode=1777' },
    });
  });

  it('--storage-opt size= is the writable layer size; other storage options are refused', () => {
    const sized = mapCreateBody({
      ...minimal,
      HostConfig: { ...minimal.HostConfig, StorageOpt: { size: '20G' } },
    });
    expect(sized.launch.storageSize).toBe('20G');
    expect(() =>
      mapCreateBody({
        ...minimal,
        HostConfig: { ...minimal.HostConfig, StorageOpt: { 'dm.basesize': '20G' } },
      }),
    ).toThrow('--storage-opt dm.basesize is not supported by Warden: only size=');
  });

  it('named and anonymous volumes (-v, --mount type=volume, Config.Volumes) and --volumes-from', () => {
    const m = mapCreateBody({
      ...minimal,
      Volumes: { '/anon': {} },
      HostConfig: {
        ...minimal.HostConfig,
        Binds: ['/host:/h', 'data:/d:ro'],
        Mounts: [{ Type: 'volume', Source: 'm', Target: '/m', VolumeOptions: { NoCopy: true } }],
        VolumesFrom: ['other:ro'],
      },
    });
    expect(m.launch).toMatchObject({
      binds: ['/host:/h'],
      volumes: ['data:/d:ro', '/anon', { source: 'm', target: '/m', readOnly: false, noCopy: true }],
    });
    expect(m.options.volumesFrom).toEqual(['other:ro']);
    expect(() =>
      mapCreateBody({
        ...minimal,
        HostConfig: {
          Mounts: [{ Type: 'volume', Target: '/m', VolumeOptions: { DriverConfig: { Name: 'nfs' } } }],
        },
      }),
    ).toThrow(/create the volume first/);
  });
});

describe('dockerCreateBodySchema: checked at the edge, before anything is decided', () => {
  const issues = (body: unknown) => {
    const r = dockerCreateBodySchema.safeParse(body);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  const withHost = (hc: Record<string, unknown>) => ({
    ...minimal,
    HostConfig: { ...minimal.HostConfig, ...hc },
  });

  it('takes what docker CLI 28 sends, and fields Warden does not read', () => {
    expect(issues(minimal)).toEqual([]);
    expect(issues({ ...minimal, ExposedPorts: {}, StopSignal: 'SIGTERM' })).toEqual([]);
    expect(issues(withHost({ CpusetCpus: '0' }))).toEqual([]);
  });

  it('refuses a cpuset naming CPUs this host does not have (it would fail at start)', () => {
    const [problem] = issues(withHost({ CpusetCpus: '0-999' }));
    expect(problem).toMatch(/^HostConfig\.CpusetCpus: CPU \d+ is not online on this host \(online: 0/);
    expect(issues(withHost({ CpusetCpus: '3-1' }))[0]).toMatch(/CPU numbers and ranges/);
  });

  it('refuses uids and gids above 2^31-1, and users that are not name[:group]', () => {
    expect(issues({ ...minimal, User: '4294967295' })[0]).toMatch(
      /^User: id 4294967295 is above the maximum 2147483647/,
    );
    expect(issues({ ...minimal, User: '0:2147483648' })[0]).toMatch(/above the maximum/);
    expect(issues({ ...minimal, User: 'a:b:c' })[0]).toMatch(/name or uid/);
    expect(issues({ ...minimal, User: '2147483647:nogroup' })).toEqual([]);
  });

  it('refuses NUL bytes, relative working dirs, wrong types and out-of-range numbers', () => {
    expect(issues({ ...minimal, Cmd: ['a\u0000b'] })[0]).toMatch(/NUL byte/);
    expect(issues({ ...minimal, WorkingDir: 'tmp' })[0]).toMatch(/WorkingDir must be an absolute path/);
    expect(issues({ ...minimal, Image: 5 })[0]).toMatch(/^Image: /);
    expect(issues(withHost({ Memory: -1 }))[0]).toMatch(/^HostConfig\.Memory: /);
    expect(issues(withHost({ CpuShares: 1e9 }))[0]).toMatch(/^HostConfig\.CpuShares: /);
  });
});

describe('security options and fields Warden does not apply', () => {
  // The defaults docker CLI 28 sends for these on every `docker run` (captured from the CLI).
  const cliDefaults = {
    LogConfig: { Type: '', Config: {} },
    VolumesFrom: null,
    CgroupnsMode: '',
    ExtraHosts: null,
    DeviceCgroupRules: null,
    OomKillDisable: false,
    Ulimits: [],
    SecurityOpt: null,
    MaskedPaths: null,
    ReadonlyPaths: null,
  };
  const map = (hc: Record<string, unknown>) =>
    mapCreateBody({ ...minimal, HostConfig: { ...minimal.HostConfig, ...cliDefaults, ...hc } });
  const refusal = (hc: Record<string, unknown>): string => {
    try {
      map(hc);
    } catch (err) {
      expect(err).toBeInstanceOf(WardenError);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it("accepts the CLI's defaults and Warden's own values", () => {
    expect(
      dockerCreateBodySchema.safeParse({ ...minimal, HostConfig: { ...minimal.HostConfig, ...cliDefaults } })
        .success,
    ).toBe(true);
    expect(map({}).launch.seccomp).toBeUndefined();
    expect(() =>
      map({ CgroupnsMode: 'private', Runtime: 'warden', LogConfig: { Type: 'json-file' } }),
    ).not.toThrow();
  });

  it('maps --log-driver and --log-opt max-size/max-file to the launch request, where the policy judges them', () => {
    expect(
      map({ LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '5' } } }).launch,
    ).toMatchObject({ logDriver: 'json-file', logMaxSize: '10m', logMaxFiles: 5 });
    expect(map({ LogConfig: { Type: 'none', Config: {} } }).launch).toMatchObject({ logDriver: 'none' });
    expect(map({ LogConfig: { Type: '', Config: {} } }).launch.logDriver).toBeUndefined();
  });

  it('maps --ulimit to the launch request, where the policy judges it', () => {
    const launch = map({
      Ulimits: [
        { Name: 'nofile', Soft: 100, Hard: 200 },
        { Name: 'core', Soft: -1, Hard: -1 },
      ],
    }).launch;
    expect(launch.ulimits).toEqual([
      { name: 'nofile', soft: 100, hard: 200 },
      { name: 'core', soft: -1, hard: -1 },
    ]);
    expect(toContainerSpec(launch)).toMatchObject({ ok: true, spec: { ulimits: launch.ulimits } });
  });

  it('maps --sysctl to the launch request; only namespaced sysctls make a valid spec', () => {
    const launch = map({ Sysctls: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '65536' } }).launch;
    expect(launch.sysctls).toEqual({ 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '65536' });
    expect(toContainerSpec(launch)).toMatchObject({ ok: true, spec: { sysctls: launch.sysctls } });
    expect(map({ Sysctls: {} }).launch.sysctls).toBeUndefined();
    const invalid = (body: Parameters<typeof map>[0]) => {
      const r = toContainerSpec(map(body).launch);
      return r.ok ? [] : r.errors;
    };
    expect(invalid({ Sysctls: { 'vm.swappiness': '10' } })).toEqual([
      expect.stringMatching(/^sysctls\.vm\.swappiness: not a namespaced sysctl/),
    ]);
    expect(invalid({ Sysctls: { 'net.ipv4.ip_forward': '1' }, NetworkMode: 'host' })).toEqual([
      expect.stringMatching(/needs the container's own network namespace \(network host\)/),
    ]);
    expect(invalid({ Sysctls: { 'kernel.shmmax': '1' }, IpcMode: 'host' })).toEqual([
      expect.stringMatching(/needs the container's own IPC namespace/),
    ]);
    expect(invalid({ Sysctls: { 'net/../../vm.x': '1' } })).toEqual([
      expect.stringMatching(/is not a sysctl name/),
    ]);
  });

  it('maps seccomp=unconfined, builtin and an inline profile; no-new-privileges is always on', () => {
    expect(map({ SecurityOpt: ['seccomp=unconfined'] }).launch.seccomp).toBe('unconfined');
    expect(map({ SecurityOpt: ['seccomp:unconfined', 'no-new-privileges'] }).launch.seccomp).toBe(
      'unconfined',
    );
    expect(map({ SecurityOpt: ['seccomp=builtin', 'no-new-privileges=true'] }).launch.seccomp).toBe(
      'default',
    );
    const profile = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] };
    const launch = map({ SecurityOpt: [`seccomp=${JSON.stringify(profile)}`] }).launch;
    expect(launch.seccomp).toEqual(profile);
    expect(toContainerSpec(launch)).toMatchObject({
      ok: true,
      spec: { seccomp: { mode: 'custom', profile } },
    });
  });

  it.each([
    [
      ['no-new-privileges=false'],
      /no-new-privileges=false is not supported: Warden always sets no_new_privs/,
    ],
    [['seccomp=/etc/profile.json'], /give unconfined, builtin or a profile's JSON/],
    [['seccomp={"defaultAction":'], /the profile is not JSON/],
    [['seccomp=unconfined', 'seccomp=builtin'], /seccomp is given more than once/],
    [['label=disable'], /label=disable is not applied by Warden/],
    [['systempaths=unconfined'], /always masks \/proc and \/sys paths/],
    [['bogus'], /'bogus' is unknown to Warden/],
  ])('refuses SecurityOpt %j', (opts, message) => {
    expect(refusal({ SecurityOpt: opts })).toMatch(message);
  });

  it.each([
    [{ DeviceCgroupRules: ['c 1:3 rwm'] }, 'HostConfig.DeviceCgroupRules (--device-cgroup-rule)'],
    [{ OomKillDisable: true }, 'HostConfig.OomKillDisable (--oom-kill-disable)'],
    [{ CgroupnsMode: 'host' }, 'HostConfig.CgroupnsMode (--cgroupns)'],
    [{ ExtraHosts: ['db:10.0.0.2'] }, 'HostConfig.ExtraHosts (--add-host)'],
    [{ LogConfig: { Type: 'syslog', Config: {} } }, "log driver 'syslog' is not available on Warden"],
    [{ LogConfig: { Type: 'json-file', Config: { compress: 'true' } } }, "log opt 'compress' is not applied"],
    [{ LogConfig: { Type: 'json-file', Config: { 'max-file': 'x' } } }, "log opt max-file 'x' must be"],
    [{ LogConfig: { Type: 'none', Config: { 'max-size': '1m' } } }, 'not valid for the none log driver'],
    [{ Runtime: 'runc' }, 'HostConfig.Runtime (--runtime) "runc" is not applied'],
    [{ MaskedPaths: [] }, 'HostConfig.MaskedPaths'],
  ])('refuses %j by name', (hc, message) => {
    expect(refusal(hc)).toContain(message);
  });
});

describe('restart policy and health check in the create body', () => {
  it('maps RestartPolicy to the launch request the policy judges, and Healthcheck to run options', () => {
    const m = mapCreateBody({
      Image: 'busybox',
      Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 1e9, Retries: 2, Timeout: 0 },
      HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } },
    });
    expect(m.launch.restart).toEqual({ name: 'on-failure', maximumRetryCount: 3 });
    expect(m.options.healthcheck).toEqual({ test: ['CMD-SHELL', 'true'], interval: 1e9, retries: 2 });
    expect(
      mapCreateBody({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: '' } } }).launch.restart,
    ).toBe(undefined);
  });

  it('refuses a health check type Docker does not know, and one without a command', () => {
    expect(() => mapCreateBody({ Image: 'b', Healthcheck: { Test: ['SHELL', 'x'] } })).toThrow(
      /not a health check type: use NONE, CMD or CMD-SHELL/,
    );
    expect(() => mapCreateBody({ Image: 'b', Healthcheck: { Test: ['CMD'] } })).toThrow(
      /CMD needs a command/,
    );
  });
});
