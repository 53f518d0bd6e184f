// Release gate "privacy": what a signaling deployment keeps after real traffic.
// Runs the synthetic probe (with an Origin and an X-Forwarded-For it must not keep) against a
// local php -S signal.php, then reads the whole SQLite database and the metrics:
// no client address, no room id, no acknowledged message data; metric labels come only from
// closed sets (op, status, code, quota, digits, le). Run: node --test scripts/release/privacy.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startSignal } from '../../ops/test/local-signal.mjs';
import { probe } from '../../ops/probe.mjs';

const METRICS_TOKEN = 'privacy-test-metrics-token-0123456789';

function dumpDatabase(dataDir) {
  // Every table, every row, as text (PDO, so no sqlite3 CLI is needed); WAL checkpointed first.
  return execFileSync('php', ['-r', `
    $db = new PDO('sqlite:' . $argv[1] . '/peerdrop.sqlite');
    $db->exec('PRAGMA wal_checkpoint(TRUNCATE)');
    foreach ($db->query("SELECT name FROM sqlite_master WHERE type = 'table'")->fetchAll(PDO::FETCH_COLUMN) as $t) {
      foreach ($db->query('SELECT * FROM "' . $t . '"')->fetchAll(PDO::FETCH_ASSOC) as $row) {
        echo $t, ' ', json_encode($row), "\\n";
      }
    }`, dataDir], { encoding: 'utf8' });
}

test('after traffic, the database holds no address, room id or delivered data; metrics carry no client labels', async () => {
  const s = await startSignal({
    config: { metrics_token: METRICS_TOKEN, rate_limit_per_minute: 600, rate_limit_burst: 120, allowed_origins: ['https://app.example'] },
  });
  try {
    // Track what the probe sends: room ids and message data pass through fetch bodies.
    const sent = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (url, init = {}) => {
      if (init.body) sent.push(JSON.parse(init.body));
      init.headers = { ...(init.headers || {}), 'X-Forwarded-For': '203.0.113.77' };
      return realFetch(url, init);
    };
    let r;
    try {
      r = await probe({ url: s.url, origin: 'https://app.example' });
    } finally {
      globalThis.fetch = realFetch;
    }
    assert.equal(r.ok, true, JSON.stringify(r));
    const dump = dumpDatabase(s.data);
    assert.match(dump, /^rate_limits /m, 'the rate limiter stored its (keyed) bucket');
    for (const needle of ['127.0.0.1', '203.0.113.77', 'app.example', 'Mozilla', 'node']) {
      assert.ok(!dump.includes(needle), `database contains ${needle}`);
    }
    const room = sent.find((b) => b.op === 'create').room;
    const data = sent.find((b) => b.op === 'send').data;
    assert.ok(!dump.includes(room), 'database contains the room id');
    assert.ok(!dump.includes(data), 'database still holds delivered message data');

    const metrics = await (await fetch(`${s.url}?metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const labels = new Set([...metrics.matchAll(/[{,]([a-z_]+)="/g)].map((m) => m[1]));
    assert.deepEqual([...labels].filter((l) => !['op', 'status', 'code', 'quota', 'digits', 'le'].includes(l)), [], 'unexpected metric labels');
    const closed = { quota: /^(rooms|creates|failed_joins)$/, digits: /^[34]$/, le: /^([0-9.]+|\+Inf)$/ };
    for (const [, label, value] of metrics.matchAll(/[{,](quota|digits|le)="([^"]*)"/g)) {
      assert.match(value, closed[label], `${label}="${value}" comes from a closed set`);
    }
    assert.ok(!metrics.includes('127.0.0.1') && !metrics.includes(room));
    console.log(`# database rows checked: ${dump.trim().split('\n').length}; metric labels: ${[...labels].sort().join(', ')}`);
  } finally {
    await s.stop();
  }
});
