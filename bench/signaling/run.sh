#!/usr/bin/env bash
# Load benchmark of signal.php behind Apache + mod_php capped at 8 workers (mpm_prefork
# MaxRequestWorkers 8), the shape of a small shared-hosting plan. Starts a private Apache (and,
# with STORAGE=mysql, a private MariaDB), runs bench.mjs, writes JSON + Markdown to bench/results/.
#
#   bash bench/signaling/run.sh                    150 peers for 60 s, SQLite
#   PEERS=10 DURATION=5 bash bench/signaling/run.sh   quick smoke
#   STORAGE=mysql bash bench/signaling/run.sh         MariaDB backend
#   BENCH_ARGS="--trickle-ms 200 --gap-ms 1000" bash bench/signaling/run.sh   paced (trickle ICE, pauses)
#
# Goal: 150 peers negotiating at once within 8 workers, request p99 under 300 ms, zero errors.
# Needs: apache2 libapache2-mod-php (and mariadb-server php-mysql for STORAGE=mysql), node 20+.
# Load goes to 127.0.0.1 only.
set -u -o pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
PEERS="${PEERS:-150}"; DURATION="${DURATION:-60}"; STORAGE="${STORAGE:-sqlite}"; WORKERS="${WORKERS:-8}"
OUT="${OUT:-$repo/bench/results}"

. "$repo/php-signaling/tests/lib/apache.sh"
. "$repo/php-signaling/tests/lib/mariadb.sh"
command -v apache2 >/dev/null 2>&1 || { echo "bench: apache2 is not installed (apt-get install -y apache2 libapache2-mod-php)" >&2; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/peerdrop-bench.XXXXXX")"
chmod 0755 "$tmp"
trap 'apache_stop; mariadb_stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$tmp/www" "$tmp/data"
cp "$repo/php-signaling/signal.php" "$tmp/www/signal.php"
cp "$repo/php-signaling/htaccess.example" "$tmp/www/.htaccess"

storage_cfg="'data_dir' => '$tmp/data',"
if [ "$STORAGE" = "mysql" ]; then
  mariadb_start "$tmp/mariadb" || exit 1
  storage_cfg="'data_dir' => '$tmp/data', 'storage' => 'mysql', 'mysql_dsn' => 'mysql:host=127.0.0.1;port=$MARIADB_PORT;dbname=peerdrop;charset=utf8mb4',
    'mysql_user' => 'peerdrop', 'mysql_password' => 'peerdrop-test-pw',"
fi
# Production-like settings: rate limiting on (each simulated pair is its own client through a
# trusted-proxy X-Forwarded-For), metrics on, two held-poll slots, the default 1000 ms poll hint.
cat > "$tmp/peerdrop.config.php" <<CFG
<?php
return array(
    $storage_cfg
    'secret' => 'bench-secret-0123456789abcdef0123456789',
    'trusted_proxies' => array('127.0.0.1'),
    ${METRICS_CONFIG:-'metrics_token' => 'bench-metrics-token-0123456789',}
    'poll_slots' => 2,
    // A simulated pair negotiates back to back, faster than any person: no creates-per-minute quota.
    'quota_creates_per_minute' => 0,
${EXTRA_CONFIG:-}
);
CFG
chmod -R a+rX "$tmp"
[ "$(id -u)" = "0" ] && chown -R www-data "$tmp/data" 2>/dev/null
port="$(php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);')"
apache_start "$tmp" "$port" "$WORKERS" Off
url="http://127.0.0.1:$port/signal.php"
for i in $(seq 1 50); do curl -fsS "$url" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$url" >/dev/null || { cat "$tmp/error.log"; exit 1; }

label="Apache prefork+mod_php, MaxRequestWorkers $WORKERS, KeepAlive Off, $STORAGE, PHP $(php -r 'echo PHP_MAJOR_VERSION.".".PHP_MINOR_VERSION;')"
extra=()
[ "${NO_WRITE:-}" = "1" ] && extra+=(--no-write)
[ -n "${BENCH_ARGS:-}" ] && label="$label, $BENCH_ARGS"
# shellcheck disable=SC2086  # BENCH_ARGS is a list of bench.mjs options, e.g. "--trickle-ms 200 --gap-ms 1000"
node "$here/bench.mjs" --url "$url" --peers "$PEERS" --duration "$DURATION" --xff --out "$OUT" --label "$label" ${BENCH_ARGS:-} "${extra[@]}"
rc=$?
echo "--- server metrics after the run"
curl -fsS -H 'Authorization: Bearer bench-metrics-token-0123456789' "$url?metrics" | grep -E '^peerdrop_(requests_total|rate_limited|storage_errors|held_polls|rooms_)' | head -40
if grep -E 'PHP (Warning|Notice|Fatal)|peerdrop:' "$tmp/php-error.log" "$tmp/error.log" 2>/dev/null | head -5; then echo "bench: PHP errors logged"; rc=1; fi
exit $rc
