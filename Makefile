# PeerDrop: `make demo` runs the example, `make test` runs every test. Both bootstrap first.
SHELL := /bin/bash
export CHROMEDRIVER ?= /usr/bin/chromedriver
PORT ?= 8080
PEERDROP_CACHE ?= $(HOME)/.cache/peerdrop

.PHONY: bootstrap wasm demo test test-rust test-wasm test-php test-types test-unit test-e2e test-netlab test-browsers test-browsers-large browsers-doc test-sveltekit test-migration test-ops release-check release-check-quick bench bench-smoke bench-wan bench-wan-smoke link-emulator bench-core bench-signaling fuzz fuzz-smoke fuzz-targets clean

bootstrap:
	@scripts/bootstrap

# Release build of pkg/, optimized with wasm-opt 132.
wasm: bootstrap
	@scripts/build-wasm

# Serves examples/plain and signal.php on http://127.0.0.1:$(PORT)/ until Ctrl-C.
demo: wasm
	@scripts/serve-site $(PORT)

test: bootstrap test-rust fuzz-smoke test-wasm test-php test-migration test-ops test-types test-unit test-e2e test-browsers test-sveltekit test-netlab bench-smoke bench-wan-smoke

test-rust:
	cargo fmt --all -- --check
	cargo clippy -q --workspace --all-targets --all-features -- -D warnings
	cargo test --workspace --exclude peerdrop --all-features

# wasm-bindgen tests in Debian's headless Chromium.
test-wasm:
	wasm-pack test --headless --chrome crates/peerdrop-wasm

# PHPUnit, the conformance suite against php -S, Apache and MariaDB, schemathesis, faults,
# PHP 7.4 (wasm) and a benchmark smoke. REQUIRE_ALL: a section whose tool is missing fails.
test-php:
	REQUIRE_ALL=1 SCHEMATHESIS=$(PEERDROP_CACHE)/venv/bin/st PHP_WASM_DIR=$(PEERDROP_CACHE)/php-wasm \
	  bash php-signaling/tests/run.sh

# Simulated peer pairs negotiating against Apache capped at 8 workers (results in bench/results/).
bench-signaling:
	bash bench/signaling/run.sh

# The generated TypeScript types accept the documented usage and reject misuse.
test-types: wasm
	npx tsc -p tests/types
	node --test tests/types/

# The runtime's plain JavaScript pieces under Node (no browser, no build).
test-unit:
	node --test tests/unit/

# The userspace link emulator the lab puts between a router and its internet (delay, loss, rate).
link-emulator:
	cargo build -q --release -p link-emulator

# PeerDrop against plain JS (1 and 4 peer connections) through the emulated link, at round trips
# of 0-150 ms, 0 and 1 % loss, 100 Mbit/s and unlimited (WAN_REPEATS, default 3; about 25 min).
# Needs root. Results in bench/results/wan-latest.{json,md,png}; see docs/performance.md.
bench-wan: wasm link-emulator
	node bench/wan/run.mjs

# The same harness at tiny sizes on two points (part of make test; asserts no time).
bench-wan-smoke: wasm link-emulator
	node bench/wan/run.mjs --smoke

# Two Chromium pages through the real signal.php, loading the optimized pkg/.
test-e2e: wasm
	node --test --test-concurrency=1 tests/e2e/

# Across NATs: browsers in network namespaces behind nftables NATs, signal.php (and the Kit
# handler, built here) and coturn on a lab "internet" (tests/netlab, docs/netlab.md). Needs
# root; REQUIRE_NETLAB makes a missing part fail instead of skip.
test-netlab: wasm link-emulator
	test -d sveltekit-addon/node_modules || (cd sveltekit-addon && npm ci --no-audit --no-fund --loglevel=error)
	cd sveltekit-addon/packages/sveltekit && npm run build >/dev/null
	REQUIRE_NETLAB=1 node --test --test-concurrency=1 tests/netlab/

