// Lazy, browser-only loading of the wasm runtime. Nothing here touches a browser global at import
// time, so components and state classes can be imported (and rendered) during SSR.
import { BROWSER } from 'esm-env';
// An explicit ?url import: Vite serves and fingerprints the .wasm in dev and build alike, where
// wasm-bindgen's own `new URL('peerdrop_bg.wasm', import.meta.url)` breaks under dependency
// pre-bundling. Adopters who move the file set `wasmUrl`.
import bundledWasmUrl from './wasm/peerdrop_bg.wasm?url';
// The OPFS storage worker's source (see scripts/copy-runtime.mjs): started from a blob: URL, which
// works wherever a bundler puts this package (the CSP allows `worker-src blob:` for it).
import storageWorkerSource from './wasm/opfs-worker-source.js';
import type * as Glue from './wasm/peerdrop.js';

export type PeerDropRuntime = typeof Glue;

export interface PeerDropConfig {
	/** Signaling endpoint (the Kit route or a signal.php URL). Default "/api/peerdrop". */
	signalUrl?: string;
	/** Where peerdrop_bg.wasm is served. Default: the file bundled with this package. */
	wasmUrl?: string | URL;
	/** STUN/TURN servers for RTCPeerConnection. Default: those the signaling endpoint hands out
	 * with the room (none unless its operator configured them); a list given here, even [], wins. */
	iceServers?: RTCIceServer[];
	/** Where the OPFS storage worker script is served. Default: a blob: URL of the copy bundled here. */
	storageWorkerUrl?: string | URL;
}

const config: PeerDropConfig = { signalUrl: '/api/peerdrop' };

/** Sets defaults for every sender, receiver and component of this page. */
export function configurePeerDrop(options: PeerDropConfig): void {
	Object.assign(config, options);
}

export function peerdropConfig(): Readonly<PeerDropConfig> {
	return config;
}

let storageWorkerBlobUrl: string | null = null;

/** The storage worker's URL to pass to the runtime's `receive()` (browser only): `override`, or a blob: URL of the bundled copy. */
export function storageWorkerUrl(override?: string | URL): string {
	if (override) return String(override);
	// One per page, kept for its life: each transfer's worker starts from it.
	storageWorkerBlobUrl ??= URL.createObjectURL(new Blob([storageWorkerSource], { type: 'text/javascript' }));
	return storageWorkerBlobUrl;
}

let loading: Promise<PeerDropRuntime> | null = null;
let loaded: PeerDropRuntime | null = null;

/**
 * Loads and instantiates the runtime once (later calls share it). Call it from `onMount`,
 * `$effect` or an event handler, never during SSR.
 */
export function loadPeerDrop(options: Pick<PeerDropConfig, 'wasmUrl'> = {}): Promise<PeerDropRuntime> {
	if (!BROWSER || typeof window === 'undefined') {
		return Promise.reject(new Error('PeerDrop runs in the browser: call loadPeerDrop() from onMount, $effect or an event handler.'));
	}
	loading ??= (async () => {
		const glue = await import('./wasm/peerdrop.js');
		await glue.default({ module_or_path: options.wasmUrl ?? config.wasmUrl ?? bundledWasmUrl });
		loaded = glue;
		return glue;
	})().catch((e) => {
		loading = null;
		throw e;
	});
	return loading;
}

/** The runtime if it has finished loading, else null (synchronous: for drop handlers). */
export function loadedPeerDrop(): PeerDropRuntime | null {
	return loaded;
}
