// What the signaling server (or anyone between it and the pages) can and cannot do: it sees
// only sealed messages, and altering, replaying, reflecting or injecting them stops the
// connection with a typed error instead of letting someone in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useSiteAndBrowser, errorCode, offer, openAndAccept, sha256 } from './harness.mjs';

const env = useSiteAndBrowser();

/**
 * A malicious relay on one page's signaling traffic. `mutate(message, sentByThisPage)` may
 * return a changed message, or null to drop it; it sees every sealed message the page polls.
 */
async function maliciousRelay(page, mutate) {
  const sent = [];
  await page.route('**/signal.php', async (route) => {
    const body = route.request().postData() ?? '';
    let req = {};
    try { req = JSON.parse(body); } catch { /* not JSON */ }
    if (req.op === 'send') sent.push(req.data);
    const response = await route.fetch();
    if (req.op !== 'poll' || response.status() !== 200) return route.fulfill({ response });
    const json = await response.json();
    json.messages = json.messages.flatMap((m) => (m.type === 'sealed' ? mutate(m, sent) : [m]));
    return route.fulfill({ response, json });
  });
}

function flipByte(b64) {
  const bytes = Buffer.from(b64, 'base64url');
  bytes[bytes.length - 20] ^= 0x40; // inside the ciphertext: where an SDP fingerprint would be
  return bytes.toString('base64url');
}

async function expectTampered(page) {
  assert.equal(await errorCode(page, 45000), 'signaling_tampered');
  assert.match(await page.textContent('#error'), /tampered/);
}

test('a relay that rewrites the sealed offer: no transfer starts, both pages say signaling was tampered with', { timeout: 90000 }, async () => {
  const senderCtx = await env.browser.newContext();
  const receiverCtx = await env.browser.newContext();
  const sender = await senderCtx.newPage();
  const receiver = await receiverCtx.newPage();
  await maliciousRelay(receiver, (m) => [{ ...m, data: flipByte(m.data) }]);
  const link = await offer(sender, env.site.url, [{ name: 'secret-plans.txt', mimeType: 'text/plain', buffer: Buffer.from('x') }]);
  await receiver.goto(link);
  await expectTampered(receiver);
  await expectTampered(sender);
  assert.equal(await receiver.$$eval('#accept:visible', (b) => b.length), 0, 'no offer was ever shown');
  assert.ok(Number(await receiver.getAttribute('body', 'data-signaling-warnings')) >= 1);
  await senderCtx.close();
  await receiverCtx.close();
});

test('a relay that reflects, replays and injects messages: both pages refuse to connect', { timeout: 90000 }, async () => {
  const senderCtx = await env.browser.newContext();
  const receiverCtx = await env.browser.newContext();
  const sender = await senderCtx.newPage();
  const receiver = await receiverCtx.newPage();
  const forged = Buffer.concat([Buffer.from([1]), randomBytes(80)]).toString('base64url');
  // To the sender: each real message arrives twice (a replay), plus one the relay made up.
  await maliciousRelay(sender, (m) => [m, { ...m }, { ...m, data: forged }]);
  // To the receiver: instead of the sender's messages, its own last message comes back.
  await maliciousRelay(receiver, (m, sent) => [{ ...m, data: sent.at(-1) ?? forged }]);
  const link = await offer(sender, env.site.url, [{ name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('y') }]);
  await receiver.goto(link);
  await expectTampered(receiver);
  await expectTampered(sender);
  await senderCtx.close();
  await receiverCtx.close();
});

test('the signaling database holds no SDP, no address and no file name; requests stay on the origin; both sides show the same words', { timeout: 90000 }, async () => {
  const senderCtx = await env.browser.newContext();
  const receiverCtx = await env.browser.newContext({ acceptDownloads: true });
  const sender = await senderCtx.newPage();
  const receiver = await receiverCtx.newPage();
  const requests = [];
  for (const p of [sender, receiver]) p.on('request', (r) => requests.push(r.url()));
  const name = 'tax-return-2026-confidential.pdf';
  const data = randomBytes(256 * 1024);
  const link = await offer(sender, env.site.url, [{ name, mimeType: 'application/pdf', buffer: data }]);
  assert.equal(new URL(link).search, '');
  await openAndAccept(receiver, link);
  await receiver.waitForSelector('body[data-state="complete"]', { timeout: 30000 });
  const words = [await sender.textContent('#verification-words'), await receiver.textContent('#verification-words')];
  assert.match(words[0], /^\w+ \w+ \w+$/);
  assert.equal(words[0], words[1]);

  const origin = new URL(env.site.url).origin;
  for (const r of requests) if (!r.startsWith('blob:')) assert.equal(new URL(r).origin, origin, r);

  // Everything the endpoint stored, including SQLite's journal files.
  const forbidden = ['a=fingerprint', 'a=candidate', 'v=0', '127.0.0.1', '.local', name, new URL(link).hash.slice(1)];
  for (const file of await readdir(env.site.dataDir)) {
    const bytes = await readFile(join(env.site.dataDir, file)).catch(() => null);
    if (!bytes) continue;
    const text = bytes.toString('latin1');
    for (const f of forbidden) assert.ok(!text.includes(f), `${file} contains ${JSON.stringify(f)}`);
  }
  const [download] = await Promise.all([receiver.waitForEvent('download'), receiver.click('a.save')]);
  assert.equal(sha256(await readFile(await download.path())), sha256(data));
  await senderCtx.close();
  await receiverCtx.close();
});

test('the example pages send CSP and Referrer-Policy headers and the endpoint sends no-referrer', async () => {
  const page = await fetch(env.site.url);
  assert.match(page.headers.get('content-security-policy'), /default-src 'self'; script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(page.headers.get('content-security-policy'), /'unsafe-inline'|'unsafe-eval'/);
  assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
  const endpoint = await fetch(new URL('signal.php', env.site.url));
  assert.equal(endpoint.headers.get('referrer-policy'), 'no-referrer');
});
