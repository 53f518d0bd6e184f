// The SvelteKit 3 adopter, on Node 22 (Kit 3 needs >= 22.17; this machine's default is Node 20,
// so the binary comes from the npm registry through `npx -p node@22`, or $NODE22). `sv create`
// takes sv's own Kit 3 path (the experimental add-on: #lib subpath imports, $app/tsconfig,
// config in vite.config), pinned to the released 3.x as the `next` tag is gone; then `sv add
// @peerdrop` with default signaling, the packed tarball, and a transfer between two Chromium
// pages under `vite dev` and after `vite build` with adapter-node 6, each under the kit.csp
// policy with no 'unsafe-inline' script. Kit 3 reads environment variables only when declared
// (src/env.ts), so the built app must also honour PEERDROP_SECRET: two instances sharing it
// accept each other's tokens, one with another secret refuses them.
//   ADOPTER_KEEP=1 keeps the temp dir; NODE22=/path/to/node skips the npx lookup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  useAdopterWorkspace, freePort, startServer, transfersIntact, run, snapshot, node22,
  packSvelteKit, svCreate, svAddPeerDrop, servedCsp, checkStrictCsp, inlineScriptBlocked,
  KIT3_RANGE, inCaretRange,
} from './lib.mjs';

let tarball;
let node; // Node 22 binary
let env; // PATH with Node 22 first, so npm, npx and their scripts run on it
// node22() throws with the reason when no Node 22 can be had: every test then fails.
const ws = useAdopterWorkspace('peerdrop-kit3-', () => {
  node = node22();
  env = { PATH: `${dirname(node)}:${process.env.PATH}` };
});
const { tmp, app } = ws;


const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

test('Kit 3 app: sv create (Kit 3 path), sv add @peerdrop declares the secret in src/env.ts; twice changes nothing', () => {
  tarball = packSvelteKit(tmp).tarball;
  svCreate(tmp, 'app', ['sveltekit-adapter=adapter:node', 'experimental=versions:kit+features:none']);
  const pkg = readJson(join(app, 'package.json'));
  assert.equal(pkg.devDependencies['@sveltejs/kit'], 'next', 'sv wrote its Kit 3 specifier');
  pkg.devDependencies['@sveltejs/kit'] = KIT3_RANGE;
  pkg.devDependencies['@sveltejs/adapter-node'] = '^6.0.1';
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(pkg, null, '\t')}\n`);
  assert.match(readFileSync(join(app, 'src/routes/+layout.svelte'), 'utf8'), /#lib\//, 'Kit 3 template uses #lib');

  svAddPeerDrop(app, 'signaling:auto+store:memory+demo:yes+headers:yes', { env });
  const first = snapshot(app);
  const route = first['/src/routes/api/peerdrop/+server.ts'] ?? '';
  assert.match(route, /import \{ PEERDROP_SECRET \} from '\$app\/env\/private'/, 'Kit 3 route reads the declared variable');
  assert.doesNotMatch(route, /\$env\//, 'no deprecated $env module');
  assert.match(first['/src/env.ts'] ?? '', /defineEnvVars\(\{\s*PEERDROP_SECRET:/);
  assert.match(first['/vite.config.ts'], /csp: \{ mode: 'auto', directives: peerdropCsp\(\) \}/);
  assert.match(first['/src/hooks.server.ts'] ?? '', /peerdropHeaders\(\)/);
  assert.ok(!Object.values(first).some((c) => c.includes('$lib')), 'no $lib anywhere (removed in Kit 3)');
  svAddPeerDrop(app, 'signaling:auto+store:memory+demo:yes+headers:yes', { env });
  assert.deepEqual(snapshot(app), first, 'second run changed files');
});

test('Kit 3 on Node 22: install, vite dev transfers a file under the CSP', { timeout: 300000 }, async () => {
  assert.ok(tarball && existsSync(join(app, 'src/env.ts')), 'previous step ran');
  run('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app, env });
  const kit = readJson(join(app, 'node_modules/@sveltejs/kit/package.json')).version;
  const vite = readJson(join(app, 'node_modules/vite/package.json')).version;
  assert.match(kit, /^3\./, `installed @sveltejs/kit ${kit}`);
  assert.ok(inCaretRange(kit, KIT3_RANGE), `installed @sveltejs/kit ${kit} is outside ${KIT3_RANGE}`);
  assert.match(vite, /^8\./, `installed vite ${vite}`);
  run(node, ['node_modules/@sveltejs/kit/svelte-kit.js', 'sync'], { cwd: app, env });
  const port = await freePort();
  const srv = await startServer(node, ['node_modules/vite/bin/vite.js', 'dev', '--port', String(port), '--strictPort', '--host', '127.0.0.1'], {
    cwd: app, env, url: `http://127.0.0.1:${port}/`,
  });
  try {
    checkStrictCsp((await servedCsp(`http://127.0.0.1:${port}/peerdrop`)).header);
    await transfersIntact(ws.browser, `http://127.0.0.1:${port}/peerdrop`);
    assert.doesNotMatch(srv.output, /env_module_deprecated|\[peerdrop\]|Error/, 'dev server warned or failed');
  } finally {
    await srv.stop();
  }
});

test('Kit 3 on Node 22: vite build + adapter-node 6, transfer under the CSP, PEERDROP_SECRET honoured', { timeout: 300000 }, async () => {
  run(node, ['node_modules/vite/bin/vite.js', 'build'], { cwd: app, env });
  const secret = 'kit3-secret-0123456789abcdef0123456789';
  const start = async (s) => {
    const port = await freePort();
    const srv = await startServer(node, ['build'], {
      cwd: app, env: { ...env, PORT: String(port), HOST: '127.0.0.1', PEERDROP_SECRET: s }, url: `http://127.0.0.1:${port}/`,
    });
    return { srv, url: `http://127.0.0.1:${port}` };
  };
  const a = await start(secret);
  const b = await start(secret);
  const c = await start(`${secret}-other`);
  try {
    const page = await servedCsp(`${a.url}/peerdrop`);
    checkStrictCsp(page.header);
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(await inlineScriptBlocked(ws.browser, `${a.url}/peerdrop`), true, 'an injected inline script ran: the CSP is not enforced');
    await transfersIntact(ws.browser, `${a.url}/peerdrop`);

    // A token from instance a, sent to b (same secret) and c (another one). The rooms live in a's
    // memory, so b answers with a room error, but only c calls the token forged.
    const op = (url, body) => fetch(`${url}/api/peerdrop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ v: 1, ...body }) })
      .then(async (r) => ({ status: r.status, body: await r.json() }));
    const created = await op(a.url, { op: 'create', room: 'kit3SecretCheck_0123456789' });
    assert.equal(created.status, 201, JSON.stringify(created));
    const send = { op: 'send', token: created.body.token, seq: 1, type: 'bye', data: '' };
    const same = await op(b.url, send);
    const other = await op(c.url, send);
    assert.equal(other.status, 401, `another secret must refuse the token: ${JSON.stringify(other)}`);
    assert.notEqual(same.status, 401, `the same PEERDROP_SECRET must accept the token (the env var was ignored?): ${JSON.stringify(same)}`);
  } finally {
    await Promise.all([a.srv.stop(), b.srv.stop(), c.srv.stop()]);
  }
});
