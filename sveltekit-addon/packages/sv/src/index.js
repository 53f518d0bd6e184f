// `npx sv add @peerdrop`: wires PeerDrop into a SvelteKit app (Kit 2 or 3).
//   signaling=kit  a +server route running the signaling handler (adapter-node and friends)
//   signaling=php  the PHP drop-in (signal.php) copied into static/ at build (adapter-static)
//   headers        kit.csp with peerdropCsp() (Kit hashes or nonces its inline script: no
//                  'unsafe-inline'), Referrer-Policy: no-referrer (hooks.server, or a <meta> on a
//                  static site, where no server sets headers)
// Every edit checks for its own earlier result first, so running the add-on twice changes nothing.
import fs from 'node:fs';
import path from 'node:path';
import { defineAddon, defineAddonOptions } from 'sv';
import { transforms, svelteConfig, isKit3 } from './sv-utils.js';

const PACKAGE = '@peerdrop/sveltekit';
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

function signalingMode(opts, dependencyVersion) {
	if (opts.signaling === 'kit' || opts.signaling === 'php') return opts.signaling;
	return dependencyVersion('@sveltejs/adapter-static') ? 'php' : 'kit';
}

/** `connect-src` sources beyond 'self': the origin of a signaling URL on another host. */
function connectSources(signalUrl) {
	return /^https?:\/\//i.test(signalUrl) ? [new URL(signalUrl).origin] : [];
}

/** The app's `src/env.{ts,js}` (Kit 3 declares environment variables there), if any. */
function envFile(cwd, src) {
	return ['ts', 'js'].map((ext) => `${src}/env.${ext}`).find((f) => fs.existsSync(path.join(cwd, f)));
}

const SECRET_DECLARATION = (ts) => `{
	description: 'PeerDrop signaling token secret: 32+ random characters. Unset: each process generates its own.',
	schema: (value${ts ? ': string | undefined' : ''}) => value || undefined
}`;

