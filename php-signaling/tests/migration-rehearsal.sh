#!/usr/bin/env bash
# Migration and rollback rehearsal for signal.php's database schema (about 10-40 s).
#
#   bash php-signaling/tests/migration-rehearsal.sh        (from anywhere; needs git history)
#
# N+1 is the schema of the working tree's signal.php (PeerDropMigrations::LATEST) and N = N+1 - 1.
# The "old code" is the newest commit whose signal.php has schema N (found by walking
# `git log -- php-signaling/signal.php` and asking each version for PeerDropStore::SCHEMA_VERSION),
# or the file named by OLD_SIGNAL_PHP.
#
# "Rows unchanged" compares every column both schemas have: a step may add columns (schema 3 adds
# the rooms' creator, code and bytes) or drop them again.
# SQLite, with live rooms (joined with messages both ways, some acknowledged; created and waiting
# for a joiner; one peer left):
#   1. old code (schema N) under php -S creates the rooms;
#   2. `php signal.php migrate` (new code) takes the database to N+1: rooms and messages unchanged
#      row for row; the new code serves the old tokens, pending messages arrive, a waiting room is joined;
#   3. `php signal.php migrate N` (new code) takes it back: rows unchanged again, N+1's tables gone;
#   4. the old code runs on the restored schema: pending messages arrive, it sends, creates, leaves;
#   5. the new code's first request migrates up again, and everything pending still arrives;
#   plus: the old code refuses a config that uses keys it does not know (a rollback must trim it).
# MariaDB (if mariadbd and pdo_mysql exist; as php-signaling/tests/run.sh starts it): no
# released signal.php before schema 2 had a MySQL backend, so there is no old code to run there;
# it rehearses N+1 -> N -> N+1 with live rooms using the new code's migrate command, row for row.
# A missing MariaDB is reported as SKIPPED (REQUIRE_ALL=1 makes that a failure).
set -u -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg="$(dirname "$here")"
repo="$(dirname "$pkg")"
started_at=$(date +%s)
status=0
skipped=()
say() { printf '\n=== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; status=1; }
ok() { printf 'ok    %s\n' "$*"; }

command -v php >/dev/null || { echo "php is required"; exit 1; }
command -v node >/dev/null || { echo "node 20+ is required"; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/peerdrop-migration.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && { kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; }
  done
  type mariadb_stop >/dev/null 2>&1 && mariadb_stop
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

schema_of() { # signal.php file -> its schema version
  php -r 'define("PEERDROP_LIBRARY", 1); require $argv[1]; echo PeerDropStore::SCHEMA_VERSION;' "$1" 2>/dev/null
}

new_php="$pkg/signal.php"
latest="$(schema_of "$new_php")" || { echo "cannot read the schema version of $new_php"; exit 1; }
prev=$((latest - 1))
old_php="$tmp/old/signal.php"; mkdir -p "$tmp/old" "$tmp/new"
cp "$new_php" "$tmp/new/signal.php"
if [ -n "${OLD_SIGNAL_PHP:-}" ]; then
  cp "$OLD_SIGNAL_PHP" "$old_php"; old_from="$OLD_SIGNAL_PHP"
else
  old_from=""
  for c in $(git -C "$repo" log --format=%H -- php-signaling/signal.php); do
    git -C "$repo" show "$c:php-signaling/signal.php" > "$old_php" 2>/dev/null || continue
    if [ "$(schema_of "$old_php")" = "$prev" ]; then old_from="commit $c ($(git -C "$repo" log -1 --format=%cs "$c"))"; break; fi
  done
  [ -n "$old_from" ] || { echo "no commit of php-signaling/signal.php has schema $prev (shallow clone? fetch the history, or set OLD_SIGNAL_PHP)"; exit 1; }
fi
echo "schema N=$prev (old code: $old_from) -> N+1=$latest (working tree)"

# ---- helpers: a snapshot of the rows, a client that plays the peers ---------------------------
cat > "$tmp/snapshot.php" <<'PHP'
<?php
// php snapshot.php sqlite DIR | mysql DSN USER PASSWORD PREFIX  -> JSON of version, tables, rooms, messages
if ($argv[1] === 'sqlite') {
    $db = new PDO('sqlite:' . $argv[2] . '/peerdrop.sqlite');
    $version = (int)$db->query('PRAGMA user_version')->fetchColumn();
    $tables = $db->query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")->fetchAll(PDO::FETCH_COLUMN);
    $p = '';
} else {
    $db = new PDO($argv[2], $argv[3], $argv[4]);
    $p = $argv[5];
    $version = (int)$db->query("SELECT value FROM {$p}meta WHERE name = 'schema_version'")->fetchColumn();
    $tables = $db->query('SHOW TABLES')->fetchAll(PDO::FETCH_COLUMN);
    sort($tables);
}
$db->setAttribute(PDO::ATTR_DEFAULT_FETCH_MODE, PDO::FETCH_ASSOC);
$rows = function ($t) use ($db, $p) {
    return array_map(function ($r) { return array_map('strval', $r); }, $db->query("SELECT * FROM {$p}{$t} ORDER BY id")->fetchAll());
};
echo json_encode(array('version' => $version, 'tables' => $tables, 'rooms' => $rows('rooms'), 'messages' => $rows('messages')), JSON_PRETTY_PRINT), "\n";
PHP

cat > "$tmp/driver.mjs" <<'JS'
// node driver.mjs STEP URL STATE.json : plays the peers of the rehearsal's rooms.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
const [step, url, statePath] = process.argv.slice(2);
const state = existsSync(statePath) ? JSON.parse(readFileSync(statePath, 'utf8')) : { peers: {}, expect: {} };
const call = async (body) => {
  const r = await fetch(url, { method: body ? 'POST' : 'GET', headers: { 'Content-Type': 'application/json' }, body: body && JSON.stringify({ v: 1, ...body }) });
  return { status: r.status, json: await r.json() };
};
const must = (r, status, what) => {
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
};
const room = () => randomBytes(24).toString('base64url');
const peer = (name) => state.peers[name];
const send = async (name, type, data) => {
  const p = peer(name);
  p.seq += 1;
  must(await call({ op: 'send', token: p.token, seq: p.seq, type, data }), 201, `${name} send ${data}`);
  const to = p.partner;
  (state.expect[to] ??= []).push(data);
};
// Poll without acknowledging anything new (after = the cursor already acknowledged), compare with
// the expected pending messages, then acknowledge them if asked.
const check = async (name, ack) => {
  const p = peer(name);
  const r = must(await call({ op: 'poll', token: p.token, after: p.cursor, wait: 0 }), 200, `${name} poll`);
  const got = r.messages.map((m) => (m.type === 'peer-joined' || m.type === 'peer-left' ? m.type : m.data));
  const want = state.expect[name] ?? [];
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  if (ack && r.messages.length) {
    p.cursor = r.cursor;
    must(await call({ op: 'poll', token: p.token, after: p.cursor, wait: 0 }), 200, `${name} ack`);
    state.expect[name] = [];
  }
  return got.length;
};
const create = async (name, partner) => {
  const id = room();
  const j = must(await call({ op: 'create', room: id }), 201, `create ${name}`);
  state.peers[name] = { room: id, token: j.token, seq: 0, cursor: 0, partner };
};
const join = async (name, partner) => {
  const id = peer(partner).room;
  const j = must(await call({ op: 'join', room: id }), 200, `join ${name}`);
  state.peers[name] = { room: id, token: j.token, seq: 0, cursor: 0, partner };
  (state.expect[partner] ??= []).push('peer-joined');
};
const leave = async (name) => {
  must(await call({ op: 'leave', token: peer(name).token }), 200, `leave ${name}`);
  const partner = peer(name).partner;
  if (state.peers[partner]) (state.expect[partner] ??= []).push('peer-left');
  state.expect[name] = [];
};
const pending = async () => {
  let n = 0;
  for (const name of Object.keys(state.peers).filter((x) => !state.peers[x].left)) n += await check(name, false);
  return n;
};

const steps = {
  // Under the old code: A (joined, traffic both ways, some acknowledged), B (waiting for a joiner
  // with an offer queued), C (joined, then the joiner left).
  async seed() {
    await create('a0', 'a1'); await join('a1', 'a0');
    await send('a0', 'offer', 'A offer'); await check('a1', true);
    await send('a1', 'answer', 'A answer'); await send('a0', 'candidate', 'A candidate 1');
    await check('a0', false);
    await create('b0', 'b1'); await send('b0', 'offer', 'B offer (before anyone joined)');
    await create('c0', 'c1'); await join('c1', 'c0'); await leave('c1'); state.peers.c1.left = true;
    return `3 rooms, ${await pending()} pending messages`;
  },
  // Every pending message is still there, unchanged, for the tokens issued before.
  async verify() {
    const h = must(await call(), 200, 'health');
    return `schema ${h.schema}: ${await pending()} pending messages arrive as sent`;
  },
  // Traffic after the migration: old tokens send, B is joined and gets its offer, A is acknowledged.
  async traffic() {
    await send('a1', 'candidate', 'A candidate 2 (after ' + process.argv[5] + ')');
    await check('a0', true);
    if (!state.peers.b1) { await join('b1', 'b0'); await check('b1', true); await send('b1', 'answer', 'B answer'); }
    else await send('b0', 'candidate', 'B candidate (after ' + process.argv[5] + ')');
    await create('d' + Object.keys(state.peers).length, 'nobody');
    return `${await pending()} pending messages`;
  },
  async finish() {
    for (const name of ['a0', 'a1', 'b0', 'b1']) if (state.peers[name]) await leave(name);
    return 'A and B left';
  },
};
try {
  const msg = await steps[step]();
  writeFileSync(statePath, JSON.stringify(state, null, 1));
  console.log(`ok    ${step}: ${msg}`);
} catch (e) {
  writeFileSync(statePath, JSON.stringify(state, null, 1));
  console.log(`FAIL: ${step}: ${e.message}`);
  process.exit(1);
}
JS

free_port() {
  php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);'
}
serve() { # code_dir config -> sets URL; php -S with short polls
  local port; port="$(free_port)"
  PEERDROP_CONFIG="$2" PHP_CLI_SERVER_WORKERS=2 setsid php -d variables_order=EGPCS -S "127.0.0.1:$port" -t "$1" \
    >>"$tmp/php-s.log" 2>&1 &
  pids+=("$!"); SERVER_PID=$!
  URL="http://127.0.0.1:$port/signal.php"
  for _ in $(seq 1 100); do
    php -r '$c = @file_get_contents($argv[1], false, stream_context_create(array("http" => array("ignore_errors" => true)))); exit($c === false ? 1 : 0);' "$URL" && return 0
    sleep 0.1
  done
  echo "php -S did not start"; cat "$tmp/php-s.log"; return 1
}
stop() { kill -TERM -- "-$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; }
drive() { node "$tmp/driver.mjs" "$1" "$URL" "$STATE" "${2:-}" || status=1; }
snapshot() { php "$tmp/snapshot.php" "${SNAP_ARGS[@]}" > "$tmp/$1.json" || fail "snapshot $1"; }
same_rows() { # a b: rooms and messages identical in every column both schemas have (a step adds or drops columns)
  php -r '$a = json_decode(file_get_contents($argv[1]), true); $b = json_decode(file_get_contents($argv[2]), true);
    $common = function (array $x, array $y) { $out = array();
      foreach ($x as $i => $row) { $out[] = isset($y[$i]) ? array_intersect_key($row, $y[$i]) : $row; } return $out; };
    $same = function ($t) use ($a, $b, $common) { return count($a[$t]) === count($b[$t]) && $common($a[$t], $b[$t]) === $common($b[$t], $a[$t]); };
    exit($same("rooms") && $same("messages") ? 0 : 1);' "$tmp/$1.json" "$tmp/$2.json" \
    && ok "rows unchanged by the migration ($1 -> $2: $(php -r '$a = json_decode(file_get_contents($argv[1]), true); echo count($a["rooms"]), " rooms, ", count($a["messages"]), " messages";' "$tmp/$2.json"))" \
    || { fail "rows changed ($1 -> $2)"; diff "$tmp/$1.json" "$tmp/$2.json" | head -20; }
}
expect_version() { # snapshot version
  local v; v="$(php -r 'echo json_decode(file_get_contents($argv[1]), true)["version"];' "$tmp/$1.json")"
  [ "$v" = "$2" ] && ok "schema is $2 ($(php -r 'echo implode(", ", json_decode(file_get_contents($argv[1]), true)["tables"]);' "$tmp/$1.json"))" || fail "schema is $v, expected $2"
}
migrate() { # target (empty = latest), with the new code
  local out
  out="$(PEERDROP_CONFIG="$CONFIG" php "$tmp/new/signal.php" migrate ${1:+"$1"} 2>&1)" && ok "new code: php signal.php migrate ${1:-(to latest)}: $out" || fail "migrate ${1:-}: $out"
}

# ---- SQLite -------------------------------------------------------------------------------------
say "SQLite: schema $prev -> $latest -> $prev -> $latest with live rooms"
mkdir -p "$tmp/sqlite"
CONFIG="$tmp/sqlite/peerdrop.config.php"; STATE="$tmp/sqlite/state.json"
# Only keys both versions know (the old code refuses unknown keys; see the last check below).
cat > "$CONFIG" <<EOF
<?php
return array('data_dir' => '$tmp/sqlite/data', 'secret' => 'rehearsal-secret-0123456789abcdef0123456789',
    'poll_slots' => 0, 'poll_interval_ms' => 100);
EOF
SNAP_ARGS=(sqlite "$tmp/sqlite/data")

serve "$tmp/old" "$CONFIG" && drive seed && stop
snapshot s1; expect_version s1 "$prev"
migrate ""
snapshot s2; expect_version s2 "$latest"; same_rows s1 s2
serve "$tmp/new" "$CONFIG" && drive verify && drive traffic "schema $latest" && stop
snapshot s3
migrate "$prev"
snapshot s4; expect_version s4 "$prev"; same_rows s3 s4
serve "$tmp/old" "$CONFIG" && { echo "      (old code now)"; drive verify && drive traffic "rollback to $prev"; } && stop
snapshot s5; expect_version s5 "$prev"
serve "$tmp/new" "$CONFIG" && { echo "      (new code again: its first request migrates)"; drive verify; } && stop
snapshot s6; expect_version s6 "$latest"; same_rows s5 s6
serve "$tmp/new" "$CONFIG" && drive finish && stop

# A config written for N+1 (schema 4: max_receivers, rooms for several receivers) is refused by
# the old code: trim it on rollback.
cat > "$tmp/sqlite/new-keys.config.php" <<EOF
<?php
return array('data_dir' => '$tmp/sqlite/data', 'secret' => 'rehearsal-secret-0123456789abcdef0123456789',
    'max_receivers' => 8);
EOF
serve "$tmp/old" "$tmp/sqlite/new-keys.config.php" && {
  code="$(node -e 'fetch(process.argv[1]).then(async (r) => console.log(r.status, (await r.json()).error?.code ?? "ok"))' "$URL")"
  [ "$code" = "503 misconfigured" ] && ok "old code with a schema-$latest config: $code (rollback step: remove the keys it names)" \
    || fail "old code with a schema-$latest config answered $code"
  stop
}

# ---- MariaDB --------------------------------------------------------------------------------------
say "MariaDB: schema $latest -> $prev -> $latest with live rooms (new code)"
# Captured first: with pipefail, `php -m | grep -q` fails at random when grep exits before php.
php_modules="$(php -m 2>/dev/null || true)"
if command -v mariadbd >/dev/null 2>&1 && grep -qi '^pdo_mysql$' <<<"$php_modules"; then
  # shellcheck source=lib/mariadb.sh
  . "$here/lib/mariadb.sh"
  if mariadb_start "$tmp/mariadb"; then
    dsn="mysql:host=127.0.0.1;port=$MARIADB_PORT;dbname=peerdrop;charset=utf8mb4"
    mkdir -p "$tmp/mysql"
    CONFIG="$tmp/mysql/peerdrop.config.php"; STATE="$tmp/mysql/state.json"
    cat > "$CONFIG" <<EOF
<?php
return array('data_dir' => '$tmp/mysql/data', 'storage' => 'mysql', 'mysql_dsn' => '$dsn', 'mysql_user' => 'peerdrop',
    'mysql_password' => 'peerdrop-test-pw', 'secret' => 'rehearsal-secret-0123456789abcdef0123456789',
    'poll_slots' => 0, 'poll_interval_ms' => 100);
EOF
    SNAP_ARGS=(mysql "$dsn" peerdrop peerdrop-test-pw peerdrop_)
    serve "$tmp/new" "$CONFIG" && drive seed && stop
    snapshot m1; expect_version m1 "$latest"
    migrate "$prev"
    snapshot m2; expect_version m2 "$prev"; same_rows m1 m2
    migrate ""
    snapshot m3; expect_version m3 "$latest"; same_rows m2 m3
    serve "$tmp/new" "$CONFIG" && drive verify && drive traffic "schema $latest again" && drive finish && stop
  else
    fail "mariadb did not start"
  fi
else
  skipped+=("MariaDB (apt-get install -y mariadb-server php-mysql)")
  echo "SKIPPED: MariaDB (apt-get install -y mariadb-server php-mysql)"
fi

if grep -E 'PHP (Warning|Notice|Deprecated|Fatal|Parse)|Uncaught' "$tmp/php-s.log"; then fail "php -S logged PHP errors"; fi
if [ "${REQUIRE_ALL:-}" = "1" ] && [ "${#skipped[@]}" -gt 0 ]; then fail "REQUIRE_ALL=1 and sections were skipped"; fi
say "migration rehearsal: $([ "$status" = 0 ] && echo PASSED || echo FAILED) in $(( $(date +%s) - started_at )) s (schema $prev <-> $latest; skipped: ${#skipped[@]})"
exit "$status"
