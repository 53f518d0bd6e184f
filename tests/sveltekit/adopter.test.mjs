// What an adopter does: `sv create` a fresh app, `sv add` the PeerDrop add-on (file:), install
// the packed tarballs, then transfer a file between two Chromium pages through the generated
// demo pages and signaling route, under `vite dev` and after `vite build` with adapter-node.
// Also: the add-on is idempotent, and the tarball ships the .wasm.
//   ADOPTER_KEEP=1 keeps the temp dir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startServer, launchBrowser, transfer, sampleFiles, checkSame } from './lib.mjs';

const addonRoot = fileURLToPath(new URL('../../sveltekit-addon/', import.meta.url));
const svBin = join(addonRoot, 'node_modules/sv/dist/bin.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'peerdrop-adopter-'));
const app = join(tmp, 'app');
let browser;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: app, ...opts, env: { ...process.env, CI: '1', ...opts.env } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function snapshot(dir) {
  const out = {};
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      if (n === 'node_modules' || n === '.svelte-kit') continue;
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out[p.slice(dir.length)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

let tarball;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  if (!process.env.ADOPTER_KEEP) rmSync(tmp, { recursive: true, force: true });
});

test('npm pack: the tarball lists the .wasm, the worker, signal.php and the server entry', () => {
  const out = run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: join(addonRoot, 'packages/sveltekit') });
  const info = JSON.parse(out.slice(out.lastIndexOf('[\n  {')))[0];
  const files = info.files.map((f) => f.path);
  tarball = join(tmp, info.filename);
  for (const want of ['dist/runtime/wasm/peerdrop_bg.wasm', 'dist/runtime/wasm/peerdrop.js', 'signal.php', 'dist/signaling/index.js', 'dist/index.js']) {
    assert.ok(files.includes(want), `${want} missing from the tarball`);
  }
  assert.ok(files.some((f) => /snippets\/.*\/opfs\.js$/.test(f)), 'OPFS worker missing');
});

test('sv create + sv add @peerdrop (file:), twice: the second run changes nothing', () => {
  run('node', [svBin, 'create', 'app', '--template', 'minimal', '--types', 'ts', '--add', 'sveltekit-adapter=adapter:node', '--no-install'], { cwd: tmp });
  const addonDir = join(addonRoot, 'packages/sv');
  run('npm', ['run', 'build'], { cwd: addonDir });
  const spec = `file:${addonDir}=signaling:kit+route:/api/peerdrop+demo:yes+headers:yes`;
  run('node', [svBin, 'add', spec, '--cwd', app, '--no-git-check', '--no-install', '--no-download-check']);
  const first = snapshot(app);
  assert.match(first['/src/routes/api/peerdrop/+server.ts'] ?? '', /createSignalingHandler/);
  assert.match(first['/src/hooks.server.ts'] ?? '', /peerdropHeaders/);
  assert.ok(first['/src/routes/peerdrop/+page.svelte'], 'demo send page');
  assert.ok(first['/src/routes/peerdrop/receive/+page.svelte'], 'demo receive page');
  assert.match(first['/package.json'], /@peerdrop\/sveltekit/);
  run('node', [svBin, 'add', spec, '--cwd', app, '--no-git-check', '--no-install', '--no-download-check']);
  assert.deepEqual(snapshot(app), first, 'second run changed files');
});

test('install the tarball; vite dev transfers a file through the generated route', { timeout: 240000 }, async () => {
  assert.ok(tarball && existsSync(join(app, 'package.json')), 'previous steps ran');
  run('npm', ['install', '--no-audit', '--no-fund', tarball]);
  run('npx', ['svelte-kit', 'sync']);
  const port = await freePort();
  const srv = await startServer('npx', ['vite', 'dev', '--port', String(port), '--strictPort', '--host', '127.0.0.1'], { cwd: app, url: `http://127.0.0.1:${port}/` });
  try {
    const files = sampleFiles();
    const { received, errors } = await transfer(browser, `http://127.0.0.1:${port}/peerdrop`, files);
    checkSame(files, received);
    assert.deepEqual(errors, []);
  } finally {
    await srv.stop();
  }
});

test('vite build (adapter-node): transfer through the built app', { timeout: 240000 }, async () => {
  run('npx', ['vite', 'build']);
  const port = await freePort();
  const srv = await startServer('node', ['build'], { cwd: app, env: { PORT: String(port), HOST: '127.0.0.1' }, url: `http://127.0.0.1:${port}/` });
  try {
    const files = sampleFiles();
    const { received, errors } = await transfer(browser, `http://127.0.0.1:${port}/peerdrop`, files);
    checkSame(files, received);
    assert.deepEqual(errors, []);
    const r = await fetch(`http://127.0.0.1:${port}/peerdrop`);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    const health = await (await fetch(`http://127.0.0.1:${port}/api/peerdrop`)).json();
    assert.equal(health.ok, true);
  } finally {
    await srv.stop();
  }
});
