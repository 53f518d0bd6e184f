// The add-on against the apps adopters have, offline and without installing anything (sv create
// and sv add take about a second each): a packed copy loads from outside the workspace; re-runs
// keep a `file:` dependency; vite.config keeps its formatting; the JavaScript template; an
// existing handle hook, CSP, prebuild script or route at the add-on's path; adapter-auto (a
// shared store, asked for at add time; an adapter added in the same run); kit.paths.base in the
// demo pages; Kit 2 with explicit environment variables.
// The transfers through such apps are in adopter*.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { after } from 'node:test';
import { addonRoot, buildAddon, run, snapshot, svAddPeerDrop, svBin, svCreate } from './lib.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'peerdrop-addon-'));
after(() => { if (!process.env.ADOPTER_KEEP) rmSync(tmp, { recursive: true, force: true }); });
const { compile } = createRequire(join(addonRoot, 'package.json'))('svelte/compiler');

let n = 0;
/** A fresh app from `sv create` with these --add entries. */
const newApp = (adds, opts) => svCreate(tmp, `app${++n}`, adds, opts);
const read = (app, f) => readFileSync(join(app, f), 'utf8');
const write = (app, f, text) => { mkdirSync(join(app, f, '..'), { recursive: true }); writeFileSync(join(app, f), text); };
const KIT = 'signaling:kit+route:/api/peerdrop+store:memory+demo:yes+headers:yes';

test('a packed copy of the add-on, unpacked outside any workspace, loads and runs', () => {
  const dir = buildAddon();
  const out = run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: dir });
  const tarball = join(tmp, JSON.parse(out.slice(out.lastIndexOf('[\n  {')))[0].filename);
  const outside = join(tmp, 'unpacked');
  mkdirSync(outside);
  run('tar', ['xzf', tarball, '-C', outside]);
  const app = newApp(['sveltekit-adapter=adapter:node']);
  svAddPeerDrop(app, KIT, { dir: join(outside, 'package') });
  assert.match(read(app, 'src/routes/api/peerdrop/+server.ts'), /createSignalingHandler/);
});

test('re-running keeps a file: dependency and changes nothing', () => {
  const app = newApp(['sveltekit-adapter=adapter:node']);
  const pkg = JSON.parse(read(app, 'package.json'));
  pkg.dependencies = { '@peerdrop/sveltekit': 'file:../peerdrop-sveltekit-0.1.0.tgz' };
  write(app, 'package.json', `${JSON.stringify(pkg, null, '\t')}\n`);
  svAddPeerDrop(app, KIT);
  const first = snapshot(app);
  assert.equal(JSON.parse(first['/package.json']).dependencies['@peerdrop/sveltekit'], 'file:../peerdrop-sveltekit-0.1.0.tgz');
  svAddPeerDrop(app, KIT);
  assert.deepEqual(snapshot(app), first, 'second run changed files');
});

test('vite.config.ts: only the import and the csp line are added; the rest keeps its formatting', () => {
  const app = newApp(['sveltekit-adapter=adapter:node']);
  const before = [
    'import adapter from "@sveltejs/adapter-node"',
    'import { sveltekit } from "@sveltejs/kit/vite"',
    'import { defineConfig } from "vite"',
    '',
    'export default defineConfig({',
    '  server: {  port:5173,   strictPort : true },',
    '  plugins: [ sveltekit({',
    '      adapter: adapter( { out: "out" } ), // keep this comment',
    '      alias: { "@x": "src/x" },',
    '  }) ]',
    '})',
    '',
  ];
  write(app, 'vite.config.ts', before.join('\n'));
  svAddPeerDrop(app, KIT);
  const want = [...before];
  want.splice(3, 0, 'import { peerdropCsp } from "@peerdrop/sveltekit/server"');
  want.splice(10, 0, '      csp: { mode: "auto", directives: peerdropCsp() },');
  assert.equal(read(app, 'vite.config.ts'), want.join('\n'));
});

