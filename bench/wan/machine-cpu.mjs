// Where the machine's CPU goes during one transfer of the network lab, from Linux /proc: how busy
// all cores were (over the whole transfer, or a part of it), and each program's share (both Chromiums, the link emulator, php). The lab's
// browsers, emulator and signaling server share the machine's cores, so a transfer slower than
// its link can be the machine's limit rather than the path's; this tells which (docs/performance.md).
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { cpuMsOf, processes } from '../../tests/support/procfs.mjs';

/**
 * Jiffies of all cores together from /proc/stat's `cpu` line: `busy` (user, nice, system, irq,
 * softirq), `steal` (taken by the hypervisor for others) and `total`; idle and iowait are
 * neither.
 */
async function coreTimes() {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n').find((l) => l.startsWith('cpu '));
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** CPU milliseconds used so far by each live process, keyed by pid, with its program name. */
async function processTimes() {
  const out = new Map();
  for (const { pid, fields } of await processes()) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?');
    out.set(pid, { name: comm.trim(), ms: cpuMsOf(fields) });
  }
  return out;
}

/** The cores' busy and stolen shares (0-1 of all of them) between two `coreTimes` readings. */
function shares(a, b) {
  const total = b.total - a.total;
  return total ? { busy: (b.busy - a.busy) / total, steal: (b.steal - a.steal) / total } : { busy: 0, steal: 0 };
}

/**
 * Starts a measurement, reading the cores every `everyMs` meanwhile; `since()` returns how busy
 * the cores were (and how much the hypervisor took), their number, each program's CPU
 * milliseconds (processes that started meanwhile count whole; those that ended meanwhile are
 * not counted), and the readings, for `coresBetween` a part of the span.
 */
export async function machineCpu({ everyMs = 200 } = {}) {
  const samples = [];
  const sample = async () => samples.push({ t: Date.now(), ...(await coreTimes()) });
  const procs0 = await processTimes();
  await sample();
  const timer = setInterval(sample, everyMs);
  return {
    async since() {
      clearInterval(timer);
      await sample();
      const procs1 = await processTimes();
      const byProgram = {};
      for (const [pid, p] of procs1) {
        const used = p.ms - (procs0.get(pid)?.ms ?? 0);
        if (used > 0) byProgram[p.name] = (byProgram[p.name] ?? 0) + used;
      }
      samples.sort((a, b) => a.t - b.t);
      return { ...shares(samples[0], samples.at(-1)), cores: cpus().length, byProgram, samples };
    },
  };
}

/**
 * The cores' busy and stolen shares between wall-clock times `from` and `to` (ms), from the
 * readings inside that span; null when fewer than two fall in it.
 */
export function coresBetween(samples, from, to) {
  const inside = samples.filter((x) => x.t >= from && x.t <= to);
  return inside.length < 2 ? null : shares(inside[0], inside.at(-1));
}
