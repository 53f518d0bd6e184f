// make bench-smoke: a smoke run of bench/run.mjs in which, as on a slow machine, the receiver's
// page closes in the middle of one PeerDrop transfer and the whole browser dies in the middle of
// another (BENCH_TEST_CLOSE). The run must not die: it records both repeats as failed in its
// results, relaunches the browser, measures everything after it, writes its JSON, markdown and
// chart, and exits with status 1 because repeats failed. Needs what the smoke needs (pkg/,
// Chromium, PHP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';

const OUT = 'target/bench-smoke-failed-repeats';

/** Runs the bench and gives its exit status and output (both streams). */
function bench(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/run.mjs', '--smoke'], { env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

test('a page closing and the browser dying mid-repeat are recorded as failed repeats and the run goes on', { timeout: 600_000 }, async () => {
  await rm(OUT, { recursive: true, force: true });
  const { code, output } = await bench({
    BENCH_REPEATS: '2',
    BENCH_OUT: OUT,
    BENCH_TEST_CLOSE: 'peerdrop memory:1:page,peerdrop opfs:2:browser',
  });
  const tail = output.split('\n').slice(-40).join('\n');
  assert.match(output, /BENCH_TEST_CLOSE: closing the receiver's page in peerdrop memory, repeat 1/, tail);
  assert.match(output, /BENCH_TEST_CLOSE: closing the browser in peerdrop opfs, repeat 2/, tail);
  assert.equal(code, 1, `a run with failed repeats exits with 1 after writing its results\n${tail}`);

  const r = JSON.parse(await readFile(`${OUT}/bench-latest.json`, 'utf8'));
  assert.deepEqual(
    r.failures.map((f) => [f.phase, f.repeat, f.browserRelaunched]),
    [['peerdrop memory', 1, false], ['peerdrop opfs', 2, true]],
  );
  assert.match(r.failures[0].error, /closed/);
  // Each failed repeat stands as null in its place; the other repeat counts.
  assert.equal(r.peerdrop.memory.runs[0], null);
  assert.ok(r.peerdrop.memory.runs[1] > 0 && r.peerdrop.memory.median === r.peerdrop.memory.runs[1]);
  assert.ok(r.peerdrop.opfs.runs[0] > 0 && r.peerdrop.opfs.median === r.peerdrop.opfs.runs[0]);
  assert.equal(r.peerdrop.opfs.runs[1], null);
  assert.ok(r.ratios.memoryOverCeiling > 0);
  // Everything after the browser died was measured in the new one.
  assert.equal(r.hashing.peerdrop.runs.length, 2);
  assert.ok([r.hashing.peerdrop, r.hashing['hash-wasm'], r.hashing.webcrypto].every((h) => h.runs.every((x) => x > 0)));
  assert.ok(r.setup.runsMs.every((x) => x > 0));
  assert.ok(r.memory.peaks.receiver.jsHeapBytes > 0);
  assert.ok(r.native.hashing.median > 0);

  const md = await readFile(`${OUT}/bench-latest.md`, 'utf8');
  assert.match(md, /\*\*2 failed repeat\(s\)\*\*/);
  assert.match(md, /\| peerdrop memory \| 1 \| [^|]*closed[^|]* \| no \|/);
  assert.match(md, /\| peerdrop opfs \| 2 \| .* \| yes \|/);
  assert.ok((await stat(`${OUT}/bench-latest.png`)).size > 0);
});
