// Routes the runtime's signaling requests to the real Kit handler running in this page, so a
// sender and a receiver in one page talk through the same code paths as through a server.
import { createSignalingHandler } from '../../src/lib/signaling/handler.js';

export const SIGNAL_PATH = '/__peerdrop-test-signal';

export function routeSignaling(): { requests: string[]; restore: () => void } {
	const handler = createSignalingHandler({ rateLimitPerMinute: 0 });
	const realFetch = globalThis.fetch;
	const requests: string[] = [];
	globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
		const request = new Request(input, init);
		if (new URL(request.url).pathname !== SIGNAL_PATH) return realFetch(input, init);
		const body = await request.clone().json().catch(() => ({}));
		requests.push(String(body.op ?? request.method));
		return handler.handle({ request });
	};
	return { requests, restore: () => (globalThis.fetch = realFetch) };
}
