#!/usr/bin/env bash
# Release gate "environment hardening": signal.php in a production-like temporary deployment
# (web root holding only signal.php, config and data dir outside it, long random secret,
# rate limits on, metrics token, one allowed CORS origin, 4 held-poll slots).
#   1. `php signal.php check WEB_ROOT` passes with no FAIL and no WARN;
#   2. worker budget: poll_slots <= ENTRY_PROCESSES / 4 (ENTRY_PROCESSES defaults to 20, the
#      CloudLinux default; set it to your host's limit);
#   3. served by php -S: health shows the limits in force; security headers; CORS allows only
#      the configured origin; the per-client rate limit answers 429 after the burst;
#   4. `check` refuses broken deployments: example secret, short secret, data dir in the web
#      root, test_mode, unknown key, wildcard origin; and at runtime a data dir inside the
#      document root gets 503 misconfigured.
# Prints one line per check; exit 1 if any failed. The last line is the summary.
set -u -o pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ENTRY_PROCESSES="${ENTRY_PROCESSES:-20}"
POLL_SLOTS=4
tmp="$(mktemp -d "${TMPDIR:-/tmp}/peerdrop-envcheck.XXXXXX")"
server=""
cleanup() { [ -n "$server" ] && kill -TERM -- "-$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
failed=0; passed=0
ok() { echo "ok    $*"; passed=$((passed + 1)); }
bad() { echo "FAIL  $*"; failed=$((failed + 1)); }

mkdir -p "$tmp/www"
cp "$repo/php-signaling/signal.php" "$tmp/www/signal.php"
secret="$(php -r 'echo bin2hex(random_bytes(32));')"
metrics="$(php -r 'echo bin2hex(random_bytes(16));')"
write_config() { # file extra-php-lines
  cat > "$1" <<EOF
<?php
return array(
    'data_dir' => '$tmp/data',
    'secret' => '$secret',
    'storage' => 'sqlite',
    'poll_slots' => $POLL_SLOTS,
    'rate_limit_per_minute' => 600,
    'rate_limit_burst' => 120,
    'metrics_token' => '$metrics',
    'allowed_origins' => array('https://app.example.org'),
$2
);
EOF
}
write_config "$tmp/peerdrop.config.php" ""

# 1. check on the good deployment
out="$(env -u PEERDROP_SECRET -u PEERDROP_DATA_DIR -u PEERDROP_CONFIG php "$tmp/www/signal.php" check "$tmp/www" 2>&1)"; rc=$?
echo "$out" | sed 's/^/      | /'
n_ok="$(grep -c '^OK ' <<<"$out")"; n_warn="$(grep -c '^WARN' <<<"$out")"; n_fail="$(grep -c '^FAIL' <<<"$out")"
if [ "$rc" = 0 ] && [ "$n_fail" = 0 ] && [ "$n_warn" = 0 ]; then
  ok "php signal.php check: $n_ok OK, 0 WARN, 0 FAIL"
else
  bad "php signal.php check: exit $rc, $n_warn WARN, $n_fail FAIL"
fi
for want in 'PHP [0-9]' 'pdo_sqlite is available' 'outside' 'secret from the config' 'database ready: schema' 'rate limit: 600/min' 'CORS: allowed origins https://app.example.org'; do
  grep -q "^OK .*$want" <<<"$out" && ok "check covers: $want" || bad "check output lacks: $want"
done
php_version="$(php -r 'echo PHP_VERSION;')"
php -r 'exit(version_compare(PHP_VERSION, "7.4.0", ">=") ? 0 : 1);' && ok "PHP $php_version >= 7.4" || bad "PHP $php_version < 7.4"

# 2. worker budget
if [ $((POLL_SLOTS * 4)) -le "$ENTRY_PROCESSES" ]; then
  ok "worker budget: poll_slots $POLL_SLOTS <= 1/4 of $ENTRY_PROCESSES entry processes"
else
  bad "worker budget: poll_slots $POLL_SLOTS > 1/4 of $ENTRY_PROCESSES entry processes"
fi

# 3. served
port="$(php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);')"
env -u PEERDROP_SECRET -u PEERDROP_DATA_DIR -u PEERDROP_CONFIG PHP_CLI_SERVER_WORKERS=2 setsid \
  php -S "127.0.0.1:$port" -t "$tmp/www" >"$tmp/php-s.log" 2>&1 &
server=$!
node - "http://127.0.0.1:$port/signal.php" "$POLL_SLOTS" <<'JS' && passed=$((passed + 5)) || failed=$((failed + 1))
const [url, slots] = process.argv.slice(2);
const wait = async () => { for (let i = 0; i < 100; i++) { try { return await fetch(url); } catch { await new Promise((r) => setTimeout(r, 100)); } } throw new Error('php -S did not start'); };
const fail = (m) => { console.log(`FAIL  ${m}`); process.exit(1); };
const h = await wait();
const body = await h.json();
if (h.status !== 200 || body.ok !== true) fail(`health: ${h.status} ${JSON.stringify(body)}`);
const l = body.limits;
if (l.poll_slots !== Number(slots) || l.rate_limit_per_minute !== 600 || l.rate_limit_burst !== 120) fail(`limits in force: ${JSON.stringify(l)}`);
console.log(`ok    health 200: schema ${body.schema}, storage ${body.storage}, poll_slots ${l.poll_slots}, rate limit ${l.rate_limit_per_minute}/min burst ${l.rate_limit_burst}`);
const want = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff', 'content-security-policy': "default-src 'none'; frame-ancestors 'none'" };
for (const [k, v] of Object.entries(want)) if (h.headers.get(k) !== v) fail(`header ${k}: ${h.headers.get(k)}`);
console.log('ok    security headers: Cache-Control, Referrer-Policy, X-Content-Type-Options, Content-Security-Policy');
const pre = (origin) => fetch(url, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } });
const good = await pre('https://app.example.org');
const evil = await pre('https://evil.example');
if (good.status !== 200 || good.headers.get('access-control-allow-origin') !== 'https://app.example.org') fail(`CORS allowed origin: ${good.status}`);
if (evil.status !== 403 || evil.headers.get('access-control-allow-origin') !== null) fail(`CORS other origin: ${evil.status}`);
console.log('ok    CORS: configured origin 200 with its ACAO, another origin 403 without');
const m = await fetch(`${url}?metrics`);
if (m.status !== 401) fail(`metrics without token: ${m.status}`);
console.log('ok    metrics without the bearer token: 401');
// The bucket holds 120 and refills 10 per second: however slow this machine is, the number of
// requests let through in T seconds must stay within 120 + 10 T (plus a little slack), and some
// must be refused. 400 requests, 8 at a time.
const t0 = Date.now();
let okCount = 0, limited = 0, other = 0, next = 0;
await Promise.all(Array.from({ length: 8 }, async () => {
  while (next < 400) {
    next++;
    const r = await fetch(url);
    await r.arrayBuffer();
    if (r.status === 200) okCount++; else if (r.status === 429) limited++; else other++;
  }
}));
const secs = (Date.now() - t0) / 1000;
const allowed = Math.floor(120 + 10 * secs + 5);
if (!limited || okCount > allowed || other) fail(`rate limit: ${okCount} allowed, ${limited} limited, ${other} other in ${secs.toFixed(1)} s (at most ${allowed} may pass)`);
console.log(`ok    rate limit: 400 requests in ${secs.toFixed(1)} s: ${okCount} allowed (bound ${allowed} = burst 120 + 10/s), ${limited} got 429 rate_limited`);