test('JavaScript template: .js route and hook, demo pages without TypeScript', () => {
  const app = newApp(['sveltekit-adapter=adapter:node'], { types: false });
  svAddPeerDrop(app, KIT);
  const files = snapshot(app);
  assert.ok(!Object.keys(files).some((f) => /\.ts$/.test(f) && f.startsWith('/src/')), `TypeScript files in a JS app: ${Object.keys(files)}`);
  assert.match(files['/src/routes/api/peerdrop/+server.js'] ?? '', /createSignalingHandler/);
  assert.match(files['/src/hooks.server.js'] ?? '', /peerdropHeaders\(\)/);
  run('node', ['--check', join(app, 'src/routes/api/peerdrop/+server.js')]);
  run('node', ['--check', join(app, 'src/hooks.server.js')]);
  for (const page of ['/src/routes/peerdrop/+layout.svelte', '/src/routes/peerdrop/+page.svelte', '/src/routes/peerdrop/receive/+page.svelte']) {
    assert.doesNotMatch(files[page], /lang="ts"/);
    compile(files[page], { filename: page }); // throws on TypeScript syntax in a plain <script>
  }
});

test('the demo: ready-made components; sv\'s template home page links to it, a home page of your own is left alone', () => {
  const app = newApp(['sveltekit-adapter=adapter:node']);
  svAddPeerDrop(app, KIT);
  assert.match(read(app, 'src/routes/+page.svelte'), /<a href=\{resolve\('\/peerdrop'\)\}>/);
  assert.match(read(app, 'src/routes/peerdrop/+page.svelte'), /<PeerDropSend \{shareBase\} \/>/);
  assert.match(read(app, 'src/routes/peerdrop/receive/+page.svelte'), /<PeerDropReceive \{receiver\} \/>/);
  assert.match(read(app, 'src/routes/peerdrop/+layout.svelte'), /name="color-scheme" content="light dark"/);
  const own = newApp(['sveltekit-adapter=adapter:node']);
  write(own, 'src/routes/+page.svelte', '<h1>My shop</h1>\n');
  svAddPeerDrop(own, KIT);
  assert.equal(read(own, 'src/routes/+page.svelte'), '<h1>My shop</h1>\n');
});

