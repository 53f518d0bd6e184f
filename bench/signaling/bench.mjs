// Load benchmark for signal.php: simulated peer pairs negotiate end to end (create, join, offer,
// answer, candidates, leave) while every peer polls the way the contract asks (poll, then sleep
// poll_after_ms; on 503/429 sleep Retry-After). Node 20+, no dependencies.
//
//   node bench/signaling/bench.mjs --url http://127.0.0.1:8080/signal.php [--peers 150] [--duration 60]
//        [--candidates 3] [--wait 0] [--xff] [--out bench/results] [--label text] [--no-write]
//
// --peers      peers negotiating at once (pairs = peers / 2); each pair repeats negotiations until
//              --duration seconds have passed, then finishes the one in progress
// --wait       `wait` sent with every poll (0 = short polls; >0 asks for held polls)
// --trickle-ms pause between one peer's candidates, as trickle ICE gathers them (default 0: back to back)
// --gap-ms     pause between two negotiations of one pair (default 0: the next starts at once)
// --xff        send a distinct X-Forwarded-For per pair (the server must trust 127.0.0.1), so that
//              per-client rate limiting sees one client per pair, as in production
// Reports pairs per minute, request latency p50/p95/p99/max (overall and per op), negotiation time,
// and errors (any status >= 400 or network failure; retried 503/429 are counted too).
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return def;
  if (typeof def === 'boolean') return true;
  return args[i + 1];
};
const URL_ = opt('url', '');
const PEERS = Number(opt('peers', 150));
const DURATION = Number(opt('duration', 60));
const CANDIDATES = Number(opt('candidates', 3));
const WAIT = Number(opt('wait', 0));
const XFF = opt('xff', false);
const TRICKLE_MS = Number(opt('trickle-ms', 0));
const GAP_MS = Number(opt('gap-ms', 0));
const OUT = opt('out', 'bench/results');
const LABEL = opt('label', '');
const NO_WRITE = opt('no-write', false);
if (!URL_ || PEERS < 2) {
  console.error('usage: bench.mjs --url URL [--peers N>=2] [--duration S] ...');
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lat = { all: [] };
const errors = {};
let requests = 0;
const negotiations = [];
let pairsDone = 0;
let pairsFailed = 0;

function record(op, ms) {
  (lat[op] ||= []).push(ms);
  lat.all.push(ms);
}
function error(kind) {
  errors[kind] = (errors[kind] || 0) + 1;
}

async function call(pair, body) {
  for (let attempt = 0; ; attempt++) {
    const headers = { 'content-type': 'application/json' };
    if (XFF) headers['x-forwarded-for'] = pair.ip;
    const t0 = performance.now();
    let res;
    let text;
    try {
      res = await fetch(URL_, { method: 'POST', headers, body: JSON.stringify(body) });
      text = await res.text();
    } catch (e) {
      error(`network:${e.cause?.code || e.message}`);
      if (attempt < 3) { await sleep(500); continue; }
      throw e;
    }
    const ms = performance.now() - t0;
    requests++;
    // A poll held by the server is slow on purpose: keep it out of the latency figures.
    const held = body.op === 'poll' && body.wait > 0 && ms > 1000;
    if (!held) record(body.op, ms);
    if (res.status === 503 || res.status === 429) {
      error(`${res.status}:${JSON.parse(text).error.code}`);
      if (attempt < 5) { await sleep(1000 * Number(res.headers.get('retry-after') || 1)); continue; }
    }
    if (res.status >= 400) {
      error(`${res.status}:${(() => { try { return JSON.parse(text).error.code; } catch { return 'non-json'; } })()}`);
      throw new Error(`${body.op} -> ${res.status} ${text.slice(0, 200)}`);
    }
    return JSON.parse(text);
  }
}

/** Poll until `want(messages so far)` is satisfied; returns the messages. */
async function pollUntil(pair, peer, want, deadline) {
  const got = [];
  while (!want(got)) {
    if (performance.now() > deadline) throw new Error(`peer ${peer.n}: timed out waiting`);
    const r = await call(pair, { v: 1, op: 'poll', token: peer.token, after: peer.cursor, wait: WAIT });
    got.push(...r.messages);
    peer.cursor = r.cursor;
    if (!want(got) && r.poll_after_ms > 0) await sleep(r.poll_after_ms);
  }
  return got;
}

async function negotiate(pair) {
  const t0 = performance.now();
  const deadline = t0 + 60000;
  const roomId = randomBytes(24).toString('base64url');
  const a = { n: 0, cursor: 0, seq: 0 };
  const b = { n: 1, cursor: 0, seq: 0 };
  a.token = (await call(pair, { v: 1, op: 'create', room: roomId })).token;
  // The joiner arrives a little later, as a person typing a code would.
  await sleep(50 + Math.random() * 200);
  b.token = (await call(pair, { v: 1, op: 'join', room: roomId })).token;
  const send = (p, type, data) => call(pair, { v: 1, op: 'send', token: p.token, seq: ++p.seq, type, data });
  const sdp = (kind) => `v=0\r\no=- ${Date.now()} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=${kind}\r\n`.repeat(4);
  const isType = (t) => (m) => m.type === t;
  const count = (list, t) => list.filter(isType(t)).length;
  await Promise.all([
    (async () => {
      await pollUntil(pair, a, (l) => l.some(isType('peer-joined')), deadline);
      await send(a, 'offer', sdp('offer'));
      for (let i = 0; i < CANDIDATES; i++) {
        if (TRICKLE_MS) await sleep(TRICKLE_MS);
        await send(a, 'candidate', `candidate:${i} 1 udp 2122260223 192.0.2.${i} 5${i}000 typ host`);
      }
      await pollUntil(pair, a, (l) => count(l, 'answer') === 1 && count(l, 'candidate') === CANDIDATES, deadline);
    })(),
    (async () => {
      await pollUntil(pair, b, (l) => count(l, 'offer') === 1 && count(l, 'candidate') === CANDIDATES, deadline);
      await send(b, 'answer', sdp('answer'));
      for (let i = 0; i < CANDIDATES; i++) {
        if (TRICKLE_MS) await sleep(TRICKLE_MS);
        await send(b, 'candidate', `candidate:${i} 1 udp 2122260223 198.51.100.${i} 6${i}000 typ host`);
      }
    })(),
  ]);
  await Promise.all([call(pair, { v: 1, op: 'leave', token: a.token }), call(pair, { v: 1, op: 'leave', token: b.token })]);
  negotiations.push(performance.now() - t0);
}

function pct(list, p) {
  if (!list.length) return null;
  const s = [...list].sort((x, y) => x - y);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] * 10) / 10;
}

