// ops/probe.mjs against a local php -S signal.php: success, the exported formats, and failures
// (nothing listening; a misconfigured endpoint answering 503). Run: node --test ops/test/probe.test.mjs
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSignal, freePort, repo } from './local-signal.mjs';

const run = promisify(execFile);
const probeJs = join(repo, 'ops', 'probe.mjs');
const METRICS_TOKEN = 'probe-test-metrics-token-0123456789';
const out = mkdtempSync(join(tmpdir(), 'peerdrop-probe-'));
let server;

before(async () => {
  server = await startSignal({ config: { metrics_token: METRICS_TOKEN, secret: 'probe-test-secret-0123456789abcdef0123456789' } });
});
after(async () => {
  await server?.stop();
  rmSync(out, { recursive: true, force: true });
});

async function runProbe(url, name, extra = []) {
  const textfile = join(out, `${name}.prom`);
  const json = join(out, `${name}.json`);
  let code = 0;
  try {
    await run(process.execPath, [probeJs, '--url', url, '--textfile', textfile, '--json', json, '--timeout-ms', '5000', ...extra]);
  } catch (e) {
    code = e.code;
  }
  return { code, result: JSON.parse(readFileSync(json, 'utf8')), prom: readFileSync(textfile, 'utf8') };
}

let promtoolInstalled;
function hasPromtool() {
  promtoolInstalled ??= !spawnSync('promtool', ['--version'], { stdio: 'ignore' }).error;
  return promtoolInstalled;
}

/** A subtest: promtool accepts the textfile; skipped (and reported so) where it is not installed. */
async function checkWithPromtool(t, text) {
  await t.test('promtool check metrics accepts the textfile', (st) => {
    if (!hasPromtool()) {
      st.skip('promtool is not installed');
      return;
    }
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.status, 0, `promtool check metrics exited ${r.status}: ${r.stdout}${r.stderr}`);
  });
}

test('a healthy endpoint: every step succeeds, exit 0, both formats written', async (t) => {
  const { code, result, prom } = await runProbe(server.url, 'ok');
  assert.equal(code, 0, JSON.stringify(result));
  assert.equal(result.ok, true);
  assert.equal(result.failed_step, null);
  assert.deepEqual(Object.keys(result.steps), ['health', 'create', 'join', 'send', 'poll', 'leave']);
  for (const [name, s] of Object.entries(result.steps)) assert.equal(s.ok, true, name);
  assert.equal(result.steps.create.status, 201);
  assert.equal(result.steps.leave.requests, 2, 'both peers left');
  assert.match(prom, /^peerdrop_probe_success\{target="http:\/\/127\.0\.0\.1:\d+\/signal\.php"\} 1$/m);
  assert.match(prom, /^peerdrop_probe_step_success\{target="[^"]+",step="poll"\} 1$/m);
  assert.match(prom, /^peerdrop_probe_last_run_timestamp_seconds\{target="[^"]+"\} \d{10}$/m);
  await checkWithPromtool(t, prom);

  // The endpoint counted the probe's requests, and the probe left no room open.
  const m = await (await fetch(`${server.url}?metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  assert.match(m, /^peerdrop_requests_total\{op="create",status="201"\} 1$/m);
  assert.match(m, /^peerdrop_requests_total\{op="leave",status="200"\} 2$/m);
  assert.match(m, /^peerdrop_open_rooms 0$/m);
});

test('a slow threshold below the measured time marks latency_ok 0 but success 1', async () => {
  const { code, result, prom } = await runProbe(server.url, 'slow', ['--slow-ms', '1', '--poll-wait', '0']);
  assert.equal(code, 0);
  assert.equal(result.ok, true);
  assert.equal(result.latency_ok, false);
  assert.match(prom, /^peerdrop_probe_latency_ok\{[^}]+\} 0$/m);
});

test('nothing listening: exit 1, success 0, health status 0', async (t) => {
  const port = await freePort();
  const { code, result, prom } = await runProbe(`http://127.0.0.1:${port}/signal.php`, 'down');
  assert.equal(code, 1);
  assert.equal(result.ok, false);
  assert.equal(result.failed_step, 'health');
  assert.equal(result.error.code, 'unreachable');
  assert.match(prom, /^peerdrop_probe_success\{[^}]+\} 0$/m);
  assert.match(prom, /^peerdrop_probe_step_status\{[^}]+,step="health"\} 0$/m);
  await checkWithPromtool(t, prom);
});

test('a misconfigured endpoint (example secret): the probe reports 503 misconfigured at health', async () => {
  const bad = await startSignal({ config: { secret: 'change-me' } });
  try {
    const { code, result } = await runProbe(bad.url, 'misconfigured');
    assert.equal(code, 1);
    assert.equal(result.failed_step, 'health');
    assert.equal(result.error.status, 503);
    assert.equal(result.error.code, 'misconfigured');
  } finally {
    await bad.stop();
  }
});

test('bad arguments exit 2', async () => {
  await assert.rejects(run(process.execPath, [probeJs, '--url', 'ftp://x']), (e) => e.code === 2);
});
