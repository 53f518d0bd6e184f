// Serves the @peerdrop/sveltekit signaling handler (built package) over plain node:http, with the
// extra endpoints the conformance suite can use: a second handler on the same store whose clock
// runs 2 hours ahead (/future), one with a tiny rate limit (/limited), and the hostile-clients pair
// (/hostile, /hostile-future: own store, default quotas, a 1 MiB cap on live data, and the client's
// address taken from X-Forwarded-For as adapter-node does behind a trusted proxy with
// ADDRESS_HEADER=x-forwarded-for XFF_DEPTH=1). /signal and /future hand out the ICE servers below
// (tests/sveltekit/conformance.sh passes them to the suite); the others none.
//   node tests/sveltekit/signal-server.mjs [memory|redis|rest] [port]      prints "listening <url>"
// Env: REDIS_URL (redis store: '@peerdrop/sveltekit/redis'), REDIS_REST_URL and REDIS_REST_TOKEN
// (rest store: Redis over HTTP, the Upstash REST protocol), PEERDROP_SVELTEKIT_DIST (default: the package's dist/),
// SIGNAL_STUN_URL, SIGNAL_TURN_URL (space-separated), SIGNAL_TURN_SECRET (default: none).
import { createServer } from 'node:http';
import { webRequest } from '../support/web-request.mjs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = process.env.PEERDROP_SVELTEKIT_DIST ?? resolve(here, '../../sveltekit-addon/packages/sveltekit/dist');
const { createSignalingHandler, createMemoryStore, createRedisRestStore } = await import(pathToFileURL(resolve(dist, 'signaling/index.js')).href);
const { createRedisStore } = await import(pathToFileURL(resolve(dist, 'signaling/redis-url.js')).href);

const kind = process.argv[2] ?? 'memory';
const port = Number(process.argv[3] ?? 0);
const newStore = (name) => {
  const prefix = `pdtest${process.pid}${name}:`;
  if (kind === 'redis') return createRedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6399', prefix });
  if (kind === 'rest') return createRedisRestStore({ url: process.env.REDIS_REST_URL, token: process.env.REDIS_REST_TOKEN, prefix });
  return createMemoryStore();
};
const store = newStore('');
const hostileStore = newStore('h');
const urls = (v) => (v ?? '').split(/\s+/).filter(Boolean);
const common = {
  store, secret: 'conformance-secret-0123456789abcdef', pollSlots: 4, metricsToken: 'metrics-token-0123456789',
  allowedOrigins: ['http://allowed.test'], rateLimitPerMinute: 1000000, rateLimitBurst: 100000,
  quotaRooms: 1000000, quotaCreatesPerMinute: 1000000, quotaFailedJoins: 1000000,
};
const hostile = { store: hostileStore, secret: common.secret, pollSlots: 0, maxDbBytes: 1048576 };
const ice = {
  stunUrls: urls(process.env.SIGNAL_STUN_URL), turnUrls: urls(process.env.SIGNAL_TURN_URL),
  turnSecret: process.env.SIGNAL_TURN_SECRET || undefined,
};
const handlers = {
  '/signal': createSignalingHandler({ ...common, ...ice }),
  '/future': createSignalingHandler({ ...common, ...ice, now: () => Date.now() / 1000 + 7200 }),
  '/limited': createSignalingHandler({ ...common, store: createMemoryStore(), rateLimitPerMinute: 6, rateLimitBurst: 5 }),
  '/hostile': createSignalingHandler(hostile),
  '/hostile-future': createSignalingHandler({ ...hostile, now: () => Date.now() / 1000 + 7200 }),
};
/** The right-most X-Forwarded-For entry on the hostile routes (the proxy is this machine), else the peer. */
const clientAddress = (req, path) => {
  const xff = path.startsWith('/hostile') ? String(req.headers['x-forwarded-for'] ?? '').split(',').pop().trim() : '';
  return xff || (req.socket.remoteAddress ?? '');
};

const server = createServer(async (req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`);
  const h = handlers[url.pathname];
  if (!h) { res.writeHead(404).end(); return; }
  const ac = new AbortController();
  res.on('close', () => ac.abort());
  const { request, hasBody } = webRequest(req, url, ac.signal);
  const response = await h.handle({ request, getClientAddress: () => clientAddress(req, url.pathname) });
  const body = Buffer.from(await response.arrayBuffer());
  const headers = Object.fromEntries(response.headers);
  // An unread body (early 413 or 415): close the connection rather than wait for the rest, and
  // say so, or the client may send its next request on a socket about to be closed.
  const unread = hasBody && !req.readableEnded;
  if (unread) headers.connection = 'close';
  res.writeHead(response.status, headers);
  res.end(body);
  if (unread) req.socket.destroySoon?.();
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => { server.close(); store.close?.(); hostileStore.close?.(); process.exit(0); });
