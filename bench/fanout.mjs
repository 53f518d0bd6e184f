// One sender to 1, 2 and 4 receivers in the same run (issue #21): aggregate and per-receiver
// throughput, and the sender's CPU per MiB moved. The sender runs in a browser of its own, so
// `/proc` can tell its CPU (renderer, network service, GPU, browser process) from the
// receivers'; 1 receiver is the ordinary transfer to one, the figure the others stand beside.
import { benchPage, closePages } from '../tests/support/bench-page.mjs';
import { cpuMs, cpuByThread } from './cpu.mjs';

const MiB = 1024 * 1024;

/**
 * One transfer of `bytes` to `count` receivers: `{ receivers: [MiB/s each], aggregate MiB/s,
 * senderCpuMsPerMiB, sharedReads }`. The aggregate is all bytes verified over the time from the
 * first acceptance to the last completion (wall clock, comparable across pages). `breakdown`,
 * if given, gets the sender's CPU by thread before and after.
 */
export async function fanoutOnce({ senders, receivers: receiverBrowser, senderTag, url, bytes, count, readyMs, breakdown = null }) {
  const pages = [];
  try {
    const s = await benchPage(senders, url, { readyMs });
    pages.push(s);
    const rs = [];
    for (let i = 0; i < count; i++) {
      const r = await benchPage(receiverBrowser, url, { readyMs });
      pages.push(r);
      rs.push(r);
    }
    await s.p.evaluate((n) => bench.peerdrop.prepare(n), bytes);
    const cpu0 = await cpuMs(senderTag);
    const threads0 = breakdown ? await cpuByThread(senderTag) : null;
    const link = await s.p.evaluate(([n, k]) => bench.peerdrop.offer(n, undefined, undefined, k), [bytes, count]);
    for (const r of rs) await r.p.evaluate((l) => bench.peerdrop.receive(l, 'memory'), link);
    const times = await Promise.all(rs.map((r) => r.p.evaluate(() => bench.peerdrop.finished())));
    await s.p.evaluate(() => bench.peerdrop.ended());
    const senderCpuMs = (await cpuMs(senderTag)) - cpu0;
    if (threads0) breakdown(threads0, await cpuByThread(senderTag));
    const spans = await Promise.all(rs.map((r) => r.p.evaluate(() => bench.peerdrop.span())));
    const wallMs = Math.max(...spans.map((x) => x.complete)) - Math.min(...spans.map((x) => x.accepted));
    const diagnosis = await s.p.evaluate(() => bench.peerdrop.diagnose());
    return {
      receivers: times.map((ms) => bytes / MiB / (ms / 1000)),
      aggregate: (count * bytes) / MiB / (wallMs / 1000),
      senderCpuMsPerMiB: senderCpuMs / ((count * bytes) / MiB),
      sharedReads: diagnosis.sharedReads ?? null,
    };
  } finally {
    await closePages(...pages);
  }
}
