// In-memory store: one server process (adapter-node with a single instance, `vite dev`).
// State is lost on restart; links in progress then fail with room_closed and people start again.

import { randomSecret } from './crypto.js';
import { quotaError, roomError, SignalingError } from './errors.js';
import { codeKey, MAX_CODE, ROW_BYTES, SHORT_CODES, type SignalingStore, type StoredMessage } from './store.js';

interface Message extends StoredMessage {
	to: number;
	from: number;
	digest: string;
	acked: boolean;
	/** Bytes of data (0 once wiped). */
	size: number;
}

interface Room {
	id: number;
	key: string;
	created: number;
	expires: number;
	/** The most receivers (peers 1 to receivers), and how many took a seat (never given twice). */
	receivers: number;
	seats: number;
	/** Closed to newcomers by the sender. */
	closed: boolean;
	/** Peers that left or were dropped, and those of them the sender dropped. */
	gone: Set<number>;
	dropped: Set<number>;
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

	const notify = (roomId: number, peer: number) => {
		const set = waiters.get(`${roomId}:${peer}`);
		if (set) for (const wake of set) wake();
	};
	const deleteRoom = (room: Room) => {
		rooms.delete(room.id);
		if (byKey.get(room.key) === room.id) byKey.delete(room.key);
		if (room.code !== null && byCode.get(room.code) === room.id) byCode.delete(room.code);
		for (let peer = 0; peer <= room.seats; peer++) notify(room.id, peer);
	};
	const serverMessage = (room: Room, to: number, from: number, type: string) => {
		room.messages.push({ id: ++nextId, to, from, seq: 0, type, data: '', digest: '', acked: false, size: 0 });
		room.bytes += ROW_BYTES;
		notify(room.id, to);
	};
	/** The receivers in their seats: joined, neither left nor dropped. */
	const seated = (room: Room) => {
		const out: number[] = [];
		for (let k = 1; k <= room.seats; k++) if (!room.gone.has(k)) out.push(k);
		return out;
	};
	/** Throws peer_left, or peer_dropped, when `peer` has no seat any more. */
	const assertSeated = (room: Room, peer: number) => {
		if (room.gone.has(peer)) throw new SignalingError(room.dropped.has(peer) ? 'peer_dropped' : 'peer_left');
	};
	/** Whom a message from `peer` goes to, as signal.php's PeerDropService::recipient(). */
	const recipient = (room: Room, peer: number, to: number | null): number => {
		if (peer !== 0) {
			if (to !== null && to !== 0) throw roomError('invalid_peer', 'to_sender');
			return 0;
		}
		if (to === null) {
			if (room.receivers > 1) throw roomError('invalid_peer', 'to_needed');
			return 1;
		}
		if (to < 1 || to > room.receivers || (room.receivers > 1 && to > room.seats)) throw roomError('invalid_peer', 'to_joined');
		return to;
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
	const unacked = (room: Room, peer: number, after: number, limit: number): StoredMessage[] => {
		const out: StoredMessage[] = [];
		for (const m of room.messages) {
			if (m.to === peer && !m.acked && m.id > after) {
				// A room for several says who sent each message; a room for one keeps its shape.
				out.push(room.receivers > 1 ? { id: m.id, type: m.type, data: m.data, seq: m.seq, from: m.from } : { id: m.id, type: m.type, data: m.data, seq: m.seq });
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
		async create({ key, now, expires, maxRooms, maxBytes, creator, creatorKeys, quotaRooms, random, receivers = 1 }) {
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
				id, key, created: now, expires, receivers, seats: 0, closed: false, gone: new Set(), dropped: new Set(), count: 0,
				messages: [], bySeq: new Map(), creator, code, bytes: ROW_BYTES
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
			// Seats are never given twice: one a receiver left (or was dropped from) stays taken.
			if (room.seats >= room.receivers || room.gone.has(0)) {
				throw room.receivers > 1 ? roomError('room_full', 'room_full_many') : new SignalingError('room_full');
			}
			if (room.closed) throw new SignalingError('room_locked');
			const peer = ++room.seats;
			room.expires = room.created + ttlRoom;
			serverMessage(room, 0, peer, 'peer-joined');
			return { roomId: room.id, expires: room.expires, peer };
		},
		async send({ roomId, key32, peer, now, seq, type, data, digest, size, maxQueue, maxRoomMessages, maxBytes, to }) {
			const room = load(roomId, key32, now);
			const other = recipient(room, peer, to);
			const dup = room.bySeq.get(`${peer}:${seq}`);
			if (dup) {
				if (dup.digest !== digest || dup.to !== other) throw new SignalingError('seq_conflict');
				return { status: 200, id: dup.id };
			}
			assertSeated(room, peer);
			if (room.gone.has(other)) throw new SignalingError('peer_left');
			if (room.count >= maxRoomMessages) throw new SignalingError('room_message_limit');
			let queued = 0;
			let waiting = 0;
			for (const m of room.messages) {
				if (m.acked) continue;
				waiting++;
				if (m.to === other) queued++;
			}
			if (queued >= maxQueue) throw new SignalingError('queue_full');
			// A room for several holds no more unread messages than a room for one can (its two queues).
			if (room.receivers > 1 && waiting >= 2 * maxQueue) throw new SignalingError('queue_full');
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
			assertSeated(room, peer);
			for (const m of room.messages) {
				if (m.to === peer && !m.acked && m.id <= after) wipe(room, m);
			}
			return { messages: unacked(room, peer, after, limit), expires: room.expires };
		},
		async fetch(roomId, peer, after, limit) {
			const room = rooms.get(roomId);
			return room && !room.gone.has(peer) ? unacked(room, peer, after, limit) : null;
		},
		async leave({ roomId, key32, peer, now }) {
			const room = rooms.get(roomId);
			if (!room || room.key.slice(0, 32) !== key32 || room.gone.has(peer)) return;
			// Who is still here once this peer is gone: the sender, and the receivers in their seats.
			const receivers = seated(room).filter((k) => k !== peer);
			const senderHere = peer !== 0 && !room.gone.has(0);
			if ((!senderHere && receivers.length === 0) || room.expires <= now) {
				deleteRoom(room);
				return;
			}
			room.gone.add(peer);
			for (const m of room.messages) {
				if (m.to === peer && !m.acked) wipe(room, m);
			}
			// The sender's leave reaches every receiver; a receiver's reaches the sender only.
			for (const to of peer === 0 ? receivers : senderHere ? [0] : []) serverMessage(room, to, peer, 'peer-left');
			notify(room.id, peer);
		},
		async drop({ roomId, key32, now, target }) {
			const room = load(roomId, key32, now);
			assertSeated(room, 0);
			if (target < 1 || target > room.seats) throw roomError('invalid_peer', 'drop_joined');
			if (room.gone.has(target)) return;
			room.gone.add(target);
			room.dropped.add(target);
			for (const m of room.messages) {
				if (m.to === target && !m.acked) wipe(room, m);
			}
			notify(room.id, target);
		},
		async closeRoom({ roomId, key32, now }) {
			const room = load(roomId, key32, now);
			assertSeated(room, 0);
			room.closed = true;
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
