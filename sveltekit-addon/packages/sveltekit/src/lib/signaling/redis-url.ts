// `@peerdrop/sveltekit/redis`: the Redis store from a URL. `redis` is imported statically so that
// adapter bundlers (Vercel, Netlify, adapter-node's rollup) see it and keep it in the build.
import { createClient } from 'redis';
import { createRedisStore as storeFromClient } from './redis-store.js';
import type { SignalingStore } from './store.js';

export interface RedisUrlStoreOptions {
	/** `redis://` or `rediss://` URL of a single Redis primary. */
	url: string | undefined;
	/** Key prefix. Default "peerdrop:". */
	prefix?: string;
}

/**
 * A store on the Redis at `url`, shared by every instance. The client connects on first use;
 * a missing `url` throws then, naming the variable to set, so a build without it still works.
 */
export function createRedisStore(options: RedisUrlStoreOptions): SignalingStore & { close(): Promise<void> } {
	if (!options || (options.url !== undefined && typeof options.url !== 'string')) {
		throw new TypeError('createRedisStore({ url }): url must be a redis:// URL string');
	}
	let client: ReturnType<typeof createClient> | null = null;
	let connected: Promise<unknown> | null = null;
	const connect = () => {
		if (!options.url) {
			throw new Error('The Redis signaling store has no URL: set PEERDROP_REDIS_URL (redis://host:6379) where the app runs');
		}
		if (!client) {
			client = createClient({ url: options.url });
			client.on('error', (e: unknown) => console.error('peerdrop redis store:', e));
			connected = client.connect().catch((e: unknown) => {
				client = null;
				connected = null;
				throw e;
			});
		}
		return connected!.then(() => client!);
	};
	return storeFromClient({
		prefix: options.prefix,
		client: { eval: async (...args: unknown[]) => (await connect()).eval(...(args as [string, { keys: string[]; arguments: string[] }])) },
		onClose: async () => {
			const c = client;
			client = null;
			connected = null;
			if (c?.isOpen) await c.quit();
		}
	});
}
