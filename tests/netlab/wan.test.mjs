// PeerDrop over emulated wide-area links (crates/link-emulator between a home router and the
// lab's internet): round trips of 50 and 150 ms with 1 % loss each way. The emulator itself is
// checked first with plain-JS data channels, so that a link artifact never passes for a
// PeerDrop property; every failure message carries the emulator's drops and the kernel's
// (RcvbufErrors in each peer's namespace). No assertion is about how long anything took.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { offer, openAndAccept, saveAll, sha256 } from '../e2e/harness.mjs';
import { createLab, labMissing, linkEmulatorMissing } from './lab.mjs';
import { benchPages, plainConnections, plainSend, plainRoundTrip, dropCounters, describeDrops } from './wan.mjs';

const missing = labMissing() ?? linkEmulatorMissing();
const skip = missing && !process.env.REQUIRE_NETLAB ? missing : false;
if (missing && process.env.REQUIRE_NETLAB) throw new Error(`REQUIRE_NETLAB is set but ${missing}`);

const MiB = 1024 * 1024;
let lab;
let browsers;
let drops;
let tmp;

before(async () => {
  if (skip) return;
  lab = await createLab({
    // Alice's router reaches the internet through the emulator; the server needs no NAT (and a
    // default route, so plain JS without STUN has its host candidate).
    routers: { home: { nat: 'cone', link: { delayMs: 25, lossPct: 1, seed: 18 } } },
    peers: { alice: { router: 'home' }, server: { public: true, defaultRoute: true } },
    sites: { stun: { stun: true, extra: await benchPages() } },
  });
  browsers = { alice: await lab.chromium('alice'), server: await lab.chromium('server') };
  drops = dropCounters(lab, 'home', ['alice', 'server']);
  tmp = mkdtempSync(join(tmpdir(), 'peerdrop-wan-'));
});

