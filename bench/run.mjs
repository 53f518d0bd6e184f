// make bench: PeerDrop against the browser's own ceiling, in one run, in one Chromium, on the
// same data. Writes bench/results/bench-latest.{json,md,png}. See docs/performance.md.
//
//   node bench/run.mjs            full run (256 MiB transfers, 1 GiB memory run, 20 setups)
//   node bench/run.mjs --smoke    tiny sizes, one repeat: proves the harness works (CI)
//
// A repeat that fails (a page or the browser closed under it, a timeout) is recorded in the
// results ("failures", and null in its place among the runs) and the run goes on with fresh pages,
// in a new browser if the old one died (bench/repeats.mjs); a run with failures writes all its
// results and then exits with status 1.
import { spawn, execFileSync } from 'node:child_process';
import { cp, mkdir, writeFile, readFile } from 'node:fs/promises';
import { cpus, totalmem, release } from 'node:os';
import { launchBrowser, liveMemoryBytes } from '../tests/e2e/harness.mjs';
import { freePort, waitForHttp } from '../tests/support/net.mjs';
import { benchPage, closePages } from '../tests/support/bench-page.mjs';
import { taggedEnv, cpuMs, cpuByThread, threadDelta, browserProcesses } from './cpu.mjs';
import { keptBrowser, repeatLog, failuresMarkdown } from './repeats.mjs';
import { fanoutOnce } from './fanout.mjs';

const SMOKE = process.argv.includes('--smoke');
const MiB = 1024 * 1024;
// BENCH_SIZE_MIB and BENCH_REPEATS override the sizes for quick experiments.
const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? (SMOKE ? 8 : 256));
const MEMORY_MIB = SMOKE ? 16 : 1024;
const REPEATS = Number(process.env.BENCH_REPEATS ?? (SMOKE ? 1 : 5));
const SETUPS = SMOKE ? 3 : 20;
// One sender to several receivers: bytes each receiver gets, and how many receivers.
const FANOUT_MIB = Number(process.env.BENCH_FANOUT_MIB ?? (SMOKE ? 4 : 128));
const FANOUT_COUNTS = [1, 2, 4];
const OUT = process.env.BENCH_OUT ?? (SMOKE ? 'target/bench-smoke' : 'bench/results');

// A failed repeat stands as null among the runs: statistics are over the others, and null when
// every repeat failed; so is a ratio with a null side.
const completed = (xs) => xs.filter((x) => x != null).sort((a, b) => a - b);
const median = (xs) => { const s = completed(xs); return s.length ? s[Math.floor((s.length - 1) / 2)] : null; };
const percentile = (xs, p) => { const s = completed(xs); return s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : null; };
const spread = (xs) => { const s = completed(xs); return { median: median(s), min: s[0] ?? null, max: s.at(-1) ?? null, runs: xs }; };
const ratio = (a, b) => (a == null || b == null ? null : a / b);
const fixed = (x, digits) => (x == null ? '–' : x.toFixed(digits));
const mibps = (bytes, ms) => bytes / MiB / (ms / 1000);
const log = (...a) => console.log('bench:', ...a);
// Finds this bench's Chromium processes for CPU accounting (bench/cpu.mjs).
const BROWSER = taggedEnv();
// BENCH_BREAKDOWN=1: also print CPU per MiB by process and thread (experiments).
const BREAKDOWN = process.env.BENCH_BREAKDOWN === '1';
const PROFILE = process.env.BENCH_PROFILE === '1';
function printBreakdown(what, before, after, bytes) {
  log(`CPU ms per MiB by thread, ${what}: ${threadDelta(before, after, bytes / MiB).map(([k, v]) => `${k} ${v.toFixed(1)}`).join('; ')}`);
}

/** The example site plus the bench pages, with held polls on (setup latency is measured). */
async function startSite() {
  await mkdir('target/bench-page', { recursive: true });
  await cp('bench/page', 'target/bench-page', { recursive: true });
  await cp('node_modules/hash-wasm/dist/index.esm.min.js', 'target/bench-page/hash-wasm.js');
  const port = await freePort();
  const child = spawn('scripts/serve-site', [String(port)], {
    env: {
      ...process.env,
      PEERDROP_SITE_DIR: `target/bench-${port}/site`,
      PEERDROP_DATA_DIR: `target/bench-${port}/data`,
      PEERDROP_SITE_EXTRA: 'target/bench-page:bench',
      PEERDROP_POLL_SLOTS: '8',
      PHP_CLI_SERVER_WORKERS: '16',
    },
    stdio: 'ignore',
    detached: true,
  });
  const url = `http://127.0.0.1:${port}/bench/`;
  const stop = () => { try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ } };
  try {
    await waitForHttp(url, { timeoutMs: 15000, describe: () => 'the bench site did not start (scripts/serve-site with PEERDROP_SITE_EXTRA=target/bench-page:bench)' });
  } catch (e) {
    stop();
    throw e;
  }
  return { url, stop };
}

/** A bench page in a context of its own (on this machine a page loads well within 30 s). */
const page = (browser, url) => benchPage(browser, url, { readyMs: 30000 });

