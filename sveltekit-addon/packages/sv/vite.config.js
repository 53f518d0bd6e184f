// Bundles the add-on (with @sveltejs/sv-utils) into dist/index.js: community add-ons may have no
// dependencies, and sv imports them from their own folder, where nothing else is installed. The
// source imports nothing from `sv` at run time either (src/define.js), so no import stays external
// but Node's own modules.
import { defineConfig } from 'vite';
import { builtinModules } from 'node:module';

export default defineConfig({
	build: {
		lib: { entry: 'src/index.js', formats: ['es'], fileName: () => 'index.js' },
		outDir: 'dist',
		target: 'node20',
		minify: false,
		rollupOptions: { external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)] }
	}
});
