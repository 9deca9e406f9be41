import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { seedConsole, ConsoleSeed } from '../utils/console-seed';
import { importBusybox, runContainer } from '../utils/containers';
import { eventually } from '../utils/services';
import { api, startTestWarden, TestWarden } from '../utils/warden';

/**
 * The review console in a real headless Chromium (Debian's), signed in with an auditor
 * token: a denied launch with its reasons, the whole story of an allowed one, and every page
 * and filter against seeded data, with a screenshot of each in test-artifacts/console/.
 */
describe('review console (/ui) in headless Chromium', () => {
  let w: TestWarden;
  let browser: Browser;
  let auditor: string;
  let allowedId: string;
  let seed: ConsoleSeed;
  const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-ui-'));
  const artifacts = path.resolve(__dirname, '../../test-artifacts/console');

  beforeAll(async () => {
    w = await startTestWarden('up', { WARDEN_CGROUP_PARENT: `warden-ui-${process.pid}` });
    await importBusybox(w);
    seed = await seedConsole(w);
    auditor = seed.auditor;
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
  /** Opens a console page by its URL fragment and waits until it is drawn anew. */
  async function open(page: Page, hash: string): Promise<void> {
    await page.evaluate((h) => {
      const g = globalThis as any;
      g.document.querySelector('#view').replaceChildren();
      g.location.hash = h;
    }, hash);
  }
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
    await page.waitForSelector('#view-overview');
    await page.goto(`${w.url}/ui/#containers`);
    await page.waitForSelector('#containers-table');
    expect(await page.textContent('#containers-table')).toContain('good-one');

    await page.goto(`${w.url}/ui/#decisions?decision=denied&principal=admin`);
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
    await page.waitForSelector('#view-overview');
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

  it('a page whose data comes after the user moved on does not replace the page they went to', async () => {
    const page = await browser.newPage();
    // The overview's data is held until the Decisions page is shown, then let through.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let overviewDone!: () => void;
    const answered = new Promise<void>((r) => (overviewDone = r));
    await page.route('**/console/overview?**', async (r) => {
      await held;
      await r.continue();
      overviewDone();
    });
    await page.goto(`${w.url}/ui/`);
    await page.fill('#token', auditor);
    await page.click('#login button');
    await page.click('nav.main a[href="#decisions"]');
    await page.waitForSelector('#view-decisions');
    release();
    await answered;
    // The overview renders as soon as its answer is read: give it that moment, then look.
    await page.waitForTimeout(500);
    expect(await page.$('#view-overview')).toBeNull();
    expect(await page.$('#view-decisions')).not.toBeNull();
    await page.close();
  });

  it('opens every page and every filter with no console error and no failed API call, and keeps a screenshot of each', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (!r.url().includes('/ui/') && r.status() >= 300) problems.push(`${r.status()} ${r.url()}`);
    });
    // The console works offline: nothing is fetched from anywhere but this Warden (no CDN).
    page.on('request', (r) => {
      if (!r.url().startsWith(`${w.url}/`) && !r.url().startsWith('data:'))
        problems.push(`elsewhere: ${r.url()}`);
    });
    await page.goto(`${w.url}/ui/`);
    await page.fill('#token', auditor);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#view-overview svg.chart rect');
    fs.mkdirSync(artifacts, { recursive: true });

    const [v1, v2] = seed.baselineVersions;
    const deniedSeq = (await api(w, 'GET', '/audit/events?type=policy.decision&decision=denied&limit=1')).body
      .events[0].seq;
    /** [screenshot name, hash, selector that shows the page rendered, text it must hold, where (default: the selector)]. */
    const pages: Array<[string, string, string, RegExp, string?]> = [
      [
        'overview',
        'overview',
        '#chain-verify.ok',
        /Most-hit deny rules[\s\S]*privileged\.allow[\s\S]*Teams with most denials[\s\S]*payments[\s\S]*Images with most denials[\s\S]*payments\/api:1\.0[\s\S]*Exceptions expiring[\s\S]*privileged\.allow team payments[\s\S]*verified, \d+ rows head seq \d+[\s\S]*Queue backlog[\s\S]*audit \d+ \d+ \d+ 0 usage/,
        '#view',
      ],
      ['overview-7d', 'overview?window=7d', '#stat-oom', /^1 OOM kills/],
      ['overview-1h', 'overview?window=1h', '#stat-denied', /denied/],
      ['containers', 'containers', '#containers-table', /good-one[\s\S]*batch-job/],
      [
        'containers-removed',
        'containers?state=removed',
        '#containers-table',
        /batch-job.*removed.*137 \(OOM killed\)/,
      ],
      ['containers-search', 'containers?q=good', '#containers-table', /^(?![\s\S]*batch-job)[\s\S]*good-one/],
      ['containers-team', 'containers?team=payments', '#containers-table', /batch-job/],
      ['container-removed', `container/${seed.removedId}`, '#story', /Exited[\s\S]*exit 137 · OOM killed/],
      ['decisions', 'decisions', '#decisions-table', /would-deny[\s\S]*denied/],
      [
        'decisions-would-deny',
        'decisions?decision=would-deny',
        '#decisions-table',
        /bob.*would-deny.*capabilities\.allowAdd/,
      ],
      ['decisions-rule', 'decisions?rule=resources.memory.max', '#decisions-table', /payments\/worker:2/],
      [
        'decisions-principal',
        'decisions?principal=alice&decision=allowed',
        '#decisions-table',
        /alice.*allowed/,
      ],
      ['event', `event/${deniedSeq}`, '#event', /Hash\s+[0-9a-f]{64}/],
      ['policies', 'policies', '#policies-table', /baseline[\s\S]*search-trial.*audit.*team search/],
      [
        'policy',
        'policy/baseline',
        '#policy-history',
        /resources\.memory\.max: null → 1\.0 GiB[\s\S]*Who changed what, when[\s\S]*admin activated[\s\S]*admin version created/,
        '#view',
      ],
      [
        'policy-compare',
        `policy/baseline?version=${v1}&compare=${v2}`,
        '#rules',
        /Privileged containers refused/,
      ],
      [
        'exceptions',
        'exceptions',
        '#exceptions-table',
        /privileged\.allow.*team payments.*payments\/api.*CHG-19/,
      ],
      ['exceptions-live', 'exceptions?live=true', '#exceptions-table', /soon/],
      [
        'usage',
        'usage',
        '#usage-table',
        /payments 12\.0 256 MiB 256 MiB 1 12 MiB 6 MiB 5 MiB 1 0 search 3\.0 20 MiB 512 MiB 0 0 MiB 0 MiB 0 MiB 1 1/,
      ],
      [
        'usage-rightsizing',
        'usage?by=image',
        '#rightsizing-table',
        /search-indexer search\/indexer:3 .* 4% oversized/,
      ],
      ['usage-app', 'usage?by=label:app&days=1', '#usage-table', /batch[\s\S]*search/],
      ['reports', 'reports', '#report-form', /Request report/],
      ['chain', 'chain', '#chain-status', /verified/],
      ['chain-died', 'chain?type=container.died', '#chain-table', /container\.died/],
    ];
    for (const [name, hash, selector, text, where] of pages) {
      await open(page, hash);
      await page.waitForSelector(selector);
      const shown = (await page.innerText(where ?? selector)).replace(/\s+/g, ' ');
      expect({ name, ok: text.test(shown) ? 'ok' : shown }).toEqual({ name, ok: 'ok' });
      await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
    }

    // A filter set through its form (keyboard only) lands on the same URL the table above used.
    await page.goto(`${w.url}/ui/#decisions`);
    await page.waitForSelector('#decisions-table');
    await page.selectOption('select[name=decision]', 'would-deny');
    await page.focus('input[name=principal]');
    await page.keyboard.type('bob');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => (globalThis as any).document.location.hash === '#decisions?decision=would-deny&principal=bob',
    );
    await page.waitForSelector('#decisions-table .decision-row');
    expect(await page.$$('#decisions-table .decision-row')).toHaveLength(1);

    // Replay of the first baseline version (no memory cap) over the last week: alice's 4g launch would pass.
    await page.goto(`${w.url}/ui/#policy/baseline?version=${v1}`);
    await page.waitForSelector('#replay button');
    await page.click('#replay button');
    await page.waitForSelector('#replay-table');
    expect(await page.innerText('#replay-result')).toMatch(/[1-9]\d* would now be allowed/);
    expect(await page.innerText('#replay-table')).toMatch(
      /alice\s+payments\/worker:2\s+denied-to-allowed[\s\S]*resources\.memory\.max/,
    );
    await page.screenshot({ path: path.join(artifacts, 'policy-replay.png'), fullPage: true });

    // A report requested in the page, its progress, then its files and its signature checked in the page.
    await page.goto(`${w.url}/ui/#reports`);
    await page.waitForSelector('#report-form');
    await page.fill('#report-form input[name=team]', 'payments');
    await page.click('#report-form button');
    await page.waitForSelector('#signature .badge', { timeout: 90_000 });
    expect(await page.innerText('#signature')).toMatch(/signature verified.*Ed25519, key [0-9a-f]{16}/);
    expect(await page.innerText('#report-files')).toMatch(/report\.json[\s\S]*report\.pdf/);
    await page.screenshot({ path: path.join(artifacts, 'report.png'), fullPage: true });
    // It is listed among the past reports, with its scope, status and downloads.
    await open(page, 'reports');
    await page.waitForSelector('#reports-table .report-row');
    expect((await page.innerText('#reports-table')).replace(/\s+/g, ' ')).toMatch(
      /team payments .* done JSON PDF open and verify/,
    );
    await page.screenshot({ path: path.join(artifacts, 'reports-past.png'), fullPage: true });

    expect(problems).toEqual([]);
    await page.close();
  }, 180_000);

  it('keyboard, labels and contrast: a skip link first, every control labelled, badges readable', async () => {
    const page = await browser.newPage();
    await page.goto(`${w.url}/ui/`);
    await page.fill('#token', auditor);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#view-overview');
    // From the top of a fresh load (the token stays in the tab's session storage).
    await page.reload();
    await page.waitForSelector('#view-overview');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement.textContent)).toBe(
      'Skip to content',
    );
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement.getAttribute('href'))).toBe(
      '#overview',
    );
    // Enter on a focused nav link opens its page.
    for (let i = 0; i < 2; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#decisions-table');
    expect(await page.getAttribute('nav.main a[href="#decisions"]', 'aria-current')).toBe('page');

    for (const hash of [
      'containers',
      'usage',
      'reports',
      'chain',
      'exceptions',
      'policy/baseline',
      'decisions',
    ]) {
      await open(page, hash);
      await page.waitForSelector(`#view-${hash.split('/')[0]}`);
      const unlabelled = await page.evaluate(() =>
        [...(globalThis as any).document.querySelectorAll('#view input, #view select')]
          .filter(
            (el: any) =>
              !el.closest('label') && !(globalThis as any).document.querySelector(`label[for="${el.id}"]`),
          )
          .map((el: any) => el.outerHTML),
      );
      expect({ hash, unlabelled }).toEqual({ hash, unlabelled: [] });
    }

    // WCAG AA: white badge text on each state colour at least 4.5:1.
    await page.goto(`${w.url}/ui/#decisions`);
    await page.waitForSelector('#decisions-table .badge');
    const colours: string[] = await page.evaluate(() => {
      const out: string[] = [];
      for (const cls of ['allowed', 'denied', 'would-deny', 'running', 'exited', 'removed', 'warn']) {
        const el = (globalThis as any).document.createElement('span');
        el.className = `badge ${cls}`;
        (globalThis as any).document.body.append(el);
        out.push((globalThis as any).getComputedStyle(el).backgroundColor);
        el.remove();
      }
      return out;
    });
    const luminance = (rgb: string) => {
      const [r, g, b] = (rgb.match(/\d+/g) ?? []).map(Number).map((c) => {
        const v = c / 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    for (const c of colours)
      expect({ c, ratio: 1.05 / (luminance(c) + 0.05) >= 4.5 }).toEqual({ c, ratio: true });
    await page.close();
  });
});
