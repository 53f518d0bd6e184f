// peerdropHeaders() as a SvelteKit handle: privacy headers everywhere, with `csp: true` a CSP fit
// for the wasm runtime on HTML only, and never overriding what the app or Kit already set. By
// default it sets no CSP: pages get theirs from kit.csp (peerdropCsp()).
import { describe, expect, test } from 'vitest';
import { peerdropCsp, peerdropHeaders } from '../../src/lib/signaling/headers.js';

const run = async (handle: ReturnType<typeof peerdropHeaders>, response: Response) => handle({ event: {}, resolve: () => response });
const html = (headers: Record<string, string> = {}) => new Response('<!doctype html>', { headers: { 'content-type': 'text/html; charset=utf-8', ...headers } });
const directive = (csp: string, name: string) => csp.split(';').map((d) => d.trim().split(/\s+/)).find((d) => d[0] === name)?.slice(1) ?? null;

describe('peerdropHeaders', () => {
	test('HTML pages get Referrer-Policy, nosniff and a CSP allowing wasm compilation', async () => {
		const r = await run(peerdropHeaders({ csp: true }), html());
		expect(r.headers.get('referrer-policy')).toBe('no-referrer');
		expect(r.headers.get('x-content-type-options')).toBe('nosniff');
		const csp = r.headers.get('content-security-policy') ?? '';
		expect(directive(csp, 'script-src')).toEqual(expect.arrayContaining(["'self'", "'wasm-unsafe-eval'"]));
		expect(directive(csp, 'connect-src')).toContain("'self'");
		expect(directive(csp, 'object-src')).toEqual(["'none'"]);
		// Exactly the directives peerdropCsp() gives kit.csp: no inline script, workers from blob:.
		for (const [name, sources] of Object.entries(peerdropCsp())) {
			expect(directive(csp, name), name).toEqual(sources.map((s) => (s.includes(':') ? s : `'${s}'`)));
		}
		expect(directive(csp, 'script-src')).not.toContain("'unsafe-inline'");
		expect(directive(csp, 'worker-src')).toEqual(["'self'", 'blob:']);
	});

	test('by default no CSP: kit.csp provides it', async () => {
		const r = await run(peerdropHeaders(), html());
		expect(r.headers.get('content-security-policy')).toBeNull();
		expect(r.headers.get('referrer-policy')).toBe('no-referrer');
	});

	test('other responses get the privacy headers but no CSP', async () => {
		const r = await run(peerdropHeaders({ csp: true }), new Response('{}', { headers: { 'content-type': 'application/json' } }));
		expect(r.headers.get('referrer-policy')).toBe('no-referrer');
		expect(r.headers.get('content-security-policy')).toBeNull();
	});

	test('existing headers win; csp: false leaves the CSP to kit.csp', async () => {
		const r = await run(peerdropHeaders({ csp: true }), html({ 'content-security-policy': "default-src 'none'", 'referrer-policy': 'same-origin' }));
		expect(r.headers.get('content-security-policy')).toBe("default-src 'none'");
		expect(r.headers.get('referrer-policy')).toBe('same-origin');
		const off = await run(peerdropHeaders({ csp: false }), html());
		expect(off.headers.get('content-security-policy')).toBeNull();
		expect(off.headers.get('referrer-policy')).toBe('no-referrer');
	});

	test('connectSrc reaches connect-src (a PHP endpoint on another origin)', async () => {
		const r = await run(peerdropHeaders({ csp: true, connectSrc: ['https://signal.example'] }), html());
		expect(directive(r.headers.get('content-security-policy') ?? '', 'connect-src')).toContain('https://signal.example');
		expect(peerdropCsp({ connectSrc: ['https://signal.example'] })['connect-src']).toContain('https://signal.example');
	});

	test('immutable headers (a fetched Response) are left alone without throwing', async () => {
		const frozen = Response.error();
		await expect(run(peerdropHeaders({ csp: true }), frozen)).resolves.toBe(frozen);
	});
});
