// Fault injection against real servers started by php-signaling/tests/run.sh (not for remote deployments:
// it needs the server's data dir). Each fault must give a typed, retryable answer, never a 500, and
// no error body may leak a path.
//
//   FAULT_URL, FAULT_DATA_DIR   a server with its own SQLite data dir (locked and corrupt database)
//   FULL_URL                    a server whose data dir is a tiny tmpfs (disk full); optional
//   RO_URL                      a server running as an unprivileged user whose data dir it cannot write; optional

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';

const FAULT_URL = process.env.FAULT_URL || '';
const FAULT_DATA_DIR = process.env.FAULT_DATA_DIR || '';
const FULL_URL = process.env.FULL_URL || '';
const RO_URL = process.env.RO_URL || '';

const room = () => randomBytes(24).toString('base64url');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function req(url, method, obj) {
  const init = { method, headers: {} };
  if (obj !== undefined) {
    init.body = JSON.stringify(obj);
    init.headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (res.status >= 400) {
    assert.deepEqual(Object.keys(json), ['error'], text);
    // ("php signal.php check" in an operator hint is fine; a path to it is not.)
    for (const re of [/(?:\/[A-Za-z0-9_.-]+){2,}/, /\.sqlite\b/i, /\/[^\s"]*\.php\b/i, /stack trace|Fatal error|Warning:/i]) {
      assert.doesNotMatch(text, re, `error body leaks internals: ${text}`);
    }
    if (FAULT_DATA_DIR) assert.ok(!text.includes(FAULT_DATA_DIR));
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** Hold an exclusive SQLite lock from another process until it is killed; resolves once the lock is held. */
function holdExclusiveLock(dbFile) {
  const code = `$p = new PDO('sqlite:' . $argv[1]); $p->exec('PRAGMA busy_timeout = 5000'); $p->exec('BEGIN EXCLUSIVE');`
    + ` echo "locked\\n"; fflush(STDOUT); sleep(30);`;
  const child = spawn('php', ['-r', code, dbFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { if (String(d).includes('locked')) resolve(child); });
    child.on('exit', (c) => reject(new Error(`lock holder exited with ${c}`)));
  });
}

test('a locked database gives 503 storage_busy with Retry-After, then recovers', { skip: FAULT_URL ? false : 'FAULT_URL not set' }, async () => {
  assert.equal((await req(FAULT_URL, 'GET')).status, 200); // database exists
  const holder = await holdExclusiveLock(`${FAULT_DATA_DIR}/peerdrop.sqlite`);
  try {
    const started = Date.now();
    const c = await req(FAULT_URL, 'POST', { v: 1, op: 'create', room: room() });
    assert.equal(c.status, 503, c.text);
    assert.equal(c.json.error.code, 'storage_busy');
    assert.equal(c.headers.get('retry-after'), '1');
    assert.ok(Date.now() - started < 5000, 'bounded by busy_timeout');
    const h = await req(FAULT_URL, 'GET');
    assert.equal(h.status, 503, h.text);
    assert.equal(h.json.error.code, 'storage_busy');
  } finally {
    holder.kill('SIGKILL');
  }
  await sleep(200);
  assert.equal((await req(FAULT_URL, 'POST', { v: 1, op: 'create', room: room() })).status, 201);
});

test('a corrupt database file is moved aside and rebuilt', { skip: FAULT_URL ? false : 'FAULT_URL not set' }, async () => {
  assert.equal((await req(FAULT_URL, 'POST', { v: 1, op: 'create', room: room() })).status, 201);
  const db = `${FAULT_DATA_DIR}/peerdrop.sqlite`;
  for (const ext of ['-wal', '-shm']) rmSync(db + ext, { force: true });
  writeFileSync(db, Buffer.alloc(64 * 1024, 0x5a));
  const h = await req(FAULT_URL, 'GET');
  assert.equal(h.status, 200, h.text);
  assert.ok(readdirSync(FAULT_DATA_DIR).some((f) => /^peerdrop\.sqlite\.corrupt-\d{8}-\d{6}-[0-9a-f]{6}$/.test(f)), 'kept aside for inspection');
  const id = room();
  assert.equal((await req(FAULT_URL, 'POST', { v: 1, op: 'create', room: id })).status, 201);
  assert.equal((await req(FAULT_URL, 'POST', { v: 1, op: 'join', room: id })).status, 200);
});

test('a full disk gives 507 storage_full, never 500', { skip: FULL_URL ? false : 'FULL_URL not set (needs root to mount a tmpfs)' }, async () => {
  const a = await req(FULL_URL, 'POST', { v: 1, op: 'create', room: room() });
  assert.equal(a.status, 201, a.text);
  const statuses = [];
  let last;
  for (let seq = 1; seq <= 400; seq++) {
    last = await req(FULL_URL, 'POST', { v: 1, op: 'send', token: a.json.token, seq, type: 'sealed', data: randomBytes(6000).toString('base64') });
    statuses.push(last.status);
    if (last.status !== 201) break;
  }
  assert.equal(last.status, 507, `statuses: ${[...new Set(statuses)].join(',')} last: ${last.text}`);
  assert.equal(last.json.error.code, 'storage_full');
  assert.ok(!statuses.includes(500));
});

test('an unwritable data dir makes health report 503', { skip: RO_URL ? false : 'RO_URL not set (needs root to run a server as nobody)' }, async () => {
  const h = await req(RO_URL, 'GET');
  assert.equal(h.status, 503, h.text);
  assert.equal(h.json.error.code, 'storage_unavailable');
  assert.ok(Number(h.headers.get('retry-after')) > 0);
  const c = await req(RO_URL, 'POST', { v: 1, op: 'create', room: room() });
  assert.equal(c.status, 503, c.text);
});
