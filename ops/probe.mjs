#!/usr/bin/env node
// Synthetic probe for a PeerDrop signaling endpoint (Node 20+, no dependencies).
//
//   node ops/probe.mjs --url https://example.org/signal.php \
//     [--textfile /var/lib/node_exporter/textfile/peerdrop_probe.prom] [--json out.json] \
//     [--timeout-ms 10000] [--slow-ms 400] [--poll-wait 0] [--origin https://app.example.org]
//
// One run plays both peers of a throwaway room: health (GET), create, join, send (a `sealed`
// message of random bytes), poll until it arrives (then acknowledge it), leave both peers.
// It sends nothing about any person: the room id and the message are random.
// Exit status: 0 when every step succeeded, 1 when one failed, 2 on bad arguments.
// Results: JSON on stdout (or --json FILE) and, with --textfile, Prometheus text format written
// atomically (temp file + rename) for node_exporter's textfile collector. Run it every minute
// (cron or a systemd timer); docs/operations/slo.md and ops/prometheus/peerdrop-rules.yml use it.
import { randomBytes } from 'node:crypto';
import { writeFileSync, renameSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = 'usage: node ops/probe.mjs --url URL [--textfile FILE] [--json FILE] [--timeout-ms N] [--slow-ms N] [--poll-wait S] [--origin ORIGIN]';
const STEPS = ['health', 'create', 'join', 'send', 'poll', 'leave'];

function parse(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      textfile: { type: 'string' },
      json: { type: 'string' },
      'timeout-ms': { type: 'string', default: '10000' },
      'slow-ms': { type: 'string', default: '400' },
      'poll-wait': { type: 'string', default: '0' },
      origin: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return { help: true };
  const num = (k, min, max) => {
    const n = Number(values[k]);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${k} must be an integer from ${min} to ${max}`);
    return n;
  };
  if (!values.url || !/^https?:\/\//.test(values.url)) throw new Error('--url must be an http(s) URL of signal.php');
  return {
    url: values.url,
    textfile: values.textfile,
    json: values.json,
    timeoutMs: num('timeout-ms', 100, 120000),
    slowMs: num('slow-ms', 1, 60000),
    pollWait: num('poll-wait', 0, 25),
    origin: values.origin,
  };
}

class StepError extends Error {
  constructor(step, status, code, message) {
    super(message);
    this.step = step;
    this.status = status;
    this.code = code;
  }
}

/** Runs one probe; never throws. Returns the result object. */
export async function probe({ url, timeoutMs = 10000, slowMs = 400, pollWait = 0, origin } = {}) {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const steps = {};
  const headers = { 'Content-Type': 'application/json' };
  if (origin) headers.Origin = origin;

  const call = async (step, method, body) => {
    const t0 = performance.now();
    const left = Math.max(1, deadline - Date.now());
    let res;
    try {
      res = await fetch(url, {
        method,
        headers: method === 'POST' ? headers : origin ? { Origin: origin } : {},
        body: method === 'POST' ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(left),
        redirect: 'manual',
      });
    } catch (e) {
      const ms = performance.now() - t0;
      record(step, 0, ms);
      throw new StepError(step, 0, e.name === 'TimeoutError' ? 'timeout' : 'unreachable', `${step}: ${e.cause?.code || e.cause?.errors?.[0]?.code || e.cause?.message || e.message}`);
    }
    const text = await res.text().catch(() => '');
    const ms = performance.now() - t0;
    record(step, res.status, ms);
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON: a host error page, e.g. 508 */ }
    return { status: res.status, json, ms };
  };
  const record = (step, status, ms) => {
    const s = (steps[step] ??= { ok: false, status: 0, ms: 0, requests: 0, max_ms: 0 });
    s.status = status;
    s.ms += ms;
    s.requests += 1;
    s.max_ms = Math.max(s.max_ms, ms);
  };
  const expect = (step, r, ...wanted) => {
    if (!wanted.includes(r.status) || !r.json || typeof r.json !== 'object') {
      const code = r.json?.error?.code || (r.json ? 'unexpected_status' : 'not_json');
      throw new StepError(step, r.status, code, `${step}: HTTP ${r.status} ${code}`);
    }
    steps[step].ok = true;
    return r.json;
  };

  let failed = null;
  const tokens = [];
  try {
    const health = expect('health', await call('health', 'GET'), 200);
    if (health.ok !== true) throw new StepError('health', 200, 'not_ok', 'health: ok is not true');
    const room = randomBytes(24).toString('base64url'); // 32 characters, random: identifies nobody
    const created = expect('create', await call('create', 'POST', { v: 1, op: 'create', room }), 201);
    tokens.push(created.token);
    const joined = expect('join', await call('join', 'POST', { v: 1, op: 'join', room }), 200);
    tokens.push(joined.token);
    const data = randomBytes(48).toString('base64url');
    const sent = expect('send', await call('send', 'POST', { v: 1, op: 'send', token: created.token, seq: 1, type: 'sealed', data }), 201);
    // Poll as peer 1 until the message arrives, obeying poll_after_ms; then acknowledge it.
    let cursor = 0;
    for (;;) {
      const r = expect('poll', await call('poll', 'POST', { v: 1, op: 'poll', token: joined.token, after: cursor, wait: pollWait }), 200);
      const m = (r.messages || []).find((x) => x.id === sent.id);
      cursor = r.cursor;
      if (m) {
        if (m.type !== 'sealed' || m.data !== data || m.seq !== 1) {
          steps.poll.ok = false;
          throw new StepError('poll', 200, 'wrong_message', 'poll: the message came back altered');
        }
        break;
      }
      if (Date.now() + (r.poll_after_ms || 0) >= deadline) {
        steps.poll.ok = false;
        throw new StepError('poll', 200, 'timeout', 'poll: the message did not arrive in time');
      }
      await new Promise((res) => setTimeout(res, r.poll_after_ms || 0));
    }
    expect('poll', await call('poll', 'POST', { v: 1, op: 'poll', token: joined.token, after: cursor, wait: 0 }), 200);
  } catch (e) {
    failed = e instanceof StepError ? e : new StepError('internal', 0, 'internal', String(e));
  }
  // Leave with every token we got, even after a failure, so the probe leaves no room behind.
  let leaveOk = tokens.length > 0;
  for (const token of tokens) {
    try {
      const r = await call('leave', 'POST', { v: 1, op: 'leave', token });
      if (r.status !== 200) leaveOk = false;
    } catch (e) {
      leaveOk = false;
    }
  }
  if (steps.leave) steps.leave.ok = leaveOk;
  if (!failed && !leaveOk) failed = new StepError('leave', steps.leave?.status ?? 0, 'leave_failed', 'leave: not answered with 200');

  const durationMs = Date.now() - started;
  // Latency: every request of a step answered within slowMs (held polls are excluded by using
  // --poll-wait 0, the default).
  const slowest = Math.max(0, ...Object.values(steps).map((s) => s.max_ms));
  return {
    url,
    ok: failed === null,
    failed_step: failed?.step ?? null,
    error: failed ? { status: failed.status, code: failed.code, message: failed.message } : null,
    latency_ok: failed === null && slowest <= slowMs,
    slow_ms: slowMs,
    slowest_request_ms: round(slowest),
    duration_ms: durationMs,
    finished_at: new Date().toISOString(),
    steps: Object.fromEntries(STEPS.filter((s) => steps[s]).map((s) => [s, { ...steps[s], ms: round(steps[s].ms), max_ms: round(steps[s].max_ms) }])),
  };
}

const round = (x) => Math.round(x * 10) / 10;
const esc = (v) => String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text exposition format 0.0.4. */
export function toPrometheus(r) {
  const t = `target="${esc(r.url)}"`;
  const out = [];
  const metric = (name, type, help, rows) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of rows) out.push(`${name}{${labels}} ${value}`);
  };
  metric('peerdrop_probe_success', 'gauge', 'Whether the last probe run completed every step (1) or not (0).', [[t, r.ok ? 1 : 0]]);
  metric('peerdrop_probe_latency_ok', 'gauge', 'Whether every request of the last run succeeded within the slow threshold.', [[t, r.latency_ok ? 1 : 0]]);
  metric('peerdrop_probe_duration_seconds', 'gauge', 'Wall time of the last probe run.', [[t, r.duration_ms / 1000]]);
  metric('peerdrop_probe_slowest_request_seconds', 'gauge', 'Slowest single request of the last run.', [[t, r.slowest_request_ms / 1000]]);
  const names = Object.keys(r.steps);
  metric('peerdrop_probe_step_success', 'gauge', 'Whether each step of the last run succeeded.', names.map((s) => [`${t},step="${s}"`, r.steps[s].ok ? 1 : 0]));
  metric('peerdrop_probe_step_status', 'gauge', 'HTTP status of the last request of each step (0: no answer).', names.map((s) => [`${t},step="${s}"`, r.steps[s].status]));
  metric('peerdrop_probe_step_duration_seconds', 'gauge', 'Time spent in each step of the last run.', names.map((s) => [`${t},step="${s}"`, r.steps[s].ms / 1000]));
  metric('peerdrop_probe_last_run_timestamp_seconds', 'gauge', 'When the last probe run finished (Unix time).', [[t, Math.floor(Date.parse(r.finished_at) / 1000)]]);
  return out.join('\n') + '\n';
}

function writeAtomic(path, text) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

async function main() {
  let opts;
  try {
    opts = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`${e.message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const result = await probe(opts);
  const json = JSON.stringify(result, null, 2) + '\n';
  if (opts.json) writeAtomic(opts.json, json);
  else process.stdout.write(json);
  if (opts.textfile) writeAtomic(opts.textfile, toPrometheus(result));
  if (!result.ok) console.error(`probe failed at ${result.failed_step}: ${result.error.message}`);
  return result.ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/probe.mjs')) {
  process.exitCode = await main();
}
