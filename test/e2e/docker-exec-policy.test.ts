import { createHash } from 'node:crypto';
import {
  dockerCliSuite,
  dockerFails,
  dockerOk,
  startDockerWarden,
  type DockerCli,
} from '../utils/docker-cli';
import { eventually } from '../utils/services';
import { api, type TestWarden } from '../utils/warden';

interface AuditEvent {
  type: string;
  principal: string;
  subject?: string;
  decision?: string;
  payload: Record<string, any>;
}

/**
 * Governed exec (issue 15 point 5) through the real docker CLI and REST: each deny reason is a
 * 403 that `docker exec` prints, every exec is audited with its decision at create and its
 * exit code at the end, and a policy that requires recording gets a transcript whose sha256
 * is in the exec's end event, served to admins and auditors only.
 */
dockerCliSuite('governed exec')('governed exec: policy, audit and session recording', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let close: () => Promise<void>;
  let auditor: string;
  let deployer: string;

  const ok = (args: string[]) => dockerOk(docker, args);
  const fails = (args: string[]) => dockerFails(docker, args);
  const events = async (type: string): Promise<AuditEvent[]> =>
    (await api(w, 'GET', `/audit/events?type=${type}&limit=500`)).body.events;

  async function activate(rules: Record<string, unknown>): Promise<void> {
    const v = await api(w, 'POST', '/policies', { body: { name: 'exec-lab', mode: 'enforce', rules } });
    expect(v.status).toBe(201);
    expect(
      (await api(w, 'POST', '/policies/exec-lab/activate', { body: { versionId: v.body.id } })).status,
    ).toBe(200);
  }

  /** The exec.ended event of the newest exec whose command is `cmd`, once it is recorded. */
  async function ended(cmd: string[]): Promise<AuditEvent> {
    return eventually(`exec.ended for ${cmd.join(' ')}`, async () =>
      (await events('exec.ended')).find((e) => JSON.stringify(e.payload.cmd) === JSON.stringify(cmd)),
    );
  }

  beforeAll(async () => {
    ({ w, docker, close } = await startDockerWarden(`h-exec-e2e-${process.pid}`));
    await activate({
      exec: {
        allowRoot: false,
        allowPrivileged: false,
        deniedEnv: ['LD_*', '*_TOKEN'],
        recording: { required: true, maxBytes: '8k' },
      },
    });
    for (const value of ['docker-root', 'admin'])
      expect(
        (await api(w, 'POST', '/policies/exec-lab/bindings', { body: { kind: 'principal', value } })).status,
      ).toBe(201);
    const token = async (id: string, role: string) => {
      expect((await api(w, 'POST', '/principals', { body: { id, role } })).status).toBe(201);
      return (await api(w, 'POST', '/tokens', { body: { principalId: id, name: 'exec' } })).body
        .token as string;
    };
    auditor = await token('rita', 'auditor');
    deployer = await token('dev', 'deployer');
    await ok(['run', '-d', '--name', 'box', 'busybox:1.35', 'sleep', '600']);
  }, 120_000);
  afterAll(async () => {
    await docker?.run(['rm', '-f', 'box']);
    await close?.();
  });

  it('denies root (the image default and -u 0) with the reason, on the CLI and REST', async () => {
    expect(await fails(['exec', 'box', 'id'])).toMatch(
      /Error response from daemon: exec as root \(the image's default user is uid 0\) is not allowed: pass --user with a non-root user \(policy exec-lab, rule exec.allowRoot\)/,
    );
    expect(await fails(['exec', '-u', 'root', 'box', 'id'])).toMatch(
      /user "root" is uid 0.*rule exec.allowRoot/,
    );
    const rest = await api(w, 'POST', '/containers/box/exec', { body: { cmd: ['id'], user: '0' } });
    expect(rest.status).toBe(403);
    expect(rest.body.message).toMatch(/rule exec.allowRoot/);
    const denied = await eventually('three denied exec decisions', async () => {
      const d = (await events('policy.decision')).filter(
        (e) => e.payload.action === 'exec' && e.decision === 'denied',
      );
      return d.length >= 3 ? d : undefined;
    });
    expect(denied.find((e) => e.principal === 'docker-root')?.payload).toMatchObject({
      cmd: ['id'],
      uid: 0,
      tty: false,
      decision: { allowed: false, reasons: [expect.objectContaining({ rule: 'exec.allowRoot' })] },
    });
    // Exec decisions join replay: a candidate without the root rule would have allowed them.
    const replay = await api(w, 'POST', '/policies/replay', {
      body: {
        candidate: { name: 'exec-lab', mode: 'enforce', rules: { exec: { allowPrivileged: false } } },
        from: new Date(Date.now() - 600_000).toISOString(),
        to: new Date(Date.now() + 1000).toISOString(),
      },
    });
    expect(replay.status).toBe(200);
    expect(replay.body.execs.deniedToAllowed).toBeGreaterThanOrEqual(3);
    expect(replay.body.execs.changes[0]).toMatchObject({
      container: 'box',
      cmd: ['id'],
      change: 'denied-to-allowed',
      before: { reasons: [expect.objectContaining({ rule: 'exec.allowRoot' })] },
      after: { allowed: true, reasons: [] },
    });
    // Nothing ran: no start event for a denied exec.
    expect((await events('exec.started')).filter((e) => e.payload.cmd[0] === 'id')).toEqual([]);
  });

  it('denies privileged exec and denied variables, naming the variable and not its value', async () => {
    expect(await fails(['exec', '--privileged', '-u', '1000', 'box', 'true'])).toMatch(
      /privileged exec is not allowed \(policy exec-lab, rule exec.allowPrivileged\)/,
    );
    const env = await fails([
      'exec',
      '-u',
      '1000',
      '-e',
      'LD_PRELOAD=/tmp/x.so',
      '-e',
      'GH_TOKEN=s3cret',
      'box',
      'true',
    ]);
    expect(env).toMatch(/environment variable LD_PRELOAD may not be set on exec \(matches LD_\*\)/);
    expect(env).toMatch(/environment variable GH_TOKEN may not be set on exec \(matches \*_TOKEN\)/);
    const rest = await api(w, 'POST', '/containers/box/exec', {
      body: { cmd: ['true'], user: '1000', env: ['LD_PRELOAD=/x'], privileged: true },
    });
    expect(rest.status).toBe(403);
    expect(rest.body.message).toMatch(/exec.allowPrivileged.*exec.deniedEnv/);
    const trail = await eventually('the env denial in the trail', async () => {
      const t = JSON.stringify(await events('policy.decision'));
      return t.includes('"envNames":["LD_PRELOAD","GH_TOKEN"]') && t;
    });
    expect(trail).not.toContain('s3cret');
  });

  it('audits an allowed exec at start and end with its exit code, and records its transcript', async () => {
    const r = await docker.run(
      ['exec', '-i', '-u', '1000', 'box', 'sh', '-c', 'read l; echo "got $l"; id -u; echo err >&2; exit 3'],
      {
        input: 'typed-line\n',
      },
    );
    expect(r).toMatchObject({ code: 3, stdout: 'got typed-line\n1000\n', stderr: 'err\n' });
    const end = await ended(['sh', '-c', 'read l; echo "got $l"; id -u; echo err >&2; exit 3']);
    expect(end).toMatchObject({
      principal: 'docker-root',
      payload: { exitCode: 3, uid: 1000, user: '1000', tty: false },
    });
    const start = (await events('exec.started')).find((e) => e.payload.execId === end.payload.execId);
    expect(start?.payload).toMatchObject({ recorded: true, pid: expect.any(Number) });
    const decision = (await events('policy.decision')).find((e) => e.payload.execId === end.payload.execId);
    expect(decision).toMatchObject({ decision: 'allowed', payload: { recording: { maxBytes: 8192 } } });

    const rec = end.payload.recording;
    expect(rec).toMatchObject({ truncated: false, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const got = await fetch(`${w.url}/exec-recordings/${end.payload.execId}`, {
      headers: { authorization: `Bearer ${auditor}` },
    });
    expect(got.status).toBe(200);
    const bytes = Buffer.from(await got.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(rec.sha256);
    expect(got.headers.get('x-content-sha256')).toBe(rec.sha256);
    expect(bytes.length).toBe(rec.bytes);
    const [header, ...lines] = bytes
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(header).toMatchObject({ version: 2, warden: { execId: end.payload.execId, tty: false } });
    const text = (code: string) =>
      lines
        .filter((l) => l[1] === code)
        .map((l) => l[2])
        .join('');
    expect(text('i')).toBe('typed-line\n');
    expect(text('o')).toContain('got typed-line\n1000\n');
    expect(text('o')).toContain('err\n');

    // Reviewers only: a deployer is refused, a bad id is a 400, an exec not recorded a 404.
    const asDeployer = await api(w, 'GET', `/exec-recordings/${end.payload.execId}`, { token: deployer });
    expect(asDeployer.status).toBe(403);
    expect((await api(w, 'GET', '/exec-recordings/nope')).status).toBe(400);
    expect((await api(w, 'GET', `/exec-recordings/${'0'.repeat(64)}`)).status).toBe(404);
  });

  it('REST exec answers its id; the transcript is cut at the cap and says so', async () => {
    const r = await api(w, 'POST', '/containers/box/exec', {
      body: {
        cmd: [
          'sh',
          '-c',
          'i=0; while [ $i -lt 400 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done',
        ],
        user: '1000',
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.stdout.split('\n')).toHaveLength(401);
    const end = await eventually('exec.ended', async () =>
      (await events('exec.ended')).find((e) => e.payload.execId === r.body.execId),
    );
    expect(end.payload).toMatchObject({ exitCode: 0, recording: { truncated: true } });
    expect(end.payload.recording.bytes).toBeLessThanOrEqual(8192);
    const body = (await api(w, 'GET', `/exec-recordings/${r.body.execId}`)).body as string;
    expect(body).toMatch(/"m","transcript cut: cap of 8192 bytes reached"\]\n$/);
  });

  it('exec.allow false and exec.allowedImages deny per policy version; exec without a recording rule is not recorded', async () => {
    await activate({ exec: { allowedImages: ['corp.io/team'] } });
    expect(await fails(['exec', 'box', 'true'])).toMatch(
      /exec into containers of image busybox is not allowed \(allowed: corp.io\/team\).*rule exec.allowedImages/,
    );
    await activate({ exec: { allow: false } });
    expect(await fails(['exec', 'box', 'true'])).toMatch(
      /exec into containers is not allowed \(policy exec-lab, rule exec.allow\)/,
    );
    await activate({});
    expect(await ok(['exec', 'box', 'sh', '-c', 'echo free; id -u'])).toBe('free\n0\n');
    const end = await ended(['sh', '-c', 'echo free; id -u']);
    expect(end.payload).toMatchObject({ exitCode: 0, uid: 0, recording: null });
    expect((await api(w, 'GET', `/exec-recordings/${end.payload.execId}`)).status).toBe(404);
  });
});
