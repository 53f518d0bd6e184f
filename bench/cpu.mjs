// CPU time of one browser's processes (browser, renderers, network service, GPU), read from
// Linux /proc. The bench launches its Chromium with a tag in the environment; the processes
// carrying it and all their descendants are counted (renderers forked by the zygote overwrite
// their environ with a process title, so the tag alone misses them), other browsers are not.
import { readdir, readFile } from 'node:fs/promises';
import { cpuMsOf, processes, statFields } from '../tests/support/procfs.mjs';
import { randomBytes } from 'node:crypto';

/** An environment for `chromium.launch({ env })` and the tag that finds its processes. */
export function taggedEnv() {
  const tag = randomBytes(8).toString('hex');
  return { tag, env: { ...process.env, PEERDROP_BENCH_TAG: tag } };
}

/** The live processes of the tagged browser: pid -> { cpuMs, kind ("renderer", "utility:network", ...) }. */
export async function browserProcesses(tag) {
  const marker = `PEERDROP_BENCH_TAG=${tag}`;
  const all = new Map();
  for (const { pid, fields: f } of await processes()) {
    // Read after the stat: a process that ended meanwhile reads as untagged (kind "browser").
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
    const type = /--type=([a-z-]+)/.exec(cmdline)?.[1] ?? 'browser';
    const sub = /--utility-sub-type=([a-zA-Z.]+)/.exec(cmdline)?.[1];
    all.set(pid, {
      ppid: Number(f[1]),
      cpuMs: cpuMsOf(f),
      tagged: environ.split('\0').includes(marker),
      kind: sub ? `${type}:${sub.split('.')[0]}` : type,
    });
  }
  const ours = (pid, depth = 0) => {
    const p = all.get(pid);
    return !!p && (p.tagged || (depth < 16 && ours(p.ppid, depth + 1)));
  };
  return new Map([...all].filter(([pid]) => ours(pid)));
}

/** Milliseconds of CPU (user + system) used so far by the live processes of the tagged browser. */
export async function cpuMs(tag) {
  let total = 0;
  for (const p of (await browserProcesses(tag)).values()) total += p.cpuMs;
  return total;
}

/**
 * CPU milliseconds so far per thread kind of the tagged browser: "process type / thread name"
 * (e.g. "renderer / CrRendererMain"), for breakdowns of where a transfer's CPU goes.
 */
export async function cpuByThread(tag) {
  const out = {};
  for (const [pid, p] of await browserProcesses(tag)) {
    for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [])) {
      try {
        const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '#');
        const f = statFields(stat);
        const key = `${p.kind} / ${name}`;
        out[key] = (out[key] ?? 0) + cpuMsOf(f);
      } catch { /* ended */ }
    }
  }
  return out;
}

/** The difference of two `cpuByThread` readings, largest first, per MiB moved. */
export function threadDelta(before, after, mib) {
  return Object.entries(after)
    .map(([k, v]) => [k, (v - (before[k] ?? 0)) / mib])
    .filter(([, v]) => v > 0.2)
    .sort((a, b) => b[1] - a[1]);
}
