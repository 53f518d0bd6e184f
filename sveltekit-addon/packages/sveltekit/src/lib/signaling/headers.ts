// Privacy headers for PeerDrop pages, as a SvelteKit `handle` for src/hooks.server.ts:
//   export const handle = peerdropHeaders();            // or sequence(peerdropHeaders(), other)

export interface PeerDropHeadersOptions {
	/** Sets `Content-Security-Policy` on HTML pages (default true). Turn it off when `kit.csp` is used. */
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
 * WebAssembly), workers from this origin (the OPFS writer), no inline script. SvelteKit's own
 * hydration script is inline, so for Kit pages prefer `kit.csp` (it adds hashes/nonces):
 * see `peerdropCsp()` and docs/sveltekit.md.
 */
export function peerdropCspDirectives(opts: Pick<PeerDropHeadersOptions, 'connectSrc' | 'imgSrc'> = {}) {
	return {
		'default-src': ['self'],
		'script-src': ['self', 'wasm-unsafe-eval'],
		'worker-src': ['self'],
		'style-src': ['self', 'unsafe-inline'],
		'img-src': ['self', 'data:', 'blob:', ...(opts.imgSrc ?? [])],
		'connect-src': ['self', ...(opts.connectSrc ?? [])],
		'object-src': ['none'],
		'base-uri': ['self'],
		'frame-ancestors': ['none'],
		'form-action': ['self']
	} as const;
}

const quote = (s: string) => (/^(self|none|unsafe-inline|wasm-unsafe-eval|strict-dynamic|unsafe-eval)$/.test(s) ? `'${s}'` : s);

/**
 * `handle` that sets `Referrer-Policy: no-referrer` on every response (the share link's fragment
 * never leaves the page anyway; this also keeps the page address out of Referer headers) and
 * `X-Content-Type-Options: nosniff`. With `csp: true` (default) it also sets a CSP on HTML
 * responses that do not already carry one (Kit's `kit.csp` takes precedence).
 */
export function peerdropHeaders(options: PeerDropHeadersOptions = {}): PeerDropHandle {
	const csp = options.csp ?? true;
	const directives = peerdropCspDirectives(options);
	// Kit hydrates pages with an inline <script>: without kit.csp, 'unsafe-inline' is needed for it.
	const policy = Object.entries(directives)
		.map(([k, v]) => `${k} ${(k === 'script-src' ? [...v, 'unsafe-inline'] : v).map(quote).join(' ')}`)
		.join('; ');
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
		if (csp && (response.headers.get('content-type') ?? '').startsWith('text/html')) set('Content-Security-Policy', policy);
		return response;
	};
}

/**
 * Directives for `kit.csp` (svelte.config.js, or `sveltekit({ csp })` in vite.config):
 * `csp: { mode: 'auto', directives: peerdropCsp() }`. Kit then adds hashes or nonces for its
 * inline script, so no 'unsafe-inline' script is needed.
 */
export function peerdropCsp(opts: Pick<PeerDropHeadersOptions, 'connectSrc' | 'imgSrc'> = {}): Record<string, string[]> {
	const out: Record<string, string[]> = {};
	for (const [k, v] of Object.entries(peerdropCspDirectives(opts))) out[k] = [...v];
	return out;
}
