// Runs signal.php under a real PHP 7.4 (WebAssembly build from @php-wasm/node, works offline once
// installed): compiles the whole file, then a smoke of create/join/send/poll/leave, migrations,
// rate limiting, metrics, the HTTP layer and `check`, with every notice/deprecation turned into a failure.
//
//   node php-signaling/tests/php74/run.mjs path/to/signal.php
//
// @php-wasm/node is looked up in $PHP_WASM_DIR/node_modules, else ~/.cache/peerdrop/php-wasm/node_modules.
// Install once:  npm install --prefix ~/.cache/peerdrop/php-wasm @php-wasm/node @php-wasm/universal
// Exit: 0 pass, 1 fail, 3 @php-wasm/node not installed.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { pathToFileURL } from 'node:url';

const signal = process.argv[2];
if (!signal) { console.error('usage: run.mjs path/to/signal.php'); process.exit(2); }
const dir = process.env.PHP_WASM_DIR || join(homedir(), '.cache', 'peerdrop', 'php-wasm');
const mod = (name) => join(dir, 'node_modules', '@php-wasm', name, 'index.js');
if (!existsSync(mod('node')) || !existsSync(mod('universal'))) {
  console.log(`@php-wasm/node not found under ${dir}`);
  process.exit(3);
}
const { loadNodeRuntime } = await import(pathToFileURL(mod('node')));
const { PHP } = await import(pathToFileURL(mod('universal')));

