// The demo pages: a send page at /peerdrop and a receive page at /peerdrop/receive, built from
// the ready-made components (themed, light and dark), and a link to them from the home page
// while it is still sv's template. Anything already at those paths is the app's own: left alone.
import { PACKAGE } from './route.js';

/** @param {{ sv: any, kitRoutes: string, ts: boolean, language: string, staticSite: boolean, signalUrl: string }} o */
export function addDemo({ sv, kitRoutes, ts, language, staticSite, signalUrl }) {
	const base = `${kitRoutes}/peerdrop`;
	const lang = ts ? ' lang="ts"' : '';
	const write = (file, text) => sv.file(file, (content) => (content ? false : text));

	if (staticSite) {
		// adapter-static writes only prerendered pages: make the demo pages prerenderable.
		write(`${base}/+layout.${language}`, 'export const prerender = true;\n');
	}
	write(`${base}/+layout.svelte`, LAYOUT(lang, signalUrl));
	write(`${base}/+page.svelte`, SEND(lang));
	write(`${base}/receive/+page.svelte`, RECEIVE(lang, ts));
	// sv's template home page gets a way to the demo; a home page of your own is not touched.
	sv.file(`${kitRoutes}/+page.svelte`, (content) => {
		if (!content.includes('Welcome to SvelteKit') || content.includes('href="/peerdrop"')) return false;
		return `${content.replace(/\n*$/, '\n')}\n<p><a href="/peerdrop">Send files with PeerDrop</a></p>\n`;
	});
}

const LAYOUT = (lang, signalUrl) => `<!-- The PeerDrop demo pages' frame: signaling endpoint, page width, light and dark. -->
<script${lang}>
	import { configurePeerDrop } from '${PACKAGE}';

	let { children } = $props();
	configurePeerDrop({ signalUrl: '${signalUrl}' });
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

const SEND = (lang) => `<script${lang}>
	import { page } from '$app/state';
	import { PeerDropSend } from '${PACKAGE}';

	// The share link opens the receive page; its secret travels only in the #fragment.
	const shareBase = new URL('/peerdrop/receive', page.url).href;
</script>

<svelte:head><title>Send files · PeerDrop</title></svelte:head>

<h1>Send files</h1>
<p class="lede">Straight from this browser to another: nothing is uploaded, and every block is checked on arrival.</p>
<PeerDropSend {shareBase} />
<p><a href="/peerdrop/receive">Receive files with a code instead</a></p>
`;

const RECEIVE = (lang, ts) => `<script${lang}>
	import { onMount } from 'svelte';
	import { replaceState } from '$app/navigation';
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
<p><a href="/peerdrop">Send files instead</a></p>
`;
