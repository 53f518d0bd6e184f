// FileFeed (crates/peerdrop-wasm/js/download.js), the page side of one streamed download, over
// a real MessageChannel whose other end this test plays as the service worker would: bytes
// leave in file order, only when pulled, and out-of-order blocks neither stall the engine's
// credit nor grow past their budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileFeed } from '../../crates/peerdrop-wasm/js/download.js';

/** The service worker's end of a feed's channel: records what arrives, pulls on demand. */
function feedAndWorker({ size, limit = 1 << 20, name = 'f.bin', budget = { held: 0, limit } }) {
  const channel = new MessageChannel();
  const feed = new FileFeed(channel.port1, { name, size, budget });
  const worker = { port: channel.port2, received: [], ended: false, aborted: null, waiters: [] };
  worker.port.onmessage = ({ data }) => {
    if (data.type === 'chunk') worker.received.push(Buffer.from(data.data));
    if (data.type === 'end') worker.ended = true;
    if (data.type === 'abort') worker.aborted = data.message;
    for (const w of worker.waiters.splice(0)) w();
  };
  worker.pull = () => worker.port.postMessage({ type: 'pull' });
  /** Resolves after the next message from the feed, or after `ms` with nothing. */
  worker.next = (ms = 200) => new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    worker.waiters.push(() => { clearTimeout(t); resolve(); });
  });
  worker.close = () => { worker.port.close(); feed.port.close(); };
  return { feed, worker, budget };
}

const bytes = (n, seed) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
/** The state of `p` after pending messages are delivered: 'pending', 'resolved' or 'rejected: Name'. */
const states = new WeakMap();
function track(p) {
  states.set(p, 'pending');
  p.then(() => states.set(p, 'resolved'), (e) => states.set(p, `rejected: ${e.name}`));
  return p;
}
async function settled(p) {
  if (!states.has(p)) track(p);
  await new Promise((r) => setTimeout(r, 20));
  return states.get(p);
}

test('in order: a write resolves only when the worker pulls it, and bytes leave in order', async () => {
  const { feed, worker } = feedAndWorker({ size: 10 });
  const a = track(feed.write(0, bytes(4, 1)));
  const b = track(feed.write(4, bytes(6, 2)));
  assert.equal(await settled(a), 'pending', 'no pull yet: the write holds its credit');
  await worker.next();
  assert.equal(worker.received.length, 0, 'nothing is sent without a pull');
  worker.pull();
  await worker.next();
  assert.equal(await settled(a), 'resolved');
  assert.equal(await settled(b), 'pending', 'one chunk per pull');
  worker.pull();
  await worker.next();
  assert.equal(await settled(b), 'resolved');
  const done = track(feed.finish());
  assert.equal(await settled(done), 'pending', 'the end waits for the next pull');
  worker.pull();
  await worker.next();
  assert.equal(await settled(done), 'resolved');
  assert.ok(worker.ended);
  assert.deepEqual(Buffer.concat(worker.received), Buffer.concat([bytes(4, 1), bytes(6, 2)]));
  worker.close();
});

test('a block past a gap resolves at once, waits, and leaves after the refetched block', async () => {
  const { feed, worker, budget } = feedAndWorker({ size: 12 });
  const first = track(feed.write(0, bytes(4, 1)));
  // Block 4..8 failed its check and comes again later; 8..12 arrives meanwhile.
  const late = track(feed.write(8, bytes(4, 3)));
  assert.equal(await settled(late), 'resolved', 'held past a gap, its credit is released');
  assert.equal(budget.held, 4);
  worker.pull();
  await worker.next();
  assert.equal(await settled(first), 'resolved');
  worker.pull();
  await worker.next();
  assert.equal(worker.received.length, 1, 'the block past the gap waits for the gap');
  const refetched = track(feed.write(4, bytes(4, 2)));
  await worker.next();
  assert.equal(worker.received.length, 2, 'the pending pull takes the refetched block at once');
  assert.equal(await settled(refetched), 'resolved');
  worker.pull();
  await worker.next();
  assert.equal(budget.held, 0, 'the held block left');
  const done = feed.finish();
  worker.pull();
  await done;
  assert.deepEqual(Buffer.concat(worker.received), Buffer.concat([bytes(4, 1), bytes(4, 2), bytes(4, 3)]));
  worker.close();
});

