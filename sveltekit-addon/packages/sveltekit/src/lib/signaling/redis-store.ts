// Redis store: several server instances (adapter-node behind a load balancer, containers) share
// rooms and messages. Each operation is one Lua script, so it is atomic across instances.
// Works with node-redis 4/5 (`redis` on npm) and ioredis clients, on a single Redis primary
// (the scripts touch keys derived from their arguments, so Redis Cluster is not supported).

import { randomSecret } from './crypto.js';
import { quotaError, ROOM_MESSAGES, SignalingError, type RoomMessage, type SignalingErrorCode } from './errors.js';
import { MAX_CODE, ROW_BYTES, SHORT_CODES, type RoomRef, type SignalingStore, type StoredMessage } from './store.js';
import { MAX_PEER } from './token.js';

/** The part of a node-redis or ioredis client this store uses. */
export interface RedisLikeClient {
	eval(...args: any[]): Promise<unknown>;
}

export interface RedisStoreOptions {
	/**
	 * A connected client (`await createClient({ url }).connect()` from `redis`, or an ioredis
	 * instance). For a URL, import `createRedisStore` from `@peerdrop/sveltekit/redis` instead.
	 */
	client: RedisLikeClient;
	/** Key prefix. Default "peerdrop:". */
	prefix?: string;
	/** Called by `close()` (the URL entry quits the client it created). */
	onClose?: () => Promise<unknown>;
}

