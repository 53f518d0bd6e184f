// The example app (examples/sveltekit-app): a real transfer between two Chromium pages through
// its send page, receive page and Kit signaling route, under `vite dev` and after `vite build`
// (adapter-node); then the conformance suite against the built app's route.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, startServer, launchBrowser, transfersIntact, transferToMany, sampleFiles, checkSame, checkStrictCsp } from './lib.mjs';

const app = fileURLToPath(new URL('../../examples/sveltekit-app/', import.meta.url));
const repo = fileURLToPath(new URL('../../', import.meta.url));
let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('vite dev: files go from the send page to the receive page intact, by link and by short code', { timeout: 120000 }, async () => {
  const port = await freePort();
  const srv = await startServer('npx', ['vite', 'dev', '--port', String(port), '--strictPort', '--host', '127.0.0.1'], { cwd: app, url: `http://127.0.0.1:${port}/` });
  try {
    await transfersIntact(browser, `http://127.0.0.1:${port}/`);
    // The same with a short code typed on the receive page instead of a link.
    await transfersIntact(browser, `http://127.0.0.1:${port}/`, {
      shortCode: { toggle: '[data-peerdrop="short-code"]', receiveUrl: `http://127.0.0.1:${port}/receive` },
    });
    assert.doesNotMatch(srv.output, /Error|failed/i, 'dev server logged no error');
  } finally {
    await srv.stop();
  }
});

test('vite build + adapter-node: transfer, then the route passes the conformance suite', { timeout: 240000 }, async () => {
  const b = spawnSync('npx', ['vite', 'build'], { cwd: app, encoding: 'utf8' });
  assert.equal(b.status, 0, b.stdout + b.stderr);
  const port = await freePort();
  const srv = await startServer('node', ['build'], { cwd: app, env: { PORT: String(port), HOST: '127.0.0.1' }, url: `http://127.0.0.1:${port}/` });
  try {
    await transfersIntact(browser, `http://127.0.0.1:${port}/`);
    // One link to three people through the Kit route: each gets every file, each row completes.
    const files = sampleFiles();
    const many = await transferToMany(browser, `http://127.0.0.1:${port}/`, files, 3);
    assert.equal(many.received.length, 3);
    for (const got of many.received) checkSame(files, got);
    assert.equal(many.rows.length, 3);
    assert.deepEqual(many.errors, [], 'no page errors');
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    checkStrictCsp(page.headers.get('content-security-policy') ?? '');
    const c = spawnSync('node', ['--test', '--test-concurrency=1', 'tests/conformance/'], {
      cwd: repo, encoding: 'utf8',
      env: { ...process.env, SIGNAL_URL: `http://127.0.0.1:${port}/api/peerdrop`, SIGNAL_STORAGE: 'memory' },
    });
    assert.equal(c.status, 0, `conformance against the Kit route failed:\n${c.stdout.split('\n').filter((l) => /^not ok|expected|actual|Error/.test(l)).join('\n')}`);
  } finally {
    await srv.stop();
  }
});
