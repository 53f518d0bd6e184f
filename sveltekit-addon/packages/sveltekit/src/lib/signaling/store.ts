// The storage a signaling handler needs. Every method is one atomic step (the memory store runs
// them synchronously inside one event-loop turn; the Redis store runs each as one Lua script), so
// the semantics of docs/signaling.md (one join wins, idempotent sends, per-room id order) hold
// across concurrent requests and, with Redis, across server instances.

export interface StoredMessage {
	id: number;
	type: string;
	data: string;
	seq: number;
}

export interface CreateInput {
	key: string;
	now: number;
	expires: number;
	maxRooms: number;
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
	peer: 0 | 1;
	now: number;
}

export interface SendInput extends RoomRef {
	seq: number;
	type: string;
	data: string;
	/** SHA-256 of type NUL data: a retry with the same seq must carry the same content. */
	digest: string;
	maxQueue: number;
	maxRoomMessages: number;
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
	/** Returns the new room's id. Throws SignalingError room_exists or server_full. */
	create(input: CreateInput): Promise<number>;
	/** Throws room_not_found, room_expired or room_full. */
	join(input: JoinInput): Promise<{ roomId: number; expires: number }>;
	/** Throws room_closed, room_expired, seq_conflict, peer_left, room_message_limit or queue_full. */
	send(input: SendInput): Promise<{ status: 200 | 201; id: number }>;
	/** Acknowledges ids <= after, then returns what follows. Throws room_closed, room_expired or peer_left. */
	poll(input: PollInput): Promise<{ messages: StoredMessage[]; expires: number }>;
	/**
	 * Unacknowledged messages to `peer` with id > after (used while a poll is held); null once
	 * `peer` has no seat (it left, or the room is gone), which ends the hold.
	 */
	fetch(roomId: number, peer: 0 | 1, after: number, limit: number): Promise<StoredMessage[] | null>;
	/** Idempotent. */
	leave(input: RoomRef): Promise<void>;
	/** Deletes at most `batch` expired rooms; returns how many. */
	cleanup(now: number, batch: number): Promise<number>;
	/**
	 * Takes one token from the bucket `key` (burst tokens, refilled at ratePerMs). Returns the level
	 * before taking: >= 1 means allowed, below 1 means refused.
	 */
	rateLimit(key: string, nowMs: number, ratePerMs: number, burst: number): Promise<number>;
	/** Throws when the store cannot be used. */
	ping(): Promise<void>;
	/** Resolves when a message for (roomId, peer) may have arrived, or after `ms`. */
	waitForMessage?(roomId: number, peer: 0 | 1, ms: number): Promise<void>;
}
