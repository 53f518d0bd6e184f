#!/usr/bin/env bash
# Every SvelteKit test: packaging checks, conformance (memory + Redis), the example app (vite dev,
# vite build + adapter-node, conformance against the Kit route) and the adopter flow (sv create,
# sv add, tarball install, dev + build transfers). About 4-5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/sveltekit/package-checks.sh
NO_BUILD=1 bash tests/sveltekit/conformance.sh
node --test --test-concurrency=1 tests/sveltekit/example-app.test.mjs tests/sveltekit/adopter.test.mjs
