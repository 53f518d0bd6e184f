// Redis store: several server instances (adapter-node behind a load balancer, containers) share
// rooms and messages. Each operation is one Lua script, so it is atomic across instances.
// Works with node-redis 4/5 (`redis` on npm) and ioredis clients, on a single Redis primary
// (the scripts touch keys derived from their arguments, so Redis Cluster is not supported).

import { randomSecret } from './crypto.js';
import { SignalingError, type SignalingErrorCode } from './errors.js';
import type { SignalingStore, StoredMessage } from './store.js';

/** The part of a node-redis or ioredis client this store uses. */
export interface RedisLikeClient {
	eval(...args: any[]): Promise<unknown>;
}

export interface RedisStoreOptions {
	/** A connected client (`createClient({ url }).connect()` from `redis`, or an ioredis instance). */
	client?: RedisLikeClient;
	/** Or a URL: a node-redis client is created (the `redis` package must be installed). */
	url?: string;
	/** Key prefix. Default "peerdrop:". */
	prefix?: string;
	/** Module that provides `createClient` with `url` (default "redis"). */
	module?: string;
}

const LIB = `
local P = ARGV[1]
local function delroom(id)
  local key = redis.call('HGET', P..'r:'..id, 'key')
  redis.call('DEL', P..'r:'..id, P..'q:'..id..':0', P..'q:'..id..':1', P..'m:'..id, P..'s:'..id)
  if key and redis.call('GET', P..'k:'..key) == tostring(id) then redis.call('DEL', P..'k:'..key) end
  redis.call('ZREM', P..'exp', id)
end
local function servermsg(id, to, typ, keep)
  local mid = redis.call('INCR', P..'id')
  redis.call('HSET', P..'m:'..id, mid, '0|'..typ..'|')
  redis.call('ZADD', P..'q:'..id..':'..to, mid, mid)
  redis.call('EXPIRE', P..'m:'..id, keep)
  redis.call('EXPIRE', P..'q:'..id..':'..to, keep)
end
local function loadroom(id, key32, now)
  local f = redis.call('HMGET', P..'r:'..id, 'key', 'expires', 'l0', 'l1', 'count', 'joined', 'keep')
  if not f[1] or string.sub(f[1], 1, 32) ~= key32 then return redis.error_reply('PD:room_closed') end
  if tonumber(f[2]) <= now then return redis.error_reply('PD:room_expired') end
  return f
end
`;