// Besides each room's keys: 'exp' (ids by expiry), 'rb' (ids to their live bytes) and 'bytes'
// (their total), 'codes' (short-code numbers by expiry), 'c:<client key>' (a client's room ids by
// expiry). 'exp' and 'rb' carry no TTL: every room leaves them through delroom, so the total stays
// exact; expired rooms stop counting at once (livebytes subtracts those not cleaned up yet).
// A room's hash: its seats are fields l<peer> ('1' once that peer left or was dropped; receivers from
// the second on have none until then) and d<peer> (dropped); receivers, seats and closed appear
// with rooms for several receivers (a room stored before them reads as a room for one). In a room
// for several, a stored message "seq|type|data" carries its sender as "seq:from|type|data".
const LIB = `
local P = ARGV[1]
local ROW = ${ROW_BYTES}
local MAXPEER = ${MAX_PEER}
local function delroom(id)
  local f = redis.call('HMGET', P..'r:'..id, 'key', 'creator', 'code')
  local keys = {P..'r:'..id, P..'m:'..id, P..'s:'..id}
  for k = 0, MAXPEER do keys[#keys + 1] = P..'q:'..id..':'..k end
  redis.call('DEL', unpack(keys))
  if f[1] and redis.call('GET', P..'k:'..f[1]) == tostring(id) then redis.call('DEL', P..'k:'..f[1]) end
  if f[2] and f[2] ~= '' then redis.call('ZREM', P..'c:'..f[2], id) end
  if f[3] and f[3] ~= '' then redis.call('ZREM', P..'codes', f[3]) end
  redis.call('ZREM', P..'exp', id)
  local b = redis.call('HGET', P..'rb', id)
  if b then
    redis.call('DECRBY', P..'bytes', b)
    redis.call('HDEL', P..'rb', id)
  end
end
local function addbytes(id, n)
  redis.call('HINCRBY', P..'rb', id, n)
  redis.call('INCRBY', P..'bytes', n)
end
local function livebytes(now)
  local n = tonumber(redis.call('GET', P..'bytes') or '0')
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P..'exp', '-inf', now)) do
    n = n - tonumber(redis.call('HGET', P..'rb', id) or '0')
  end
  return n
end
-- The payload length of a stored message "seq|type|data".
local function datalen(v)
  local a = string.find(v, '|', 1, true)
  local b = string.find(v, '|', a + 1, true)
  return #v - b
end
local function servermsg(id, to, from, typ, keep, many)
  local mid = redis.call('INCR', P..'id')
  redis.call('HSET', P..'m:'..id, mid, (many and ('0:'..from) or '0')..'|'..typ..'|')
  redis.call('ZADD', P..'q:'..id..':'..to, mid, mid)
  redis.call('EXPIRE', P..'m:'..id, keep)
  redis.call('EXPIRE', P..'q:'..id..':'..to, keep)
  addbytes(id, ROW)
end
-- Wipes the messages with these ids from a room's store; they stop counting against the cap.
local function wipe(id, mids)
  local freed = 0
  for _, mid in ipairs(mids) do
    local v = redis.call('HGET', P..'m:'..id, mid)
    if v then freed = freed + datalen(v) end
    redis.call('HDEL', P..'m:'..id, mid)
  end
  if freed > 0 then addbytes(id, -freed) end
end
local function codekey(n) return 'c0de'..string.format('%060d', n) end
-- A free short-code number: a few tries with the caller's random numbers, then a pass over the range.
local function pickcode(now, rand)
  for _, r in ipairs({{1, ${SHORT_CODES}}, {${SHORT_CODES + 1}, ${MAX_CODE}}}) do
    local lo, hi = r[1], r[2]
    for i = 1, 4 do
      local n = lo + (rand[i] % (hi - lo + 1))
      local s = redis.call('ZSCORE', P..'codes', n)
      if not s or tonumber(s) <= now then return n end
    end
    local used = {}
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', P..'codes', '('..now, '+inf')) do used[tonumber(m)] = true end
    local free = {}
    for n = lo, hi do if not used[n] then free[#free + 1] = n end end
    if #free > 0 then return free[1 + (rand[5] % #free)] end
  end
  return nil
end
-- Open rooms under the client keys k1, k2: count, and the first expiry.
local function openrooms(k1, k2, now)
  local n, soonest = 0, 0
  for _, k in ipairs({k1, k2}) do
    n = n + redis.call('ZCOUNT', P..'c:'..k, '('..now, '+inf')
    local first = redis.call('ZRANGEBYSCORE', P..'c:'..k, '('..now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if first[2] and (soonest == 0 or tonumber(first[2]) < soonest) then soonest = tonumber(first[2]) end
  end
  return n, soonest
end
local function loadroom(id, key32, now)
  local f = redis.call('HMGET', P..'r:'..id, 'key', 'expires', 'l0', 'l1', 'count', 'joined', 'keep', 'receivers', 'seats', 'closed')
  if not f[1] or string.sub(f[1], 1, 32) ~= key32 then return redis.error_reply('PD:room_closed') end
  if tonumber(f[2]) <= now then return redis.error_reply('PD:room_expired') end
  return f
end
-- Of a room's fields (receivers, seats, joined): the most receivers, and the seats taken.
local function receiversof(r) return tonumber(r or '1') end
local function seatsof(s, joined) return tonumber(s or ((joined and joined ~= '') and '1' or '0')) end
local function gone(id, k) return redis.call('HGET', P..'r:'..id, 'l'..k) == '1' end
-- The error for a peer without a seat any more: dropped by the sender, or left.
local function seaterror(id, k)
  if k > 0 and redis.call('HGET', P..'r:'..id, 'd'..k) == '1' then return redis.error_reply('PD:peer_dropped') end
  return redis.error_reply('PD:peer_left')
end
-- The receivers in their seats: joined, neither left nor dropped.
local function seated(id, seats)
  local out = {}
  for k = 1, seats do if not gone(id, k) then out[#out + 1] = k end end
  return out
end
-- Takes a peer out of its seat and wipes what was waiting for it.
local function unseat(id, k)
  redis.call('HSET', P..'r:'..id, 'l'..k, '1')
  local q = P..'q:'..id..':'..k
  wipe(id, redis.call('ZRANGE', q, 0, -1))
  redis.call('DEL', q)
end
`;

