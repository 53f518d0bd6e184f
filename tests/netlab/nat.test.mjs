// PeerDrop across NATs, in the network lab (lab.mjs): each browser in its own namespace behind
// its own nftables router, signal.php and coturn on the lab's "internet". Every case sends a
// small folder of files and checks what arrived byte for byte, or checks that a setup that
// cannot work fails in bounded time with an error that says why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { offer, openAndAccept, saveAll, sha256, errorCode } from '../e2e/harness.mjs';
import { createLab, labMissing } from './lab.mjs';
import { Builder, By } from 'selenium-webdriver';
import { HASH_RECEIVED, firefoxCapabilities } from '../browsers/drivers.mjs';

const missing = labMissing();
const skip = missing && !process.env.REQUIRE_NETLAB ? missing : false;
if (missing && process.env.REQUIRE_NETLAB) throw new Error(`REQUIRE_NETLAB is set but ${missing}`);

/** The connect deadline (ice::CONNECT_TIMEOUT_MS) plus the setup before it and some slack. */
const FAIL_WITHIN_MS = 15000 + 15000;

let lab;
let files;
before(async () => {
  if (skip) return;
  lab = await createLab({
    routers: {
      coneA: { nat: 'cone' },
      coneB: { nat: 'cone' },
      hardA: { nat: 'hard' },
      hardB: { nat: 'hard' },
      noUdp: { nat: 'hard', blockUdp: true },
      office: { nat: 'hard' },
    },
    peers: {
      homeA: { router: 'coneA' },
      homeB: { router: 'coneB' },
      mobileA: { router: 'hardA' },
      mobileB: { router: 'hardB' },
      locked: { router: 'noUdp' },
      server: { public: true },
      desk1: { router: 'office' },
      desk2: { router: 'office' },
    },
    sites: { none: {}, stun: { stun: true }, turn: { stun: true, turn: true }, kit: { stun: true, turn: true, endpoint: 'kit' } },
  });
  const dir = mkdtempSync(join(tmpdir(), 'peerdrop-netlab-'));
  files = [0, 1, 2].map((i) => {
    const path = join(dir, `part-${i}.bin`);
    const data = randomBytes(200_000 + i * 150_000);
    writeFileSync(path, data);
    return { path, name: `part-${i}.bin`, sha256: sha256(data), size: data.length };
  });
  files.dir = dir;
});

after(async () => {
  await lab?.close();
  if (files) rmSync(files.dir, { recursive: true, force: true });
});

/** Opens a page for each of two peers; runs `fn(sender, receiver)`; closes both browsers. */
async function pair(senderPeer, receiverPeer, fn) {
  const browsers = await Promise.all([lab.chromium(senderPeer), lab.chromium(receiverPeer)]);
  try {
    const [s, r] = await Promise.all(browsers.map(async (b) => (await b.newContext()).newPage()));
    await fn(s, r);
  } finally {
    await Promise.all(browsers.map((b) => b.close()));
  }
}

/** What `diagnose()` says, through the page's diagnostics panel. */
async function diagnosis(page) {
  await page.click('#diagnostics summary');
  await page.click('#diagnose');
  await page.waitForFunction(() => document.getElementById('diagnosis').textContent.startsWith('{'));
  return JSON.parse(await page.textContent('#diagnosis'));
}

/** A transfer that must complete: every file verified and identical; returns both diagnoses. */
async function transfer(site, senderPeer, receiverPeer) {
  let result;
  await pair(senderPeer, receiverPeer, async (s, r) => {
    const link = await offer(s, lab.sites[site].url, files.map((f) => f.path));
    await openAndAccept(r, link);
    try {
      await r.waitForSelector('body[data-state="complete"]', { timeout: 60000 });
    } catch (e) {
      const d = await diagnosis(r).catch(() => null);
      throw new Error(`transfer ${senderPeer} -> ${receiverPeer} on site ${site} did not complete: ` +
        `state=${await r.getAttribute('body', 'data-state')} error="${await r.textContent('#error')}" ` +
        `diagnosis=${JSON.stringify(d?.connection)}\ncoturn:\n${lab.tail('coturn', 10)}`, { cause: e });
    }
    const saved = await saveAll(r);
    assert.deepEqual(
      saved.map(({ name, sha256: h, size }) => ({ name, sha256: h, size })).sort((a, b) => a.name.localeCompare(b.name)),
      files.map(({ name, sha256: h, size }) => ({ name, sha256: h, size })),
    );
    result = { sender: await diagnosis(s), receiver: await diagnosis(r), path: await r.getAttribute('body', 'data-path') };
  });
  return result;
}

/** A transfer that cannot connect: both pages end in `ice_failed` in bounded time. */
async function failure(site, senderPeer, receiverPeer) {
  let result;
  await pair(senderPeer, receiverPeer, async (s, r) => {
    const link = await offer(s, lab.sites[site].url, files.map((f) => f.path));
    const started = Date.now();
    await r.goto(link);
    const codes = await Promise.all([errorCode(r, FAIL_WITHIN_MS), errorCode(s, FAIL_WITHIN_MS)]);
    const elapsedMs = Date.now() - started;
    const read = async (p) => ({
      reason: await p.getAttribute('#error', 'data-reason'),
      message: await p.textContent('#error'),
      diagnosis: await diagnosis(p),
    });
    result = { codes, elapsedMs, receiver: await read(r), sender: await read(s), note: await r.isVisible('#network-note') };
  });
  return result;
}

