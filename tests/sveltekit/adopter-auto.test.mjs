// adapter-auto, as `sv create` gives it: the add-on with `store:rest` (the default it offers for
// serverless targets) writes a route on the Redis REST store (Upstash protocol). Under `vite dev`,
// with UPSTASH_REDIS_REST_URL/_TOKEN pointing at tests/support/redis-rest-bridge.mjs in front of
// a private redis-server (a stand-in for Upstash, which is not reachable here), a file goes
// between two Chromium pages, and a second instance (another handler on the same store, as a
// serverless host would start) joins a room the app created: the rooms are shared, not in memory.
// adapter-auto builds nothing runnable off its platforms, so no build is served here. The app
// has `paths.base` (/app): the demo pages, their links and the signaling URL must follow it.
//   ADOPTER_KEEP=1 keeps the temp dir. Needs redis-server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  useAdopterWorkspace, freePort, startServer, transfersIntact, run, packSvelteKit, svCreate, svAddPeerDrop,
  servedCsp, checkStrictCsp,
} from './lib.mjs';

const ws = useAdopterWorkspace('peerdrop-auto-');
const { tmp, app } = ws;
const TOKEN = 'bridge-token-auto-0123456789';
const SECRET = 'auto-secret-0123456789abcdef0123456789';
/** kit.paths.base of the app. */
const BASE = '/app';
const stops = [];
after(async () => { for (const stop of stops.reverse()) await stop(); });

/** A process in its own group, stopped after the tests. */
function background(cmd, args) {
  const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
  stops.push(() => { try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ } });
  return child;
}

/** redis-server on a free port and the REST bridge before it: the REST URL. */
async function redisRest() {
  if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('redis-server is missing: apt-get install -y redis-server');
  const rport = await freePort();
  background('redis-server', ['--port', String(rport), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp]);
  for (let i = 0; i < 50 && spawnSync('redis-cli', ['-p', String(rport), 'ping']).stdout?.toString().trim() !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 100));
  const bport = await freePort();
  const bridge = new URL('../support/redis-rest-bridge.mjs', import.meta.url).pathname;
  const srv = await startServer('node', [bridge, `redis://127.0.0.1:${rport}`, String(bport), TOKEN], { url: `http://127.0.0.1:${bport}/` });
  stops.push(() => srv.stop());
  return `http://127.0.0.1:${bport}/`;
}

let tarball;
test('adapter-auto app: npm install the tarball, sv add with store:rest writes the REST store route', { timeout: 240000 }, () => {
  tarball = packSvelteKit(tmp).tarball;
  svCreate(tmp, 'app', ['sveltekit-adapter=adapter:auto']);
  const config = join(app, 'vite.config.ts');
  const withBase = readFileSync(config, 'utf8').replace('adapter: adapter()', `adapter: adapter(),\n\t\t\tpaths: { base: '${BASE}' }`);
  assert.match(withBase, /paths: \{ base: '\/app' \}/, 'vite.config has paths.base');
  writeFileSync(config, withBase);
  run('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app });
  svAddPeerDrop(app, 'signaling:auto+store:rest+demo:yes+headers:yes');
  const route = readFileSync(join(app, 'src/routes/api/peerdrop/+server.ts'), 'utf8');
  assert.match(route, /createRedisRestStore\(/);
});

test('adapter-auto under vite dev: transfer through the REST store; another instance sees the rooms', { timeout: 300000 }, async () => {
  assert.ok(tarball && existsSync(join(app, 'src/routes/api/peerdrop/+server.ts')), 'previous step ran');
  const restUrl = await redisRest();
  const env = { UPSTASH_REDIS_REST_URL: restUrl, UPSTASH_REDIS_REST_TOKEN: TOKEN, PEERDROP_SECRET: SECRET };
  run('npx', ['svelte-kit', 'sync'], { cwd: app });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}${BASE}`;
  const srv = await startServer('npx', ['vite', 'dev', '--port', String(port), '--strictPort', '--host', '127.0.0.1'], { cwd: app, env, url: `${base}/` });
  try {
    const health = await (await fetch(`${base}/api/peerdrop`)).json();
    assert.equal(health.storage, 'redis', `health: ${JSON.stringify(health)}`);
    checkStrictCsp((await servedCsp(`${base}/peerdrop`)).header);
    await transfersIntact(ws.browser, `${base}/peerdrop`);

    // A second instance: the app's own package, another handler on the same REST store.
    const server = await import(pathToFileURL(join(app, 'node_modules/@peerdrop/sveltekit/dist/signaling/index.js')).href);
    const other = server.createSignalingHandler({ secret: SECRET, store: server.createRedisRestStore({ url: restUrl, token: TOKEN }) });
    const room = 'autoSharedRoom_0123456789';
    const created = await fetch(`${base}/api/peerdrop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ v: 1, op: 'create', room }) });
    assert.equal(created.status, 201, await created.clone().text());
    const joined = await other.handle({
      request: new Request('http://other.test/api/peerdrop', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ v: 1, op: 'join', room }) }),
      getClientAddress: () => '203.0.113.9',
    });
    assert.equal(joined.status, 200, `the other instance could not join the app's room: ${await joined.text()}`);
  } finally {
    await srv.stop();
  }
});
