// make bench-wan: PeerDrop against plain JS through emulated wide-area links, in one run, in the
// network lab (tests/netlab): a browser behind a home router whose WAN goes through
// crates/link-emulator sends to a browser on a public address. At each point (round trip, loss,
// rate) three contenders move the same bytes, repeat by repeat, interleaved:
//   plain1:   plain JS, one data channel on one peer connection (bench/page's reference sender)
//   plain4:   plain JS over 4 peer connections at once, a quarter of the bytes on each
//   peerdrop: PeerDrop through signal.php, hashing and verification on, into memory
// Beside every figure: the emulator's own drops (random loss it applied, queue overflow) and
// the kernel's RcvbufErrors in both namespaces, so a link artifact is never read as a property
// of the contender. Writes bench/results/wan-latest.{json,md,png}; see docs/performance.md.
//
//   node bench/wan/run.mjs            the full grid (WAN_REPEATS repeats each, default 3), then
//                                     the link's share at 50 ms (linkShare below)
//   node bench/wan/run.mjs --smoke    tiny sizes, two points, one repeat: the harness works
//   node bench/wan/run.mjs --redraw   wan-latest.{md,png} drawn again from wan-latest.json
//   WAN_POINTS='50/0,150/1,0/0/u' WAN_MIB=8 node bench/wan/run.mjs
//                                     experiments: only these points (RTT ms / loss % [/u: no rate
//                                     limit]), each transfer WAN_MIB MiB; WAN_CONTENDERS=peerdrop
//                                     runs only those named; WAN_LINK_SHARE=1 adds the link share
//                                     (WAN_POINTS=none: the link share alone); WAN_FLOW='{"maxLanes":4}'
//                                     gives PeerDrop's both sides that `flow` option
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { createLab } from '../../tests/netlab/lab.mjs';
import { launchBrowser } from '../../tests/e2e/harness.mjs';
import { machineCpu, coresBetween } from './machine-cpu.mjs';
import { tcpFlow } from './tcp-flow.mjs';
import { benchPages, plainConnections, plainSend, peerdropSend, dropCounters, describeDrops } from '../../tests/netlab/wan.mjs';

const SMOKE = process.argv.includes('--smoke');
const MiB = 1024 * 1024;
const REPEATS = Number(process.env.WAN_REPEATS ?? (SMOKE ? 1 : 3));
if (!Number.isInteger(REPEATS) || REPEATS < 1) throw new Error(`WAN_REPEATS must be a whole number above 0 (got ${process.env.WAN_REPEATS})`);
const EXPERIMENT = Boolean(process.env.WAN_POINTS || process.env.WAN_MIB || process.env.WAN_CONTENDERS || process.env.WAN_FLOW);
const FLOW = process.env.WAN_FLOW ? JSON.parse(process.env.WAN_FLOW) : undefined;
// Experiments never overwrite the recorded results.
const OUT = SMOKE ? 'target/bench-wan-smoke' : EXPERIMENT ? 'target/bench-wan-experiment' : 'bench/results';
const RATE_MBIT = 100;
const ALL_CONTENDERS = ['plain1', 'plain4', 'peerdrop'];
// Experiments may run fewer (WAN_CONTENDERS=peerdrop); the ratios then read n/a.
const CONTENDERS = process.env.WAN_CONTENDERS ? process.env.WAN_CONTENDERS.split(',') : ALL_CONTENDERS;
const LABELS = { plain1: 'plain JS, 1 connection', plain4: 'plain JS, 4 connections', peerdrop: 'PeerDrop (hashing, verification)' };

/**
 * Bytes per transfer at a point: several blocks per connection PeerDrop may open (so spreading
 * them can show), and past the first seconds of slow start, while one plain-JS channel still
 * finishes within a couple of minutes at the slowest point (throughput falls steeply with round
 * trip and loss, and one channel collapses once a router queue overflows). At 150 ms, 6 MiB
 * (the sizes until December 2026) was mostly one channel's slow start: about 4 MB of it.
 */
