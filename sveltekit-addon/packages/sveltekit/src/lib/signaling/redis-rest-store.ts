// A store for serverless hosts (Vercel, Netlify, Cloudflare, adapter-auto's targets), where
// instances share no memory and keep no connections: Redis over HTTP, speaking the Upstash REST
// protocol (POST a JSON command array, get { result } or { error }). Any endpoint speaking it
// works: Upstash, Vercel's Upstash integration, or serverless-redis-http in front of your Redis.
// Only fetch and Web Crypto are used, so it runs on Node, edge and Workers runtimes alike. The
// operations are the Redis store's Lua scripts, sent by EVALSHA (EVAL once per script).
import { hex } from './crypto.js';
import { createRedisStore, type RedisLikeClient } from './redis-store.js';
import type { SignalingStore } from './store.js';

export interface RedisRestStoreOptions {
	/** The REST endpoint, e.g. `https://<name>.upstash.io` (UPSTASH_REDIS_REST_URL). */
	url: string | undefined;
	/** The bearer token (UPSTASH_REDIS_REST_TOKEN). */
	token: string | undefined;
	/** Key prefix. Default "peerdrop:". */
	prefix?: string;
	/** A fetch implementation (default: the global one). */
	fetch?: typeof fetch;
}

/** An error answered by the REST endpoint, or a failure to reach it. */
export class RedisRestError extends Error {
	constructor(message: string, readonly status?: number) {
		super(message);
		this.name = 'RedisRestError';
	}
}

export function createRedisRestStore(options: RedisRestStoreOptions): SignalingStore & { close(): Promise<void> } {
	if (!options || typeof options !== 'object') throw new TypeError('createRedisRestStore({ url, token }) needs an options object');
	for (const k of ['url', 'token'] as const) {
		if (options[k] !== undefined && typeof options[k] !== 'string') throw new TypeError(`createRedisRestStore: ${k} must be a string`);
	}
	return createRedisStore({ client: restClient(options), prefix: options.prefix });
}

function restClient(options: RedisRestStoreOptions): RedisLikeClient {
	const doFetch = options.fetch ?? globalThis.fetch;
	const shas = new Map<string, Promise<string>>();

	async function command(args: string[]): Promise<unknown> {
		// Checked per call, not at creation: Kit imports routes while building, without the env.
		if (!options.url || !options.token) {
			throw new RedisRestError(
				'The Redis REST signaling store is not configured: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN where the app runs (from your Upstash database, or your host\'s Redis integration)'
			);
		}
		let origin: string;
		try {
			origin = new URL(options.url).origin;
		} catch {
			throw new RedisRestError(`UPSTASH_REDIS_REST_URL is not a URL ("${options.url}"): use the REST URL your Redis provider shows, starting with https://`);
		}
		let res: Response;
		try {
			res = await doFetch(options.url, {
				method: 'POST',
				headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
				body: JSON.stringify(args)
			});
		} catch (e) {
			throw new RedisRestError(`The Redis REST endpoint ${origin} could not be reached: ${e instanceof Error ? e.message : e}`);
		}
		if (res.status === 401 || res.status === 403) {
			throw new RedisRestError(`The Redis REST endpoint refused the token (HTTP ${res.status}): check UPSTASH_REDIS_REST_TOKEN`, res.status);
		}
		let body: { result?: unknown; error?: string };
		try {
			body = await res.json();
		} catch {
			throw new RedisRestError(`The Redis REST endpoint answered HTTP ${res.status} without JSON: is UPSTASH_REDIS_REST_URL its REST URL?`, res.status);
		}
		// Script errors (PD:room_closed...) come back here; the store maps them to signaling errors.
		if (body.error !== undefined) throw new RedisRestError(String(body.error), res.status);
		return body.result;
	}

	const sha1 = (script: string) => {
		let p = shas.get(script);
		if (!p) {
			p = crypto.subtle.digest('SHA-1', new TextEncoder().encode(script)).then(hex);
			shas.set(script, p);
		}
		return p;
	};

	return {
		// node-redis's form, which the store uses for any client without ioredis's evalsha.
		async eval(script: string, { arguments: argv }: { keys: string[]; arguments: string[] }) {
			try {
				return await command(['EVALSHA', await sha1(script), '0', ...argv]);
			} catch (e) {
				if (!(e instanceof RedisRestError) || !/NOSCRIPT/.test(e.message)) throw e;
				return command(['EVAL', script, '0', ...argv]);
			}
		}
	};
}
