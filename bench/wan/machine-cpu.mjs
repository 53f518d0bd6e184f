// Where the machine's CPU goes during one transfer of the network lab, from Linux /proc: how busy
// all cores were, and each program's share (both Chromiums, the link emulator, php). The lab's
// browsers, emulator and signaling server share the machine's cores, so a transfer slower than
// its link can be the machine's limit rather than the path's; this tells which (docs/performance.md).
import { readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { processes } from '../../tests/support/procfs.mjs';

const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Busy and total jiffies of all cores together (/proc/stat's `cpu` line; idle and iowait are not busy). */
async function coreTimes() {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n').find((l) => l.startsWith('cpu '));
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

/** CPU milliseconds used so far by each live process, keyed by pid, with its program name. */
async function processTimes() {
  const out = new Map();
  for (const { pid, fields } of await processes()) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?');
    out.set(pid, { name: comm.trim(), ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS });
  }
  return out;
}

/**
 * Starts a measurement; `since()` returns how busy the cores were meanwhile (0-1 of all of
 * them), their number, and each program's CPU milliseconds (processes that started meanwhile
 * count whole; those that ended meanwhile are not counted, nor is the CPU they used).
 */
export async function machineCpu() {
  const [cores0, procs0] = await Promise.all([coreTimes(), processTimes()]);
  return {
    async since() {
      const [cores1, procs1] = await Promise.all([coreTimes(), processTimes()]);
      const byProgram = {};
      for (const [pid, p] of procs1) {
        const used = p.ms - (procs0.get(pid)?.ms ?? 0);
        if (used > 0) byProgram[p.name] = (byProgram[p.name] ?? 0) + used;
      }
      const total = cores1.total - cores0.total;
      return { busy: total ? (cores1.busy - cores0.busy) / total : 0, cores: cpus().length, byProgram };
    },
  };
}
