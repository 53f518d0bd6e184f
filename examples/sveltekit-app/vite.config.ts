// The example app's Vite config: SvelteKit with adapter-node and PeerDrop's content security policy.
import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { peerdropCsp } from '@peerdrop/sveltekit/server';
import { defineConfig } from 'vite';

export default defineConfig({
	plugins: [
		sveltekit({
			adapter: adapter(),
			// Kit adds hashes for its own inline script; PeerDrop needs 'wasm-unsafe-eval' to
			// compile its WebAssembly and a worker for the OPFS writer (started from a blob: URL).
			csp: { mode: 'auto', directives: peerdropCsp() }
		})
	],
	// This example links the package from ../../sveltekit-addon (outside the app): let Vite serve it.
	// Apps that install @peerdrop/sveltekit from npm need nothing here.
	server: { fs: { allow: ['../../sveltekit-addon/packages/sveltekit'] } }
});