function sizeAt({ rttMs, lossPct, rateMbit }) {
  if (SMOKE) return MiB / 2;
  if (process.env.WAN_MIB) return Number(process.env.WAN_MIB) * MiB;
  if (!rateMbit) return 16 * MiB;
  const clean = { 0: 16, 20: 16, 50: 12, 150: 12 };
  const lossy = { 0: 8, 20: 6, 50: 4, 150: 4 };
  return (lossPct ? lossy : clean)[rttMs] * MiB;
}

/** PeerDrop alone, for the link's share it takes at 50 ms once past its start (`linkShare`). */
const LINK_SHARE_MIB = 48;
const LINK_MIB_PER_S = (RATE_MBIT * 1e6) / 8 / MiB;

function points() {
  if (process.env.WAN_POINTS === 'none') return []; // the link share alone (with WAN_LINK_SHARE=1)
  if (process.env.WAN_POINTS) {
    return process.env.WAN_POINTS.split(',').map((p) => {
      const [rtt, loss, unlimited] = p.split('/');
      return { rttMs: Number(rtt), lossPct: Number(loss), rateMbit: unlimited === 'u' ? null : RATE_MBIT };
    });
  }
  if (SMOKE) return [{ rttMs: 20, lossPct: 0, rateMbit: null }, { rttMs: 50, lossPct: 1, rateMbit: RATE_MBIT }];
  // The targets are on the rate-limited link; one unlimited loopback-like point shows what the
  // emulator and two busy cores allow without a bottleneck queue.
  const out = [];
  for (const lossPct of [0, 1]) {
    for (const rttMs of [0, 20, 50, 150]) out.push({ rttMs, lossPct, rateMbit: RATE_MBIT });
  }
  out.push({ rttMs: 0, lossPct: 0, rateMbit: null });
  return out;
}

/** The median of the finite values of `xs` (null, NaN left out); null when there are none. */
const median = (xs) => {
  const s = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};
const log = (...a) => console.log('bench-wan:', ...a);
const pointLabel = (p) => `RTT ${p.rttMs} ms, loss ${p.lossPct} %, ${p.rateMbit ? `${p.rateMbit} Mbit/s` : 'unlimited'}`;

/** One contender's repeats at a point: rates (median, spread, each) and drops summed. */
function summarize(repeats) {
  const rates = repeats.map((x) => x.rate);
  const drops = Object.fromEntries(Object.keys(repeats[0].drops).map((d) => [d, repeats.reduce((n, x) => n + x.drops[d], 0)]));
  return { median: median(rates), min: Math.min(...rates), max: Math.max(...rates), runs: rates, drops };
}

/** The drops of one run, summed: what the emulator did on purpose or by overflow, and the kernel. */
function dropSummary(d) {
  const both = (k) => d.link.up[k] + d.link.down[k];
  return {
    emulatorLoss: both('dropped_loss'),
    emulatorQueue: both('dropped_queue'),
    emulatorSocket: both('socket_drops') + both('send_errors'),
    rcvbufErrors: Object.values(d.udp).reduce((n, u) => n + u.RcvbufErrors, 0),
  };
}

async function runOne(kind, ctx, bytes, meter = undefined) {
  const timeoutMs = Math.max(120000, (bytes / (20 * 1024)) * 1000);
  if (kind === 'peerdrop') {
    const before = await ctx.drops.take();
    const r = await peerdropSend(ctx.alice, ctx.server, ctx.url, bytes, timeoutMs, FLOW, meter);
    return { ms: r.ms, rttMs: r.receiver.connection?.roundTripTimeMs ?? null, lanes: r.receiver.lanes ?? null, events: r.events, timeOrigin: r.timeOrigin, drops: await ctx.drops.since(before) };
  }
  const conn = await plainConnections(ctx.alice, ctx.server, ctx.url, kind === 'plain4' ? 4 : 1);
  try {
    const before = await ctx.drops.take();
    const ms = await plainSend(conn, bytes, timeoutMs);
    return { ms, rttMs: null, drops: await ctx.drops.since(before) };
  } finally {
    await conn.close();
  }
}

