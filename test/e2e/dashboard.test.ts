/**
 * The dashboard in a real browser against a real 3-node cluster with a password: it loads without a
 * console error, shows three members up and the ring, its rates move under a short load, a killed
 * node turns down and comes back when restarted, and a screenshot is kept in test-artifacts/.
 *
 * Down comes from the serving node's member table (gossip and its failure detector); the killed
 * node's unanswered status request only blanks its figures (src/ops/cluster-watcher.ts).
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { RingkvClient } from '../../src/client/ringkv-client.js';
import { artifactsDir, chromiumRequirement, findChromium } from '../helpers/browser.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { testNeeding } from '../helpers/required-tool.js';

const PASSWORD = 'dashboard-test-password';
const needChromium = chromiumRequirement();
/** the failure detector's worst case (≈6 s, see the README's membership figures) plus a poll and slack for a loaded machine */
const DETECTION_BOUND_MS = 15_000;

let tc: TestCluster;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

before(async () => {
  if (!needChromium.ok) return;
  tc = await startTestCluster({ nodes: 3, settings: { engine: 'memory', logLevel: 'warn', password: PASSWORD } });
  browser = await chromium.launch({ executablePath: findChromium()!, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
});

after(async () => {
  await browser?.close();
  await tc?.stop();
});

async function statusOf(id: string): Promise<string | null> {
  return page.getAttribute(`#members tr[data-member="${id}"]`, 'data-status');
}

testNeeding('the dashboard asks for the password once, then shows three members up and the ring', needChromium, {}, async () => {
  await page.goto(`${tc.node('n1').httpUrl}/ui`);
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#password', PASSWORD);
  await page.click('#login button');
  for (const id of ['n1', 'n2', 'n3']) await page.waitForSelector(`#members tr[data-member="${id}"][data-status="up"]`, { timeout: 15_000 });
  assert.equal(await page.locator('#members tr[data-member]').count(), 3);
  assert.equal(await page.locator('#ring path[data-partition]').count(), 256);
  const owners = await page.$$eval('#ring path[data-partition]', (paths) => new Set(paths.map((p) => p.getAttribute('data-owner'))).size);
  assert.equal(owners, 3);
  await page.waitForSelector('#connection[data-state="live"]');
  assert.deepEqual(consoleErrors, []);
});

testNeeding('request rates move under a short load, and the staleness prediction appears', needChromium, {}, async () => {
  assert.equal(Number(await page.getAttribute('#members tr[data-member="n1"]', 'data-rate')), 0);
  const client = new RingkvClient({ url: tc.nodes.map((n) => n.httpUrl), password: PASSWORD, timeoutMs: 15_000 });
  for (let i = 0; i < 150; i++) {
    await client.put(`dash-${i}`, `value-${i}`);
    await client.get(`dash-${i}`);
  }
  for (const id of ['n1', 'n2', 'n3']) {
    await page.waitForFunction((node) => Number(document.querySelector(`#members tr[data-member="${node}"]`)?.getAttribute('data-rate')) > 0, id, { timeout: 15_000 });
  }
  // n1 coordinated a third of the reads and writes: enough samples of every PBS leg
  await page.waitForSelector('#pbs-grid td[data-r="2"][data-w="2"]', { timeout: 15_000 });
  assert.match((await page.textContent('#pbs-grid td[data-r="2"][data-w="2"]')) ?? '', /100\.0 %/);
  await page.screenshot({ path: join(artifactsDir(), 'dashboard.png'), fullPage: true });
  assert.deepEqual(consoleErrors, []);
});

testNeeding('a killed node turns down on the page and comes back when restarted', needChromium, {}, async () => {
  const killedAt = Date.now();
  await tc.node('n3').kill();
  await page.waitForSelector('#members tr[data-member="n3"][data-status="down"]', { timeout: DETECTION_BOUND_MS });
  const detectedMs = Date.now() - killedAt;
  process.stdout.write(`# n3 shown down ${detectedMs} ms after the kill\n`);
  assert.equal(await statusOf('n1'), 'up');
  assert.equal(await statusOf('n2'), 'up');
  await page.waitForSelector('#events li[data-member="n3"][data-status="down"]');
  await page.screenshot({ path: join(artifactsDir(), 'dashboard-node-down.png'), fullPage: true });

  const restartedAt = Date.now();
  await tc.node('n3').restart();
  await page.waitForSelector('#members tr[data-member="n3"][data-status="up"]', { timeout: DETECTION_BOUND_MS });
  process.stdout.write(`# n3 shown up ${Date.now() - restartedAt} ms after its restart began\n`);
  assert.deepEqual(consoleErrors, []);
});
