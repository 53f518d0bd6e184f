import type { TransferPhase } from './phase.js';

/** "1.5 MiB" */
export function formatBytes(n: number): string {
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let i = 0;
	while (n >= 1024 && i < units.length - 1) {
		n /= 1024;
		i++;
	}
	return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** "42 s left", "3 min 5 s left", "estimating…" */
export function formatEta(seconds: number | null | undefined): string {
	if (seconds == null || !isFinite(seconds)) return 'estimating…';
	if (seconds < 60) return `${Math.ceil(seconds)} s left`;
	const m = Math.floor(seconds / 60);
	return m < 60 ? `${m} min ${Math.ceil(seconds % 60)} s left` : `${Math.floor(m / 60)} h ${m % 60} min left`;
}

export const PHASE_TEXT: Record<TransferPhase, string> = {
	idle: 'Ready.',
	loading: 'Loading…',
	signaling: 'Contacting the signaling server…',
	waiting: 'Waiting for the other browser to open the link…',
	connecting: 'Connecting to the other browser…',
	connected: 'Connected directly.',
	offered: 'Files are offered: choose where to receive them.',
	transferring: 'Transferring…',
	reconnecting: 'Connection lost, retrying; the transfer resumes where it stopped…',
	complete: 'Done: every file arrived and was verified.',
	cancelled: 'The transfer was cancelled.',
	error: 'The transfer stopped.'
};

/** Short-code errors (the runtime's codes) as sentences; used when an error arrives without a message. */
export const ERROR_TEXT: Record<string, string> = {
	bad_code: 'That is not a PeerDrop code: a code is a number and two words, like 7-guitar-orbit.',
	code_unknown: 'No sender is waiting with this code. Check the number with the sender; a code works only while their page is open.',
	code_used: 'This code has already been used: each code allows one try. Ask the sender for a new code.',
	wrong_code: 'The codes did not match, so nothing was sent. Each code allows one try: the sender makes a new code.',
	code_abandoned: 'The other side left before the code was checked. Make a new code and try again.'
};

/**
 * The same errors worded for the side that sees them. The runtime's sentences address both sides
 * at once ("the sender makes a new code, then enter that one"); the state classes know which side
 * they are. bad_code is left to the runtime: its message names the word that is wrong.
 */
export const ROLE_ERROR_TEXT: Record<'sender' | 'receiver', Record<string, string>> = {
	sender: {
		wrong_code: 'The receiver entered a different code, so nothing was sent. Each code allows one try: make a new code and read it out again.',
		code_abandoned: 'The receiver left before the code was checked. Make a new code and read it out again.'
	},
	receiver: {
		code_unknown: ERROR_TEXT.code_unknown,
		code_used: ERROR_TEXT.code_used,
		wrong_code: 'The code did not match the sender’s, so nothing was sent. Each code allows one try: ask the sender for a new code, then enter it.',
		code_abandoned: 'The sender left before the code was checked. Ask them for a new code, then enter it.',
		// A link for several receivers.
		link_closed: 'The sender closed this link to newcomers, so it cannot be opened any more. Ask them for a new link.',
		dropped: 'The sender removed you from this transfer. Ask them for the files again if you still need them.'
	}
};

/**
 * Why one receiver of a link for several ended, as the sender's list shows it beside that
 * receiver: the others go on, so "send again" would be the wrong advice.
 */
export const RECEIVER_ERROR_TEXT: Record<string, string> = {
	dropped: 'You removed this receiver.',
	connection_lost: 'The connection to this receiver was lost and could not be restored.',
	timeout: 'This receiver stopped answering.',
	rejected: 'This receiver declined the files.',
	cancelled: 'This receiver cancelled.'
};

/**
 * Sentences for the codes the tables above leave to the runtime, whose own messages carry details
 * (a size, the word that is wrong) in English: the components word every code from `messages`.
 */
export const GENERAL_ERROR_TEXT: Record<string, string> = {
	signaling_unreachable: 'The signaling server cannot be reached. Check your internet connection and try again; if it keeps happening, the site’s server may be down.',
	signaling_error: 'The signaling server refused the request. Try again; if it keeps happening, tell whoever runs this site.',
	signaling_tampered: 'The connection was not set up because its setup messages were altered on the way. Nothing was sent. Try again, or on another network.',
	bad_link: 'This link does not work: it is damaged or incomplete. Copy the whole link again, or ask the sender for a new one.',
	link_expired: 'This link has expired or the sender closed their page. Ask for a new link.',
	link_in_use: 'This link is taken: someone else already opened it (or as many people as the sender allowed). Ask the sender for a new one.',
	invalid_receivers: 'This page asked to send to a number of people PeerDrop cannot serve (1 to 32; a short code is for one). Reload the page; if it keeps happening, tell whoever runs this site.',
	peer_not_found: 'The other side did not answer in time. Make sure their page is still open, then try again.',
	ice_failed:
		'The two browsers could not connect: the network between them blocks a direct connection, and no relay server got through. Try another network, or ask whoever runs this site to set up a TURN server.',
	no_files: 'No file was picked. Choose one or more files to send.',
	browser_error: 'The browser refused something PeerDrop needs. Reload the page and try again; if it keeps happening, try another browser.',
	unsupported: 'This browser lacks a feature PeerDrop needs here; try a current Chrome, Edge, Firefox or Safari.',
	insufficient_storage: 'There is not enough storage for these files in this browser. Free some disk space, or save to a folder you pick.',
	sink_failed: 'Saving a file failed. Check that there is free disk space, then try again.',
	too_large_for_memory: 'These files are more than this browser can hold in memory. Open the link in a browser that can save to disk (Chrome, Edge, Firefox or Safari).',
	load_failed: 'PeerDrop could not start in this browser. Reload the page; if it keeps happening, try a current Chrome, Edge, Firefox or Safari.'
};

/** Every code worded for one side, as the components show it (the defaults of `messages.sideErrors`). */
export function sideErrorText(side: 'sender' | 'receiver'): Record<string, string> {
	return { ...GENERAL_ERROR_TEXT, ...ERROR_TEXT, ...TRANSFER_ERROR_TEXT[side], ...ROLE_ERROR_TEXT[side] };
}

/** What a local cancel() says (the state's `error.message`; `messages.youCancelled` in the components). */
export const YOU_CANCELLED = 'You cancelled the transfer.';

/** The runtime's prefix for an error the other side reported. */
const REMOTE = /^the other side reported: /;

/** A `cancelled` error this side caused (its own cancel), not one the other side reported. */
export function cancelledHere(code: string, message: string | null | undefined): boolean {
	return code === 'cancelled' && !REMOTE.test(message ?? '');
}

/** `table[key]` if it is the table's own entry (never Object.prototype's "constructor" and the like). */
export function textFor(table: Record<string, string>, key: string): string | undefined {
	return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** The sentence to show for an error: its message, else the text for its code, else a generic one. */
export function errorText(error: { code: string; message?: string | null }, unknown = UNKNOWN_ERROR): string {
	return error.message || textFor(ERROR_TEXT, error.code) || unknown;
}

const UNKNOWN_ERROR = 'The transfer stopped for a reason this page does not know. Try again; if it keeps happening, reload both pages.';

const OUTDATED = 'The other browser sent something this page does not understand. Reload both pages so they run the same version, then try again.';

/**
 * Transfer errors as sentences for each side, saying what to do. The runtime words these for
 * developers ("the other side reported: sender cancelled (cancelled)"); `cancelled` is used only
 * when the other side cancelled (a local cancel says "You cancelled the transfer.").
 */
export const TRANSFER_ERROR_TEXT: Record<'sender' | 'receiver', Record<string, string>> = {
	sender: {
		cancelled: 'The receiver cancelled the transfer. Send again when they are ready.',
		connection_lost: 'The connection to the receiver was lost and could not be restored. Send again, and keep this page open until the transfer completes.',
		timeout: 'The receiver stopped answering. Make sure their page is still open, then send again.',
		integrity_failed: 'The receiver got damaged data, so the transfer stopped. Send again.',
		source_failed: 'A file could not be read: it was moved, deleted or changed while sending. Pick it again and send.',
		rejected: 'The receiver declined the files.',
		limit_exceeded: 'The receiver’s browser cannot take this much at once. Send fewer or smaller files.',
		unsafe_path: 'The receiver refused a file name as unsafe. Rename the file and send again.',
		protocol_violation: OUTDATED,
		flow_control_violation: OUTDATED,
		unsupported_version: OUTDATED
	},
	receiver: {
		cancelled: 'The sender cancelled the transfer. Ask them to send the files again if you still need them.',
		connection_lost: 'The connection to the sender was lost and could not be restored. Ask the sender for a new link, and to keep their page open.',
		timeout: 'The sender stopped answering. Make sure their page is still open, then ask for a new link.',
		integrity_failed: 'A file arrived damaged and was not kept. Ask the sender for a new link and try again.',
		source_failed: 'The sender’s browser could not read a file: it was moved, deleted or changed while sending. Ask them to pick it again.',
		rejected: 'The files were declined.',
		limit_exceeded: 'This transfer is larger than this browser can take. Ask the sender to send fewer or smaller files.',
		unsafe_path: 'A file name from the sender was not safe to save here, so the transfer stopped. Ask the sender to rename the file.',
		protocol_violation: OUTDATED,
		flow_control_violation: OUTDATED,
		unsupported_version: OUTDATED
	}
};

/** "the other side reported: sender cancelled (cancelled)": the runtime's transfer error shape. */
const RAW_TRANSFER = /^(the other side reported: )?([\s\S]+?) \(([a-z_]+)\)$/;

/**
 * The sentence a state object keeps for an error of `code` seen by `side`: its role's sentence,
 * a transfer error reworded (never with its code in brackets), else the runtime's message.
 */
export function errorSentence(side: 'sender' | 'receiver', code: string, message: string | null | undefined): string {
	const role = textFor(ROLE_ERROR_TEXT[side], code);
	if (role) return role;
	const raw = RAW_TRANSFER.exec(message ?? '');
	if (raw) {
		const remote = raw[1] !== undefined;
		if (code === 'cancelled' && !remote) return YOU_CANCELLED;
		const text = textFor(TRANSFER_ERROR_TEXT[side], code);
		if (text) return text;
		const what = raw[2].trim();
		return `${remote ? 'The other side reported: ' : ''}${what.charAt(0).toUpperCase()}${what.slice(1)}${/[.!?]$/.test(what) ? '' : '.'}`;
	}
	return message || textFor(ERROR_TEXT, code) || UNKNOWN_ERROR;
}