/**
 * The share of the 100 Mbit/s link PeerDrop takes at 50 ms without loss, and what stops it:
 * PeerDrop alone moves LINK_SHARE_MIB through the link at 50 ms and through the emulator with
 * no delay, loss or rate limit (what this machine moves at all), and a kernel TCP flow moves
 * the same bytes through the link (the link's own ceiling, `tcp-flow.mjs`), repeat by repeat
 * interleaved. Each PeerDrop run also gives its rate over the second half (past the lanes'
 * setup and the path's fill), when its first MiB was verified, how busy the cores were and
 * each program's CPU per MiB (`machine-cpu.mjs`): the two cores carry both browsers, the
 * emulator and signal.php, so the machine can stop a transfer below the link
 * (docs/performance.md, "Real links").
 */
async function linkShare(lab, ctx) {
  const bytes = SMOKE ? MiB / 2 : LINK_SHARE_MIB * MiB;
  const where = { link: { rttMs: 50, lossPct: 0, rateMbit: RATE_MBIT }, ceiling: { rttMs: 0, lossPct: 0, rateMbit: null } };
  const runs = { link: [], ceiling: [], tcp: [] };
  for (let i = 0; i < REPEATS; i++) {
    for (const [key, point] of Object.entries(where)) {
      await lab.setLink('home', { delayMs: point.rttMs / 2, lossPct: point.lossPct, rateMbit: point.rateMbit });
      if (key === 'link') {
        const before = await ctx.drops.take();
        const tcp = await tcpFlow(lab, 'alice', 'server', lab.peers.server.ip, bytes);
        const drops = await ctx.drops.since(before);
        runs.tcp.push({ ...tcp, drops: dropSummary(drops) });
        log(`link share, ${pointLabel(point)}, a kernel TCP flow of ${bytes / MiB} MiB: ${tcp.rate.toFixed(2)} MiB/s, second half ${tcp.secondHalf?.toFixed(2)}; ${describeDrops(drops)}`);
      }
      // The CPU from the receiver's start to the last byte verified, the pages still open.
      let cpu;
      let used;
      const meter = { begin: async () => { cpu = await machineCpu(); }, end: async () => { used = await cpu.since(); } };
      const r = await runOne('peerdrop', ctx, bytes, meter);
      const rate = bytes / MiB / (r.ms / 1000);
      const half = secondHalfSpan(r.events, bytes);
      const secondHalf = half && half.bytes / MiB / ((half.to - half.from) / 1000);
      // How busy the cores were while the second half moved (page times made wall-clock).
      const coresSecondHalf = half && coresBetween(used.samples, r.timeOrigin + half.from, r.timeOrigin + half.to);
      const cpuMsPerMiB = Object.fromEntries(Object.entries(used.byProgram).map(([k, ms]) => [k, ms / (bytes / MiB)]));
      const timeline = progressTimeline(r.events);
      const firstMiBMs = timeline.find(([, b]) => b >= Math.min(MiB, bytes))?.[0] ?? null;
      runs[key].push({
        rate, secondHalf, firstMiBMs, lanes: r.lanes, cores: used.cores, busy: used.busy, steal: used.steal,
        busySecondHalf: coresSecondHalf?.busy ?? null, stealSecondHalf: coresSecondHalf?.steal ?? null,
        cpuMsPerMiB, timeline, drops: dropSummary(r.drops),
      });
      const pct = (x) => (x == null ? '?' : `${(100 * x).toFixed(0)} %`);
      log(`link share, ${pointLabel(point)}, ${bytes / MiB} MiB: ${rate.toFixed(2)} MiB/s on ${r.lanes ?? '?'} connection(s), ` +
        `second half ${secondHalf?.toFixed(2)} MiB/s with the cores ${pct(coresSecondHalf?.busy)} busy (${pct(coresSecondHalf?.steal)} stolen), ` +
        `whole transfer ${pct(used.busy)} busy, CPU ms per MiB ${programLine(cpuMsPerMiB)}; ${describeDrops(r.drops)}`);
    }
  }
  const side = (xs) => ({
    ...summarize(xs),
    secondHalf: median(xs.map((x) => x.secondHalf)),
    firstMiBMs: median(xs.map((x) => x.firstMiBMs)),
    busySecondHalf: median(xs.map((x) => x.busySecondHalf)),
    stealSecondHalf: median(xs.map((x) => x.stealSecondHalf)),
    lanes: median(xs.map((x) => x.lanes)),
    busy: median(xs.map((x) => x.busy)),
    cores: xs[0].cores,
    cpuMsPerMiB: Object.fromEntries([...new Set(xs.flatMap((x) => Object.keys(x.cpuMsPerMiB)))]
      .map((k) => [k, median(xs.map((x) => x.cpuMsPerMiB[k] ?? 0))])),
  });
  const atLink = side(runs.link);
  const ceiling = side(runs.ceiling);
  const tcp = { ...summarize(runs.tcp), secondHalf: median(runs.tcp.map((x) => x.secondHalf)) };
  return {
    bytes, linkMiBps: LINK_MIB_PER_S, atLink, ceiling, tcp,
    trials: runs,
    shareOfLink: atLink.median / LINK_MIB_PER_S,
    secondHalfShareOfLink: ratio(atLink.secondHalf, LINK_MIB_PER_S),
    tcpShareOfLink: tcp.median / LINK_MIB_PER_S,
    // Below the link past its start while the link carries a TCP flow: the machine stops
    // PeerDrop if its cores were taken (busy, or stolen by the hypervisor) meanwhile.
    coresTakenSecondHalf: atLink.busySecondHalf == null ? null : atLink.busySecondHalf + (atLink.stealSecondHalf ?? 0),
  };
}

