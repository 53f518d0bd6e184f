// Two Chromium pages transfer files through the real signal.php, loading the optimized pkg/
// from examples/plain exactly as a person would, and the test checks what was saved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { useSiteAndBrowser, errorCode, offer, openAndAccept, saveAll, sha256 } from './harness.mjs';

const env = useSiteAndBrowser();

const MiB = 1024 * 1024;

function makeFiles() {
  return [
    { name: 'empty.txt', mimeType: 'text/plain', buffer: Buffer.alloc(0) },
    { name: 'one-byte.bin', mimeType: 'application/octet-stream', buffer: randomBytes(1) },
    { name: 'one-mib-plus-3.bin', mimeType: 'application/octet-stream', buffer: randomBytes(MiB + 3) },
    { name: 'twenty-mib.bin', mimeType: 'application/octet-stream', buffer: randomBytes(20 * MiB) },
  ];
}

async function pages() {
  const senderCtx = await env.browser.newContext();
  const receiverCtx = await env.browser.newContext({ acceptDownloads: true });
  return { senderCtx, receiverCtx, sender: await senderCtx.newPage(), receiver: await receiverCtx.newPage() };
}

test('0 B, 1 B, 1 MiB + 3 B and 20 MiB arrive with the sender\'s SHA-256', { timeout: 120000 }, async () => {
  const files = makeFiles();
  const { senderCtx, receiverCtx, sender, receiver } = await pages();
  const requests = [];
  for (const p of [sender, receiver]) p.on('request', (r) => requests.push(r.url()));
  const link = await offer(sender, env.site.url, files);

  const url = new URL(link);
  assert.equal(url.search, '', 'the share link has no query string');
  assert.ok(url.hash.length >= 23, 'the secret is in the fragment');

  await openAndAccept(receiver, link);
  // The fragment is cleared from the address bar once read.
  await receiver.waitForFunction(() => location.hash === '');
  await receiver.waitForSelector('body[data-state="complete"]', { timeout: 90000 });
  await sender.waitForSelector('body[data-state="complete"]', { timeout: 10000 });

  const saved = await saveAll(receiver);
  assert.equal(saved.length, files.length);
  for (const f of files) {
    const got = saved.find((s) => s.name === f.name);
    assert.ok(got, `${f.name} was offered for saving`);
    assert.equal(got.size, f.buffer.length, `${f.name} size`);
    assert.equal(got.sha256, sha256(f.buffer), `${f.name} SHA-256`);
  }
  // Both tabs showed progress to the end.
  assert.match(await sender.textContent('#total-text'), /^100\.0%/);
  assert.match(await receiver.textContent('#total-text'), /^100\.0%/);
  // No request left the machine: every URL is the site's own origin.
  const origin = new URL(env.site.url).origin;
  for (const r of requests) {
    if (!r.startsWith('blob:')) assert.equal(new URL(r).origin, origin, r);
  }
  await senderCtx.close();
  await receiverCtx.close();
});

// Flips one byte of DATA frames as the sender's page hands them to the channel.
function corruptingSender(everyFrame) {
  return `(() => {
    const send = RTCDataChannel.prototype.send;
    let flipped = 0;
    RTCDataChannel.prototype.send = function (data) {
      if (data instanceof Uint8Array && data[0] === 0x07 && data.length > 100 && (${everyFrame} || flipped === 0)) {
        flipped++;
        const copy = new Uint8Array(data);
        copy[50] ^= 0x01;
        return send.call(this, copy);
      }
      return send.call(this, data);
    };
  })();`;
}

test('a byte flipped in transit is caught: the block is refetched and the file still matches', { timeout: 60000 }, async () => {
  const data = randomBytes(3 * MiB);
  const { senderCtx, receiverCtx, sender, receiver } = await pages();
  await senderCtx.addInitScript(corruptingSender(false));
  const link = await offer(sender, env.site.url, [{ name: 'once.bin', mimeType: 'application/octet-stream', buffer: data }]);
  await openAndAccept(receiver, link);
  await receiver.waitForSelector('body[data-state="complete"]', { timeout: 45000 });
  assert.equal(await receiver.getAttribute('body', 'data-rejected-blocks'), '1');
  const saved = await saveAll(receiver);
  assert.equal(saved[0].sha256, sha256(data));
  await senderCtx.close();
  await receiverCtx.close();
});

test('a block damaged on every try makes the receiver reject the file', { timeout: 60000 }, async () => {
  const data = randomBytes(2 * MiB);
  const { senderCtx, receiverCtx, sender, receiver } = await pages();
  await senderCtx.addInitScript(corruptingSender(true));
  const link = await offer(sender, env.site.url, [{ name: 'bad.bin', mimeType: 'application/octet-stream', buffer: data }]);
  await openAndAccept(receiver, link);
  assert.equal(await errorCode(receiver, 45000), 'integrity_failed');
  assert.match(await receiver.textContent('#error'), /arrived damaged/);
  assert.equal(await receiver.$$eval('a.save', (a) => a.length), 0, 'nothing is offered for saving');
  assert.equal(await errorCode(sender, 10000), 'integrity_failed');
  await senderCtx.close();
  await receiverCtx.close();
});
