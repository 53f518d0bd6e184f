// `npx sv add @peerdrop`: wires PeerDrop into a SvelteKit app (Kit 2 or 3).
//   signaling=kit  a +server route running the signaling handler, with the store its target
//                  needs (memory on adapter-node; asked on serverless targets such as adapter-auto)
//   signaling=php  the PHP drop-in (signal.php) copied into static/ at build (adapter-static)
//   headers        kit.csp with peerdropCsp() (Kit hashes or nonces its inline script: no
//                  'unsafe-inline'), Referrer-Policy: no-referrer (hooks.server, or a <meta> on a
//                  static site, where no server sets headers)
// Every edit checks for its own earlier result first, so running the add-on twice changes nothing.
import fs from 'node:fs';
import path from 'node:path';
import { transforms, isKit3 } from '@sveltejs/sv-utils';
import { defineAddon, defineAddonOptions } from './define.js';
import { adapterOf, storeFor, storeOption, storeQuestionFor } from './adapter.js';
import { signalingEnv } from './env.js';
import { addCsp } from './csp.js';
import { addRoute, PACKAGE, STORE_ENV } from './route.js';
import { addPhpDropIn, addReferrerMeta } from './static-site.js';
import { addDemo } from './demo.js';
import { nextSteps } from './next-steps.js';

// Written only when the app has no @peerdrop/sveltekit yet: an existing spec (a `file:` tarball,
// a pinned version) is the adopter's choice and stays.
const VERSION = '^0.1.0';

const options = defineAddonOptions()
	.add('signaling', {
		question: 'Where should browsers find each other (signaling)?',
		type: 'select',
		default: 'auto',
		options: [
			{ value: 'auto', label: 'auto', hint: 'PHP drop-in with adapter-static, else a SvelteKit route' },
			{ value: 'kit', label: 'SvelteKit route', hint: 'needs a server: adapter-node, vercel, netlify, cloudflare…' },
			{ value: 'php', label: 'PHP drop-in (signal.php)', hint: 'for static sites on a PHP host' }
		]
	})
	.add('route', {
		question: 'Path of the signaling route',
		type: 'string',
		default: '/api/peerdrop',
		// auto: not asked (the default, or /signal.php next to a static site)
		condition: (o) => o.signaling === 'kit',
		validate: (v) => (v && /^\/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$/.test(v) ? undefined : 'Use a path such as /api/peerdrop')
	})
	.add('phpUrl', {
		question: 'URL of signal.php',
		type: 'string',
		default: '/signal.php',
		condition: (o) => o.signaling === 'php'
	})
	.add('store', storeOption)
	.add('demo', {
		question: 'Add a demo send page (/peerdrop) and receive page (/peerdrop/receive)?',
		type: 'boolean',
		default: true
	})
	.add('headers', {
		question: 'Add a CSP fitting the wasm (kit.csp, no inline scripts) and Referrer-Policy: no-referrer?',
		type: 'boolean',
		default: true
	})
	.build();

export function signalingMode(opts, dependencyVersion) {
	if (opts.signaling === 'kit' || opts.signaling === 'php') return opts.signaling;
	return adapterOf(dependencyVersion) === 'static' ? 'php' : 'kit';
}

/**
 * `dependencyVersion` over package.json as it is now. sv hands nextSteps the workspace it read
 * before any add-on ran, without the adapter an add-on of the same run put in.
 */
function currentDependencies(cwd) {
	const pkg = JSON.parse(fs.readFileSync(path.join(cwd, 'package.json'), 'utf8'));
	const all = { ...pkg.dependencies, ...pkg.devDependencies };
	return (name) => all[name];
}

/** `connect-src` sources beyond 'self': the origin of a signaling URL on another host. */
function connectSources(signalUrl) {
	return /^https?:\/\//i.test(signalUrl) ? [new URL(signalUrl).origin] : [];
}

