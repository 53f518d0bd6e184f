// The Redis stores' failure paths, without a Redis: the REST store's messages name what to set
// or check, script errors become signaling errors, EVALSHA falls back to EVAL once; the client
// form refuses a URL, pointing at the entry that takes one. (The stores against a real Redis, and
// through the REST protocol, run the conformance suite: tests/sveltekit/conformance.sh.)
import { describe, expect, test } from 'vitest';
import { createRedisRestStore, createRedisStore, RedisRestError, SignalingError } from '../../src/lib/signaling/index.js';

type Call = { url: string; auth: string | null; body: string[] };

/** A fetch answering each call with `answer(body)`: [status, JSON body or raw text]. */
function fakeFetch(answer: (body: string[]) => [number, unknown]) {
	const calls: Call[] = [];
	const f = (async (url: string, init: RequestInit) => {
		const body = JSON.parse(String(init.body));
		calls.push({ url, auth: new Headers(init.headers).get('authorization'), body });
		const [status, out] = answer(body);
		return new Response(typeof out === 'string' ? out : JSON.stringify(out), { status });
	}) as unknown as typeof fetch;
	return { f, calls };
}

describe('createRedisRestStore', () => {
	test('unset URL or token: the first use says which variables to set (creating it does not throw)', async () => {
		const store = createRedisRestStore({ url: undefined, token: undefined });
		await expect(store.ping()).rejects.toThrow(/set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN/);
		await expect(store.ping()).rejects.toBeInstanceOf(RedisRestError);
	});

	test('a URL without a scheme names the variable instead of "Invalid URL"', async () => {
		const never = fakeFetch(() => [200, { result: 'PONG' }]);
		await expect(createRedisRestStore({ url: 'db.upstash.io', token: 't', fetch: never.f }).ping()).rejects.toThrow(/UPSTASH_REDIS_REST_URL is not a URL \("db\.upstash\.io"\)/);
		expect(never.calls).toEqual([]);
	});

	test('a refused token and a non-JSON answer are told apart', async () => {
		const refused = fakeFetch(() => [401, { error: 'Unauthorized' }]);
		await expect(createRedisRestStore({ url: 'https://db.test', token: 'bad', fetch: refused.f }).ping()).rejects.toThrow(/refused the token \(HTTP 401\): check UPSTASH_REDIS_REST_TOKEN/);
		const html = fakeFetch(() => [200, '<html>console</html>']);
		await expect(createRedisRestStore({ url: 'https://db.test', token: 't', fetch: html.f }).ping()).rejects.toThrow(/without JSON: is UPSTASH_REDIS_REST_URL its REST URL\?/);
	});

	test('EVALSHA first, EVAL once on NOSCRIPT; the bearer token rides along', async () => {
		const { f, calls } = fakeFetch((body) => (body[0] === 'EVALSHA' ? [400, { error: 'NOSCRIPT No matching script.' }] : [200, { result: [5, 1] }]));
		const store = createRedisRestStore({ url: 'https://db.test', token: 'tok', fetch: f });
		expect(await store.openRooms(['a', 'b'], 100)).toEqual({ count: 5, soonest: 1 });
		expect(calls.map((c) => c.body[0])).toEqual(['EVALSHA', 'EVAL']);
		expect(calls[0].body[1]).toMatch(/^[0-9a-f]{40}$/);
		expect(calls[0].auth).toBe('Bearer tok');
		expect(calls[1].body.slice(2, 4)).toEqual(['0', 'peerdrop:']);
	});

	test("a script's PD: error reply becomes the signaling error", async () => {
		const { f } = fakeFetch(() => [400, { error: 'PD:room_full' }]);
		const err = await createRedisRestStore({ url: 'https://db.test', token: 't', fetch: f }).join({ key: 'k', now: 1, ttlRoom: 60 } as never).catch((e) => e);
		expect(err).toBeInstanceOf(SignalingError);
		expect(err.code).toBe('room_full');
	});

	test('bad options are type errors', () => {
		expect(() => createRedisRestStore(undefined as never)).toThrow(TypeError);
		expect(() => createRedisRestStore({ url: 42 as never, token: 't' })).toThrow(/url must be a string/);
	});
});

describe('createRedisStore from the server entry', () => {
	test('a URL is refused with the entry that takes one', () => {
		expect(() => createRedisStore({ url: 'redis://x' } as never)).toThrow(/from '@peerdrop\/sveltekit\/redis'/);
		expect(() => createRedisStore({} as never)).toThrow(TypeError);
	});
});