test('cone NATs with the operator\'s STUN: a direct server-reflexive path, files verified', { skip }, async () => {
  const { receiver, sender } = await transfer('stun', 'homeA', 'homeB');
  for (const side of [receiver, sender]) {
    const c = side.connection;
    assert.ok(['srflx', 'prflx'].includes(c.remoteCandidateType), `the path goes to the other side's public address: ${JSON.stringify(c)}`);
    assert.notEqual(c.localCandidateType, 'relay');
    assert.equal(c.ice.source, 'endpoint', 'the STUN server came from signal.php, not the page');
    assert.equal(c.ice.stunUrls, 1);
    assert.equal(c.ice.turnUrls, 0);
  }
});

test('hard NATs without TURN: ice_failed in bounded time, saying that a relay is missing', { skip }, async () => {
  const f = await failure('stun', 'mobileA', 'mobileB');
  assert.deepEqual(f.codes, ['ice_failed', 'ice_failed']);
  assert.ok(f.elapsedMs < FAIL_WITHIN_MS, `took ${f.elapsedMs} ms`);
  for (const side of [f.receiver, f.sender]) {
    assert.equal(side.reason, 'no_relay_configured', side.message);
    assert.match(side.message, /TURN/);
    const ice = side.diagnosis.failedConnection.ice;
    assert.ok(ice.localCandidates.srflx >= 1 && ice.remoteCandidates.srflx >= 1, JSON.stringify(ice));
    assert.equal(ice.localNat, 'port_changing', 'masquerade random rewrites ports: the candidates show it');
  }
});

test('hard NATs with TURN: the transfer goes through coturn, files verified', { skip }, async () => {
  const { receiver, sender, path } = await transfer('turn', 'mobileA', 'mobileB');
  const types = [receiver, sender].map((d) => d.connection.localCandidateType);
  assert.ok(types.includes('relay'), `one side at least sends through the relay: ${types}`);
  assert.equal(receiver.connection.ice.turnUrls, 2);
  assert.ok(path, 'the connected event names the path');
});

test('the SvelteKit handler as the endpoint: hard NATs connect through the TURN servers it hands out', { skip }, async () => {
  const { receiver, sender } = await transfer('kit', 'mobileA', 'mobileB');
  const types = [receiver, sender].map((d) => d.connection.localCandidateType);
  assert.ok(types.includes('relay'), `one side at least sends through the relay: ${types}`);
  assert.equal(sender.connection.ice.source, 'endpoint');
  assert.equal(sender.connection.ice.turnUrls, 2);
});

test('a network that blocks UDP: TURN over TCP carries the transfer', { skip }, async () => {
  const { sender } = await transfer('turn', 'locked', 'mobileB');
  assert.equal(sender.connection.localCandidateType, 'relay');
  assert.equal(sender.connection.relayProtocol, 'tcp', JSON.stringify(sender.connection));
});

test('no STUN or TURN anywhere (the default): ice_failed naming the missing configuration', { skip }, async () => {
  const f = await failure('none', 'homeA', 'homeB');
  assert.deepEqual(f.codes, ['ice_failed', 'ice_failed']);
  assert.ok(f.elapsedMs < FAIL_WITHIN_MS, `took ${f.elapsedMs} ms`);
  for (const side of [f.receiver, f.sender]) {
    assert.equal(side.reason, 'no_ice_servers', side.message);
    assert.match(side.message, /no STUN or TURN server configured/);
    assert.equal(side.diagnosis.failedConnection.ice.source, 'none');
  }
  assert.ok(f.note, 'the page says up front that only one network will work');
});

test('one peer on a public address, one behind a NAT: connects and verifies', { skip }, async () => {
  const { receiver } = await transfer('stun', 'server', 'homeA');
  assert.notEqual(receiver.connection.localCandidateType, 'relay');
});

test('two peers behind the same NAT: connects on the LAN and verifies', { skip }, async () => {
  const { receiver } = await transfer('stun', 'desk1', 'desk2');
  assert.equal(receiver.connection.remoteCandidateType, 'host', JSON.stringify(receiver.connection));
});

test('Firefox ESR behind a cone NAT receives from Chromium behind another: verified', { skip }, async () => {
  const port = await lab.driverIn('homeB', 'geckodriver', ['--port', '{port}', '--log', 'fatal']);
  const firefox = await new Builder()
    .usingServer(`http://127.0.0.1:${port}`)
    // The lab's sites are plain HTTP on a lab address; treat them as the HTTPS they stand for.
    .withCapabilities(firefoxCapabilities({ 'dom.securecontext.allowlist': '203.0.113.10' }))
    .build();
  const chromiumBrowser = await lab.chromium('homeA');
  try {
    const s = await (await chromiumBrowser.newContext()).newPage();
    const link = await offer(s, lab.sites.stun.url, files.map((f) => f.path));
    await firefox.get(link);
    const until = async (cond, ms) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (await firefox.executeScript(`return !!(${cond})`)) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`Firefox: ${cond} not reached: state=${await firefox.executeScript('return document.body.dataset.state')} ` +
        `error=${await firefox.executeScript("return document.getElementById('error').textContent")}`);
    };
    await until(`!document.getElementById('offer-actions').hidden`, 30000);
    await firefox.findElement(By.id('accept')).click();
    await until(`document.body.dataset.state === 'complete'`, 60000);
    const received = await firefox.executeScript(HASH_RECEIVED);
    assert.deepEqual(
      received.map(({ path, sha256: h, size }) => ({ name: path, sha256: h, size })).sort((a, b) => a.name.localeCompare(b.name)),
      files.map(({ name, sha256: h, size }) => ({ name, sha256: h, size })),
    );
    const path = await firefox.executeScript('return document.body.dataset.path');
    assert.ok(['srflx', 'prflx', 'host'].includes(path), `a direct path, not through a relay: ${path}`);
  } finally {
    await firefox.get('about:blank').catch(() => {});
    await firefox.quit().catch(() => {});
    await chromiumBrowser.close();
  }
});
