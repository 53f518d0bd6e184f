#!/usr/bin/env bash
# Runs every signaling test: PHPUnit unit tests, then the node:test conformance suite against
# signal.php served by `php -S` from a temp web root, with its data dir outside that root.
#
#   bash php-signaling/tests/run.sh          (from anywhere; CI calls it from the repo root)
#
# Needs: php (7.4+) with pdo_sqlite, phpunit 9.6 (Debian: /usr/bin/phpunit), node 20+.
# With CI=true and root, missing Debian packages (php-cli php-sqlite3 phpunit) are installed.
set -u -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg="$(dirname "$here")"            # php-signaling/
repo="$(dirname "$pkg")"            # repository root

say() { printf '\n=== %s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# ---- prerequisites -------------------------------------------------------------------------
need_pkgs=()
command -v php >/dev/null 2>&1 || need_pkgs+=(php-cli)
if command -v php >/dev/null 2>&1 && ! php -m 2>/dev/null | grep -qi '^pdo_sqlite$'; then need_pkgs+=(php-sqlite3); fi
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

# ---- temp layout: <tmp>/www/signal.php, <tmp>/peerdrop.config.php, <tmp>/data ----------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/peerdrop-signal-test.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] || continue
    # Each server runs in its own process group (setsid): stop the group (parent + workers).
    # Without setsid, stop the workers (children of this server) first, then the server.
    if ! kill -TERM -- "-$pid" 2>/dev/null; then
      command -v pkill >/dev/null 2>&1 && pkill -TERM -P "$pid" 2>/dev/null
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  sleep 0.2
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] || continue
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/www" "$tmp/data"
cp "$pkg/signal.php" "$tmp/www/signal.php"
# Found automatically: the config lives in the parent directory of the web root.
cat > "$tmp/peerdrop.config.php" <<EOF
<?php
return array(
    'data_dir' => '$tmp/data',
    'poll_slots' => 2,
    'allowed_origins' => array('http://allowed.test'),
    'test_mode' => true,
);
EOF

free_port() {
  php -r '$s = stream_socket_server("tcp://127.0.0.1:0", $e, $m); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);'
}

start_server() { # name port workers [env...]
  local name="$1" port="$2" workers="$3"; shift 3
  local launcher=()
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  env "$@" PHP_CLI_SERVER_WORKERS="$workers" "${launcher[@]}" php -d display_errors=stderr -d log_errors=0 \
    -S "127.0.0.1:$port" -t "$tmp/www" >"$tmp/$name.log" 2>&1 &
  pids+=("$!")
}

wait_ready() { # url
  node -e '
    const url = process.argv[1];
    (async () => {
      for (let i = 0; i < 100; i++) {
        try { const r = await fetch(url); if (r.status === 200) process.exit(0); } catch (e) {}
        await new Promise((r) => setTimeout(r, 100));
      }
      console.error("server did not become ready: " + url); process.exit(1);
    })();' "$1"
}

port="$(free_port)"
port_future="$(free_port)"
start_server main "$port" 4
# Same web root, same data dir, clock 2 hours ahead: every TTL has passed there.
start_server future "$port_future" 2 PEERDROP_TEST_NOW=+7200
url="http://127.0.0.1:$port/signal.php"
url_future="http://127.0.0.1:$port_future/signal.php"
wait_ready "$url" || { cat "$tmp/main.log"; exit 1; }
wait_ready "$url_future" || { cat "$tmp/future.log"; exit 1; }

status=0

say "phpunit ($("$PHPUNIT" --version | head -n1))"
(cd "$pkg" && "$PHPUNIT" -c "$pkg/phpunit.xml") || { status=1; echo "phpunit: FAILED"; }

say "conformance suite against $url (node $(node --version))"
SIGNAL_URL="$url" SIGNAL_URL_FUTURE="$url_future" SIGNAL_POLL_SLOTS=2 \
  SIGNAL_ALLOWED_ORIGIN=http://allowed.test SIGNAL_DATA_DIR="$tmp" \
  node --test --test-concurrency=1 --test-reporter=spec "$repo"/tests/conformance/*.test.mjs \
  || { status=1; echo "conformance: FAILED"; }

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
if grep -E 'PHP (Warning|Notice|Deprecated|Fatal|Parse)|Uncaught|peerdrop:' "$tmp/main.log" "$tmp/future.log"; then
  echo "server logs contain PHP errors"; status=1
else
  echo "no PHP warnings or errors logged"
fi

if [ "$status" -eq 0 ]; then say "ALL PASSED"; else say "FAILURES (see above)"; fi
exit "$status"
