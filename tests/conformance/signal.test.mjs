// PeerDrop signaling contract v1: conformance suite.
//
// Runs against any deployment of the endpoint (no npm dependencies; Node 20+):
//   SIGNAL_URL=https://example.org/signal.php node --test --test-concurrency=1 tests/conformance/
//
// Optional environment:
//   SIGNAL_URL_FUTURE      a second URL served from the SAME data dir whose clock runs past every TTL
//                          (test_mode + PEERDROP_TEST_NOW=+N). Enables the expiry tests, which run last
//                          because that server's cleanup deletes every room the other tests made.
//   SIGNAL_POLL_SLOTS      the server's poll_slots; enables the "no free slot" test (needs more
//                          server workers than slots + 1).
//   SIGNAL_ALLOWED_ORIGIN  an origin in the server's allowed_origins; enables the CORS allow test.
//   SIGNAL_DATA_DIR        the server's data dir; error bodies are also checked not to contain it.
//   SIGNAL_STORAGE         expected "storage" in the health answer (sqlite or mysql); default: either.
//   SIGNAL_METRICS_TOKEN   the server's metrics_token; enables the metrics tests (without it, metrics
//                          must answer 404 metrics_disabled or 401 metrics_unauthorized).
//   SIGNAL_URL_RATELIMITED a URL of a server with a small rate limit (burst SIGNAL_RATE_BURST, default 5)
//                          and no trusted proxies; enables the rate-limit test.
//   SIGNAL_EARLY_413       "1" if the server runs PHP before the whole body has arrived (Apache, FPM;
//                          not `php -S`); enables the "413 without reading the rest" test.
//   SIGNAL_URL_HOSTILE     a deployment that believes X-Forwarded-For from this machine (trusted_proxies, or
//                          a Kit route whose getClientAddress reads it), with the default quotas and a cap on
//                          the live data of 4 MiB or less (1 MiB in the test scripts): enables the "hostile
//                          clients" section, which plays many clients through it. SIGNAL_URL_HOSTILE_FUTURE,
//                          the same storage with the clock past every TTL, enables its expiry test.
//                          (SIGNAL_HOSTILE_MAX_DB_BYTES gives the cap to a server whose health does not.)
//   SIGNAL_STUN_URL        the ICE servers the server at SIGNAL_URL is configured with: its STUN URL(s),
//   SIGNAL_TURN_URL        its TURN URL(s) (several: separated by spaces) and the TURN secret (coturn's
//   SIGNAL_TURN_SECRET     static-auth-secret). Once any of the three is set, even to an empty value,
//                          every create and join there must hand out exactly these servers, with a TURN
//                          credential = base64(HMAC-SHA1(secret, username)) whose expiry is at most a day
//                          away; `SIGNAL_STUN_URL=` alone checks for `"ice_servers": []`. Without them,
//                          ice_servers is only checked to be well-formed.
//
// Every request goes through call(), which checks the common headers on every response and,
// on every error, the error shape and that no filesystem path leaks.

import { test as nodeTest } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';

const URL_ = process.env.SIGNAL_URL || '';
const NO_URL = 'SIGNAL_URL is not set: give the full URL of signal.php, or run php-signaling/tests/run.sh';

/** node:test's test(), skipped (visibly) when no SIGNAL_URL is given, e.g. under a bare `node --test`. */
function test(name, opts, fn) {
  if (typeof opts === 'function') {
    fn = opts;
    opts = {};
  }
  return nodeTest(name, URL_ ? opts : { ...opts, skip: NO_URL }, fn);
}
const FUTURE = process.env.SIGNAL_URL_FUTURE || '';
const SLOTS = process.env.SIGNAL_POLL_SLOTS ? Number(process.env.SIGNAL_POLL_SLOTS) : 0;
const ALLOWED_ORIGIN = process.env.SIGNAL_ALLOWED_ORIGIN || '';
const DATA_DIR = process.env.SIGNAL_DATA_DIR || '';
const STORAGE = process.env.SIGNAL_STORAGE || '';
const METRICS_TOKEN = process.env.SIGNAL_METRICS_TOKEN || '';
const URL_RATELIMITED = process.env.SIGNAL_URL_RATELIMITED || '';
const RATE_BURST = Number(process.env.SIGNAL_RATE_BURST || 5);
const EARLY_413 = process.env.SIGNAL_EARLY_413 === '1';
const HOSTILE = process.env.SIGNAL_URL_HOSTILE || '';
const HOSTILE_FUTURE = process.env.SIGNAL_URL_HOSTILE_FUTURE || '';
const ICE_KNOWN = ['SIGNAL_STUN_URL', 'SIGNAL_TURN_URL', 'SIGNAL_TURN_SECRET'].some((k) => k in process.env);
const urlList = (v) => (v || '').split(/\s+/).filter(Boolean);
const STUN_URLS = urlList(process.env.SIGNAL_STUN_URL);
const TURN_URLS = urlList(process.env.SIGNAL_TURN_URL);
const TURN_SECRET = process.env.SIGNAL_TURN_SECRET || '';
if (TURN_URLS.length > 0 && !TURN_SECRET) throw new Error('SIGNAL_TURN_URL needs SIGNAL_TURN_SECRET, the server\'s turn_secret');

const room = () => randomBytes(24).toString('base64url'); // 32 chars
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const PATH_LIKE = [
  /(?:\/[A-Za-z0-9_.-]+){2,}/, // two or more path segments
  /[A-Za-z]:\\/, // windows drive
  /[\\/][^\s"]*\.php\b/i, // a path to a .php file (the operator hint "php signal.php check" is fine)
  /\.sqlite\b/i,
  /peerdrop-data/i,
  /stack trace|#0 |Fatal error|Warning:|Notice:/i,
];

function checkCommonHeaders(res, where, text = false) {
  const ct = res.headers.get('content-type') || '';
  if (text) assert.match(ct, /^text\/plain; version=0\.0\.4\b/, `${where}: Prometheus text format`);
  else assert.match(ct, /^application\/json\b/, `${where}: Content-Type is JSON`);
  assert.equal(res.headers.get('cache-control'), 'no-store', `${where}: Cache-Control`);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer', `${where}: Referrer-Policy`);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${where}: X-Content-Type-Options`);
  assert.equal(res.headers.get('access-control-allow-credentials'), null, `${where}: never credentials`);
}

function checkErrorBody(status, text, where) {
  let body;
  assert.doesNotThrow(() => { body = JSON.parse(text); }, `${where}: error body is JSON`);
  assert.deepEqual(Object.keys(body), ['error'], `${where}: only "error" at the top level`);
  assert.equal(typeof body.error.code, 'string');
  assert.match(body.error.code, /^[a-z][a-z0-9_]*$/, `${where}: snake_case code`);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 10, `${where}: a real sentence`);
  for (const re of PATH_LIKE) {
    assert.doesNotMatch(text, re, `${where}: error body must not leak paths or internals (${status})`);
  }
  if (DATA_DIR) assert.ok(!text.includes(DATA_DIR), `${where}: data dir leaked`);
  return body;
}

/**
 * `ice_servers` of a create or join answer: RTCIceServer objects, TURN ones with a credential.
 * With SIGNAL_STUN_URL/SIGNAL_TURN_URL/SIGNAL_TURN_SECRET (exact = true): exactly those servers,
 * the credential coturn's use-auth-secret scheme expects, valid now and for at most a day.
 */
function checkIceServers(body, where, exact) {
  const servers = body.ice_servers;
  assert.ok(Array.isArray(servers), `${where}: ice_servers is an array (${JSON.stringify(body)})`);
  for (const s of servers) {
    assert.ok(s !== null && typeof s === 'object' && !Array.isArray(s), `${where}: an ICE server is an object`);
    const urls = typeof s.urls === 'string' ? [s.urls] : s.urls;
    assert.ok(Array.isArray(urls) && urls.length > 0 && urls.every((u) => typeof u === 'string'), `${where}: urls is a string or strings`);
    for (const u of urls) assert.match(u, /^(stuns?|turns?):/, `${where}: ${u} has a STUN or TURN scheme`);
    if (urls.some((u) => /^turns?:/.test(u))) {
      assert.ok(typeof s.username === 'string' && s.username !== '', `${where}: a TURN entry has a username`);
      assert.ok(typeof s.credential === 'string' && s.credential !== '', `${where}: a TURN entry has a credential`);
    }
  }
  if (!exact) return;
  const expected = [];
  if (STUN_URLS.length > 0) expected.push({ urls: STUN_URLS });
  if (TURN_URLS.length > 0) expected.push({ urls: TURN_URLS, username: servers[expected.length]?.username, credential: servers[expected.length]?.credential });
  assert.deepEqual(servers, expected, `${where}: exactly the configured ICE servers`);
  if (TURN_URLS.length > 0) checkTurnCredential(servers[servers.length - 1], where);
}

/** A TURN credential coturn (use-auth-secret) accepts now: returns its expiry (unix seconds). */
function checkTurnCredential({ username, credential }, where) {
  const m = /^([0-9]{10,12}):peerdrop$/.exec(username);
  assert.ok(m, `${where}: the TURN username is "<unix expiry>:peerdrop", got ${username}`);
  assert.equal(credential, createHmac('sha1', TURN_SECRET).update(username).digest('base64'), `${where}: credential = base64(HMAC-SHA1(secret, username))`);
  const expiry = Number(m[1]);
  const now = Date.now() / 1000;
  assert.ok(expiry > now, `${where}: the TURN credential has not expired (${expiry} <= ${now})`);
  assert.ok(expiry <= now + 86400 + 60, `${where}: the TURN credential is valid for at most a day (+60 s clock skew)`);
  return expiry;
}

