// One interface over the browsers this machine can drive: Chromium through playwright-core,
// Firefox ESR through geckodriver + selenium-webdriver, and a probe of WebKitGTK through
// WebKitWebDriver. Each side loads the plain example page and acts as a person would.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Builder, By } from 'selenium-webdriver';
import { launchBrowser, liveMemoryBytes } from '../e2e/harness.mjs';
import { freePort, waitForHttp } from '../support/net.mjs';
import { processes, rssBytes } from '../support/procfs.mjs';

async function waitForPort(port, ms) {
  await waitForHttp(`http://127.0.0.1:${port}/status`, { timeoutMs: ms, describe: () => `no WebDriver on port ${port} after ${ms} ms` });
}

/** Reads what the receiver stored (OPFS staging) and hashes it in the page: [{path, sha256}]. */
const HASH_RECEIVED = `return (async () => {
  const names = [...document.querySelectorAll('#file-list li .name')].map((n) => n.textContent);
  const root = await navigator.storage.getDirectory();
  const staging = await root.getDirectoryHandle('peerdrop-staging');
  const out = [];
  for await (const [, dir] of staging.entries()) {
    for (let i = 0; i < names.length; i++) {
      const file = await (await dir.getFileHandle('file-' + i)).getFile();
      const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
      out.push({ path: names[i], size: file.size, sha256: [...d].map((b) => b.toString(16).padStart(2, '0')).join('') });
    }
  }
  return out;
})();`;

/** A page driven through Playwright (Chromium). */
class ChromiumSide {
  static async launch() {
    const browser = await launchBrowser();
    return { name: 'Chromium', version: browser.version(), open: async () => new ChromiumSide(await (await browser.newContext()).newPage()), close: () => browser.close() };
  }
  constructor(page) { this.page = page; }
  async goto(url) { await this.page.goto(url); }
  async offer(url, paths, { folder = false } = {}) {
    await this.goto(url);
    await this.page.waitForSelector('body[data-state="ready"]');
    await this.page.setInputFiles(folder ? '#folder-input' : '#file-input', paths);
    await this.page.waitForFunction(() => document.getElementById('share-link').value.includes('#'));
    return this.page.inputValue('#share-link');
  }
  async accept(link) {
    await this.goto(link);
    await this.page.waitForSelector('#accept:visible', { timeout: 30000 });
    await this.page.click('#accept');
  }
  async state() { return this.page.getAttribute('body', 'data-state'); }
  async attr(name) { return this.page.getAttribute('body', `data-${name}`); }
  async text(selector) { return this.page.textContent(selector); }
  async script(body) { return this.page.evaluate(new Function(body)); }
  /** Live JS heap plus ArrayBuffer backing stores of this page, after a forced collection. */
  async memory() {
    this.cdp ??= await this.page.context().newCDPSession(this.page);
    return { kind: 'page JS heap + buffers', bytes: await liveMemoryBytes(this.cdp) };
  }
  async close() { await this.page.context().close(); }
}

/** Resident memory of every process in a process group (Linux /proc), in bytes. */
async function groupRss(pgid) {
  let total = 0;
  for (const { pid, fields } of await processes()) {
    if (Number(fields[2]) === pgid) total += await rssBytes(pid);
  }
  return total;
}

/**
 * A headless Firefox ESR session through its own geckodriver (one serves one session at a
 * time), in geckodriver's process group: { driver, geckodriver } with `prefs` added.
 */
/** WebDriver capabilities for Debian's Firefox ESR, headless, with host candidates unhidden. */
export function firefoxCapabilities(prefs = {}) {
  return {
    browserName: 'firefox',
    'moz:firefoxOptions': {
      binary: '/usr/bin/firefox-esr',
      args: ['-headless'],
      prefs: { 'media.peerconnection.ice.obfuscate_host_addresses': false, ...prefs },
    },
  };
}

async function firefoxSession(prefs = {}) {
  const port = await freePort();
  const geckodriver = spawn('geckodriver', ['--port', String(port), '--log', 'fatal'], { stdio: 'ignore', detached: true });
  try {
    await waitForPort(port, 15000);
    const driver = await new Builder()
      .usingServer(`http://127.0.0.1:${port}`)
      .withCapabilities(firefoxCapabilities(prefs))
      .build();
    await driver.manage().setTimeouts({ script: 600000 });
    return { driver, geckodriver };
  } catch (e) {
    stopGroup(geckodriver);
    throw e;
  }
}

function stopGroup(child) {
  try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
}

