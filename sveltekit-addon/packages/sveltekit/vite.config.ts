// Vitest only (svelte-package does not read this file): a node project for the signaling handler
// and pure helpers, and a browser project that renders the components in Chromium.
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

// Node's global, declared here alone: @types/node would also type the browser code in src/.
declare const process: { env: Record<string, string | undefined> };

// Playwright cannot download browsers here: use the system Chromium (CHROMIUM overrides, as in tests/e2e).
const CHROMIUM_ARGS = [
	'--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
	'--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
	// Host candidates as plain IPs: two peers in one page connect without mDNS resolution.
	'--disable-features=WebRtcHideLocalIpsWithMdns'
];

export default defineConfig({
	plugins: [svelte()],
	test: {
		projects: [
			{
				extends: true,
				test: { name: 'node', environment: 'node', include: ['tests/node/**/*.test.ts'] }
			},
			{
				extends: true,
				// Pre-bundled up front: a dependency discovered mid-run would reload the page.
				optimizeDeps: { include: ['uqr', 'esm-env', 'vitest-browser-svelte', 'axe-core'] },
				test: {
					name: 'browser',
					include: ['tests/browser/**/*.test.ts'],
					testTimeout: 30000,
					browser: {
						enabled: true,
						headless: true,
						screenshotFailures: false,
						provider: playwright({
							launchOptions: { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS },
							contextOptions: { permissions: ['clipboard-read', 'clipboard-write'] }
						}),
						instances: [{ browser: 'chromium' }]
					}
				}
			}
		]
	}
});
