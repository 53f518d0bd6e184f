// Functions bench/run.mjs calls in each page. Everything is measured inside the browser with
// performance.now(); the driver only relays SDP and collects numbers.
import init, { send, receive, Sha256 } from '../pkg/peerdrop.js';
import { createSHA256 } from './hash-wasm.js';

const MiB = 1024 * 1024;
const SIGNAL_URL = new URL('../signal.php', location.href).href;

/** `bytes` of a fixed pseudo-random pattern (same data for every contender). */
function pattern(bytes) {
  const out = new Uint8Array(bytes);
  let x = 0x9e3779b9;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x; out[i + 1] = x >>> 8; out[i + 2] = x >>> 16; out[i + 3] = x >>> 24;
  }
  return out;
}

function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    setTimeout(resolve, 2000);
  });
}

/**
 * SHA-256 in a dedicated Worker (WebCrypto there), for the "hashing in a worker" reference:
 * `digest(view)` transfers the view's buffer there and back, so nothing is copied, and resolves
 * to a view of the same bytes in the returned buffer (the given view is detached). `ready()`
 * starts the Worker and waits for it, outside any timing.
 */
const hashWorker = (() => {
  let worker = null;
  let next = 0;
  const waiting = new Map();
  const start = () => {
    if (worker) return;
    worker = new Worker(new URL('./hash-worker.js', import.meta.url));
    worker.onmessage = (e) => { waiting.get(e.data.id)(e.data.buffer); waiting.delete(e.data.id); };
  };
  const digest = (view) => {
    start();
    const id = next++;
    const { buffer, byteOffset, length } = view;
    return new Promise((resolve) => {
      waiting.set(id, (back) => resolve(new Uint8Array(back, byteOffset, length)));
      worker.postMessage({ id, buffer, byteOffset, length }, [buffer]);
    });
  };
  return { digest, ready: () => digest(new Uint8Array(1)) };
})();

/** How a plain-JS source hashes: "slice+hash" on the page, "slice+hashworker" in a Worker. */
const hashMode = (source) => source.split('+')[1] ?? null;

let pc = null;
/** The File the next run sends (`ceiling.prepare`, `peerdrop.prepare`), built outside the timing. */
let prepared = null;
let channels = [];
let channelReady = null;
/** Bytes sent on this page's connection so far: the ramp, like PeerDrop's, is per connection. */
let sentOnConnection = 0;

/** A `bytes`-long File of the pattern, built as the PeerDrop sender's (4 MiB parts). */
function patternFile(bytes) {
  const piece = pattern(Math.min(bytes, 4 * MiB));
  const parts = [];
  for (let off = 0; off < bytes; off += piece.length) parts.push(piece.subarray(0, Math.min(piece.length, bytes - off)));
  return new File(parts, 'bench.bin');
}

/**
 * Where the plain-JS sender's bytes come from, message by message: the same in-memory pattern
 * every time (the ceiling), or a File read as a file sender must, in 1 MiB blocks, two ahead,
 * through `slice().arrayBuffer()` or `stream()`; with "slice+hash", each block is also digested
 * with WebCrypto (the cheapest SHA-256 the page has) as soon as it is read, before its messages
 * go, with "slice+hashworker" the same in a Worker.
 */
async function* messages(source, total, size, file) {
  if (source === 'pattern') {
    const chunk = pattern(size);
    for (let sent = 0; sent < total; sent += size) yield Math.min(size, total - sent) === size ? chunk : chunk.subarray(0, total - sent);
    return;
  }
  const hash = hashMode(source);
  const blocks = (async function* () {
    if (source.startsWith('stream')) {
      // Coalesced into 1 MiB blocks: the stream's own pieces are smaller and uneven.
      const reader = file.stream().getReader();
      let block = new Uint8Array(MiB);
      let fill = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (let at = 0; at < value.length;) {
          const n = Math.min(value.length - at, block.length - fill);
          block.set(value.subarray(at, at + n), fill);
          fill += n; at += n;
          if (fill === block.length) { yield block; block = new Uint8Array(MiB); fill = 0; }
        }
      }
      if (fill) yield block.subarray(0, fill);
    } else {
      // Each block is hashed as soon as it is read, so hashing overlaps sending the block before.
      const hashed = async (block) => {
        if (hash === 'hash') await crypto.subtle.digest('SHA-256', block);
        return hash === 'hashworker' ? hashWorker.digest(block) : block;
      };
      const read = (off) => file.slice(off, Math.min(off + MiB, total)).arrayBuffer().then((b) => hashed(new Uint8Array(b)));
      const ahead = [];
      let next = 0;
      const readAhead = () => { while (ahead.length < 2 && next < total) { ahead.push(read(next)); next += MiB; } };
      readAhead();
      while (ahead.length) {
        const block = await ahead.shift();
        readAhead();
        yield block;
      }
    }
  })();
  for await (const block of blocks) {
    for (let at = 0; at < block.length; at += size) yield block.subarray(at, Math.min(at + size, block.length));
  }
}

