// The rows of a sender with several receivers (one link, up to 32 people): each receiver's phase,
// progress and outcome, kept apart from the link's own state. Fed the events that carry `receiver`.
import type { PeerDropEvent } from '../runtime/wasm/peerdrop.js';
import { cancelledHere, errorSentence, RECEIVER_ERROR_TEXT, textFor, YOU_CANCELLED } from './format.js';
import { progressOf, type NoticeEvent, type TransferError, type TransferPhase, type TransferProgressState } from './transfer.svelte.js';

export interface ReceiverRow {
	/** The runtime's number for this receiver (1 to 32), what `dropReceiver()` takes. */
	id: number;
	/** The first two of its verification words once connected, else null (show "Receiver 3"). */
	label: string | null;
	phase: TransferPhase;
	progress: TransferProgressState;
	/** Why it ended, worded for the sender; null while it runs or once it completed. */
	error: TransferError | null;
	/** Words both screens show once connected: if they differ, someone is in between. */
	verification: string | null;
	/** How this receiver is connected: host, srflx, prflx or relay. */
	path: string | null;
	/** The last notice about this receiver (a stall, a lost connection, a re-sent block), as data. */
	notice: NoticeEvent | null;
}

/** Phases in which a receiver still takes part (and can be removed). */
const RUNNING: TransferPhase[] = ['signaling', 'waiting', 'connecting', 'connected', 'offered', 'transferring', 'reconnecting'];

export function receiverRunning(row: Pick<ReceiverRow, 'phase'>): boolean {
	return RUNNING.includes(row.phase);
}

/** Why one receiver ended, for the sender's list: the others go on, so never "send again". */
function receiverSentence(code: string, message: string | null | undefined): string {
	// "cancelled" from this side's cancel() ending everyone, else from that receiver (the table's).
	if (cancelledHere(code, message)) return YOU_CANCELLED;
	return textFor(RECEIVER_ERROR_TEXT, code) ?? errorSentence('sender', code, message);
}

export class ReceiverList {
	/** In the order the receivers first showed up. */
	rows = $state<ReceiverRow[]>([]);
	/** Receivers still in the transfer, done, and ended without every file. */
	running = $derived(this.rows.filter(receiverRunning).length);
	done = $derived(this.rows.filter((r) => r.phase === 'complete').length);
	failed = $derived(this.rows.filter((r) => r.phase === 'error' || r.phase === 'cancelled').length);

	/** The bytes on offer: a row's progress starts at 0 of this before its first progress event. */
	totalBytes = 0;

	/** Updates (or creates) the row `event.receiver` is about. */
	apply(event: PeerDropEvent & { receiver: number }): void {
		const row = this.#row(event.receiver);
		switch (event.type) {
			case 'status':
				row.phase = event.phase;
				// Back after a failure (a reload that resumes): the old reason no longer holds.
				row.error = null;
				if (event.path) row.path = event.path;
				if (event.verification) row.verification = event.verification;
				if (event.label) row.label = event.label;
				if (event.phase !== 'reconnecting') row.notice = null;
				break;
			case 'progress':
				row.progress = progressOf(event);
				if (row.phase === 'connected') row.phase = 'transferring';
				break;
			case 'stalled':
				row.notice = { type: 'stalled', seconds: Math.round(event.idleMs / 1000), detail: event.message ?? null };
				break;
			case 'disconnected':
				row.notice = { type: 'disconnected', detail: event.message ?? null };
				break;
			case 'blockRejected':
				row.notice = { type: 'blockRejected' };
				break;
			case 'complete':
				row.phase = 'complete';
				row.progress = { ...row.progress, verified: row.progress.total, percent: 100, eta: 0 };
				row.notice = null;
				break;
			case 'error':
				row.error = { code: event.code, message: receiverSentence(event.code, event.message), side: 'sender', local: cancelledHere(event.code, event.message) };
				// Removed by the sender, or the receiver cancelled: stopped on purpose, not a failure.
				row.phase = event.code === 'dropped' || event.code === 'cancelled' ? 'cancelled' : 'error';
				row.notice = null;
				break;
		}
	}

	/** Ends every row still running (the sender cancelled everything), with `error`. */
	endRunning(error: TransferError): void {
		for (const row of this.rows) {
			if (!receiverRunning(row)) continue;
			row.phase = error.code === 'cancelled' ? 'cancelled' : 'error';
			row.error = error;
			row.notice = null;
		}
	}

	clear(): void {
		this.rows = [];
		this.totalBytes = 0;
	}

	#row(id: number): ReceiverRow {
		let row = this.rows.find((r) => r.id === id);
		if (!row) {
			this.rows.push({
				id,
				label: null,
				phase: 'connecting',
				progress: { verified: 0, total: this.totalBytes, rate: 0, eta: null, percent: 0 },
				error: null,
				verification: null,
				path: null,
				notice: null
			});
			// The proxied row: changes to it must reach the page.
			row = this.rows[this.rows.length - 1];
		}
		return row;
	}
}
