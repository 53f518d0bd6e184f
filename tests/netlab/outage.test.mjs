// Surviving the network, in the lab: the sender's uplink is pulled mid-transfer and plugged
// back in after 5 s and after 60 s; the receiver moves to another network mid-transfer; the
// link never comes back. The sender's uplink is held to a few MiB/s (tbf) so that a transfer
// lasts long enough to be cut.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { offer, openAndAccept, saveAll, sha256, errorCode } from '../e2e/harness.mjs';
import { createLab, labMissing } from './lab.mjs';

const missing = labMissing();
const skip = missing && !process.env.REQUIRE_NETLAB ? missing : false;
if (missing && process.env.REQUIRE_NETLAB) throw new Error(`REQUIRE_NETLAB is set but ${missing}`);

const MiB = 1024 * 1024;
const SIZE = 12 * MiB;
/** The runtime's default reconnect window (options::RECONNECT_WINDOW_MS). */
const WINDOW_MS = 120_000;

let lab;
let file;
before(async () => {
  if (skip) return;
  lab = await createLab({
    routers: { senderNet: { nat: 'cone' }, receiverNet: { nat: 'cone' }, otherNet: { nat: 'cone' } },
    peers: { sender: { router: 'senderNet' }, receiver: { router: 'receiverNet' } },
    sites: { stun: { stun: true } },
  });
  // About 2 MiB/s up from the sender: 12 MiB take ~6 s, long enough to cut.
  lab.execRouter('senderNet', 'tc', 'qdisc', 'add', 'dev', 'wan', 'root', 'tbf', 'rate', '16mbit', 'burst', '64kb', 'latency', '300ms');
  const dir = mkdtempSync(join(tmpdir(), 'peerdrop-outage-'));
  const data = randomBytes(SIZE);
  file = { dir, path: join(dir, 'big.bin'), sha256: sha256(data) };
  writeFileSync(file.path, data);
});

after(async () => {
  await lab?.close();
  if (file) rmSync(file.dir, { recursive: true, force: true });
});

/** Counts the bytes the page sends on each data channel, in the order the channels opened. */
function countSentBytes() {
  const totals = new WeakMap();
  window.__sentPerChannel = [];
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) {
    if (!totals.has(this)) {
      totals.set(this, window.__sentPerChannel.length);
      window.__sentPerChannel.push(0);
    }
    window.__sentPerChannel[totals.get(this)] += data.byteLength ?? data.size ?? data.length ?? 0;
    return send.call(this, data);
  };
}

/** What `diagnose()` says, through the page's diagnostics panel. */
async function diagnosis(page) {
  await page.click('#diagnostics summary');
  await page.click('#diagnose');
  await page.waitForFunction(() => document.getElementById('diagnosis').textContent.startsWith('{'));
  return JSON.parse(await page.textContent('#diagnosis'));
}

const verifiedFraction = (page) => page.evaluate(() => Number(document.getElementById('total-bar').value) || 0);

/** Sends the file, runs `disrupt(s, r)` once a quarter of it is verified, and checks the end. */
const t0 = Date.now();
async function interrupted({ sink, disrupt, expect = 'complete' }) {
  const browsers = await Promise.all([lab.chromium('sender'), lab.chromium('receiver')]);
  try {
    const [s, r] = await Promise.all(browsers.map(async (b) => (await b.newContext()).newPage()));
    await s.addInitScript(countSentBytes);
    if (process.env.NETLAB_DEBUG) {
      for (const p of [s, r]) p.on('console', (m) => console.log(`${p === s ? 'S' : 'R'} ${((Date.now() - t0) / 1000).toFixed(1)} ${m.type()} ${m.text().slice(0, 200)}`));
    }
    let link = await offer(s, lab.sites.stun.url, [file.path]);
    if (sink) link = link.replace('#', `?sink=${sink}#`);
    await openAndAccept(r, link);
    await r.waitForFunction(() => Number(document.getElementById('total-bar').value) >= 0.25, null, { timeout: 60000 });
    const seen = await disrupt(s, r);
    if (expect !== 'complete') return { s, r, seen };
    try {
      await r.waitForSelector('body[data-state="complete"]', { timeout: 120000 });
    } catch (e) {
      throw new Error(`no completion: state=${await r.getAttribute('body', 'data-state')} ` +
        `status="${await r.textContent('#status')}" error="${await r.textContent('#error')}" ` +
        `sender: state=${await s.getAttribute('body', 'data-state')} error="${await s.textContent('#error')}" ` +
        `receiver diagnosis: ${JSON.stringify(await diagnosis(r).catch((x) => String(x)))} ` +
        `sender signaling: ${JSON.stringify((await diagnosis(s).catch(() => ({})))?.signaling?.recent?.map((x) => `${x.op}:${x.status}`))} ` +
        `events: ${JSON.stringify(await Promise.all([s, r].map((p) => p.evaluate(() => window.__events ?? []))))}`, { cause: e });
    }
    const [saved] = await saveAll(r);
    assert.equal(saved.sha256, file.sha256, 'the file arrived whole and verified');
    const sent = await s.evaluate(() => window.__sentPerChannel);
    const resumed = Number(await r.getAttribute('body', 'data-resumed-bytes'));
    return { sent, resumed, seen };
  } finally {
    await Promise.all(browsers.map((b) => b.close()));
  }
}

/**
 * No verified block crossed twice: on one connection the sender sent the file once; after a
 * restored connection, the last one carried only what was missing.
 */
