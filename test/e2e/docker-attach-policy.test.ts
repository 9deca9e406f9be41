/*
 * A policy decides attaches (issue 15): `attach.allow` and `attach.allowStdin` per bound
 * policy, decided when the attach is asked for (403 naming the rule, nothing streams), and
 * audited either way as a `policy.decision` with action `attach`. `baseline` allows attach.
 * Through the real docker CLI.
 */
import {
  DockerCli,
  dockerCliSuite,
  dockerFails,
  dockerOk,
  socketRequest,
  startDockerWarden,
} from '../utils/docker-cli';
import { eventually } from '../utils/services';
import { api, TestWarden } from '../utils/warden';

const BB = 'busybox:1.35';

dockerCliSuite('docker attach policy e2e')('attach judged by policy', () => {
  let w: TestWarden;
  let docker: DockerCli;
  let close: () => Promise<void>;
  let socket: string;

  beforeAll(async () => {
    ({ w, docker, close, socket } = await startDockerWarden(`warden-test-attachpol-${process.pid}`));
  });
  afterAll(() => close?.());

  const decisions = async (id: string) =>
    (
      (await api(w, 'GET', `/audit/events?type=policy.decision&subject=${id}`)).body.events as Array<{
        decision: string;
        payload: { action: string; stdin: boolean; decision: { reasons: Array<{ rule: string }> } };
      }>
    ).filter((e) => e.payload.action === 'attach');

  /** The CLI prints only "received 403" for a refused hijack; the body says why (moby's {"message"}). */
  const attachRefusal = async (id: string, stdin: boolean) => {
    const r = await socketRequest(
      socket,
      'POST',
      `/v1.47/containers/${id}/attach?stream=1&stdout=1&stderr=1&stdin=${stdin ? 1 : 0}`,
    );
    expect(r.status).toBe(403);
    return (JSON.parse(r.body) as { message: string }).message;
  };

  async function bind(rules: Record<string, unknown>): Promise<void> {
    const created = await api(w, 'POST', '/policies', {
      body: { name: 'attach-lab', mode: 'enforce', rules },
    });
    expect(created.status).toBeLessThan(300);
    expect(
      (await api(w, 'POST', '/policies/attach-lab/activate', { body: { versionId: created.body.id } }))
        .status,
    ).toBe(200);
    const bound = await api(w, 'POST', '/policies/attach-lab/bindings', {
      body: { kind: 'principal', value: 'docker-root' },
    });
    expect(bound.status).toBeLessThan(300);
  }

  it('baseline allows an attach; it is audited as allowed', async () => {
    const id = (
      await dockerOk(docker, ['run', '-d', '-i', BB, 'sh', '-c', 'sleep 1; echo from-attach'])
    ).trim();
    expect(await dockerOk(docker, ['attach', '--no-stdin', id])).toContain('from-attach');
    await eventually('the allowed attach in the trail', async () =>
      (await decisions(id)).some((e) => e.decision === 'allowed' && e.payload.stdin === false)
        ? true
        : undefined,
    );
  });

  it('attach.allowStdin false: typing in is refused with the rule, reading is not; both audited', async () => {
    await bind({ attach: { allowStdin: false } });
    const id = (
      await dockerOk(docker, ['run', '-d', '-i', BB, 'sh', '-c', 'sleep 2; echo read-only'])
    ).trim();
    expect(await dockerFails(docker, ['attach', id])).toMatch(/received 403/);
    expect(await attachRefusal(id, true)).toMatch(
      /attaching with stdin is not allowed .*\(policy attach-lab, rule attach\.allowStdin\)/,
    );
    expect(await dockerOk(docker, ['attach', '--no-stdin', id])).toContain('read-only');
    await eventually('both decisions in the trail', async () => {
      const d = await decisions(id);
      const denied = d.find((e) => e.decision === 'denied');
      return denied?.payload.decision.reasons[0].rule === 'attach.allowStdin' &&
        d.some((e) => e.decision === 'allowed' && !e.payload.stdin)
        ? true
        : undefined;
    });
  });

  it('attach.allow false: no attach at all, the container runs on', async () => {
    await bind({ attach: { allow: false } });
    const id = (await dockerOk(docker, ['run', '-d', BB, 'sleep', '30'])).trim();
    expect(await dockerFails(docker, ['attach', '--no-stdin', id])).toMatch(/received 403/);
    expect(await attachRefusal(id, false)).toMatch(
      /attaching to containers is not allowed .*\(policy attach-lab, rule attach\.allow\)/,
    );
    expect((await dockerOk(docker, ['inspect', '-f', '{{.State.Status}}', id])).trim()).toBe('running');
    await api(w, 'DELETE', '/policies/attach-lab/bindings?kind=principal&value=docker-root');
    await dockerOk(docker, ['rm', '-f', id]);
  });
});
