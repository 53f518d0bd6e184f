// Shared helpers of the SvelteKit tests: processes, ports, Chromium, a two-page transfer
// through an app's send page (DropZone/SharePanel) and receive page (ReceiveView), the adopter
// steps (npm pack, sv create, sv add) and the CSP checks.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { before, after } from 'node:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS, launchBrowser, sha256 } from '../e2e/harness.mjs';
import { freePort, waitForHttp } from '../support/net.mjs';

export { CHROMIUM_ARGS, launchBrowser, sha256, freePort };

/** The Kit 3 line adopter-kit3.test.mjs installs; package-meta.test.mjs holds the Kit peer floor to it. */
export const KIT3_RANGE = '^3.2.0';

/** [major, minor, patch] of "1.2.3" (a prerelease tag ignored). */
export const versionParts = (v) => v.replace(/^[\^~=v]+/, '').split(/[-+]/)[0].split('.').map(Number);

/** Whether `version` is within `range`, a union of caret ranges ("^2.70.0 || ^3.2.0"), the only form the peers use. */
export function inCaretRange(version, range) {
  const [maj, min, pat] = versionParts(version);
  return range.split('||').some((alt) => {
    const [fMaj, fMin, fPat] = versionParts(alt.trim());
    if (!alt.trim().startsWith('^') || maj !== fMaj) return false;
    return min > fMin || (min === fMin && pat >= fPat);
  });
}

export const addonRoot = fileURLToPath(new URL('../../sveltekit-addon/', import.meta.url));
export const svBin = join(addonRoot, 'node_modules/sv/dist/bin.mjs');
const addonDir = join(addonRoot, 'packages/sv');

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

/** spawnSync that fails the test with the command's output; CI=1 keeps sv and npm non-interactive. */
export function run(cmd, args, { cwd, env = {}, timeoutMs = 300000 } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd, timeout: timeoutMs, env: { ...process.env, CI: '1', ...env } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.error?.message ?? `status ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Every file of an app (not node_modules, .svelte-kit, build): { '/path': content }. */
export function snapshot(dir) {
  const out = {};
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      if (n === 'node_modules' || n === '.svelte-kit' || n === 'build') continue;
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out[p.slice(dir.length)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

/** `npm pack` of @peerdrop/sveltekit (its prepack builds it) into dest: { tarball, files }. */
export function packSvelteKit(dest) {
  const out = run('npm', ['pack', '--json', '--pack-destination', dest], { cwd: join(addonRoot, 'packages/sveltekit') });
  const info = JSON.parse(out.slice(out.lastIndexOf('[\n  {')))[0];
  return { tarball: join(dest, info.filename), files: info.files.map((f) => f.path) };
}

/** `sv create` of a minimal app (TypeScript; plain JavaScript with `types: false`), offline; `adds` are extra --add entries. */
export function svCreate(parent, name, adds, { env, types = true } = {}) {
  run('node', [svBin, 'create', name, '--template', 'minimal', ...(types ? ['--types', 'ts'] : ['--no-types']), '--add', ...adds, '--no-install'], { cwd: parent, env });
  return join(parent, name);
}

let addonBuilt = false;
/** Builds @peerdrop/sv once per process; returns its folder. */
export function buildAddon() {
  if (!addonBuilt) {
    run('npm', ['run', 'build'], { cwd: addonDir });
    addonBuilt = true;
  }
  return addonDir;
}

/**
 * Where sv links a `file:` add-on (its own node_modules). sv 0.17 replaces that link only when
 * it resolves, so a link left to an unpacked copy since deleted fails the next run with EEXIST.
 */
const svAddonLink = join(addonRoot, 'node_modules/node_modules/@peerdrop/sv');

/** Runs `sv add file:<dir>=<options>` in app (dir: the built add-on unless given). */
export function svAddPeerDrop(app, options, { env, dir = buildAddon() } = {}) {
  rmSync(svAddonLink, { force: true });
  return run('node', [svBin, 'add', `file:${dir}=${options}`, '--cwd', app, '--no-git-check', '--no-install', '--no-download-check'], { env });
}

/**
 * A Node >= 22.17 binary for SvelteKit 3: $NODE22, or the one `npx -p node@22` fetches from the
 * npm registry (cached by npx after the first time). Throws, saying why, when there is none.
 */
export function node22() {
  let path = process.env.NODE22;
  if (!path) {
    const r = spawnSync('npx', ['-y', '-p', 'node@22', 'node', '-p', 'process.execPath'], { encoding: 'utf8', timeout: 300000, env: { ...process.env, CI: '1' } });
    if (r.status !== 0) throw new Error(`SvelteKit 3 needs Node >= 22.17 and \`npx -p node@22\` could not provide one:\n${r.stderr || r.error}`);
    path = r.stdout.trim().split('\n').pop();
  }
  const v = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const [major, minor] = v.split('.').map(Number);
  if (!(major > 22 || (major === 22 && minor >= 17))) throw new Error(`${path} is Node ${v || '(not runnable)'}; SvelteKit 3 needs >= 22.17`);
  return path;
}

