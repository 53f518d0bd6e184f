// CPU time of one browser's processes (browser, renderers, network service, GPU), read from
// Linux /proc. The bench launches its Chromium with a tag in the environment; the processes
// carrying it and all their descendants are counted (renderers forked by the zygote overwrite
// their environ with a process title, so the tag alone misses them), other browsers are not.
import { readdir, readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** An environment for `chromium.launch({ env })` and the tag that finds its processes. */
export function taggedEnv() {
  const tag = randomBytes(8).toString('hex');
  return { tag, env: { ...process.env, PEERDROP_BENCH_TAG: tag } };
}

/** Milliseconds of CPU (user + system) used so far by the live processes of the tagged browser. */
export async function cpuMs(tag) {
  const marker = `PEERDROP_BENCH_TAG=${tag}`;
  const procs = new Map();
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // After the parenthesised command: ppid is field 4, utime 14 and stime 15 (1-based).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
      procs.set(Number(pid), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), tagged: environ.split('\0').includes(marker) });
    } catch { /* the process ended meanwhile */ }
  }
  const ours = (pid, depth = 0) => {
    const p = procs.get(pid);
    return !!p && (p.tagged || (depth < 16 && ours(p.ppid, depth + 1)));
  };
  let ticks = 0;
  for (const [pid, p] of procs) if (ours(pid)) ticks += p.ticks;
  return (ticks * 1000) / TICKS;
}
