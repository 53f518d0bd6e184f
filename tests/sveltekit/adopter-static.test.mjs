// The adapter-static adopter: `sv create` a fresh app with adapter-static, `sv add @peerdrop`
// with its default signaling (auto, which must pick the PHP drop-in here), install the packed
// tarball, `npm run build` (its prebuild copies signal.php into static/), then deploy the way
// docs/operations/deploy-sveltekit.md says: the build as the web root of a PHP host with
// signal.php in it, the config and data dir outside it, `php signal.php check` passing. Here the
// host is `php -S` (4 workers) with tests/sveltekit/static-router.php, which only maps /peerdrop
// to peerdrop.html as a host's rewrite would and adds no header: the CSP (no 'unsafe-inline'
// script) and the referrer policy must come from the built pages' <meta> tags. Two Chromium
// pages then transfer files through signal.php with no CSP violation.
//   ADOPTER_KEEP=1 keeps the temp dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  useAdopterWorkspace, addonRoot, freePort, startServer, transfersIntact, run, snapshot,
  packSvelteKit, svCreate, svAddPeerDrop, servedCsp, checkStrictCsp, inlineScriptBlocked,
} from './lib.mjs';

const router = fileURLToPath(new URL('./static-router.php', import.meta.url));
const ws = useAdopterWorkspace('peerdrop-static-');
const { tmp, app } = ws;
let tarball;

test('adapter-static: sv add picks signal.php by default, writes CSP and referrer for a static host; twice changes nothing', () => {
  tarball = packSvelteKit(tmp).tarball;
  svCreate(tmp, 'app', ['sveltekit-adapter=adapter:static']);
  // adapter-static's own requirement: every page prerendered (Kit docs, adapter-static).
  writeFileSync(join(app, 'src/routes/+layout.ts'), 'export const prerender = true;\n');
  const spec = 'signaling:auto+demo:yes+headers:yes';
  svAddPeerDrop(app, spec);
  const first = snapshot(app);
  const pkg = JSON.parse(first['/package.json']);
  assert.match(pkg.scripts['peerdrop:php'] ?? '', /@peerdrop\/sveltekit\/signal\.php/, 'PHP signaling chosen: a script copies signal.php');
  assert.equal(pkg.scripts.prebuild, 'npm run peerdrop:php');
  assert.ok(!Object.keys(first).some((f) => f.endsWith('+server.ts')), 'no +server route on a static site');
  assert.ok(!first['/src/hooks.server.ts'], 'no hooks.server: no server sends headers for a static site');
  assert.match(first['/src/routes/peerdrop/+layout.svelte'], /signalUrl: asset\('\/signal\.php' as Asset\)/, 'the demo pages signal through signal.php (under paths.base)');
  assert.match(first['/src/routes/peerdrop/+layout.ts'] ?? '', /prerender = true/);
  assert.match(first['/src/app.html'], /<meta name="referrer" content="no-referrer" \/>\s*%sveltekit\.head%/);
  assert.match(first['/vite.config.ts'], /csp: \{ mode: 'auto', directives: peerdropCsp\(\) \}/);
  assert.match(first['/.gitignore'], /static\/signal\.php/);
  svAddPeerDrop(app, spec);
  assert.deepEqual(snapshot(app), first, 'second run changed files');
});

test('npm run build, deploy to php -S: transfer through signal.php under the <meta> CSP', { timeout: 240000 }, async () => {
  assert.ok(tarball && existsSync(join(app, 'package.json')), 'previous steps ran');
  run('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app });
  run('npm', ['run', 'build'], { cwd: app });
  const web = join(app, 'build');
  assert.equal(readFileSync(join(web, 'signal.php'), 'utf8'), readFileSync(join(addonRoot, 'packages/sveltekit/signal.php'), 'utf8'), 'build/signal.php is the package copy');
  assert.ok(existsSync(join(web, 'peerdrop.html')) && existsSync(join(web, 'peerdrop/receive.html')), 'demo pages prerendered');

  // The operator's part (deploy-php.md): config beside the web root, found without any setting.
  // Both test browsers share 127.0.0.1, so the per-address rate limit and quotas are off; php -S can queue a
  // request behind a worker holding a poll, so polls are short (as scripts/serve-site does).
  writeFileSync(join(app, 'peerdrop.config.php'), `<?php
return array(
    'secret' => '${'a1b2c3d4'.repeat(8)}',
    'poll_slots' => 0,
    'poll_interval_ms' => 250,
    'rate_limit_per_minute' => 0,
    'quota_rooms' => 0,
    'quota_creates_per_minute' => 0,
    'quota_failed_joins' => 0,
);
`);
  run('php', [join(web, 'signal.php'), 'check', web], { cwd: app });

  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const srv = await startServer('php', ['-S', `127.0.0.1:${port}`, '-t', web, router], {
    cwd: app, env: { PHP_CLI_SERVER_WORKERS: '4' }, url: `${origin}/signal.php`,
  });
  try {
    const health = await (await fetch(`${origin}/signal.php`)).json();
    assert.equal(health.ok, true, JSON.stringify(health));
    for (const path of ['/peerdrop', '/peerdrop/receive']) {
      const page = await servedCsp(`${origin}${path}`);
      assert.equal(page.header, null, 'this host sends no CSP header: the policy is the page\'s own');
      checkStrictCsp(page.meta);
      assert.match(page.html, /<meta name="referrer" content="no-referrer"/);
    }
    assert.equal(await inlineScriptBlocked(ws.browser, `${origin}/peerdrop`), true, 'an injected inline script ran: the <meta> CSP is not enforced');
    await transfersIntact(ws.browser, `${origin}/peerdrop`);
    assert.match(srv.output, /POST \/signal\.php/, 'signaling went through signal.php');
    assert.ok(existsSync(join(app, 'peerdrop-data/peerdrop.sqlite')), 'signal.php kept its data outside the web root');
  } finally {
    await srv.stop();
  }
});
