// The browser runtime as a person meets it: folders, resuming after reopening the link,
// cancelling, a sender that vanishes, and a screenshot of each state for review.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useSiteAndBrowser, errorCode, offer, openAndAccept, receivedFiles, sha256, shoot } from './harness.mjs';

const env = useSiteAndBrowser();
const MiB = 1024 * 1024;

async function pair() {
  const senderCtx = await env.browser.newContext();
  const receiverCtx = await env.browser.newContext({ acceptDownloads: true });
  return {
    sender: await senderCtx.newPage(),
    receiver: await receiverCtx.newPage(),
    close: async () => { await senderCtx.close(); await receiverCtx.close(); },
  };
}

/** Writes `size` random bytes to a temporary file (large inputs go to the browser by path). */
async function tempFile(name, size) {
  const dir = await mkdtemp(join(tmpdir(), 'peerdrop-big-'));
  const path = join(dir, name);
  const data = randomBytes(size);
  await writeFile(path, data);
  return { path, sha256: sha256(data), size };
}

test('a folder with nested subfolders arrives with the same relative paths and hashes', { timeout: 90000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'peerdrop-folder-'));
  const top = join(root, 'album');
  const files = {
    'album/cover.jpg': randomBytes(300 * 1024),
    'album/notes.txt': Buffer.from('track list\n'),
    'album/disc 1/01 intro.flac': randomBytes(2 * MiB + 17),
    'album/disc 1/deep/er/empty.bin': Buffer.alloc(0),
    'album/disc 2/02 outro.flac': randomBytes(MiB),
  };
  for (const [path, data] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), data);
  }
  const { sender, receiver, close } = await pair();
  await sender.goto(env.site.url);
  await sender.waitForSelector('body[data-state="ready"]');
  await sender.setInputFiles('#folder-input', top);
  await sender.waitForFunction(() => document.getElementById('share-link').value.includes('#'));
  const link = await sender.inputValue('#share-link');
  await openAndAccept(receiver, link);
  await receiver.waitForSelector('body[data-state="complete"]', { timeout: 60000 });
  await shoot(receiver, 'receiver-folder-complete');
  const got = await receivedFiles(receiver);
  assert.deepEqual(got.map((f) => f.path).sort(), Object.keys(files).sort());
  for (const f of got) assert.equal(f.sha256, sha256(files[f.path]), f.path);
  await close();
});

// Counts the DATA payload bytes the sender's page puts on its channels.
const COUNT_DATA = `(() => {
  const send = RTCDataChannel.prototype.send;
  window.__dataBytes = 0;
  RTCDataChannel.prototype.send = function (data) {
    if (data instanceof Uint8Array && data[0] === 0x07) window.__dataBytes += data.length - 1;
    return send.call(this, data);
  };
})();`;

test('reopening the link half way resumes: hashes match and verified blocks are not sent again', { timeout: 180000 }, async () => {
  const size = 160 * MiB;
  const big = await tempFile('big.bin', size);
  const { sender, receiver, close } = await pair();
  await sender.context().addInitScript(COUNT_DATA);
  const link = await offer(sender, env.site.url, [big.path]);
  await openAndAccept(receiver, link);
  await receiver.waitForFunction(() => document.getElementById('total-bar').value >= 0.4, null, { timeout: 60000 });
  await shoot(receiver, 'receiver-transferring');
  // What the receiver had verified when the page went away (the total bar is verified bytes
  // over the file size): the resumed transfer must keep all of it but the block in flight.
  const verifiedBefore = Math.floor((await receiver.$eval('#total-bar', (bar) => bar.value)) * size);
  // The person reloads, then reopens the link in the same tab (the page drops the fragment
  // from the address bar on purpose, so a bare reload comes back without it).
  await receiver.reload();
  await receiver.goto(link);
  await shoot(sender, 'sender-receiver-disconnected');
  await receiver.waitForSelector('#accept:visible', { timeout: 30000 });
  await receiver.click('#accept');
  await receiver.waitForSelector('body[data-state="complete"]', { timeout: 120000 });
  const resumed = Number(await receiver.getAttribute('body', 'data-resumed-bytes'));
  assert.ok(resumed >= 0.3 * size, `resumed ${resumed} bytes`);
  const block = MiB;
  assert.ok(resumed >= verifiedBefore - block,
    `resumed ${resumed} bytes, but ${verifiedBefore} were verified before the reload (at most one ${block}-byte block may be lost)`);
  const [file] = await receivedFiles(receiver);
  assert.equal(file.sha256, big.sha256);
  // Everything sent twice is at most what was in flight, unverified, when the page went away.
  const sent = await sender.evaluate(() => window.__dataBytes);
  const window = 8 * MiB;
  assert.ok(sent <= size + window, `sender sent ${sent} data bytes for a ${size}-byte file`);
  await close();
});

