// Tokens and the Web Crypto helpers they rest on, against known vectors where they exist.
import { describe, expect, test } from 'vitest';
import { b64u, b64uDecode, hex, hmac, safeEqual, sha256Hex, randomSecret } from '../../src/lib/signaling/crypto.js';
import { signToken, verifyToken } from '../../src/lib/signaling/token.js';
import { SignalingError } from '../../src/lib/signaling/errors.js';

const KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90' + 'ffffffffffffffffffffffffffffffff';

describe('crypto', () => {
	test('SHA-256 and HMAC-SHA256 match FIPS 180-2 and RFC 4231', async () => {
		expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
		expect(hex(await hmac('Jefe', 'what do ya want for nothing?'))).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
	});

	test('base64url without padding, and a strict decoder', () => {
		expect(b64u(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
		expect(b64u(new TextEncoder().encode('peerdrop'))).toBe('cGVlcmRyb3A');
		expect(b64uDecode('cGVlcmRyb3A')).toBe('peerdrop');
		expect(b64uDecode('cGVl+mRyb3A')).toBeNull(); // standard alphabet is not base64url
		expect(b64uDecode('a')).toBeNull(); // impossible length
		expect(b64uDecode(b64u(new Uint8Array([0xff, 0xfe])))).toBeNull(); // not UTF-8
	});

	test('safeEqual and randomSecret', () => {
		expect(safeEqual('abc', 'abc')).toBe(true);
		expect(safeEqual('abc', 'abd')).toBe(false);
		expect(safeEqual('abc', 'abcd')).toBe(false);
		const s = randomSecret();
		expect(s).toMatch(/^[0-9a-f]{64}$/);
		expect(randomSecret()).not.toBe(s);
	});
});

describe('tokens (docs/signaling.md section 3)', () => {
	test('the payload is 1.room.key32.peer.expiry, and the MAC covers it', async () => {
		const token = await signToken('s'.repeat(32), 42, KEY, 1, 1_800_000_000);
		const [payload, mac] = token.split('.');
		expect(b64uDecode(payload)).toBe(`1.42.${KEY.slice(0, 32)}.1.1800000000`);
		expect(mac).toBe(b64u(await hmac('s'.repeat(32), 'peerdrop-token-v1|' + payload)));
		await expect(verifyToken(['s'.repeat(32)], token, 1_700_000_000)).resolves.toEqual({ roomId: 42, key: KEY.slice(0, 32), peer: 1, exp: 1_800_000_000 });
	});

	test('any of the secrets verifies; none, an expired or altered token does not', async () => {
		const token = await signToken('old'.repeat(11), 7, KEY, 0, 1000);
		await expect(verifyToken(['new'.repeat(11), 'old'.repeat(11)], token, 999)).resolves.toMatchObject({ roomId: 7, peer: 0 });
		const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: SignalingError) => e.code);
		expect(await code(verifyToken(['new'.repeat(11)], token, 999))).toBe('invalid_token');
		expect(await code(verifyToken(['old'.repeat(11)], token, 1000))).toBe('token_expired');
		// A payload changed to another peer no longer matches its MAC.
		const [payload, mac] = token.split('.');
		const forged = b64u(new TextEncoder().encode(b64uDecode(payload)!.replace('.0.', '.1.')));
		expect(await code(verifyToken(['old'.repeat(11)], `${forged}.${mac}`, 999))).toBe('invalid_token');
		// A correctly signed payload of the wrong shape is still refused.
		const odd = b64u(new TextEncoder().encode('2.7.x.0.1000'));
		const oddMac = b64u(await hmac('old'.repeat(11), 'peerdrop-token-v1|' + odd));
		expect(await code(verifyToken(['old'.repeat(11)], `${odd}.${oddMac}`, 999))).toBe('invalid_token');
		expect(await code(verifyToken(['old'.repeat(11)], 'x'.repeat(600), 999))).toBe('invalid_token');
	});

	test('peers 0 to 32 (a room for several receivers), and nothing else, as signal.php', async () => {
		const secret = 's'.repeat(32);
		for (const peer of [0, 1, 2, 9, 10, 31, 32]) {
			await expect(verifyToken([secret], await signToken(secret, 5, KEY, peer, 2000), 1)).resolves.toMatchObject({ peer });
		}
		const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: SignalingError) => e.code);
		for (const peer of ['33', '99', '01', '100', '-1']) {
			const payload = b64u(new TextEncoder().encode(`1.5.${'a'.repeat(32)}.${peer}.99999`));
			const mac = b64u(await hmac(secret, 'peerdrop-token-v1|' + payload));
			expect(await code(verifyToken([secret], `${payload}.${mac}`, 1)), peer).toBe('invalid_token');
		}
	});
});