/** Low-level request. Returns { status, headers, text, json }. */
async function raw(method, { body, headers = {}, url = URL_, expectText = false } = {}) {
  const res = await fetch(url, { method, body, headers, redirect: 'manual' });
  const text = await res.text();
  const where = `${method} ${headers['content-type'] || ''}`.trim();
  checkCommonHeaders(res, where, expectText && res.status < 400);
  let json;
  if (res.status >= 400) {
    json = checkErrorBody(res.status, text, where);
  } else if (text !== '' && !expectText) {
    json = JSON.parse(text);
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** POST a JSON operation. Every successful create and join is checked for its ice_servers. */
async function call(obj, opts = {}) {
  const r = await raw('POST', { body: JSON.stringify(obj), headers: { 'content-type': 'application/json' }, ...opts });
  if ((obj.op === 'create' && r.status === 201) || (obj.op === 'join' && r.status === 200)) {
    checkIceServers(r.json, `${obj.op} ${r.status}`, ICE_KNOWN && (opts.url ?? URL_) === URL_);
  }
  return r;
}

function assertError(r, status, code) {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${r.text}`);
  assert.equal(r.json.error.code, code, `expected code ${code}, got ${r.text}`);
}

async function createRoom(id = room(), opts) {
  const r = await call({ v: 1, op: 'create', room: id }, opts);
  assert.equal(r.status, 201, r.text);
  return { id, token: r.json.token, res: r };
}

async function joinedRoom() {
  const a = await createRoom();
  const j = await call({ v: 1, op: 'join', room: a.id });
  assert.equal(j.status, 200, j.text);
  return { id: a.id, t0: a.token, t1: j.json.token };
}

const send = (token, seq, type, data, opts) => call({ v: 1, op: 'send', token, seq, type, data }, opts);
const poll = (token, after = 0, wait = 0, opts) => call({ v: 1, op: 'poll', token, after, wait }, opts);

// ---------------------------------------------------------------------------------------------

test('GET returns health', async () => {
  const r = await raw('GET');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ok, true);
  assert.equal(r.json.version, 1);
  if (STORAGE) assert.equal(r.json.storage, STORAGE);
  else assert.ok(['sqlite', 'mysql'].includes(r.json.storage), r.text);
  assert.ok(Number.isInteger(r.json.schema) && r.json.schema >= 1);
  // Added in schema 2; optional for older servers.
  if (r.json.limits !== undefined) {
    for (const k of ['max_body_bytes', 'max_data_bytes', 'max_queue', 'max_rooms', 'poll_slots', 'max_wait', 'rate_limit_per_minute']) {
      assert.ok(Number.isInteger(r.json.limits[k]) && r.json.limits[k] >= 0, `limits.${k}`);
    }
    assert.equal(r.json.limits.max_body_bytes, 65536);
  }
});

test('wrong methods get 405 with Allow', async () => {
  for (const m of ['PUT', 'DELETE', 'PATCH']) {
    const r = await raw(m, { body: '{}', headers: { 'content-type': 'application/json' } });
    assertError(r, 405, 'method_not_allowed');
    const allow = (r.headers.get('allow') || '').split(',').map((s) => s.trim()).sort();
    assert.deepEqual(allow, ['GET', 'OPTIONS', 'POST']);
  }
});

test('POST without application/json gets 415', async () => {
  const body = JSON.stringify({ v: 1, op: 'create', room: room() });
  assertError(await raw('POST', { body, headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
  assertError(await raw('POST', { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
  assertError(await raw('POST', { body: new TextEncoder().encode(body) }), 415, 'unsupported_media_type');
  assertError(await raw('POST', { body, headers: { 'content-type': 'application/json; charset=latin1' } }), 415, 'unsupported_media_type');
  const ok = await raw('POST', { body, headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(ok.status, 201, ok.text);
});

test('bodies over 64 KiB get 413', async () => {
  const big = JSON.stringify({ v: 1, op: 'create', room: room(), pad: 'x'.repeat(70 * 1024) });
  assertError(await raw('POST', { body: big, headers: { 'content-type': 'application/json' } }), 413, 'body_too_large');
});

test('an oversize Content-Length gets 413 before the rest of the body is sent', { skip: EARLY_413 ? false : 'SIGNAL_EARLY_413 not set (php -S reads whole bodies first)' }, async () => {
  const net = await import('node:net');
  const u = new URL(URL_);
  const started = Date.now();
  const reply = await new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port || 80), u.hostname, () => {
      // Announce 1 MB, send 100 bytes, then nothing: a server that waits for the rest never answers.
      s.write(`POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n${'x'.repeat(100)}`);
    });
    let buf = '';
    s.on('data', (d) => { buf += d; if (buf.includes('\r\n\r\n') && buf.includes('}}')) { s.destroy(); resolve(buf); } });
    s.on('error', reject);
    setTimeout(() => { s.destroy(); resolve(buf); }, 4000);
  });
  assert.match(reply, /^HTTP\/1\.[01] 413 /, `no early 413 (got: ${reply.slice(0, 80) || 'nothing'})`);
  assert.match(reply, /"body_too_large"/);
  assert.ok(Date.now() - started < 3000, 'answered without waiting for the body');
});

test('malformed bodies get 400 with specific codes', async () => {
  const post = (body) => raw('POST', { body, headers: { 'content-type': 'application/json' } });
  assertError(await post(''), 400, 'empty_body');
  assertError(await post('{"v":1,"op":'), 400, 'invalid_json');
  assertError(await post('{"v":1} trailing'), 400, 'invalid_json');
  assertError(await post('[1,2,3]'), 400, 'not_an_object');
  assertError(await post('"create"'), 400, 'not_an_object');
  assertError(await post('null'), 400, 'not_an_object');
  assertError(await post('['.repeat(5000) + ']'.repeat(5000)), 400, 'json_too_deep');
  assertError(await post(`{"v":1,"op":"create","room":"${room()}","x":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`), 400, 'json_too_deep');
  const badUtf8 = Buffer.concat([Buffer.from('{"v":1,"op":"create","room":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
  assertError(await post(badUtf8), 400, 'invalid_utf8');
  assertError(await post('{"v":1,"op":"create","room":"\\ud800"}'), 400, 'invalid_utf8');
});

test('missing and wrongly typed fields get 400', async () => {
  const r0 = room();
  assertError(await call({ op: 'create', room: r0 }), 400, 'missing_field');
  assertError(await call({ v: '1', op: 'create', room: r0 }), 400, 'invalid_field');
  assertError(await call({ v: 2, op: 'create', room: r0 }), 400, 'unsupported_version');
  assertError(await call({ v: 1, room: r0 }), 400, 'missing_field');
  assertError(await call({ v: 1, op: 7 }), 400, 'invalid_field');
  assertError(await call({ v: 1, op: 'destroy' }), 400, 'unknown_op');
  assertError(await call({ v: 1, op: 'create' }), 400, 'missing_field');
  assertError(await call({ v: 1, op: 'create', room: 12345 }), 400, 'invalid_field');
  assertError(await call({ v: 1, op: 'create', room: 'short' }), 400, 'invalid_room');
  assertError(await call({ v: 1, op: 'create', room: 'A'.repeat(65) }), 400, 'invalid_room');
  assertError(await call({ v: 1, op: 'join', room: 'A'.repeat(21) + '/' }), 400, 'invalid_room');
  const { t0 } = await joinedRoom();
  assertError(await call({ v: 1, op: 'send', seq: 1, type: 'offer', data: '' }), 400, 'missing_field');
  assertError(await send(t0, 0, 'offer', ''), 400, 'invalid_seq');
  assertError(await send(t0, '1', 'offer', ''), 400, 'invalid_seq');
  assertError(await send(t0, 1.5, 'offer', ''), 400, 'invalid_seq');
  assertError(await send(t0, 1, 'offer', { sdp: 'x' }), 400, 'invalid_field');
  assertError(await send(t0, 1, 'offer', null), 400, 'invalid_field');
  assertError(await call({ v: 1, op: 'send', token: t0, seq: 1, type: 'offer' }), 400, 'missing_field');
  assertError(await call({ v: 1, op: 'poll', token: t0 }), 400, 'missing_field');
  assertError(await poll(t0, -1), 400, 'invalid_cursor');
  assertError(await poll(t0, '0'), 400, 'invalid_cursor');
  assertError(await poll(t0, 0, 26), 400, 'invalid_wait');
  assertError(await poll(t0, 0, -1), 400, 'invalid_wait');
  assertError(await poll(t0, 0, 0.5), 400, 'invalid_wait');
  assertError(await call({ v: 1, op: 'leave' }), 400, 'missing_field');
  assertError(await call({ v: 1, op: 'leave', token: 42 }), 400, 'invalid_field');
});

test('unknown message type gets 422, oversized data 413', async () => {
  const { t0 } = await joinedRoom();
  for (const type of ['hello', 'peer-joined', 'peer-left', 'OFFER', '']) {
    assertError(await send(t0, 1, type, 'x'), 422, 'unknown_type');
  }
  assertError(await send(t0, 1, 'offer', 'x'.repeat(16 * 1024 + 1)), 413, 'message_too_large');
  const ok = await send(t0, 1, 'sealed', 'x'.repeat(16 * 1024));
  assert.equal(ok.status, 201, ok.text);
});

test('create, duplicate create, join, full, not found', async () => {
  const id = room();
  const c = await call({ v: 1, op: 'create', room: id });
  assert.equal(c.status, 201, c.text);
  assert.deepEqual(Object.keys(c.json).sort(), ['cursor', 'expires_in', 'ice_servers', 'peer', 'token']);
  assert.equal(c.json.peer, 0);
  assert.equal(c.json.cursor, 0);
  assert.equal(typeof c.json.token, 'string');
  assert.match(c.json.token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  assert.ok(Number.isInteger(c.json.expires_in) && c.json.expires_in > 0);
  assertError(await call({ v: 1, op: 'create', room: id }), 409, 'room_exists');
  const j = await call({ v: 1, op: 'join', room: id });
  assert.equal(j.status, 200, j.text);
  assert.equal(j.json.peer, 1);
  assert.equal(j.json.cursor, 0);
  assert.ok(Number.isInteger(j.json.expires_in) && j.json.expires_in > 0);
  assert.deepEqual(Object.keys(j.json).sort(), ['cursor', 'expires_in', 'ice_servers', 'peer', 'token']);
  assert.notEqual(j.json.token, c.json.token);
  assertError(await call({ v: 1, op: 'join', room: id }), 409, 'room_full');
  assertError(await call({ v: 1, op: 'create', room: id }), 409, 'room_exists');
  assertError(await call({ v: 1, op: 'join', room: room() }), 404, 'room_not_found');
});

test('both peers of a room get the configured ICE servers, each with a usable TURN credential', { skip: ICE_KNOWN ? false : 'SIGNAL_STUN_URL / SIGNAL_TURN_URL / SIGNAL_TURN_SECRET not set' }, async () => {
  const id = room();
  const c = await call({ v: 1, op: 'create', room: id });
  const j = await call({ v: 1, op: 'join', room: id });
  assert.equal(c.status, 201, c.text);
  assert.equal(j.status, 200, j.text);
  const expectedUrls = [...(STUN_URLS.length ? [STUN_URLS] : []), ...(TURN_URLS.length ? [TURN_URLS] : [])];
  for (const r of [c, j]) {
    assert.deepEqual(r.json.ice_servers.map((s) => s.urls), expectedUrls);
    const turn = r.json.ice_servers.find((s) => 'username' in s);
    if (TURN_URLS.length > 0) checkTurnCredential(turn, `peer ${r.json.peer}`);
    else assert.equal(turn, undefined, 'no TURN entry without TURN servers');
  }
});

test('10 concurrent joins: exactly one wins', async () => {
  const { id } = await createRoom();
  let results = await Promise.all(Array.from({ length: 10 }, () => call({ v: 1, op: 'join', room: id })));
  // 503 storage_busy is an allowed answer under contention; a retry must then see the room full.
  for (let i = 0; i < results.length; i++) {
    if (results[i].status === 503) {
      await sleep(1000);
      results[i] = await call({ v: 1, op: 'join', room: id });
    }
  }
  const winners = results.filter((r) => r.status === 200);
  assert.equal(winners.length, 1, results.map((r) => r.status).join(','));
  assert.equal(winners[0].json.peer, 1);
  for (const r of results.filter((x) => x.status !== 200)) assertError(r, 409, 'room_full');
});

test('send and poll: order, cursors, peer-joined, directions', async () => {
  const { t0, t1 } = await joinedRoom();
  const first = await poll(t0, 0);
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(Object.keys(first.json).sort(), ['cursor', 'messages', 'poll_after_ms']);
  assert.equal(first.json.messages.length, 1);
  const pj = first.json.messages[0];
  assert.deepEqual(Object.keys(pj).sort(), ['data', 'id', 'seq', 'type']);
  assert.equal(pj.type, 'peer-joined');
  assert.equal(pj.data, '');
  assert.equal(first.json.cursor, pj.id);

  const sent = [];
  for (const [seq, type, data] of [[1, 'offer', 'v=0 offer'], [2, 'candidate', 'c1'], [3, 'candidate', 'c2'], [4, 'sealed', 'blob'], [5, 'pake', 'spake2']]) {
    const r = await send(t0, seq, type, data);
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(Object.keys(r.json), ['id']);
    assert.ok(Number.isInteger(r.json.id));
    sent.push(r.json.id);
  }
  assert.deepEqual([...sent].sort((a, b) => a - b), sent, 'ids increase in send order');

  const p1 = await poll(t1, 0);
  assert.equal(p1.status, 200, p1.text);
  assert.deepEqual(p1.json.messages.map((m) => m.id), sent);
  assert.deepEqual(p1.json.messages.map((m) => m.seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(p1.json.messages.map((m) => m.type), ['offer', 'candidate', 'candidate', 'sealed', 'pake']);
  assert.deepEqual(p1.json.messages.map((m) => m.data), ['v=0 offer', 'c1', 'c2', 'blob', 'spake2']);
  assert.equal(p1.json.cursor, sent[4]);
  assert.equal(p1.json.poll_after_ms, 0, 'a poll that returned messages says poll again at once');

  const p2 = await poll(t1, sent[1]);
  assert.deepEqual(p2.json.messages.map((m) => m.id), [sent[2], sent[3], sent[4]]);
  const p3 = await poll(t1, sent[4]);
  assert.deepEqual(p3.json.messages, []);
  assert.equal(p3.json.cursor, sent[4], 'an empty poll returns the given cursor');
  assert.ok(p3.json.poll_after_ms > 0, 'an empty short poll suggests a delay');

  // Peer 0 never sees its own messages; it sees peer 1's answer after its cursor.
  const ans = await send(t1, 1, 'answer', 'v=0 answer');
  const p4 = await poll(t0, first.json.cursor);
  assert.deepEqual(p4.json.messages.map((m) => [m.id, m.type, m.seq]), [[ans.json.id, 'answer', 1]]);
});

test('send retry with the same seq is idempotent', async () => {
  const { t0, t1 } = await joinedRoom();
  const a = await send(t0, 5, 'offer', 'sdp');
  assert.equal(a.status, 201);
  const b = await send(t0, 5, 'offer', 'sdp');
  assert.equal(b.status, 200, b.text);
  assert.equal(b.json.id, a.json.id);
  assertError(await send(t0, 5, 'offer', 'different'), 409, 'seq_conflict');
  // Concurrent duplicates: one id.
  const dup = await Promise.all([send(t0, 6, 'candidate', 'c'), send(t0, 6, 'candidate', 'c'), send(t0, 6, 'candidate', 'c')]);
  assert.deepEqual(dup.map((r) => r.status).sort(), [200, 200, 201]);
  assert.equal(new Set(dup.map((r) => r.json.id)).size, 1);
  const p = await poll(t1, 0);
  assert.deepEqual(p.json.messages.map((m) => m.seq), [5, 6], 'each message delivered once');
  // Still recognised after the recipient acknowledged it.
  await poll(t1, p.json.cursor);
  const c = await send(t0, 5, 'offer', 'sdp');
  assert.equal(c.status, 200);
  assert.equal(c.json.id, a.json.id);
  assert.deepEqual((await poll(t1, p.json.cursor)).json.messages, []);
});

test('a held poll returns early when a message arrives', async () => {
  const { t0, t1 } = await joinedRoom();
  const started = Date.now();
  const held = poll(t1, 0, 10);
  await sleep(700);
  const s = await send(t0, 1, 'offer', 'late offer');
  assert.equal(s.status, 201);
  const r = await held;
  const elapsed = Date.now() - started;
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.messages.map((m) => m.data), ['late offer']);
  assert.ok(elapsed >= 600, `held until the message arrived (${elapsed} ms)`);
  assert.ok(elapsed < 3000, `returned soon after the message arrived (${elapsed} ms)`);
});

test('a held poll with nothing to deliver ends after about wait seconds', async () => {
  const { t1 } = await joinedRoom();
  const started = Date.now();
  const r = await poll(t1, 0, 1);
  const elapsed = Date.now() - started;
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.messages, []);
  assert.equal(r.json.cursor, 0);
  assert.ok(elapsed >= 900 && elapsed < 4000, `held ~1 s (${elapsed} ms)`);
});

test('a held poll ends soon after its own peer leaves (the slot is not kept for a closed page)', async () => {
  // The sender holds a poll for the whole transfer (a reconnecting receiver says hello there)
  // and leaves when the transfer ends; its page may close before that poll returns.
  for (const leaver of ['both present', 'last one out']) {
    const { t0, t1 } = await joinedRoom();
    const cursor = (await poll(t0, 0)).json.cursor; // past peer-joined
    if (leaver === 'last one out') assert.equal((await call({ v: 1, op: 'leave', token: t1 })).status, 200);
    const after = leaver === 'last one out' ? (await poll(t0, cursor)).json.cursor : cursor; // past peer-left
    const started = Date.now();
    // Timed when the poll itself answers, not after the waits below.
    const held = poll(t0, after, 10).then((r) => ({ r, elapsed: Date.now() - started }));
    await sleep(700);
    assert.equal((await call({ v: 1, op: 'leave', token: t0 })).status, 200);
    const { r, elapsed } = await held;
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.messages, [], leaver);
    assert.ok(elapsed >= 600, `${leaver}: the poll was held until the leave (${elapsed} ms)`);
    assert.ok(elapsed < 5000, `${leaver}: ended by the leave, not after its 10 s wait (${elapsed} ms)`);
  }
});

test('without a free held-poll slot, poll answers at once with a hint', { skip: SLOTS > 0 ? false : 'SIGNAL_POLL_SLOTS not set' }, async () => {
  const rooms = await Promise.all(Array.from({ length: SLOTS }, () => joinedRoom()));
  // Staggered: `php -S` workers may accept several simultaneous connections and serve them in turn.
  const holders = [];
  for (const r of rooms) {
    holders.push(poll(r.t1, 0, 4));
    await sleep(200);
  }
  await sleep(300);
  const extra = await joinedRoom();
  const started = Date.now();
  const r = await poll(extra.t1, 0, 4);
  const elapsed = Date.now() - started;
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.messages, []);
  assert.ok(r.json.poll_after_ms > 0, 'poll-again hint');
  assert.ok(elapsed < 1500, `not held (${elapsed} ms)`);
  const done = await Promise.all(holders);
  for (const d of done) assert.equal(d.status, 200);
});

test('tampered or foreign tokens get 401', async () => {
  const { t0 } = await joinedRoom();
  const [payload, mac] = t0.split('.');
  const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  const variants = [
    `${flip(payload, 3)}.${mac}`,
    `${payload}.${flip(mac, 5)}`,
    `${payload}.${mac.slice(0, -2)}`,
    `${Buffer.from('1.1.' + 'a'.repeat(32) + '.1.9999999999').toString('base64url')}.${mac}`,
    'not-a-token',
    '',
    `${payload}.${mac}.extra`,
  ];
  for (const t of variants) {
    assertError(await poll(t, 0), 401, 'invalid_token');
    assertError(await send(t, 1, 'offer', 'x'), 401, 'invalid_token');
  }
  assertError(await call({ v: 1, op: 'leave', token: `${payload}.${flip(mac, 0)}` }), 401, 'invalid_token');
});

test('leave notifies the other peer and ends the room', async () => {
  const { id, t0, t1 } = await joinedRoom();
  const l = await call({ v: 1, op: 'leave', token: t0 });
  assert.equal(l.status, 200, l.text);
  assert.deepEqual(l.json, { ok: true });
  assert.deepEqual((await call({ v: 1, op: 'leave', token: t0 })).json, { ok: true }, 'idempotent');
  const p = await poll(t1, 0);
  assert.deepEqual(p.json.messages.map((m) => m.type), ['peer-left']);
  assertError(await send(t1, 1, 'offer', 'x'), 410, 'peer_left');
  assertError(await poll(t0, 0), 410, 'peer_left');
  assert.equal((await call({ v: 1, op: 'leave', token: t1 })).status, 200);
  assertError(await poll(t1, 0), 410, 'room_closed');
  assertError(await call({ v: 1, op: 'join', room: id }), 404, 'room_not_found');
  // The id is free again.
  assert.equal((await call({ v: 1, op: 'create', room: id })).status, 201);
});

test('the per-room queue is capped with 429', async () => {
  const { t0, t1 } = await joinedRoom();
  let r;
  let seq = 0;
  const payload = 'c'.repeat(64);
  do {
    seq++;
    r = await send(t0, seq, 'candidate', payload);
  } while (r.status === 201 && seq < 3000);
  assert.equal(r.status, 429, `queue never filled after ${seq} messages`);
  assert.ok(['queue_full', 'room_message_limit'].includes(r.json.error.code), r.text);
  if (r.json.error.code === 'queue_full') {
    assert.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After on queue_full');
    // Acknowledging frees the queue.
    let cursor = 0;
    for (;;) {
      const p = await poll(t1, cursor);
      if (p.json.messages.length === 0) break;
      cursor = p.json.cursor;
    }
    await poll(t1, cursor);
    assert.equal((await send(t0, seq, 'candidate', payload)).status, 201);
  }
});

test('CORS: same-origin by default, never a wildcard', async () => {
  const plain = await raw('OPTIONS');
  assert.equal(plain.status, 200, plain.text);
  assert.match(plain.headers.get('allow') || '', /POST/);
  const foreign = await raw('OPTIONS', {
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assertError(foreign, 403, 'origin_not_allowed');
  assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  const post = await call({ v: 1, op: 'create', room: room() }, { headers: { 'content-type': 'application/json', origin: 'https://evil.example' } });
  assert.notEqual(post.headers.get('access-control-allow-origin'), '*');
  assert.equal(post.headers.get('access-control-allow-origin'), null);
});

test('CORS: an allowed origin is echoed exactly', { skip: ALLOWED_ORIGIN ? false : 'SIGNAL_ALLOWED_ORIGIN not set' }, async () => {
  const pre = await raw('OPTIONS', { headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST' } });
  assert.equal(pre.status, 200, pre.text);
  assert.equal(pre.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
  assert.match(pre.headers.get('access-control-allow-methods') || '', /POST/);
  assert.match((pre.headers.get('access-control-allow-headers') || '').toLowerCase(), /content-type/);
  const post = await call({ v: 1, op: 'create', room: room() }, { headers: { 'content-type': 'application/json', origin: ALLOWED_ORIGIN } });
  assert.equal(post.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
});

test('a token only ever reaches its own room', async () => {
  const a = await joinedRoom();
  const b = await joinedRoom();
  assert.equal((await send(b.t0, 1, 'offer', 'for b only')).status, 201);
  assert.equal((await send(a.t0, 1, 'offer', 'for a only')).status, 201);
  const pa = await poll(a.t1, 0);
  assert.deepEqual(pa.json.messages.map((m) => m.data), ['for a only']);
  // A's payload with B's signature: 401, never B's room.
  const forged = `${a.t1.split('.')[0]}.${b.t1.split('.')[1]}`;
  assertError(await poll(forged, 0), 401, 'invalid_token');
});

/** POST with the client behaviour the contract asks for on 503: wait Retry-After, retry. */
async function callRetrying(obj, tries = 8) {
  for (let i = 0; ; i++) {
    const r = await call(obj);
    if (r.status !== 503 || i >= tries) return r;
    await sleep(1000 * Number(r.headers.get('retry-after') || 1));
  }
}

test('50 parallel senders (with duplicate retries) lose and duplicate nothing', async () => {
  const { t0, t1 } = await joinedRoom();
  const seqs = Array.from({ length: 50 }, (_, i) => i + 1);
  // Every message is sent twice at the same moment, as a client retrying a timed-out request would.
  const results = await Promise.all(seqs.flatMap((seq) => [0, 1].map(() =>
    callRetrying({ v: 1, op: 'send', token: t0, seq, type: 'candidate', data: `cand-${seq}` }))));
  const idBySeq = new Map();
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    const seq = seqs[Math.floor(i / 2)];
    assert.ok(r.status === 201 || r.status === 200, `seq ${seq}: ${r.status} ${r.text}`);
    if (idBySeq.has(seq)) assert.equal(r.json.id, idBySeq.get(seq), `seq ${seq}: both sends got one id`);
    idBySeq.set(seq, r.json.id);
  }
  for (const seq of seqs) {
    const pair = [results[(seq - 1) * 2].status, results[(seq - 1) * 2 + 1].status].sort();
    assert.deepEqual(pair, [200, 201], `seq ${seq}: exactly one send stored it`);
  }
  const got = [];
  let cursor = 0;
  for (let i = 0; i < 10; i++) {
    const p = await poll(t1, cursor);
    if (p.json.messages.length === 0) break;
    got.push(...p.json.messages);
    cursor = p.json.cursor;
  }
  assert.equal(got.length, 50, 'every message delivered once');
  assert.deepEqual(got.map((m) => m.seq).sort((a, b) => a - b), seqs);
  assert.equal(new Set(got.map((m) => m.id)).size, 50, 'no duplicate ids');
  for (const m of got) assert.equal(m.data, `cand-${m.seq}`);
  const ids = got.map((m) => m.id);
  assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'delivered in id order');
});

function metricValue(text, series) {
  for (const line of text.split('\n')) if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  return undefined;
}
const metricsUrl = () => { const u = new URL(URL_); u.search = 'metrics'; return u.toString(); };
const scrape = () => raw('GET', { url: metricsUrl(), headers: { authorization: `Bearer ${METRICS_TOKEN}` }, expectText: true });

test('metrics need the bearer token, never a URL secret', async () => {
  const anon = await raw('GET', { url: metricsUrl() });
  if (!METRICS_TOKEN) {
    assert.ok([401, 404].includes(anon.status), anon.text);
    assert.ok(['metrics_disabled', 'metrics_unauthorized'].includes(anon.json.error.code));
    return;
  }
  assertError(anon, 401, 'metrics_unauthorized');
  assert.match(anon.headers.get('www-authenticate') || '', /^Bearer/);
  assertError(await raw('GET', { url: metricsUrl(), headers: { authorization: 'Bearer wrong-token-wrong-token' } }), 401, 'metrics_unauthorized');
  const u = new URL(URL_); u.search = `metrics=${encodeURIComponent(METRICS_TOKEN)}`;
  assertError(await raw('GET', { url: u.toString() }), 401, 'metrics_unauthorized');
  const ok = await scrape();
  assert.equal(ok.status, 200, ok.text);
  for (const name of ['peerdrop_requests_total', 'peerdrop_held_polls_total', 'peerdrop_rate_limited_total', 'peerdrop_rooms_created_total',
    'peerdrop_rooms_joined_total', 'peerdrop_storage_errors_total', 'peerdrop_open_rooms', 'peerdrop_queued_messages', 'peerdrop_held_polls']) {
    assert.match(ok.text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'), name);
  }
  const before = metricValue(ok.text, 'peerdrop_rooms_created_total');
  await createRoom();
  await sleep(200); // counters are stored after the response
  const after = metricValue((await scrape()).text, 'peerdrop_rooms_created_total');
  assert.ok(after >= before + 1, `rooms_created_total ${before} -> ${after}`);
  assert.ok(metricValue((await scrape()).text, 'peerdrop_requests_total{op="create",status="201"}') >= 1);
});

test('held polls never exceed the slot budget', { skip: SLOTS > 0 && METRICS_TOKEN ? false : 'needs SIGNAL_POLL_SLOTS and SIGNAL_METRICS_TOKEN' }, async () => {
  const rooms = await Promise.all(Array.from({ length: SLOTS + 4 }, () => joinedRoom()));
  const heldBefore = metricValue((await scrape()).text, 'peerdrop_held_polls_total');
  let maxGauge = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const g = metricValue((await scrape()).text, 'peerdrop_held_polls');
      maxGauge = Math.max(maxGauge, g);
      await sleep(100);
    }
  })();
  const started = Date.now();
  const polls = await Promise.all(rooms.map(async (r, i) => {
    await sleep(i * 60);
    const t = Date.now();
    const res = await poll(r.t1, 0, 2);
    return { res, ms: Date.now() - t };
  }));
  sampling = false;
  await sampler;
  const held = polls.filter((p) => p.res.json.poll_after_ms === 0 && p.ms >= 1500);
  const refused = polls.filter((p) => p.res.json.poll_after_ms > 0);
  assert.ok(held.length >= 1 && held.length <= SLOTS, `held ${held.length} of ${polls.length}, budget ${SLOTS}`);
  assert.equal(held.length + refused.length, polls.length, 'every poll was either held or told to poll again');
  assert.ok(maxGauge <= SLOTS, `gauge peaked at ${maxGauge}, budget ${SLOTS}`);
  assert.ok(maxGauge >= 1, 'the gauge saw the held polls');
  await sleep(200);
  const heldAfter = metricValue((await scrape()).text, 'peerdrop_held_polls_total');
  assert.equal(heldAfter - heldBefore, held.length, 'held_polls_total counts exactly the held polls');
  assert.ok(Date.now() - started < 10000);
});

test('rate limit: 429 with Retry-After once the burst is spent', { skip: URL_RATELIMITED ? false : 'SIGNAL_URL_RATELIMITED not set' }, async () => {
  const statuses = [];
  let limited;
  for (let i = 0; i < RATE_BURST + 5; i++) {
    const r = await call({ v: 1, op: 'create', room: room() }, { url: URL_RATELIMITED });
    statuses.push(r.status);
    if (r.status === 429) { limited = r; break; }
  }
  assert.ok(limited, `never limited: ${statuses.join(',')}`);
  assert.equal(statuses.filter((s) => s === 201).length, RATE_BURST, statuses.join(','));
  assertError(limited, 429, 'rate_limited');
  assert.ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After');
  // X-Forwarded-For from an untrusted client changes nothing.
  const spoofed = await call({ v: 1, op: 'create', room: room() }, { url: URL_RATELIMITED, headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.77' } });
  assertError(spoofed, 429, 'rate_limited');
});

// ---- several receivers ---------------------------------------------------------------------------
// One sender (peer 0) and up to `receivers` receivers (peers 1, 2, ...) in one room, every message
// addressed to one peer (docs/signaling.md section 2.6). Rooms created without `receivers` are the
// rooms for one that every test above uses, unchanged.

/** A room for `n` receivers, `joined` of them in: its id, the sender's token, the receivers' tokens (peers 1 to joined). */
async function roomFor(n, joined = n, opts) {
  const id = room();
  const c = await call({ v: 1, op: 'create', room: id, receivers: n }, opts);
  assert.equal(c.status, 201, c.text);
  assert.equal(c.json.receivers, n, `the answer says how many receivers the room seats: ${c.text}`);
  const receivers = [];
  for (let k = 1; k <= joined; k++) {
    const j = await call({ v: 1, op: 'join', room: id }, opts);
    assert.equal(j.status, 200, `receiver ${k} joins: ${j.text}`);
    assert.equal(j.json.peer, k, 'each receiver gets the next peer number');
    receivers.push(j.json.token);
  }
  return { id, sender: c.json.token, receivers };
}

const sendTo = (token, to, seq, type, data, opts) => call({ v: 1, op: 'send', token, seq, type, data, to }, opts);
const op = (name, fields, opts) => call({ v: 1, op: name, ...fields }, opts);
const fromAndData = (r) => r.json.messages.map((m) => [m.from, m.type, m.data]).sort((a, b) => a[0] - b[0]);

test('several receivers: each joins with its own peer number and exchanges addressed messages with the sender alone', async () => {
  const { sender, receivers } = await roomFor(3);
  // The sender learns of every join from its one poll, with the receiver's number.
  const joins = await poll(sender, 0);
  assert.equal(joins.status, 200, joins.text);
  assert.deepEqual(joins.json.messages.map((m) => [m.type, m.from, m.seq, m.data]),
    [['peer-joined', 1, 0, ''], ['peer-joined', 2, 0, ''], ['peer-joined', 3, 0, '']]);
  for (const m of joins.json.messages) assert.deepEqual(Object.keys(m).sort(), ['data', 'from', 'id', 'seq', 'type']);
  // One sequence for all of the sender's messages, each addressed to one receiver.
  for (const k of [1, 2, 3]) assert.equal((await sendTo(sender, k, k, 'offer', `offer for ${k}`)).status, 201);
  const cursors = [];
  for (const k of [1, 2, 3]) {
    const p = await poll(receivers[k - 1], 0);
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.json.messages.map((m) => [m.from, m.type, m.data]), [[0, 'offer', `offer for ${k}`]], `receiver ${k} reads only its own`);
    cursors.push(p.json.cursor);
  }
  // Receivers answer the sender (no "to": there is no one else) and never see each other's messages.
  for (const k of [1, 2, 3]) assert.equal((await send(receivers[k - 1], 1, 'answer', `answer from ${k}`)).status, 201);
  assert.equal((await sendTo(receivers[0], 0, 2, 'candidate', 'to: 0 names the sender')).status, 201);
  const all = await poll(sender, joins.json.cursor);
  assert.deepEqual(fromAndData(all), [[1, 'answer', 'answer from 1'], [1, 'candidate', 'to: 0 names the sender'],
    [2, 'answer', 'answer from 2'], [3, 'answer', 'answer from 3']]);
  for (const k of [1, 2, 3]) assert.deepEqual((await poll(receivers[k - 1], cursors[k - 1])).json.messages, [], `receiver ${k} got nothing else`);
  // Addressing: the sender must name a receiver that joined; a receiver reaches only the sender.
  assertError(await send(sender, 9, 'offer', 'to whom?'), 400, 'invalid_peer');
  assertError(await sendTo(sender, 4, 9, 'offer', 'no such receiver'), 400, 'invalid_peer');
  assertError(await sendTo(sender, 0, 9, 'offer', 'itself'), 400, 'invalid_peer');
  assertError(await sendTo(sender, '1', 9, 'offer', 'wrong type'), 400, 'invalid_peer');
  assertError(await sendTo(receivers[0], 2, 3, 'candidate', 'to another receiver'), 400, 'invalid_peer');
  // A retry is recognised; the same seq for another receiver is a conflict.
  const first = await sendTo(sender, 1, 4, 'candidate', 'c');
  assert.equal(first.status, 201, first.text);
  const retry = await sendTo(sender, 1, 4, 'candidate', 'c');
  assert.equal(retry.status, 200, retry.text);
  assert.equal(retry.json.id, first.json.id);
  assertError(await sendTo(sender, 2, 4, 'candidate', 'c'), 409, 'seq_conflict');
});

test('several receivers: a join beyond the limit gets room_full; receivers is 1 to max_receivers', async () => {
  const { id } = await roomFor(2);
  const full = await call({ v: 1, op: 'join', room: id });
  assertError(full, 409, 'room_full');
  assert.doesNotMatch(full.json.error.message, /two peers/, 'the sentence suits a room for several');
  const h = await raw('GET');
  const max = h.json.limits?.max_receivers;
  assert.ok(Number.isInteger(max) && max >= 1 && max <= 32, `health lists max_receivers, 1 to 32: ${h.text}`);
  for (const bad of [max + 1, 0, -1, 33, '2', 2.5, true]) {
    assertError(await call({ v: 1, op: 'create', room: room(), receivers: bad }), 400, 'invalid_receivers');
  }
  if (max > 1) {
    const most = await call({ v: 1, op: 'create', room: room(), receivers: max });
    assert.equal(most.status, 201, most.text);
    assert.equal(most.json.receivers, max);
    assert.equal((await op('leave', { token: most.json.token })).status, 200);
  }
  // receivers: 1 is the room for one that a create without it makes: the same answer.
  const one = await call({ v: 1, op: 'create', room: room(), receivers: 1 });
  assert.equal(one.status, 201, one.text);
  assert.deepEqual(Object.keys(one.json).sort(), ['cursor', 'expires_in', 'ice_servers', 'peer', 'token']);
});

test('several receivers: 10 concurrent joins for 4 seats: four win, each with a number of its own', async () => {
  const id = room();
  const c = await call({ v: 1, op: 'create', room: id, receivers: 4 });
  assert.equal(c.status, 201, c.text);
  assert.equal(c.json.receivers, 4, c.text);
  const results = await Promise.all(Array.from({ length: 10 }, () => call({ v: 1, op: 'join', room: id })));
  // 503 storage_busy is an allowed answer under contention: the client retries.
  for (let i = 0; i < results.length; i++) {
    if (results[i].status === 503) {
      await sleep(1000);
      results[i] = await call({ v: 1, op: 'join', room: id });
    }
  }
  const winners = results.filter((r) => r.status === 200);
  assert.deepEqual(winners.map((r) => r.json.peer).sort((a, b) => a - b), [1, 2, 3, 4], results.map((r) => r.status).join(','));
  for (const r of results.filter((x) => x.status !== 200)) assertError(r, 409, 'room_full');
  const joins = await poll(c.json.token, 0);
  assert.deepEqual(joins.json.messages.map((m) => [m.type, m.from]).sort((a, b) => a[1] - b[1]),
    [1, 2, 3, 4].map((k) => ['peer-joined', k]), 'the sender heard of each join once');
});

test('several receivers: the sender drops one; its token stops working, the others go on', async () => {
  const { id, sender, receivers: [r1, r2, r3] } = await roomFor(3);
  const cursor = (await poll(sender, 0)).json.cursor;
  assert.equal((await sendTo(sender, 2, 1, 'offer', 'for 2')).status, 201);
  const after = (await poll(r2, 0)).json.cursor;
  // A poll the dropped receiver holds ends at the drop, not after its wait.
  const started = Date.now();
  const held = poll(r2, after, 10).then((r) => ({ r, elapsed: Date.now() - started }));
  await sleep(700);
  const d = await op('drop', { token: sender, peer: 2 });
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(d.json, { ok: true });
  const { r, elapsed } = await held;
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.messages, []);
  assert.ok(elapsed < 5000, `ended by the drop, not after its 10 s wait (${elapsed} ms)`);
  assertError(await poll(r2, after), 410, 'peer_dropped');
  assertError(await send(r2, 1, 'answer', 'too late'), 410, 'peer_dropped');
  assertError(await sendTo(sender, 2, 2, 'candidate', 'gone'), 410, 'peer_left');
  assert.deepEqual((await op('drop', { token: sender, peer: 2 })).json, { ok: true }, 'dropping again changes nothing');
  assert.equal((await op('leave', { token: r2 })).status, 200, 'a dropped receiver may still leave');
  // The others go on, both ways; the sender is not told of a drop it made itself.
  for (const [k, t] of [[1, r1], [3, r3]]) {
    assert.equal((await sendTo(sender, k, 10 + k, 'offer', `still for ${k}`)).status, 201);
    assert.deepEqual((await poll(t, 0)).json.messages.map((m) => m.data), [`still for ${k}`]);
    assert.equal((await send(t, 1, 'answer', `still from ${k}`)).status, 201);
  }
  assert.deepEqual(fromAndData(await poll(sender, cursor)), [[1, 'answer', 'still from 1'], [3, 'answer', 'still from 3']]);
  // Only the sender drops, and only a receiver that joined; the seat is not given again.
  assertError(await op('drop', { token: r1, peer: 3 }), 403, 'not_sender');
  assertError(await op('drop', { token: sender, peer: 4 }), 400, 'invalid_peer');
  assertError(await op('drop', { token: sender, peer: 0 }), 400, 'invalid_peer');
  assertError(await op('drop', { token: sender, peer: '1' }), 400, 'invalid_peer');
  assertError(await op('drop', { token: sender }), 400, 'missing_field');
  assertError(await call({ v: 1, op: 'join', room: id }), 409, 'room_full');
});

test('several receivers: the sender closes the room to newcomers; those in stay', async () => {
  const { id, sender, receivers: [r1] } = await roomFor(3, 1);
  assertError(await op('close', { token: r1 }), 403, 'not_sender');
  assertError(await op('close', {}), 400, 'missing_field');
  const c = await op('close', { token: sender });
  assert.equal(c.status, 200, c.text);
  assert.deepEqual(c.json, { ok: true });
  assert.deepEqual((await op('close', { token: sender })).json, { ok: true }, 'closing again changes nothing');
  assertError(await call({ v: 1, op: 'join', room: id }), 409, 'room_locked');
  assert.equal((await sendTo(sender, 1, 1, 'offer', 'still yours')).status, 201);
  assert.deepEqual((await poll(r1, 0)).json.messages.map((m) => m.data), ['still yours']);
  assert.equal((await send(r1, 1, 'answer', 'thanks')).status, 201);
});

test('several receivers: a short-code room seats exactly one receiver', async () => {
  assertError(await call({ v: 1, op: 'create', code: true, receivers: 2 }), 400, 'invalid_receivers');
  const c = await call({ v: 1, op: 'create', code: true, receivers: 1 });
  assert.equal(c.status, 201, c.text);
  assert.deepEqual(Object.keys(c.json).sort(), ['code', 'cursor', 'expires_in', 'ice_servers', 'peer', 'token']);
  const j = await call({ v: 1, op: 'join', code: c.json.code });
  assert.equal(j.status, 200, j.text);
  assert.equal(j.json.peer, 1);
  assertError(await call({ v: 1, op: 'join', code: c.json.code }), 409, 'room_full');
  for (const token of [j.json.token, c.json.token]) assert.equal((await op('leave', { token })).status, 200);
});

test('several receivers: one held poll of the sender serves them all', async () => {
  const { sender, receivers } = await roomFor(4);
  const cursor = (await poll(sender, 0)).json.cursor;
  const started = Date.now();
  const held = poll(sender, cursor, 10).then((r) => ({ r, elapsed: Date.now() - started }));
  await sleep(700);
  assert.equal((await send(receivers[2], 1, 'answer', 'from 3')).status, 201);
  const { r, elapsed } = await held;
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(fromAndData(r), [[3, 'answer', 'from 3']]);
  assert.ok(elapsed >= 600 && elapsed < 3000, `held until receiver 3's message, then answered at once (${elapsed} ms)`);
  // Whatever all of them sent in between comes back in one answer: no poll per receiver.
  for (const k of [1, 2, 3, 4]) assert.equal((await send(receivers[k - 1], 2, 'candidate', `c${k}`)).status, 201);
  const p = await poll(sender, r.json.cursor);
  assert.deepEqual(fromAndData(p), [1, 2, 3, 4].map((k) => [k, 'candidate', `c${k}`]));
});

test('several receivers: a room for several holds no more unread messages than a room for one can', async () => {
  const limits = (await raw('GET')).json.limits ?? {};
  const maxQueue = limits.max_queue ?? 256;
  assert.ok((limits.max_room_messages ?? 1024) > 2 * maxQueue, 'the room message limit does not bind first');
  const { sender, receivers } = await roomFor(3);
  // Nothing is read: the sender's queue holds the three peer-joined, the receivers' queues what it sends.
  const payload = 'c'.repeat(64);
  let seq = 0;
  const fill = async (k) => {
    let stored = 0;
    for (;;) {
      const r = await sendTo(sender, k, ++seq, 'candidate', payload);
      if (r.status !== 201) return { stored, r };
      stored++;
      assert.ok(stored <= maxQueue, `receiver ${k}'s queue took more than max_queue ${maxQueue}`);
    }
  };
  const one = await fill(1);
  assert.equal(one.stored, maxQueue, 'one receiver\'s queue holds max_queue');
  assertError(one.r, 429, 'queue_full');
  const two = await fill(2);
  assertError(two.r, 429, 'queue_full');
  assert.equal(3 + one.stored + two.stored, 2 * maxQueue, 'the whole room holds 2 x max_queue unread, as the two queues of a room for one');
  const three = await fill(3);
  assert.equal(three.stored, 0, 'nothing more for anyone until something is read');
  assertError(three.r, 429, 'queue_full');
  // Reading frees the room for all: receiver 1 reads its queue, receiver 3 gets its message.
  let cursor = 0;
  for (;;) {
    const p = await poll(receivers[0], cursor);
    if (p.json.messages.length === 0) break;
    cursor = p.json.cursor;
  }
  assert.equal((await sendTo(sender, 3, ++seq, 'offer', 'now there is room')).status, 201);
});

test('several receivers: leaves reach the sender, the sender\'s leave reaches every receiver, the last one out ends the room', async () => {
  const { id, sender, receivers: [r1, r2] } = await roomFor(3, 2);
  const cursor = (await poll(sender, 0)).json.cursor;
  assert.equal((await op('leave', { token: r1 })).status, 200);
  const p = await poll(sender, cursor);
  assert.deepEqual(p.json.messages.map((m) => [m.type, m.from]), [['peer-left', 1]]);
  assertError(await poll(r1, 0), 410, 'peer_left');
  assertError(await sendTo(sender, 1, 1, 'offer', 'x'), 410, 'peer_left');
  assert.equal((await sendTo(sender, 2, 2, 'offer', 'for 2')).status, 201, 'the others are unaffected');
  // The seat left is not given again; the next newcomer is peer 3.
  const j3 = await call({ v: 1, op: 'join', room: id });
  assert.equal(j3.status, 200, j3.text);
  assert.equal(j3.json.peer, 3);
  assert.equal((await op('leave', { token: sender })).status, 200);
  assert.deepEqual((await poll(r2, 0)).json.messages.map((m) => [m.type, m.from]), [['offer', 0], ['peer-left', 0]]);
  assert.deepEqual((await poll(j3.json.token, 0)).json.messages.map((m) => [m.type, m.from]), [['peer-left', 0]]);
  assertError(await send(r2, 1, 'answer', 'too late'), 410, 'peer_left');
  assert.equal((await op('leave', { token: r2 })).status, 200);
  assert.equal((await op('leave', { token: j3.json.token })).status, 200);
  assertError(await call({ v: 1, op: 'join', room: id }), 404, 'room_not_found');
});

// ---- hostile clients ---------------------------------------------------------------------------
// One scripted client must not starve the others (docs/signaling.md section 12, docs/security.md
// section 4). Run against SIGNAL_URL_HOSTILE, a deployment that believes X-Forwarded-For from this
// machine (its trusted proxy), so each test plays as many clients as it needs, with the default
// quotas. Addresses are random per run (100.64.0.0/10, 2001:db8::/32), so reruns do not collide.

/** Options for call(): this request comes from `client`, through the trusted proxy. */
const as = (client, url = HOSTILE) => ({ url, headers: { 'content-type': 'application/json', 'x-forwarded-for': client } });
const rnd = (n) => randomBytes(4).readUInt32BE(0) % n;
const newClient = () => `100.${64 + rnd(64)}.${rnd(256)}.${rnd(256)}`;
/** A random /64: its addresses are one client. */
const newPrefix64 = () => `2001:db8:${rnd(65536).toString(16)}:${rnd(65536).toString(16)}`;
const hostileOnly = (needs = []) => {
  const missing = [['SIGNAL_URL_HOSTILE', HOSTILE], ...needs].filter(([, v]) => !v).map(([k]) => k);
  return missing.length ? `${missing.join(' and ')} not set` : false;
};

/** The limits in force there (health, schema 3), with the documented defaults where absent. */
async function hostileLimits() {
  const h = await raw('GET', { url: HOSTILE, headers: { 'x-forwarded-for': newClient() } });
  assert.equal(h.status, 200, h.text);
  const l = h.json.limits ?? {};
  return {
    rooms: l.quota_rooms ?? 16, creates: l.quota_creates_per_minute ?? 30, failedJoins: l.quota_failed_joins ?? 20,
    maxDbBytes: l.max_db_bytes ?? Number(process.env.SIGNAL_HOSTILE_MAX_DB_BYTES || 1048576),
  };
}

function assertQuota(r, which) {
  assertError(r, 429, 'quota_exceeded');
  assert.match(r.json.error.message, which, 'the message names the quota');
  assert.ok(Number(r.headers.get('retry-after')) >= 1, `Retry-After on quota_exceeded (${r.headers.get('retry-after')})`);
}

/** Leaves every token, a few at a time (best effort: rooms also expire by themselves). */
async function leaveAll(tokens, url = HOSTILE) {
  for (let i = 0; i < tokens.length; i += 16) {
    await Promise.all(tokens.slice(i, i + 16).map((token) => call({ v: 1, op: 'leave', token }, as(newClient(), url))));
  }
}

test('hostile: one client cannot hold every room; others are unaffected; IPv6 counts per /64', { skip: hostileOnly() }, async () => {
  const { rooms: quota } = await hostileLimits();
  assert.ok(quota > 0, 'the open-rooms quota is on (quota_rooms)');
  const a = newClient();
  const held = [];
  try {
    let r;
    for (let i = 0; i < quota + 3; i++) {
      r = await call({ v: 1, op: 'create', room: room() }, as(a));
      if (r.status !== 201) break;
      held.push(r.json.token);
    }
    assert.equal(held.length, quota, `one client opened ${held.length} rooms; its quota is ${quota}`);
    assertQuota(r, /open-rooms/);
    assertQuota(await call({ v: 1, op: 'create', code: true }, as(a)), /open-rooms/);
    // Others are unaffected, and a room the client ends gives its place back.
    const b = await call({ v: 1, op: 'create', room: room() }, as(newClient()));
    assert.equal(b.status, 201, b.text);
    assert.equal((await call({ v: 1, op: 'leave', token: held.shift() }, as(a))).status, 200);
    held.push(b.json.token);
    const again = await call({ v: 1, op: 'create', room: room() }, as(a));
    assert.equal(again.status, 201, again.text);
    held.push(again.json.token);
    // IPv6: the addresses of one /64 share one quota; the next /64 is another client.
    const p = newPrefix64();
    let fromPrefix = 0;
    for (let i = 0; i < quota + 3; i++) {
      const c = await call({ v: 1, op: 'create', room: room() }, as(`${p}:${(i % 3) + 1}::${rnd(65536).toString(16)}`));
      if (c.status !== 201) {
        assertQuota(c, /open-rooms/);
        break;
      }
      held.push(c.json.token);
      fromPrefix++;
    }
    assert.equal(fromPrefix, quota, `one /64 opened ${fromPrefix} rooms from several addresses; its quota is ${quota}`);
    const other64 = await call({ v: 1, op: 'create', room: room() }, as(`${newPrefix64()}::1`));
    assert.equal(other64.status, 201, other64.text);
    held.push(other64.json.token);
  } finally {
    await leaveAll(held);
  }
});

test('hostile: creates per minute are bounded per client', { skip: hostileOnly() }, async () => {
  const { creates } = await hostileLimits();
  assert.ok(creates > 0, 'the creates quota is on (quota_creates_per_minute)');
  const d = newClient();
  let made = 0;
  let r;
  for (let i = 0; i < creates + 3; i++) {
    r = await call({ v: 1, op: 'create', room: room() }, as(d));
    if (r.status !== 201) break;
    made++;
    // Left at once: the open-rooms quota never binds, only the rate does.
    assert.equal((await call({ v: 1, op: 'leave', token: r.json.token }, as(d))).status, 200);
  }
  assert.equal(made, creates, `one client created ${made} rooms in a burst; its quota is ${creates} a minute`);
  assertQuota(r, /creates-per-minute/);
  const other = await call({ v: 1, op: 'create', room: room() }, as(newClient()));
  assert.equal(other.status, 201, other.text);
  await leaveAll([other.json.token]);
});

test('hostile: failed-join floods are bounded per client, before the room is looked up', { skip: hostileOnly() }, async () => {
  const { failedJoins: quota } = await hostileLimits();
  assert.ok(quota > 0, 'the failed-joins quota is on (quota_failed_joins)');
  const waitingId = room();
  const waiting = await call({ v: 1, op: 'create', room: waitingId }, as(newClient()));
  assert.equal(waiting.status, 201, waiting.text);
  try {
    const f = newClient();
    let failed = 0;
    let r;
    for (let i = 0; i < quota + 3; i++) {
      // Room ids and short-code numbers alike: every miss counts.
      r = await call(i % 2 ? { v: 1, op: 'join', room: room() } : { v: 1, op: 'join', code: 1 + rnd(9999) }, as(f));
      if (r.status === 429) break;
      if ([404, 409, 410].includes(r.status)) failed++;
      else if (r.status === 200) await leaveAll([r.json.token]); // hit someone's code room: not a failure
    }
    assert.equal(failed, quota, `one client failed ${failed} joins before being stopped; its quota is ${quota}`);
    assertQuota(r, /failed-joins/);
    // Over its quota, even a join that would succeed is refused: probing tells it nothing more.
    assertQuota(await call({ v: 1, op: 'join', room: waitingId }, as(f)), /failed-joins/);
    const ok = await call({ v: 1, op: 'join', room: waitingId }, as(newClient()));
    assert.equal(ok.status, 200, `another client joins at once: ${ok.text}`);
    // IPv6: the addresses of one /64 share the quota.
    const p = newPrefix64();
    let v6failed = 0;
    for (let i = 0; i < quota + 3; i++) {
      const j = await call({ v: 1, op: 'join', room: room() }, as(`${p}::${(i % 4) + 1}`));
      if (j.status === 429) {
        assertQuota(j, /failed-joins/);
        break;
      }
      assertError(j, 404, 'room_not_found');
      v6failed++;
    }
    assert.equal(v6failed, quota, `one /64 failed ${v6failed} joins from several addresses; its quota is ${quota}`);
  } finally {
    await leaveAll([waiting.json.token]);
  }
});

test('hostile: all short-code rooms attempted by one client; the endpoint picks numbers, four digits once 999 are held', { skip: hostileOnly() }, async () => {
  const { rooms: quota } = await hostileLimits();
  const held = [];
  try {
    // One client asks for every short code: it gets its quota of them, numbers it did not choose.
    const s = newClient();
    const numbers = new Set();
    let r;
    for (let i = 0; i < 1000; i++) {
      r = await call({ v: 1, op: 'create', code: true }, as(s));
      if (r.status !== 201) break;
      held.push(r.json.token);
      assert.ok(Number.isInteger(r.json.code) && r.json.code >= 1 && r.json.code <= 999, `a three-digit number: ${r.text}`);
      numbers.add(r.json.code);
    }
    assert.equal(numbers.size, quota, `one client holds ${numbers.size} short codes; its quota is ${quota} open rooms`);
    assertQuota(r, /open-rooms/);
    // A sender elsewhere still gets a code, and its receiver joins by the number alone.
    const sender = await call({ v: 1, op: 'create', code: true }, as(newClient()));
    assert.equal(sender.status, 201, sender.text);
    held.push(sender.json.token);
    assert.ok(!numbers.has(sender.json.code), 'never a number another room holds');
    assert.deepEqual(Object.keys(sender.json).sort(), ['code', 'cursor', 'expires_in', 'ice_servers', 'peer', 'token']);
    const receiver = await call({ v: 1, op: 'join', code: sender.json.code }, as(newClient()));
    assert.equal(receiver.status, 200, receiver.text);
    assertError(await call({ v: 1, op: 'join', code: sender.json.code }, as(newClient())), 409, 'room_full');
    assertError(await call({ v: 1, op: 'join', code: 0 }, as(newClient())), 400, 'invalid_code');
    assertError(await call({ v: 1, op: 'join', code: '7' }, as(newClient())), 400, 'invalid_code');
    assertError(await call({ v: 1, op: 'create', code: 7 }, as(newClient())), 400, 'invalid_field');
    numbers.add(sender.json.code);
    // Many clients within their quotas hold every three-digit number: new codes get four digits.
    const clients = Array.from({ length: Math.ceil(999 / quota) + 1 }, newClient);
    let grew = null;
    for (let i = 0; i < clients.length && grew === null; i += 4) {
      const batch = await Promise.all(clients.slice(i, i + 4).map(async (c) => {
        const got = [];
        for (let k = 0; k < quota; k++) {
          const x = await call({ v: 1, op: 'create', code: true }, as(c));
          assert.equal(x.status, 201, x.text);
          got.push(x.json);
        }
        return got;
      }));
      for (const x of batch.flat()) {
        held.push(x.token);
        if (x.code >= 1000) grew ??= x.code;
        else {
          assert.ok(!numbers.has(x.code), `number ${x.code} handed out twice`);
          numbers.add(x.code);
        }
      }
    }
    assert.ok(grew !== null && grew <= 9999, `a four-digit code once every three-digit one is held (got ${grew})`);
    assert.equal(numbers.size, 999, 'every number from 1 to 999 was handed out once');
    const late = await call({ v: 1, op: 'join', code: grew }, as(newClient()));
    assert.equal(late.status, 200, late.text);
  } finally {
    await leaveAll(held);
  }
});

test('hostile: rooms for several receivers count against the open-rooms quota, and the joins they refuse are failed joins', { skip: hostileOnly() }, async () => {
  const { rooms: quota, failedJoins } = await hostileLimits();
  assert.ok(quota > 0 && failedJoins > 0, 'the open-rooms and failed-joins quotas are on');
  const held = [];
  try {
    // A room for eight is one room of the creator's quota, no more and no less.
    const a = newClient();
    let r;
    for (let i = 0; i < quota + 1; i++) {
      r = await call({ v: 1, op: 'create', room: room(), receivers: 8 }, as(a));
      if (r.status !== 201) break;
      assert.equal(r.json.receivers, 8, r.text);
      held.push(r.json.token);
    }
    assert.equal(held.length, quota, `one client opened ${held.length} rooms for eight; its quota is ${quota} rooms`);
    assertQuota(r, /open-rooms/);
    // Joins refused beyond a room's limit, or once it is closed, count as failed joins.
    const s = newClient();
    const fullId = room();
    const full = await call({ v: 1, op: 'create', room: fullId, receivers: 2 }, as(s));
    assert.equal(full.status, 201, full.text);
    held.push(full.json.token);
    const closedId = room();
    const closed = await call({ v: 1, op: 'create', room: closedId, receivers: 4 }, as(s));
    assert.equal(closed.status, 201, closed.text);
    held.push(closed.json.token);
    assert.equal((await call({ v: 1, op: 'close', token: closed.json.token }, as(s))).status, 200);
    const f = newClient();
    for (let k = 1; k <= 2; k++) {
      const j = await call({ v: 1, op: 'join', room: fullId }, as(f));
      assert.equal(j.status, 200, `a join that gets a seat costs nothing: ${j.text}`);
      held.push(j.json.token);
    }
    let failed = 0;
    for (let i = 0; i < failedJoins + 3; i++) {
      r = await call({ v: 1, op: 'join', room: i % 2 ? fullId : closedId }, as(f));
      if (r.status === 429) break;
      assertError(r, 409, i % 2 ? 'room_full' : 'room_locked');
      failed++;
    }
    assert.equal(failed, failedJoins, `one client failed ${failed} joins before being stopped; its quota is ${failedJoins}`);
    assertQuota(r, /failed-joins/);
  } finally {
    await leaveAll(held);
  }
});

test('hostile: storage filled to the cap recovers as messages are read and as rooms expire', { skip: hostileOnly([['SIGNAL_URL_HOSTILE_FUTURE', HOSTILE_FUTURE]]) }, async () => {
  const { maxDbBytes } = await hostileLimits();
  assert.ok(maxDbBytes > 0 && maxDbBytes <= 4 << 20, `the hostile deployment caps live data at 4 MiB or less (max_db_bytes ${maxDbBytes})`);
  const payload = 'p'.repeat(16384);
  const bound = Math.ceil(maxDbBytes / 16384) + 20;
  // Two clients, each within its quotas, fill the storage through one room.
  const id = room();
  const w = newClient();
  const made = await call({ v: 1, op: 'create', room: id }, as(w));
  assert.equal(made.status, 201, made.text);
  const joined = await call({ v: 1, op: 'join', room: id }, as(newClient()));
  assert.equal(joined.status, 200, joined.text);
  const [t0, t1] = [made.json.token, joined.json.token];
  let seq = 0;
  // Sends from ever new addresses: the point is the storage cap, not the sender's rate limit.
  const fill = async () => {
    for (let i = 0; i < bound; i++) {
      const r = await send(t0, ++seq, 'sealed', payload, as(newClient()));
      if (r.status !== 201) return r;
    }
    assert.fail(`${bound} messages of 16 KiB never reached max_db_bytes ${maxDbBytes}`);
  };
  try {
    const full = await fill();
    assertError(full, 507, 'storage_quota_exceeded');
    assert.ok(Number(full.headers.get('retry-after')) >= 1, 'Retry-After on storage_quota_exceeded');
    assertError(await call({ v: 1, op: 'create', room: room() }, as(newClient())), 507, 'storage_quota_exceeded');
    // The recipient reads everything: the payloads are wiped, and their space is usable at once.
    let cursor = 0;
    for (;;) {
      const p = await poll(t1, cursor, 0, as(newClient()));
      assert.equal(p.status, 200, p.text);
      if (p.json.messages.length === 0) break;
      cursor = p.json.cursor;
    }
    const after = await send(t0, ++seq, 'sealed', payload, as(newClient()));
    assert.equal(after.status, 201, `a message fits again once the others were read: ${after.text}`);
    // Full again, with nothing read; then every room expires (the twin server's clock is 2 hours
    // ahead): the database recovers by itself, at its first request.
    assertError(await fill(), 507, 'storage_quota_exceeded');
    const later = as(newClient(), HOSTILE_FUTURE);
    const fresh = await call({ v: 1, op: 'create', room: room() }, later);
    assert.equal(fresh.status, 201, `a new room once the old ones expired: ${fresh.text}`);
    const msg = await send(fresh.json.token, 1, 'sealed', payload, later);
    assert.equal(msg.status, 201, `and a whole message: ${msg.text}`);
    await leaveAll([fresh.json.token], HOSTILE_FUTURE);
  } finally {
    await leaveAll([t0, t1]);
  }
});

// ---- expiry: must stay last (the future server's cleanup removes every room made above) ----

test('expired rooms and tokens get 410', { skip: FUTURE ? false : 'SIGNAL_URL_FUTURE not set' }, async () => {
  const unjoined = await createRoom();
  const live = await joinedRoom();
  await send(live.t0, 1, 'offer', 'x');
  // Sequential on purpose: each request to the future server cleans up expired rooms after answering.
  assertError(await call({ v: 1, op: 'join', room: unjoined.id }, { url: FUTURE }), 410, 'room_expired');
  assertError(await poll(live.t1, 0, 0, { url: FUTURE }), 410, 'token_expired');
  assertError(await send(live.t0, 2, 'offer', 'x', { url: FUTURE }), 410, 'token_expired');
  assertError(await call({ v: 1, op: 'leave', token: live.t0 }, { url: FUTURE }), 410, 'token_expired');
  // Cleanup works through expired rooms in bounded batches; eventually the room is gone.
  let r;
  for (let i = 0; i < 40; i++) {
    r = await call({ v: 1, op: 'join', room: unjoined.id }, { url: FUTURE });
    if (r.status === 404) break;
    assertError(r, 410, 'room_expired');
  }
  assertError(r, 404, 'room_not_found');
});