/**
 * A pattern File, built before a timed run: reading its last byte waits until the browser
 * holds all of its bytes (a new Blob's data may still be on its way there when `new File`
 * returns), so none of that work lands in the timing or the CPU reading.
 */
async function prepareFile(bytes) {
  const file = patternFile(bytes);
  await file.slice(Math.max(0, bytes - 1)).arrayBuffer();
  return file;
}

const ceiling = {
  /** Offerer: one connection with `n` ordered data channels. */
  async offer(n = 1) {
    pc = new RTCPeerConnection({ iceServers: [] });
    sentOnConnection = 0;
    channels = [];
    const opened = [];
    for (let i = 0; i < n; i++) {
      const dc = pc.createDataChannel(`ceiling-${i}`, { ordered: true });
      dc.binaryType = 'arraybuffer';
      channels.push(dc);
      opened.push(new Promise((r) => { dc.onopen = r; }));
    }
    channelReady = Promise.all(opened);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    return pc.localDescription.sdp;
  },
  async answer(sdp, n = 1) {
    pc = new RTCPeerConnection({ iceServers: [] });
    channels = [];
    channelReady = new Promise((r) => {
      pc.ondatachannel = (e) => {
        e.channel.binaryType = 'arraybuffer';
        channels.push(e.channel);
        if (channels.length === n) r();
      };
    });
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    return pc.localDescription.sdp;
  },
  async accept(sdp) {
    await pc.setRemoteDescription({ type: 'answer', sdp });
    await channelReady;
    return pc.sctp?.maxMessageSize ?? null;
  },
  async ready() { await channelReady; },
  /** Builds the `total`-byte File the next `send` from `source` reads (see `prepareFile`). */
  async prepare(total, source) {
    prepared = await prepareFile(total);
    if (hashMode(source) === 'hashworker') await hashWorker.ready();
  },
  /**
   * Receiver of a run from `source` (see `messages`): counts bytes on every channel and answers
   * "done" when `total` arrived. For a hashing source it also gathers each channel's bytes into
   * 1 MiB blocks and digests each with WebCrypto (in a Worker for "+hashworker"), as a verifying
   * receiver must (one channel only: blocks need one order).
   */
  async expect(total, source = 'pattern') {
    const hash = hashMode(source);
    if (hash === 'hashworker') await hashWorker.ready();
    let got = 0;
    let block = new Uint8Array(MiB);
    let fill = 0;
    let hashing = Promise.resolve();
    const digest = (b) => {
      if (hash === 'hashworker') {
        // Each block is a fresh buffer nobody touches again: transferred, not copied.
        const done = hashWorker.digest(b);
        hashing = hashing.then(() => done);
      } else {
        hashing = hashing.then(() => crypto.subtle.digest('SHA-256', b));
      }
    };
    for (const dc of channels) {
      dc.onmessage = (e) => {
        const bytes = e.data.byteLength;
        if (hash) {
          const data = new Uint8Array(e.data);
          for (let at = 0; at < data.length;) {
            const n = Math.min(data.length - at, MiB - fill);
            block.set(data.subarray(at, at + n), fill);
            fill += n; at += n;
            if (fill === MiB) { digest(block); block = new Uint8Array(MiB); fill = 0; }
          }
        }
        got += bytes;
        if (got >= total) {
          if (hash && fill) digest(block.subarray(0, fill));
          hashing.then(() => channels[0].send('done'));
        }
      };
    }
  },
  /**
   * Sender: `total` bytes from `source` (see `messages`) in `size`-byte messages, each to the
   * channel with the least buffered, pausing while all are at the high mark until one drops
   * to the low mark. `marks` is `{high, low, start}`: with `start < high` the high mark starts
   * there and grows to `high` with a sixteenth of the bytes sent on the connection, the low
   * mark in proportion, as PeerDrop's sender does (peerdrop-core `Sender::buffered_high`, which
   * counts `DATA` payload; here every byte is payload).
   */
  async send(total, size, marks, source = 'pattern') {
    const done = new Promise((r) => { channels[0].onmessage = (e) => e.data === 'done' && r(); });
    const begin = performance.now();
    let high = 0;
    let low = 0;
    const file = source === 'pattern' ? null : prepared;
    prepared = null;
    if (file?.size !== total && source !== 'pattern') throw new Error('ceiling.prepare(total) first');
    for await (const message of messages(source, total, size, file)) {
      const nowHigh = Math.min(marks.high, Math.max(marks.start, Math.floor(sentOnConnection / 16)));
      if (nowHigh !== high) {
        high = nowHigh;
        low = Math.floor((marks.low * high) / marks.high);
        for (const dc of channels) dc.bufferedAmountLowThreshold = low;
      }
      let dc = channels.reduce((a, b) => (b.bufferedAmount < a.bufferedAmount ? b : a));
      while (dc.bufferedAmount >= high) {
        await new Promise((r) => {
          const t = setInterval(() => { if (channels.some((c) => c.bufferedAmount < low)) { clearInterval(t); r(); } }, 5);
          for (const c of channels) c.onbufferedamountlow = () => { clearInterval(t); r(); };
        });
        dc = channels.reduce((a, b) => (b.bufferedAmount < a.bufferedAmount ? b : a));
      }
      dc.send(message);
      sentOnConnection += message.byteLength;
    }
    await done;
    return performance.now() - begin;
  },
  close() { pc?.close(); pc = null; channels = []; },
};

