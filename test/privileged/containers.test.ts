import * as fs from 'node:fs';
import * as path from 'node:path';
import { cgroupDirsFor, cgroupPids, importBusybox, runContainer } from '../utils/containers';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * The runtime end to end over REST, as root on the real kernel: namespaces, cgroups, the
 * overlay rootfs from an imported image, lifecycle verbs, policy and audit. Nothing mocked.
 */
describe('containers (real namespaces, cgroups and overlay rootfs)', () => {
  let w: TestWarden;
  beforeAll(async () => {
    w = await startTestWarden('up', { WARDEN_CGROUP_PARENT: `warden-test-${process.pid}` });
    await importBusybox(w);
  });
  afterAll(() => w.close());

  it('runs a command and reports its exit code and output', async () => {
    const r = await runContainer(w, { cmd: ['sh', '-c', 'echo hello; echo oops >&2; exit 3'] });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('hello\n');
    expect(r.stderr).toBe('oops\n');
    expect(r.inspect).toMatchObject({
      state: 'exited',
      exitCode: 3,
      oomKilled: false,
      limits: { memoryBytes: 512 * 1024 ** 2, pidsLimit: 1024 },
    });
    expect(cgroupDirsFor(r.id)).toEqual([]);
  });

  it('isolates: own pid, uts, mount and net namespaces; masked and read-only /proc; Docker default caps', async () => {
    const script = [
      'echo pid1=$(cat /proc/1/cmdline | tr "\\0" " ")',
      'echo maxpid=$(ls /proc | grep "^[0-9]" | sort -n | tail -1)',
      'echo host=$(hostname)',
      'echo nets=$(ls /sys/class/net | tr "\\n" " ")',
      'echo caps=$(grep CapEff /proc/self/status | cut -f2)',
      // /proc/kcore exists only with CONFIG_PROC_KCORE (absent on this kernel): masked or absent
      'echo kcore=$([ -e /proc/kcore ] && wc -c < /proc/kcore || echo absent)',
      'echo timerlist=$(stat -c %t:%T /proc/timer_list)',
      '(echo x > /proc/sys/kernel/hostname) 2>/dev/null && echo procsys=rw || echo procsys=ro',
      'mount -t tmpfs t /mnt 2>/dev/null && echo mount=ok || echo mount=refused',
      'echo mounts=$(grep -c . /proc/self/mountinfo)',
      'grep -q " /work" /proc/self/mountinfo && echo hostmounts=yes || echo hostmounts=no',
      // its own cgroup only: every mount under /sys/fs/cgroup is rooted at the namespace's root
      'echo cgroot=$(awk \'$5 ~ "^/sys/fs/cgroup" {print $4}\' /proc/self/mountinfo | sort -u)',
    ].join('; ');
    const r = await runContainer(w, { cmd: ['sh', '-c', script] });
    expect(r.exitCode).toBe(0);
    const out = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/=(.*)/s).slice(0, 2)),
    );
    expect(out.pid1.trim()).toBe(`sh -c ${script}`);
    expect(Number(out.maxpid)).toBeLessThan(20); // only the container's own few processes: no host pids
    expect(out.host).toBe(r.id.slice(0, 12));
    expect(out.nets.trim()).toBe('lo');
    expect(out.caps).toBe('00000000a80425fb');
    expect(['0', 'absent']).toContain(out.kcore);
    expect(out.timerlist).toBe('1:3'); // /dev/null bound over it
    expect(out.procsys).toBe('ro');
    expect(out.mount).toBe('refused');
    expect(out.hostmounts).toBe('no');
    expect(out.cgroot).toBe('/');
  });

  it('a 200 MB allocation under memory 64m dies with 137 and OOMKilled, in inspect and in the audit trail', async () => {
    const r = await runContainer(w, {
      memory: '64m',
      cmd: ['sh', '-c', 'head -c 200m /dev/zero | tail > /dev/null'],
    });
    expect(r.exitCode).toBe(137);
    expect(r.inspect.oomKilled).toBe(true);
    const died = await eventually('container.died event', async () => {
      const ev = await api(w, 'GET', `/audit/events?type=container.died&subject=${r.id}`);
      return ev.body.events[0];
    });
    expect(died.payload).toMatchObject({ exitCode: 137, oomKilled: true });
  });

  it('a fork bomb under pids 50 is contained', async () => {
    const r = await runContainer(w, {
      pidsLimit: 50,
      cmd: [
        'sh',
        '-c',
        'i=0; while [ $i -lt 200 ]; do (sleep 5 &) 2>/dev/null; i=$((i+1)); done; ls /proc | grep -c "^[0-9]"',
      ],
    });
    expect(Number(r.stdout.trim())).toBeLessThanOrEqual(50);
    expect(r.inspect.state).toBe('exited');
  });

  it('cpus 0.5 shows throttling in stats', async () => {
    const c = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', cpus: 0.5, cmd: ['sh', '-c', 'while :; do :; done'] },
    });
    await api(w, 'POST', `/containers/${c.body.id}/start`);
    const stats = await eventually(
      'throttling',
      async () => {
        const s = await api(w, 'GET', `/containers/${c.body.id}/stats`);
        return s.body.stats.cpu.nrThrottled > 2 ? s.body.stats : undefined;
      },
      10000,
    );
    expect(stats.cpu.throttledNs).toBeGreaterThan(0);
    expect((await api(w, 'DELETE', `/containers/${c.body.id}?force=true`)).status).toBe(204);
    expect(cgroupDirsFor(c.body.id)).toEqual([]);
  });

  it('stop: SIGTERM, then SIGKILL after the grace period; top and exec on a running container', async () => {
    const c = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', name: 'sleeper', cmd: ['sleep', '300'] },
    });
    expect(c.status).toBe(201);
    await api(w, 'POST', '/containers/sleeper/start');
    const top = await api(w, 'GET', '/containers/sleeper/top');
    expect(top.body.Titles).toContain('PID');
    expect(top.body.Processes.map((p: string[]) => p[7])).toContain('sleep 300');
    const ex = await api(w, 'POST', '/containers/sleeper/exec', {
      body: { cmd: ['sh', '-c', 'hostname; grep CapEff /proc/self/status'] },
    });
    expect(ex.body).toMatchObject({ exitCode: 0 });
    expect(ex.body.stdout).toContain(c.body.id.slice(0, 12));
    expect(ex.body.stdout).toContain('00000000a80425fb');
    const removeRunning = await api(w, 'DELETE', '/containers/sleeper');
    expect(removeRunning.status).toBe(409);
    expect(removeRunning.body.message).toMatch(/stop it first or force-remove/);

    const t0 = Date.now();
    const stopped = await api(w, 'POST', '/containers/sleeper/stop?t=1');
    expect(stopped.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(stopped.body).toMatchObject({ state: 'exited', exitCode: 137 });
    expect((await api(w, 'POST', '/containers/sleeper/stop')).status).toBe(304);
    expect((await api(w, 'DELETE', '/containers/sleeper')).status).toBe(204);
    expect((await api(w, 'GET', '/containers/sleeper')).status).toBe(404);
    expect(fs.existsSync(path.join(w.dataDir, 'containers', c.body.id))).toBe(false);
  });

  it('restart runs the same container again; kill sends a signal', async () => {
    const c = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', cmd: ['sh', '-c', 'echo run; sleep 300'] },
    });
    await api(w, 'POST', `/containers/${c.body.id}/start`);
    const restarted = await api(w, 'POST', `/containers/${c.body.id}/restart?t=0`);
    // As Docker's: RestartCount counts the restart policy's restarts; a client's restart resets it.
    expect(restarted.body).toMatchObject({ state: 'running', restartCount: 0 });
    const waited = api(w, 'POST', `/containers/${c.body.id}/wait`);
    expect((await api(w, 'POST', `/containers/${c.body.id}/kill?signal=KILL`)).status).toBe(204);
    expect((await waited).body.statusCode).toBe(137);
    const logs = await api(w, 'GET', `/containers/${c.body.id}/logs`);
    expect(String(logs.body).match(/run/g)).toHaveLength(2);
    await api(w, 'DELETE', `/containers/${c.body.id}`);
  });

  it('autoRemove removes the container when it exits; wait condition=removed sees it', async () => {
    const c = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', autoRemove: true, cmd: ['true'] },
    });
    const removed = api(w, 'POST', `/containers/${c.body.id}/wait?condition=removed`);
    await api(w, 'POST', `/containers/${c.body.id}/start`);
    expect((await removed).body.statusCode).toBe(0);
    expect((await api(w, 'GET', `/containers/${c.body.id}`)).status).toBe(404);
  });

  it('a denied launch is refused with the policy reasons and creates nothing', async () => {
    const before = (await api(w, 'GET', '/containers?all=true')).body.length;
    const r = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', privileged: true, capAdd: ['NET_ADMIN'], cmd: ['true'] },
    });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('LAUNCH_DENIED');
    expect(r.body.message).toMatch(/privileged/);
    expect(r.body.message).toMatch(/NET_ADMIN/);
    expect((await api(w, 'GET', '/containers?all=true')).body.length).toBe(before);
    const decision = await eventually('the denial in the audit trail', async () => {
      const ev = await api(w, 'GET', '/audit/events?type=policy.decision&decision=denied');
      return ev.body.events.at(-1);
    });
    expect(decision.payload.decision.reasons.map((x: { rule: string }) => x.rule)).toEqual(
      expect.arrayContaining([expect.stringMatching(/privileged/)]),
    );
  });

  it('a name already in use is refused with 409 and leaves no second row or directory', async () => {
    const first = await api(w, 'POST', '/containers', {
      body: { name: 'twice', image: 'busybox:1.35', cmd: ['true'] },
    });
    expect(first.status).toBe(201);
    const dirs = fs.readdirSync(path.join(w.dataDir, 'containers')).sort();
    const rows = (await api(w, 'GET', '/containers?all=true')).body.length;
    const again = await api(w, 'POST', '/containers', {
      body: { name: 'twice', image: 'busybox:1.35', cmd: ['true'] },
    });
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/'\/twice' is already in use/);
    expect(fs.readdirSync(path.join(w.dataDir, 'containers')).sort()).toEqual(dirs);
    expect((await api(w, 'GET', '/containers?all=true')).body.length).toBe(rows);
    await api(w, 'DELETE', `/containers/${first.body.id}`);
  });

  it('bad input changes nothing: unknown field, missing image, missing command', async () => {
    const unknown = await api(w, 'POST', '/containers', { body: { image: 'busybox:1.35', memroy: '1g' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/memroy/);
    const missing = await api(w, 'POST', '/containers', { body: { image: 'nosuch:1' } });
    expect(missing.status).toBe(404);
    const before = fs.readdirSync(path.join(w.dataDir, 'containers')).length;
    const c = await api(w, 'POST', '/containers', { body: { image: 'busybox:1.35', cmd: ['/bin/nope'] } });
    const start = await api(w, 'POST', `/containers/${c.body.id}/start`);
    expect(start.status).toBe(400);
    expect(start.body.message).toMatch(/exec.*ENOENT|ENOENT/);
    const after = await api(w, 'GET', `/containers/${c.body.id}`);
    expect(after.body).toMatchObject({ state: 'exited', exitCode: 127 });
    expect(cgroupDirsFor(c.body.id)).toEqual([]);
    await api(w, 'DELETE', `/containers/${c.body.id}`);
    expect(fs.readdirSync(path.join(w.dataDir, 'containers')).length).toBe(before);
  });

  describe('lifecycle races on the real kernel (issue 13): 409 or serialised, never 5xx', () => {
    const no5xx = (rs: Array<{ status: number; body: unknown }>) =>
      expect(rs.filter((r) => r.status >= 500).map((r) => r.body)).toEqual([]);
    const created = async (cmd = ['sleep', '300']) => {
      const c = await api(w, 'POST', '/containers', { body: { image: 'busybox:1.35', cmd } });
      expect(c.status).toBe(201);
      return c.body.id as string;
    };
    const started = async () => {
      const id = await created();
      expect((await api(w, 'POST', `/containers/${id}/start`)).status).toBe(200);
      return id;
    };

    it('two starts at once of one created container: one starts it, the other 304; one process', async () => {
      for (let i = 0; i < 3; i++) {
        const id = await created();
        const rs = await Promise.all([1, 2].map(() => api(w, 'POST', `/containers/${id}/start`)));
        no5xx(rs);
        expect(rs.map((r) => r.status).sort()).toEqual([200, 304]);
        expect((await api(w, 'GET', `/containers/${id}`)).body.state).toBe('running');
        expect(cgroupPids(id)).toHaveLength(1);
        expect((await api(w, 'DELETE', `/containers/${id}?force=true`)).status).toBe(204);
      }
    });

    it('after kill, inspect never says running (10 of 10): kill answers once the exit is recorded', async () => {
      for (let i = 0; i < 10; i++) {
        const id = await started();
        expect((await api(w, 'POST', `/containers/${id}/kill`)).status).toBe(204);
        const after = (await api(w, 'GET', `/containers/${id}`)).body;
        expect([after.state, after.exitCode]).toEqual(['exited', 137]);
        expect(cgroupDirsFor(id)).toEqual([]);
        expect((await api(w, 'DELETE', `/containers/${id}`)).status).toBe(204);
      }
    });

    it('force-remove right after (and during) a kill: 204, nothing left, never 5xx', async () => {
      for (let i = 0; i < 5; i++) {
        const id = await started();
        const kill = api(w, 'POST', `/containers/${id}/kill`);
        if (i % 2) await kill; // right after, and at the same time
        const rm = await api(w, 'DELETE', `/containers/${id}?force=true`);
        const k = await kill;
        no5xx([k, rm]);
        expect(rm.status).toBe(204);
        expect([204, 404, 409]).toContain(k.status);
        expect((await api(w, 'GET', `/containers/${id}`)).status).toBe(404);
        expect(cgroupDirsFor(id)).toEqual([]);
        expect(fs.existsSync(path.join(w.dataDir, 'containers', id))).toBe(false);
      }
    });

    it('17 force removes at once: all 204 and, when they answer, the list no longer has them', async () => {
      const ids = await Promise.all([...Array(17)].map(() => started()));
      const rs = await Promise.all(ids.map((id) => api(w, 'DELETE', `/containers/${id}?force=true`)));
      no5xx(rs);
      expect(rs.map((r) => r.status)).toEqual(Array(17).fill(204));
      const left = (await api(w, 'GET', '/containers?all=true')).body.map((c: { id: string }) => c.id);
      expect(left.filter((id: string) => ids.includes(id))).toEqual([]);
      for (const id of ids) expect(cgroupDirsFor(id)).toEqual([]);
    });
  });
});
