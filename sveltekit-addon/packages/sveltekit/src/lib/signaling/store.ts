// The storage a signaling handler needs. Every method is one atomic step (the memory store runs
// them synchronously inside one event-loop turn; the Redis store runs each as one Lua script), so
// the semantics of docs/signaling.md (one join wins, idempotent sends, per-room id order) hold
// across concurrent requests and, with Redis, across server instances.

/** What a stored room, or message row, counts against maxDbBytes besides its payload (as signal.php). */
export const ROW_BYTES = 256;
/** Short-code numbers: 1 to SHORT_CODES while any is free, else up to MAX_CODE. */
export const SHORT_CODES = 999;
export const MAX_CODE = 9999;

/**
 * The room key of short-code number `n`: a namespace of its own (a room id's key is a SHA-256
 * hex digest, which never looks like this), derivable without hashing (Redis scripts cannot).
 */
export function codeKey(n: number): string {
	return 'c0de' + String(n).padStart(60, '0');
}

export interface StoredMessage {
	id: number;
	type: string;
	data: string;
	seq: number;
	/** Who sent it: only in a room for several receivers (a room for one keeps its message shape). */
	from?: number;
}

export interface CreateInput {
	/** The room key; null opens a short-code room: the store picks a free number (codeKey()). */
	key: string | null;
	now: number;
	expires: number;
	maxRooms: number;
	/** Cap on the live bytes (0 = none): storage_quota_exceeded at it. */
	maxBytes: number;
	/** The creator's client key, stored with the room; null when the client is unknown (no quota). */
	creator: string | null;
	/** The client's keys (today's, yesterday's): its open rooms under either count against quotaRooms. */
	creatorKeys: string[];
	/** Open rooms one client may hold (0 = no quota): quota_exceeded (rooms) at it. */
	quotaRooms: number;
	/** Five random 32-bit integers, for picking a short-code number. */
	random: number[];
	/** The most receivers the room seats (peers 1 to receivers); absent or 1: a room for one. */
	receivers?: number;
}

export interface Created {
	roomId: number;
	key: string;
	/** The number of a short-code room, else null. */
	code: number | null;
}

export interface JoinInput {
	key: string;
	now: number;
	ttlRoom: number;
}

export interface RoomRef {
	roomId: number;
	/** First 32 hex digits of the room key, as carried in the token. */
	key32: string;
	/** 0: the sender; 1 to 32: a receiver. */
	peer: number;
	now: number;
}

export interface SendInput extends RoomRef {
	seq: number;
	type: string;
	data: string;
	/** SHA-256 of type NUL data: a retry with the same seq must carry the same content. */
	digest: string;
	/** Bytes of data in UTF-8. */
	size: number;
	maxQueue: number;
	maxRoomMessages: number;
	maxBytes: number;
	/** The recipient as the request names it ("to"), or null: the only other peer. */
	to: number | null;
}

export interface StoreStats {
	openRooms: number;
	queuedMessages: number;
	/** What maxDbBytes caps: ROW_BYTES per open room and per message row, plus unread payloads. */
	liveBytes: number;
	/** Open short-code rooms: numbers in use. */
	codeRooms: number;
}

export interface PollInput extends RoomRef {
	after: number;
	limit: number;
}

export interface SignalingStore {
	/** Reported as `storage` by the health check. */
	readonly kind: string;
	/** A secret generated once and shared by every instance using this store. */
	sharedSecret(): Promise<string>;
	/**
	 * Opens a room. Throws SignalingError quota_exceeded (rooms), room_exists, codes_exhausted,
	 * server_full or storage_quota_exceeded, in that order.
	 */
	create(input: CreateInput): Promise<Created>;
	/** Open rooms created under any of `keys`, and when the first of them expires (0 if none). */
	openRooms(keys: string[], now: number): Promise<{ count: number; soonest: number }>;
	/** Takes the next seat: its peer number. Throws room_not_found, room_expired, room_full or room_locked. */
	join(input: JoinInput): Promise<{ roomId: number; expires: number; peer: number }>;
	/**
	 * Throws room_closed, room_expired, invalid_peer, seq_conflict, peer_left, peer_dropped,
	 * room_message_limit, queue_full or storage_quota_exceeded.
	 */
	send(input: SendInput): Promise<{ status: 200 | 201; id: number }>;
	/** Acknowledges ids <= after, then returns what follows. Throws room_closed, room_expired, peer_left or peer_dropped. */
	poll(input: PollInput): Promise<{ messages: StoredMessage[]; expires: number }>;
	/**
	 * Unacknowledged messages to `peer` with id > after (used while a poll is held); null once
	 * `peer` has no seat (it left, or the room is gone), which ends the hold.
	 */
	fetch(roomId: number, peer: number, after: number, limit: number): Promise<StoredMessage[] | null>;
	/** Idempotent. */
	leave(input: RoomRef): Promise<void>;
	/**
	 * The sender (input.peer 0) takes receiver `target` out of its seat, for good; idempotent.
	 * Throws room_closed, room_expired, peer_left (the sender left) or invalid_peer.
	 */
	drop(input: RoomRef & { target: number }): Promise<void>;
	/** The sender closes the room to newcomers; idempotent. Throws room_closed, room_expired or peer_left. */
	closeRoom(input: RoomRef): Promise<void>;
	/** Deletes at most `batch` expired rooms; returns how many. */
	cleanup(now: number, batch: number): Promise<number>;
	/**
	 * Takes one token from the bucket `key` (burst tokens, refilled at ratePerMs); with take
	 * false, only looks. Returns the level before taking: >= 1 means allowed, below 1 refused
	 * (nothing is written then).
	 */
	rateLimit(key: string, nowMs: number, ratePerMs: number, burst: number, take?: boolean): Promise<number>;
	/** Gauges for the metrics view. */
	stats(now: number): Promise<StoreStats>;
	/** Throws when the store cannot be used. */
	ping(): Promise<void>;
	/** Resolves when a message for (roomId, peer) may have arrived, or after `ms`. */
	waitForMessage?(roomId: number, peer: number, ms: number): Promise<void>;
}
