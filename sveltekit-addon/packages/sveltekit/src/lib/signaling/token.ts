// HMAC peer tokens, exactly as docs/signaling.md section 3 (and signal.php) define them:
// base64url(payload) "." base64url(HMAC-SHA256(secret, "peerdrop-token-v1|" + base64url(payload)))
// payload = "1." room_id "." first 32 hex digits of the room key "." peer "." expiry

import { b64u, b64uDecode, hmac, safeEqual } from './crypto.js';
import { SignalingError } from './errors.js';

/** Peers 0 (the sender) to 32 (its receivers). */
export const MAX_PEER = 32;

export interface TokenClaims {
	roomId: number;
	key: string;
	/** 0: the sender; 1 to MAX_PEER: a receiver. */
	peer: number;
	exp: number;
}

async function mac(secret: string, payloadB64: string): Promise<string> {
	return b64u(await hmac(secret, 'peerdrop-token-v1|' + payloadB64));
}

export async function signToken(secret: string, roomId: number, roomKey: string, peer: number, expires: number): Promise<string> {
	const payload = b64u(new TextEncoder().encode(`1.${roomId}.${roomKey.slice(0, 32)}.${peer}.${expires}`));
	return `${payload}.${await mac(secret, payload)}`;
}

/** Checks the token against every secret (current, then previous) without an early exit. */
export async function verifyToken(secrets: string[], token: string, now: number): Promise<TokenClaims> {
	const m = token.length <= 512 ? /^([A-Za-z0-9_-]{1,256})\.([A-Za-z0-9_-]{43})$/.exec(token) : null;
	if (!m) throw new SignalingError('invalid_token');
	let valid = false;
	for (const s of secrets) valid = safeEqual(await mac(s, m[1]), m[2]) || valid;
	if (!valid) throw new SignalingError('invalid_token');
	const payload = b64uDecode(m[1]);
	// Tokens from before rooms had several receivers say 0 or 1.
	const p = payload === null ? null : /^1\.([0-9]{1,18})\.([0-9a-f]{32})\.(0|[1-9][0-9]?)\.([0-9]{1,12})$/.exec(payload);
	if (!p || Number(p[3]) > MAX_PEER) throw new SignalingError('invalid_token');
	const exp = Number(p[4]);
	if (exp <= now) throw new SignalingError('token_expired');
	return { roomId: Number(p[1]), key: p[2], peer: Number(p[3]), exp };
}
