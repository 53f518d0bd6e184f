// A node:http request as the Fetch API Request a SvelteKit handler takes (the test servers
// that host @peerdrop/sveltekit's signaling handler without Kit use it).
import { Readable } from 'node:stream';

/** `req` (node:http IncomingMessage) at `url` as a Request; its body streams, unread. */
export function webRequest(req, url, signal) {
  const hasBody = !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
  return {
    hasBody,
    request: new Request(url, {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
      body: hasBody ? Readable.toWeb(req) : undefined,
      duplex: 'half',
      signal,
    }),
  };
}