test('an existing handle hook is kept and chained', () => {
  const app = newApp(['sveltekit-adapter=adapter:node']);
  write(app, 'src/hooks.server.ts', [
    "import type { Handle } from '@sveltejs/kit';",
    '',
    'export const handle: Handle = async ({ event, resolve }) => {',
    "\tevent.locals.user = 'me';",
    '\treturn resolve(event);',
    '};',
    '',
  ].join('\n'));
  svAddPeerDrop(app, KIT);
  const hooks = read(app, 'src/hooks.server.ts');
  assert.match(hooks, /event\.locals\.user = 'me'/, 'the app\'s handle is gone');
  assert.match(hooks, /export const handle[^=]*= sequence\(/);
  assert.match(hooks, /peerdropHeaders\(\)/);
});

test('an existing csp config is kept, and the next steps say what PeerDrop needs in it', () => {
  const app = newApp(['sveltekit-adapter=adapter:node']);
  const config = read(app, 'vite.config.ts').replace('adapter: adapter()', "adapter: adapter(),\n\t\t\tcsp: { directives: { 'script-src': ['self'] } }");
  write(app, 'vite.config.ts', config);
  const out = svAddPeerDrop(app, KIT);
  assert.equal(read(app, 'vite.config.ts'), config);
  assert.match(out, /Your kit\.csp was kept: allow 'wasm-unsafe-eval'/);
});

test('adapter-static with a prebuild script: PHP mode is chained before it', () => {
  const app = newApp(['sveltekit-adapter=adapter:static']);
  const pkg = JSON.parse(read(app, 'package.json'));
  pkg.scripts.prebuild = 'node scripts/gen-sitemap.js';
  write(app, 'package.json', `${JSON.stringify(pkg, null, '\t')}\n`);
  const spec = 'signaling:auto+demo:yes+headers:yes';
  svAddPeerDrop(app, spec);
  const scripts = JSON.parse(read(app, 'package.json')).scripts;
  assert.equal(scripts.prebuild, 'npm run peerdrop:php && node scripts/gen-sitemap.js');
  assert.match(scripts['peerdrop:php'], /signal\.php/);
  const first = snapshot(app);
  svAddPeerDrop(app, spec);
  assert.deepEqual(snapshot(app), first, 'second run changed files');
});

test('a route someone else wrote at the add-on\'s path: nothing is written, and the message says what to run', () => {
  const app = newApp(['sveltekit-adapter=adapter:node']);
  write(app, 'src/routes/api/peerdrop/+server.ts', "export const GET = () => new Response('mine');\n");
  const before = snapshot(app);
  const r = spawnSync('node', [svBin, 'add', `file:${buildAddon()}=${KIT}`, '--cwd', app, '--no-git-check', '--no-install', '--no-download-check'], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  assert.match(r.stdout + r.stderr, /src\/routes\/api\/peerdrop\/\+server\.ts already exists and is not PeerDrop's signaling route/);
  assert.match(r.stdout + r.stderr, /npx sv add @peerdrop="signaling:kit\+route:/);
  assert.deepEqual(snapshot(app), before, 'files changed');
});

test('adapter-auto: the store question says instances share no memory and defaults to a shared store', async () => {
  const addon = (await import(`${join(buildAddon(), 'dist/index.js')}?t=${Date.now()}`)).default;
  const ws = (deps) => ({
    isKit: true, unsupported: assert.fail, runsAfter: () => {}, dependsOn: () => {}, addOption: () => {},
    dependencyVersion: (p) => deps[p],
  });
  addon.setup(ws({ '@sveltejs/kit': '^2.63.0', '@sveltejs/adapter-auto': '^7.0.1' }));
  assert.match(addon.options.store.question, /adapter-auto .*share no memory/);
  // auto: a shared store here, decided when the add-on runs (an adapter added in the same run may change it).
  assert.equal(addon.options.store.default, 'auto');
  assert.deepEqual(addon.options.store.options.map((o) => o.value), ['auto', 'rest', 'redis', 'memory']);
  assert.equal(addon.options.store.condition({ signaling: 'auto' }), true);
  addon.setup(ws({ '@sveltejs/kit': '^2.63.0', '@sveltejs/adapter-node': '^5.5.0' }));
  assert.equal(addon.options.store.default, 'auto');
  assert.match(addon.options.store.question, /adapter-node runs one process/);
  addon.setup(ws({ '@sveltejs/kit': '^2.63.0', '@sveltejs/adapter-static': '^3.0.0' }));
  assert.equal(addon.options.store.condition({ signaling: 'auto' }), false, 'no store question for the PHP drop-in');
});

test('adapter-auto with store:rest: the route uses the HTTP Redis store; store:memory is warned about', () => {
  const app = newApp(['sveltekit-adapter=adapter:auto']);
  svAddPeerDrop(app, 'signaling:auto+store:rest+demo:no+headers:yes');
  const route = read(app, 'src/routes/api/peerdrop/+server.ts');
  assert.match(route, /store: createRedisRestStore\(\{\s*url: env\.UPSTASH_REDIS_REST_URL,\s*token: env\.UPSTASH_REDIS_REST_TOKEN\s*\}\)/);
  // A held poll on a serverless host would re-read the store over HTTP for up to 20 s.
  assert.match(route, /pollSlots: 0/);
  const other = newApp(['sveltekit-adapter=adapter:auto']);
  const out = svAddPeerDrop(other, 'signaling:auto+store:memory+demo:no+headers:no');
  assert.match(out.replace(/[│\s]+/g, ' '), /Signaling keeps its rooms in memory, but adapter-auto may run many instances/);
});

test('Kit 2 with explicit environment variables: the secret is declared in src/env.ts and read from $app/env/private', () => {
  const app = newApp(['sveltekit-adapter=adapter:node']);
  write(app, 'vite.config.ts', read(app, 'vite.config.ts').replace('adapter: adapter()', 'adapter: adapter(),\n\t\t\texperimental: { explicitEnvironmentVariables: true }'));
  svAddPeerDrop(app, KIT);
  assert.match(read(app, 'src/routes/api/peerdrop/+server.ts'), /import \{ PEERDROP_SECRET \} from '\$app\/env\/private'/);
  const env = read(app, 'src/env.ts');
  assert.match(env, /import \{ defineEnvVars \} from '@sveltejs\/kit\/hooks'/);
  assert.match(env, /PEERDROP_SECRET: \{[^}]*description:/s);
  assert.match(env, /'~standard'/, 'declared optional with a Standard Schema (Kit 2 takes no plain function)');
});

/** sv's own `add()` with the official adapter add-on and this one, as `sv add sveltekit-adapter=adapter:X @peerdrop` runs them. */
async function addWithAdapter(app, adapter, peerdrop) {
  const require = createRequire(join(addonRoot, 'package.json'));
  const sv = await import(pathToFileURL(require.resolve('sv')).href);
  const ours = (await import(`${pathToFileURL(join(buildAddon(), 'dist/index.js')).href}?t=${Date.now()}`)).default;
  const addons = { 'sveltekit-adapter': sv.officialAddons.sveltekitAdapter, peerdrop: ours };
  await sv.add({ addons, cwd: app, options: { 'sveltekit-adapter': { adapter }, peerdrop }, packageManager: 'npm' });
  return ours;
}

test('an adapter added in the same run decides the store (questions are asked before that adapter is in package.json)', async () => {
  // adapter-auto from sv create, switched to adapter-node in the same run: one process, rooms in memory.
  const toNode = newApp(['sveltekit-adapter=adapter:auto']);
  const ours = await addWithAdapter(toNode, 'node', { signaling: 'auto', demo: false, headers: false });
  assert.ok(JSON.parse(read(toNode, 'package.json')).devDependencies['@sveltejs/adapter-node']);
  const nodeRoute = read(toNode, 'src/routes/api/peerdrop/+server.ts');
  assert.match(nodeRoute, /Rooms live in this process/);
  assert.doesNotMatch(nodeRoute, /createRedisRestStore/);
  // sv hands nextSteps the workspace read before any add-on ran (adapter-auto): no memory warning.
  const stale = { cwd: toNode, options: { signaling: 'auto', demo: false, headers: false }, dependencyVersion: (p) => ({ '@sveltejs/kit': '^2.0.0', '@sveltejs/adapter-auto': '^7.0.0' })[p] };
  const steps = ours.nextSteps(stale).join('\n');
  assert.doesNotMatch(steps, /UPSTASH|may run many instances/);

  // adapter-node from sv create, switched to Vercel in the same run: a shared store.
  const toVercel = newApp(['sveltekit-adapter=adapter:node']);
  const again = await addWithAdapter(toVercel, 'vercel', { signaling: 'auto', demo: false, headers: false });
  assert.match(read(toVercel, 'src/routes/api/peerdrop/+server.ts'), /store: createRedisRestStore\(/);
  const vercelSteps = again.nextSteps({ ...stale, cwd: toVercel, dependencyVersion: (p) => ({ '@sveltejs/kit': '^2.0.0', '@sveltejs/adapter-node': '^5.0.0' })[p] }).join('\n');
  assert.match(vercelSteps, /Set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN/);

  // Switched to adapter-static in the same run: the PHP drop-in, not a route.
  const toStatic = newApp(['sveltekit-adapter=adapter:auto']);
  await addWithAdapter(toStatic, 'static', { signaling: 'auto', demo: false, headers: false });
  assert.match(JSON.parse(read(toStatic, 'package.json')).scripts['peerdrop:php'] ?? '', /signal\.php/);
  assert.throws(() => read(toStatic, 'src/routes/api/peerdrop/+server.ts'), /ENOENT/);
});

test('kit.paths.base: the demo pages reach the route, each other and the home page through $app/paths', () => {
  const app = newApp(['sveltekit-adapter=adapter:node']);
  svAddPeerDrop(app, KIT);
  const pages = ['+layout.svelte', '+page.svelte', 'receive/+page.svelte'].map((f) => read(app, `src/routes/peerdrop/${f}`));
  const home = read(app, 'src/routes/+page.svelte');
  for (const page of [...pages, home]) {
    // No path from the site root: with paths.base it would leave the app.
    assert.doesNotMatch(page, /(href=|new URL\(|signalUrl: )["']\//, page);
    compile(page, { filename: 'page.svelte' });
  }
  assert.match(pages[0], /import \{ resolve \} from '\$app\/paths'/);
  assert.match(pages[0], /configurePeerDrop\(\{ signalUrl: resolve\('\/api\/peerdrop'\) \}\)/);
  assert.match(pages[1], /new URL\(resolve\('\/peerdrop\/receive'\), page\.url\)/);
  assert.match(pages[1], /href=\{resolve\('\/peerdrop\/receive'\)\}/);
  assert.match(pages[2], /href=\{resolve\('\/peerdrop'\)\}/);
  assert.match(home, /import \{ resolve \} from '\$app\/paths'/);

  // The PHP drop-in is a file in static/: asset().
  const site = newApp(['sveltekit-adapter=adapter:static']);
  svAddPeerDrop(site, 'signaling:auto+demo:yes+headers:no');
  const layout = read(site, 'src/routes/peerdrop/+layout.svelte');
  assert.match(layout, /configurePeerDrop\(\{ signalUrl: asset\('\/signal\.php' as Asset\) \}\)/);
  assert.match(layout, /import type \{ Asset \} from '\$app\/types'/);
  compile(layout, { filename: 'layout.svelte' });
});
