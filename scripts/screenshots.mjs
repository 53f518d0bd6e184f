// Screenshots of the finished demo pages, light and dark, for docs/sveltekit.md: the SvelteKit
// example app (vite dev; the same components the add-on's demo pages use) and the plain page
// (scripts/serve-site), each after a real transfer between two Chromium pages.
//   node scripts/screenshots.mjs      writes docs/img/*.png (needs pkg/, and npm ci in
//                                     sveltekit-addon/ and examples/sveltekit-app/)
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, startSite } from '../tests/e2e/harness.mjs';
import { freePort } from '../tests/support/net.mjs';
import { startServer } from '../tests/sveltekit/lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'docs/img');
mkdirSync(out, { recursive: true });
const files = [{ name: 'holiday-photos.zip', mimeType: 'application/zip', buffer: randomBytes(3 * 1024 * 1024 + 17) }];
const viewport = { width: 760, height: 900 };

/** Sends `files` from sendUrl to the link it shows; `sel` names the page's elements. Returns the two pages. */
async function transfer(browser, colorScheme, sendUrl, sel) {
  const a = await (await browser.newContext({ colorScheme, viewport })).newPage();
  const b = await (await browser.newContext({ colorScheme, viewport })).newPage();
  await a.goto(sendUrl);
  if (sel.ready) await a.waitForSelector(sel.ready, { timeout: 60000 });
  await a.setInputFiles(sel.fileInput, files);
  await a.waitForFunction((s) => document.querySelector(s)?.value.includes('#'), sel.link, { timeout: 60000 });
  const link = await a.inputValue(sel.link);
  await a.waitForTimeout(300);
  const shareShot = await a.screenshot({ fullPage: true });
  await b.goto(link);
  await b.click(sel.accept, { timeout: 60000 });
  await b.waitForSelector(sel.saved, { timeout: 60000 });
  await a.waitForSelector(sel.senderDone, { timeout: 60000 });
  await b.waitForTimeout(300);
  return { a, b, shareShot };
}

const browser = await launchBrowser();
const stops = [];
try {
  // SvelteKit example app under vite dev.
  const port = await freePort();
  const kit = await startServer('npx', ['vite', 'dev', '--port', String(port), '--strictPort', '--host', '127.0.0.1'], {
    cwd: join(root, 'examples/sveltekit-app'), url: `http://127.0.0.1:${port}/`,
  });
  stops.push(() => kit.stop());
  for (const scheme of ['light', 'dark']) {
    const { b, shareShot } = await transfer(browser, scheme, `http://127.0.0.1:${port}/`, {
      ready: '.peerdrop-dropzone[data-peerdrop-ready="true"]', fileInput: 'input[data-peerdrop-input="files"]',
      link: 'input.peerdrop-share-link', accept: '[data-peerdrop="accept"]', saved: 'a.peerdrop-save',
      senderDone: '.peerdrop-progress[data-phase="complete"]',
    });
    await import('node:fs/promises').then((fs) => fs.writeFile(join(out, `sveltekit-send-${scheme}.png`), shareShot));
    await b.screenshot({ path: join(out, `sveltekit-receive-${scheme}.png`), fullPage: true });
  }
  // The plain page (make demo).
  const site = await startSite();
  stops.push(() => site.stop());
  for (const scheme of ['light', 'dark']) {
    const { b, shareShot } = await transfer(browser, scheme, site.url, {
      fileInput: '#file-input', link: '#share-link', accept: '#accept:visible', saved: 'a.save', senderDone: 'body[data-state="complete"]',
    });
    await import('node:fs/promises').then((fs) => fs.writeFile(join(out, `plain-send-${scheme}.png`), shareShot));
    await b.screenshot({ path: join(out, `plain-receive-${scheme}.png`), fullPage: true });
  }
} finally {
  for (const stop of stops.reverse()) await stop();
  await browser.close();
}
console.log(`screenshots in ${out}`);