const hash = {
  /** Milliseconds to hash `mib` MiB with one of the contenders, fed in 4 MiB pieces. */
  async time(kind, mib) {
    const data = pattern(mib * MiB);
    const start = performance.now();
    let hex;
    if (kind === 'webcrypto') {
      hex = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
    } else if (kind === 'hash-wasm') {
      const h = await createSHA256();
      h.init();
      for (let i = 0; i < data.length; i += 4 * MiB) h.update(data.subarray(i, i + 4 * MiB));
      hex = h.digest('hex');
    } else {
      const h = new Sha256();
      for (let i = 0; i < data.length; i += 4 * MiB) h.update(data.subarray(i, i + 4 * MiB));
      hex = h.digestHex();
    }
    const ms = performance.now() - start;
    return { ms, digest: typeof hex === 'string' ? hex : [...hex].map((b) => b.toString(16).padStart(2, '0')).join('') };
  },
};

let handle = null;
let events = [];
let settle = null;

/**
 * Records every event; `done` settles on complete or error, `connected` on the open channel,
 * `waiting` once a sender's room exists on the signaling server.
 */
function listen() {
  events = [];
  const done = new Promise((resolve, reject) => { settle = { resolve, reject }; });
  let onConnected;
  const connected = new Promise((r) => { onConnected = r; });
  let onWaiting;
  const waiting = new Promise((r) => { onWaiting = r; });
  const onEvent = (e) => {
    const t = performance.now();
    events.push({ t, type: e.type, phase: e.phase, receiver: e.receiver, verifiedBytes: e.verifiedBytes });
    // With several receivers only the link's own events (no `receiver`) end the run.
    if (e.receiver !== undefined) return;
    if (e.type === 'status' && e.phase === 'connected') onConnected(t);
    if (e.type === 'status' && e.phase === 'waiting') onWaiting(t);
    if (e.type === 'complete') settle.resolve();
    if (e.type === 'error') settle.reject(new Error(`${e.code}: ${e.message}`));
  };
  return { onEvent, done, connected, waiting };
}

let current = null;

const peerdrop = {
  /** Builds the `bytes`-long File the next `offer` sends (see `prepareFile`). */
  async prepare(bytes) { prepared = await prepareFile(bytes); },
  /**
   * Sender: offers `bytes` of pattern data (the `prepare`d File, if any) to `receivers` people
   * (1: a transfer to one); returns the link.
   */
  offer(bytes, flow, hasher, receivers = 1) {
    current = listen();
    const file = prepared ?? patternFile(bytes);
    prepared = null;
    const several = receivers > 1 ? { receivers } : {};
    handle = send([file], { signalUrl: SIGNAL_URL, onEvent: current.onEvent, flow, hasher, ...several });
    return handle.link;
  },
  /**
   * Sender: resolves once its room exists on the signaling server, so a receiver handed the
   * link now finds it (behind a lossy emulated link the room's creation may take a retransmit).
   */
  async registered() { await current.waiting; },
  /** Sender: resolves once the link ended (every receiver done, with several). */
  async ended() { await current.done; },
  /** Receiver: takes the offer into `sink` ("memory" or "opfs") without asking. */
  receive(link, sink, flow, hasher) {
    current = listen();
    handle = receive(link, { signalUrl: SIGNAL_URL, sink, memoryCap: 2048 * MiB, onEvent: current.onEvent, flow, hasher });
  },
  connectedAt() { return current.connected; },
  /** Milliseconds from acceptance to the last byte verified. */
  async finished() {
    await current.done;
    const at = (type) => events.find((e) => e.type === type)?.t;
    return at('complete') - at('accepted');
  },
  diagnose() { return handle.diagnose(); },
  /** Acceptance and completion as wall-clock milliseconds, comparable across pages. */
  span() {
    const at = (type) => performance.timeOrigin + events.find((e) => e.type === type)?.t;
    return { accepted: at('accepted'), complete: at('complete') };
  },
  /** Every event so far, as `{t, type, phase, verifiedBytes}` (t: page time in ms; bytes on `progress`). */
  events() { return events; },
};

window.bench = { ceiling, hash, peerdrop, pattern: (n) => pattern(n).length };
await init();
document.body.dataset.ready = 'yes';
