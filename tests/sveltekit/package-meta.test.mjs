// What the registry shows of both packages: the license files (the repository's, the same text),
// repository/homepage/bugs, a README whose links work on npmjs.com (absolute, as relative links
// resolve against the registry there), a Svelte peer floor that allows what the components use
// ($props.id() needs 5.20), and peer ranges that are the ones tested: each floor on the minor line
// the tests run, every tested version inside the range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { addonRoot, inCaretRange, KIT3_RANGE, run, versionParts } from './lib.mjs';

const repo = join(addonRoot, '..');
const packages = ['sveltekit', 'sv'].map((n) => join(addonRoot, 'packages', n));
const json = (p) => JSON.parse(readFileSync(p, 'utf8'));

for (const dir of packages) {
  const pkg = json(join(dir, 'package.json'));
  test(`${pkg.name}: license files, metadata and README in the tarball`, () => {
    const out = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir });
    const files = JSON.parse(out.slice(out.indexOf('['))).flatMap((p) => p.files.map((f) => f.path));
    for (const f of ['LICENSE-MIT', 'LICENSE-APACHE', 'README.md', 'package.json']) assert.ok(files.includes(f), `${f} is not in the tarball`);
    for (const f of ['LICENSE-MIT', 'LICENSE-APACHE']) assert.equal(readFileSync(join(dir, f), 'utf8'), readFileSync(join(repo, f), 'utf8'), `${f} differs from the repository's`);
    assert.equal(pkg.license, 'MIT OR Apache-2.0');
    assert.match(pkg.repository?.url ?? '', /^git\+https:\/\/.+\.git$/);
    assert.equal(pkg.repository.directory, `sveltekit-addon/packages/${dir.split('/').pop()}`);
    assert.match(pkg.homepage ?? '', /^https:\/\//);
    assert.match(pkg.bugs?.url ?? '', /^https:\/\//);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
    assert.ok(links.length > 0, 'the README links to the guide');
    for (const l of links) assert.match(l, /^(https:\/\/|#)/, `README link ${l} breaks on the registry`);
  });
}

test('the Svelte peer floor allows $props.id() where the components use it', () => {
  const dir = packages[0];
  const walk = (d) => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  const uses = walk(join(dir, 'src/lib')).some((f) => f.endsWith('.svelte') && readFileSync(f, 'utf8').includes('$props.id()'));
  const floor = json(join(dir, 'package.json')).peerDependencies.svelte.match(/\^5\.(\d+)/)?.[1];
  assert.ok(floor !== undefined, 'svelte peer is ^5.x');
  if (uses) assert.ok(Number(floor) >= 20, `$props.id() needs svelte >= 5.20; the peer says ^5.${floor}`);
});

test('each peer range is what the tests run: every floor on a tested minor line, every tested version inside', () => {
  const peers = json(join(packages[0], 'package.json')).peerDependencies;
  const installed = (name) => json(join(addonRoot, 'node_modules', name, 'package.json')).version;
  // The workspace's versions run the package tests, svelte-check and the example app; the adopter
  // tests install the registry's newest of sv's template ranges (npm refuses a peer outside the
  // range) and Kit 3 from KIT3_RANGE (adopter-kit3.test.mjs).
  const tested = {
    svelte: [installed('svelte')],
    '@sveltejs/kit': [installed('@sveltejs/kit'), KIT3_RANGE.slice(1)],
    redis: [installed('redis')],
  };
  assert.deepEqual(Object.keys(peers).sort(), Object.keys(tested).sort(), 'a peer without tested versions here');
  for (const [name, versions] of Object.entries(tested)) {
    const range = peers[name];
    for (const v of versions) assert.ok(inCaretRange(v, range), `${name} ${v} is tested but outside the declared ${range}`);
    for (const floor of range.split('||').map((a) => a.trim())) {
      const [fMaj, fMin] = versionParts(floor);
      const line = versions.find((v) => versionParts(v)[0] === fMaj && versionParts(v)[1] === fMin);
      assert.ok(line, `${name} ${floor}: no test runs ${fMaj}.${fMin}.x (tested: ${versions.join(', ')}); raise the floor or test it`);
      assert.ok(inCaretRange(line, floor), `${name} ${floor} is above the tested ${line}`);
    }
  }
});
