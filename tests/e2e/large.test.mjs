// A 1 GiB file crosses while the receiver's wasm memory and JS heap stay under 64 MiB each:
// the engine's credit window and the disk-backed sink keep memory flat whatever the size.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useSiteAndBrowser, offer, openAndAccept, sha256File, liveMemoryBytes } from './harness.mjs';

const MiB = 1024 * 1024;
const SIZE = 1024 * MiB;
const LIMIT = 64 * MiB;

const env = useSiteAndBrowser();
let dir;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerdrop-1gib-'));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Writes SIZE bytes of a cheap deterministic pattern (not stored in the repository). */
async function makeFile(path) {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(8 * MiB);
  const f = await open(path, 'w');
  for (let off = 0; off < SIZE; off += chunk.length) {
    for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE(((off + i) ^ 0x9e3779b9) >>> 0, i);
    hash.update(chunk);
    await f.write(chunk);
  }
  await f.close();
  return hash.digest('hex');
}

test('1 GiB arrives intact with receiver wasm memory and JS heap under 64 MiB each', { timeout: 300000 }, async () => {
  const path = join(dir, 'one-gib.bin');
  const expected = await makeFile(path);
  const senderCtx = await env.browser.newContext();
  const receiverCtx = await env.browser.newContext({ acceptDownloads: true });
  const sender = await senderCtx.newPage();
  const receiver = await receiverCtx.newPage();
  const cdp = await receiverCtx.newCDPSession(receiver);
  const link = await offer(sender, env.site.url, [path]);
  await openAndAccept(receiver, link);
  await receiver.click('#diagnostics summary');

  let maxHeap = 0;
  let maxWasm = 0;
  for (;;) {
    // Live memory: the JS heap plus ArrayBuffer backing stores (received bytes live there,
    // not in the heap proper; JSHeapUsedSize alone would miss them), after a collection, so
    // that messages already handled but not yet collected do not count. V8 lets such
    // garbage grow to about 64 MiB of buffers before it collects.
    maxHeap = Math.max(maxHeap, await liveMemoryBytes(cdp));
    await receiver.click('#diagnose');
    const text = await receiver.textContent('#diagnosis');
    if (text.startsWith('{')) maxWasm = Math.max(maxWasm, JSON.parse(text).wasmMemoryBytes);
    const state = await receiver.getAttribute('body', 'data-state');
    if (state === 'complete' || state === 'error') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(await receiver.getAttribute('body', 'data-state'), 'complete', await receiver.textContent('#error'));
  console.log(`# receiver peak: JS heap and buffers ${(maxHeap / MiB).toFixed(1)} MiB, wasm memory ${(maxWasm / MiB).toFixed(1)} MiB`);
  assert.ok(maxWasm > 0, 'wasm memory was read');
  assert.ok(maxHeap > 0, 'the JS heap was read');
  assert.ok(maxWasm < LIMIT, `wasm memory peaked at ${maxWasm} bytes`);
  assert.ok(maxHeap < LIMIT, `JS heap and ArrayBuffers peaked at ${maxHeap} bytes`);

  const [download] = await Promise.all([receiver.waitForEvent('download'), receiver.click('a.save')]);
  assert.equal(await sha256File(await download.path()), expected);
  await senderCtx.close();
  await receiverCtx.close();
});
