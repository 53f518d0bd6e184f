// PeerDrop's download service worker: turns bytes a receiving page hands over into a file
// download the browser writes to disk as they arrive, so a page that can neither stage files
// in the origin-private file system nor write to a picked folder still keeps memory flat.
//
// A service worker must come from the page's own origin: copy this file to your site and pass
// its URL as the `serviceWorker` receive option. The runtime registers it for the scope
// `peerdrop-download/` beside it, so it sees only its own download URLs, never the site's
// other requests, and does not clash with a service worker the site already has.
//
// Protocol (one MessageChannel per file, opened by the page):
//   page -> worker (postMessage)  {type: 'peerdrop-download', id, name, size} + port
//                                 {type: 'peerdrop-keepalive'} (every few seconds: events
//                                 keep an idle worker from being stopped mid-download)
//   worker -> page (port)         registered | started | pull | cancel
//   page -> worker (port)         chunk {data} (one per pull) | end | abort {message} | ping
// The worker asks for the next chunk only when the browser has read the previous one, so
// neither side queues more than a chunk.

/** Downloads announced by a page and not yet requested: id -> {port, name, size}. */
const announced = new Map();

/**
 * A stream waiting this long for an answer to a pull, with no ping either, lost its page (closed
 * or crashed): it is ended as failed, or the browser would show the download running forever.
 * Pings come every 10 s; a hidden tab's timers may be held back to once a minute.
 */
const SILENCE_MS = 120000;

self.addEventListener('install', () => self.skipWaiting());

self.addEventListener('message', (event) => {
  const msg = event.data;
  if (msg?.type !== 'peerdrop-download') return;
  const port = event.ports[0];
  // The id is the only secret in the URL: 128 random bits, base64url.
  if (!port || typeof msg.id !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(msg.id)) return;
  announced.set(msg.id, { port, name: String(msg.name), size: Number(msg.size) });
  // A page that gives up before the browser asks for the file (its transfer failed first)
  // aborts here; streamFrom() takes the port over once the download starts.
  port.onmessage = ({ data }) => {
    if (data?.type === 'abort') announced.delete(msg.id);
  };
  port.postMessage({ type: 'registered' });
});

self.addEventListener('fetch', (event) => {
  const scope = new URL(self.registration.scope).pathname;
  const url = new URL(event.request.url);
  if (!url.pathname.startsWith(scope)) return;
  const id = url.pathname.slice(scope.length);
  const entry = event.request.method === 'GET' ? announced.get(id) : undefined;
  if (!entry) {
    event.respondWith(new Response('This download link was already used or has expired.\n', {
      status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
    }));
    return;
  }
  // Single use: a second request (a reload, a copied URL) gets the 404 above.
  announced.delete(id);
  entry.port.postMessage({ type: 'started' });
  event.respondWith(new Response(streamFrom(entry.port), {
    headers: {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(entry.size),
      'Content-Disposition': contentDisposition(entry.name),
      // The bytes are the sender's: never let a browser render them as a page of this origin.
      'Content-Security-Policy': "default-src 'none'; sandbox",
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
    },
  }));
});

/** The file's bytes, pulled chunk by chunk from the page over `port`. */
function streamFrom(port) {
  let controller;
  let answered = null;
  let timer = null;
  let done = false;
  const settle = () => {
    clearTimeout(timer);
    const resolve = answered;
    answered = null;
    resolve?.();
  };
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stop(new Error('the receiving page stopped answering')), SILENCE_MS);
  };
  // Ends the stream with an error, so the browser marks the download failed instead of
  // keeping a partial file that looks complete.
  const stop = (error) => {
    if (done) return;
    done = true;
    controller.error(error);
    settle();
    port.close();
  };
  port.onmessage = ({ data }) => {
    if (done) return;
    if (data.type === 'chunk') {
      controller.enqueue(data.data);
      settle();
    } else if (data.type === 'end') {
      done = true;
      controller.close();
      settle();
      port.close();
    } else if (data.type === 'abort') {
      stop(new Error(data.message));
    } else if (data.type === 'ping' && answered) {
      arm();
    }
  };
  return new ReadableStream({
    start(c) {
      controller = c;
    },
    pull() {
      return new Promise((resolve) => {
        answered = resolve;
        arm();
        port.postMessage({ type: 'pull' });
      });
    },
    // The person cancelled the download (or the browser gave up on it).
    cancel() {
      if (done) return;
      done = true;
      settle();
      port.postMessage({ type: 'cancel' });
      port.close();
    },
  }, { highWaterMark: 1 });
}

/** `attachment` with an ASCII fallback name and the exact name in RFC 5987 encoding. */
function contentDisposition(name) {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_') || 'download';
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${exact}`;
}