const SCRIPTS = {
	create: `
local key, now, exp, maxrooms, keep = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local existing = redis.call('GET', P..'k:'..key)
if existing then
  local e = redis.call('HGET', P..'r:'..existing, 'expires')
  if e and tonumber(e) > now then return redis.error_reply('PD:room_exists') end
  delroom(existing)
end
if redis.call('ZCARD', P..'exp') >= maxrooms then return redis.error_reply('PD:server_full') end
local id = redis.call('INCR', P..'id')
redis.call('HSET', P..'r:'..id, 'key', key, 'created', now, 'joined', '', 'expires', exp, 'l0', '0', 'l1', '0', 'count', 0, 'keep', keep)
redis.call('SET', P..'k:'..key, id, 'EX', keep)
redis.call('EXPIRE', P..'r:'..id, keep)
redis.call('ZADD', P..'exp', exp, id)
return tostring(id)`,
	join: `
local key, now, ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local id = redis.call('GET', P..'k:'..key)
if not id then return redis.error_reply('PD:room_not_found') end
local f = redis.call('HMGET', P..'r:'..id, 'created', 'joined', 'expires', 'l0', 'keep')
if not f[1] then return redis.error_reply('PD:room_not_found') end
if tonumber(f[3]) <= now then return redis.error_reply('PD:room_expired') end
if f[2] ~= '' or f[4] == '1' then return redis.error_reply('PD:room_full') end
local exp = tonumber(f[1]) + ttl
redis.call('HSET', P..'r:'..id, 'joined', now, 'expires', exp)
redis.call('ZADD', P..'exp', exp, id)
servermsg(id, 0, 'peer-joined', tonumber(f[5]))
return {id, tostring(exp)}`,
	send: `
local id, key32, peer, now = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local seq, typ, data, digest, maxq, maxm = ARGV[6], ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11])
local f = loadroom(id, key32, now)
if f.err then return f end
local sk = peer..':'..seq
local dup = redis.call('HGET', P..'s:'..id, sk)
if dup then
  local bar = string.find(dup, '|', 1, true)
  if string.sub(dup, bar + 1) ~= digest then return redis.error_reply('PD:seq_conflict') end
  return {'200', string.sub(dup, 1, bar - 1)}
end
if f[3] == '1' or f[4] == '1' then return redis.error_reply('PD:peer_left') end
if tonumber(f[5]) >= maxm then return redis.error_reply('PD:room_message_limit') end
local other = 1 - peer
local q = P..'q:'..id..':'..other
if redis.call('ZCARD', q) >= maxq then return redis.error_reply('PD:queue_full') end
local mid = redis.call('INCR', P..'id')
local keep = tonumber(f[7])
redis.call('HSET', P..'m:'..id, mid, seq..'|'..typ..'|'..data)
redis.call('ZADD', q, mid, mid)
redis.call('HSET', P..'s:'..id, sk, mid..'|'..digest)
redis.call('HINCRBY', P..'r:'..id, 'count', 1)
redis.call('EXPIRE', P..'m:'..id, keep)
redis.call('EXPIRE', q, keep)
redis.call('EXPIRE', P..'s:'..id, keep)
return {'201', tostring(mid)}`,
	poll: `
local id, key32, peer, now, after, limit = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local f = loadroom(id, key32, now)
if f.err then return f end
if (peer == '0' and f[3] == '1') or (peer == '1' and f[4] == '1') then return redis.error_reply('PD:peer_left') end
local q = P..'q:'..id..':'..peer
local done = redis.call('ZRANGEBYSCORE', q, '-inf', after)
for _, mid in ipairs(done) do redis.call('HDEL', P..'m:'..id, mid) end
if #done > 0 then redis.call('ZREMRANGEBYSCORE', q, '-inf', after) end
local out = {f[2]}
local ids = redis.call('ZRANGEBYSCORE', q, '('..after, '+inf', 'LIMIT', 0, limit)
for _, mid in ipairs(ids) do
  out[#out + 1] = mid
  out[#out + 1] = redis.call('HGET', P..'m:'..id, mid) or '0||'
end
return out`,
	fetch: `
local id, peer, after, limit = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local gone = redis.call('HGET', P..'r:'..id, 'l'..peer)
if gone ~= '0' then return {'seatless'} end
local out = {'0'}
local ids = redis.call('ZRANGEBYSCORE', P..'q:'..id..':'..peer, '('..after, '+inf', 'LIMIT', 0, limit)
for _, mid in ipairs(ids) do
  out[#out + 1] = mid
  out[#out + 1] = redis.call('HGET', P..'m:'..id, mid) or '0||'
end
return out`,
	leave: `
local id, key32, peer, now = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local f = redis.call('HMGET', P..'r:'..id, 'key', 'expires', 'l0', 'l1', 'joined', 'keep')
if not f[1] or string.sub(f[1], 1, 32) ~= key32 then return 0 end
if f[3 + peer] == '1' then return 0 end
local other = 1 - peer
local present
if other == 0 then present = f[3] == '0' else present = (f[5] ~= '' and f[4] == '0') end
if (not present) or tonumber(f[2]) <= now then delroom(id) return 0 end
redis.call('HSET', P..'r:'..id, 'l'..peer, '1')
local q = P..'q:'..id..':'..peer
for _, mid in ipairs(redis.call('ZRANGE', q, 0, -1)) do redis.call('HDEL', P..'m:'..id, mid) end
redis.call('DEL', q)
servermsg(id, other, 'peer-left', tonumber(f[6]))
return 1`,
	cleanup: `
local now, batch = tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', P..'exp', '-inf', now, 'LIMIT', 0, batch)
for _, id in ipairs(ids) do delroom(id) end
return #ids`,
	ratelimit: `
local k, now, rate, burst = P..'rl:'..ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local b = redis.call('HMGET', k, 'tokens', 'updated')
local level = burst
local updated = now
if b[1] then
  level = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate)
  updated = math.max(now, tonumber(b[2]))
end
if level >= 1 then
  redis.call('HSET', k, 'tokens', tostring(level - 1), 'updated', tostring(updated))
  redis.call('PEXPIRE', k, 3600000)
end
return tostring(level)`,
	secret: `
redis.call('SET', P..'secret', ARGV[2], 'NX')
return redis.call('GET', P..'secret')`
} as const;