# PeerDrop against the browser's ceiling in one Chromium: transfers, hashing, setup, memory,
# native engine. Results in bench/results/bench-latest.{json,md,png}; see docs/performance.md.
bench: wasm
	node bench/run.mjs

# The same harness at tiny sizes: proves it works (part of make test; asserts no time), and goes
# on past a page closed and a browser killed mid-transfer, recording them (bench/test/).
bench-smoke: wasm
	node bench/run.mjs --smoke
	node --test --test-concurrency=1 bench/test/

# Chromium and Firefox ESR send to each other (small files; WebKit is probed and reported).
test-browsers: wasm
	node --test --test-concurrency=1 tests/browsers/

# The same matrix plus a 600 MiB file per direction (slow); rewrites docs/browsers.md.
test-browsers-large: wasm
	PEERDROP_MATRIX_LARGE_MIB=600 PEERDROP_BROWSERS_DOC=docs/browsers.md node --test --test-concurrency=1 tests/browsers/

# Rewrites docs/browsers.md from a small-file run.
browsers-doc: wasm
	PEERDROP_BROWSERS_DOC=docs/browsers.md node --test --test-concurrency=1 tests/browsers/

# @peerdrop/sveltekit and @peerdrop/sv: package checks (publint, attw, svelte-check, npm pack
# lists the wasm), the conformance suite against the Kit handler (memory and Redis stores), the
# example app and a fresh app that ran `sv add`, each transferring a file between two Chromium
# pages in vite dev and after vite build.
test-sveltekit: wasm
	cd sveltekit-addon && npm ci --no-audit --no-fund --loglevel=error
	cd examples/sveltekit-app && npm ci --no-audit --no-fund --loglevel=error
	REQUIRE_REDIS=1 bash tests/sveltekit/run.sh

# Schema N -> N+1 -> N with live rooms, and the old code on schema N (SQLite and MariaDB).
test-migration:
	REQUIRE_ALL=1 bash php-signaling/tests/migration-rehearsal.sh

# Alert rules (promtool check and unit tests), the synthetic probe against a local endpoint, and
# the docs check (runbooks cover every error code, the checklist matches release-check, links).
test-ops:
	promtool check rules ops/prometheus/peerdrop-rules.yml
	cd ops/prometheus && promtool test rules peerdrop-rules.test.yml peerdrop-rules.long.test.yml
	node --test ops/test/probe.test.mjs
	node scripts/release/docs-check.mjs

# Every gate of RELEASE_CHECKLIST.md; writes docs/release/evidence.md (long: runs the benches).
release-check: bootstrap
	@scripts/release-check

# The fast gates only; slow gates are reported "not run", never "pass".
release-check-quick: bootstrap
	@scripts/release-check --quick

# Native engine throughput, hashed by the engine and with the digests supplied by the bench
# (JSON lines). PEERDROP_BENCH_MIB sets the size.
bench-core:
	cargo bench -q -p peerdrop-core --bench engine

# Coverage-guided fuzzing of every decoder and of a receiver fed a hostile sender, each target
# from its seeds (crates/peerdrop-core/fuzz/src/lib.rs). libFuzzer needs nightly flags: the
# nightly toolchain where rustup has it, else stable told to accept them.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := decode receiver
FUZZ := $(if $(shell rustup toolchain list 2>/dev/null | grep '^nightly'),cargo +nightly fuzz,RUSTC_BOOTSTRAP=1 cargo fuzz)
fuzz: bootstrap fuzz-targets

# The same for a few seconds per target (part of make test): the seeds must reach deep code
# (`cargo test` in the fuzz crate) and no target may find a crash from them.
fuzz-smoke: FUZZ_SECONDS = 8
fuzz-smoke: fuzz-targets

fuzz-targets:
	cd crates/peerdrop-core/fuzz && cargo test -q --lib && cargo run -q --bin write-seeds -- corpus
	cd crates/peerdrop-core/fuzz && for t in $(FUZZ_TARGETS); do \
	  $(FUZZ) run $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=512 || exit 1; done

clean:
	cargo clean
	rm -rf pkg node_modules
