import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, Browser } from 'playwright-core';
import { importBusybox, runContainer } from '../utils/containers';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * The review console in a real headless Chromium (Debian's), signed in with an auditor
 * token: a denied launch with its reasons, and the whole story of an allowed one.
 */
describe('review console (/ui) in headless Chromium', () => {
  let w: TestWarden;
  let browser: Browser;
  let auditor: string;
  let allowedId: string;
  const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-ui-'));

  beforeAll(async () => {
    w = await startTestWarden('up', { WARDEN_CGROUP_PARENT: `warden-ui-${process.pid}` });
    await importBusybox(w);
    await api(w, 'POST', '/principals', { body: { id: 'audrey', role: 'auditor' } });
    auditor = (await api(w, 'POST', '/tokens', { body: { principalId: 'audrey', name: 'console' } })).body
      .token;
    allowedId = (await runContainer(w, { name: 'good-one', memory: '32m', cmd: ['sh', '-c', 'echo fine'] }))
      .id;
    const denied = await api(w, 'POST', '/containers', {
      body: { image: 'busybox:1.35', privileged: true, cmd: ['true'] },
    });
    expect(denied.status).toBe(403);
    await eventually('decisions in the trail', async () => {
      const r = await api(w, 'GET', '/audit/events?type=policy.decision');
      return (
        r.body.events.length >= 2 &&
        (await api(w, 'GET', `/audit/events?type=container.died&subject=${allowedId}`)).body.events.length ===
          1
      );
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await w.close();
    fs.rmSync(shots, { recursive: true, force: true });
  });

  it('signs in with a token and shows a denied launch with its reasons', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${w.url}/ui`);
    await page.fill('#token', auditor);
    await page.click('#login button');
    await page.waitForSelector('#containers-table');
    expect(await page.textContent('#containers-table')).toContain('good-one');

    await page.goto(`${w.url}/ui/#decisions?decision=denied`);
    await page.waitForSelector('#decisions-table .decision-row');
    const rows = await page.$$eval('#decisions-table .decision-row', (trs) =>
      trs.map((tr) => (tr as unknown as { innerText: string }).innerText),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('denied');
    expect(rows[0]).toContain('privileged.allow');
    expect(rows[0]).toContain('privileged mode is not allowed (policy baseline, rule privileged.allow)');

    const file = path.join(shots, 'decisions.png');
    await page.screenshot({ path: file, fullPage: true });
    const png = fs.readFileSync(file);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // The decision view rendered: a table with a red "denied" badge, not a blank or error page.
    const badge = await page.$eval(
      '#decisions-table .badge.denied',
      (el) => (globalThis as any).getComputedStyle(el).backgroundColor,
    );
    expect(badge).toBe('rgb(198, 40, 40)');
    expect(png.length).toBeGreaterThan(10_000);
    await page.close();
  });

  it("shows an allowed container's whole story with the audit rows' hashes", async () => {
    const page = await browser.newPage();
    await page.goto(`${w.url}/ui/`);
    await page.fill('#token', auditor);
    await page.click('#login button');
    await page.waitForSelector('#containers-table');
    await page.goto(`${w.url}/ui/#story/${allowedId}`);
    await page.waitForSelector('#story');
    const text = await page.innerText('#story');
    expect(text).toMatch(/Imported/);
    expect(text).toMatch(/Decision[\s\S]*allowed by policy baseline/);
    expect(text).toMatch(/Created[\s\S]*memory 32 MiB/);
    expect(text).toMatch(/Exited[\s\S]*exit 0/);
    expect(text.match(/hash [0-9a-f]{64}/g)?.length).toBeGreaterThanOrEqual(4);
    await page.close();
  });

  it('needs a token: a wrong one is refused with the API message', async () => {
    const page = await browser.newPage();
    await page.goto(`${w.url}/ui/`);
    await page.fill('#token', 'wdn_wrong');
    await page.click('#login button');
    await page.waitForFunction(() =>
      (globalThis as any).document.querySelector('#login-error')?.textContent?.includes('not recognised'),
    );
    await page.close();
  });
});
