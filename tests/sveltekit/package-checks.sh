#!/usr/bin/env bash
# Packaging checks of @peerdrop/sveltekit: build (copy-runtime + svelte-package + publint --strict),
# svelte-check, attw (esm-only profile), license files, metadata and README links of both packages
# (package-meta.test.mjs), and the example app's svelte-check.
set -euo pipefail
cd "$(dirname "$0")/../../sveltekit-addon"
[ -d node_modules ] || npm ci --no-audit --no-fund
cd packages/sveltekit
npm run build
npx svelte-check --tsconfig ./tsconfig.json --fail-on-warnings
npm run attw
cd ../sv && npm run build
node --test ../../../tests/sveltekit/package-meta.test.mjs
cd ../../../examples/sveltekit-app
[ -d node_modules ] || npm install --no-audit --no-fund
npx svelte-kit sync && npx svelte-check --tsconfig ./tsconfig.json
echo "package checks: OK"
