import { normalizePolicyDocument, type PolicyDocument } from './policy-document';

export const BASELINE_POLICY_NAME = 'baseline';

/**
 * The policy a fresh install binds to everyone (issue 3): fills caps a request lacks, refuses
 * privileged, host namespaces, added capabilities, host binds and host devices (each of them
 * is root on the host), and admits the configured upstreams plus locally imported images ('').
 */
export function baselinePolicy(opts: { upstreamRegistries: string[] }): PolicyDocument {
  // Config may hold upstream URLs; image references name the host only.
  const upstreams = opts.upstreamRegistries.map((u) => u.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''));
  return normalizePolicyDocument({
    name: BASELINE_POLICY_NAME,
    mode: 'enforce',
    description:
      'Built-in safe defaults: caps filled in, no privileged, host namespaces, capabilities or host mounts, ' +
      'the built-in seccomp profile only, no unlimited swap, local volumes only, no privileged exec, ' +
      'logs of at most 10 files of 100 MiB, a 10 GiB writable layer, namespaced sysctls only.',
    rules: {
      resources: {
        memory: { default: 512 * 1024 ** 2 },
        cpu: { default: 1 },
        pids: { default: 1024 },
        // A writable layer of its own filesystem: a container cannot fill the host's disk.
        storage: { default: 10 * 1024 ** 3 },
      },
      images: { allowedRegistries: [...upstreams, ''] },
      privileged: { allow: false },
      hostNamespaces: { allow: false },
      capabilities: { allowAdd: [] },
      binds: { allowedHostPaths: [] },
      devices: { allowedHostPaths: [] },
      seccomp: { allowUnconfined: false, allowCustom: false },
      memorySwap: { allowUnlimited: false },
      ulimits: { max: { nofile: 1048576, nproc: 65536, memlock: 64 * 1024 ** 2 } },
      // The namespaced sysctls Docker admits: each changes only the container's own IPC or
      // network namespace (a net.* one needs its own network namespace, spec/sysctls.ts).
      sysctls: {
        allowed: [
          'fs.mqueue.*',
          'kernel.msgmax',
          'kernel.msgmnb',
          'kernel.msgmni',
          'kernel.sem',
          'kernel.shm_rmid_forced',
          'kernel.shmall',
          'kernel.shmmax',
          'kernel.shmmni',
          'net.*',
        ],
      },
      // A port below 1024 on every address is a service for the whole network: ask for it.
      network: { publish: { wildcardBelow1024: false } },
      // `size` is the only option of the local driver that reaches no host path or network.
      volumes: { allowedDrivers: ['local'], allowedOptions: ['size'] },
      // Exec as in Docker, but never with every capability; logs bounded to 1 GiB a container.
      exec: { allowPrivileged: false },
      logs: { maxSize: { max: 100 * 1024 ** 2 }, maxFiles: { max: 10 } },
      // Every policy may be asked for (services restart); a crash loop is bounded by the
      // backoff, and `on-failure` without a count gets 10 retries rather than no end.
      restart: { maxRetries: { max: 100, default: 10 } },
    },
  });
}
