// Privacy headers and the Content-Security-Policy for PeerDrop pages.
//
// The CSP comes from SvelteKit itself: `kit.csp` hashes (prerendered pages, as a <meta> tag) or
// nonces (server-rendered pages, as a header) its own inline hydration script, so no
// 'unsafe-inline' script is ever allowed. In vite.config:
//   sveltekit({ adapter: adapter(), csp: { mode: 'auto', directives: peerdropCsp() } })
// The `handle` below adds the headers Kit does not set, in src/hooks.server.ts:
//   export const handle = peerdropHeaders();            // or sequence(peerdropHeaders(), other)
import { DEV } from 'esm-env';

export interface PeerDropHeadersOptions {
	/**
	 * Also set `Content-Security-Policy` (the `peerdropCsp()` directives, without any inline script)
	 * on HTML responses that carry none (default false). Kit's pages get their policy from
	 * `kit.csp`; this is for HTML that Kit does not render, e.g. from your own `+server` routes.
	 * A Kit page with this policy and no `kit.csp` cannot hydrate: configure `kit.csp`.
	 */
	csp?: boolean;
	/** Extra `connect-src` sources, e.g. the origin of a PHP signaling endpoint on another host. */
	connectSrc?: string[];
	/** Extra `img-src` sources. */
	imgSrc?: string[];
}

/** Minimal shape of SvelteKit's Handle, so this module does not need @sveltejs/kit at runtime. */
type Resolve = (event: never, opts?: never) => Response | Promise<Response>;
export type PeerDropHandle = (input: { event: unknown; resolve: Resolve }) => Promise<Response>;

/**
 * The CSP fitting the wasm runtime: scripts from this origin plus `'wasm-unsafe-eval'` (compiling
 * WebAssembly), workers from this origin and blob: (the OPFS writer, started from a blob: URL so
 * that no bundler can misplace its script), `connect-src` this origin (signaling,
 * the .wasm) plus `connectSrc`, and no inline script: Kit adds a hash or nonce for its own.
 */
export function peerdropCspDirectives(opts: Pick<PeerDropHeadersOptions, 'connectSrc' | 'imgSrc'> = {}) {
	return {
		'default-src': ['self'],
		'script-src': ['self', 'wasm-unsafe-eval'],
		'worker-src': ['self', 'blob:'],
		'style-src': ['self', 'unsafe-inline'],
		'img-src': ['self', 'data:', 'blob:', ...(opts.imgSrc ?? [])],
		'connect-src': ['self', ...(opts.connectSrc ?? [])],
		'object-src': ['none'],
		'base-uri': ['self'],
		'frame-ancestors': ['none'],
		'form-action': ['self']
	} as const;
}

/**
 * Directives for `kit.csp` (`sveltekit({ csp })` in vite.config, or `kit.csp` in an older
 * svelte.config.js): `csp: { mode: 'auto', directives: peerdropCsp() }`. Kit then adds hashes or
 * nonces for its inline script, so no 'unsafe-inline' script is needed.
 */
export function peerdropCsp(opts: Pick<PeerDropHeadersOptions, 'connectSrc' | 'imgSrc'> = {}): Record<string, string[]> {
	const out: Record<string, string[]> = {};
	for (const [k, v] of Object.entries(peerdropCspDirectives(opts))) out[k] = [...v];
	return out;
}

const quote = (s: string) => (/^(self|none|unsafe-inline|wasm-unsafe-eval|strict-dynamic|unsafe-eval)$/.test(s) ? `'${s}'` : s);

/** The `peerdropCsp()` directives as a header value (no inline script allowed). */
function cspHeader(opts: Pick<PeerDropHeadersOptions, 'connectSrc' | 'imgSrc'> = {}): string {
	return Object.entries(peerdropCspDirectives(opts))
		.map(([k, v]) => `${k} ${v.map(quote).join(' ')}`)
		.join('; ');
}

let warned = false;

/**
 * `handle` that sets `Referrer-Policy: no-referrer` on every response (the share link's fragment
 * never leaves the page anyway; this also keeps the page address out of Referer headers) and
 * `X-Content-Type-Options: nosniff`. The CSP comes from `kit.csp` (see `peerdropCsp()`); with
 * `csp: true` the same policy also goes on HTML responses that carry none. Under `vite dev` it
 * warns once about a page served without any CSP.
 */
export function peerdropHeaders(options: PeerDropHeadersOptions = {}): PeerDropHandle {
	const policy = options.csp ? cspHeader(options) : null;
	return async ({ event, resolve }) => {
		const response = await resolve(event as never);
		const set = (name: string, value: string) => {
			try {
				if (!response.headers.has(name)) response.headers.set(name, value);
			} catch {
				/* immutable headers (e.g. a fetched Response): leave them */
			}
		};
		set('Referrer-Policy', 'no-referrer');
		set('X-Content-Type-Options', 'nosniff');
		const html = (response.headers.get('content-type') ?? '').startsWith('text/html');
		if (html && policy) set('Content-Security-Policy', policy);
		if (DEV && html && !warned && !response.headers.has('content-security-policy')) {
			warned = true;
			console.warn(
				"[peerdrop] this page has no Content-Security-Policy: add `csp: { mode: 'auto', directives: peerdropCsp() }` " +
					"to sveltekit({...}) in vite.config (import { peerdropCsp } from '@peerdrop/sveltekit/server')"
			);
		}
		return response;
	};
}
