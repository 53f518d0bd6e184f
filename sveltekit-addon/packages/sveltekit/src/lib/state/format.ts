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

export const PHASE_TEXT: Record<string, string> = {
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
		code_abandoned: 'The sender left before the code was checked. Ask them for a new code, then enter it.'
	}
};

/** `table[key]` if it is the table's own entry (never Object.prototype's "constructor" and the like). */
export function textFor(table: Record<string, string>, key: string): string | undefined {
	return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** The sentence to show for an error: its message, else the text for its code, else a generic one. */
export function errorText(error: { code: string; message?: string | null }): string {
	return error.message || textFor(ERROR_TEXT, error.code) || `The transfer stopped (${error.code}).`;
}
