// Web Crypto only (no node: imports), so the handler runs on Node, Deno, Bun and edge runtimes.

const enc = new TextEncoder();

export function b64u(bytes: Uint8Array): string {
	let s = '';
	for (const b of bytes) s += String.fromCharCode(b);
	return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function b64uDecode(text: string): string | null {
	if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
	try {
		const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
		const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
		return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
	} catch {
		return null;
	}
}

export function hex(bytes: ArrayBuffer | Uint8Array): string {
	return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function sha256Hex(text: string): Promise<string> {
	return hex(await crypto.subtle.digest('SHA-256', enc.encode(text)));
}

const keys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
	let k = keys.get(secret);
	if (!k) {
		k = crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
		if (keys.size > 8) keys.clear();
		keys.set(secret, k);
	}
	return k;
}

export async function hmac(secret: string, message: string): Promise<Uint8Array> {
	return new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), enc.encode(message)));
}

/**
 * base64(HMAC-SHA1(secret, message)): the TURN credential coturn derives from its
 * static-auth-secret (use-auth-secret, the "TURN REST API" scheme).
 */
export async function hmacSha1Base64(secret: string, message: string): Promise<string> {
	const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
	let s = '';
	for (const b of new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(message)))) s += String.fromCharCode(b);
	return btoa(s);
}

/** Constant-time comparison of two strings of the same length. */
export function safeEqual(a: string, b: string): boolean {
	if (a.length !== b.length) return false;
	let d = 0;
	for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
	return d === 0;
}

export function randomSecret(): string {
	return hex(crypto.getRandomValues(new Uint8Array(32)));
}
