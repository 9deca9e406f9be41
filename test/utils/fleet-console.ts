import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { ADMIN_TOKEN } from './warden';

const artifacts = path.resolve(__dirname, '../../test-artifacts/console');

/**
 * The console's Nodes page on A while B is down, in headless Chromium (as the console test):
 * listed in the nav once there are several nodes, B down with its container unknown, no
 * console error and no failed API call; screenshots saved as test artifacts.
 */
export async function consoleNodesPage(url: string, containerId: string): Promise<void> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (!r.url().includes('/ui/') && r.status() >= 300) problems.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${url}/ui/`);
    await page.fill('#token', ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#nav-nodes:not([hidden])');
    await page.click('#nav-nodes');
    await page.waitForSelector('#nodes-table .node-row').catch(async (err: Error) => {
      // Say what the page showed and what went wrong on it, not only that a row never came.
      const shown = (await page.innerText('main').catch(() => '?')).replace(/\s+/g, ' ').slice(0, 400);
      throw new Error(`${err.message}\npage: ${shown}\nproblems: ${problems.join('; ') || 'none'}`);
    });
    const table = (await page.innerText('#nodes-table')).replace(/\s+/g, ' ');
    expect(table).toMatch(/node-a \(this one\) up .* node-b down .* 0 1 1 .* node-c up/);
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'nodes.png'), fullPage: true });
    await page.click('#node-node-b a');
    await page.waitForSelector('#node-containers');
    expect(await page.innerText('#node')).toMatch(/Status\s+down/);
    expect((await page.innerText('#node-containers')).replace(/\s+/g, ' ')).toMatch(
      new RegExp(`on-b ${containerId.slice(0, 12)} .*busybox.* unknown`),
    );
    await page.screenshot({ path: path.join(artifacts, 'node.png'), fullPage: true });
    await page.click('#node-containers a');
    await page.waitForSelector('#story');
    await page.click('a[href="#containers"]');
    await page.waitForSelector('#containers-table');
    expect((await page.innerText('#containers-table')).replace(/\s+/g, ' ')).toMatch(/on-b .*unknown/);
    expect(problems).toEqual([]);
  } finally {
    await browser.close();
  }
}