/** The Content-Security-Policy a page is served with: the header, else Kit's <meta> tag. */
export async function servedCsp(url) {
  const r = await fetch(url);
  const html = await r.text();
  const header = r.headers.get('content-security-policy');
  const meta = html.match(/<meta http-equiv="content-security-policy" content="([^"]*)"/i)?.[1]?.replaceAll('&#39;', "'").replaceAll('&quot;', '"');
  return { header, meta, html, headers: r.headers, policy: header ?? meta ?? null };
}

/**
 * Throws unless `policy` keeps inline scripts out: a script-src without 'unsafe-inline' but with
 * 'wasm-unsafe-eval' and Kit's hash or nonce for its hydration script; connect-src 'self' and any
 * `connect` sources. Returns the script-src sources.
 */
export function checkStrictCsp(policy, { connect = [] } = {}) {
  assert.ok(policy, 'the page has no Content-Security-Policy');
  const directives = Object.fromEntries(policy.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k.toLowerCase(), v]));
  const script = directives['script-src'] ?? directives['default-src'];
  assert.ok(script, `no script-src in ${policy}`);
  assert.ok(!script.includes("'unsafe-inline'"), `script-src allows 'unsafe-inline': ${policy}`);
  assert.ok(script.includes("'wasm-unsafe-eval'"), `script-src lacks 'wasm-unsafe-eval': ${policy}`);
  assert.ok(script.some((s) => /^'(sha256-|nonce-)/.test(s)), `script-src has no hash or nonce for Kit's inline script: ${policy}`);
  for (const src of ["'self'", ...connect]) assert.ok(directives['connect-src']?.includes(src), `connect-src lacks ${src}: ${policy}`);
  // The OPFS worker starts from a blob: URL (load.ts).
  assert.ok((directives['worker-src'] ?? directives['script-src'] ?? []).includes('blob:'), `worker-src lacks blob: ${policy}`);
  return script;
}

/** Whether the page at `url` refuses an inline script injected after load (its CSP is enforced). */
export async function inlineScriptBlocked(browser, url) {
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    await page.goto(url);
    return await page.evaluate(() => new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective.startsWith('script-src')), { once: true });
      const s = document.createElement('script');
      s.textContent = 'window.__peerdropInline = true';
      document.head.append(s);
      setTimeout(() => resolve(window.__peerdropInline !== true && 'no violation event'), 2000);
    }));
  } finally {
    await ctx.close();
  }
}

/**
 * Sends `files` ([{name, mimeType, buffer}]) from `sendUrl` and receives them at the share link
 * in a second page; returns [{name, sha256, size}] of what arrived (downloads of the Save links).
 */
export async function transfer(browser, sendUrl, files, { timeoutMs = 60000, log = () => {}, shortCode = null } = {}) {
  const ctxA = await browser.newContext({ acceptDownloads: true });
  const ctxB = await browser.newContext({ acceptDownloads: true });
  const errors = [];
  try {
    const a = await ctxA.newPage();
    const b = await ctxB.newPage();
    for (const [p, who] of [[a, 'sender'], [b, 'receiver']]) {
      p.on('pageerror', (e) => errors.push(`${who}: ${e.message}`));
      p.on('console', (m) => { if (m.type() === 'error') errors.push(`${who} console: ${m.text()}`); });
      // Every CSP violation (blocked script, worker, wasm compile, fetch) counts as an error.
      await p.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline code'}`);
      }));
    }
    await a.goto(sendUrl);
    // Hydrated, and the wasm runtime loaded (under vite dev a first visit may reload once while
    // dependencies are optimised: wait for the page to settle).
    await a.waitForSelector('.peerdrop-dropzone[data-peerdrop-ready="true"]', { timeout: timeoutMs });
    await a.waitForLoadState('networkidle');
    await a.waitForSelector('.peerdrop-dropzone[data-peerdrop-ready="true"]', { timeout: timeoutMs });
    if (shortCode) {
      // { toggle: the page's "short code" checkbox, receiveUrl: where the receiver types it }
      await a.check(shortCode.toggle);
      await a.setInputFiles('input[data-peerdrop-input="files"]', files);
      const code = (await (await a.waitForSelector('[data-peerdrop="code"]', { timeout: timeoutMs })).textContent()).trim();
      log(`short code: ${code}`);
      if (!/^\d+-[a-z]+-[a-z]+$/.test(code)) throw new Error(`not a short code: ${code}`);
      if (await a.$('input.peerdrop-share-link')) throw new Error('a link is shown in short-code mode');
      await b.goto(shortCode.receiveUrl);
      await b.fill('[data-peerdrop="code-input"]', code);
      await b.click('[data-peerdrop="code-submit"]');
    } else {
      await a.setInputFiles('input[data-peerdrop-input="files"]', files);
      await a.waitForSelector('input.peerdrop-share-link', { timeout: timeoutMs });
      const link = await a.inputValue('input.peerdrop-share-link');
      log(`share link: ${link.replace(/#.*/, '#…')}`);
      if (!link.includes('#')) throw new Error(`no fragment in the share link ${link}`);
      const qr = await a.$('.peerdrop-qr svg');
      if (!qr) throw new Error('no QR code next to the link');
      await b.goto(link);
    }
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

