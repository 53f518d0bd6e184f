// What to do after the add-on ran, each step with the command or setting it takes.
import fs from 'node:fs';
import path from 'node:path';
import { svelteConfig } from '@sveltejs/sv-utils';
import { adapterOf, needsSharedStore } from './adapter.js';
import { PACKAGE } from './route.js';

export function nextSteps({ cwd, options: opts, dependencyVersion, mode, store, storeEnv }) {
	const steps = [];
	if (!fs.existsSync(path.join(cwd, 'node_modules', PACKAGE, 'package.json'))) {
		steps.push(`Install dependencies: npm install (for a local build of ${PACKAGE}: npm install ./peerdrop-sveltekit-<version>.tgz)`);
	}
	steps.push(`Run npm run dev and open ${opts.demo ? '/peerdrop' : 'your page'} in two browsers`);
	if (mode === 'kit') {
		steps.push('Set PEERDROP_SECRET (32+ random characters) where the app runs in production');
		const vars = storeEnv[store].map(([name]) => name);
		if (vars.length) steps.push(`Set ${vars.join(' and ')} where the app runs (the signaling store; an unset one fails the first request with a message naming it)`);
		const adapter = adapterOf(dependencyVersion);
		if (store === 'memory' && needsSharedStore(adapter)) {
			steps.push(`Signaling keeps its rooms in memory, but ${adapter ? `adapter-${adapter}` : 'this adapter'} may run many instances: delete its route file and run the add-on again with store:rest (or store:redis) before deploying`);
		}
	} else {
		steps.push('npm run build copies signal.php into static/ (prebuild); upload build/ to a PHP host, the data dir next to the web root');
	}
	if (opts.headers) {
		const config = svelteConfig.find(cwd);
		const text = config ? fs.readFileSync(path.join(cwd, config.path), 'utf8') : '';
		if (/\bcsp\s*:/.test(text) && !/peerdropCsp/.test(text) && !(/wasm-unsafe-eval/.test(text) && /blob:/.test(text))) {
			steps.push("Your kit.csp was kept: allow 'wasm-unsafe-eval' in script-src and 'self' blob: in worker-src (the OPFS worker starts from a blob: URL), or spread peerdropCsp() from @peerdrop/sveltekit/server");
		}
	}
	return steps;
}
