import { chromium, type Browser } from 'playwright-core';
import { importBusybox } from '../utils/containers';
import { eventually } from '../utils/services';
import { api, startTestWarden, type TestWarden } from '../utils/warden';

/**
 * A recorded exec session in the review console (issue 15), in a real headless Chromium signed
 * in as an auditor: the transcript beside the exec's end row, its sha256 checked in the browser
 * against the audit event, and the exec's decision row linking to it.
 */
describe('review console: recorded exec sessions', () => {
  let w: TestWarden;
  let browser: Browser;
  let auditor: string;

  beforeAll(async () => {
    w = await startTestWarden('up', { WARDEN_CGROUP_PARENT: `h-exec-ui-${process.pid}` });
    await importBusybox(w);
    const v = await api(w, 'POST', '/policies', {
      body: { name: 'recorded', mode: 'enforce', rules: { exec: { recording: { required: true } } } },
    });
    expect(v.status).toBe(201);
    await api(w, 'POST', '/policies/recorded/activate', { body: { versionId: v.body.id } });
    await api(w, 'POST', '/policies/recorded/bindings', { body: { kind: 'principal', value: 'admin' } });
    expect((await api(w, 'POST', '/principals', { body: { id: 'rita', role: 'auditor' } })).status).toBe(201);
    auditor = (await api(w, 'POST', '/tokens', { body: { principalId: 'rita', name: 'ui' } })).body.token;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await w?.close();
  });

  it('shows the transcript next to exec.ended, hash checked, and links the decision to it', async () => {
    const c = (
      await api(w, 'POST', '/containers', {
        body: { image: 'busybox:1.35', name: 'svc', cmd: ['sleep', '300'] },
      })
    ).body;
    expect((await api(w, 'POST', `/containers/${c.id}/start`)).status).toBe(200);
    const r = await api(w, 'POST', `/containers/${c.id}/exec`, {
      body: { cmd: ['sh', '-c', 'echo "secret <b>not html</b>"; ls /etc/hostname'] },
    });
    expect(r.body).toMatchObject({ exitCode: 0 });
    const seqOf = (type: string) =>
      eventually(type, async () => {
        const { events } = (await api(w, 'GET', `/audit/events?type=${type}&limit=100`)).body;
        return events.find((e: any) => e.payload.execId === r.body.execId)?.seq as number | undefined;
      });
    const endSeq = await seqOf('exec.ended');
    const decisionSeq = await seqOf('policy.decision');

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${w.url}/ui/`);
    await page.fill('#token', auditor);
    await page.click('#login button');
    await page.waitForSelector('#view-overview');
    await page.goto(`${w.url}/ui/#event/${endSeq}`);
    await page.waitForSelector('#transcript', { timeout: 20_000 }).catch(async (err) => {
      throw new Error(`${err.message}\n${problems.join('\n')}\n${await page.innerText('body')}`);
    });
    expect(await page.innerText('#transcript')).toBe('secret <b>not html</b>\n/etc/hostname\n');
    expect(await page.innerText('#transcript-hash')).toMatch(/sha256 matches the audit event/);

    await page.goto(`${w.url}/ui/#event/${decisionSeq}`);
    await page.click('text=exec end and session transcript →');
    await page.waitForSelector('#transcript');
    expect(page.url()).toContain(`#event/${endSeq}`);
    expect(problems).toEqual([]);
    await page.close();
    await api(w, 'DELETE', `/containers/${c.id}?force=true`);
  });
});
