// The signaling endpoint (PeerDrop contract v1, the same as signal.php). One adapter-node process
// keeps rooms in memory. For several instances, share them through Redis:
//   store: createRedisStore({ url: env.PEERDROP_REDIS_URL })   (from @peerdrop/sveltekit/redis; npm install redis)
// Serverless hosts: createRedisRestStore({ url, token }) from @peerdrop/sveltekit/server (Upstash REST).
// STUN and TURN reach the browsers with their room; without them only devices that reach each
// other directly (one network) connect. docs/operations/turn.md sets up coturn.
import { env } from '$env/dynamic/private';
import { createSignalingHandler } from '@peerdrop/sveltekit/server';

const list = (value: string | undefined) => (value ?? '').split(/\s+/).filter(Boolean);

export const { GET, POST, OPTIONS, HEAD, fallback } = createSignalingHandler({
	// 32+ random characters; without it a secret is generated per process.
	secret: env.PEERDROP_SECRET || undefined,
	// e.g. PEERDROP_STUN_URLS="stun:turn.example.org:3478"
	stunUrls: list(env.PEERDROP_STUN_URLS),
	// e.g. PEERDROP_TURN_URLS="turn:turn.example.org:3478?transport=udp turn:turn.example.org:3478?transport=tcp"
	turnUrls: list(env.PEERDROP_TURN_URLS),
	// coturn's static-auth-secret
	turnSecret: env.PEERDROP_TURN_SECRET || undefined
});
