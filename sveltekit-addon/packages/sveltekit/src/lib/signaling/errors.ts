// Error codes and sentences of the v1 signaling contract (docs/signaling.md section 7), the same as
// signal.php's catalog (the reference; a test compares them) so that clients see one set of messages
// whichever server they talk to, in the same order for an easy side-by-side read. The four that tell
// an operator what to change name this handler's own settings (HOST_SPECIFIC), not signal.php's.
export const HOST_SPECIFIC = ['metrics_disabled', 'metrics_unauthorized', 'storage_unavailable', 'misconfigured'] as const;

export const CATALOG = {
	method_not_allowed: [405, 'This endpoint accepts only GET (health check, metrics), POST (signaling) and OPTIONS.'],
	unsupported_media_type: [415, 'Send the request body as JSON with the header Content-Type: application/json.'],
	body_too_large: [413, 'The request body is larger than 64 KiB; send a smaller request.'],
	empty_body: [400, 'The request body is empty; send a JSON object.'],
	invalid_utf8: [400, 'The request body is not valid UTF-8 text.'],
	invalid_json: [400, 'The request body is not valid JSON.'],
	json_too_deep: [400, 'The JSON body is nested too deeply; send a flat JSON object.'],
	not_an_object: [400, 'The request body must be a JSON object.'],
	missing_field: [400, 'A required field is missing from the request.'],
	invalid_field: [400, 'A field in the request has the wrong type.'],
	unsupported_version: [400, 'This server speaks protocol version 1: send "v": 1, or update the app.'],
	unknown_op: [400, 'Unknown operation: use create, join, send, poll, leave, drop or close.'],
	invalid_room: [400, 'The room id must be 22 to 64 base64url characters (A-Z, a-z, 0-9, "-" and "_").'],
	invalid_seq: [400, 'seq must be an integer from 1 to 9007199254740991, one new number per message.'],
	invalid_cursor: [400, 'after must be an integer of 0 or more: the last cursor you received, or 0.'],
	invalid_wait: [400, 'wait must be a whole number of seconds from 0 to 25.'],
	invalid_code: [400, 'code must be the number at the start of the short code, an integer from 1 to 9999.'],
	invalid_receivers: [400, "receivers must be an integer from 1 to this server's max_receivers (its health check lists it); a short-code room has exactly one receiver."],
	invalid_peer: [400, 'Address a peer of this room: the sender sends "to" a receiver that has joined and drops one by its "peer" number; a receiver sends only to the sender, peer 0.'],
	unknown_type: [422, 'Unknown message type: use offer, answer, candidate, bye, sealed or pake.'],
	message_too_large: [413, 'The message data is larger than 16 KiB; split it into smaller messages.'],
	invalid_token: [401, 'The token is not valid for this server; create or join the room again.'],
	not_sender: [403, 'Only the sender (peer 0, who created the room) can drop a receiver or close the room.'],
	token_expired: [410, 'Your token has expired; start a new transfer.'],
	room_exists: [409, 'A room with this id is already open; join it, or create a new one with another code.'],
	room_not_found: [404, 'No open room has this id; check the code, or ask the sender to start a new transfer.'],
	room_full: [409, 'This room already has two peers; ask the sender for a new code.'],
	room_locked: [409, 'The sender has closed this room to new receivers; ask the sender for a new link.'],
	room_expired: [410, 'This room has expired; ask the sender to start a new transfer.'],
	room_closed: [410, 'This room no longer exists (it expired or both peers left); start a new transfer.'],
	peer_left: [410, 'A peer has left this room, so this transfer is over; start a new transfer.'],
	peer_dropped: [410, 'The sender has dropped you from this room; ask the sender for a new link if you still need the files.'],
	seq_conflict: [409, 'This seq was already used for a different message; use a new seq for each new message.'],
	rate_limited: [429, 'Too many requests from your network; wait for the number of seconds in Retry-After, then retry.'],
	quota_exceeded: [429, "Your network is over one of this server's per-client quotas; wait for the number of seconds in Retry-After, then retry."],
	metrics_disabled: [404, 'Metrics are turned off on this server; the operator enables them by setting metricsToken.'],
	metrics_unauthorized: [401, 'Metrics need the header Authorization: Bearer <metrics token> with the token from the server config.'],
	storage_quota_exceeded: [507, 'The server has reached its storage limit; try again later, or tell the site operator.'],
	queue_full: [429, 'Too many messages are waiting for the other peer; wait for it to catch up, then retry.'],
	room_message_limit: [429, 'This room has reached its message limit; start a new transfer.'],
	origin_not_allowed: [403, 'This web origin is not allowed to use this signaling server.'],
	server_full: [503, 'The server has too many open rooms right now; try again in a minute.'],
	codes_exhausted: [503, 'Every short-code number is in use on this server right now; try again in a minute, or send a link instead.'],
	storage_busy: [503, 'The server is busy; retry in a moment.'],
	storage_full: [507, 'The server has run out of storage space; try again later, or tell the site operator.'],
	storage_unavailable: [503, 'The server cannot use its storage; the site operator should check its store (e.g. Redis) and logs.'],
	misconfigured: [503, 'The server is misconfigured; the site operator should check the handler options and logs.'],
	internal_error: [500, 'Something went wrong on the server; try again, and tell the site operator if it keeps happening.']
} as const satisfies Record<string, readonly [number, string]>;

