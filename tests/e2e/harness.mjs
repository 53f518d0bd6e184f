// Shared pieces of the browser tests: the served site (real signal.php under `php -S`) and
// Debian's Chromium driven by playwright-core.
import { before, after } from 'node:test';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, mkdir } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { freePort, waitForHttp } from '../support/net.mjs';

export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage', '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export function sha256(buffer) {
  return createHash('sha256').update(buffer).digest('hex');
}

export async function sha256File(path) {
  return sha256(await readFile(path));
}

/** Starts scripts/serve-site on a free port; returns { url, stop }. */
export async function startSite() {
  const port = await freePort();
  const dir = `target/e2e-${port}`;
  const child = spawn('scripts/serve-site', [String(port)], {
    env: { ...process.env, PEERDROP_SITE_DIR: `${dir}/site`, PEERDROP_DATA_DIR: `${dir}/data` },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = `http://127.0.0.1:${port}/`;
  const stop = () => { try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ } };
  try {
    await waitForHttp(url, { timeoutMs: 15000, describe: () => `site did not start: ${stderr}` });
  } catch (e) {
    stop();
    throw e;
  }
  return { url, dataDir: `${dir}/data`, stop };
}

/**
 * What a page really holds, through its CDP session: live JS heap plus ArrayBuffer backing
 * stores (received bytes would sit there, outside the heap proper), read after a forced
 * collection, since V8 lets handled messages' buffers pile up to ~64 MiB before collecting.
 */
export async function liveMemoryBytes(cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize, backingStorageSize } = await cdp.send('Runtime.getHeapUsage');
  return usedSize + backingStorageSize;
}

export async function launchBrowser({ env } = {}) {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, env });
}

/**
 * Registers before/after hooks in the calling test file: one site and one Chromium for all its
 * tests. Returns a holder whose `site` and `browser` are set before the first test runs.
 */
export function useSiteAndBrowser() {
  const env = { site: null, browser: null };
  before(async () => {
    env.site = await startSite();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    env.site?.stop();
  });
  return env;
}

/** Waits for the page's error state and returns the error's code (#error data-code). */
export async function errorCode(page, timeoutMs = 20000) {
  await page.waitForSelector('body[data-state="error"]', { timeout: timeoutMs });
  return page.getAttribute('#error', 'data-code');
}

/** Picks files in the sender page and returns the share link it shows. */
export async function offer(page, siteUrl, files) {
  await page.goto(siteUrl);
  await page.waitForSelector('body[data-state="ready"]');
  await page.setInputFiles('#file-input', files);
  await page.waitForFunction(() => document.getElementById('share-link').value.includes('#'));
  return page.inputValue('#share-link');
}

/** Opens a share link in the receiver page and accepts the offer into the browser. */
export async function openAndAccept(page, link) {
  // Console errors and uncaught exceptions go into the failure message: a wasm panic (abort)
  // would otherwise look like a silent stall.
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(link);
  try {
    await page.waitForSelector('#accept:visible', { timeout: 30000 });
  } catch (e) {
    throw new Error(`no offer appeared: state=${await page.getAttribute('body', 'data-state')} ` +
      `status="${await page.textContent('#status')}" error="${await page.textContent('#error')}" ` +
      `page problems: ${problems.join(' | ') || 'none'}`, { cause: e });
  }
  await page.click('#accept');
}

/** Clicks every Save link in the receiver page and returns [{name, sha256, size}]. */
export async function saveAll(page) {
  const out = [];
  const links = await page.$$('a.save');
  for (const link of links) {
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const path = await download.path();
    const data = await readFile(path);
    out.push({ name: download.suggestedFilename(), sha256: sha256(data), size: data.length });
  }
  return out;
}

/** Path and SHA-256 of every file the receiver page offers, saved through its Save links. */
export async function receivedFiles(page) {
  const out = [];
  for (const li of await page.$$('#file-list li')) {
    const path = await (await li.$('.name')).textContent();
    const [download] = await Promise.all([page.waitForEvent('download'), (await li.$('a.save')).click()]);
    out.push({ path, sha256: await sha256File(await download.path()) });
  }
  return out;
}

/** Saves a screenshot to test-results/screenshots/NAME.png for people to look at. */
export async function shoot(page, name) {
  await mkdir('test-results/screenshots', { recursive: true });
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}
