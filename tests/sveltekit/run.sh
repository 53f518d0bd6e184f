#!/usr/bin/env bash
# Every SvelteKit test: packaging checks, conformance (memory, Redis, Redis REST), the add-on
# against the apps adopters have (addon.test.mjs, offline), the example app (vite dev,
# vite build + adapter-node, conformance against the Kit route) and the adopter flows (sv create,
# sv add, tarball install, transfers under a CSP without 'unsafe-inline' script): Kit 2 with
# adapter-node (dev + build), Kit 2 with adapter-static and signal.php under php -S (build), and
# Kit 3 on Node 22 from `npx -p node@22` (dev + build). About 6-7 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/sveltekit/package-checks.sh
(cd sveltekit-addon/packages/sveltekit && npm test)  # vitest: signaling handler (node) + components (Chromium)
NO_BUILD=1 bash tests/sveltekit/conformance.sh
node --test --test-concurrency=1 tests/sveltekit/addon.test.mjs tests/sveltekit/example-app.test.mjs tests/sveltekit/adopter.test.mjs \
  tests/sveltekit/adopter-auto.test.mjs tests/sveltekit/adopter-static.test.mjs tests/sveltekit/adopter-kit3.test.mjs