export type SignalingErrorCode = keyof typeof CATALOG;

/** A contract error: HTTP status, stable code, a sentence a person can act on, extra headers. */
export class SignalingError extends Error {
	readonly status: number;
	readonly headers: Record<string, string>;
	constructor(
		readonly code: SignalingErrorCode,
		message?: string,
		headers: Record<string, string> = {}
	) {
		super(message ?? CATALOG[code][1]);
		this.status = CATALOG[code][0];
		const h = { ...headers };
		if (!('Retry-After' in h)) {
			if (code === 'storage_busy') h['Retry-After'] = '1';
			else if (code === 'queue_full') h['Retry-After'] = '2';
			else if (code === 'server_full' || code === 'codes_exhausted') h['Retry-After'] = '60';
			else if (this.status === 503) h['Retry-After'] = '30';
			// Space comes back as rooms expire, as signal.php says.
			else if (code === 'storage_quota_exceeded') h['Retry-After'] = '60';
		}
		if (code === 'metrics_unauthorized') h['WWW-Authenticate'] = 'Bearer realm="peerdrop-metrics"';
		this.headers = h;
	}
}

/**
 * Sentences for the errors of rooms for several receivers, as signal.php's PeerDrop::ROOM_MESSAGES:
 * room_full there, invalid_receivers for a short-code room, and what invalid_peer is about.
 */
export const ROOM_MESSAGES = {
	room_full_many: 'This room already has as many receivers as the sender allowed; ask the sender for a new link.',
	code_receivers: 'A short-code room has exactly one receiver: leave out "receivers", or send a link for several.',
	to_sender: 'A receiver sends only to the sender: leave out "to", or send "to": 0.',
	to_needed: 'In a room for several receivers, the sender names the receiver of each message: "to" is its peer number.',
	to_joined: 'The sender sends "to" a receiver that has joined this room: its peer number, from 1 to the number of receivers that joined.',
	drop_joined: 'Drop a receiver that has joined this room: its "peer" number, from 1 to the number of receivers that joined.'
} as const;

export type RoomMessage = keyof typeof ROOM_MESSAGES;

/** A room error with its sentence from ROOM_MESSAGES. */
export function roomError(code: 'room_full' | 'invalid_receivers' | 'invalid_peer', which: RoomMessage): SignalingError {
	return new SignalingError(code, ROOM_MESSAGES[which]);
}

/** The per-client quotas (docs/signaling.md section 12) and what a client over one is told, as signal.php says it. */
export const QUOTA_MESSAGES = {
	rooms: 'Your network has too many rooms open on this server (open-rooms quota); finish or cancel a transfer, or wait for the number of seconds in Retry-After.',
	creates: 'Your network is creating rooms too fast (creates-per-minute quota); wait for the number of seconds in Retry-After, then retry.',
	failed_joins: 'Too many joins from your network failed (failed-joins quota); check the code or link, then wait for the number of seconds in Retry-After.'
} as const;

export type Quota = keyof typeof QUOTA_MESSAGES;

/** 429 quota_exceeded for `quota`, to retry after `seconds` (at least 1). */
export function quotaError(quota: Quota, seconds: number): SignalingError {
	return new SignalingError('quota_exceeded', QUOTA_MESSAGES[quota], { 'Retry-After': String(Math.max(1, Math.ceil(seconds))) });
}