test('the sender cancelling reaches the receiver as a typed cancel', { timeout: 60000 }, async () => {
  const { sender, receiver, close } = await pair();
  const link = await offer(sender, env.site.url, [(await tempFile('c.bin', 120 * MiB)).path]);
  await openAndAccept(receiver, link);
  await receiver.waitForFunction(() => document.getElementById('total-bar').value > 0.05, null, { timeout: 30000 });
  await sender.click('#cancel');
  assert.equal(await errorCode(receiver, 10000), 'cancelled');
  await shoot(receiver, 'receiver-cancelled');
  await close();
});

test('the sender closing its tab gives the receiver a typed error within the watchdog time', { timeout: 60000 }, async () => {
  const { sender, receiver, close } = await pair();
  const link = await offer(sender, env.site.url, [(await tempFile('d.bin', 120 * MiB)).path]);
  await openAndAccept(receiver, link);
  await receiver.waitForFunction(() => document.getElementById('total-bar').value > 0.05, null, { timeout: 30000 });
  const closedAt = Date.now();
  await sender.close();
  const code = await errorCode(receiver, 35000);
  // link_expired: the sender's page left the room as it closed, so the receiver does not retry.
  assert.ok(['connection_lost', 'timeout', 'ice_failed', 'link_expired'].includes(code), code);
  assert.ok(Date.now() - closedAt <= 32000);
  await shoot(receiver, 'receiver-sender-gone');
  await close();
});

test('signaling unreachable when the receiver opens the link: typed error', async () => {
  const ctx = await env.browser.newContext();
  const page = await ctx.newPage();
  await page.route('**/signal.php', (route) => route.abort('connectionrefused'));
  await page.goto(`${env.site.url}#AAAAAAAAAAAAAAAAAAAAAA`);
  assert.equal(await errorCode(page), 'signaling_unreachable');
  await shoot(page, 'receiver-signaling-unreachable');
  await ctx.close();
});

test('the offer, progress with speed and ETA, and diagnostics are shown', { timeout: 60000 }, async () => {
  const { sender, receiver, close } = await pair();
  const link = await offer(sender, env.site.url, [
    { name: 'report.pdf', mimeType: 'application/pdf', buffer: randomBytes(40 * MiB) },
    { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: randomBytes(3 * MiB) },
  ]);
  await shoot(sender, 'sender-waiting');
  await receiver.goto(link);
  await receiver.waitForSelector('#accept:visible');
  await shoot(receiver, 'receiver-offer');
  await receiver.click('#accept');
  // Sizes by Intl in the page's language (en): decimal units, 43 MiB = 45 MB.
  await receiver.waitForFunction(() => /B\/s · /.test(document.getElementById('total-text').textContent), null, { timeout: 20000 });
  const text = await receiver.textContent('#total-text');
  assert.match(text, /^\d+\.\d% · .* of 45 MB · .*B\/s · /);
  await shoot(sender, 'sender-transferring');
  await receiver.waitForSelector('body[data-state="complete"]', { timeout: 40000 });
  await receiver.click('#diagnostics summary');
  await receiver.waitForFunction(() => document.getElementById('diagnosis').textContent.includes('signaling'));
  const diag = JSON.parse(await receiver.textContent('#diagnosis'));
  assert.ok(diag.signaling.requests > 0);
  assert.equal(typeof diag.wasmMemoryBytes, 'number');
  await shoot(receiver, 'receiver-complete-diagnostics');
  await close();
});