/** `a / b`, or null when either is missing (a smoke run's one block has no second half). */
const ratio = (a, b) => (a != null && b ? a / b : null);

/**
 * The second half of a transfer, from the receiver's `progress` events: page times `from` (the
 * first event at or past half the bytes) and `to` (complete), and the bytes verified between;
 * the part once the lanes are open and the path is full, apart from the start. Null when one
 * event carried the half and the end (a one-block smoke transfer).
 */
function secondHalfSpan(events, bytes) {
  const half = events.find((e) => e.type === 'progress' && e.verifiedBytes >= bytes / 2);
  const end = events.find((e) => e.type === 'complete');
  if (!half || !end || end.t <= half.t || half.verifiedBytes >= bytes) return null;
  return { from: half.t, to: end.t, bytes: bytes - half.verifiedBytes };
}

/** `[ms since acceptance, verified bytes]` of each `progress` event: where the start's time goes. */
function progressTimeline(events) {
  const accepted = events.find((e) => e.type === 'accepted')?.t;
  if (accepted == null) return [];
  return events.filter((e) => e.type === 'progress' || e.type === 'complete')
    .map((e) => [Math.round(e.t - accepted), e.verifiedBytes ?? null]);
}

/** The programs that used at least 1 ms per MiB, largest first: "chromium 71.2, link-emulator 9.0". */
function programLine(perMiB) {
  return Object.entries(perMiB).filter(([, v]) => v >= 1).sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
}

