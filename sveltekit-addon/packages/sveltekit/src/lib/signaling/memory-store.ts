// In-memory store: one server process (adapter-node with a single instance, `vite dev`).
// State is lost on restart; links in progress then fail with room_closed and people start again.

import { randomSecret } from './crypto.js';
import { quotaError, SignalingError } from './errors.js';
import { codeKey, MAX_CODE, ROW_BYTES, SHORT_CODES, type SignalingStore, type StoredMessage } from './store.js';

interface Message extends StoredMessage {
	to: 0 | 1;
	from: 0 | 1;
	digest: string;
	acked: boolean;
	/** Bytes of data (0 once wiped). */
	size: number;
}

interface Room {
	id: number;
	key: string;
	created: number;
	joined: number | null;
	expires: number;
	left: [boolean, boolean];
	count: number;
	messages: Message[];
	bySeq: Map<string, Message>;
	creator: string | null;
	code: number | null;
	/** Counted against maxBytes: ROW_BYTES for the room and each message, plus unread payloads. */
	bytes: number;
}

interface Bucket {
	tokens: number;
	updated: number;
}

export interface MemoryStoreOptions {
	/** Most rate-limit buckets kept; the idlest are dropped beyond it. Default 100000. */
	maxBuckets?: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): SignalingStore {
	const maxBuckets = options.maxBuckets ?? 100_000;
	let nextId = 0;
	let secret: string | null = null;
	const rooms = new Map<number, Room>();
	const byKey = new Map<string, number>();
	const byCode = new Map<number, number>();
	const buckets = new Map<string, Bucket>();
	const waiters = new Map<string, Set<() => void>>();

	const notify = (roomId: number, peer: 0 | 1) => {
		const set = waiters.get(`${roomId}:${peer}`);
		if (set) for (const wake of set) wake();
	};
	const deleteRoom = (room: Room) => {
		rooms.delete(room.id);
		if (byKey.get(room.key) === room.id) byKey.delete(room.key);
		if (room.code !== null && byCode.get(room.code) === room.id) byCode.delete(room.code);
		notify(room.id, 0);
		notify(room.id, 1);
	};
	const serverMessage = (room: Room, to: 0 | 1, type: string) => {
		room.messages.push({ id: ++nextId, to, from: (1 - to) as 0 | 1, seq: 0, type, data: '', digest: '', acked: false, size: 0 });
		room.bytes += ROW_BYTES;
		notify(room.id, to);
	};
	/** The privacy wipe: acknowledged payloads are dropped and stop counting against maxBytes. */
	const wipe = (room: Room, m: Message) => {
		m.acked = true;
		m.data = '';
		room.bytes -= m.size;
		m.size = 0;
	};
	// Open rooms are at most maxRooms: a pass over them is cheap, and expired rooms drop out of
	// the count the moment they expire, before any cleanup.
	const liveBytes = (now: number) => {
		let n = 0;
		for (const r of rooms.values()) if (r.expires > now) n += r.bytes;
		return n;
	};
	const openRoomsOf = (keys: string[], now: number) => {
		let count = 0;
		let soonest = 0;
		for (const r of rooms.values()) {
			if (r.creator !== null && r.expires > now && keys.includes(r.creator)) {
				count++;
				soonest = soonest === 0 ? r.expires : Math.min(soonest, r.expires);
			}
		}
		return { count, soonest };
	};
	const codeFree = (n: number, now: number) => {
		const id = byCode.get(n);
		const room = id === undefined ? undefined : rooms.get(id);
		return !room || room.expires <= now;
	};
	/** A free short-code number: a few random tries, then a pass over the range; null if none. */
	const pickCode = (now: number, random: number[]): number | null => {
		for (const [lo, hi] of [[1, SHORT_CODES], [SHORT_CODES + 1, MAX_CODE]]) {
			for (let i = 0; i < 4; i++) {
				const n = lo + (random[i] % (hi - lo + 1));
				if (codeFree(n, now)) return n;
			}
			const free: number[] = [];
			for (let n = lo; n <= hi; n++) if (codeFree(n, now)) free.push(n);
			if (free.length > 0) return free[random[4] % free.length];
		}
		return null;
	};
	const load = (roomId: number, key32: string, now: number): Room => {
		const room = rooms.get(roomId);
		if (!room || room.key.slice(0, 32) !== key32) throw new SignalingError('room_closed');
		if (room.expires <= now) throw new SignalingError('room_expired');
		return room;
	};
	const unacked = (room: Room, peer: 0 | 1, after: number, limit: number): StoredMessage[] => {
		const out: StoredMessage[] = [];
		for (const m of room.messages) {
			if (m.to === peer && !m.acked && m.id > after) {
				out.push({ id: m.id, type: m.type, data: m.data, seq: m.seq });
				if (out.length >= limit) break;
			}
		}
		return out;
	};

	return {
		kind: 'memory',
		async sharedSecret() {
			secret ??= randomSecret();
			return secret;
		},
		async create({ key, now, expires, maxRooms, maxBytes, creator, creatorKeys, quotaRooms, random }) {
			if (creator !== null && quotaRooms > 0) {
				const open = openRoomsOf(creatorKeys, now);
				if (open.count >= quotaRooms) throw quotaError('rooms', open.soonest - now);
			}
			let code: number | null = null;
			if (key === null) {
				code = pickCode(now, random);
				if (code === null) throw new SignalingError('codes_exhausted');
				key = codeKey(code);
			}
			const existing = byKey.get(key);
			if (existing !== undefined) {
				const room = rooms.get(existing);
				if (room && room.expires > now) throw new SignalingError('room_exists');
				if (room) deleteRoom(room);
			}
			if (rooms.size >= maxRooms) throw new SignalingError('server_full');
			if (maxBytes > 0 && liveBytes(now) >= maxBytes) throw new SignalingError('storage_quota_exceeded');
			const id = ++nextId;
			rooms.set(id, {
				id, key, created: now, joined: null, expires, left: [false, false], count: 0, messages: [], bySeq: new Map(),
				creator, code, bytes: ROW_BYTES
			});
			byKey.set(key, id);
			if (code !== null) byCode.set(code, id);
			return { roomId: id, key, code };
		},
		async openRooms(keys, now) {
			return openRoomsOf(keys, now);
		},
		async join({ key, now, ttlRoom }) {
			const id = byKey.get(key);
			const room = id === undefined ? undefined : rooms.get(id);
			if (!room) throw new SignalingError('room_not_found');
			if (room.expires <= now) throw new SignalingError('room_expired');
			if (room.joined !== null || room.left[0]) throw new SignalingError('room_full');
			room.joined = now;
			room.expires = room.created + ttlRoom;
			serverMessage(room, 0, 'peer-joined');
			return { roomId: room.id, expires: room.expires };
		},
		async send({ roomId, key32, peer, now, seq, type, data, digest, size, maxQueue, maxRoomMessages, maxBytes }) {
			const room = load(roomId, key32, now);
			const other = (1 - peer) as 0 | 1;
			const dup = room.bySeq.get(`${peer}:${seq}`);
			if (dup) {
				if (dup.digest !== digest) throw new SignalingError('seq_conflict');
				return { status: 200, id: dup.id };
			}
			if (room.left[0] || room.left[1]) throw new SignalingError('peer_left');
			if (room.count >= maxRoomMessages) throw new SignalingError('room_message_limit');
			let queued = 0;
			for (const m of room.messages) if (m.to === other && !m.acked) queued++;
			if (queued >= maxQueue) throw new SignalingError('queue_full');
			if (maxBytes > 0 && liveBytes(now) >= maxBytes) throw new SignalingError('storage_quota_exceeded');
			const msg: Message = { id: ++nextId, to: other, from: peer, seq, type, data, digest, acked: false, size };
			room.messages.push(msg);
			room.bySeq.set(`${peer}:${seq}`, msg);
			room.count++;
			room.bytes += ROW_BYTES + size;
			notify(room.id, other);
			return { status: 201, id: msg.id };
		},
		async poll({ roomId, key32, peer, now, after, limit }) {
			const room = load(roomId, key32, now);
			if (room.left[peer]) throw new SignalingError('peer_left');
			for (const m of room.messages) {
				if (m.to === peer && !m.acked && m.id <= after) wipe(room, m);
			}
			return { messages: unacked(room, peer, after, limit), expires: room.expires };
		},
		async fetch(roomId, peer, after, limit) {
			const room = rooms.get(roomId);
			return room && !room.left[peer] ? unacked(room, peer, after, limit) : null;
		},
		async leave({ roomId, key32, peer, now }) {
			const room = rooms.get(roomId);
			if (!room || room.key.slice(0, 32) !== key32 || room.left[peer]) return;
			const other = (1 - peer) as 0 | 1;
			const otherPresent = other === 0 ? !room.left[0] : room.joined !== null && !room.left[1];
			if (!otherPresent || room.expires <= now) {
				deleteRoom(room);
				return;
			}
			room.left[peer] = true;
			for (const m of room.messages) {
				if (m.to === peer && !m.acked) wipe(room, m);
			}
			serverMessage(room, other, 'peer-left');
			notify(room.id, peer);
		},
		async cleanup(now, batch) {
			let n = 0;
			for (const room of rooms.values()) {
				if (n >= batch) break;
				if (room.expires <= now) {
					deleteRoom(room);
					n++;
				}
			}
			return n;
		},
		async rateLimit(key, nowMs, ratePerMs, burst, take = true) {
			const b = buckets.get(key);
			const level = b ? Math.min(burst, b.tokens + Math.max(0, nowMs - b.updated) * ratePerMs) : burst;
			if (level >= 1 && take) {
				buckets.delete(key); // re-insert: Map order then follows recency
				buckets.set(key, { tokens: level - 1, updated: Math.max(b?.updated ?? 0, nowMs) });
				if (buckets.size > maxBuckets) buckets.delete(buckets.keys().next().value as string);
			}
			return level;
		},
		async stats(now) {
			let openRooms = 0;
			let queuedMessages = 0;
			let codeRooms = 0;
			for (const r of rooms.values()) {
				for (const m of r.messages) if (!m.acked) queuedMessages++;
				if (r.expires <= now) continue;
				openRooms++;
				if (r.code !== null) codeRooms++;
			}
			return { openRooms, queuedMessages, liveBytes: liveBytes(now), codeRooms };
		},
		async ping() {},
		waitForMessage(roomId, peer, ms) {
			return new Promise<void>((resolve) => {
				const k = `${roomId}:${peer}`;
				let set = waiters.get(k);
				if (!set) waiters.set(k, (set = new Set()));
				const done = () => {
					clearTimeout(timer);
					set!.delete(done);
					if (set!.size === 0) waiters.delete(k);
					resolve();
				};
				const timer = setTimeout(done, ms);
				set.add(done);
			});
		}
	};
}