const pairs = Math.floor(PEERS / 2);
const started = performance.now();
const endAt = started + DURATION * 1000;
await Promise.all(Array.from({ length: pairs }, async (_, i) => {
  const pair = { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` };
  await sleep((i / pairs) * 2000); // ramp up over 2 s
  while (performance.now() < endAt) {
    try {
      await negotiate(pair);
      pairsDone++;
      if (GAP_MS) await sleep(GAP_MS);
    } catch (e) {
      pairsFailed++;
      error(`negotiation:${String(e.message).slice(0, 60)}`);
      await sleep(1000);
    }
  }
}));
const elapsed = (performance.now() - started) / 1000;

const perOp = {};
for (const [op, list] of Object.entries(lat)) {
  if (op === 'all') continue;
  perOp[op] = { count: list.length, p50_ms: pct(list, 50), p95_ms: pct(list, 95), p99_ms: pct(list, 99), max_ms: pct(list, 100) };
}
const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
const result = {
  label: LABEL,
  when: new Date().toISOString(),
  url: URL_,
  peers: pairs * 2,
  duration_s: Math.round(elapsed * 10) / 10,
  candidates_per_peer: CANDIDATES,
  poll_wait_s: WAIT,
  trickle_ms: TRICKLE_MS,
  gap_ms: GAP_MS,
  pairs_completed: pairsDone,
  pairs_failed: pairsFailed,
  pairs_per_minute: Math.round((pairsDone / elapsed) * 60 * 10) / 10,
  requests,
  requests_per_second: Math.round((requests / elapsed) * 10) / 10,
  latency_ms: { p50: pct(lat.all, 50), p95: pct(lat.all, 95), p99: pct(lat.all, 99), max: pct(lat.all, 100) },
  negotiation_ms: { p50: pct(negotiations, 50), p99: pct(negotiations, 99) },
  per_op: perOp,
  errors,
  error_count: errorCount,
};
console.log(JSON.stringify(result, null, 2));
if (!NO_WRITE) {
  mkdirSync(OUT, { recursive: true });
  const stamp = result.when.replace(/[:.]/g, '-');
  const md = [
    `# signal.php load benchmark${LABEL ? `: ${LABEL}` : ''}`,
    '',
    `${result.when}, ${result.peers} peers (${pairs} pairs) negotiating at once for ${result.duration_s} s against ${URL_}.`,
    `Each negotiation: create, join, offer, ${CANDIDATES} candidates each way (${TRICKLE_MS} ms apart), answer, leave; polls with wait=${WAIT} at the server's poll_after_ms; ${GAP_MS} ms between a pair's negotiations.`,
    '',
    '| metric | value |', '|---|---|',
    `| pairs completed | ${pairsDone} (${pairsFailed} failed) |`,
    `| pairs per minute | ${result.pairs_per_minute} |`,
    `| requests | ${requests} (${result.requests_per_second}/s) |`,
    `| request latency p50 / p95 / p99 / max | ${result.latency_ms.p50} / ${result.latency_ms.p95} / ${result.latency_ms.p99} / ${result.latency_ms.max} ms |`,
    `| negotiation time p50 / p99 | ${result.negotiation_ms.p50} / ${result.negotiation_ms.p99} ms |`,
    `| errors | ${errorCount}${errorCount ? ' ' + JSON.stringify(errors) : ''} |`,
    '',
    '| op | count | p50 ms | p95 ms | p99 ms | max ms |', '|---|---|---|---|---|---|',
    ...Object.entries(perOp).map(([op, s]) => `| ${op} | ${s.count} | ${s.p50_ms} | ${s.p95_ms} | ${s.p99_ms} | ${s.max_ms} |`),
    '',
  ].join('\n');
  writeFileSync(join(OUT, `signaling-${stamp}.json`), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(OUT, `signaling-${stamp}.md`), md);
  writeFileSync(join(OUT, 'signaling-latest.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(OUT, 'signaling-latest.md'), md);
  console.error(`wrote ${join(OUT, `signaling-${stamp}.{json,md}`)} and signaling-latest.{json,md}`);
}
process.exit(errorCount === 0 && pairsDone > 0 ? 0 : 1);