function markdown(r) {
  const kinds = r.contenders ?? CONTENDERS; // a redraw of an experiment with fewer
  const f = (x) => (x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const cell = (c) => `${f(c.median)} (${f(c.min)}–${f(c.max)}) · L${c.drops.emulatorLoss} Q${c.drops.emulatorQueue} R${c.drops.rcvbufErrors}`;
  const rows = r.points.map((p) => `| ${p.rttMs} | ${p.lossPct} | ${p.rateMbit ? `${p.rateMbit} Mbit/s` : 'unlimited'} | ${(p.bytes / MiB).toFixed(1)} | ` +
    `${kinds.map((k) => cell(p.results[k])).join(' | ')} | **${p.ratios.overPlain1.toFixed(2)}** | ${p.ratios.overPlain4.toFixed(2)} | ${p.measuredRttMs ?? '–'} |`).join('\n');
  return `# PeerDrop through emulated links (make bench-wan)

${r.date} · commit ${r.commit} · ${r.browser} · ${r.machine.cpus} × ${r.machine.cpuModel} · ${r.mode} run, ${r.repeats} repeat(s)

A Chromium behind a cone NAT whose WAN goes through the link emulator sends to a Chromium on a
public lab address; the round trip is the emulator's delay both ways (half each way), loss
applies to each direction, and the rate limit (with a ${r.queue} drop-tail queue) to both. MiB/s
median (min–max) over the repeats; ratios are PeerDrop's median over the plain-JS median of
this run. After each figure, summed over its repeats: **L** frames the emulator lost on purpose
(random loss), **Q** frames it dropped at a full queue, **R** datagrams the kernel dropped at a
full socket receive buffer (RcvbufErrors, both peers). Plain JS is timed from its first send
to the receiver's "done" back; PeerDrop from acceptance to the last byte verified.

| RTT ms | loss % | link | MiB | ${kinds.map((k) => LABELS[k]).join(' | ')} | PeerDrop / plain 1 | PeerDrop / plain 4 | RTT seen by PeerDrop, ms |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows}
${r.linkShare ? linkShareText(r.linkShare) : ''}`;
}

function linkShareText(s) {
  const f = (x) => (x == null ? '–' : x.toFixed(2));
  const pct = (x) => (x == null ? '–' : `${(100 * x).toFixed(0)} %`);
  const d = (c) => `L${c.drops.emulatorLoss} Q${c.drops.emulatorQueue} R${c.drops.rcvbufErrors}`;
  const row = (where, c) => `| ${where} | ${f(c.median)} (${f(c.min)}–${f(c.max)}, ${d(c)}) | ${f(c.secondHalf)} | ` +
    `${c.firstMiBMs == null ? '' : `${Math.round(c.firstMiBMs)} ms`} | ${c.lanes ?? ''} | ` +
    `${c.busySecondHalf == null ? '' : `${pct(c.busySecondHalf)} (${pct(c.stealSecondHalf)} stolen)`} | ${c.cpuMsPerMiB ? programLine(c.cpuMsPerMiB) : ''} |`;
  const tcp = s.tcp ? `; a kernel TCP flow through the same link ${pct(s.tcpShareOfLink)}` : '';
  return `
**The link's share at 50 ms, no loss** (${s.bytes / MiB} MiB, medians of ${s.atLink.runs.length}; the link moves ${f(s.linkMiBps)} MiB/s):
PeerDrop ${pct(s.shareOfLink)} of the link over the whole transfer, ${pct(s.secondHalfShareOfLink)} over its second half, with the
cores ${pct(s.coresTakenSecondHalf)} taken (busy or stolen) meanwhile${tcp}. With no link at all PeerDrop moves
${f(s.ceiling.median)} MiB/s (second half ${f(s.ceiling.secondHalf)}).

| where | MiB/s, whole transfer | second half | first MiB verified | connections | cores busy, second half (of ${s.atLink.cores}) | CPU ms per MiB (whole transfer), by program |
| --- | --- | --- | --- | --- | --- | --- |
${row('PeerDrop, 50 ms, 100 Mbit/s', s.atLink)}
${row('PeerDrop, no link (no delay, loss or rate limit)', s.ceiling)}
${s.tcp ? row('kernel TCP flow, 50 ms, 100 Mbit/s (the link\'s own ceiling)', { ...s.tcp, firstMiBMs: null, busySecondHalf: null }) : ''}
`;
}

/**
 * The link share as bars under the grid, from `top`: the link's rate, the TCP flow's and
 * PeerDrop's at 50 ms and with no link, each over the whole transfer and its second half.
 */
function linkShareBars(s, top, blue) {
  const rows = [
    [`the link: ${RATE_MBIT} Mbit/s`, s.linkMiBps, '#222'],
    ['kernel TCP flow, 50 ms: whole', s.tcp?.median, '#9a9a9a'],
    ['kernel TCP flow, 50 ms: second half', s.tcp?.secondHalf, '#9a9a9a'],
    ['PeerDrop, 50 ms: whole', s.atLink.median, blue],
    ['PeerDrop, 50 ms: second half', s.atLink.secondHalf, blue],
    ['PeerDrop, no link: whole', s.ceiling.median, '#8aa4ea'],
    ['PeerDrop, no link: second half', s.ceiling.secondHalf, '#8aa4ea'],
  ].filter(([, v]) => v != null);
  const rowH = 16;
  const max = Math.max(...rows.map(([, v]) => v));
  const title = `<text x="10" y="${top + 16}" font-size="13" font-weight="bold">The link's share at 50 ms, no loss, ${s.bytes / MiB} MiB` +
    ` (first MiB verified at ${s.atLink.firstMiBMs == null ? '–' : Math.round(s.atLink.firstMiBMs)} ms at 50 ms, ` +
    `${s.ceiling.firstMiBMs == null ? '–' : Math.round(s.ceiling.firstMiBMs)} ms with no link)</text>`;
  const bars = rows.map(([label, v, color], i) => {
    const y = top + 28 + i * rowH;
    const w = (v / max) * 420;
    return `<text x="10" y="${y + 11}" font-size="12">${label}</text><rect x="300" y="${y}" width="${w}" height="${rowH - 3}" fill="${color}"/>
      <text x="${306 + w}" y="${y + 11}" font-size="11">${v.toFixed(2)} MiB/s</text>`;
  }).join('');
  return { svg: title + bars, height: 40 + rows.length * rowH };
}

/** Grouped bars per point, drawn as SVG in a browser and saved as PNG (as bench/run.mjs does). */
async function chart(browser, r, path) {
  const kinds = r.contenders ?? CONTENDERS; // a redraw of an experiment with fewer
  const colors = { plain1: '#7a8fa8', plain4: '#b9c4d2', peerdrop: '#2453d6' };
  const rowH = 16;
  const groupH = rowH * kinds.length + 14;
  const max = Math.max(...r.points.flatMap((p) => kinds.map((k) => p.results[k].median)));
  const width = 900;
  const bars = r.points.map((p, i) => {
    const y0 = 44 + i * groupH;
    return `<text x="10" y="${y0 + rowH + 4}" font-size="12">${pointLabel(p)}</text>` + kinds.map((k, j) => {
      const v = p.results[k].median;
      const w = (v / max) * 420;
      return `<rect x="300" y="${y0 + j * rowH}" width="${w}" height="${rowH - 3}" fill="${colors[k]}"/>
        <text x="${306 + w}" y="${y0 + j * rowH + 11}" font-size="11">${v.toFixed(2)} MiB/s</text>`;
    }).join('');
  }).join('');
  const legend = kinds.map((k, j) => `<rect x="${300 + j * 190}" y="24" width="12" height="10" fill="${colors[k]}"/><text x="${316 + j * 190}" y="33" font-size="12">${LABELS[k]}</text>`).join('');
  const gridH = 54 + r.points.length * groupH;
  const share = r.linkShare ? linkShareBars(r.linkShare, gridH, colors.peerdrop) : { svg: '', height: 0 };
  const height = gridH + share.height;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
    <text x="10" y="16" font-size="14" font-weight="bold">PeerDrop through emulated links · ${r.commit} · ${r.browser} · median of ${r.repeats}</text>${legend}${bars}${share.svg}</svg>`;
  const ctx = await browser.newContext({ viewport: { width, height } });
  const p = await ctx.newPage();
  await p.setContent(`<body style="margin:0;background:#fff">${svg}</body>`);
  await p.screenshot({ path });
  await ctx.close();
}

async function main() {
  const started = Date.now();
  const lab = await createLab({
    routers: { home: { nat: 'cone', link: { delayMs: 0, seed: 18 } } },
    peers: { alice: { router: 'home' }, server: { public: true, defaultRoute: true } },
    sites: { bench: { stun: true, extra: await benchPages() } },
  });
  let alice;
  let server;
  try {
    [alice, server] = await Promise.all([lab.chromium('alice'), lab.chromium('server')]);
    const ctx = { alice, server, url: `${lab.sites.bench.url}bench/`, drops: dropCounters(lab, 'home', ['alice', 'server']) };
    const results = [];
    const grid = points();
    log(`${SMOKE ? 'smoke' : 'full'} run: ${grid.length} points x ${CONTENDERS.length} contenders x ${REPEATS} repeat(s)`);
    for (const point of grid) {
      const bytes = sizeAt(point);
      // Queue left at the emulator's default for the rate (50 ms of it).
      await lab.setLink('home', { delayMs: point.rttMs / 2, lossPct: point.lossPct, rateMbit: point.rateMbit });
      const queue = (await lab.linkStats('home')).up.config.queue_bytes;
      const runs = Object.fromEntries(CONTENDERS.map((k) => [k, []]));
      for (let i = 0; i < REPEATS; i++) {
        for (const kind of CONTENDERS) {
          const r = await runOne(kind, ctx, bytes);
          runs[kind].push({ rate: bytes / MiB / (r.ms / 1000), rttMs: r.rttMs, lanes: r.lanes ?? null, drops: dropSummary(r.drops) });
          log(`${pointLabel(point)}, ${kind}: ${(bytes / MiB / (r.ms / 1000)).toFixed(2)} MiB/s${r.lanes ? ` on ${r.lanes} connection(s)` : ''}; ${describeDrops(r.drops)}`);
        }
      }
      const res = Object.fromEntries(CONTENDERS.map((k) => [k, summarize(runs[k])]));
      const med = (k) => res[k]?.median ?? NaN;
      const rtts = (runs.peerdrop ?? []).map((x) => x.rttMs).filter((x) => x != null);
      results.push({
        ...point,
        queueBytes: point.rateMbit ? queue : null,
        bytes,
        results: res,
        measuredRttMs: rtts.length ? median(rtts) : null,
        ratios: {
          overPlain1: med('peerdrop') / med('plain1'),
          overPlain4: med('peerdrop') / med('plain4'),
          plain4OverPlain1: med('plain4') / med('plain1'),
          pairwiseOverPlain1: (runs.peerdrop ?? []).map((x, i) => x.rate / (runs.plain1?.[i]?.rate ?? NaN)),
        },
      });
      log(`${pointLabel(point)}: plain1 ${med('plain1').toFixed(2)}, plain4 ${med('plain4').toFixed(2)}, peerdrop ${med('peerdrop').toFixed(2)} MiB/s; ` +
        `PeerDrop / plain1 ${(med('peerdrop') / med('plain1')).toFixed(2)}; ${((Date.now() - started) / 60000).toFixed(1)} min so far`);
    }
    const share = !EXPERIMENT || process.env.WAN_LINK_SHARE ? await linkShare(lab, ctx) : null;
    const queueDefault = results.find((p) => p.queueBytes)?.queueBytes;
    const result = {
      date: new Date().toISOString(),
      commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
      mode: SMOKE ? 'smoke' : 'full',
      browser: alice.version(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, kernel: release(), node: process.version },
      repeats: REPEATS,
      contenders: CONTENDERS,
      queue: queueDefault ? `${(queueDefault / 1000).toFixed(0)} kB` : 'n/a',
      minutes: (Date.now() - started) / 60000,
      points: results,
      linkShare: share,
    };
    await mkdir(OUT, { recursive: true });
    await writeFile(`${OUT}/wan-latest.json`, JSON.stringify(result, null, 2) + '\n');
    await writeFile(`${OUT}/wan-latest.md`, markdown(result));
    await chart(server, result, `${OUT}/wan-latest.png`);
    log(`wrote ${OUT}/wan-latest.{json,md,png} in ${result.minutes.toFixed(1)} min`);
    console.log(markdown(result));
  } finally {
    await alice?.close();
    await server?.close();
    await lab.close();
  }
}

/** Draws wan-latest.{md,png} again from the recorded wan-latest.json (after a change to how they are drawn). */
async function redraw() {
  const result = JSON.parse(await readFile(`${OUT}/wan-latest.json`, 'utf8'));
  const browser = await launchBrowser();
  try {
    await writeFile(`${OUT}/wan-latest.md`, markdown(result));
    await chart(browser, result, `${OUT}/wan-latest.png`);
  } finally {
    await browser.close();
  }
  log(`drew ${OUT}/wan-latest.{md,png} again from its JSON`);
}

(process.argv.includes('--redraw') ? redraw() : main()).catch((e) => { console.error(e); process.exit(1); });
