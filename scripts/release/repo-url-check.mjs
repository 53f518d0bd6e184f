// Release gate PKG-URL: the repository, homepage and bugs URLs the npm packages publish (and the
// links of their READMEs and the add-on's homepage) point at this repository as it is published,
// i.e. at the git remote `origin` (or PEERDROP_REPOSITORY, e.g. https://github.com/owner/name).
// The URLs in the packages were written before the repository had a public home: until one is
// confirmed here this gate fails, so nothing is published with a guessed address.
// Writes its one-line figure to $FIG when set; exits 1 on any mismatch.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const packages = ['sveltekit', 'sv'].map((n) => join(repo, 'sveltekit-addon/packages', n));

/** https://host/owner/name from git+https, ssh and scp-like forms, without .git or a trailing slash. */
export function normalize(url) {
  return url
    .trim()
    .replace(/^git\+/, '')
    .replace(/^git@([^:]+):/, 'https://$1/')
    .replace(/^ssh:\/\/git@/, 'https://')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
}

function published() {
  if (process.env.PEERDROP_REPOSITORY) return { url: normalize(process.env.PEERDROP_REPOSITORY), from: 'PEERDROP_REPOSITORY' };
  try {
    const url = execFileSync('git', ['-C', repo, 'remote', 'get-url', 'origin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { url: normalize(url), from: 'git remote origin' };
  } catch {
    return null;
  }
}

const problems = [];
const home = published();
const pkgUrls = [];
for (const dir of packages) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const urls = [
    ['repository.url', pkg.repository?.url],
    ['homepage', pkg.homepage],
    ['bugs.url', pkg.bugs?.url],
    ...[...readFileSync(join(dir, 'README.md'), 'utf8').matchAll(/https:\/\/github\.com\/[^\s)"'`]+/g)].map((m) => ['README link', m[0]]),
  ];
  if (dir.endsWith('/sv')) {
    const addon = readFileSync(join(dir, 'src/index.js'), 'utf8').match(/homepage: '([^']+)'/)?.[1];
    urls.push(['add-on homepage (src/index.js)', addon]);
  }
  for (const [what, url] of urls) pkgUrls.push({ where: `${pkg.name} ${what}`, url });
}

for (const { where, url } of pkgUrls) {
  if (!url) problems.push(`${where}: missing`);
  else if (home && !(normalize(url) === home.url || url.startsWith(`${home.url}/`))) problems.push(`${where}: ${url} is not under ${home.url}`);
}

let figure;
if (!home) {
  const guessed = [...new Set(pkgUrls.map((u) => u.url && normalize(u.url).split('/').slice(0, 5).join('/')))].filter(Boolean).join(', ');
  figure = `no published repository to check against (no git remote origin, no PEERDROP_REPOSITORY): the packages name ${guessed}, unconfirmed`;
  problems.unshift(figure);
} else {
  figure = problems.length
    ? `${problems.length} URL(s) not under ${home.url} (${home.from}): ${problems[0]}`
    : `${pkgUrls.length} URLs of @peerdrop/sveltekit and @peerdrop/sv under ${home.url} (${home.from})`;
}

for (const p of problems) console.log(`FAIL ${p}`);
if (!problems.length) console.log(`ok ${figure}`);
if (process.env.FIG) writeFileSync(process.env.FIG, `${figure}\n`);
process.exit(problems.length ? 1 : 0);
