// Transfers across the lab's emulated links, shared by tests/netlab/wan.test.mjs and
// bench/wan/run.mjs: plain-JS data channels between two browsers in two namespaces (bench/page's
// reference sender and receiver, served from the lab's site), PeerDrop between the same two
// (bench/page's PeerDrop driver, hashing and verification on), and the drop counters that say
// whether the link or a socket buffer, rather than the thing measured, lost data.
import { cp, mkdir } from 'node:fs/promises';
import { benchPage, closePages } from '../support/bench-page.mjs';

const MiB = 1024 * 1024;
/** The plain-JS sender's message size and buffered-amount marks (bench.js `ceiling.send`). */
const MESSAGE = 256 * 1024;
const MARKS = { high: 4 * MiB, low: MiB, start: 4 * MiB };

/** Copies bench/page (and hash-wasm, which it imports) for a lab site's `extra`; returns it. */
export async function benchPages() {
  const dir = 'target/netlab-bench-page';
  await mkdir(dir, { recursive: true });
  await cp('bench/page', dir, { recursive: true });
  await cp('node_modules/hash-wasm/dist/index.esm.min.js', `${dir}/hash-wasm.js`);
  return `${dir}:bench`;
}

/**
 * `connections` plain-JS peer connections (one data channel each) from a page in `sender` to
 * one in `receiver`, SDP relayed by the driver. The pages offer no ICE servers: one side is on
 * a public address, so the other's checks reach it and it answers their peer-reflexive address.
 */
