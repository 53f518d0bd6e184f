// The demo pages: a send page at /peerdrop and a receive page at /peerdrop/receive, built from
// the ready-made components (themed, light and dark), and a link to them from the home page
// while it is still sv's template. Anything already at those paths is the app's own: left alone.
// Every path goes through $app/paths (resolve, asset), so an app with kit.paths.base works.
import { PACKAGE } from './route.js';

/** @param {{ sv: any, kitRoutes: string, ts: boolean, language: string, staticSite: boolean, signalUrl: string, php: boolean }} o */
export function addDemo({ sv, kitRoutes, ts, language, staticSite, signalUrl, php }) {
	const base = `${kitRoutes}/peerdrop`;
	const lang = ts ? ' lang="ts"' : '';
	const write = (file, text) => sv.file(file, (content) => (content ? false : text));

	if (staticSite) {
		// adapter-static writes only prerendered pages: make the demo pages prerenderable.
		write(`${base}/+layout.${language}`, 'export const prerender = true;\n');
	}
	write(`${base}/+layout.svelte`, LAYOUT(lang, ts, signalUrl, php));
	write(`${base}/+page.svelte`, SEND(lang));
	write(`${base}/receive/+page.svelte`, RECEIVE(lang, ts));
	// sv's template home page gets a way to the demo; a home page of your own is not touched.
	sv.file(`${kitRoutes}/+page.svelte`, (content) => {
		if (!content.includes('Welcome to SvelteKit') || content.includes(HOME_LINK)) return false;
		return `${withResolve(content)}\n<p><a href=${HOME_LINK}>Send files with PeerDrop</a></p>\n`;
	});
}

const HOME_LINK = "{resolve('/peerdrop')}";

/** `content` importing `resolve` from $app/paths: into its instance script, else a new one. */
function withResolve(content) {
	const text = content.replace(/\n*$/, '\n');
	if (/import\s*\{[^}]*\bresolve\b[^}]*\}\s*from\s*['"]\$app\/paths['"]/.test(text)) return text;
	const script = /<script(?![^>]*context=)(?![^>]*\bmodule\b)[^>]*>/.exec(text);
	if (script) return `${text.slice(0, script.index + script[0].length)}\n\timport { resolve } from '$app/paths';${text.slice(script.index + script[0].length)}`;
	return `<script>\n\timport { resolve } from '$app/paths';\n</script>\n\n${text}`;
}

/**
 * The signaling URL as the layout computes it: a route of this app through resolve(), the PHP
 * drop-in (a file in static/) through asset(), another origin as it is.
 */
function signalUrlCode(signalUrl, php, ts) {
	if (/^https?:\/\//i.test(signalUrl)) return { code: `'${signalUrl}'`, imports: [] };
	if (php) {
		// signal.php reaches static/ at build (prebuild), so the generated Asset type may not list it yet.
		return { code: `asset('${signalUrl}'${ts ? ' as Asset' : ''})`, imports: ['asset'], types: ts ? ['Asset'] : [] };
	}
	return { code: `resolve('${signalUrl}')`, imports: ['resolve'] };
}

const LAYOUT = (lang, ts, signalUrl, php) => {
	const url = signalUrlCode(signalUrl, php, ts);
	const imports = [
		url.imports.length ? `\timport { ${url.imports.join(', ')} } from '$app/paths';\n` : '',
		url.types?.length ? `\timport type { ${url.types.join(', ')} } from '$app/types';\n` : ''
	].join('');
	return `<!-- The PeerDrop demo pages' frame: signaling endpoint, page width, light and dark. -->
<script${lang}>
${imports}	import { configurePeerDrop } from '${PACKAGE}';

	let { children } = $props();
	// Through $app/paths: the endpoint moves with kit.paths.base.
	configurePeerDrop({ signalUrl: ${url.code} });
</script>

<svelte:head>
	<!-- The page follows the system's light or dark setting; the components do too. -->
	<meta name="color-scheme" content="light dark" />
</svelte:head>

<main class="peerdrop-demo">
	{@render children()}
</main>

<style>
	.peerdrop-demo {
		max-width: 42rem;
		margin: 0 auto;
		padding: 2rem 1rem 4rem;
		font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
		line-height: 1.5;
	}
	.peerdrop-demo :global(h1) {
		margin: 0 0 0.25rem;
	}
	.peerdrop-demo :global(.lede) {
		margin: 0 0 1.5rem;
		opacity: 0.85;
	}
</style>
`;
};

const SEND = (lang) => `<script${lang}>
	import { page } from '$app/state';
	import { resolve } from '$app/paths';
	import { PeerDropSend } from '${PACKAGE}';

	// The share link opens the receive page; its secret travels only in the #fragment.
	const shareBase = new URL(resolve('/peerdrop/receive'), page.url).href;
</script>

<svelte:head><title>Send files · PeerDrop</title></svelte:head>

<h1>Send files</h1>
<p class="lede">Straight from this browser to another: nothing is uploaded, and every block is checked on arrival.</p>
<PeerDropSend {shareBase} />
<p><a href={resolve('/peerdrop/receive')}>Receive files with a code instead</a></p>
`;

const RECEIVE = (lang, ts) => `<script${lang}>
	import { onMount } from 'svelte';
	import { replaceState } from '$app/navigation';
	import { resolve } from '$app/paths';
	import { createReceiver, PeerDropReceive } from '${PACKAGE}';

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

<svelte:head><title>Receive files · PeerDrop</title></svelte:head>

<h1>Receive files</h1>
<p class="lede">Open the sender's link, or enter the code they read out.</p>
<PeerDropReceive {receiver} />
<p><a href={resolve('/peerdrop')}>Send files instead</a></p>
`;