function assertNothingVerifiedResent({ sent, resumed }) {
  // Frame headers, manifest and control frames: well under 1 % of the data.
  const allowance = (bytes) => bytes * 0.01 + 256 * 1024;
  if (sent.length === 1) {
    assert.ok(sent[0] <= SIZE + allowance(SIZE), `one connection sent ${sent[0]} bytes for ${SIZE}`);
    return;
  }
  assert.ok(resumed > 0, `a restored connection resumed from what was verified (per channel ${sent})`);
  const last = sent.at(-1);
  assert.ok(last <= SIZE - resumed + allowance(SIZE - resumed),
    `the last connection sent ${last} bytes for ${SIZE - resumed} missing (resumed ${resumed}; per channel ${sent})`);
}

/** Takes the sender's uplink down for `ms`, recording what both pages say meanwhile. */
async function pullCable(s, r, ms) {
  lab.link('senderNet', 'down');
  const says = { receiver: new Set(), sender: new Set() };
  const until = Date.now() + ms;
  try {
    while (Date.now() < until) {
      says.receiver.add(await r.textContent('#status'));
      says.sender.add(await s.textContent('#status'));
      await new Promise((res) => setTimeout(res, 1000));
    }
  } finally {
    lab.link('senderNet', 'up');
  }
  return says;
}

test('the uplink down for 5 s mid-transfer: the transfer completes by itself, nothing verified sent twice', { skip }, async () => {
  const result = await interrupted({ disrupt: (s, r) => pullCable(s, r, 5000) });
  assertNothingVerifiedResent(result);
});

test('the uplink down for 60 s (memory sink): both pages say they are retrying, then it completes', { skip, timeout: 300000 }, async () => {
  const result = await interrupted({ sink: 'memory', disrupt: (s, r) => pullCable(s, r, 60000) });
  const retrying = /Connection lost, retrying… \(giving up in (\d+) s/;
  const receiverSaid = [...result.seen.receiver].find((t) => retrying.test(t));
  assert.ok(receiverSaid, `the receiver said it is retrying: ${[...result.seen.receiver].join(' | ')}`);
  const left = Number(receiverSaid.match(retrying)[1]);
  assert.ok(left > 0 && left <= WINDOW_MS / 1000, `time left before giving up: ${left} s`);
  assert.ok([...result.seen.sender].some((t) => retrying.test(t) || /lost/.test(t)),
    `the sender said the connection is lost: ${[...result.seen.sender].join(' | ')}`);
  assert.ok(result.sent.length >= 2, `a new connection carried the rest: per channel ${result.sent}`);
  assert.ok(result.resumed > 0, 'the new connection resumed from what was verified');
  assertNothingVerifiedResent(result);
});

test('the receiver moves to another network mid-transfer: restored and verified', { skip, timeout: 300000 }, async () => {
  // At once, as a laptop switching from Wi-Fi to a cable: ICE finds the new path itself.
  assertNothingVerifiedResent(await interrupted({
    disrupt: async () => { lab.movePeer('receiver', 'otherNet'); },
  }));
  // With a gap longer than the stall watchdog, as a phone leaving Wi-Fi and finding mobile
  // data: the connection is given up and restored through signaling.
  const result = await interrupted({
    disrupt: async () => {
      lab.unplug('receiver');
      await new Promise((res) => setTimeout(res, 15000));
      lab.plug('receiver', 'receiverNet');
    },
  });
  assert.ok(result.sent.length >= 2, `a new connection carried the rest: per channel ${result.sent}`);
  assert.ok(result.resumed > 0, 'the new connection resumed from what was verified');
  assertNothingVerifiedResent(result);
});

test('a link that never comes back: connection_lost after the reconnect window; reopening the link later resumes', { skip, timeout: 400000 }, async () => {
  const browsers = await Promise.all([lab.chromium('sender'), lab.chromium('receiver')]);
  try {
    const [s, r] = await Promise.all(browsers.map(async (b) => (await b.newContext()).newPage()));
    await s.addInitScript(countSentBytes);
    const link = await offer(s, lab.sites.stun.url, [file.path]);
    await openAndAccept(r, link);
    await r.waitForFunction(() => Number(document.getElementById('total-bar').value) >= 0.25, null, { timeout: 60000 });
    lab.link('receiverNet', 'down');
    const started = Date.now();
    let code;
    try {
      code = await errorCode(r, WINDOW_MS + 60000);
    } finally {
      lab.link('receiverNet', 'up');
    }
    assert.equal(code, 'connection_lost');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= WINDOW_MS - 5000, `gave up after ${elapsed} ms`);
    assert.match(await r.textContent('#error'), /could not be restored within 120 s; reopen the link to resume/);
    // The sender stopped retrying but keeps the link open for a reopen.
    await s.waitForFunction(() => /did not come back within 120 s\. The link stays open/.test(document.getElementById('status').textContent), null, { timeout: 60000 });
    assert.notEqual(await s.getAttribute('body', 'data-state'), 'error');
    // Reopened in the same tab: the staged bytes (OPFS) and the kept seat resume the transfer.
    await r.goto('about:blank');
    await openAndAccept(r, link);
    await r.waitForSelector('body[data-state="complete"]', { timeout: 120000 });
    const [saved] = await saveAll(r);
    assert.equal(saved.sha256, file.sha256, 'the file arrived whole and verified');
    const resumed = Number(await r.getAttribute('body', 'data-resumed-bytes'));
    assert.ok(resumed >= SIZE * 0.2, `the reopen resumed from what was stored: ${resumed} bytes`);
    assertNothingVerifiedResent({ sent: await s.evaluate(() => window.__sentPerChannel), resumed });
  } finally {
    await Promise.all(browsers.map((b) => b.close()));
  }
});
