// A test stand-in for Upstash: the Upstash REST protocol served over the real Redis the tests
// already start. No Upstash account is reachable from these machines, and serverless-redis-http
// (the open-source Upstash-compatible proxy) ships as an Elixir/Docker image, which cannot be
// installed offline here. Only what the PeerDrop REST store sends is served, with Upstash's
// shapes: POST / with a JSON command array and `Authorization: Bearer <token>`; 200
// { result } (Redis replies as JSON: strings, integers, arrays, null), 400 { error } for a
// Redis error (e.g. a script's error_reply or NOSCRIPT), 401 { error } for a wrong token.
//   node tests/support/redis-rest-bridge.mjs <redis-url> <port> <token>   prints "listening <url>"
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../sveltekit-addon/package.json', import.meta.url));
const { createClient } = require('redis');

const [redisUrl, port = '0', token] = process.argv.slice(2);
if (!redisUrl || !token) {
  console.error('usage: redis-rest-bridge.mjs <redis-url> <port> <token>');
  process.exit(2);
}
const client = createClient({ url: redisUrl });
client.on('error', (e) => console.error('bridge redis:', e.message));
await client.connect();

const json = (res, status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  if (req.headers.authorization !== `Bearer ${token}`) return json(res, 401, { error: 'Unauthorized' });
  if (req.method !== 'POST' || new URL(req.url, 'http://x').pathname !== '/') return json(res, 404, { error: 'only POST / is served' });
  let command;
  try {
    command = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return json(res, 400, { error: 'ERR failed to parse command' });
  }
  if (!Array.isArray(command) || command.length === 0) return json(res, 400, { error: 'ERR command must be a non-empty array' });
  try {
    json(res, 200, { result: await client.sendCommand(command.map(String)) });
  } catch (e) {
    json(res, 400, { error: e.message });
  }
});
server.listen(Number(port), '127.0.0.1', () => console.log(`listening http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', async () => {
  server.close();
  await client.quit().catch(() => {});
  process.exit(0);
});