/** Two pages joined by one connection with `n` data channels, for the plain-JS runs. */
async function plainPair(browser, url, n = 1) {
  const pages = [];
  const close = () => closePages(...pages);
  try {
    const a = await page(browser, url);
    pages.push(a);
    const b = await page(browser, url);
    pages.push(b);
    const offer = await a.p.evaluate((k) => bench.ceiling.offer(k), n);
    const answer = await b.p.evaluate(([sdp, k]) => bench.ceiling.answer(sdp, k), [offer, n]);
    await a.p.evaluate((sdp) => bench.ceiling.accept(sdp), answer);
    await b.p.evaluate(() => bench.ceiling.ready());
    return { a, b, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * BENCH_TEST_CLOSE, for bench/test only: "phase:repeat:page" closes the receiver's page and
 * "phase:repeat:browser" kills the browser in the middle of that repeat's PeerDrop transfer
 * (phase as in the failures, e.g. "peerdrop memory"; repeat from 1), as a slow machine once did.
 * Several are joined with ",".
 */
const TEST_CLOSE = (process.env.BENCH_TEST_CLOSE ?? '').split(',').filter(Boolean).map((spec) => {
  const [phase, repeat, what] = spec.split(':');
  if (!['page', 'browser'].includes(what) || !(Number(repeat) >= 1)) throw new Error(`BENCH_TEST_CLOSE: "${spec}" is not "phase:repeat:page|browser"`);
  return { phase, repeat: Number(repeat), what };
});

async function testClose(receiver) {
  const now = repeats.running;
  const close = TEST_CLOSE.find((c) => c.phase === now?.phase && c.repeat === now?.repeat);
  if (!close) return;
  log(`BENCH_TEST_CLOSE: closing the ${close.what === 'page' ? "receiver's page" : 'browser'} in ${close.phase}, repeat ${close.repeat}`);
  if (close.what === 'page') {
    await receiver.p.close();
    return;
  }
  for (const [pid, p] of await browserProcesses(BROWSER.tag)) {
    if (p.tagged && p.kind === 'browser') process.kill(pid, 'SIGKILL');
  }
}

/**
 * `promise`, or an error naming `what` once it has taken longer than any healthy run of
 * `bytes`: 5 minutes, or longer than 1 MiB/s would take.
 */
function withTimeout(promise, what, bytes) {
  let timer;
  const ms = Math.max(300_000, (bytes / MiB) * 1000);
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish in ${Math.round(ms / 1000)} s`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** "2/0.5 MiB", or with "ramping from 0.25 MiB" (see bench.js `ceiling.send`). */
function marksLabel({ high, low, start }) {
  return `${high / MiB}/${low / MiB} MiB${start < high ? ` ramping from ${start / MiB} MiB` : ''}`;
}

/**
 * One plain-JS run of `bytes` from `source` (bench.js `messages`) at watermarks `marks`
 * (`{high, low, start}`, see bench.js `ceiling.send`): MiB/s and CPU ms per MiB.
 */
async function plainRun(pair, bytes, messageSize, marks, source = 'pattern', what = 'ceiling') {
  await pair.b.p.evaluate(([n, src]) => bench.ceiling.expect(n, src), [bytes, source]);
  if (source !== 'pattern') await pair.a.p.evaluate(([n, src]) => bench.ceiling.prepare(n, src), [bytes, source]);
  const cpu0 = await cpuMs(BROWSER.tag);
  const threads0 = BREAKDOWN ? await cpuByThread(BROWSER.tag) : null;
  const ms = await withTimeout(
    pair.a.p.evaluate(([n, s, m, src]) => bench.ceiling.send(n, s, m, src), [bytes, messageSize, marks, source]),
    `the plain-JS run "${what}" (${source})`,
    bytes,
  );
  const cpuPerMiB = (await cpuMs(BROWSER.tag) - cpu0) / (bytes / MiB);
  if (BREAKDOWN) printBreakdown(what, threads0, await cpuByThread(BROWSER.tag), bytes);
  return { rate: mibps(bytes, ms), cpuPerMiB };
}

/**
 * Plain-JS variants run beside the ceiling, repeat by repeat, to show where a gap comes from:
 * what reading the File costs (any file sender pays it), what reading plus WebCrypto SHA-256 of
 * every block on both sides costs (about what a minimal verifying sender pays), and whether more
 * data channels on one connection beat one.
 */
const REFERENCES = [
  { key: 'fileSlice', channels: 1, source: 'slice', label: 'plain JS reading the File (slice().arrayBuffer(), 1 MiB, two ahead)' },
  { key: 'fileStream', channels: 1, source: 'stream', label: 'plain JS reading the File (stream())' },
  { key: 'fileSliceHashed', channels: 1, source: 'slice+hash', label: 'plain JS reading the File, WebCrypto SHA-256 per 1 MiB block on both sides' },
  { key: 'fileSliceHashedWorker', channels: 1, source: 'slice+hashworker', label: 'the same, hashing in a dedicated Worker on both sides (buffers transferred, not copied)' },
  { key: 'channels2', channels: 2, source: 'pattern', label: 'plain JS, 2 data channels on one connection' },
  { key: 'channels4', channels: 4, source: 'pattern', label: 'plain JS, 4 data channels on one connection' },
];

/**
 * 1. The ceiling: plain JS on one data channel, at the best watermarks of a small sweep, each
 * run on a new connection as every PeerDrop transfer is: the first transfer on a connection
 * runs slower for its first seconds than later ones (docs/performance.md), so a ceiling taken on
 * a warmed-up connection would compare unlike with like. Right after each fresh run the
 * verifying floor (a minimal verifying sender, slice+hash) runs on a new connection too. The
 * warm figure is kept beside them: the ceiling's connection moves the data again; REFERENCES
 * run on warm connections too and are compared with the warm ceiling.
 */
async function ceiling(browser, url, messageSize) {
  const KiB = 1024;
  const fixed = (high) => ({ high, low: high / 4, start: high });
  // Fixed marks, and marks that ramp up from 256 KiB as PeerDrop's do (bench.js ceiling.send).
  // BENCH_MARKS="high,low[,start]" (MiB) replaces the sweep with those marks (experiments).
  const given = process.env.BENCH_MARKS?.split(',').map((x) => Number(x) * MiB);
  if (given && (given.length < 2 || given.length > 3 || !given.every((x) => Number.isFinite(x) && x > 0))) {
    throw new Error(`BENCH_MARKS must be "high,low[,start]" in MiB, each above 0 (got "${process.env.BENCH_MARKS}")`);
  }
  const sweep = given ? [{ high: given[0], low: given[1], start: given[2] ?? given[0] }] : SMOKE ? [fixed(4 * MiB)] : [
    fixed(512 * KiB), fixed(MiB), fixed(2 * MiB), fixed(4 * MiB),
    { high: 2 * MiB, low: 512 * KiB, start: 256 * KiB }, { high: 4 * MiB, low: MiB, start: 256 * KiB },
  ];
  const tries = SMOKE || given ? 1 : 2;
  let best = null;
  for (const marks of sweep) {
    const rates = [];
    for (let i = 0; i < tries; i++) {
      rates.push(await repeats.attempt(`ceiling watermarks ${marksLabel(marks)}`, i, async () => {
        const pair = await plainPair(browser, url, 1);
        try {
          return (await plainRun(pair, Math.min(128, SIZE_MIB) * MiB, messageSize, marks)).rate;
        } finally {
          await pair.close();
        }
      }));
    }
    // The slower try decides: a policy that sometimes stalls a new connection loses.
    const rate = completed(rates)[0];
    log(`ceiling watermarks ${marksLabel(marks)}, new connections: ${rates.map((r) => r?.toFixed(1) ?? 'failed').join(', ')} MiB/s`);
    if (rate != null && (!best || rate > best.rate)) best = { marks, rate };
  }
  if (!best) throw new Error('every try of every ceiling watermark failed: no marks to measure the ceiling at');
  const runs = [];
  const cpu = [];
  const warm = { runs: [], cpu: [] };
  const floor = { runs: [], cpu: [] };
  const refs = Object.fromEntries(REFERENCES.map((r) => [r.key, { runs: [], cpu: [] }]));
  // Several channels: one connection each, kept over the repeats (they compare with the warm ceiling).
  const multi = {};
  const closeMulti = async () => {
    for (const [k, pair] of Object.entries(multi)) {
      delete multi[k];
      await pair.close();
    }
  };
  for (let i = 0; i < REPEATS; i++) {
    const got = await repeats.attempt('ceiling', i, async () => {
      const pages = [];
      try {
        const one = await plainPair(browser, url, 1);
        pages.push(one);
        const c = await plainRun(one, SIZE_MIB * MiB, messageSize, best.marks);
        // The verifying floor: reading and hashing as a minimal verifying sender does, on a new
        // connection as the ceiling and every PeerDrop transfer run, right after the ceiling.
        const fresh = await plainPair(browser, url, 1);
        pages.push(fresh);
        const v = await plainRun(fresh, SIZE_MIB * MiB, messageSize, best.marks, 'slice+hash', 'verifying floor');
        await fresh.close();
        const w = await plainRun(one, SIZE_MIB * MiB, messageSize, best.marks, 'pattern', 'warm ceiling');
        const r = {};
        for (const ref of REFERENCES) {
          let pair = one;
          if (ref.channels > 1) {
            if (!multi[ref.channels]) {
              // Warmed up first, as the single channel is by the ceiling's runs.
              multi[ref.channels] = await plainPair(browser, url, ref.channels);
              await plainRun(multi[ref.channels], Math.min(64, SIZE_MIB) * MiB, messageSize, best.marks);
            }
            pair = multi[ref.channels];
          }
          r[ref.key] = await plainRun(pair, SIZE_MIB * MiB, messageSize, best.marks, ref.source, ref.key);
        }
        log(`ceiling ${c.rate.toFixed(1)} MiB/s (new connection), ${w.rate.toFixed(1)} (warm), verifying floor ${v.rate.toFixed(1)} (new connection); warm: ${REFERENCES.map((ref) => `${ref.key} ${r[ref.key].rate.toFixed(1)}`).join(', ')}`);
        return { c, v, w, r };
      } catch (e) {
        // The kept connections may be what failed: the next repeat opens them again.
        await closeMulti();
        throw e;
      } finally {
        for (const pair of pages) await pair.close();
      }
    });
    runs.push(got?.c.rate ?? null);
    cpu.push(got?.c.cpuPerMiB ?? null);
    floor.runs.push(got?.v.rate ?? null);
    floor.cpu.push(got?.v.cpuPerMiB ?? null);
    warm.runs.push(got?.w.rate ?? null);
    warm.cpu.push(got?.w.cpuPerMiB ?? null);
    for (const ref of REFERENCES) {
      refs[ref.key].runs.push(got?.r[ref.key].rate ?? null);
      refs[ref.key].cpu.push(got?.r[ref.key].cpuPerMiB ?? null);
    }
  }
  await closeMulti();
  const references = Object.fromEntries(REFERENCES.map((ref) => [ref.key, {
    label: ref.label,
    ...spread(refs[ref.key].runs),
    cpuMsPerMiB: median(refs[ref.key].cpu),
  }]));
  return {
    ...spread(runs),
    cpuMsPerMiB: median(cpu),
    messageSize,
    highWatermark: best.marks.high,
    lowWatermark: best.marks.low,
    startWatermark: best.marks.start,
    warm: { ...spread(warm.runs), cpuMsPerMiB: median(warm.cpu) },
    floor: { ...spread(floor.runs), cpuMsPerMiB: median(floor.cpu) },
    references,
  };
}

/** 2. PeerDrop through signal.php with hashing and verification, into `sink`. */
async function peerdropTransfer(browser, url, sink, bytes, sample, flow, hasher) {
  const s = await page(browser, url);
  let r;
  try {
    r = await page(browser, url);
    return await peerdropMeasure(s, r, sink, bytes, sample, flow, hasher);
  } finally {
    await closePages(s, r);
  }
}

/** One PeerDrop transfer between the pages `s` and `r`, which the caller closes. */
async function peerdropMeasure(s, r, sink, bytes, sample, flow, hasher) {
  await s.p.evaluate((n) => bench.peerdrop.prepare(n), bytes);
  const cpu0 = await cpuMs(BROWSER.tag);
  const threads0 = BREAKDOWN && !sample ? await cpuByThread(BROWSER.tag) : null;
  const profiles = PROFILE && !sample ? await Promise.all([s, r].map((side) => startProfile(side))) : null;
  const link = await s.p.evaluate(([n, f, h]) => bench.peerdrop.offer(n, f, h), [bytes, flow, hasher]);
  await r.p.evaluate(([l, k, f, h]) => bench.peerdrop.receive(l, k, f, h), [link, sink, flow, hasher]);
  const done = r.p.evaluate(() => bench.peerdrop.finished());
  // Awaited below; until then a page closing under it must not count as an unhandled rejection.
  done.catch(() => {});
  const stop = sample ? await sample(s, r) : null;
  let ms;
  try {
    await testClose(r);
    ms = await withTimeout(done, `the PeerDrop transfer to ${sink}`, bytes);
  } catch (e) {
    // The sampler's loop would keep the run alive.
    await stop?.().catch(() => {});
    throw e;
  }
  // Includes connection setup (small beside 256 MiB); the memory sampler's own work is excluded
  // by reading only for unsampled runs.
  const cpuPerMiB = stop ? null : (await cpuMs(BROWSER.tag) - cpu0) / (bytes / MiB);
  if (threads0) printBreakdown(`peerdrop ${sink}`, threads0, await cpuByThread(BROWSER.tag), bytes);
  if (profiles) {
    for (const [name, stop] of [['sender', profiles[0]], ['receiver', profiles[1]]]) {
      log(`main thread of the ${name} (${sink}), self time ms per MiB: ${(await stop()).map(([f, ms]) => `${f} ${(ms / (bytes / MiB)).toFixed(2)}`).join('; ')}`);
    }
  }
  const peaks = stop ? await stop() : null;
  return { rate: mibps(bytes, ms), cpuPerMiB, peaks };
}

/**
 * BENCH_PROFILE=1: samples a page's main thread (CDP Profiler) during a PeerDrop transfer;
 * the returned function stops it and gives the 12 functions with the most self time, in ms.
 */
async function startProfile(side) {
  const cdp = await side.ctx.newCDPSession(side.p);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  return async () => {
    const { profile } = await cdp.send('Profiler.stop');
    const selfMs = new Map();
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < profile.samples.length; i++) {
      const f = byId.get(profile.samples[i]).callFrame;
      const key = `${f.functionName || '(anonymous)'}@${f.url.split('/').pop()}:${f.lineNumber + 1}`;
      selfMs.set(key, (selfMs.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    }
    const busy = [...selfMs].filter(([k]) => !k.startsWith('(idle)'));
    const busyMs = busy.reduce((sum, [, ms]) => sum + ms, 0);
    const wallMs = (profile.endTime - profile.startTime) / 1000;
    return [[`busy ${(100 * busyMs / wallMs).toFixed(0)}% of ${wallMs.toFixed(0)} ms:`, busyMs], ...busy.sort((a, b) => b[1] - a[1]).slice(0, 12)];
  };
}

/** Samples JS heap and ArrayBuffers (CDP) and wasm memory (diagnose) of both pages every 500 ms. */
function memorySampler() {
  return async (s, r) => {
    const sides = [];
    for (const [name, side] of [['sender', s], ['receiver', r]]) {
      const cdp = await side.ctx.newCDPSession(side.p);
      sides.push({ name, side, cdp, heap: 0, wasm: 0, samples: 0 });
    }
    let running = true;
    const loop = (async () => {
      while (running) {
        for (const x of sides) {
          try {
            x.heap = Math.max(x.heap, await liveMemoryBytes(x.cdp));
            const d = await x.side.p.evaluate(() => bench.peerdrop.diagnose());
            x.wasm = Math.max(x.wasm, d.wasmMemoryBytes);
            x.samples++;
          } catch { /* page closing */ }
        }
        await new Promise((res) => setTimeout(res, 500));
      }
    })();
    return async () => {
      running = false;
      await loop;
      for (const x of sides) {
        if (x.samples === 0 || x.heap === 0 || x.wasm === 0) throw new Error(`no memory sample of the ${x.name} was taken`);
      }
      return Object.fromEntries(sides.map((x) => [x.name, { jsHeapBytes: x.heap, wasmMemoryBytes: x.wasm }]));
    };
  };
}

/** 3. SHA-256 on the same data: PeerDrop's wasm, hash-wasm, WebCrypto one-shot. */
async function hashing(browser, url) {
  // One page for all, opened again after a failed repeat.
  let pg = null;
  const out = {};
  const digests = new Set();
  for (const kind of ['peerdrop', 'hash-wasm', 'webcrypto']) {
    const runs = [];
    for (let i = 0; i < REPEATS; i++) {
      runs.push(await repeats.attempt(`sha-256 ${kind}`, i, async () => {
        try {
          pg ??= await page(browser, url);
          const { ms, digest } = await pg.p.evaluate(([k, n]) => bench.hash.time(k, n), [kind, SIZE_MIB]);
          digests.add(digest);
          return mibps(SIZE_MIB * MiB, ms);
        } catch (e) {
          await closePages(pg);
          pg = null;
          throw e;
        }
      }));
    }
    out[kind] = spread(runs);
    log(`sha-256 ${kind}: ${out[kind].median?.toFixed(0) ?? '–'} MiB/s`);
  }
  await closePages(pg);
  if (digests.size > 1) throw new Error(`hashers disagree: ${[...digests].join(', ')}`);
  return out;
}

/** 4. Connection setup: both pages loaded to channel open, and signaling requests per peer. */
async function setup(browser, url) {
  const times = [];
  const requests = [];
  for (let i = 0; i < SETUPS; i++) {
    const got = await repeats.attempt('setup', i, async () => {
      const sides = [];
      try {
        const s = await page(browser, url);
        sides.push(s);
        const r = await page(browser, url);
        sides.push(r);
        const t0 = await s.p.evaluate(() => performance.timeOrigin + performance.now());
        const link = await s.p.evaluate(() => bench.peerdrop.offer(1));
        await r.p.evaluate((l) => bench.peerdrop.receive(l, 'memory'), link);
        const opened = Math.max(
          await s.p.evaluate(async () => performance.timeOrigin + (await bench.peerdrop.connectedAt())),
          await r.p.evaluate(async () => performance.timeOrigin + (await bench.peerdrop.connectedAt())),
        );
        await r.p.evaluate(() => bench.peerdrop.finished());
        const diagnoses = [];
        for (const side of [s, r]) diagnoses.push(await side.p.evaluate(() => bench.peerdrop.diagnose()));
        if (process.env.BENCH_SETUP_TRACE) await traceSetup(i, opened - t0, t0, [s, r], diagnoses);
        return { ms: opened - t0, requests: diagnoses.map((d) => d.signaling.requests) };
      } finally {
        await closePages(...sides);
      }
    });
    times.push(got?.ms ?? null);
    requests.push(...(got?.requests ?? [null, null]));
  }
  const counted = completed(requests);
  return { medianMs: median(times), p95Ms: percentile(times, 0.95), runsMs: times, maxRequestsPerPeer: counted.at(-1) ?? null, requestsPerPeer: requests };
}

/** The setup figures in one line, with every run's time when `runs`. */
function logSetup(setups, runs) {
  const each = runs ? `; runs ${setups.runsMs.map((x) => fixed(x, 0)).join(' ')}` : '';
  log(`setup median ${fixed(setups.medianMs, 0)} ms, p95 ${fixed(setups.p95Ms, 0)} ms, ${setups.maxRequestsPerPeer ?? '–'} requests/peer${each}`);
}

/** BENCH_SETUP_TRACE=1: one setup's events (ms after the offer) and signaling requests, per side. */
async function traceSetup(i, ms, t0, sides, diagnoses) {
  log(`setup ${i}: ${ms.toFixed(0)} ms`);
  for (const [k, side] of sides.entries()) {
    const origin = await side.p.evaluate(() => performance.timeOrigin);
    const events = (await side.p.evaluate(() => bench.peerdrop.events()))
      .map((e) => `${e.phase ?? e.type}@${(origin + e.t - t0).toFixed(0)}`);
    const requests = diagnoses[k].signaling.recent.map((q) => `${q.op}:${q.status}:${q.ms.toFixed(0)}`);
    log(`  ${k ? 'receiver' : 'sender  '} ${events.join(' ')} | ${requests.join(' ')}`);
  }
}

/**
 * 6. The native engine (peerdrop-core's bench binary): hashed by the engine (`hashing`), and
 * with the block digests computed by the bench before timing (`noHashing`: what hashing costs).
 */
function nativeEngine() {
  const out = execFileSync('cargo', ['bench', '-q', '-p', 'peerdrop-core', '--bench', 'engine'], {
    env: { ...process.env, PEERDROP_BENCH_MIB: String(SIZE_MIB) },
    encoding: 'utf8',
  });
  const lines = out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const pick = (hashing) => {
    const j = lines.find((l) => l.hashing === hashing);
    if (!j) throw new Error(`the engine bench printed no result with hashing ${hashing}: ${out}`);
    return { median: j.median_mib_per_s, runs: j.runs_mib_per_s };
  };
  return { hashing: pick(true), noHashing: pick(false) };
}

/**
 * 3. One sender to 1, 2 and 4 receivers, interleaved repeat by repeat. The sender has a Chromium
 * of its own (its CPU is read apart); the receivers are pages of `browser`, into memory.
 */
async function fanout(browser, url) {
  const senderEnv = taggedEnv();
  const senders = await keptBrowser(() => launchBrowser({ env: senderEnv.env }));
  const runs = Object.fromEntries(FANOUT_COUNTS.map((n) => [n, []]));
  const bytes = FANOUT_MIB * MiB;
  try {
    for (let i = 0; i < REPEATS; i++) {
      for (const n of FANOUT_COUNTS) {
        const r = await repeats.attempt(`fan-out to ${n}`, i, () => fanoutOnce({
          senders, receivers: browser, senderTag: senderEnv.tag, url, bytes, count: n, readyMs: 30000,
          breakdown: BREAKDOWN ? (before, after) => printBreakdown(`fan-out sender, ${n} receiver(s)`, before, after, n * bytes) : null,
        }));
        runs[n].push(r ?? null);
        log(`fan-out to ${n}: aggregate ${fixed(r?.aggregate, 1)} MiB/s, each ${r?.receivers.map((x) => fixed(x, 1)).join(', ') ?? '–'}; sender CPU ${fixed(r?.senderCpuMsPerMiB, 2)} ms per MiB moved${r?.sharedReads ? `; read ${fixed(r.sharedReads.bytesRead / MiB, 1)} MiB for ${n} × ${FANOUT_MIB}` : ''}`);
      }
    }
  } finally {
    await senders.close();
  }
  const out = {};
  for (const n of FANOUT_COUNTS) {
    const ok = runs[n].filter(Boolean);
    out[n] = {
      aggregate: spread(runs[n].map((r) => r?.aggregate ?? null)),
      perReceiverMedian: median(ok.flatMap((r) => r.receivers)),
      slowestReceiverMedian: median(ok.map((r) => Math.min(...r.receivers))),
      senderCpuMsPerMiB: median(ok.map((r) => r.senderCpuMsPerMiB)),
      // Bytes read and hashed over bytes offered: 1 when every block was read once.
      readsPerOffered: median(ok.map((r) => (r.sharedReads ? r.sharedReads.bytesRead / bytes : 1))),
    };
  }
  return { sizeMiB: FANOUT_MIB, counts: out };
}

function fanoutMarkdown(f) {
  if (!f) return '';
  const one = f.counts[1];
  const rows = FANOUT_COUNTS.map((n) => {
    const c = f.counts[n];
    return `| ${n} | ${fixed(c.aggregate.median, 1)} | ${fixed(c.perReceiverMedian, 1)} | ${fixed(c.slowestReceiverMedian, 1)} | ${fixed(c.senderCpuMsPerMiB, 2)} | ${fixed(ratio(c.senderCpuMsPerMiB, one.senderCpuMsPerMiB), 2)} | ${fixed(c.readsPerOffered, 2)} |`;
  });
  return `
| one sender, ${f.sizeMiB} MiB to each receiver (memory) | aggregate MiB/s | each receiver, median | slowest receiver | sender CPU ms per MiB moved | × one receiver's | bytes read per byte offered |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

The sender's CPU is its own browser's (a Chromium apart from the receivers'). Sending to n
receivers moves n × the bytes: a CPU per MiB moved below one receiver's means the shared reads
and digests paid off (target: 4 receivers cost far less than four transfers, i.e. well under 1 ×).
`;
}

function markdown(r) {
  const f = (x) => fixed(x, 1);
  const x2 = (x) => fixed(x, 2);
  const row = (name, s, ratio) => `| ${name} | ${f(s.median)} | ${s.min == null ? '–' : `${f(s.min)}–${f(s.max)}`} | ${ratio ?? ''} |`;
  const peak = (side) => (r.memory.peaks ? `${f(r.memory.peaks[side].jsHeapBytes / MiB)} MiB | ${f(r.memory.peaks[side].wasmMemoryBytes / MiB)} MiB` : 'failed | failed');
  return `# PeerDrop benchmark

${r.date} · commit ${r.commit} · ${r.browser} · ${r.machine.cpus} × ${r.machine.cpuModel} · ${r.mode} run${r.failures.length ? ` · **${r.failures.length} failed repeat(s)**, listed at the end` : ''}

Transfers move ${r.sizeMiB} MiB on loopback between two pages of one Chromium; ratios are computed
within this run. See docs/performance.md for what each figure means.

| measure | median MiB/s | min–max | ratio |
| --- | --- | --- | --- |
${row(`**ceiling**: plain JS, one channel, ${r.ceiling.messageSize / 1024} KiB messages, watermarks ${marksLabel({ high: r.ceiling.highWatermark, low: r.ceiling.lowWatermark, start: r.ceiling.startWatermark })}, a new connection each run (as every transfer)`, r.ceiling)}
${row('**PeerDrop to memory** (hashing and verification on)', r.peerdrop.memory, `**${x2(r.ratios.memoryOverCeiling)} × ceiling**`)}
${row('**PeerDrop to OPFS** (hashing and verification on)', r.peerdrop.opfs, `**${x2(r.ratios.opfsOverCeiling)} × ceiling**`)}
${row('**verifying floor**: plain JS reading the File (1 MiB `slice().arrayBuffer()`, two ahead) and WebCrypto SHA-256 of every block on both sides, a new connection each run: a minimal verifying sender', r.ceiling.floor, `${x2(r.ratios.floorOverCeiling)} × ceiling; PeerDrop memory ${x2(r.ratios.memoryOverFloor)} ×, OPFS ${x2(r.ratios.opfsOverFloor)} × this`)}
${row('warm ceiling: the same, second transfer on the same connection', r.ceiling.warm, `${x2(ratio(r.ceiling.warm.median, r.ceiling.median))} × ceiling; PeerDrop memory ${x2(r.ratios.memoryOverWarmCeiling)} ×, OPFS ${x2(r.ratios.opfsOverWarmCeiling)} × this`)}
${Object.values(r.ceiling.references ?? {}).map((x) => row(`${x.label} (warm connection)`, x, `${x2(ratio(x.median, r.ceiling.warm.median))} × warm ceiling`)).join('\n')}
${row('SHA-256: PeerDrop (Rust sha2 in wasm, incremental)', r.hashing.peerdrop, `${x2(r.ratios.hashOverHashWasm)} × hash-wasm`)}
${row('SHA-256: hash-wasm (incremental)', r.hashing['hash-wasm'])}
${row('SHA-256: WebCrypto (one-shot)', r.hashing.webcrypto)}
${row('native engine, hashing on', spread(r.native.hashing.runs))}
${row('native engine, hashing off (digests supplied by the bench)', spread(r.native.noHashing.runs))}

| CPU per MiB moved (whole browser: both pages, network service, GPU; \`/proc\`) | ms | if CPU were the only limit |
| --- | --- | --- |
| ceiling (new connection) | ${f(r.ceiling.cpuMsPerMiB)} | |
| verifying floor (new connection) | ${f(r.ceiling.floor.cpuMsPerMiB)} | ${x2(ratio(r.ceiling.cpuMsPerMiB, r.ceiling.floor.cpuMsPerMiB))} × ceiling |
| warm ceiling | ${f(r.ceiling.warm.cpuMsPerMiB)} | |
${Object.values(r.ceiling.references ?? {}).map((x) => `| ${x.label} (warm) | ${f(x.cpuMsPerMiB)} | ${x2(ratio(r.ceiling.warm.cpuMsPerMiB, x.cpuMsPerMiB))} × warm ceiling |`).join('\n')}
| PeerDrop to memory | ${f(r.peerdrop.memory.cpuMsPerMiB)} | ${x2(r.ratios.cpuBoundMemoryOverCeiling)} × ceiling |
| PeerDrop to OPFS | ${f(r.peerdrop.opfs.cpuMsPerMiB)} | ${x2(ratio(r.ceiling.cpuMsPerMiB, r.peerdrop.opfs.cpuMsPerMiB))} × ceiling |

| connection setup through signal.php (${r.setup.runsMs.length} connections) | value |
| --- | --- |
| median, pages loaded to channel open | ${fixed(r.setup.medianMs, 0)} ms |
| p95 | ${fixed(r.setup.p95Ms, 0)} ms |
| signaling requests per peer (max) | ${r.setup.maxRequestsPerPeer ?? '–'} |

| peak memory during a ${r.memory.sizeMiB} MiB transfer (OPFS sink) | JS heap + ArrayBuffers | wasm memory |
| --- | --- | --- |
| sender | ${peak('sender')} |
| receiver | ${peak('receiver')} |

Targets: transfer ≥ 0.95 × ceiling; hashing ≥ 1.0 × hash-wasm; setup median < 500 ms with ≤ 12
signaling requests per peer; memory per side flat in file size, under 64 MiB for 1 GiB.
${fanoutMarkdown(r.fanout)}${failuresMarkdown(r.failures)}`;
}

/** A bar chart drawn as SVG in the browser and saved as PNG (no plotting dependency). */
async function chart(browser, r, path) {
  const bars = [
    ['ceiling (plain JS)', r.ceiling.median],
    ['verifying floor (plain JS)', r.ceiling.floor.median],
    ['warm ceiling', r.ceiling.warm.median],
    ['PeerDrop → memory', r.peerdrop.memory.median],
    ['PeerDrop → OPFS', r.peerdrop.opfs.median],
    ['SHA-256 PeerDrop wasm', r.hashing.peerdrop.median],
    ['SHA-256 hash-wasm', r.hashing['hash-wasm'].median],
    ['SHA-256 WebCrypto', r.hashing.webcrypto.median],
  ];
  // A measure whose every repeat failed has no bar, only the word.
  const max = Math.max(1, ...bars.map((b) => b[1] ?? 0));
  const rows = bars.map(([name, v], i) => `<text x="10" y="${40 + i * 34}" font-size="14">${name}</text>
    <rect x="220" y="${26 + i * 34}" width="${((v ?? 0) / max) * 520}" height="20" fill="${i < 5 ? '#2453d6' : '#7a8fa8'}"/>
    <text x="${228 + ((v ?? 0) / max) * 520}" y="${41 + i * 34}" font-size="13">${v == null ? 'failed' : `${v.toFixed(0)} MiB/s`}</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="860" height="${60 + bars.length * 34}" font-family="sans-serif">
    <text x="10" y="18" font-size="15" font-weight="bold">PeerDrop ${r.commit} · ${r.browser} · median of ${r.repeats}</text>${rows}</svg>`;
  const ctx = await browser.newContext({ viewport: { width: 860, height: 60 + bars.length * 34 } });
  const p = await ctx.newPage();
  await p.setContent(`<body style="margin:0;background:#fff">${svg}</body>`);
  await p.screenshot({ path });
  await ctx.close();
}

/** The failed repeats of this run (bench/repeats.mjs), set up in main(). */
let repeats;

async function main() {
  const site = await startSite();
  const browser = await keptBrowser(() => launchBrowser({ env: BROWSER.env }));
  repeats = repeatLog(browser, log);
  try {
    const probe = await page(browser, site.url);
    const messageSize = Math.min(256 * 1024, await probe.p.evaluate(async () => {
      const offer = await bench.ceiling.offer();
      bench.ceiling.close();
      return /a=max-message-size:(\d+)/.exec(offer)?.[1] ?? 65536;
    }).then(Number));
    await probe.ctx.close();
    const bytes = SIZE_MIB * MiB;
    if (process.env.BENCH_ONLY === 'setup') {
      // Experiments: connection setup only, nothing written.
      const setups = await setup(browser, site.url);
      logSetup(setups, true);
      return;
    }
    log(`${SMOKE ? 'smoke' : 'full'} run, ${SIZE_MIB} MiB, ${REPEATS} repeat(s)`);
    if (process.env.BENCH_ONLY === 'fanout') {
      // Experiments: the fan-out runs only, nothing written.
      await fanout(browser, site.url);
      return;
    }
    const ceil = await ceiling(browser, site.url, messageSize);
    log(`ceiling ${fixed(ceil.median, 1)} MiB/s`);
    const memoryRuns = [];
    const opfsRuns = [];
    const memoryCpu = [];
    const opfsCpu = [];
    for (let i = 0; i < REPEATS; i++) {
      const m = await repeats.attempt('peerdrop memory', i, () => peerdropTransfer(browser, site.url, 'memory', bytes));
      const o = await repeats.attempt('peerdrop opfs', i, () => peerdropTransfer(browser, site.url, 'opfs', bytes));
      memoryRuns.push(m?.rate ?? null);
      opfsRuns.push(o?.rate ?? null);
      memoryCpu.push(m?.cpuPerMiB ?? null);
      opfsCpu.push(o?.cpuPerMiB ?? null);
      log(`peerdrop memory ${fixed(m?.rate, 1)}, opfs ${fixed(o?.rate, 1)} MiB/s; CPU ms per MiB: ceiling ${fixed(ceil.cpuMsPerMiB, 1)}, memory ${fixed(m?.cpuPerMiB, 1)}, opfs ${fixed(o?.cpuPerMiB, 1)}`);
    }
    if (process.env.BENCH_FLOWS) {
      // Experiments: PeerDrop to memory with flow overrides "high,low,window" in MiB, then
      // optionally the start mark in MiB, the hasher, the block size in MiB and the blocks read
      // ahead ("2,0.5,8,2" ramps from 2 MiB, i.e. not at all; "4,1,8,wasm";
      // "2,0.5,16,block=4,ahead=2"), ";"-separated; run interleaved, repeat by repeat.
      const specs = process.env.BENCH_FLOWS.split(';');
      const runs = specs.map(() => []);
      const cpu = specs.map(() => []);
      for (let i = 0; i < REPEATS; i++) {
        for (const [k, spec] of specs.entries()) {
          const [h, l, w] = spec.split(',').slice(0, 3).map((x) => Number(x) * MiB);
          const extra = spec.split(',').slice(3);
          const hasher = extra.find((x) => Number.isNaN(Number(x)) && !x.includes('='));
          const start = extra.find((x) => !Number.isNaN(Number(x)));
          const named = Object.fromEntries(extra.filter((x) => x.includes('=')).map((x) => x.split('=')));
          const unknown = Object.keys(named).filter((k) => !['block', 'ahead'].includes(k));
          if (unknown.length) throw new Error(`BENCH_FLOWS: unknown setting ${unknown.join(', ')} in "${spec}" (block=MiB, ahead=blocks)`);
          const flow = {
            bufferedHigh: h, bufferedLow: l, window: w,
            ...(start ? { bufferedStart: Number(start) * MiB } : {}),
            ...(named.block ? { blockSize: Number(named.block) * MiB } : {}),
            ...(named.ahead ? { readAhead: Number(named.ahead) } : {}),
          };
          const r = await repeats.attempt(`flow ${spec}`, i, () => peerdropTransfer(browser, site.url, 'memory', bytes, null, flow, hasher));
          runs[k].push(r?.rate ?? null);
          cpu[k].push(r?.cpuPerMiB ?? null);
        }
      }
      for (const [k, spec] of specs.entries()) {
        log(`flow ${spec}: memory ${runs[k].map((x) => fixed(x, 1)).join(', ')} MiB/s, ratio ${fixed(ratio(median(runs[k]), ceil.median), 2)}, CPU ${fixed(median(cpu[k]), 1)} ms/MiB`);
      }
    }
    if (process.env.BENCH_ONLY === 'transfer') {
      // Experiments: transfers only, nothing written.
      const x2 = (a, b) => fixed(ratio(a, b), 2);
      log(`ratios: memory ${x2(median(memoryRuns), ceil.median)}, opfs ${x2(median(opfsRuns), ceil.median)}; verifying floor ${x2(ceil.floor.median, ceil.median)} (CPU ${fixed(ceil.floor.cpuMsPerMiB, 1)} ms/MiB, ceiling ${fixed(ceil.cpuMsPerMiB, 1)}); over the floor: memory ${x2(median(memoryRuns), ceil.floor.median)}, opfs ${x2(median(opfsRuns), ceil.floor.median)} (over the warm ceiling ${x2(median(memoryRuns), ceil.warm.median)}, ${x2(median(opfsRuns), ceil.warm.median)}); warm references: ${Object.entries(ceil.references).map(([k, x]) => `${k} ${x2(x.median, ceil.warm.median)} (CPU ${fixed(x.cpuMsPerMiB, 1)} ms/MiB)`).join(', ')}`);
      return;
    }
    const fan = await fanout(browser, site.url);
    const hashes = await hashing(browser, site.url);
    const setups = await setup(browser, site.url);
    logSetup(setups, false);
    const mem = await repeats.attempt('memory run', 0, () => peerdropTransfer(browser, site.url, 'opfs', MEMORY_MIB * MiB, memorySampler()));
    if (mem) log(`memory run ${MEMORY_MIB} MiB at ${mem.rate.toFixed(1)} MiB/s`, JSON.stringify(mem.peaks));
    const native = nativeEngine();
    const memory = { ...spread(memoryRuns), cpuMsPerMiB: median(memoryCpu) };
    const opfs = { ...spread(opfsRuns), cpuMsPerMiB: median(opfsCpu) };
    const result = {
      date: new Date().toISOString(),
      commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
      mode: SMOKE ? 'smoke' : 'full',
      browser: browser.version(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), kernel: release(), node: process.version },
      sizeMiB: SIZE_MIB,
      repeats: REPEATS,
      ceiling: ceil,
      peerdrop: { memory, opfs },
      fanout: fan,
      hashing: hashes,
      setup: setups,
      memory: { sizeMiB: MEMORY_MIB, rateMiBps: mem?.rate ?? null, peaks: mem?.peaks ?? null },
      native,
      ratios: {
        memoryOverCeiling: ratio(memory.median, ceil.median),
        opfsOverCeiling: ratio(opfs.median, ceil.median),
        floorOverCeiling: ratio(ceil.floor.median, ceil.median),
        pairwiseFloorOverCeiling: ceil.floor.runs.map((x, i) => ratio(x, ceil.runs[i])),
        memoryOverFloor: ratio(memory.median, ceil.floor.median),
        opfsOverFloor: ratio(opfs.median, ceil.floor.median),
        memoryOverWarmCeiling: ratio(memory.median, ceil.warm.median),
        opfsOverWarmCeiling: ratio(opfs.median, ceil.warm.median),
        pairwiseMemoryOverCeiling: memoryRuns.map((m, i) => ratio(m, ceil.runs[i] ?? ceil.median)),
        hashOverHashWasm: ratio(hashes.peerdrop.median, hashes['hash-wasm'].median),
        // What the ratio would be if CPU were the only limit (CPU-bound machine).
        cpuBoundMemoryOverCeiling: ratio(ceil.cpuMsPerMiB, memory.cpuMsPerMiB),
      },
      // Repeats that failed: { phase, repeat (from 1), error, browserRelaunched }; each stands as
      // null among its measure's runs above.
      failures: repeats.failures,
    };
    await mkdir(OUT, { recursive: true });
    await writeFile(`${OUT}/bench-latest.json`, JSON.stringify(result, null, 2) + '\n');
    await writeFile(`${OUT}/bench-latest.md`, markdown(result));
    await chart(browser, result, `${OUT}/bench-latest.png`);
    log(`wrote ${OUT}/bench-latest.{json,md,png}`);
    console.log(await readFile(`${OUT}/bench-latest.md`, 'utf8'));
    if (repeats.failures.length) {
      log(`${repeats.failures.length} repeat(s) failed (recorded in ${OUT}/bench-latest.{json,md}): ${repeats.failures.map((f) => `${f.phase} #${f.repeat}`).join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    await browser.close();
    site.stop();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
