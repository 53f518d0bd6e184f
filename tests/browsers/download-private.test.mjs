// The case the service-worker download sink exists for: a Firefox private window, where the
// origin-private file system is switched off (getDirectory() throws SecurityError) but service
// workers run. The plain example, unchanged, must pick the "download" sink on its own, and
// every file must land in Firefox's download folder with the sender's SHA-256.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firefoxSession, closeFirefox } from './drivers.mjs';
import { startSite, launchBrowser, offer, sha256 } from '../e2e/harness.mjs';

let site;
let chromium;
let dir;

before(async () => {
  site = await startSite();
  chromium = await launchBrowser();
  dir = await mkdtemp(join(tmpdir(), 'peerdrop-private-'));
});

after(async () => {
  await chromium?.close();
  site?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Firefox ESR in a private window that saves downloads into `downloads` without asking. */
async function privateFirefox(downloads) {
  const session = await firefoxSession({
    'browser.privatebrowsing.autostart': true,
    'browser.download.folderList': 2,
    'browser.download.dir': downloads,
    'browser.download.useDownloadDir': true,
    'browser.download.always_ask_before_handling_new_types': false,
  });
  return { driver: session.driver, close: () => closeFirefox(session) };
}

async function until(what, fn, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

test('Firefox private window: the example receives as downloads, each file intact', { timeout: 180000 }, async () => {
  const downloads = join(dir, 'downloads');
  const sources = join(dir, 'sources');
  await mkdir(downloads);
  await mkdir(sources);
  const files = {
    'twenty-mib-plus-1.bin': randomBytes(20 * 1024 * 1024 + 1),
    'ünï côdé (1).txt': randomBytes(70 * 1024 + 9),
    'empty.txt': Buffer.alloc(0),
  };
  for (const [name, data] of Object.entries(files)) await writeFile(join(sources, name), data);

  const sender = await (await chromium.newContext()).newPage();
  const firefox = await privateFirefox(downloads);
  try {
    const { driver } = firefox;
    const link = await offer(sender, site.url, Object.keys(files).map((n) => join(sources, n)));
    await driver.get(link);
    const js = (body) => driver.executeScript(body);
    // Only a private window lacks OPFS; make sure this one does, or the test proves nothing.
    const opfs = await driver.executeAsyncScript('const done = arguments[0]; navigator.storage.getDirectory().then(() => done("available"), (e) => done(e.name));');
    assert.equal(opfs, 'SecurityError', 'OPFS is off in a Firefox private window');
    await until('the offer', () => js(`return !document.getElementById('offer-actions').hidden || document.body.dataset.state === 'error'`), 30000);
    await js(`document.getElementById('accept').click()`);
    const state = await until('the end of the transfer', () => js(`const s = document.body.dataset.state; return s === 'complete' || s === 'error' ? s : null`), 120000);
    assert.equal(state, 'complete', await js(`return document.getElementById('error').textContent`));
    assert.equal(await js('return document.body.dataset.sink'), 'download');

    // Firefox writes a download under a temporary name and renames it when the stream ends.
    const expected = Object.keys(files).sort();
    await until('every download on disk', async () => {
      const names = (await readdir(downloads)).sort();
      if (JSON.stringify(names) !== JSON.stringify(expected)) return false;
      const sizes = await Promise.all(names.map(async (n) => (await stat(join(downloads, n))).size));
      return names.every((n, i) => sizes[i] === files[n].length);
    }, 30000).catch(async (e) => { throw new Error(`${e.message}; download folder holds ${JSON.stringify(await readdir(downloads))}`); });
    for (const [name, data] of Object.entries(files)) {
      assert.equal(sha256(await readFile(join(downloads, name))), sha256(data), `${name} SHA-256`);
    }
  } finally {
    await sender.context().close();
    await firefox.close();
  }
});