const smoke = String.raw`<?php
declare(strict_types=1);
error_reporting(E_ALL);
set_error_handler(function ($no, $str, $file, $line) { if (!(error_reporting() & $no)) { return false; } throw new ErrorException($str, 0, $no, $file, $line); });
define('PEERDROP_LIBRARY', true);
require '/app/www/signal.php';
function ok(bool $c, string $what) { if (!$c) { throw new RuntimeException('FAILED: ' . $what); } echo "ok   $what\n"; }
echo 'PHP ', PHP_VERSION, ' pdo_sqlite=', extension_loaded('pdo_sqlite') ? 'yes' : 'no', "\n";
ok(PHP_MAJOR_VERSION === 7 && PHP_MINOR_VERSION === 4, 'running on PHP 7.4');
$now = 1700000000;
$config = PeerDropConfig::load(array(), '/app/www', array('data_dir' => '/app/data', 'metrics_token' => 'metrics-token-0123456789',
    'rate_limit_per_minute' => 60, 'rate_limit_burst' => 2, 'previous_secret' => 'old-secret-0123456789abcdef'));
$store = PeerDropStore::open($config->dataDir, 'wal', 1500);
ok($store->schemaVersion() === PeerDropStore::SCHEMA_VERSION, 'schema created (user_version ' . $store->schemaVersion() . ')');
$clock = function () use (&$now): int { return $now; };
$s = new PeerDropService($store, $config, 'current-secret-0123456789abcdef', $clock);
$room = PeerDrop::b64uEncode(random_bytes(24));
list($st, $a) = $s->create($room); ok($st === 201, 'create 201');
list($st, $b) = $s->join($room); ok($st === 200, 'join 200');
try { $s->join($room); ok(false, 'second join'); } catch (PeerDropError $e) { ok($e->errorCode() === 'room_full', 'second join: room_full'); }
list($st, $m) = $s->send($a['token'], 1, 'offer', 'v=0'); ok($st === 201, 'send 201');
list($st, $m2) = $s->send($a['token'], 1, 'offer', 'v=0'); ok($st === 200 && $m2['id'] === $m['id'], 'send retry is idempotent');
list($st, $p) = $s->poll($b['token'], 0, 0); ok($p['messages'][0]['data'] === 'v=0', 'poll delivers the offer');
$old = new PeerDropService($store, $config, 'old-secret-0123456789abcdef', $clock);
list(, $c) = $old->create(PeerDrop::b64uEncode(random_bytes(24)));
list($st) = $s->poll($c['token'], 0, 0); ok($st === 200, 'token of the previous secret still verifies');
list($st) = $s->leave($a['token']); ok($st === 200, 'leave 200');
list($st, $code) = $s->createCode(); ok($st === 201 && $code['code'] >= 1 && $code['code'] <= 999, 'short-code room: the endpoint picks ' . $code['code']);
list($st) = $s->joinCode($code['code']); ok($st === 200, 'join by number');
$many = PeerDrop::b64uEncode(random_bytes(24));
list($st, $ms) = $s->create($many, 3); ok($st === 201 && $ms['receivers'] === 3, 'a room for three receivers');
list(, $r1) = $s->join($many); list(, $r2) = $s->join($many); ok($r1['peer'] === 1 && $r2['peer'] === 2, 'receivers 1 and 2 take their seats');
list($st) = $s->send($ms['token'], 1, 'offer', 'for 2', 2); ok($st === 201, 'send to receiver 2');
list(, $p2) = $s->poll($r2['token'], 0, 0); ok($p2['messages'][0]['from'] === 0 && $p2['messages'][0]['data'] === 'for 2', 'receiver 2 reads its own, with from');
$s->drop($ms['token'], 2);
try { $s->poll($r2['token'], 0, 0); ok(false, 'dropped'); } catch (PeerDropError $e) { ok($e->errorCode() === 'peer_dropped', 'a dropped receiver gets peer_dropped'); }
$s->close($ms['token']);
try { $s->join($many); ok(false, 'closed'); } catch (PeerDropError $e) { ok($e->errorCode() === 'room_locked', 'closed to newcomers: room_locked'); }
$s->forClient('198.51.100.1');
try { $s->join(PeerDrop::b64uEncode(random_bytes(24))); } catch (PeerDropError $e) { ok($e->errorCode() === 'room_not_found', 'a failed join is counted'); }
for ($i = 0; $i < 16; $i++) { $s->create(PeerDrop::b64uEncode(random_bytes(24))); }
try { $s->create(PeerDrop::b64uEncode(random_bytes(24))); ok(false, 'quota'); } catch (PeerDropError $e) { ok($e->errorCode() === 'quota_exceeded', 'open-rooms quota: 429 after 16'); }
ok(PeerDropService::liveBytes($store, $now) > 0, 'live bytes counted');
$store->checkpoint(4194304, 0); ok(true, 'WAL checkpoint (TRUNCATE)');
ok($store->migrateTo(0) === array(3, 2, 1, 0) && $store->migrateTo(4) === array(1, 2, 3, 4), 'migrations down and up');
$store->migrateTo(2); ok($store->migrateTo(4) === array(3, 4), 'versions 4 and 3 down (table rebuilt) and up again');
$rl = new PeerDropRateLimiter($store, 60, 2, 'k-0123456789abcdef', function () { return 1700000000.5; });
$rl->consume('192.0.2.1'); $rl->consume('192.0.2.1');
try { $rl->consume('192.0.2.1'); ok(false, 'rate limit'); } catch (PeerDropError $e) { ok($e->errorCode() === 'rate_limited', 'rate limit: 429 after the burst'); }
ok(PeerDropClientAddress::resolve('10.0.0.1', '203.0.113.9, 10.0.0.2', array('10.0.0.0/8')) === '203.0.113.9', 'X-Forwarded-For behind a trusted proxy');
$http = peerdrop_http(array('PEERDROP_DATA_DIR' => '/app/data2', 'PEERDROP_SECRET' => 'http-secret-0123456789abcdef'), '/app/www', null);
$r = $http->handle('POST', array('content-type' => 'application/json'), function (int $n) use ($room): string {
    return '{"v":1,"op":"create","room":"' . PeerDrop::b64uEncode(random_bytes(24)) . '"}'; }, array('remote_addr' => '192.0.2.9'));
ok($r->status === 201, 'HTTP create 201');
$http->afterResponse();
$r = $http->handle('POST', array('content-type' => 'application/json'), function (int $n): string { return '[' . str_repeat('[', 50); });
ok($r->status === 400, 'HTTP bad JSON 400');
$m = new PeerDropMetrics(); $m->add('peerdrop_requests_total', array('op' => 'create', 'status' => '201')); $m->flush($store);
ok(strpos(PeerDropMetrics::render($store, new PeerDropSlots('/app/data', 2), $now), 'peerdrop_requests_total{op="create",status="201"} 1') !== false, 'metrics render');
file_put_contents('/app/data3-peerdrop.sqlite', 'garbage');
@mkdir('/app/data3'); rename('/app/data3-peerdrop.sqlite', '/app/data3/peerdrop.sqlite');
ok(PeerDropStore::open('/app/data3')->schemaVersion() === PeerDropStore::SCHEMA_VERSION, 'corrupt database rebuilt');
$lines = PeerDropCheck::run(array('PEERDROP_DATA_DIR' => '/app/data4'), '/app/www');
$fails = array_filter($lines, function ($l) { return $l[0] === 'fail'; });
ok(!$fails, 'check passes (' . count($lines) . ' lines)' . ($fails ? ': ' . json_encode(array_values($fails)) : ''));
echo "PHP 7.4 SMOKE PASSED\n";
`;

const php = new PHP(await loadNodeRuntime('7.4', { emscriptenOptions: { processId: 1 } }));
php.mkdir('/app/www');
php.mkdir('/app/data');
php.writeFile('/app/www/signal.php', readFileSync(signal));
php.writeFile('/app/smoke.php', smoke);
let result;
try {
  result = await php.run({ scriptPath: '/app/smoke.php' });
} catch (e) {
  console.log(String(e && e.message || e));
  process.exit(1);
}
const out = result.text;
process.stdout.write(out);
if (result.errors) process.stdout.write(result.errors + '\n');
// stderr may carry signal.php's own operator notices (e.g. the corrupt-database one); PHP errors fail.
const phpErrors = /PHP (Fatal|Warning|Notice|Deprecated|Parse)|Uncaught/.test(result.errors || '');
process.exit(out.includes('PHP 7.4 SMOKE PASSED') && !phpErrors ? 0 : 1);
