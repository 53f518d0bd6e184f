// The signaling endpoint (PeerDrop contract v1, the same as signal.php). One adapter-node process
// keeps rooms in memory. For several instances, share them through Redis:
//   store: createRedisStore({ url: env.PEERDROP_REDIS_URL })   (npm install redis)
import { env } from '$env/dynamic/private';
import { createSignalingHandler } from '@peerdrop/sveltekit/server';

export const { GET, POST, OPTIONS, HEAD, fallback } = createSignalingHandler({
	// 32+ random characters; without it a secret is generated per process.
	secret: env.PEERDROP_SECRET || undefined
});
