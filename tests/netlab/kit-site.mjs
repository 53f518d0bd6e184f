// The example page served with the @peerdrop/sveltekit signaling handler instead of signal.php:
// the lab's case for the Kit handler as the endpoint. Static files come from examples/plain and
// pkg/; POSTs to /signal.php (the URL the page uses) go to the handler, built from dist/, with
// the lab's STUN/TURN settings, as a Kit route (`+server.ts`) would call it.
//   node tests/netlab/kit-site.mjs HOST PORT       (env: SIGNAL_STUN_URL, SIGNAL_TURN_URL, SIGNAL_TURN_SECRET)
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { webRequest } from '../support/web-request.mjs';
import { extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const dist = resolve(root, 'sveltekit-addon/packages/sveltekit/dist');
const { createSignalingHandler, createMemoryStore } = await import(pathToFileURL(resolve(dist, 'signaling/index.js')).href);

const [host, port] = [process.argv[2], Number(process.argv[3])];
const urls = (v) => (v ?? '').split(/\s+/).filter(Boolean);
const handler = createSignalingHandler({
  store: createMemoryStore(),
  secret: 'netlab-kit-secret-0123456789abcdef',
  // Every lab peer is behind its own NAT address, but keep the limiter and quotas out of the way.
  rateLimitPerMinute: 0,
  quotaRooms: 0,
  quotaCreatesPerMinute: 0,
  quotaFailedJoins: 0,
  stunUrls: urls(process.env.SIGNAL_STUN_URL),
  turnUrls: urls(process.env.SIGNAL_TURN_URL),
  turnSecret: process.env.SIGNAL_TURN_SECRET || undefined,
});

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json' };

/** The file a path names: the example page, or the package (pkg/), never outside those. */
function staticFile(pathname) {
  if (pathname.includes('..')) return null;
  if (pathname === '/') return resolve(root, 'examples/plain/index.html');
  if (pathname === '/peerdrop-sw.js') return resolve(root, 'pkg/peerdrop-sw.js');
  if (pathname.startsWith('/pkg/')) return resolve(root, `.${pathname}`);
  return resolve(root, `examples/plain${pathname}`);
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`);
  if (url.pathname === '/signal.php') {
    const { request } = webRequest(req, url);
    const response = await handler.handle({ request, getClientAddress: () => req.socket.remoteAddress ?? '' });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
    return;
  }
  const file = staticFile(url.pathname);
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
server.listen(port, host, () => console.log(`listening http://${host}:${port}/`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