const SCRIPTS = {
	create: `
local key, now, exp, maxrooms, keep = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local maxbytes, creator, quota, k1, k2 = tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9]), ARGV[10], ARGV[11]
local rand = {tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16])}
local receivers = ARGV[17]
if creator ~= '' and quota > 0 then
  local n, soonest = openrooms(k1, k2, now)
  if n >= quota then return redis.error_reply('PD:quota_rooms:'..(soonest - now)) end
end
local code = ''
if key == '' then
  code = pickcode(now, rand)
  if not code then return redis.error_reply('PD:codes_exhausted') end
  key = codekey(code)
end
local existing = redis.call('GET', P..'k:'..key)
if existing then
  local e = redis.call('HGET', P..'r:'..existing, 'expires')
  if e and tonumber(e) > now then return redis.error_reply('PD:room_exists') end
  delroom(existing)
end
if redis.call('ZCARD', P..'exp') >= maxrooms then return redis.error_reply('PD:server_full') end
if maxbytes > 0 and livebytes(now) >= maxbytes then return redis.error_reply('PD:storage_quota_exceeded') end
local id = redis.call('INCR', P..'id')
redis.call('HSET', P..'r:'..id, 'key', key, 'created', now, 'joined', '', 'expires', exp, 'l0', '0', 'l1', '0', 'count', 0, 'keep', keep,
  'creator', creator, 'code', code, 'receivers', receivers, 'seats', 0, 'closed', '0')
redis.call('SET', P..'k:'..key, id, 'EX', keep)
redis.call('EXPIRE', P..'r:'..id, keep)
redis.call('ZADD', P..'exp', exp, id)
addbytes(id, ROW)
if creator ~= '' then
  redis.call('ZADD', P..'c:'..creator, exp, id)
  redis.call('EXPIRE', P..'c:'..creator, keep)
end
if code ~= '' then redis.call('ZADD', P..'codes', exp, code) end
return {tostring(id), key, tostring(code)}`,
	openrooms: `
local n, soonest = openrooms(ARGV[2], ARGV[3], tonumber(ARGV[4]))
return {n, soonest}`,
	join: `
local key, now, ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local id = redis.call('GET', P..'k:'..key)
if not id then return redis.error_reply('PD:room_not_found') end
local f = redis.call('HMGET', P..'r:'..id, 'created', 'joined', 'expires', 'l0', 'keep', 'creator', 'code', 'receivers', 'seats', 'closed')
if not f[1] then return redis.error_reply('PD:room_not_found') end
if tonumber(f[3]) <= now then return redis.error_reply('PD:room_expired') end
-- Seats are never given twice: one a receiver left (or was dropped from) stays taken.
local receivers, seats = receiversof(f[8]), seatsof(f[9], f[2])
if seats >= receivers or f[4] == '1' then return redis.error_reply(receivers > 1 and 'PD:room_full:room_full_many' or 'PD:room_full') end
if f[10] == '1' then return redis.error_reply('PD:room_locked') end
local peer = seats + 1
local exp = tonumber(f[1]) + ttl
redis.call('HSET', P..'r:'..id, 'joined', f[2] ~= '' and f[2] or now, 'expires', exp, 'seats', peer)
redis.call('ZADD', P..'exp', exp, id)
if f[6] and f[6] ~= '' then redis.call('ZADD', P..'c:'..f[6], 'XX', exp, id) end
if f[7] and f[7] ~= '' then redis.call('ZADD', P..'codes', 'XX', exp, f[7]) end
servermsg(id, 0, peer, 'peer-joined', tonumber(f[5]), receivers > 1)
return {id, tostring(exp), tostring(peer)}`,
	send: `
local id, key32, peer, now = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local seq, typ, data, digest, maxq, maxm = ARGV[6], ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11])
local maxbytes, to = tonumber(ARGV[12]), ARGV[13]
local f = loadroom(id, key32, now)
if f.err then return f end
-- Whom it goes to: a receiver names the sender or nobody; the sender names a receiver that joined
-- (in a room for one it may name nobody, and send before the join).
local receivers, seats = receiversof(f[8]), seatsof(f[9], f[6])
local other
if peer ~= 0 then
  if to ~= '' and to ~= '0' then return redis.error_reply('PD:invalid_peer:to_sender') end
  other = 0
elseif to == '' then
  if receivers > 1 then return redis.error_reply('PD:invalid_peer:to_needed') end
  other = 1
else
  other = tonumber(to)
  if other < 1 or other > receivers or (receivers > 1 and other > seats) then return redis.error_reply('PD:invalid_peer:to_joined') end
end
local many = receivers > 1
local sk = peer..':'..seq
local dup = redis.call('HGET', P..'s:'..id, sk)
if dup then
  -- "id|digest", and "|to" in a room for several
  local bar = string.find(dup, '|', 1, true)
  local rest = string.sub(dup, bar + 1)
  local bar2 = string.find(rest, '|', 1, true)
  local d, dto = rest, nil
  if bar2 then d, dto = string.sub(rest, 1, bar2 - 1), tonumber(string.sub(rest, bar2 + 1)) end
  if d ~= digest or (dto and dto ~= other) then return redis.error_reply('PD:seq_conflict') end
  return {'200', string.sub(dup, 1, bar - 1)}
end
if gone(id, peer) then return seaterror(id, peer) end
if gone(id, other) then return redis.error_reply('PD:peer_left') end
if tonumber(f[5]) >= maxm then return redis.error_reply('PD:room_message_limit') end
local q = P..'q:'..id..':'..other
if redis.call('ZCARD', q) >= maxq then return redis.error_reply('PD:queue_full') end
-- A room for several holds no more unread messages than a room for one can (its two queues).
if many then
  local waiting = 0
  for k = 0, seats do waiting = waiting + redis.call('ZCARD', P..'q:'..id..':'..k) end
  if waiting >= 2 * maxq then return redis.error_reply('PD:queue_full') end
end
if maxbytes > 0 and livebytes(now) >= maxbytes then return redis.error_reply('PD:storage_quota_exceeded') end
local mid = redis.call('INCR', P..'id')
local keep = tonumber(f[7])
redis.call('HSET', P..'m:'..id, mid, (many and (seq..':'..peer) or seq)..'|'..typ..'|'..data)
redis.call('ZADD', q, mid, mid)
redis.call('HSET', P..'s:'..id, sk, mid..'|'..digest..(many and ('|'..other) or ''))
redis.call('HINCRBY', P..'r:'..id, 'count', 1)
addbytes(id, ROW + #data)
redis.call('EXPIRE', P..'m:'..id, keep)
redis.call('EXPIRE', q, keep)
redis.call('EXPIRE', P..'s:'..id, keep)
return {'201', tostring(mid)}`,
	poll: `
local id, key32, peer, now, after, limit = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local f = loadroom(id, key32, now)
if f.err then return f end
if gone(id, peer) then return seaterror(id, tonumber(peer)) end
local q = P..'q:'..id..':'..peer
local done = redis.call('ZRANGEBYSCORE', q, '-inf', after)
wipe(id, done)
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
local f = redis.call('HMGET', P..'r:'..id, 'key', 'l'..peer)
if not f[1] or f[2] == '1' then return {'seatless'} end
local out = {'0'}
local ids = redis.call('ZRANGEBYSCORE', P..'q:'..id..':'..peer, '('..after, '+inf', 'LIMIT', 0, limit)
for _, mid in ipairs(ids) do
  out[#out + 1] = mid
  out[#out + 1] = redis.call('HGET', P..'m:'..id, mid) or '0||'
end
return out`,
	leave: `
local id, key32, peer, now = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local f = redis.call('HMGET', P..'r:'..id, 'key', 'expires', 'l0', 'l1', 'joined', 'keep', 'receivers', 'seats')
if not f[1] or string.sub(f[1], 1, 32) ~= key32 then return 0 end
if gone(id, peer) then return 0 end
-- Who is still here once this peer is gone: the sender, and the receivers in their seats.
local receivers = {}
for _, k in ipairs(seated(id, seatsof(f[8], f[5]))) do if k ~= peer then receivers[#receivers + 1] = k end end
local senderhere = peer ~= 0 and f[3] ~= '1'
if ((not senderhere) and #receivers == 0) or tonumber(f[2]) <= now then delroom(id) return 0 end
unseat(id, peer)
-- The sender's leave reaches every receiver; a receiver's reaches the sender only.
local many = receiversof(f[7]) > 1
if peer == 0 then
  for _, k in ipairs(receivers) do servermsg(id, k, 0, 'peer-left', tonumber(f[6]), many) end
elseif senderhere then
  servermsg(id, 0, peer, 'peer-left', tonumber(f[6]), many)
end
return 1`,
	drop: `
local id, key32, now, target = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local f = loadroom(id, key32, now)
if f.err then return f end
if gone(id, 0) then return redis.error_reply('PD:peer_left') end
if target < 1 or target > seatsof(f[9], f[6]) then return redis.error_reply('PD:invalid_peer:drop_joined') end
if gone(id, target) then return 0 end
unseat(id, target)
redis.call('HSET', P..'r:'..id, 'd'..target, '1')
return 1`,
	close: `
local id, key32, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local f = loadroom(id, key32, now)
if f.err then return f end
if gone(id, 0) then return redis.error_reply('PD:peer_left') end
redis.call('HSET', P..'r:'..id, 'closed', '1')
return 1`,
	cleanup: `
local now, batch = tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', P..'exp', '-inf', now, 'LIMIT', 0, batch)
for _, id in ipairs(ids) do delroom(id) end
return #ids`,
	ratelimit: `
local k, now, rate, burst, take = P..'rl:'..ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'
local b = redis.call('HMGET', k, 'tokens', 'updated')
local level = burst
local updated = now
if b[1] then
  level = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate)
  updated = math.max(now, tonumber(b[2]))
end
if level >= 1 and take then
  redis.call('HSET', k, 'tokens', tostring(level - 1), 'updated', tostring(updated))
  redis.call('PEXPIRE', k, 3600000)
end
return tostring(level)`,
	stats: `
local now = tonumber(ARGV[2])
local queued = 0
local ids = redis.call('ZRANGEBYSCORE', P..'exp', '('..now, '+inf')
for _, id in ipairs(redis.call('ZRANGE', P..'exp', 0, -1)) do
  local s = redis.call('HMGET', P..'r:'..id, 'seats', 'joined')
  for k = 0, math.max(1, seatsof(s[1], s[2])) do queued = queued + redis.call('ZCARD', P..'q:'..id..':'..k) end
end
return {#ids, queued, livebytes(now), redis.call('ZCOUNT', P..'codes', '('..now, '+inf')}`,
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
		// "seq:from" in a room for several receivers, "seq" in a room for one.
		const [seq, from] = raw.slice(0, a).split(':');
		const m: StoredMessage = { id: Number(reply[i]), seq: Number(seq), type: raw.slice(a + 1, b), data: raw.slice(b + 1) };
		if (from !== undefined) m.from = Number(from);
		messages.push(m);
	}
	return { expires: Number(reply[0]), messages };
}