function parseMessages(reply: string[]): { expires: number; messages: StoredMessage[] } {
	const messages: StoredMessage[] = [];
	for (let i = 1; i + 1 < reply.length; i += 2) {
		const raw = String(reply[i + 1]);
		const a = raw.indexOf('|');
		const b = raw.indexOf('|', a + 1);
		messages.push({ id: Number(reply[i]), seq: Number(raw.slice(0, a)), type: raw.slice(a + 1, b), data: raw.slice(b + 1) });
	}
	return { expires: Number(reply[0]), messages };
}

export function createRedisStore(options: RedisStoreOptions): SignalingStore & { close(): Promise<void> } {
	const prefix = options.prefix ?? 'peerdrop:';
	let clientP: Promise<RedisLikeClient> | null = null;
	let owned: { quit?: () => Promise<unknown>; close?: () => Promise<unknown> } | null = null;
	const client = () =>
		(clientP ??= (async () => {
			if (options.client) return options.client;
			if (!options.url) throw new Error('createRedisStore needs { client } or { url }');
			const mod = options.module ?? 'redis';
			const { createClient } = (await import(/* @vite-ignore */ mod)) as { createClient: (o: { url: string }) => any };
			const c = createClient({ url: options.url });
			c.on?.('error', (e: unknown) => console.error('peerdrop redis store:', e));
			await c.connect();
			owned = c;
			return c as RedisLikeClient;
		})().catch((e) => {
			clientP = null;
			throw e;
		}));

	async function run(name: keyof typeof SCRIPTS, args: (string | number)[]): Promise<any> {
		const c = await client();
		const script = LIB + SCRIPTS[name];
		const argv = [prefix, ...args.map(String)];
		try {
			// node-redis: eval(script, { keys, arguments }); ioredis: eval(script, numKeys, ...args)
			if (typeof (c as any).evalsha === 'function' && typeof (c as any).evalSha !== 'function') {
				return await c.eval(script, 0, ...argv);
			}
			return await c.eval(script, { keys: [], arguments: argv });
		} catch (e) {
			const m = /PD:([a-z_]+)/.exec(e instanceof Error ? e.message : String(e));
			if (m) throw new SignalingError(m[1] as SignalingErrorCode);
			throw e;
		}
	}

	return {
		kind: 'redis',
		async sharedSecret() {
			return String(await run('secret', [randomSecret()]));
		},
		async create({ key, now, expires, maxRooms }) {
			// Keys also carry a Redis TTL as a backstop (a day past any room's life).
			return Number(await run('create', [key, now, expires, maxRooms, 7 * 86400 + 86400]));
		},
		async join({ key, now, ttlRoom }) {
			const [id, exp] = (await run('join', [key, now, ttlRoom])) as [string | number, string];
			return { roomId: Number(id), expires: Number(exp) };
		},
		async send(i) {
			const [status, id] = (await run('send', [i.roomId, i.key32, i.peer, i.now, i.seq, i.type, i.data, i.digest, i.maxQueue, i.maxRoomMessages])) as [string, string];
			return { status: status === '200' ? 200 : 201, id: Number(id) };
		},
		async poll(i) {
			return parseMessages(await run('poll', [i.roomId, i.key32, i.peer, i.now, i.after, i.limit]));
		},
		async fetch(roomId, peer, after, limit) {
			const reply = await run('fetch', [roomId, peer, after, limit]);
			return reply[0] === 'seatless' ? null : parseMessages(reply).messages;
		},
		async leave(i) {
			await run('leave', [i.roomId, i.key32, i.peer, i.now]);
		},
		async cleanup(now, batch) {
			return Number(await run('cleanup', [now, batch]));
		},
		async rateLimit(key, nowMs, ratePerMs, burst) {
			return Number(await run('ratelimit', [key, nowMs, ratePerMs.toFixed(12), burst]));
		},
		async ping() {
			await run('fetch', [0, 0, 0, 1]);
		},
		async close() {
			const c = owned;
			owned = null;
			clientP = null;
			if (c) await (c.close ? c.close() : c.quit?.());
		}
	};
}
