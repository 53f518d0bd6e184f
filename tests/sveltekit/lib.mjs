// Shared helpers of the SvelteKit tests: processes, ports, Chromium, and a two-page transfer
// through an app's send page (DropZone/SharePanel) and receive page (ReceiveView).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CHROMIUM_ARGS, launchBrowser, sha256 } from '../e2e/harness.mjs';
import { freePort, waitForHttp } from '../support/net.mjs';

export { CHROMIUM_ARGS, launchBrowser, sha256, freePort };

/** Spawns a process in its own group; waits until `url` answers (any status). Returns { stop, output }. */
export async function startServer(cmd, args, { cwd, env = {}, url, timeoutMs = 60000 }) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  try {
    await waitForHttp(url, {
      timeoutMs,
      anyStatus: true,
      exited: () => exited !== null && `${cmd} ${args.join(' ')} exited (${exited})`,
      describe: () => output,
    });
  } catch (e) {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
    throw e;
  }
  return {
    get output() { return output; },
    stop() {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
      return new Promise((r) => { if (exited !== null) r(); else { child.on('exit', r); setTimeout(r, 3000); } });
    },
  };
}

/**
 * Sends `files` ([{name, mimeType, buffer}]) from `sendUrl` and receives them at the share link
 * in a second page; returns [{name, sha256, size}] of what arrived (downloads of the Save links).
 */
export async function transfer(browser, sendUrl, files, { timeoutMs = 60000, log = () => {} } = {}) {
  const ctxA = await browser.newContext({ acceptDownloads: true });
  const ctxB = await browser.newContext({ acceptDownloads: true });
  const errors = [];
  try {
    const a = await ctxA.newPage();
    const b = await ctxB.newPage();
    for (const [p, who] of [[a, 'sender'], [b, 'receiver']]) {
      p.on('pageerror', (e) => errors.push(`${who}: ${e.message}`));
      p.on('console', (m) => { if (m.type() === 'error') errors.push(`${who} console: ${m.text()}`); });
    }
    await a.goto(sendUrl);
    // Hydrated, and the wasm runtime loaded (under vite dev a first visit may reload once while
    // dependencies are optimised: wait for the page to settle).
    await a.waitForSelector('.peerdrop-dropzone[data-peerdrop-ready="true"]', { timeout: timeoutMs });
    await a.waitForLoadState('networkidle');
    await a.waitForSelector('.peerdrop-dropzone[data-peerdrop-ready="true"]', { timeout: timeoutMs });
    await a.setInputFiles('input[data-peerdrop-input="files"]', files);
    await a.waitForSelector('input.peerdrop-share-link', { timeout: timeoutMs });
    const link = await a.inputValue('input.peerdrop-share-link');
    log(`share link: ${link.replace(/#.*/, '#…')}`);
    if (!link.includes('#')) throw new Error(`no fragment in the share link ${link}`);
    const qr = await a.$('.peerdrop-qr svg');
    if (!qr) throw new Error('no QR code next to the link');
    await b.goto(link);
    await b.waitForSelector('[data-peerdrop="accept"]', { timeout: timeoutMs });
    if (new URL(b.url()).hash !== '') throw new Error('the receive page kept the secret in the address bar');
    await b.click('[data-peerdrop="accept"]');
    await b.waitForFunction((n) => document.querySelectorAll('a.peerdrop-save').length === n, files.length, { timeout: timeoutMs });
    await a.waitForSelector('.peerdrop-progress[data-phase="complete"]', { timeout: timeoutMs });
    const out = [];
    for (const link of await b.$$('a.peerdrop-save')) {
      const [download] = await Promise.all([b.waitForEvent('download'), link.click()]);
      const data = await readFile(await download.path());
      out.push({ name: download.suggestedFilename(), sha256: sha256(data), size: data.length });
    }
    return { received: out, errors };
  } catch (e) {
    e.message += `\npage errors: ${errors.join('\n') || 'none'}`;
    throw e;
  } finally {
    await ctxA.close();
    await ctxB.close();
  }
}

/** Two random files (one over a block boundary) to send. */
export function sampleFiles() {
  return [
    { name: 'photo.bin', mimeType: 'application/octet-stream', buffer: randomBytes(3 * 1024 * 1024 + 123) },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('PeerDrop through SvelteKit\n'.repeat(100)) },
  ];
}

/** Throws unless every sent file arrived with the same SHA-256. */
export function checkSame(sent, received) {
  const want = sent.map((f) => `${f.name} ${sha256(f.buffer)}`).sort();
  const got = received.map((f) => `${f.name} ${f.sha256}`).sort();
  if (JSON.stringify(want) !== JSON.stringify(got)) {
    throw new Error(`files differ:\n sent     ${want.join('\n          ')}\n received ${got.join('\n          ')}`);
  }
}
