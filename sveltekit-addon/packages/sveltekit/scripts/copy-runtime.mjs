// Copies the browser runtime built by scripts/build-wasm (pkg/) and the PHP drop-in into this
// package before svelte-package runs. Only named files are copied: wasm-pack's `.gitignore`
// (a lone `*`) would make npm drop the .wasm from the tarball (wasm-pack#728).
//   PEERDROP_PKG=/path/to/pkg  PEERDROP_SIGNAL_PHP=/path/to/signal.php  (defaults: this repository)
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repo = resolve(root, '../../..');
const pkg = resolve(process.env.PEERDROP_PKG ?? join(repo, 'pkg'));
const php = resolve(process.env.PEERDROP_SIGNAL_PHP ?? join(repo, 'php-signaling/signal.php'));
const out = join(root, 'src/lib/runtime/wasm');

for (const f of ['peerdrop.js', 'peerdrop.d.ts', 'peerdrop_bg.wasm']) {
	if (!existsSync(join(pkg, f))) {
		console.error(`copy-runtime: ${join(pkg, f)} is missing; run scripts/build-wasm (make wasm) first`);
		process.exit(1);
	}
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const f of ['peerdrop.js', 'peerdrop.d.ts', 'peerdrop_bg.wasm', 'peerdrop_bg.wasm.d.ts']) {
	if (existsSync(join(pkg, f))) cpSync(join(pkg, f), join(out, f));
}
const walk = (dir) => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
for (const file of walk(join(pkg, 'snippets'))) {
	if (!/\.(js|d\.ts)$/.test(file)) continue;
	const dest = join(out, relative(pkg, file));
	mkdirSync(dirname(dest), { recursive: true });
	cpSync(file, dest);
}
cpSync(php, join(root, 'signal.php'));
console.log(`copy-runtime: ${relative(root, out)} <- ${pkg}; signal.php <- ${php}`);
