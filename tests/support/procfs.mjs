// Linux /proc for the test and bench harnesses: the live processes with their stat fields, and
// a process's resident memory. No dependencies beyond Node.
import { readdir, readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';

/** Clock ticks per second, the unit of a stat line's CPU times. */
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU milliseconds (user + system) of a process or thread, from its `statFields`. */
export function cpuMsOf(fields) {
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

/** Fields of a /proc stat line after the parenthesised command: state [0], ppid [1], pgrp [2], utime [11], stime [12]. */
export function statFields(stat) {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Every live process as `{ pid, fields }` (see `statFields`); processes that end meanwhile are skipped. */
export async function processes() {
  const out = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.push({ pid: Number(name), fields: statFields(await readFile(`/proc/${name}/stat`, 'utf8')) });
    } catch { /* the process ended meanwhile */ }
  }
  return out;
}

/** Resident memory of a process in bytes (`VmRSS`, so no page size is assumed); 0 once it ended. */
export async function rssBytes(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kib ? Number(kib) * 1024 : 0;
}
