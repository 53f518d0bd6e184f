// The demo pages: a send page at /peerdrop and a receive page at /peerdrop/receive. An existing
// page at either path is the app's own and is left alone.
import { PACKAGE } from './route.js';

/** @param {{ sv: any, kitRoutes: string, ts: boolean, language: string, staticSite: boolean, signalUrl: string }} o */
export function addDemo({ sv, kitRoutes, ts, language, staticSite, signalUrl }) {
	const directory = { kitRoutes };
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