test('blocks past a gap beyond the budget fail the file with a message, and the worker is told', async () => {
  const MiB = 1 << 20;
  const { feed, worker, budget } = feedAndWorker({ size: 6 * MiB, limit: 2 * MiB, name: 'big.iso' });
  const inOrder = track(feed.write(0, bytes(MiB, 1)));
  // Block 1 MiB..2 MiB is being fetched again; two blocks past it fit the budget, a third not.
  assert.equal(await settled(feed.write(2 * MiB, bytes(MiB, 3))), 'resolved');
  assert.equal(await settled(feed.write(3 * MiB, bytes(MiB, 4))), 'resolved');
  assert.equal(budget.held, 2 * MiB);
  const over = track(feed.write(4 * MiB, bytes(MiB, 5)));
  assert.equal(await settled(over), 'rejected: DownloadHoldLimit');
  await over.catch((e) => assert.match(e.message, /a damaged block of “big\.iso” had to be fetched again.*more than the 2 MiB of memory allowed/));
  assert.equal(await settled(inOrder), 'rejected: DownloadHoldLimit', 'pending writes fail too');
  assert.equal(await settled(feed.write(MiB, bytes(MiB, 2))), 'rejected: DownloadHoldLimit', 'later writes fail');
  assert.equal(await settled(feed.finish()), 'rejected: DownloadHoldLimit');
  await worker.next();
  assert.match(worker.aborted ?? '', /had to be fetched again/, 'the download ends as failed');
  assert.equal(worker.received.length, 0, 'nothing was pulled');
  assert.equal(budget.held, 0, 'nothing stays counted');
  worker.close();
});

test('the browser cancelling the download rejects pending and later writes as cancelled', async () => {
  const { feed, worker } = feedAndWorker({ size: 8, name: 'movie.mkv' });
  const pending = track(feed.write(0, bytes(4, 1)));
  worker.port.postMessage({ type: 'cancel' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await settled(pending), 'rejected: DownloadCancelled');
  await pending.catch((e) => assert.equal(e.message, 'the download of “movie.mkv” was cancelled in the browser, so the transfer stopped'));
  assert.equal(await settled(feed.write(4, bytes(4, 2))), 'rejected: DownloadCancelled');
  assert.equal(worker.aborted, null, 'the worker cancelled: nothing to tell it');
  worker.close();
});

test('an empty file ends at the first pull', async () => {
  const { feed, worker } = feedAndWorker({ size: 0 });
  const done = feed.finish();
  worker.pull();
  await done;
  await worker.next();
  assert.ok(worker.ended);
  assert.equal(worker.received.length, 0);
  worker.close();
});

test('no download request in time fails the file with advice', async () => {
  const { feed, worker } = feedAndWorker({ size: 4, name: 'a.txt' });
  const pending = track(feed.write(0, bytes(4, 1)));
  feed.expectStart(200);
  assert.equal(await settled(pending), 'pending');
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(await settled(pending), 'rejected: DownloadNotStarted');
  await pending.catch((e) => assert.match(e.message, /did not start the download of “a\.txt”; allow this site to download files/));
  worker.close();
});

test('a started download is not failed by the start timer', async () => {
  const { feed, worker } = feedAndWorker({ size: 4 });
  const pending = track(feed.write(0, bytes(4, 1)));
  worker.port.postMessage({ type: 'started' });
  await new Promise((r) => setTimeout(r, 20));
  feed.expectStart(100);
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(await settled(pending), 'pending');
  worker.pull();
  await worker.next();
  assert.equal(await settled(pending), 'resolved');
  worker.close();
});
