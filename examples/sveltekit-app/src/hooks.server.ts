import { peerdropHeaders } from '@peerdrop/sveltekit/server';

// Referrer-Policy: no-referrer and nosniff on every response. The CSP comes from kit.csp
// (vite.config.ts), so this handle does not set one.
export const handle = peerdropHeaders({ csp: false });
