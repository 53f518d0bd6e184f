// Server-side entry: `import { createSignalingHandler } from '@peerdrop/sveltekit/server'`.
export { createSignalingHandler, isJsonMediaType, PROTOCOL, MAX_BODY, MAX_DATA } from './handler.js';
export type { SignalingOptions, SignalingHandler, SignalingEvent, SignalingRequestHandler, IceServer } from './handler.js';
export { createMemoryStore } from './memory-store.js';
export type { MemoryStoreOptions } from './memory-store.js';
// Redis from a connected client; from a URL: '@peerdrop/sveltekit/redis' (imports `redis`).
export { createRedisStore } from './redis-store.js';
export type { RedisStoreOptions, RedisLikeClient } from './redis-store.js';
export { createRedisRestStore, RedisRestError } from './redis-rest-store.js';
export type { RedisRestStoreOptions } from './redis-rest-store.js';
export type { SignalingStore, StoredMessage } from './store.js';
export { SignalingError, CATALOG } from './errors.js';
export type { SignalingErrorCode } from './errors.js';
export { peerdropHeaders, peerdropCsp, peerdropCspDirectives } from './headers.js';
export type { PeerDropHeadersOptions, PeerDropHandle } from './headers.js';