export default defineAddon({
	id: 'peerdrop',
	shortDescription: 'browser-to-browser file transfer (WebRTC + wasm)',
	homepage: 'https://www.npmjs.com/package/@peerdrop/sveltekit',
	options,

	setup: ({ isKit, unsupported }) => {
		if (!isKit) unsupported('Requires SvelteKit');
	},

	run: ({ sv, cwd, options: opts, language, directory, dependencyVersion }) => {
		const mode = signalingMode(opts, dependencyVersion);
		const ts = language === 'ts';
		// Kit 3: config only in vite.config, #lib instead of $lib, and environment variables
		// declared in src/env.ts and read from $app/env/private ($env/dynamic/private only sees
		// the declared ones there).
		const kit3 = isKit3(dependencyVersion('@sveltejs/kit'));
		// A static site has no server to set headers: its policy travels in <meta> tags.
		const staticSite = !!dependencyVersion('@sveltejs/adapter-static');
		const route = (opts.route ?? '/api/peerdrop').replace(/\/+$/, '');
		const signalUrl = mode === 'kit' ? route : opts.phpUrl || '/signal.php';

		sv.dependency(PACKAGE, VERSION);

		if (mode === 'kit') {
			if (kit3) {
				const existing = envFile(cwd, directory.src);
				sv.file(existing ?? `${directory.src}/env.${language}`, (content) => {
					if (content.includes('PEERDROP_SECRET')) return false;
					if (!content.trim()) {
						return [
							`import { defineEnvVars } from '@sveltejs/kit/env';`,
							``,
							`export const variables = defineEnvVars({`,
							`\tPEERDROP_SECRET: ${SECRET_DECLARATION(ts).replaceAll('\n', '\n\t')}`,
							`});`,
							``
						].join('\n');
					}
					return transforms.script(({ ast, js }) => {
						let vars = null;
						const visit = (node) => {
							if (vars || !node || typeof node.type !== 'string') return;
							if (node.type === 'CallExpression' && node.callee.type === 'Identifier' && node.callee.name === 'defineEnvVars' && node.arguments[0]?.type === 'ObjectExpression') {
								vars = node.arguments[0];
								return;
							}
							for (const v of Object.values(node)) {
								if (Array.isArray(v)) v.forEach(visit);
								else if (v && typeof v === 'object') visit(v);
							}
						};
						visit(ast);
						if (!vars) return false; // not a shape we know: nextSteps says what to add
						js.object.property(vars, { name: 'PEERDROP_SECRET', fallback: js.common.parseExpression(`(${SECRET_DECLARATION(ts)})`) });
					})(content);
				});
			}
			sv.file(`${directory.kitRoutes}${route}/+server.${language}`, (content) => {
				if (content && content.includes(PACKAGE)) return false;
				if (content && content.trim()) return false; // someone else's route: leave it
				const head = [
					`// PeerDrop signaling (contract v1, the same as signal.php). Rooms live in this process;`,
					`// for several instances pass \`store: createRedisStore({ url })\` (npm install redis).`
				];
				const tail = [`import { createSignalingHandler } from '${PACKAGE}/server';`, ``, `export const { GET, POST, OPTIONS, HEAD, fallback } = createSignalingHandler({`];
				return (kit3
					? [
							...head,
							`import { PEERDROP_SECRET } from '$app/env/private';`,
							...tail,
							`\t// 32+ random characters (declared in src/env); without it a secret is generated per process.`,
							`\tsecret: PEERDROP_SECRET`
						]
					: [
							...head,
							`import { env } from '$env/dynamic/private';`,
							...tail,
							`\t// 32+ random characters; without it a secret is generated per process.`,
							`\tsecret: env.PEERDROP_SECRET || undefined`
						]
				)
					.concat([`});`, ``])
					.join('\n');
			});
		} else {
			// adapter-static: ship the PHP drop-in with the site (copied from the package at build).
			sv.file('package.json', transforms.json(({ data }) => {
				data.scripts ??= {};
				const copy = `node -e "require('fs').copyFileSync(require.resolve('${PACKAGE}/signal.php'),'static/signal.php')"`;
				if (data.scripts['peerdrop:php'] === copy) return false;
				data.scripts['peerdrop:php'] = copy;
				if (!data.scripts.prebuild) data.scripts.prebuild = 'npm run peerdrop:php';
			}));
			sv.file('.gitignore', (content) => (content.includes('static/signal.php') ? false : `${content.replace(/\n*$/, '\n')}# copied from ${PACKAGE} by "npm run peerdrop:php"\nstatic/signal.php\n`));
		}

		if (opts.headers) {
			// CSP through Kit: it hashes (prerendered pages: a <meta> tag) or nonces (server-rendered
			// pages: a header) its inline hydration script, so script-src needs no 'unsafe-inline'.
			// An existing kit.csp is the app's own: left alone (nextSteps says what PeerDrop needs).
			const connect = connectSources(signalUrl);
			svelteConfig.edit({ sv, cwd }, ({ ast, js, property }) => {
				const ours = js.common.parseExpression(
					`({ mode: 'auto', directives: peerdropCsp(${connect.length ? `{ connectSrc: ${JSON.stringify(connect).replaceAll('"', "'")} }` : ''}) })`
				);
				if (property('csp', { fallback: ours }) !== ours) return false;
				js.imports.addNamed(ast, { from: `${PACKAGE}/server`, imports: ['peerdropCsp'] });
			});
			if (staticSite) {
				// No server sends headers for a static site: the referrer policy goes into the page.
				sv.file(`${directory.src}/app.html`, (content) => {
					if (!content || /<meta[^>]+name=["']?referrer/i.test(content)) return false;
					const out = content.replace(/([ \t]*)%sveltekit\.head%/, '$1<meta name="referrer" content="no-referrer" />\n$&');
					return out === content ? false : out;
				});
			} else {
				sv.file(`src/hooks.server.${language}`, transforms.script(({ ast, comments, js }) => {
					if (js.imports.find(ast, { name: 'peerdropHeaders', from: `${PACKAGE}/server` }).statement) return false;
					js.imports.addNamed(ast, { from: `${PACKAGE}/server`, imports: ['peerdropHeaders'] });
					js.kit.addHooksHandle(ast, {
						language,
						newHandleName: 'handlePeerDrop',
						// Referrer-Policy: no-referrer and nosniff (the CSP comes from kit.csp).
						handleContent: 'peerdropHeaders()',
						comments
					});
				}));
			}
		}

		if (opts.demo) {
			const base = `${directory.kitRoutes}/peerdrop`;
			const lang = ts ? ' lang="ts"' : '';
			if (staticSite) {
				// adapter-static writes only prerendered pages: make the demo pages prerenderable.
				sv.file(`${base}/+layout.${language}`, (content) => (content ? false : 'export const prerender = true;\n'));
			}
			sv.file(`${base}/+page.svelte`, (content) => {
				if (content) return false;
				return `<script${lang}>
	import { page } from '$app/state';
	import { configurePeerDrop, createSender, DropZone, SharePanel, TransferProgress, ErrorMessage, DiagnosticsPanel } from '${PACKAGE}';

	configurePeerDrop({ signalUrl: '${signalUrl}' });
	// The share link opens the receive page; its secret travels only in the #fragment.
	const sender = createSender({ shareBase: new URL('/peerdrop/receive', page.url).href });
	$effect(() => () => sender.destroy());
</script>

<h1>Send files</h1>
{#if sender.phase === 'idle' || sender.phase === 'loading'}
	<DropZone onfiles={(files) => sender.send(files)} onerror={(e) => (sender.error = e)} />
{/if}
{#if sender.link && sender.active}
	<SharePanel link={sender.link} />
{/if}
<ErrorMessage error={sender.error} />
{#if sender.files.length > 0}
	<TransferProgress transfer={sender} />
	{#if sender.active}<button type="button" onclick={() => sender.cancel()}>Cancel</button>{/if}
{/if}
<DiagnosticsPanel transfer={sender} />
`;
			});
			sv.file(`${base}/receive/+page.svelte`, (content) => {
				if (content) return false;
				return `<script${lang}>
	import { onMount } from 'svelte';
	import { replaceState } from '$app/navigation';
	import { configurePeerDrop, createReceiver, ReceiveView, TransferProgress, ErrorMessage, DiagnosticsPanel } from '${PACKAGE}';

	configurePeerDrop({ signalUrl: '${signalUrl}' });
	const receiver = createReceiver();

	onMount(() => {
		if (location.hash.length > 1) {
			receiver.receive(location.href);
			// Keep the secret out of the address bar once read (Kit's router starts after hydration).
			const clear = (tries${ts ? ': number' : ''}) => {
				try { replaceState(location.pathname, {}); } catch { if (tries > 0) setTimeout(() => clear(tries - 1), 20); }
			};
			clear(50);
		}
		return () => receiver.destroy();
	});
</script>

<h1>Receive files</h1>
<ReceiveView {receiver} />
<ErrorMessage error={receiver.error} />
{#if receiver.files.length > 0}
	<TransferProgress transfer={receiver} />
{/if}
<DiagnosticsPanel transfer={receiver} />
`;
			});
		}
	},

	nextSteps: ({ cwd, options: opts, dependencyVersion, directory }) => {
		const mode = signalingMode(opts, dependencyVersion);
		const steps = [`Install dependencies, then open ${opts.demo ? '/peerdrop' : 'your page'} in two browsers`];
		if (mode === 'kit') steps.push('Set PEERDROP_SECRET (32+ random characters) in production; see docs for Redis with several instances');
		else steps.push('`npm run build` copies signal.php into static/; upload build/ to a PHP host (the data dir goes next to the web root)');
		if (mode === 'kit' && isKit3(dependencyVersion('@sveltejs/kit'))) {
			const env = envFile(cwd, directory.src);
			const text = env ? fs.readFileSync(path.join(cwd, env), 'utf8') : '';
			if (!text.includes('PEERDROP_SECRET')) steps.push(`Declare PEERDROP_SECRET in ${env ?? `${directory.src}/env`} (defineEnvVars): the signaling route reads it from $app/env/private`);
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
});
