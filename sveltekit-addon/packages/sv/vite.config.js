// Bundles the add-on (with @sveltejs/sv-utils) into dist/index.js: community add-ons may only
// have `sv` as a peer dependency, nothing else at runtime.
import { defineConfig } from 'vite';
import { builtinModules } from 'node:module';

export default defineConfig({
	build: {
		lib: { entry: 'src/index.js', formats: ['es'], fileName: () => 'index.js' },
		outDir: 'dist',
		target: 'node20',
		minify: false,
		rollupOptions: { external: ['sv', ...builtinModules, ...builtinModules.map((m) => `node:${m}`)] }
	}
});
