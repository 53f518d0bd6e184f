// Svelte 5 runes state shared by the sender and the receiver.
import type { CommonOptions, Diagnosis, ErrorCode, FileInfo, PeerDropEvent } from '../runtime/wasm/peerdrop.js';
import { loadPeerDrop, peerdropConfig, type PeerDropConfig, type PeerDropRuntime } from '../runtime/load.js';
import { cancelledHere, errorSentence, YOU_CANCELLED } from './format.js';
import type { TransferPhase } from './phase.js';

export type { TransferPhase } from './phase.js';

export interface TransferError {
	code: ErrorCode | 'load_failed' | (string & {});
	/** An English sentence for pages of your own; the components word the error from `code` (their `messages`). */
	message: string;
	/** The side that saw it: the components word it for that side (`messages.sideErrors`). */
	side?: 'sender' | 'receiver';
	/** This side caused it (its own cancel()), rather than the other side or the network. */
	local?: boolean;
}

export interface TransferProgressState {
	/** Bytes hashed and stored on the receiving side. */
	verified: number;
	total: number;
	/** Bytes per second over the last seconds. */
	rate: number;
	/** Seconds left, null while unknown. */
	eta: number | null;
	/** 0 to 100. */
	percent: number;
}

export interface TransferFile extends FileInfo {
	/** Verified bytes of this file. */
	verified: number;
	done: boolean;
	/** Receiver: the finished file (null when saved to a picked folder). */
	blob: Blob | null;
	/** Receiver: object URL of `blob` for a download link (revoked by destroy()). */
	url: string | null;
	/** Receiver: the runtime's content digest (hex; SHA-256 over the block digests, not the sha256sum), when known. */
	digest: string | null;
	saved: boolean;
}

/** `flow` and `hasher` are passed to the runtime as they are. */
export interface TransferOptions extends PeerDropConfig, Pick<CommonOptions, 'flow' | 'hasher'> {
	/** Every raw event of the runtime, after the state is updated. */
	onEvent?: (event: PeerDropEvent) => void;
}

/** A notice as data: a stall (seconds without progress, the runtime's detail), a lost connection, a re-sent block. */
export type NoticeEvent =
	| { type: 'stalled'; seconds: number; detail: string | null }
	| { type: 'disconnected'; detail: string | null }
	| { type: 'blockRejected' }
	/** Receiver: "Save to a folder…" was dismissed without picking one. */
	| { type: 'pickCancelled' };

/** The progress a `progress` event reports. */
export function progressOf(event: Extract<PeerDropEvent, { type: 'progress' }>): TransferProgressState {
	return {
		verified: event.verifiedBytes,
		total: event.totalBytes,
		rate: event.bytesPerSecond,
		eta: event.etaSeconds,
		percent: Math.min(100, (100 * event.verifiedBytes) / Math.max(event.totalBytes, 1))
	};
}

/** Progress before any byte of `total` is verified. */
function noProgress(total: number): TransferProgressState {
	return { verified: 0, total, rate: 0, eta: null, percent: 0 };
}

interface Handle {
	cancel(): void;
	diagnose(): Promise<Diagnosis>;
	free?(): void;
}

export abstract class TransferState {
	phase = $state<TransferPhase>('idle');
	files = $state<TransferFile[]>([]);
	progress = $state<TransferProgressState>(noProgress(0));
	error = $state<TransferError | null>(null);
	/** Words both screens show once connected: if they differ, someone is in between. */
	verification = $state<string | null>(null);
	/** How the peers are connected: host, srflx, prflx or relay. */
	path = $state<string | null>(null);
	/** Where this connection's STUN/TURN servers came from (`none`: only devices that reach
	 *  each other directly, e.g. on one network, can connect), or null before connecting. */
	iceSource = $state<'page' | 'endpoint' | 'none' | null>(null);
	/** While a lost connection is being restored: when it is given up (ms since the epoch). */
	giveUpAt = $state<number | null>(null);
	/** The last human-readable notice (stalls, disconnections), or null. */
	notice = $state<string | null>(null);
	/** What `notice` says, as data, for pages that word it themselves (the components' `messages`). */
	noticeEvent = $state.raw<NoticeEvent | null>(null);
	/** Connected and moving bytes, or about to. */
	active = $derived(['signaling', 'waiting', 'connecting', 'connected', 'offered', 'transferring', 'reconnecting'].includes(this.phase));

	protected handle: Handle | null = null;
	protected options: TransferOptions;
	/** Which side this is: error sentences are worded for it (ROLE_ERROR_TEXT, TRANSFER_ERROR_TEXT). */
	protected readonly side: 'sender' | 'receiver' = 'sender';

	constructor(options: TransferOptions = {}) {
		this.options = options;
	}

