#!/usr/bin/env bash
# Runs every signaling test (about 2-3 minutes on 2 cores):
#   1. PHPUnit unit tests (SQLite)
#   2. conformance suite (tests/conformance) against `php -S` (+ a clock-shifted and a rate-limited server)
#   3. fault injection (locked, corrupt, full database; unwritable data dir) against `php -S`
#   4. schemathesis against docs/signaling.openapi.yaml on `php -S`
#   5. Apache + mod_php: conformance suite, early 413, nothing private fetchable over HTTP
#   6. MariaDB: PHPUnit MysqlStoreTest and the conformance suite with storage = mysql
#   7. PHP 7.4 through @php-wasm/node (lint + create/join/send/poll smoke)
#   8. benchmark harness smoke (bench/signaling, 10 peers)
#   9. `php signal.php check` on good and broken deployments; servers' logs must be clean
#
#   bash php-signaling/tests/run.sh          (from anywhere; CI calls it from the repo root)
#
# Needs: php (7.4+) with pdo_sqlite, phpunit 9.6 (Debian: /usr/bin/phpunit), node 20+.
# Optional (a section whose tool is missing is reported as SKIPPED; REQUIRE_ALL=1 turns skips into
# failures): apache2 + libapache2-mod-php, mariadb-server + php-mysql, schemathesis (pip) or
# SCHEMATHESIS=/path/to/st, @php-wasm/node (npm; PHP_WASM_DIR=dir holding node_modules).
# Root is needed for the tmpfs (disk full) and run-as-nobody (unwritable dir) faults.
# With CI=true and root, missing Debian packages (php-cli php-sqlite3 phpunit) are installed.
set -u -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg="$(dirname "$here")"            # php-signaling/
repo="$(dirname "$pkg")"            # repository root
started_at=$(date +%s)

