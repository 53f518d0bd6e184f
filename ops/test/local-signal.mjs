// Starts signal.php under `php -S` in a temporary deployment (web root, config and data dir
// outside it), as scripts/serve-site does: short polls, so one held request cannot block php -S.
//   const s = await startSignal({ config: { metrics_token: '...' } }); ... await s.stop();
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForHttp } from '../../tests/support/net.mjs';

export { freePort };

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const phpValue = (v) =>
  Array.isArray(v) ? `array(${v.map(phpValue).join(', ')})`
  : typeof v === 'string' ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
  : typeof v === 'boolean' ? (v ? 'true' : 'false')
  : String(v);

/** config: extra keys for peerdrop.config.php; env: extra environment for php -S. */
export async function startSignal({ config = {}, env = {}, signalPhp = join(repo, 'php-signaling', 'signal.php') } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'peerdrop-ops-'));
  const www = join(dir, 'www');
  const data = join(dir, 'data');
  mkdirSync(www);
  copyFileSync(signalPhp, join(www, 'signal.php'));
  // Every probe run comes from 127.0.0.1: the per-client rate limit and quotas are off unless a test sets them.
  const cfg = {
    data_dir: data, poll_slots: 0, poll_interval_ms: 100, rate_limit_per_minute: 0,
    quota_rooms: 0, quota_creates_per_minute: 0, quota_failed_joins: 0, ...config,
  };
  const body = Object.entries(cfg).map(([k, v]) => `  '${k}' => ${phpValue(v)},`).join('\n');
  writeFileSync(join(dir, 'peerdrop.config.php'), `<?php\nreturn array(\n${body}\n);\n`);
  const port = await freePort();
  const child = spawn('php', ['-d', 'variables_order=EGPCS', '-S', `127.0.0.1:${port}`, '-t', www], {
    env: { ...process.env, PHP_CLI_SERVER_WORKERS: '2', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let log = '';
  child.stderr.on('data', (b) => { log += b; });
  const url = `http://127.0.0.1:${port}/signal.php`;
  // Any answer counts: a deliberately misconfigured endpoint answers its health check with 503.
  try {
    await waitForHttp(url, {
      timeoutMs: 10000,
      anyStatus: true,
      exited: () => (child.exitCode !== null || child.signalCode !== null) && `php -S exited (${child.exitCode ?? child.signalCode})`,
      describe: () => `php -S did not start: ${log}`,
    });
  } catch (e) {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url, dir, data, www,
    log: () => log,
    async stop() {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