	protected config() {
		const c = peerdropConfig();
		return {
			signalUrl: this.options.signalUrl ?? c.signalUrl ?? '/api/peerdrop',
			// Undefined lets the runtime use the servers the signaling endpoint hands out.
			iceServers: this.options.iceServers ?? c.iceServers,
			wasmUrl: this.options.wasmUrl ?? c.wasmUrl,
			storageWorkerUrl: this.options.storageWorkerUrl ?? c.storageWorkerUrl,
			flow: this.options.flow,
			hasher: this.options.hasher
		};
	}

	protected async runtime(): Promise<PeerDropRuntime | null> {
		try {
			return await loadPeerDrop({ wasmUrl: this.config().wasmUrl });
		} catch (e) {
			this.fail({ code: 'load_failed', message: `PeerDrop could not start in this browser: ${(e as Error)?.message ?? e}` });
			return null;
		}
	}

	protected fail(e: unknown) {
		const err = e as Partial<TransferError> | null;
		const code = err?.code ?? 'browser_error';
		const message = err?.message || (err?.code ? '' : String(e));
		this.error = { code, message: errorSentence(this.side, code, message), side: this.side, local: cancelledHere(code, message) };
		this.phase = err?.code === 'cancelled' ? 'cancelled' : 'error';
	}

	protected setFiles(list: FileInfo[]) {
		this.files = list.map((f) => ({ ...f, verified: 0, done: f.size === 0, blob: null, url: null, digest: null, saved: false }));
		this.progress = noProgress(list.reduce((s, f) => s + f.size, 0));
	}

	/** Updates the state from one runtime event. */
	protected onEvent = (event: PeerDropEvent) => {
		if (this.routeEvent(event)) {
			this.options.onEvent?.(event);
			return;
		}
		switch (event.type) {
			case 'status':
				if (this.phase !== 'offered' || event.phase !== 'connected') this.phase = event.phase;
				if (event.path) this.path = event.path;
				if (event.verification) this.verification = event.verification;
				if (event.phase !== 'reconnecting') {
					this.notice = null;
					this.noticeEvent = null;
				}
				this.giveUpAt = event.phase === 'reconnecting' && event.giveUpInMs != null ? Date.now() + event.giveUpInMs : null;
				break;
			case 'progress': {
				this.progress = progressOf(event);
				if (event.file != null && this.files[event.file]) this.files[event.file].verified = event.fileBytes ?? 0;
				if (this.phase === 'connected') this.phase = 'transferring';
				break;
			}
			case 'stalled':
				this.notice = `No progress for ${Math.round(event.idleMs / 1000)} s: ${event.message ?? 'still trying'}.`;
				this.noticeEvent = { type: 'stalled', seconds: Math.round(event.idleMs / 1000), detail: event.message ?? null };
				break;
			case 'disconnected':
				this.notice = event.message;
				this.noticeEvent = { type: 'disconnected', detail: event.message ?? null };
				break;
			case 'network':
				this.iceSource = event.source;
				break;
			case 'blockRejected':
				this.notice = 'A damaged block arrived; it was discarded and is being sent again.';
				this.noticeEvent = { type: 'blockRejected' };
				break;
			case 'complete':
				this.phase = 'complete';
				this.progress = { ...this.progress, verified: this.progress.total, percent: 100, eta: 0 };
				for (const f of this.files) {
					f.done = true;
					f.verified = f.size;
				}
				break;
			case 'error':
				this.fail(event);
				break;
		}
		this.handleEvent(event);
		this.options.onEvent?.(event);
	};

	protected handleEvent(_event: PeerDropEvent): void {}

	/** Takes an event away from the transfer's own state (a sender's per-receiver events); true when it did. */
	protected routeEvent(_event: PeerDropEvent): boolean {
		return false;
	}

	/** Stops the transfer; the other side is told it was cancelled. */
	cancel(): void {
		this.handle?.cancel();
		if (this.active) {
			this.phase = 'cancelled';
			this.error = { code: 'cancelled', message: YOU_CANCELLED, side: this.side, local: true };
		}
	}

	/** Connection and signaling summary for support: no file names, no link. */
	async diagnose(): Promise<Diagnosis | null> {
		return this.handle ? this.handle.diagnose() : null;
	}

	/** Cancels an active transfer and releases object URLs (call from onDestroy / $effect cleanup). */
	destroy(): void {
		if (this.active) this.handle?.cancel();
		for (const f of this.files) if (f.url) URL.revokeObjectURL(f.url);
		this.handle = null;
	}

	/** Ends any transfer and forgets what it showed, so the next one starts clean. */
	protected clearTransfer(): void {
		this.destroy();
		this.files = [];
		this.progress = noProgress(0);
		this.error = null;
		this.verification = null;
		this.path = null;
		this.iceSource = null;
		this.giveUpAt = null;
		this.notice = null;
		this.noticeEvent = null;
	}
}
