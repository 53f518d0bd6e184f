#!/usr/bin/env bash
# The signaling conformance suite (tests/conformance) against the @peerdrop/sveltekit handler:
# memory store, then the Redis store (a private redis-server on a free port), then the Redis REST
# store (the serverless one, Upstash protocol) through tests/support/redis-rest-bridge.mjs in
# front of that redis-server, a stand-in for Upstash (see the bridge's header). The Redis parts are
# skipped, or failed with REQUIRE_REDIS=1, when redis-server is missing. Builds the package first
# unless NO_BUILD=1.
# The handler hands out the ICE servers below, and the suite checks exactly those come back.
set -euo pipefail
export SIGNAL_STUN_URL="stun:stun.peerdrop.test:3478"
export SIGNAL_TURN_URL="turn:turn.peerdrop.test:3478?transport=udp turn:turn.peerdrop.test:3478?transport=tcp"
export SIGNAL_TURN_SECRET="turn-static-auth-secret-0123456789abcdef"
cd "$(dirname "$0")/../.."
if [ "${NO_BUILD:-}" != 1 ]; then (cd sveltekit-addon/packages/sveltekit && npm run build >/dev/null); fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
suite() { # $1 store label, $2 base url
  SIGNAL_URL="$2/signal" SIGNAL_URL_FUTURE="$2/future" SIGNAL_URL_RATELIMITED="$2/limited" SIGNAL_RATE_BURST=5 \
  SIGNAL_STORAGE="$1" SIGNAL_POLL_SLOTS=4 SIGNAL_METRICS_TOKEN=metrics-token-0123456789 SIGNAL_EARLY_413=1 \
  SIGNAL_ALLOWED_ORIGIN=http://allowed.test SIGNAL_URL_HOSTILE="$2/hostile" SIGNAL_URL_HOSTILE_FUTURE="$2/hostile-future" \
  node --test --test-concurrency=1 tests/conformance/
}
base=
start() { # $1 store; sets $base (not in a subshell, so the trap can stop the server)
  local port; port=$(free_port)
  node tests/sveltekit/signal-server.mjs "$1" "$port" > "target/sveltekit-signal-$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/signal" && break; sleep 0.1; done
  base="http://127.0.0.1:$port"
}
mkdir -p target
echo "== conformance: memory store"
start memory
suite memory "$base"
if command -v redis-server >/dev/null; then
  rport=$(free_port)
  rdir=$(mktemp -d)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$rdir" --daemonize no > "$rdir/log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "== conformance: redis store"
  export REDIS_URL="redis://127.0.0.1:$rport"
  start redis
  suite redis "$base"
  echo "== conformance: redis REST store (Upstash protocol, through the test bridge)"
  bport=$(free_port)
  export REDIS_REST_TOKEN="bridge-token-0123456789"
  node tests/support/redis-rest-bridge.mjs "$REDIS_URL" "$bport" "$REDIS_REST_TOKEN" > target/sveltekit-rest-bridge.log 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$bport/" && break; sleep 0.1; done
  export REDIS_REST_URL="http://127.0.0.1:$bport/"
  start rest
  suite redis "$base"
else
  echo "SKIPPED: redis store (redis-server not installed: apt-get install -y redis-server)"
  [ "${REQUIRE_REDIS:-}" = 1 ] && exit 1
fi
echo "conformance: OK"
