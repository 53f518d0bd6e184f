// The signaling handler through its public entry: real Request objects in, Responses out, the
// memory store behind it, and a test clock for expiry (held polls run on real time).
import { describe, expect, test } from 'vitest';
import { createSignalingHandler, createMemoryStore, CATALOG, MAX_BODY, MAX_DATA, type SignalingOptions } from '../../src/lib/signaling/index.js';

const URL_ = 'http://app.test/api/peerdrop';
const SECRET = 'k'.repeat(40);
const ROOM = 'AAAAAAAAAAAAAAAAAAAAAA'; // 22 base64url characters, the shortest valid id
const room = (n: number) => `room-${String(n).padStart(17, '0')}`; // 22 characters

type Reply = { status: number; headers: Headers; body: any };

function setup(options: SignalingOptions = {}) {
	const clock = { t: 1_700_000_000 };
	// Every request comes from one address here: rate limit and quotas off unless a test sets them.
	const h = createSignalingHandler({
		secret: SECRET, rateLimitPerMinute: 0, quotaRooms: 0, quotaCreatesPerMinute: 0, quotaFailedJoins: 0, now: () => clock.t, ...options
	});
	async function request(init: RequestInit & { url?: string; address?: string } = {}): Promise<Reply> {
		const { url = URL_, address = '203.0.113.7', ...rest } = init;
		const res = await h.handle({ request: new Request(url, rest), getClientAddress: () => address });
		const text = await res.text();
		let body: unknown = text;
		if ((res.headers.get('content-type') ?? '').startsWith('application/json')) body = JSON.parse(text);
		return { status: res.status, headers: res.headers, body };
	}
	const post = (body: unknown, extra: { headers?: Record<string, string>; address?: string; signal?: AbortSignal } = {}) =>
		request({
			method: 'POST',
			body: typeof body === 'string' ? body : JSON.stringify(body),
			headers: { 'content-type': 'application/json', ...extra.headers },
			address: extra.address,
			signal: extra.signal
		});
	const op = (o: string, fields: Record<string, unknown> = {}, extra?: Parameters<typeof post>[1]) => post({ v: 1, op: o, ...fields }, extra);
	/** A room with both peers in it. */
	async function pair(id = ROOM) {
		const a = await op('create', { room: id });
		const b = await op('join', { room: id });
		expect([a.status, b.status]).toEqual([201, 200]);
		return { sender: a.body.token as string, receiver: b.body.token as string };
	}
	return { h, clock, request, post, op, pair };
}

function expectError(r: Reply, code: keyof typeof CATALOG, status: number = CATALOG[code][0]) {
	expect(r.status).toBe(status);
	expect(r.body.error.code).toBe(code);
	expect(typeof r.body.error.message).toBe('string');
	expect(r.body.error.message.length).toBeGreaterThan(10);
}

