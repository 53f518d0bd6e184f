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

let pc = null;
let dc = null;
let channelReady = null;

const ceiling = {
  async offer() {
    pc = new RTCPeerConnection({ iceServers: [] });
    dc = pc.createDataChannel('ceiling', { ordered: true });
    dc.binaryType = 'arraybuffer';
    channelReady = new Promise((r) => { dc.onopen = r; });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    return pc.localDescription.sdp;
  },
  async answer(sdp) {
    pc = new RTCPeerConnection({ iceServers: [] });
    channelReady = new Promise((r) => {
      pc.ondatachannel = (e) => { dc = e.channel; dc.binaryType = 'arraybuffer'; r(); };
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
  /** Receiver: counts bytes, answers "done" when `total` arrived. */
  expect(total) {
    let got = 0;
    dc.onmessage = (e) => {
      got += e.data.byteLength;
      if (got >= total) dc.send('done');
    };
  },
  /** Sender: `total` bytes in `size`-byte messages, pausing at `high` until `low`. */
  async send(total, size, high, low) {
    const chunk = pattern(size);
    dc.bufferedAmountLowThreshold = low;
    const done = new Promise((r) => { dc.onmessage = (e) => e.data === 'done' && r(); });
    const start = performance.now();
    let sent = 0;
    while (sent < total) {
      if (dc.bufferedAmount >= high) {
        await new Promise((r) => {
          const t = setInterval(() => { if (dc.bufferedAmount < low) { clearInterval(t); r(); } }, 5);
          dc.onbufferedamountlow = () => { clearInterval(t); r(); };
        });
        continue;
      }
      const n = Math.min(size, total - sent);
      dc.send(n === size ? chunk : chunk.subarray(0, n));
      sent += n;
    }
    await done;
    return performance.now() - start;
  },
  close() { pc?.close(); pc = null; dc = null; },
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

/** Records every event; `done` settles on complete or error, `connected` on the open channel. */
function listen() {
  events = [];
  const done = new Promise((resolve, reject) => { settle = { resolve, reject }; });
  let onConnected;
  const connected = new Promise((r) => { onConnected = r; });
  const onEvent = (e) => {
    const t = performance.now();
    events.push({ t, type: e.type, phase: e.phase });
    if (e.type === 'status' && e.phase === 'connected') onConnected(t);
    if (e.type === 'complete') settle.resolve();
    if (e.type === 'error') settle.reject(new Error(`${e.code}: ${e.message}`));
  };
  return { onEvent, done, connected };
}

let current = null;

const peerdrop = {
  /** Sender: offers `bytes` of pattern data; returns the link. */
  offer(bytes, flow) {
    const piece = pattern(Math.min(bytes, 4 * MiB));
    const parts = [];
    for (let off = 0; off < bytes; off += piece.length) parts.push(piece.subarray(0, Math.min(piece.length, bytes - off)));
    current = listen();
    handle = send([new File(parts, 'bench.bin')], { signalUrl: SIGNAL_URL, onEvent: current.onEvent, flow });
    return handle.link;
  },
  /** Receiver: takes the offer into `sink` ("memory" or "opfs") without asking. */
  receive(link, sink, flow) {
    current = listen();
    handle = receive(link, { signalUrl: SIGNAL_URL, sink, memoryCap: 2048 * MiB, onEvent: current.onEvent, flow });
  },
  connectedAt() { return current.connected; },
  /** Milliseconds from acceptance to the last byte verified. */
  async finished() {
    await current.done;
    const at = (type) => events.find((e) => e.type === type)?.t;
    return at('complete') - at('accepted');
  },
  diagnose() { return handle.diagnose(); },
};

window.bench = { ceiling, hash, peerdrop, pattern: (n) => pattern(n).length };
await init();
document.body.dataset.ready = 'yes';