export async function plainConnections(sender, receiver, url, connections = 1) {
  const pairs = [];
  const close = () => closePages(...pairs.flat());
  try {
    for (let i = 0; i < connections; i++) {
      const pair = [];
      pairs.push(pair);
      pair.push(await benchPage(sender, url));
      pair.push(await benchPage(receiver, url));
      const [a, b] = pair;
      const offer = await a.p.evaluate(() => bench.ceiling.offer(1));
      const answer = await b.p.evaluate((sdp) => bench.ceiling.answer(sdp, 1), offer);
      await withTimeout(a.p.evaluate((sdp) => bench.ceiling.accept(sdp), answer), 30000, 'a plain-JS connection did not open');
      await b.p.evaluate(() => bench.ceiling.ready());
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { pairs, close };
}

/**
 * Sends `bytes` split evenly over the connections at once; milliseconds from the first send to
 * the last "done" back (so one one-way delay more than the data took; PeerDrop's figure, from
 * acceptance to the last verified byte, includes a round trip of its own).
 */
export async function plainSend({ pairs }, bytes, timeoutMs) {
  const each = Math.floor(bytes / pairs.length);
  await Promise.all(pairs.map(([, b]) => b.p.evaluate((n) => bench.ceiling.expect(n), each)));
  const spans = await withTimeout(Promise.all(pairs.map(([a]) => a.p.evaluate(async ([n, size, marks]) => {
    const start = performance.timeOrigin + performance.now();
    const ms = await bench.ceiling.send(n, size, marks);
    return [start, start + ms];
  }, [each, MESSAGE, MARKS]))), timeoutMs, `a plain-JS transfer of ${bytes} bytes did not finish`);
  return Math.max(...spans.map((s) => s[1])) - Math.min(...spans.map((s) => s[0]));
}

/**
 * Round trip over an open plain-JS connection as the page sees it: a 1-byte message there and
 * its "done" back, the fastest of `tries` (a lost packet makes one try wait for a retransmit).
 */
export async function plainRoundTrip({ pairs }, tries = 5) {
  const [a, b] = pairs[0];
  const times = [];
  for (let i = 0; i < tries; i++) {
    await b.p.evaluate(() => bench.ceiling.expect(1));
    times.push(await withTimeout(a.p.evaluate(([size, marks]) => bench.ceiling.send(1, size, marks), [MESSAGE, MARKS]), 20000, 'a 1-byte round trip did not come back'));
  }
  return Math.min(...times);
}

/**
 * PeerDrop (bench/page's driver: hashing and verification on, into memory) from a page in
 * `sender` to one in `receiver` through the site's signal.php: milliseconds from acceptance to
 * the last byte verified, both sides' diagnose(), and the receiver's events (with the verified
 * bytes of each `progress`; their `t` plus `timeOrigin` is wall-clock time). `flow` (both sides' `flow` option) is for experiments; `meter`'s
 * `begin()` and `end()` are awaited as the receiver starts and once the last byte is verified,
 * both pages still open (a measurement of the transfer alone).
 */
export async function peerdropSend(sender, receiver, url, bytes, timeoutMs, flow = undefined, meter = undefined) {
  const s = await benchPage(sender, url);
  let r;
  try {
    r = await benchPage(receiver, url);
    await s.p.evaluate((n) => bench.peerdrop.prepare(n), bytes);
    const link = await s.p.evaluate(([n, f]) => bench.peerdrop.offer(n, f), [bytes, flow]);
    // A person passes the link on after the page shows it; a driver must wait for the room,
    // or a receiver quicker than a retransmit of the sender's request finds none (a run at
    // 20 ms with 1 % loss ended in link_expired so).
    await withTimeout(s.p.evaluate(() => bench.peerdrop.registered()), 30000, 'the sender\'s room was not created');
    await meter?.begin();
    await r.p.evaluate(([l, f]) => bench.peerdrop.receive(l, 'memory', f), [link, flow]);
    const ms = await withTimeout(r.p.evaluate(() => bench.peerdrop.finished()), timeoutMs, `a PeerDrop transfer of ${bytes} bytes did not finish`);
    await meter?.end();
    const [sd, rd] = await Promise.all([s, r].map((x) => x.p.evaluate(() => bench.peerdrop.diagnose())));
    const [events, timeOrigin] = await r.p.evaluate(() => [bench.peerdrop.events(), performance.timeOrigin]);
    return { ms, sender: sd, receiver: rd, events, timeOrigin };
  } finally {
    await closePages(s, r);
  }
}

/**
 * The counters that tell a link artifact from a property of what was measured: the emulator's
 * own drops per direction, and each peer namespace's UDP receive errors (`RcvbufErrors`: a
 * socket buffer overflowed). `take()` now, then `since(before)` for the difference.
 */
export function dropCounters(lab, router, peers) {
  const take = async () => ({
    link: await lab.linkStats(router),
    udp: Object.fromEntries(peers.map((p) => [p, lab.udpDrops(p)])),
  });
  const since = async (before) => {
    const now = await take();
    const dir = (d) => Object.fromEntries(['forwarded_frames', 'dropped_loss', 'dropped_queue', 'dropped_down', 'socket_drops', 'send_errors', 'oversize']
      .map((k) => [k, now.link[d][k] - before.link[d][k]]));
    return {
      link: { up: dir('up'), down: dir('down') },
      udp: Object.fromEntries(peers.map((p) => [p, Object.fromEntries(['RcvbufErrors', 'InErrors', 'InCsumErrors']
        .map((k) => [k, (now.udp[p][k] ?? 0) - (before.udp[p][k] ?? 0)]))])),
    };
  };
  return { take, since };
}

/** One line for logs and failure messages: the emulator's drops and the kernel's. */
export function describeDrops(d) {
  const dir = (x) => `${x.forwarded_frames} frames, lost ${x.dropped_loss}, queue ${x.dropped_queue}, down ${x.dropped_down}, ` +
    `socket ${x.socket_drops}, send errors ${x.send_errors}`;
  const udp = Object.entries(d.udp).map(([p, u]) => `${p} RcvbufErrors ${u.RcvbufErrors} InErrors ${u.InErrors} InCsumErrors ${u.InCsumErrors}`).join('; ');
  return `emulator up: ${dir(d.link.up)}; down: ${dir(d.link.down)}; kernel: ${udp}`;
}

function withTimeout(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} within ${Math.round(ms / 1000)} s`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