export default defineAddon({
	id: 'peerdrop',
	shortDescription: 'browser-to-browser file transfer (WebRTC + wasm)',
	homepage: 'https://github.com/peerdrop/peerdrop/blob/main/docs/sveltekit.md',
	options,

	setup: ({ isKit, unsupported, runsAfter, dependencyVersion }) => {
		if (!isKit) unsupported('Requires a SvelteKit app: run it in one, or create one with npx sv create my-app');
		// An adapter chosen in the same `sv add`/`sv create` run decides the signaling and store: run
		// after it, and read the adapter in run() (each add-on's run sees the package.json the ones
		// before it left). sv orders by add-on id ('sveltekit-adapter'); sv's own add-ons pass the
		// key it is exported under, which sv 0.17 does not match, so both are given.
		runsAfter('sveltekit-adapter');
		runsAfter('sveltekitAdapter');
		runsAfter('experimental');
		// The store question names what the target seen now needs; sv has already checked the options
		// given on the command line against the declared one, and asks the others after setup.
		Object.assign(options.store, storeQuestionFor(adapterOf(dependencyVersion), (o) => signalingMode(o, dependencyVersion) === 'kit'));
	},

	run: ({ sv, cwd, options: opts, language, directory, dependencyVersion, cancel }) => {
		const mode = signalingMode(opts, dependencyVersion);
		const ts = language === 'ts';
		const kit3 = isKit3(dependencyVersion('@sveltejs/kit'));
		const staticSite = adapterOf(dependencyVersion) === 'static';
		const route = (opts.route ?? '/api/peerdrop').replace(/\/+$/, '');
		const signalUrl = mode === 'kit' ? route : opts.phpUrl || '/signal.php';
		const routeFile = `${directory.kitRoutes}${route}/+server.${language}`;

		if (mode === 'kit') {
			// Someone else's route at this path: writing around it would leave signaling unserved.
			const other = ['js', 'ts'].map((ext) => `${directory.kitRoutes}${route}/+server.${ext}`).find((f) => {
				const full = path.join(cwd, f);
				return fs.existsSync(full) && !fs.readFileSync(full, 'utf8').includes(PACKAGE);
			});
			if (other) {
				return cancel(
					`${other} already exists and is not PeerDrop's signaling route. Choose another path, e.g.: npx sv add @peerdrop="signaling:kit+route:/api/peerdrop-signal"`
				);
			}
		}

		if (!dependencyVersion(PACKAGE)) sv.dependency(PACKAGE, VERSION);

		if (mode === 'kit') {
			const store = storeFor(opts.store, adapterOf(dependencyVersion));
			if (store === 'redis' && !dependencyVersion('redis')) sv.dependency('redis', '^5.12.0');
			const env = signalingEnv({ sv, cwd, dependencyVersion, kit3, language });
			addRoute({ sv, file: routeFile, store, env });
		} else {
			addPhpDropIn({ sv });
		}

		if (opts.headers) {
			addCsp({ sv, cwd }, connectSources(signalUrl));
			if (staticSite) addReferrerMeta({ sv, src: directory.src });
			else {
				sv.file(
					`src/hooks.server.${language}`,
					transforms.script(({ ast, comments, js }) => {
						if (js.imports.find(ast, { name: 'peerdropHeaders', from: `${PACKAGE}/server` }).statement) return false;
						js.imports.addNamed(ast, { from: `${PACKAGE}/server`, imports: ['peerdropHeaders'] });
						// Referrer-Policy: no-referrer and nosniff (the CSP comes from kit.csp); an existing
						// handle is kept and chained with sequence().
						js.kit.addHooksHandle(ast, { language, newHandleName: 'handlePeerDrop', handleContent: 'peerdropHeaders()', comments });
					})
				);
			}
		}

		if (opts.demo) addDemo({ sv, kitRoutes: directory.kitRoutes, ts, language, staticSite, signalUrl, php: mode === 'php' });
	},

	nextSteps: (ws) => {
		const dependencyVersion = currentDependencies(ws.cwd);
		const mode = signalingMode(ws.options, dependencyVersion);
		return nextSteps({ ...ws, dependencyVersion, mode, store: storeFor(ws.options.store, adapterOf(dependencyVersion)), storeEnv: STORE_ENV });
	}
});