/** Ends a Firefox session: leaving the page first, since WebDriver's quit hangs while a peer connection is open. */
async function closeFirefox({ driver, geckodriver }) {
  await driver.get('about:blank').catch(() => {});
  await driver.quit().catch(() => {});
  stopGroup(geckodriver);
}

/** A page driven through geckodriver (Firefox ESR from Debian). */
class FirefoxSide {
  static async launch() {
    const sides = [];
    const open = async () => {
      const { driver, geckodriver } = await firefoxSession();
      const side = new FirefoxSide(driver, geckodriver);
      sides.push(side);
      return side;
    };
    const probe = await open();
    const version = (await probe.driver.getCapabilities()).get('browserVersion');
    await probe.close();
    return {
      name: 'Firefox ESR',
      version,
      open,
      close: async () => { for (const s of sides) await s.close(); },
    };
  }
  constructor(driver, geckodriver) { this.driver = driver; this.geckodriver = geckodriver; this.closed = false; }
  async goto(url) { await this.driver.get(url); }
  async waitFor(condition, ms = 30000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await this.driver.executeScript(`return !!(${condition})`)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`Firefox: timed out waiting for ${condition}`);
  }
  async offer(url, paths) {
    await this.goto(url);
    await this.waitFor(`document.body.dataset.state === 'ready'`);
    await this.driver.findElement(By.id('file-input')).sendKeys(paths.join('\n'));
    await this.waitFor(`document.getElementById('share-link').value.includes('#')`);
    return this.driver.executeScript(`return document.getElementById('share-link').value`);
  }
  async accept(link) {
    await this.goto(link);
    await this.waitFor(`!document.getElementById('offer-actions').hidden`);
    await this.driver.findElement(By.id('accept')).click();
  }
  async state() { return this.driver.executeScript('return document.body.dataset.state'); }
  async attr(name) { return this.driver.executeScript(`return document.body.getAttribute('data-${name}')`); }
  async text(selector) { return this.driver.executeScript(`return document.querySelector('${selector}').textContent`); }
  async script(body) { return this.driver.executeScript(body); }
  /** Firefox exposes no per-page heap figure to scripts: the resident memory of this session's
   *  whole Firefox (its processes share geckodriver's process group) is what can be read. */
  async memory() {
    return { kind: 'Firefox processes RSS', bytes: await groupRss(this.geckodriver.pid) };
  }
  async close() {
    if (this.closed) return;
    this.closed = true;
    await closeFirefox(this);
  }
}

/**
 * Whether WebKitGTK can run WebRTC here: starts WebKitWebDriver and asks the page. Returns
 * { available, version, reason }.
 */
async function probeWebKit(url, ms = 20000) {
  if (!existsSync('/usr/bin/WebKitWebDriver')) {
    return { available: false, version: null, reason: 'WebKitWebDriver is not installed (apt-get install webkit2gtk-driver)' };
  }
  const port = await freePort();
  const wd = spawn('/usr/bin/WebKitWebDriver', [`--port=${port}`], { stdio: 'ignore', detached: true });
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ available: false, version: null, reason: `WebKitWebDriver did not bring up a browser within ${ms / 1000} s here (MiniBrowser needs a display this machine does not have)` }), ms);
  });
  try {
    return await Promise.race([probeWebKitUntimed(url, port), timeout]);
  } finally {
    clearTimeout(timer);
    // The driver and any browser it started live in their own process group.
    try { process.kill(-wd.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

async function probeWebKitUntimed(url, port) {
  try {
    await waitForPort(port, 15000);
    const driver = await new Builder()
      .usingServer(`http://127.0.0.1:${port}`)
      .withCapabilities({ browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser', args: ['--automation', '--headless'] } })
      .build();
    try {
      await driver.get(url);
      const kind = await driver.executeScript('return typeof RTCPeerConnection');
      const version = await driver.executeScript('return navigator.userAgent');
      return kind === 'undefined'
        ? { available: false, version, reason: `this WebKitGTK build has no WebRTC (typeof RTCPeerConnection is "${kind}")` }
        : { available: true, version, reason: null };
    } finally {
      await driver.quit().catch(() => {});
    }
  } catch (e) {
    return { available: false, version: null, reason: `WebKitWebDriver could not run a page here: ${String(e.message ?? e).split('\n')[0]}` };
  }
}

export { ChromiumSide, FirefoxSide, firefoxSession, closeFirefox, probeWebKit, HASH_RECEIVED };