say() { printf '\n=== %s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }
skipped=()
skip() { skipped+=("$1"); printf 'SKIPPED: %s\n' "$1"; }

# ---- prerequisites -------------------------------------------------------------------------
need_pkgs=()
command -v php >/dev/null 2>&1 || need_pkgs+=(php-cli)
# Captured first: with pipefail, `php -m | grep -q` fails at random when grep exits before php.
php_modules="$(php -m 2>/dev/null || true)"
if command -v php >/dev/null 2>&1 && ! grep -qi '^pdo_sqlite$' <<<"$php_modules"; then need_pkgs+=(php-sqlite3); fi
PHPUNIT="${PHPUNIT:-}"
if [ -z "$PHPUNIT" ]; then
  if [ -x /usr/bin/phpunit ]; then PHPUNIT=/usr/bin/phpunit; else PHPUNIT="$(command -v phpunit || true)"; fi
fi
[ -n "$PHPUNIT" ] || need_pkgs+=(phpunit)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  if [ "${CI:-}" = "true" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq php-cli php-sqlite3 phpunit >/dev/null || die "apt-get install failed"
    PHPUNIT=/usr/bin/phpunit
  else
    die "missing: ${need_pkgs[*]} (Debian: apt-get install -y php-cli php-sqlite3 phpunit)"
  fi
fi
command -v node >/dev/null 2>&1 || die "node 20+ is required for the conformance suite"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "node 20+ is required (found $(node --version))"

# shellcheck source=lib/apache.sh
. "$here/lib/apache.sh"
# shellcheck source=lib/mariadb.sh
. "$here/lib/mariadb.sh"

# ---- temp layout: <tmp>/www/signal.php, <tmp>/peerdrop.config.php, <tmp>/data ----------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/peerdrop-signal-test.XXXXXX")"
chmod 0755 "$tmp"   # the run-as-nobody server must reach its own subdirectory
pids=()
mounted=()
cleanup() {
  apache_stop
  mariadb_stop
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] || continue
    # Each server runs in its own process group (setsid): stop the group (parent + workers).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  sleep 0.2
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] || continue
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  for m in "${mounted[@]:-}"; do [ -n "$m" ] && umount "$m" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

METRICS_TOKEN="metrics-token-for-tests-0123456789"
SECRET="test-secret-0123456789abcdef0123456789"
# ICE servers of the main deployment (never contacted: the suite checks what create/join hand out).
STUN_URL="stun:stun.peerdrop.test:3478"
TURN_UDP="turn:turn.peerdrop.test:3478?transport=udp"
TURN_TCP="turn:turn.peerdrop.test:3478?transport=tcp"
TURN_SECRET="turn-static-auth-secret-0123456789abcdef"

mkdir -p "$tmp/www" "$tmp/data"
cp "$pkg/signal.php" "$tmp/www/signal.php"
# Found automatically: the config lives in the parent directory of the web root.
cat > "$tmp/peerdrop.config.php" <<EOF
<?php
return array(
    'data_dir' => '$tmp/data',
    'poll_slots' => 2,
    'allowed_origins' => array('http://allowed.test'),
    'metrics_token' => '$METRICS_TOKEN',
    'rate_limit_per_minute' => 1000000,
    'rate_limit_burst' => 100000,
    'quota_rooms' => 1000000,
    'quota_creates_per_minute' => 1000000,
    'quota_failed_joins' => 1000000,
    'stun_urls' => array('$STUN_URL'),
    'turn_urls' => array('$TURN_UDP', '$TURN_TCP'),
    'turn_secret' => '$TURN_SECRET',
    'test_mode' => true,
);
EOF
# A second deployment on the same web root through PEERDROP_CONFIG: small rate limit, own data, no ICE servers.
cat > "$tmp/ratelimited.config.php" <<EOF
<?php
return array('data_dir' => '$tmp/data-rl', 'rate_limit_per_minute' => 6, 'rate_limit_burst' => 5);
EOF
# The hostile-clients deployment (tests/conformance "hostile clients"): believes X-Forwarded-For from
# this machine, so the suite can play many clients; default quotas; a 1 MiB cap on the live data so
# that filling it is quick. Only keys every schema-2 signal.php knows, so the same section can be
# run against older code. Its twin on the same data dir runs 2 hours ahead (expiry).
hostile_config() { # data dir, then extra PHP text for the array
  printf "<?php\nreturn array('data_dir' => '%s', 'trusted_proxies' => array('127.0.0.1'), 'max_db_bytes' => 1048576,\n    'poll_slots' => 0, 'test_mode' => true%s);\n" "$1" "${2:-}"
}
hostile_config "$tmp/data-hostile" > "$tmp/hostile.config.php"
cat > "$tmp/fault.config.php" <<EOF
<?php
return array('data_dir' => '$tmp/data-fault', 'busy_timeout_ms' => 500, 'rate_limit_per_minute' => 0);
EOF

free_port() {
  php -r '$s = stream_socket_server("tcp://127.0.0.1:0", $e, $m); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);'
}

start_server() { # name port workers [env...]
  local name="$1" port="$2" workers="$3"; shift 3
  env "$@" PHP_CLI_SERVER_WORKERS="$workers" setsid php -d display_errors=stderr -d log_errors=0 \
    -S "127.0.0.1:$port" -t "$tmp/www" >"$tmp/$name.log" 2>&1 &
  pids+=("$!")
}

wait_ready() { # url [status]
  node -e '
    const [url, want] = [process.argv[1], Number(process.argv[2] || 200)];
    (async () => {
      for (let i = 0; i < 100; i++) {
        try { const r = await fetch(url); if (r.status === want) process.exit(0); } catch (e) {}
        await new Promise((r) => setTimeout(r, 100));
      }
      console.error("server did not become ready: " + url); process.exit(1);
    })();' "$1" "${2:-200}"
}

conformance() { # label, then env assignments
  local label="$1"; shift
  say "conformance suite: $label (node $(node --version))"
  env "$@" node --test --test-concurrency=1 --test-reporter=spec "$repo"/tests/conformance/*.test.mjs \
    || { status=1; echo "conformance ($label): FAILED"; }
}

port="$(free_port)"; port_future="$(free_port)"; port_rl="$(free_port)"; port_fault="$(free_port)"
port_hostile="$(free_port)"; port_hostile_future="$(free_port)"
start_server main "$port" 4
# Same web root, same data dir, clock 2 hours ahead: every TTL has passed there.
start_server future "$port_future" 2 PEERDROP_TEST_NOW=+7200
start_server ratelimited "$port_rl" 2 PEERDROP_CONFIG="$tmp/ratelimited.config.php"
start_server fault "$port_fault" 2 PEERDROP_CONFIG="$tmp/fault.config.php" PEERDROP_SECRET="$SECRET"
start_server hostile "$port_hostile" 4 PEERDROP_CONFIG="$tmp/hostile.config.php" PEERDROP_SECRET="$SECRET"
start_server hostile-future "$port_hostile_future" 2 PEERDROP_CONFIG="$tmp/hostile.config.php" PEERDROP_SECRET="$SECRET" PEERDROP_TEST_NOW=+7200
url="http://127.0.0.1:$port/signal.php"
url_future="http://127.0.0.1:$port_future/signal.php"
url_rl="http://127.0.0.1:$port_rl/signal.php"
url_fault="http://127.0.0.1:$port_fault/signal.php"
url_hostile="http://127.0.0.1:$port_hostile/signal.php"
url_hostile_future="http://127.0.0.1:$port_hostile_future/signal.php"
for u in "$url" "$url_future" "$url_rl" "$url_fault" "$url_hostile" "$url_hostile_future"; do wait_ready "$u" || { tail -n 20 "$tmp"/*.log; exit 1; }; done

status=0

say "phpunit ($("$PHPUNIT" --version | head -n1))"
(cd "$pkg" && "$PHPUNIT" -c "$pkg/phpunit.xml") || { status=1; echo "phpunit: FAILED"; }

conformance "php -S, sqlite" SIGNAL_URL="$url" SIGNAL_URL_FUTURE="$url_future" SIGNAL_POLL_SLOTS=2 \
  SIGNAL_ALLOWED_ORIGIN=http://allowed.test SIGNAL_DATA_DIR="$tmp" SIGNAL_STORAGE=sqlite \
  SIGNAL_METRICS_TOKEN="$METRICS_TOKEN" SIGNAL_URL_RATELIMITED="$url_rl" SIGNAL_RATE_BURST=5 \
  SIGNAL_STUN_URL="$STUN_URL" SIGNAL_TURN_URL="$TURN_UDP $TURN_TCP" SIGNAL_TURN_SECRET="$TURN_SECRET" \
  SIGNAL_URL_HOSTILE="$url_hostile" SIGNAL_URL_HOSTILE_FUTURE="$url_hostile_future"

# ---- faults ----------------------------------------------------------------------------------
say "faults: locked, corrupt and full database; unwritable data dir"
fault_env=(FAULT_URL="$url_fault" FAULT_DATA_DIR="$tmp/data-fault")
if [ "$(id -u)" = "0" ]; then
  mkdir -p "$tmp/data-full"
  if mount -t tmpfs -o size=640k,mode=0700 peerdrop-test-full "$tmp/data-full" 2>/dev/null; then
    mounted+=("$tmp/data-full")
    printf '<?php return array("data_dir" => "%s", "max_db_bytes" => 0, "max_queue" => 100000, "max_room_messages" => 100000, "rate_limit_per_minute" => 0);\n' \
      "$tmp/data-full" > "$tmp/full.config.php"
    port_full="$(free_port)"
    start_server full "$port_full" 2 PEERDROP_CONFIG="$tmp/full.config.php" PEERDROP_SECRET="$SECRET"
    wait_ready "http://127.0.0.1:$port_full/signal.php" && fault_env+=(FULL_URL="http://127.0.0.1:$port_full/signal.php")
  else
    skip "disk-full fault (cannot mount a tmpfs here)"
  fi
  # A server as nobody whose data dir exists but belongs to root (0755): it cannot write there.
  ro="$tmp/ro"; mkdir -p "$ro/www" "$ro/data"; cp "$pkg/signal.php" "$ro/www/"
  printf '<?php return array("data_dir" => "%s", "secret" => "%s");\n' "$ro/data" "$SECRET" > "$ro/peerdrop.config.php"
  chmod 0755 "$ro" "$ro/www" "$ro/data"; chmod 0644 "$ro/www/signal.php" "$ro/peerdrop.config.php"
  port_ro="$(free_port)"
  PHP_CLI_SERVER_WORKERS=1 setsid setpriv --reuid=65534 --regid=65534 --clear-groups \
    php -d display_errors=stderr -d log_errors=0 -S "127.0.0.1:$port_ro" -t "$ro/www" >"$tmp/ro.log" 2>&1 &
  pids+=("$!")
  wait_ready "http://127.0.0.1:$port_ro/signal.php" 503 && fault_env+=(RO_URL="http://127.0.0.1:$port_ro/signal.php")
else
  skip "disk-full and unwritable-dir faults (need root for tmpfs and setpriv)"
fi
env "${fault_env[@]}" node --test --test-concurrency=1 --test-reporter=spec "$here/http/faults.test.mjs" \
  || { status=1; echo "faults: FAILED"; }

# ---- schemathesis ------------------------------------------------------------------------------
say "schemathesis against docs/signaling.openapi.yaml"
ST="${SCHEMATHESIS:-$(command -v st || command -v schemathesis || true)}"
if [ -n "$ST" ]; then
  # Bounded: at most 150 generated examples per operation; any 5xx or non-conforming response fails.
  # Excluded checks, and why: negative_data_rejection / positive_data_acceptance / missing_required_header
  # (the contract deliberately answers some schema-invalid bodies with 2xx-compatible codes such as
  # 401/404/409/410, and ignores unknown fields); ignored_auth (the Authorization header is only read
  # for ?metrics); allow_header_conformance and unsupported_method (the schema declares PUT/DELETE/PATCH
  # only to document their 405, so `Allow: GET, POST, OPTIONS` is correct).
  (cd "$tmp" && "$ST" --config-file "$here/schemathesis.toml" run "$repo/docs/signaling.openapi.yaml" --url "http://127.0.0.1:$port" \
      --checks all --exclude-checks ignored_auth,negative_data_rejection,positive_data_acceptance,unsupported_method,missing_required_header,allow_header_conformance \
      --max-examples 150 --seed 1 --no-color >"$tmp/schemathesis.log" 2>&1) \
    && tail -n 15 "$tmp/schemathesis.log" \
    || { status=1; tail -n 60 "$tmp/schemathesis.log"; echo "schemathesis: FAILED"; }
else
  skip "schemathesis (pip install schemathesis, or set SCHEMATHESIS=path/to/st)"
fi

# ---- Apache + mod_php --------------------------------------------------------------------------
say "Apache + mod_php (private instance)"
if command -v apache2 >/dev/null 2>&1 && ls /usr/lib/apache2/modules/libphp*.so >/dev/null 2>&1; then
  ap="$tmp/apache"; mkdir -p "$ap/www" "$ap/data" "$ap/data-hostile"
  cp "$pkg/signal.php" "$ap/www/signal.php"; cp "$pkg/htaccess.example" "$ap/www/.htaccess"
  cat > "$ap/peerdrop.config.php" <<EOF
<?php
return array('data_dir' => '$ap/data', 'poll_slots' => 2, 'metrics_token' => '$METRICS_TOKEN',
    'rate_limit_per_minute' => 1000000, 'rate_limit_burst' => 100000, 'allowed_origins' => array('http://allowed.test'),
    'quota_rooms' => 1000000, 'quota_creates_per_minute' => 1000000, 'quota_failed_joins' => 1000000);
EOF
  # The hostile-clients deployment beside it: the same file under two more names, each told its
  # config (and the twin its clock) by SetEnv.
  hostile_config "$ap/data-hostile" > "$ap/hostile.config.php"
  cp "$pkg/signal.php" "$ap/www/hostile.php"; cp "$pkg/signal.php" "$ap/www/hostile-future.php"
  export APACHE_EXTRA_CONF="LoadModule env_module /usr/lib/apache2/modules/mod_env.so
<Files hostile.php>
  SetEnv PEERDROP_CONFIG $ap/hostile.config.php
</Files>
<Files hostile-future.php>
  SetEnv PEERDROP_CONFIG $ap/hostile.config.php
  SetEnv PEERDROP_TEST_NOW +7200
</Files>"
  # Decoys in the web root that must never be served: a stray database, a data dir left there.
  echo 'SQLite format 3 decoy' > "$ap/www/stray.sqlite"
  mkdir -p "$ap/www/peerdrop-data"; echo 'decoy' > "$ap/www/peerdrop-data/secret.key"
  php -r 'define("PEERDROP_LIBRARY", 1); require $argv[1]; @rmdir($argv[2]); PeerDropDataDir::ensure($argv[2]); file_put_contents($argv[2] . "/peerdrop.sqlite", "decoy");' \
    "$pkg/signal.php" "$ap/www/guarded"
  chmod -R a+rX "$ap"
  [ "$(id -u)" = "0" ] && chown -R www-data "$ap/data" "$ap/data-hostile" 2>/dev/null
  port_ap="$(free_port)"
  apache_start "$ap" "$port_ap" 8
  url_ap="http://127.0.0.1:$port_ap/signal.php"
  if wait_ready "$url_ap"; then
    # Nothing private is reachable: data dir outside the root, decoys denied by .htaccess rules.
    node -e '
      const base = process.argv[1];
      const paths = ["/data/peerdrop.sqlite", "/../data/peerdrop.sqlite", "/%2e%2e/data/peerdrop.sqlite", "/stray.sqlite",
        "/peerdrop-data/secret.key", "/guarded/peerdrop.sqlite", "/guarded/.htaccess", "/.htaccess", "/peerdrop.config.php", "/../peerdrop.config.php"];
      (async () => {
        let bad = 0;
        for (const p of paths) {
          const r = await fetch(base + p, { redirect: "manual" });
          const body = await r.text();
          const ok = r.status >= 400 && !/decoy|SQLite format|<\?php/.test(body);
          console.log(`${ok ? "ok  " : "FAIL"} ${r.status} ${p}`);
          if (!ok) bad++;
        }
        process.exit(bad ? 1 : 0);
      })();' "http://127.0.0.1:$port_ap" || { status=1; echo "apache: private files reachable: FAILED"; }
    # No ICE servers configured here: SIGNAL_STUN_URL set empty makes the suite expect "ice_servers": [].
    conformance "Apache mod_php, sqlite" SIGNAL_URL="$url_ap" SIGNAL_POLL_SLOTS=2 SIGNAL_ALLOWED_ORIGIN=http://allowed.test \
      SIGNAL_DATA_DIR="$ap" SIGNAL_STORAGE=sqlite SIGNAL_METRICS_TOKEN="$METRICS_TOKEN" SIGNAL_EARLY_413=1 SIGNAL_STUN_URL="" \
      SIGNAL_URL_HOSTILE="http://127.0.0.1:$port_ap/hostile.php" SIGNAL_URL_HOSTILE_FUTURE="http://127.0.0.1:$port_ap/hostile-future.php"
  else
    status=1; tail -n 30 "$ap/error.log" "$ap/stdout.log"; echo "apache: did not start: FAILED"
  fi
  apache_stop
  unset APACHE_EXTRA_CONF
  if grep -hE 'PHP (Warning|Notice|Deprecated|Fatal|Parse)|Uncaught|peerdrop:' "$ap/php-error.log" "$ap/error.log" 2>/dev/null; then
    echo "apache logs contain PHP errors"; status=1
  fi
else
  skip "Apache (apt-get install -y apache2 libapache2-mod-php)"
fi

# ---- MariaDB -----------------------------------------------------------------------------------
say "MariaDB backend (private mariadbd)"
if command -v mariadbd >/dev/null 2>&1 && grep -qi '^pdo_mysql$' <<<"$php_modules"; then
  if mariadb_start "$tmp/mariadb"; then
    dsn="mysql:host=127.0.0.1;port=$MARIADB_PORT;dbname=peerdrop;charset=utf8mb4"
    (cd "$pkg" && PEERDROP_TEST_MYSQL_DSN="$dsn" PEERDROP_TEST_MYSQL_USER=peerdrop PEERDROP_TEST_MYSQL_PASSWORD=peerdrop-test-pw \
      "$PHPUNIT" -c "$pkg/phpunit.xml" --filter MysqlStoreTest) || { status=1; echo "phpunit (mysql): FAILED"; }
    cat > "$tmp/mysql.config.php" <<EOF
<?php
return array('data_dir' => '$tmp/data-mysql', 'storage' => 'mysql', 'mysql_dsn' => '$dsn', 'mysql_user' => 'peerdrop',
    'poll_slots' => 2, 'metrics_token' => '$METRICS_TOKEN', 'rate_limit_per_minute' => 1000000, 'rate_limit_burst' => 100000,
    'allowed_origins' => array('http://allowed.test'), 'test_mode' => true,
    'quota_rooms' => 1000000, 'quota_creates_per_minute' => 1000000, 'quota_failed_joins' => 1000000);
EOF
    hostile_config "$tmp/data-mysql-hostile" ", 'storage' => 'mysql', 'mysql_dsn' => '$dsn', 'mysql_user' => 'peerdrop', 'mysql_table_prefix' => 'hostile_'" \
      > "$tmp/mysql-hostile.config.php"
    port_my="$(free_port)"; port_my_future="$(free_port)"; port_my_hostile="$(free_port)"; port_my_hostile_future="$(free_port)"
    start_server mysql "$port_my" 4 PEERDROP_CONFIG="$tmp/mysql.config.php" PEERDROP_MYSQL_PASSWORD=peerdrop-test-pw
    start_server mysql-future "$port_my_future" 2 PEERDROP_CONFIG="$tmp/mysql.config.php" PEERDROP_MYSQL_PASSWORD=peerdrop-test-pw PEERDROP_TEST_NOW=+7200
    start_server mysql-hostile "$port_my_hostile" 4 PEERDROP_CONFIG="$tmp/mysql-hostile.config.php" PEERDROP_MYSQL_PASSWORD=peerdrop-test-pw PEERDROP_SECRET="$SECRET"
    start_server mysql-hostile-future "$port_my_hostile_future" 2 PEERDROP_CONFIG="$tmp/mysql-hostile.config.php" PEERDROP_MYSQL_PASSWORD=peerdrop-test-pw \
      PEERDROP_SECRET="$SECRET" PEERDROP_TEST_NOW=+7200
    url_my="http://127.0.0.1:$port_my/signal.php"
    url_my_hostile="http://127.0.0.1:$port_my_hostile/signal.php"
    url_my_hostile_future="http://127.0.0.1:$port_my_hostile_future/signal.php"
    if wait_ready "$url_my" && wait_ready "http://127.0.0.1:$port_my_future/signal.php" && wait_ready "$url_my_hostile" \
        && wait_ready "$url_my_hostile_future"; then
      conformance "php -S, mysql" SIGNAL_URL="$url_my" SIGNAL_URL_FUTURE="http://127.0.0.1:$port_my_future/signal.php" \
        SIGNAL_POLL_SLOTS=2 SIGNAL_ALLOWED_ORIGIN=http://allowed.test SIGNAL_STORAGE=mysql SIGNAL_METRICS_TOKEN="$METRICS_TOKEN" \
        SIGNAL_URL_HOSTILE="$url_my_hostile" SIGNAL_URL_HOSTILE_FUTURE="$url_my_hostile_future"
    else
      status=1; tail -n 20 "$tmp/mysql.log"; echo "mysql server: FAILED"
    fi
  else
    status=1; echo "mariadb: did not start: FAILED"
  fi
else
  skip "MariaDB (apt-get install -y mariadb-server php-mysql)"
fi

# ---- PHP 7.4 -----------------------------------------------------------------------------------
say "PHP 7.4 (@php-wasm/node)"
php74_out="$(node "$here/php74/run.mjs" "$pkg/signal.php" 2>&1)"; php74_rc=$?
echo "$php74_out"
case "$php74_rc" in
  0) ;;
  3) skip "PHP 7.4 run (@php-wasm/node not installed: npm install --prefix \$PHP_WASM_DIR @php-wasm/node)" ;;
  *) status=1; echo "php 7.4: FAILED" ;;
esac

# ---- bench harness smoke -------------------------------------------------------------------------
say "benchmark harness smoke (10 peers, php -S)"
if [ -f "$repo/bench/signaling/bench.mjs" ]; then
  node "$repo/bench/signaling/bench.mjs" --url "$url" --peers 10 --duration 4 --no-write \
    || { status=1; echo "bench smoke: FAILED"; }
else
  skip "bench/signaling/bench.mjs not found"
fi

# ---- check -------------------------------------------------------------------------------------
say "php signal.php check"
prod="$tmp/prod"
mkdir -p "$prod/www"
cp "$pkg/signal.php" "$prod/www/signal.php"
if out="$(env -u PEERDROP_SECRET -u PEERDROP_DATA_DIR -u PEERDROP_CONFIG php "$prod/www/signal.php" check 2>&1)"; then
  echo "$out"
else
  echo "$out"; echo "check: expected success for a clean deployment"; status=1
fi
if PEERDROP_SECRET=change-me php "$prod/www/signal.php" check >/dev/null 2>&1; then
  echo "check: expected failure for an example secret"; status=1
else
  echo "check rejects an example secret: ok"
fi
if PEERDROP_DATA_DIR="$prod/www/data" php "$prod/www/signal.php" check >/dev/null 2>&1; then
  echo "check: expected failure for a data dir inside the web root"; status=1
else
  echo "check rejects a data dir inside the web root: ok"
fi

say "server logs"
if grep -E 'PHP (Warning|Notice|Deprecated|Fatal|Parse)|Uncaught|peerdrop:' "$tmp"/*.log; then
  echo "server logs contain PHP errors"; status=1
else
  echo "no PHP warnings or errors logged"
fi

if [ "${REQUIRE_ALL:-}" = "1" ] && [ "${#skipped[@]}" -gt 0 ]; then
  echo "REQUIRE_ALL=1 and sections were skipped"; status=1
fi
say "took $(( $(date +%s) - started_at )) s; skipped: ${#skipped[@]}"
for s in "${skipped[@]:-}"; do [ -n "$s" ] && echo "  - $s"; done
if [ "$status" -eq 0 ]; then say "ALL PASSED"; else say "FAILURES (see above)"; fi
exit "$status"