export function createRedisStore(options: RedisStoreOptions): SignalingStore & { close(): Promise<void> } {
	const opts = options as RedisStoreOptions & { url?: unknown };
	if (!opts?.client) {
		// The URL form lives in its own entry, which imports `redis` statically: a dynamic import
		// here was dropped by adapter bundlers (Vercel, Netlify), failing only in production.
		throw new TypeError(
			opts?.url !== undefined
				? "createRedisStore({ url }) comes from '@peerdrop/sveltekit/redis' (npm install redis); '@peerdrop/sveltekit/server' takes { client }"
				: 'createRedisStore needs { client }: a connected node-redis or ioredis client'
		);
	}
	const c = opts.client;
	const prefix = options.prefix ?? 'peerdrop:';

	async function run(name: keyof typeof SCRIPTS, args: (string | number)[]): Promise<any> {
		const script = LIB + SCRIPTS[name];
		const argv = [prefix, ...args.map(String)];
		try {
			// node-redis: eval(script, { keys, arguments }); ioredis: eval(script, numKeys, ...args)
			if (typeof (c as any).evalsha === 'function' && typeof (c as any).evalSha !== 'function') {
				return await c.eval(script, 0, ...argv);
			}
			return await c.eval(script, { keys: [], arguments: argv });
		} catch (e) {
			const m = /PD:([a-z_]+)(?::(-?[0-9]+|[a-z_]+))?/.exec(e instanceof Error ? e.message : String(e));
			if (m?.[1] === 'quota_rooms') throw quotaError('rooms', Number(m[2]));
			// A sentence of ROOM_MESSAGES: room_full in a room for several, what invalid_peer is about.
			if (m?.[2] !== undefined && m[2] in ROOM_MESSAGES) throw new SignalingError(m[1] as SignalingErrorCode, ROOM_MESSAGES[m[2] as RoomMessage]);
			if (m) throw new SignalingError(m[1] as SignalingErrorCode);
			throw e;
		}
	}

	return {
		kind: 'redis',
		async sharedSecret() {
			return String(await run('secret', [randomSecret()]));
		},
		async create(i) {
			// Keys also carry a Redis TTL as a backstop (a day past any room's life).
			const [id, key, code] = (await run('create', [
				i.key ?? '', i.now, i.expires, i.maxRooms, 7 * 86400 + 86400, i.maxBytes, i.creator ?? '', i.quotaRooms,
				i.creatorKeys[0] ?? '', i.creatorKeys[1] ?? '', ...i.random, i.receivers ?? 1
			])) as [string, string, string];
			return { roomId: Number(id), key: String(key), code: code === '' ? null : Number(code) };
		},
		async openRooms(keys, now) {
			const [count, soonest] = (await run('openrooms', [keys[0] ?? '', keys[1] ?? '', now])) as [number, number];
			return { count: Number(count), soonest: Number(soonest) };
		},
		async join({ key, now, ttlRoom }) {
			const [id, exp, peer] = (await run('join', [key, now, ttlRoom])) as [string | number, string, string];
			return { roomId: Number(id), expires: Number(exp), peer: Number(peer) };
		},
		async send(i) {
			const [status, id] = (await run('send', [i.roomId, i.key32, i.peer, i.now, i.seq, i.type, i.data, i.digest, i.maxQueue, i.maxRoomMessages, i.maxBytes, i.to ?? ''])) as [string, string];
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
		async drop(i: RoomRef & { target: number }) {
			await run('drop', [i.roomId, i.key32, i.now, i.target]);
		},
		async closeRoom(i: RoomRef) {
			await run('close', [i.roomId, i.key32, i.now]);
		},
		async cleanup(now, batch) {
			return Number(await run('cleanup', [now, batch]));
		},
		async rateLimit(key, nowMs, ratePerMs, burst, take = true) {
			return Number(await run('ratelimit', [key, nowMs, ratePerMs.toFixed(12), burst, take ? 1 : 0]));
		},
		async stats(now) {
			const [openRooms, queuedMessages, liveBytes, codeRooms] = ((await run('stats', [now])) as unknown[]).map(Number);
			return { openRooms, queuedMessages, liveBytes, codeRooms };
		},
		async ping() {
			await run('fetch', [0, 0, 0, 1]);
		},
		async close() {
			await options.onClose?.();
		}
	};
}
