// `npx sv add @peerdrop`: wires PeerDrop into a SvelteKit app.
//   signaling=kit  a +server route running the signaling handler (adapter-node and friends)
//   signaling=php  the PHP drop-in (signal.php) copied into static/ at build (adapter-static)
// Every edit checks for its own earlier result first, so running the add-on twice changes nothing.
import { defineAddon, defineAddonOptions } from 'sv';
import { transforms } from './sv-utils.js';

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
		condition: (o) => o.signaling !== 'php',
		validate: (v) => (v && /^\/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$/.test(v) ? undefined : 'Use a path such as /api/peerdrop')
	})
	.add('phpUrl', {
		question: 'URL of signal.php',
		type: 'string',
		default: '/signal.php',
		condition: (o) => o.signaling !== 'kit'
	})
	.add('demo', {
		question: 'Add a demo send page (/peerdrop) and receive page (/peerdrop/receive)?',
		type: 'boolean',
		default: true
	})
	.add('headers', {
		question: 'Add privacy headers (Referrer-Policy: no-referrer, CSP fitting the wasm) in hooks.server?',
		type: 'boolean',
		default: true
	})
	.build();

function signalingMode(opts, dependencyVersion) {
	if (opts.signaling === 'kit' || opts.signaling === 'php') return opts.signaling;
	return dependencyVersion('@sveltejs/adapter-static') ? 'php' : 'kit';
}

export default defineAddon({
	id: 'peerdrop',
	shortDescription: 'browser-to-browser file transfer (WebRTC + wasm)',
	homepage: 'https://www.npmjs.com/package/@peerdrop/sveltekit',
	options,

	setup: ({ isKit, unsupported }) => {
		if (!isKit) unsupported('Requires SvelteKit');
	},

	run: ({ sv, options: opts, language, directory, dependencyVersion }) => {
		const mode = signalingMode(opts, dependencyVersion);
		const ts = language === 'ts';
		const route = (opts.route ?? '/api/peerdrop').replace(/\/+$/, '');
		const signalUrl = mode === 'kit' ? route : opts.phpUrl || '/signal.php';

		sv.dependency(PACKAGE, VERSION);

		if (mode === 'kit') {
			sv.file(`${directory.kitRoutes}${route}/+server.${language}`, (content) => {
				if (content && content.includes(PACKAGE)) return false;
				if (content && content.trim()) return false; // someone else's route: leave it
				return [
					`// PeerDrop signaling (contract v1, the same as signal.php). Rooms live in this process;`,
					`// for several instances pass \`store: createRedisStore({ url })\` (npm install redis).`,
					`import { env } from '$env/dynamic/private';`,
					`import { createSignalingHandler } from '${PACKAGE}/server';`,
					``,
					`export const { GET, POST, OPTIONS, HEAD, fallback } = createSignalingHandler({`,
					`\t// 32+ random characters; without it a secret is generated per process.`,
					`\tsecret: env.PEERDROP_SECRET || undefined`,
					`});`,
					``
				].join('\n');
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
			sv.file(`src/hooks.server.${language}`, transforms.script(({ ast, comments, js }) => {
				if (js.imports.find(ast, { name: 'peerdropHeaders', from: `${PACKAGE}/server` }).statement) return false;
				js.imports.addNamed(ast, { from: `${PACKAGE}/server`, imports: ['peerdropHeaders'] });
				js.kit.addHooksHandle(ast, {
					language,
					newHandleName: 'handlePeerDrop',
					// Referrer-Policy: no-referrer, nosniff, and a CSP allowing 'wasm-unsafe-eval' on pages.
					handleContent: 'peerdropHeaders()',
					comments
				});
			}));
		}

		if (opts.demo) {
			const base = `${directory.kitRoutes}/peerdrop`;
			const lang = ts ? ' lang="ts"' : '';
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

	nextSteps: ({ options: opts, dependencyVersion }) => {
		const mode = signalingMode(opts, dependencyVersion);
		const steps = [`Install dependencies, then open ${opts.demo ? '/peerdrop' : 'your page'} in two browsers`];
		if (mode === 'kit') steps.push('Set PEERDROP_SECRET (32+ random characters) in production; see docs for Redis with several instances');
		else steps.push('`npm run build` copies signal.php into static/; upload build/ to a PHP host (the data dir goes next to the web root)');
		return steps;
	}
});