after(async () => {
  for (const b of Object.values(browsers ?? {})) await b.close();
  await lab?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Frames the emulator lost on purpose, both ways, over those it carried. */
const lossRate = (d) => {
  const lost = d.link.up.dropped_loss + d.link.down.dropped_loss;
  return lost / (lost + d.link.up.forwarded_frames + d.link.down.forwarded_frames);
};

test('the emulator is in the path: plain JS sees its round trip and loss, and goes nowhere while it is down', { skip }, async () => {
  const url = `${lab.sites.stun.url}bench/`;
  const conn = await plainConnections(browsers.alice, browsers.server, url);
  try {
    await lab.setLink('home', { delayMs: 25, lossPct: 1 });
    const rtt50 = await plainRoundTrip(conn);
    await lab.setLink('home', { delayMs: 0, lossPct: 0 });
    const rtt0 = await plainRoundTrip(conn);
    // 25 ms each way: the page's round trip is 50 ms plus what the browsers add (a few ms).
    assert.ok(rtt50 >= 48 && rtt50 < 80, `round trip ${rtt50.toFixed(1)} ms through 2 x 25 ms`);
    assert.ok(rtt50 - rtt0 >= 45, `the delay comes from the emulator: ${rtt0.toFixed(1)} ms without it, ${rtt50.toFixed(1)} with`);

    await lab.setLink('home', { delayMs: 25, lossPct: 1 });
    const before = await drops.take();
    await plainSend(conn, 2 * MiB, 120000);
    const d = await drops.since(before);
    const why = describeDrops(d);
    assert.ok(lossRate(d) > 0.003 && lossRate(d) < 0.03, `1 % loss each way: ${(100 * lossRate(d)).toFixed(2)} % (${why})`);
    assert.equal(d.link.up.dropped_queue + d.link.down.dropped_queue, 0, `no rate limit, no queue drops: ${why}`);
    assert.equal(d.link.up.send_errors + d.link.down.send_errors + d.link.up.oversize + d.link.down.oversize, 0,
      `every frame fit and went out (offloads off): ${why}`);
    assert.equal(d.udp.alice.InCsumErrors + d.udp.server.InCsumErrors, 0, `checksums survive the wire: ${why}`);

    // Down: a message sent now does not arrive; once up again it does (SCTP retransmits it).
    await lab.setLink('home', { delayMs: 0, lossPct: 0 });
    await lab.link('home', 'down');
    const [, b] = conn.pairs[0];
    await b.p.evaluate(() => bench.ceiling.expect(1));
    const [a] = conn.pairs[0];
    const sent = a.p.evaluate(() => bench.ceiling.send(1, 1, { high: 1 << 20, low: 1 << 18, start: 1 << 20 }));
    const early = await Promise.race([sent.then(() => 'arrived'), new Promise((r) => setTimeout(() => r('held'), 2000))]);
    const whileDown = (await lab.linkStats('home')).up.dropped_down;
    await lab.link('home', 'up');
    assert.equal(early, 'held', 'nothing crosses while the link is down');
    assert.ok(whileDown > 0, 'the emulator counted what it dropped while down');
    assert.ok((await Promise.race([sent.then(() => true), new Promise((r) => setTimeout(() => r(false), 15000))])), 'it arrives once the link is up');
  } finally {
    await conn.close();
  }
});

/** Speed and ETA as the receiver's page shows them (#total-text), sampled every 200 ms. */
const SAMPLE_PROGRESS = `
  window.__progress = [];
  setInterval(() => {
    const text = document.getElementById('total-text')?.textContent ?? '';
    if (text && text !== window.__progress.at(-1)?.text) window.__progress.push({ t: performance.now(), text });
  }, 200);
`;
// The page formats with Intl in English: decimal units, "sec"/"min"/"hr".
const UNITS = { byte: 1, kB: 1e3, MB: 1e6, GB: 1e9 };
/** "42.0% · 1.2 MB of 3.1 MB · 310 kB/s · 6 sec left" -> { percent, speed, eta }. */
function parseProgress(text) {
  const m = /^([\d.]+)% · .* · ([\d.,]+)\s(byte|kB|MB|GB)\/s · (.*)$/.exec(text);
  if (!m) return null;
  const left = /(?:(\d+)\shr )?(?:(\d+)\smin )?(?:(\d+)\ssec )?left/.exec(m[4]);
  // "estimating time left…" matches with no number: unknown.
  const eta = left && left.slice(1).some((v) => v !== undefined) ? Number(left[1] ?? 0) * 3600 + Number(left[2] ?? 0) * 60 + Number(left[3] ?? 0) : Infinity;
  return { percent: Number(m[1]), speed: Number(m[2].replace(/,/g, '')) * UNITS[m[3]], eta };
}

/** Sends `sizes` files from alice (behind the link) to the server on the example page. */
async function transferAcross(rttMs, sizes) {
  await lab.setLink('home', { delayMs: rttMs / 2, lossPct: 1 });
  const files = sizes.map((size, i) => {
    const path = join(tmp, `wan-${rttMs}-${i}.bin`);
    const data = randomBytes(size);
    writeFileSync(path, data);
    return { path, name: `wan-${rttMs}-${i}.bin`, sha256: sha256(data), size };
  });
  const [sc, rc] = await Promise.all([browsers.alice.newContext(), browsers.server.newContext()]);
  try {
    const [s, r] = await Promise.all([sc.newPage(), rc.newPage()]);
    await r.addInitScript(SAMPLE_PROGRESS);
    const before = await drops.take();
    const link = await offer(s, lab.sites.stun.url, files.map((f) => f.path));
    await openAndAccept(r, link);
    const started = Date.now();
    try {
      await r.waitForSelector('body[data-state="complete"]', { timeout: 120000 });
    } catch (e) {
      throw new Error(`the transfer at ${rttMs} ms did not complete: state=${await r.getAttribute('body', 'data-state')} ` +
        `error="${await r.textContent('#error')}" status="${await r.textContent('#status')}"; ${describeDrops(await drops.since(before))}`, { cause: e });
    }
    const elapsedMs = Date.now() - started;
    const why = describeDrops(await drops.since(before));
    const saved = await saveAll(r);
    assert.deepEqual(
      saved.map(({ name, sha256: h, size }) => ({ name, sha256: h, size })).sort((x, y) => x.name.localeCompare(y.name)),
      files.map(({ name, sha256: h, size }) => ({ name, sha256: h, size })),
      `files differ after a transfer at ${rttMs} ms (${why})`,
    );
    const diagnose = async (p) => {
      await p.click('#diagnostics summary');
      await p.click('#diagnose');
      await p.waitForFunction(() => document.getElementById('diagnosis').textContent.startsWith('{'));
      return JSON.parse(await p.textContent('#diagnosis'));
    };
    const receiverDiagnosis = await diagnose(r);
    return {
      why,
      elapsedMs,
      lanes: receiverDiagnosis.lanes,
      total: sizes.reduce((a, b) => a + b, 0),
      stalled: [await s.getAttribute('body', 'data-stalled'), await r.getAttribute('body', 'data-stalled')],
      rtt: receiverDiagnosis.connection.roundTripTimeMs,
      progress: (await r.evaluate(() => window.__progress)).map((x) => ({ ...x, ...parseProgress(x.text) })),
    };
  } finally {
    await sc.close();
    await rc.close();
  }
}

/** What a user would call sensible progress, and the link really in the path. */
function checkTransfer(rttMs, t) {
  const ctx = `at ${rttMs} ms (${t.why})`;
  assert.ok(t.rtt >= 0.9 * rttMs && t.rtt <= 1.5 * rttMs + 30, `diagnose() round trip ${t.rtt} ms, configured ${rttMs} ms ${ctx}`);
  assert.deepEqual(t.stalled, [null, null], `no stalled event ${ctx}`);
  // A long path: blocks spread over extra peer connections (one per two blocks at most).
  assert.ok(t.lanes >= 2, `several connections carried the blocks: diagnose().lanes = ${t.lanes} ${ctx}`);
  const moving = t.progress.filter((p) => p.percent > 0 && p.percent < 100);
  // Progress counts verified bytes, a block (1 MiB) at a time: the sizes below give two steps at least.
  assert.ok(moving.length >= 2, `progress was shown while bytes moved: ${JSON.stringify(t.progress.map((p) => p.text))} ${ctx}`);
  const unparsed = t.progress.filter((p) => p.percent == null);
  assert.equal(unparsed.length, 0, `progress text as the page writes it: ${JSON.stringify(unparsed)}`);
  for (const p of moving) assert.ok(p.speed > 0, `speed above 0 once bytes move: "${p.text}" ${ctx}`);
  // The first estimate may wait for a speed; from a quarter on there must be one.
  const later = moving.filter((p) => p.percent >= 25);
  for (const p of later) assert.ok(Number.isFinite(p.eta), `a finite ETA from 25 % on: "${p.text}" ${ctx}`);
  // Speeds shown agree with the transfer's own average within a factor of 4 (the median).
  const average = t.total / (t.elapsedMs / 1000);
  const speeds = moving.map((p) => p.speed).sort((a, b) => a - b);
  const median = speeds[Math.floor(speeds.length / 2)];
  assert.ok(median > average / 4 && median < average * 4,
    `median speed shown ${(median / 1024).toFixed(0)} KiB/s, average ${(average / 1024).toFixed(0)} KiB/s ${ctx}`);
}

test('PeerDrop at 50 ms round trip and 1 % loss: completes, verifies, sensible progress', { skip }, async () => {
  const t = await transferAcross(50, [3 * MiB, MiB + 12345]);
  checkTransfer(50, t);
});

test('PeerDrop at 150 ms round trip and 1 % loss: completes, verifies, sensible progress', { skip }, async () => {
  const t = await transferAcross(150, [2 * MiB, MiB / 2 + 777]);
  checkTransfer(150, t);
});