JS
kill -TERM -- "-$server" 2>/dev/null; server=""
grep -E 'PHP (Warning|Notice|Deprecated|Fatal)' "$tmp/php-s.log" && bad "php -S logged PHP errors"

# 4. broken deployments must be refused
refused() { # label env... -- config-extra
  local label="$1"; shift
  if env -u PEERDROP_SECRET -u PEERDROP_DATA_DIR -u PEERDROP_CONFIG "$@" php "$tmp/www/signal.php" check "$tmp/www" >"$tmp/neg.out" 2>&1; then
    bad "check accepted: $label"
  else
    ok "check refuses: $label ($(grep -m1 '^FAIL' "$tmp/neg.out" | cut -c7-90)...)"
  fi
}
refused "example secret" PEERDROP_SECRET=change-me
refused "short secret" PEERDROP_SECRET=0123456789abcdef0123
refused "data dir inside the web root" PEERDROP_DATA_DIR="$tmp/www/peerdrop-data"
write_config "$tmp/testmode.config.php" "    'test_mode' => true,"
refused "test_mode on" PEERDROP_CONFIG="$tmp/testmode.config.php"
write_config "$tmp/unknown.config.php" "    'rate_limit' => 10,"
refused "unknown config key" PEERDROP_CONFIG="$tmp/unknown.config.php"
write_config "$tmp/wild.config.php" "    'allowed_origins' => array('*'),"
sed -i "0,/'allowed_origins' => array('https:\/\/app.example.org'),/{//d}" "$tmp/wild.config.php"
refused "wildcard CORS origin" PEERDROP_CONFIG="$tmp/wild.config.php"

# Runtime: a data dir inside DOCUMENT_ROOT is refused with 503 misconfigured.
port="$(php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);')"
env -u PEERDROP_SECRET -u PEERDROP_CONFIG PEERDROP_DATA_DIR="$tmp/www/peerdrop-data" setsid php -d variables_order=EGPCS -S "127.0.0.1:$port" -t "$tmp/www" >>"$tmp/php-s.log" 2>&1 &
server=$!
got="$(node -e 'const u = process.argv[1]; (async () => { for (let i = 0; i < 100; i++) { try { const r = await fetch(u); console.log(r.status, (await r.json()).error?.code); return; } catch { await new Promise((r) => setTimeout(r, 100)); } } console.log("no answer"); })()' "http://127.0.0.1:$port/signal.php")"
[ "$got" = "503 misconfigured" ] && ok "runtime refuses a data dir inside the document root: $got" || bad "data dir inside the document root answered: $got"

echo "summary: $passed passed, $failed failed (php check $n_ok OK/$n_warn WARN/$n_fail FAIL on PHP $php_version; poll_slots $POLL_SLOTS of $ENTRY_PROCESSES entry processes)"
[ "$failed" = 0 ]