/**
 * Offers `files` from `sendUrl` to `count` people at once (the page's "how many" input, then
 * PeerDropSend's list), each receiving at the one link in a page of its own; returns what each
 * received ([[{name, sha256, size}]]) once every row of the sender's list says complete.
 */
export async function transferToMany(browser, sendUrl, files, count, { timeoutMs = 90000 } = {}) {
  const contexts = [];
  const errors = [];
  const page = async (who) => {
    const ctx = await browser.newContext({ acceptDownloads: true });
    contexts.push(ctx);
    const p = await ctx.newPage();
    p.on('pageerror', (e) => errors.push(`${who}: ${e.message}`));
    p.on('console', (m) => { if (m.type() === 'error') errors.push(`${who} console: ${m.text()}`); });
    return p;
  };
  try {
    const a = await page('sender');
    await a.goto(sendUrl);
    await a.waitForSelector('.peerdrop-dropzone[data-peerdrop-ready="true"]', { timeout: timeoutMs });
    await a.waitForLoadState('networkidle');
    await a.check('.receivers-choice input[type="checkbox"]');
    await a.fill('.receivers-choice input[type="number"]', String(count));
    await a.setInputFiles('input[data-peerdrop-input="files"]', files);
    await a.waitForSelector('input.peerdrop-share-link', { timeout: timeoutMs });
    const link = await a.inputValue('input.peerdrop-share-link');
    const receivers = [];
    for (let i = 0; i < count; i++) {
      const b = await page(`receiver ${i + 1}`);
      await b.goto(link);
      await b.waitForSelector('[data-peerdrop="accept"]', { timeout: timeoutMs });
      await b.click('[data-peerdrop="accept"]');
      receivers.push(b);
    }
    for (const b of receivers) {
      await b.waitForFunction((n) => document.querySelectorAll('a.peerdrop-save').length === n, files.length, { timeout: timeoutMs });
    }
    await a.waitForFunction((n) => document.querySelectorAll('.peerdrop-receiver[data-phase="complete"]').length === n, count, { timeout: timeoutMs });
    const received = [];
    for (const b of receivers) {
      const out = [];
      for (const save of await b.$$('a.peerdrop-save')) {
        const [download] = await Promise.all([b.waitForEvent('download'), save.click()]);
        const data = await readFile(await download.path());
        out.push({ name: download.suggestedFilename(), sha256: sha256(data), size: data.length });
      }
      received.push(out);
    }
    return { received, errors, rows: await a.$$eval('.peerdrop-receiver', (rows) => rows.map((r) => r.textContent)) };
  } catch (e) {
    e.message += `\npage errors: ${errors.join('\n') || 'none'}`;
    throw e;
  } finally {
    for (const ctx of contexts) await ctx.close();
  }
}

/** Sends sampleFiles() from `sendUrl` (see transfer) and fails unless each arrived intact with no page error. */
export async function transfersIntact(browser, sendUrl, options) {
  const files = sampleFiles();
  const { received, errors } = await transfer(browser, sendUrl, files, options);
  checkSame(files, received);
  assert.deepEqual(errors, [], 'no page errors');
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

/**
 * Registers the before/after hooks every adopter test file needs: a temp dir with `app` in it
 * (kept with ADOPTER_KEEP=1) and one Chromium. `setup` runs first in `before` (e.g. finding
 * Node 22). Returns a holder whose `browser` is set once the hooks ran.
 */
export function useAdopterWorkspace(prefix, setup = () => {}) {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  const ws = { tmp, app: join(tmp, 'app'), browser: null };
  before(async () => {
    await setup();
    ws.browser = await launchBrowser();
  });
  after(async () => {
    await ws.browser?.close();
    if (!process.env.ADOPTER_KEEP) rmSync(tmp, { recursive: true, force: true });
  });
  return ws;
}
