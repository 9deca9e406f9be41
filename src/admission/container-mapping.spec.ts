import { toContainerSpec } from '../policy';
import { mapPod } from './container-mapping';
import { podOf } from './testing';

describe('mapPod: a pod becomes the container spec a docker run would', () => {
  it('maps a plain pod to a bridge-networked run of its image with the pod labels', () => {
    const m = mapPod(podOf('pod'));
    expect(m.problems).toEqual([]);
    expect(m.containers).toHaveLength(1);
    const { spec, name, type } = m.containers[0];
    expect({ name, type }).toEqual({ name: 'web', type: 'container' });
    expect(spec).toMatchObject({
      image: { registry: 'corp.io', repository: 'shop/web', tag: '1.2' },
      labels: { app: 'web' },
      networkMode: 'bridge',
      privileged: false,
      capAdd: [],
      hostNamespaces: { pid: false, ipc: false, net: false, uts: false },
      binds: [],
      readOnlyRootfs: false,
    });
    expect(spec.memoryBytes).toBeUndefined();
    expect(spec.nanoCpus).toBeUndefined();
    expect(spec.seccomp).toBeUndefined();
  });

  it('is the same spec as the equivalent docker run (restricted pod)', () => {
    const m = mapPod(podOf('pod-restricted'));
    expect(m.problems).toEqual([]);
    const run = toContainerSpec({
      image: 'corp.io/shop/web:1.2',
      labels: { app: 'web' },
      network: 'bridge',
      memory: '256m',
      cpus: 0.5,
      storageSize: '2g',
      user: '1000:1000',
      readOnly: true,
      capDrop: ['ALL'],
    });
    if (!run.ok) throw new Error(run.errors.join('; '));
    expect(m.containers[0].spec).toEqual(run.spec);
  });

  it('maps privileged, added capabilities and hostPID', () => {
    const { spec } = mapPod(podOf('pod-privileged')).containers[0];
    expect(spec.privileged).toBe(true);
    expect(spec.capAdd).toEqual(['CAP_NET_ADMIN']);
    expect(spec.hostNamespaces.pid).toBe(true);
  });

  it('maps a hostPath volume to a bind mount, subPath and readOnly included', () => {
    expect(mapPod(podOf('pod-hostpath')).containers[0].spec.binds).toEqual([
      { source: '/var/run/docker.sock', target: '/var/run/docker.sock', readOnly: false },
    ]);
    const sub = mapPod(
      podOf('pod-hostpath', (o) => {
        o.spec.volumes[0].hostPath.path = '/srv/data/';
        o.spec.containers[0].volumeMounts[0] = {
          name: 'sock',
          mountPath: '/data',
          subPath: 'web',
          readOnly: true,
        };
      }),
    );
    expect(sub.containers[0].spec.binds).toEqual([
      { source: '/srv/data/web', target: '/data', readOnly: true },
    ]);
  });

  it('maps a hostPort to a published port and an Unconfined seccomp profile to unconfined', () => {
    const { spec } = mapPod(podOf('pod-hostport-unconfined')).containers[0];
    expect(spec.ports).toEqual([
      expect.objectContaining({ hostPort: 80, containerPort: 8080, protocol: 'tcp' }),
    ]);
    expect(spec.seccomp).toEqual({ mode: 'unconfined' });
  });

  it('host network: the host namespace, no published ports', () => {
    const m = mapPod(
      podOf('pod-hostport-unconfined', (o) => {
        o.spec.hostNetwork = true;
        o.spec.hostIPC = true;
      }),
    );
    expect(m.problems).toEqual([]);
    expect(m.containers[0].spec).toMatchObject({
      networkMode: 'host',
      hostNamespaces: { net: true, ipc: true },
      ports: [],
    });
  });

  it('judges init and ephemeral containers as well, each with its own spec', () => {
    const m = mapPod(podOf('pod-init-ephemeral'));
    expect(m.containers.map((c) => [c.type, c.name])).toEqual([
      ['initContainer', 'setup'],
      ['container', 'web'],
      ['ephemeralContainer', 'debug'],
    ]);
    expect(m.containers[0].spec.capAdd).toEqual(['CAP_SYS_ADMIN']);
    expect(m.containers[2].spec.privileged).toBe(true);
    expect(m.containers[2].spec.image.repository).toBe('tools/debug');
  });

  it('the pod securityContext applies where the container leaves a field out', () => {
    const m = mapPod(
      podOf('pod', (o) => {
        o.spec.securityContext = { runAsUser: 2000, seccompProfile: { type: 'Unconfined' } };
        o.spec.containers[0].securityContext = { runAsUser: 3000 };
      }),
    );
    expect(m.containers[0].spec).toMatchObject({ user: '3000', seccomp: { mode: 'unconfined' } });
  });

  it('maps a memory-backed emptyDir to a sized tmpfs, command/args to entrypoint/cmd and literal env', () => {
    const m = mapPod(
      podOf('pod', (o) => {
        o.spec.volumes = [
          { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
          { name: 'cfg', configMap: { name: 'x' } },
        ];
        Object.assign(o.spec.containers[0], {
          volumeMounts: [
            { name: 'scratch', mountPath: '/scratch' },
            { name: 'cfg', mountPath: '/cfg' },
          ],
          command: ['/bin/web'],
          args: ['--port', '8080'],
          env: [
            { name: 'MODE', value: 'prod' },
            { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
          ],
        });
      }),
    );
    expect(m.problems).toEqual([]);
    expect(m.containers[0].spec).toMatchObject({
      tmpfs: [{ target: '/scratch', sizeBytes: 64 * 2 ** 20 }],
      entrypoint: ['/bin/web'],
      command: ['--port', '8080'],
      env: ['MODE=prod'],
    });
  });

  it('names the Kubernetes field of what cannot become a docker run', () => {
    expect(mapPod(podOf('pod-bad-quantity')).problems).toEqual([
      {
        rule: 'admission.mapping',
        message: 'container "web": resources.limits.memory: "lots" is not a quantity such as 512Mi',
        detail: { container: 'web', field: 'resources.limits.memory' },
      },
    ]);
    const tiny = mapPod(
      podOf('pod', (o) => (o.spec.containers[0].resources = { limits: { memory: '1Mi' } })),
    );
    expect(tiny.problems.map((p) => p.message)).toEqual([
      'container "web": resources.limits.memory: 1m is below the minimum 6m',
    ]);
    const missing = mapPod(
      podOf('pod', (o) => (o.spec.containers[0].volumeMounts = [{ name: 'nope', mountPath: '/x' }])),
    );
    expect(missing.problems[0].message).toBe(
      'container "web": volumeMounts[0].name: no volume named "nope" in the pod',
    );
  });

  it('refuses allowPrivilegeEscalation: true, as Warden refuses no-new-privileges=false', () => {
    const m = mapPod(
      podOf('pod', (o) => (o.spec.containers[0].securityContext = { allowPrivilegeEscalation: true })),
    );
    expect(m.problems.map((p) => p.detail.field)).toEqual(['securityContext.allowPrivilegeEscalation']);
  });

  it('judges a Localhost seccomp profile as unconfined and says so', () => {
    const m = mapPod(
      podOf(
        'pod',
        (o) =>
          (o.spec.securityContext = { seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } }),
      ),
    );
    expect(m.containers[0].spec.seccomp).toEqual({ mode: 'unconfined' });
    expect(m.warnings).toEqual([expect.stringContaining('Localhost (p.json) is judged as unconfined')]);
  });
});
