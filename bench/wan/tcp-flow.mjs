// The emulated link's own ceiling for one bulk flow: a kernel TCP connection (the machine's
// congestion control, no browser, no encryption) moves the same bytes through the same link as
// PeerDrop, from one lab peer to another. Beside PeerDrop's figure it says what this link, its
// queue and the emulator give a flow at all (docs/performance.md, "Real links").
//
//   node bench/wan/tcp-flow.mjs receive PORT BYTES  (in the receiving peer's namespace)
//   node bench/wan/tcp-flow.mjs send HOST PORT BYTES (in the sending peer's namespace)
//
// The receiver prints "listening", then one JSON line once the sender closed: the bytes, and the
// milliseconds from the connection's acceptance to the half and to the last byte.
import { createServer, connect } from 'node:net';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MiB = 1024 * 1024;
const now = () => performance.timeOrigin + performance.now();

function receive(port, expected) {
  const server = createServer((socket) => {
    const start = now();
    let bytes = 0;
    let half = null;
    socket.on('data', (chunk) => {
      bytes += chunk.length;
      // The chunk that passes the half must leave some bytes after it, or there is no second half.
      if (half == null && bytes >= expected / 2 && bytes < expected) half = { ms: now() - start, bytes };
    });
    socket.on('end', () => {
      console.log(JSON.stringify({ bytes, ms: now() - start, half }));
      server.close();
    });
  });
  server.listen(port, () => console.log('listening'));
}

function send(host, port, bytes) {
  const chunk = Buffer.alloc(MiB);
  const socket = connect(port, host, () => {
    let left = bytes;
    const more = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return socket.once('drain', more);
      }
      socket.end();
    };
    more();
  });
  socket.on('error', (e) => { console.error(e.message); process.exit(1); });
}

/**
 * One flow of `bytes` from lab peer `from` to lab peer `to` (at `host`, its address as `from`
 * reaches it): `{ rate, secondHalf }` in MiB/s (`secondHalf` null when one chunk carried the
 * half and the end), timed at the receiver from the connection's acceptance (its slow start
 * included, as PeerDrop's start is; the handshake's round trip not).
 */
export async function tcpFlow(lab, from, to, host, bytes) {
  const port = 5201;
  const self = fileURLToPath(import.meta.url);
  const receiver = spawn('ip', ['netns', 'exec', lab.peers[to].ns, process.execPath, self, 'receive', String(port), String(bytes)],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  let sender;
  let failed = null;
  try {
    const lines = [];
    let wake;
    createInterface({ input: receiver.stdout }).on('line', (l) => { lines.push(l); wake?.(); });
    const line = async (ms) => {
      const deadline = Date.now() + ms;
      while (!lines.length) {
        if (failed) throw new Error(failed);
        if (Date.now() > deadline || receiver.exitCode != null) throw new Error('the TCP flow\'s receiver said nothing');
        await new Promise((r) => { wake = r; setTimeout(r, 200); });
      }
      return lines.shift();
    };
    if ((await line(10000)) !== 'listening') throw new Error('the TCP flow\'s receiver did not listen');
    sender = spawn('ip', ['netns', 'exec', lab.peers[from].ns, process.execPath, self, 'send', host, String(port), String(bytes)],
      { stdio: ['ignore', 'ignore', 'inherit'] });
    sender.once('exit', (code) => { if (code) { failed = `the TCP flow's sender exited with ${code}`; wake?.(); } });
    const r = JSON.parse(await line(Math.max(120000, (bytes / (100 * 1024)) * 1000)));
    await new Promise((res) => (sender.exitCode != null ? res() : sender.once('exit', res)));
    if (r.bytes !== bytes) throw new Error(`the TCP flow moved ${r.bytes} of ${bytes} bytes`);
    const secondHalf = r.half ? (r.bytes - r.half.bytes) / MiB / ((r.ms - r.half.ms) / 1000) : null;
    return { rate: r.bytes / MiB / (r.ms / 1000), secondHalf };
  } finally {
    if (receiver.exitCode == null) receiver.kill();
    if (sender && sender.exitCode == null) sender.kill();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'receive') receive(Number(args[0]), Number(args[1]));
  else if (mode === 'send') send(args[0], Number(args[1]), Number(args[2]));
  else {
    console.error('usage: tcp-flow.mjs receive PORT BYTES | send HOST PORT BYTES');
    process.exit(2);
  }
}
