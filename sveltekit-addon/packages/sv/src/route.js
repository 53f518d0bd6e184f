// The signaling route: createSignalingHandler with the store the target needs. Variables are
// read through defineEnv (declared in src/env on Kit 3 and explicit-env Kit 2 apps).
import { transforms } from '@sveltejs/sv-utils';

export const PACKAGE = '@peerdrop/sveltekit';

/** Variables each store reads, with the description declared for them. */
export const STORE_ENV = {
	memory: [],
	redis: [['PEERDROP_REDIS_URL', 'redis:// URL of the Redis shared by every instance (PeerDrop signaling rooms).']],
	rest: [
		['UPSTASH_REDIS_REST_URL', 'REST URL of the Redis (Upstash protocol) holding PeerDrop signaling rooms.'],
		['UPSTASH_REDIS_REST_TOKEN', 'Bearer token of that REST endpoint.']
	]
};

const HEADER = {
	memory: [
		'// PeerDrop signaling (contract v1, the same as signal.php). Rooms live in this process: fine for',
		'// one long-lived server (adapter-node). Several instances or serverless hosts need a shared store:',
		'// "Stores" in the README of @peerdrop/sveltekit.'
	],
	redis: ['// PeerDrop signaling (contract v1). Rooms live in the Redis at PEERDROP_REDIS_URL, shared by every instance.'],
	rest: [
		'// PeerDrop signaling (contract v1). Rooms live in a Redis reached over HTTP (Upstash REST protocol),',
		'// shared by every serverless instance: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.',
		'// Held polls are off (pollSlots: 0): one would re-read the store over HTTP every 50 ms for up to',
		'// 20 s, past serverless time and subrequest limits; clients poll again after pollIntervalMs.'
	]
};

/**
 * Writes the route unless the file has content (the caller refuses someone else's route first).
 * @param {{ sv: any, file: string, store: 'memory' | 'redis' | 'rest', env: ReturnType<typeof import('./env.js').signalingEnv> }} o
 */
export function addRoute({ sv, file, store, env }) {
	env.declare('PEERDROP_SECRET', 'PeerDrop signaling token secret: 32+ random characters. Unset: each process generates its own.');
	for (const [name, description] of STORE_ENV[store]) env.declare(name, description);
	sv.file(file, (content) => {
		if (content.trim()) return false;
		// The header is added as text: comments given to the printer land in odd places.
		const code = transforms.script(({ ast, js }) => {
			const read = (name) => env.reference(ast, js, name);
			js.imports.addNamed(ast, { from: `${PACKAGE}/server`, imports: ['createSignalingHandler'] });
			let storeOption = '';
			if (store === 'rest') {
				js.imports.addNamed(ast, { from: `${PACKAGE}/server`, imports: ['createRedisRestStore'] });
				storeOption = `, store: createRedisRestStore({ url: ${read('UPSTASH_REDIS_REST_URL')}, token: ${read('UPSTASH_REDIS_REST_TOKEN')} }), pollSlots: 0`;
			} else if (store === 'redis') {
				js.imports.addNamed(ast, { from: `${PACKAGE}/redis`, imports: ['createRedisStore'] });
				storeOption = `, store: createRedisStore({ url: ${read('PEERDROP_REDIS_URL')} })`;
			}
			const secret = read('PEERDROP_SECRET');
			ast.body.push(
				js.common.parseStatement(
					`export const { GET, POST, OPTIONS, HEAD, fallback } = createSignalingHandler({ secret: ${secret} || undefined${storeOption} });`
				)
			);
		})('');
		return `${HEADER[store].join('\n')}\n${code}`;
	});
}
