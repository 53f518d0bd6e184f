// Ports and readiness for the test and bench harnesses: a free local port, and a wait until a
// server started in the background answers over HTTP. No dependencies beyond Node.
import { createServer } from 'node:net';

/** A port nothing listens on right now (the OS picks it; another process may take it later). */
export async function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Polls `url` with fetch until it answers 2xx; throws on timeout, with describe() (for example
 * the server's log so far) in the message.
 *   anyStatus: any HTTP answer counts (a health check that may answer 503 on purpose).
 *   exited:    called before each try; a truthy return (a message) means the server process has
 *              died, so waiting stops at once with that message.
 */
export async function waitForHttp(url, { timeoutMs = 15000, describe = () => '', anyStatus = false, exited = () => null } = {}) {
  const deadline = Date.now() + timeoutMs;
  const fail = (head) => {
    const detail = describe();
    return new Error(detail ? `${head}\n${detail}` : head);
  };
  let last = 'no answer';
  for (;;) {
    const gone = exited();
    if (gone) throw fail(`${url}: ${gone}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
      await r.body?.cancel().catch(() => {});
      if (r.ok || anyStatus) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.cause?.code ?? e.name ?? String(e);
    }
    if (Date.now() > deadline) throw fail(`${url} did not answer${anyStatus ? '' : ' OK'} within ${timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