// Stand-ins for the save dialogs (a person cannot click them in a headless run): they hand
// out real writable handles in the origin-private file system, so the File System Access
// write path runs exactly as it would into a folder on disk.
const PICKERS = `(() => {
  window.showSaveFilePicker = async ({ suggestedName }) =>
    (await navigator.storage.getDirectory()).getFileHandle('picked-' + suggestedName, { create: true });
  window.showDirectoryPicker = async () =>
    (await navigator.storage.getDirectory()).getDirectoryHandle('picked-folder', { create: true });
})();`;

async function opfsSha256(page, path) {
  return page.evaluate(async (path) => {
    let dir = await navigator.storage.getDirectory();
    const parts = path.split('/');
    for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p);
    const file = await (await dir.getFileHandle(parts[parts.length - 1])).getFile();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
    return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, path);
}

test('saving to a picked folder writes every file there through File System Access', { timeout: 90000 }, async () => {
  const files = [
    { name: 'a.bin', mimeType: 'application/octet-stream', buffer: randomBytes(3 * MiB + 1) },
    { name: 'b.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') },
    { name: 'empty', mimeType: '', buffer: Buffer.alloc(0) },
  ];
  const { sender, receiver, close } = await pair();
  await receiver.context().addInitScript(PICKERS);
  const link = await offer(sender, env.site.url, files);
  await receiver.goto(link);
  await receiver.waitForSelector('#accept-pick:visible', { timeout: 30000 });
  await receiver.click('#accept-pick');
  await receiver.waitForSelector('body[data-state="complete"]', { timeout: 60000 });
  assert.equal(await receiver.$$eval('a.save', (a) => a.length), 0, 'saved in place, nothing to download');
  for (const f of files) assert.equal(await opfsSha256(receiver, `picked-folder/${f.name}`), sha256(f.buffer), f.name);
  await close();
});

test('not enough storage is reported before any byte moves', { timeout: 60000 }, async () => {
  const { sender, receiver, close } = await pair();
  await receiver.context().addInitScript(`navigator.storage.estimate = async () => ({ quota: 1048576, usage: 0 });`);
  const link = await offer(sender, env.site.url, [{ name: 'x.bin', mimeType: 'application/octet-stream', buffer: randomBytes(5 * MiB) }]);
  await openAndAccept(receiver, link);
  assert.equal(await errorCode(receiver), 'insufficient_storage');
  assert.match(await receiver.textContent('#error'), /Not enough storage: the files need 5\.0 MiB/);
  assert.equal(await errorCode(sender, 10000), 'rejected');
  await shoot(receiver, 'receiver-insufficient-storage');
  await close();
});

test('dropped files are offered and arrive', { timeout: 60000 }, async () => {
  const { sender, receiver, close } = await pair();
  await sender.goto(env.site.url);
  await sender.waitForSelector('body[data-state="ready"]');
  await sender.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['first file'], 'one.txt', { type: 'text/plain' }));
    dt.items.add(new File(['second'], 'two.txt', { type: 'text/plain' }));
    document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await sender.waitForFunction(() => document.getElementById('share-link').value.includes('#'));
  await openAndAccept(receiver, await sender.inputValue('#share-link'));
  await receiver.waitForSelector('body[data-state="complete"]', { timeout: 30000 });
  const got = await receivedFiles(receiver);
  assert.deepEqual(got.map((f) => f.path).sort(), ['one.txt', 'two.txt']);
  assert.equal(got.find((f) => f.path === 'one.txt').sha256, sha256(Buffer.from('first file')));
  await close();
});