describe('create, join, send, poll, leave', () => {
	test('a full exchange between the two peers', async () => {
		const { op } = setup();
		const created = await op('create', { room: ROOM });
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({ peer: 0, cursor: 0, expires_in: 600 });
		expect(created.body.token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);

		const joined = await op('join', { room: ROOM });
		expect(joined.status).toBe(200);
		expect(joined.body).toMatchObject({ peer: 1, cursor: 0, expires_in: 3600 });
		const [a, b] = [created.body.token, joined.body.token];

		// The sender learns that someone joined from a server message.
		const first = await op('poll', { token: a, after: 0 });
		expect(first.status).toBe(200);
		expect(first.body.messages.map((m: { type: string }) => m.type)).toEqual(['peer-joined']);
		expect(first.body.poll_after_ms).toBe(0);

		const sent = await op('send', { token: a, seq: 1, type: 'sealed', data: 'hello' });
		expect(sent.status).toBe(201);
		// A retry of the same message is idempotent: same id, 200 instead of 201.
		const again = await op('send', { token: a, seq: 1, type: 'sealed', data: 'hello' });
		expect(again).toMatchObject({ status: 200, body: { id: sent.body.id } });
		// The same seq with other content is a conflict.
		expectError(await op('send', { token: a, seq: 1, type: 'sealed', data: 'other' }), 'seq_conflict', 409);

		const got = await op('poll', { token: b, after: 0 });
		expect(got.body.messages).toEqual([{ id: sent.body.id, type: 'sealed', data: 'hello', seq: 1 }]);
		expect(got.body.cursor).toBe(sent.body.id);
		// Acknowledged by the next poll's cursor: nothing left, and a short poll gets the interval hint.
		const empty = await op('poll', { token: b, after: got.body.cursor });
		expect(empty.body).toEqual({ messages: [], cursor: got.body.cursor, poll_after_ms: 1000 });

		// Leaving tells the other peer; the room then refuses new messages.
		expect(await op('leave', { token: b })).toMatchObject({ status: 200, body: { ok: true } });
		const left = await op('poll', { token: a, after: first.body.cursor });
		expect(left.body.messages.map((m: { type: string }) => m.type)).toEqual(['peer-left']);
		expectError(await op('send', { token: a, seq: 2, type: 'bye', data: '' }), 'peer_left', 410);
		expectError(await op('poll', { token: b, after: 0 }), 'peer_left', 410);
		// Leave is idempotent.
		expect((await op('leave', { token: b })).status).toBe(200);
	});

	test('one join wins; unknown and duplicate rooms are refused', async () => {
		const { op } = setup();
		await op('create', { room: ROOM });
		expectError(await op('create', { room: ROOM }), 'room_exists', 409);
		expect((await op('join', { room: ROOM })).status).toBe(200);
		expectError(await op('join', { room: ROOM }), 'room_full', 409);
		expectError(await op('join', { room: room(1) }), 'room_not_found', 404);
	});

	test('every response carries the privacy and caching headers', async () => {
		const { op, request } = setup();
		for (const r of [await op('create', { room: ROOM }), await op('join', { room: room(2) }), await request({ method: 'GET' })]) {
			expect(r.headers.get('content-type')).toBe('application/json');
			expect(r.headers.get('cache-control')).toBe('no-store');
			expect(r.headers.get('referrer-policy')).toBe('no-referrer');
			expect(r.headers.get('x-content-type-options')).toBe('nosniff');
			expect(r.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
		}
	});

	test('expiry: an unjoined room lives ttlUnjoined, tokens live ttlRoom', async () => {
		const { op, clock } = setup({ ttlUnjoined: 60, ttlRoom: 120 });
		const a = (await op('create', { room: ROOM })).body.token;
		clock.t += 61;
		// The first request sees the room expired; cleanup after it then deletes the room.
		expectError(await op('poll', { token: a, after: 0 }), 'room_expired', 410);
		await new Promise((r) => setTimeout(r, 0));
		expectError(await op('poll', { token: a, after: 0 }), 'room_closed', 410);
		expectError(await op('join', { room: ROOM }), 'room_not_found', 404);

		const b = await op('create', { room: room(3) });
		clock.t += 121;
		expectError(await op('poll', { token: b.body.token, after: 0 }), 'token_expired', 410);
	});
});

describe('request validation', () => {
	test.each([
		[{ op: 'create', room: ROOM }, 'missing_field'],
		[{ v: '1', op: 'create', room: ROOM }, 'invalid_field'],
		[{ v: 2, op: 'create', room: ROOM }, 'unsupported_version'],
		[{ v: 1, room: ROOM }, 'missing_field'],
		[{ v: 1, op: 'open', room: ROOM }, 'unknown_op'],
		[{ v: 1, op: 'create' }, 'missing_field'],
		[{ v: 1, op: 'create', room: 42 }, 'invalid_field'],
		[{ v: 1, op: 'create', room: 'short' }, 'invalid_room'],
		[{ v: 1, op: 'create', room: 'A'.repeat(65) }, 'invalid_room'],
		[{ v: 1, op: 'create', room: 'A'.repeat(21) + '+' }, 'invalid_room']
	])('%j -> %s', async (body, code) => {
		const { post } = setup();
		expectError(await post(body), code as keyof typeof CATALOG);
	});

	test('the exact JSON the contract needs: integers, depth, objects, UTF-8', async () => {
		const { post } = setup();
		// 1.0 is not an integer in the contract (JSON.parse would say it is).
		expectError(await post(`{"v":1.0,"op":"create","room":"${ROOM}"}`), 'invalid_field');
		expectError(await post(`{"v":1e0,"op":"create","room":"${ROOM}"}`), 'invalid_field');
		expectError(await post('{"v":1,'), 'invalid_json');
		expectError(await post('[1,2]'), 'not_an_object');
		expectError(await post('"text"'), 'not_an_object');
		expectError(await post('{"a":' + '['.repeat(7) + ']'.repeat(7) + '}'), 'json_too_deep');
		// Seven nested containers are allowed (PHP's depth 8): the error is then about the fields.
		expectError(await post('{"a":' + '['.repeat(6) + ']'.repeat(6) + '}'), 'missing_field');
		expectError(await post('{"v":1,"op":"create","room":"\\ud800"}'), 'invalid_utf8');
		const bad = new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]);
		const { h } = setup();
		const r = await h.handle({ request: new Request(URL_, { method: 'POST', body: bad, headers: { 'content-type': 'application/json' } }) });
		expect(r.status).toBe(400);
		expect((await r.json()).error.code).toBe('invalid_utf8');
	});

	test('send and poll fields', async () => {
		const { op, pair } = setup();
		const { sender: a } = await pair();
		expectError(await op('send', { token: a, seq: 0, type: 'offer', data: '' }), 'invalid_seq');
		expectError(await op('send', { token: a, seq: 1.5, type: 'offer', data: '' }), 'invalid_seq');
		expectError(await op('send', { token: a, seq: 2 ** 53, type: 'offer', data: '' }), 'invalid_seq');
		expectError(await op('send', { token: a, seq: 1, type: 'chat', data: '' }), 'unknown_type', 422);
		expectError(await op('send', { token: a, seq: 1, type: 'offer' }), 'missing_field');
		expectError(await op('poll', { token: a, after: -1 }), 'invalid_cursor');
		expectError(await op('poll', { token: a, after: '0' }), 'invalid_cursor');
		expectError(await op('poll', { token: a, after: 0, wait: 26 }), 'invalid_wait');
		expectError(await op('poll', { token: a, after: 0, wait: 1.5 }), 'invalid_wait');
		// wait: null means no wait.
		expect((await op('poll', { token: a, after: 0, wait: null })).status).toBe(200);
	});

	test('tokens: forged, foreign and malformed ones are refused', async () => {
		const { op, pair } = setup();
		const { sender: a } = await pair();
		const [payload, mac] = a.split('.');
		const flipped = (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
		expectError(await op('poll', { token: `${payload}.${flipped}`, after: 0 }), 'invalid_token', 401);
		expectError(await op('poll', { token: 'not-a-token', after: 0 }), 'invalid_token', 401);
		// Signed by another server's secret.
		const other = setup({ secret: 'z'.repeat(40) });
		const foreign = (await other.op('create', { room: ROOM })).body.token;
		expectError(await op('poll', { token: foreign, after: 0 }), 'invalid_token', 401);
	});

	test('a previous secret keeps tokens valid during a key rotation', async () => {
		const store = createMemoryStore();
		const before = setup({ store, secret: 'old-secret-'.repeat(4) });
		const token = (await before.op('create', { room: ROOM })).body.token;
		const rotated = setup({ store, secret: 'new-secret-'.repeat(4), previousSecret: 'old-secret-'.repeat(4) });
		expect((await rotated.op('poll', { token, after: 0 })).status).toBe(200);
		const without = setup({ store, secret: 'new-secret-'.repeat(4) });
		expectError(await without.op('poll', { token, after: 0 }), 'invalid_token', 401);
	});
});

describe('HTTP layer', () => {
	test('methods: GET is the health check, others get 405 with Allow', async () => {
		const { request } = setup();
		const health = await request({ method: 'GET' });
		expect(health.status).toBe(200);
		expect(health.body).toMatchObject({ ok: true, version: 1, storage: 'memory', limits: { max_body_bytes: MAX_BODY, max_data_bytes: MAX_DATA } });
		for (const method of ['PUT', 'DELETE', 'PATCH']) {
			const r = await request({ method });
			expectError(r, 'method_not_allowed', 405);
			expect(r.headers.get('allow')).toBe('GET, POST, OPTIONS');
		}
	});

	test('content types', async () => {
		const { post } = setup();
		const body = { v: 1, op: 'create', room: ROOM };
		expectError(await post(body, { headers: { 'content-type': 'text/plain' } }), 'unsupported_media_type', 415);
		expectError(await post(body, { headers: { 'content-type': 'application/json; charset=latin1' } }), 'unsupported_media_type', 415);
		expect((await post(body, { headers: { 'content-type': 'Application/JSON; charset="UTF-8"' } })).status).toBe(201);
	});

	test('body size: declared and streamed bodies over 64 KiB, empty bodies', async () => {
		const { h, post } = setup();
		const big = JSON.stringify({ v: 1, op: 'create', room: ROOM, pad: 'x'.repeat(MAX_BODY) });
		expectError(await post(big), 'body_too_large', 413);
		// Without Content-Length the handler stops reading at the limit.
		const stream = new ReadableStream<Uint8Array>({
			start(c) {
				c.enqueue(new TextEncoder().encode(big));
				c.close();
			}
		});
		const r = await h.handle({
			request: new Request(URL_, { method: 'POST', body: stream, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit)
		});
		expect(r.status).toBe(413);
		expect((await r.json()).error.code).toBe('body_too_large');
		expectError(await post(''), 'empty_body');
		// A declared length is checked before anything is read.
		expectError(await post('{}', { headers: { 'content-length': String(MAX_BODY + 1) } }), 'body_too_large', 413);
		expectError(await post('{}', { headers: { 'content-length': '12abc' } }), 'invalid_json');
		// Exactly 64 KiB is allowed.
		const exact = JSON.stringify({ v: 1, op: 'create', room: ROOM, pad: '' });
		expect((await post(exact.replace('"pad":""', `"pad":"${'x'.repeat(MAX_BODY - exact.length)}"`))).status).toBe(201);
	});

	test('message data over 16 KiB is refused; 16 KiB passes', async () => {
		const { op, pair } = setup();
		const { sender: a } = await pair();
		expectError(await op('send', { token: a, seq: 1, type: 'sealed', data: 'x'.repeat(MAX_DATA + 1) }), 'message_too_large', 413);
		// Counted in UTF-8 bytes, not characters.
		expectError(await op('send', { token: a, seq: 1, type: 'sealed', data: 'é'.repeat(MAX_DATA / 2 + 1) }), 'message_too_large', 413);
		expect((await op('send', { token: a, seq: 1, type: 'sealed', data: 'x'.repeat(MAX_DATA) })).status).toBe(201);
	});

	test('CORS: only allowed origins get headers; preflights from others are refused', async () => {
		const { request, post } = setup({ allowedOrigins: ['https://app.example'] });
		const ok = await request({ method: 'OPTIONS', headers: { origin: 'https://app.example' } });
		expect(ok.status).toBe(200);
		expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
		expect(ok.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
		expect(ok.headers.get('access-control-allow-headers')).toBe('Content-Type');
		const no = await request({ method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
		expectError(no, 'origin_not_allowed', 403);
		expect(no.headers.get('access-control-allow-origin')).toBeNull();
		const created = await post({ v: 1, op: 'create', room: ROOM }, { headers: { origin: 'https://app.example' } });
		expect(created.headers.get('access-control-expose-headers')).toBe('Retry-After');
		expect(created.headers.get('vary')).toBe('Origin');
	});

	test('metrics: off by default, bearer token required, Prometheus text', async () => {
		expectError(await setup().request({ method: 'GET', url: `${URL_}?metrics` }), 'metrics_disabled', 404);
		const { request, op } = setup({ metricsToken: 'm'.repeat(20) });
		await op('create', { room: ROOM });
		const denied = await request({ method: 'GET', url: `${URL_}?metrics`, headers: { authorization: 'Bearer wrong-token-value' } });
		expectError(denied, 'metrics_unauthorized', 401);
		expect(denied.headers.get('www-authenticate')).toBe('Bearer realm="peerdrop-metrics"');
		const m = await request({ method: 'GET', url: `${URL_}?metrics`, headers: { authorization: `Bearer ${'m'.repeat(20)}` } });
		expect(m.status).toBe(200);
		expect(m.headers.get('content-type')).toMatch(/^text\/plain/);
		expect(m.body).toContain('peerdrop_rooms_created_total 1');
		expect(m.body).toContain('peerdrop_requests_total{op="create",status="201"} 1');
		expect(m.body).toContain('peerdrop_request_duration_seconds_count{op="create"} 1');
		expect(m.body).toContain('peerdrop_request_duration_seconds_bucket{op="create",le="+Inf"} 1');
		expect(m.body).toContain('peerdrop_open_rooms 1');
		expect(m.body).toContain('peerdrop_storage_live_bytes 256');
		expect(m.body).toContain('peerdrop_max_db_bytes 268435456');
		expect(m.body).toContain('peerdrop_quota_limit{quota="rooms"} 0');
	});

	test('a request refused by the rate limiter is not counted and cleans nothing up', async () => {
		const { h, op, request, clock } = setup({ rateLimitPerMinute: 1, rateLimitBurst: 1, ttlUnjoined: 30, ttlRoom: 60, metricsToken: 'm'.repeat(20) });
		expect((await op('create', { room: ROOM }, { address: '198.51.100.3' })).status).toBe(201);
		clock.t += 31; // the room has expired; the bucket holds half a token
		expectError(await op('create', { room: room(2) }, { address: '198.51.100.3' }), 'rate_limited', 429);
		await new Promise((r) => setTimeout(r, 20));
		expect(await h.cleanup()).toBe(1); // the refused request left the expired room alone
		const m = await request({ method: 'GET', url: `${URL_}?metrics`, headers: { authorization: `Bearer ${'m'.repeat(20)}` } });
		expect(m.body).toContain('peerdrop_rate_limited_total 1'); // the create that took the last token
		expect(m.body).not.toContain('status="429"');
		expect(m.body).toContain('peerdrop_requests_total{op="create",status="201"} 1');
	});

	test('allowed origins match without regard to case, as in signal.php', async () => {
		const { request } = setup({ allowedOrigins: ['https://App.Example'] });
		const pre = await request({ method: 'OPTIONS', headers: { origin: 'https://app.example' } });
		expect(pre.status).toBe(200);
		expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
	});

	test('options are checked when the handler is made', () => {
		expect(() => createSignalingHandler({ secret: 'change-me' })).toThrow(RangeError);
		expect(() => createSignalingHandler({ ttlUnjoined: 600, ttlRoom: 300 })).toThrow(/ttlRoom/);
		expect(() => createSignalingHandler({ allowedOrigins: ['https://a.example/path'] })).toThrow(/allowedOrigins/);
		expect(() => createSignalingHandler({ allowedOrigins: ['https://*.example'] })).toThrow(/allowedOrigins/);
		expect(() => createSignalingHandler({ secret: 'Replace-With-A-Long-Random-String' })).toThrow(/example value/);
		expect(() => createSignalingHandler({ quotaRooms: -1 })).toThrow(/quotaRooms/);
		expect(() => createSignalingHandler({ metricsToken: 'short' })).toThrow(/metricsToken/);
	});
});

describe('limits', () => {
	test('rate limit per client address: burst, then 429 with Retry-After, refilled over time', async () => {
		const { request, clock } = setup({ rateLimitPerMinute: 60, rateLimitBurst: 3 });
		const get = (address: string) => request({ method: 'GET', address });
		for (let i = 0; i < 3; i++) expect((await get('198.51.100.1')).status).toBe(200);
		const limited = await get('198.51.100.1');
		expectError(limited, 'rate_limited', 429);
		expect(limited.headers.get('retry-after')).toBe('1');
		// Another address has its own bucket.
		expect((await get('198.51.100.2')).status).toBe(200);
		// IPv6 clients share a bucket per /64; an IPv4-mapped address counts as the IPv4 one.
		for (let i = 0; i < 3; i++) expect((await get(`2001:db8:1:2::${i + 1}`)).status).toBe(200);
		expectError(await get('2001:db8:1:2:ffff::9'), 'rate_limited', 429);
		expectError(await get('::ffff:198.51.100.1'), 'rate_limited', 429);
		// One request per second at 60 per minute.
		clock.t += 1;
		expect((await get('198.51.100.1')).status).toBe(200);
		expectError(await get('198.51.100.1'), 'rate_limited', 429);
	});

	test('queue_full: unacknowledged messages per recipient', async () => {
		const { op, pair } = setup({ maxQueue: 2 });
		const { sender: a, receiver: b } = await pair();
		expect((await op('send', { token: a, seq: 1, type: 'candidate', data: '1' })).status).toBe(201);
		expect((await op('send', { token: a, seq: 2, type: 'candidate', data: '2' })).status).toBe(201);
		const full = await op('send', { token: a, seq: 3, type: 'candidate', data: '3' });
		expectError(full, 'queue_full', 429);
		expect(full.headers.get('retry-after')).toBe('2');
		// Once the receiver acknowledges, there is room again.
		const got = await op('poll', { token: b, after: 0 });
		await op('poll', { token: b, after: got.body.cursor });
		expect((await op('send', { token: a, seq: 3, type: 'candidate', data: '3' })).status).toBe(201);
	});

	test('room_message_limit: messages over a room life', async () => {
		const { op, pair } = setup({ maxRoomMessages: 3 });
		const { sender: a, receiver: b } = await pair();
		await op('send', { token: a, seq: 1, type: 'offer', data: '' });
		await op('send', { token: b, seq: 1, type: 'answer', data: '' });
		await op('send', { token: a, seq: 2, type: 'candidate', data: '' });
		expectError(await op('send', { token: b, seq: 2, type: 'candidate', data: '' }), 'room_message_limit', 429);
	});

	test('server_full: open rooms', async () => {
		const { op } = setup({ maxRooms: 2 });
		await op('create', { room: room(1) });
		await op('create', { room: room(2) });
		const full = await op('create', { room: room(3) });
		expectError(full, 'server_full', 503);
		expect(full.headers.get('retry-after')).toBe('60');
	});

	test('maxDbBytes caps the live data: space comes back as messages are read and rooms expire', async () => {
		const { op, pair, clock } = setup({ maxDbBytes: 20 * 16384, maxQueue: 1000 });
		const { sender: a, receiver: b } = await pair();
		const big = 'z'.repeat(16384);
		let seq = 0;
		let r: Reply;
		do r = await op('send', { token: a, seq: ++seq, type: 'sealed', data: big });
		while (r.status === 201 && seq < 100);
		expectError(r, 'storage_quota_exceeded', 507);
		expect(r.headers.get('retry-after')).toBe('60');
		expect(seq).toBeGreaterThan(15);
		expectError(await op('create', { room: room(9) }), 'storage_quota_exceeded', 507);
		// Read: the payloads are wiped and stop counting.
		let cursor = 0;
		for (;;) {
			const p = await op('poll', { token: b, after: cursor });
			if (p.body.messages.length === 0) break;
			cursor = p.body.cursor;
		}
		expect((await op('send', { token: a, seq: ++seq, type: 'sealed', data: big })).status).toBe(201);
		do r = await op('send', { token: a, seq: ++seq, type: 'sealed', data: big });
		while (r.status === 201 && seq < 200);
		expectError(r, 'storage_quota_exceeded', 507);
		// Expired rooms stop counting at once, before any cleanup.
		clock.t += 3601;
		expect((await op('create', { room: room(10) })).status).toBe(201);
	});
});

describe('per-client quotas', () => {
	test('open rooms per client; others unaffected; IPv6 per /64; leaving gives a place back', async () => {
		const { op } = setup({ quotaRooms: 2 });
		const as = (address: string) => ({ address });
		const first = await op('create', { room: room(1) }, as('198.51.100.1'));
		await op('create', { code: true }, as('198.51.100.1'));
		const over = await op('create', { room: room(3) }, as('198.51.100.1'));
		expectError(over, 'quota_exceeded', 429);
		expect(over.body.error.message).toMatch(/open-rooms quota/);
		expect(over.headers.get('retry-after')).toBe('600');
		expect((await op('create', { room: room(4) }, as('198.51.100.2'))).status).toBe(201);
		await op('leave', { token: first.body.token }, as('198.51.100.1'));
		expect((await op('create', { room: room(5) }, as('198.51.100.1'))).status).toBe(201);
		await op('create', { room: room(6) }, as('2001:db8:1:2::1'));
		await op('create', { room: room(7) }, as('2001:db8:1:2:aaaa::2'));
		expectError(await op('create', { room: room(8) }, as('2001:db8:1:2::3')), 'quota_exceeded', 429);
		expect((await op('create', { room: room(9) }, as('2001:db8:1:3::1'))).status).toBe(201);
	});

	test('creates per minute, and failed joins per 10 minutes checked before the room is looked up', async () => {
		const { op, clock } = setup({ quotaCreatesPerMinute: 3, quotaFailedJoins: 2 });
		const a = { address: '198.51.100.7' };
		for (let i = 0; i < 3; i++) {
			const c = await op('create', { room: room(i) }, a);
			await op('leave', { token: c.body.token }, a);
		}
		const fast = await op('create', { room: room(5) }, a);
		expectError(fast, 'quota_exceeded', 429);
		expect(fast.body.error.message).toMatch(/creates-per-minute quota/);
		expect(fast.headers.get('retry-after')).toBe('20');
		clock.t += 20;
		const open = await op('create', { room: room(6) }, a);
		expect(open.status).toBe(201);
		const f = { address: '198.51.100.8' };
		expectError(await op('join', { room: room(40) }, f), 'room_not_found', 404);
		expectError(await op('join', { code: 417 }, f), 'room_not_found', 404);
		const probing = await op('join', { room: room(6) }, f);
		expectError(probing, 'quota_exceeded', 429);
		expect(probing.body.error.message).toMatch(/failed-joins quota/);
		expect(probing.headers.get('retry-after')).toBe('300');
		expect((await op('join', { room: room(6) }, { address: '198.51.100.9' })).status).toBe(200);
	});

	test('without a client address no quota applies (one shared quota would be everyone\'s)', async () => {
		const { h } = setup({ quotaRooms: 1 });
		const create = (id: string) => h.handle({
			request: new Request(URL_, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ v: 1, op: 'create', room: id }) })
		});
		expect((await create(room(1))).status).toBe(201);
		expect((await create(room(2))).status).toBe(201);
	});
});

describe('short codes', () => {
	test('the handler picks free numbers; joined by number; four digits once every three-digit one is held', async () => {
		const { op } = setup({ maxRooms: 2000 });
		const numbers = new Set<number>();
		for (let i = 0; i < 999; i++) {
			const c = await op('create', { code: true });
			expect(c.status).toBe(201);
			expect(c.body.code).toBeGreaterThanOrEqual(1);
			expect(c.body.code).toBeLessThanOrEqual(999);
			numbers.add(c.body.code);
		}
		expect(numbers.size).toBe(999);
		const long = await op('create', { code: true });
		expect(long.body.code).toBeGreaterThanOrEqual(1000);
		expect(long.body.code).toBeLessThanOrEqual(9999);
		expect((await op('join', { code: long.body.code })).body.peer).toBe(1);
		expectError(await op('join', { code: long.body.code }), 'room_full', 409);
		for (const bad of [0, 10000, '7', 4.5, null]) expectError(await op('join', { code: bad }), 'invalid_code', 400);
		for (const bad of [1, false, 'yes']) expectError(await op('create', { code: bad }), 'invalid_field', 400);
	});

	test('codes_exhausted once every number is held', async () => {
		// Straight to the store: 9999 creates through the HTTP layer would take a while.
		const store = createMemoryStore();
		const random = () => Array.from(crypto.getRandomValues(new Uint32Array(5)));
		const input = { now: 1000, expires: 2000, maxRooms: 20000, maxBytes: 0, creator: null, creatorKeys: [], quotaRooms: 0 };
		for (let i = 0; i < 9999; i++) await store.create({ ...input, key: null, random: random() });
		await expect(store.create({ ...input, key: null, random: random() })).rejects.toMatchObject({ code: 'codes_exhausted' });
		const { op } = setup({ store, maxRooms: 20000, now: () => 1500 });
		const none = await op('create', { code: true });
		expectError(none, 'codes_exhausted', 503);
		expect(none.headers.get('retry-after')).toBe('60');
		expect((await op('create', { room: ROOM })).status).toBe(201);
	}, 30000);
});

describe('held polls', () => {
	test('a held poll returns as soon as a message arrives', async () => {
		const { op, pair } = setup();
		const { sender: a, receiver: b } = await pair();
		const started = performance.now();
		const held = op('poll', { token: b, after: 0, wait: 10 });
		await new Promise((r) => setTimeout(r, 200));
		await op('send', { token: a, seq: 1, type: 'offer', data: 'sdp' });
		const r = await held;
		const ms = performance.now() - started;
		expect(r.body.messages.map((m: { data: string }) => m.data)).toEqual(['sdp']);
		expect(r.body.poll_after_ms).toBe(0);
		expect(ms).toBeGreaterThanOrEqual(150);
		expect(ms).toBeLessThan(3000);
	});

	test('an empty held poll lasts the wait, capped by maxWait; without slots polls are short', async () => {
		const held = setup({ maxWait: 1 });
		const { receiver } = await held.pair();
		let t = performance.now();
		const r = await held.op('poll', { token: receiver, after: 0, wait: 25 });
		const ms = performance.now() - t;
		expect(r.body).toEqual({ messages: [], cursor: 0, poll_after_ms: 0 });
		expect(ms).toBeGreaterThanOrEqual(900);
		expect(ms).toBeLessThan(2500);

		const short = setup({ pollSlots: 0 });
		const b = (await short.pair()).receiver;
		t = performance.now();
		const s = await short.op('poll', { token: b, after: 0, wait: 5 });
		expect(performance.now() - t).toBeLessThan(500);
		expect(s.body.poll_after_ms).toBe(1000);
	});

	test('a held poll ends when the client goes away', async () => {
		const { op, pair } = setup();
		const { receiver } = await pair();
		const abort = new AbortController();
		const t = performance.now();
		const held = op('poll', { token: receiver, after: 0, wait: 20 }, { signal: abort.signal });
		setTimeout(() => abort.abort(), 200);
		const r = await held;
		expect(r.status).toBe(200);
		expect(performance.now() - t).toBeLessThan(2500);
	});

	test('the room leaving wakes the other side\'s held poll', async () => {
		const { op, pair } = setup();
		const { sender: a, receiver: b } = await pair();
		const first = await op('poll', { token: a, after: 0 }); // peer-joined
		const held = op('poll', { token: a, after: first.body.cursor, wait: 10 });
		await new Promise((r) => setTimeout(r, 100));
		const t = performance.now();
		await op('leave', { token: b });
		const r = await held;
		expect(r.body.messages.map((m: { type: string }) => m.type)).toEqual(['peer-left']);
		expect(performance.now() - t).toBeLessThan(2000);
	});
});

describe('ICE servers from the operator', () => {
	const TURN_SECRET = 'coturn-static-auth-secret-0123456789';
	const STUN = 'stun:stun.example.org:3478';
	const TURN = ['turn:turn.example.org:3478?transport=udp', 'turn:turn.example.org:3478?transport=tcp'];

	test('none unless configured: create and join say so with an empty list', async () => {
		const { op } = setup();
		expect((await op('create', { room: ROOM })).body.ice_servers).toEqual([]);
		expect((await op('join', { room: ROOM })).body.ice_servers).toEqual([]);
	});

	test('one STUN entry, one TURN entry with a credential in coturn\'s use-auth-secret scheme, per seat', async () => {
		const { op, clock } = setup({ stunUrls: [STUN], turnUrls: TURN, turnSecret: TURN_SECRET, turnTtl: 3600 });
		const created = await op('create', { room: ROOM });
		// Vector shared with signal.php's IceServersTest (Python: base64(hmac.new(secret, username, sha1).digest())).
		expect(created.body.ice_servers).toEqual([
			{ urls: [STUN] },
			{ urls: TURN, username: '1700003600:peerdrop', credential: '3XCLdl/3UUoQWFEGwev0ZfUM1eI=' }
		]);
		clock.t += 100;
		const joined = await op('join', { room: ROOM });
		expect(joined.body.ice_servers[1]).toEqual({ urls: TURN, username: '1700003700:peerdrop', credential: 'qO5zjLcSuiOhlaruwUNaWSjyvi4=' });
		expect(Object.keys(joined.body).sort()).toEqual(['cursor', 'expires_in', 'ice_servers', 'peer', 'token']);
	});

	test('the credential lasts a day by default; STUN and TURN each work alone', async () => {
		const turnOnly = await setup({ turnUrls: ['turns:turn.example.org:5349'], turnSecret: TURN_SECRET }).op('create', { room: ROOM });
		expect(turnOnly.body.ice_servers).toHaveLength(1);
		expect(turnOnly.body.ice_servers[0].username).toBe(`${1_700_000_000 + 86400}:peerdrop`);
		const stunOnly = await setup({ stunUrls: [STUN, 'stuns:[2001:db8::1]:5349'] }).op('create', { room: ROOM });
		expect(stunOnly.body.ice_servers).toEqual([{ urls: [STUN, 'stuns:[2001:db8::1]:5349'] }]);
	});

	test('a broken ICE config is refused when the handler is made, with what to fix', () => {
		const make = (o: SignalingOptions) => () => createSignalingHandler({ secret: SECRET, ...o });
		expect(make({ stunUrls: ['https://stun.example.org'] })).toThrow(/stunUrls entry "https:\/\/stun.example.org" is not a URL like/);
		expect(make({ stunUrls: [TURN[0]] })).toThrow(/stunUrls/);
		expect(make({ stunUrls: STUN as unknown as string[] })).toThrow(/stunUrls must be a list/);
		expect(make({ turnUrls: [STUN], turnSecret: TURN_SECRET })).toThrow(/turnUrls entry "stun:/);
		expect(make({ turnUrls: ['turn:turn.example.org?transport=sctp'], turnSecret: TURN_SECRET })).toThrow(/turnUrls/);
		expect(make({ turnUrls: TURN })).toThrow(/turnUrls needs turnSecret/);
		expect(make({ turnSecret: TURN_SECRET })).toThrow(/turnUrls is empty/);
		expect(make({ turnUrls: TURN, turnSecret: 'short' })).toThrow(/turnSecret must have 16 or more/);
		expect(make({ turnUrls: TURN, turnSecret: TURN_SECRET, turnTtl: 7 * 86400 })).toThrow(/turnTtl must be an integer from 60 to 86400/);
	});
});
