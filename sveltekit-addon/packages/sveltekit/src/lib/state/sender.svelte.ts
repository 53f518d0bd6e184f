// `createSender()`: a sending transfer as reactive Svelte state (files, link or code, progress, errors).
import type { Diagnosis, PeerDropEvent, SendFiles, SendHandle } from '../runtime/wasm/peerdrop.js';
import { TransferState, type TransferOptions } from './transfer.svelte.js';
import { ReceiverList, type ReceiverRow } from './receiver-list.svelte.js';
import { YOU_CANCELLED } from './format.js';

export interface SenderOptions extends TransferOptions {
	/** The page the share link opens (a receive route), e.g. `${origin}/receive`. Default: this page. */
	shareBase?: string;
	/**
	 * Offer a short code to read out (`7-guitar-orbit`) instead of a link. One try per code; after
	 * `wrong_code` or `code_abandoned`, `newCode()` offers the same files with a new one. Default false.
	 */
	shortCode?: boolean;
	/**
	 * The most people who may open the link at the same time: 1 (default) is a transfer to one
	 * receiver, as always; 2 to 32 opens the link to several (`receiverList`). A short code always
	 * means one receiver.
	 */
	receivers?: number;
}

/** Errors after which the same files can be offered again with a new code. */
const RENEWABLE = ['wrong_code', 'code_abandoned'];

/** Reactive sender: `const sender = createSender({ shareBase })`, then `sender.send(files)`. */
export class PeerDropSender extends TransferState {
	protected override readonly side = 'sender' as const;
	#shareBase: string | undefined;
	// Raw: Files and FileLists must not be wrapped in proxies; kept to offer them again with a new code.
	#offered = $state.raw<SendFiles | null>(null);

	/** The share link (its secret is only in the #fragment), once sending started; null in short-code mode. */
	link = $state<string | null>(null);
	/**
	 * The short code to read out, once the receiver can enter it (sending with `shortCode`), else null.
	 * Set by the runtime's `code` event: `handle.code` may still change before it.
	 */
	code = $state<string | null>(null);
	/** Whether the next `send()` offers a short code; bindable to a checkbox. */
	shortCode = $state(false);
	/** How many may open the link the next `send()` makes (1 to 32); bindable. Ignored with `shortCode`. */
	receivers = $state(1);
	/** The current link is for several receivers (sent with `receivers` above 1): watch `receiverList`. */
	forSeveral = $state(false);
	/** Seats the signaling endpoint granted a link for several (its `room` event; it may grant fewer than asked), else null. */
	maxReceivers = $state<number | null>(null);
	/** `closeLink()` took effect: nobody new can join; the receivers already in go on. */
	linkClosed = $state(false);
	#receivers = new ReceiverList();
	/** A link for several: one row per receiver that showed up, in that order. Empty for a transfer to one. */
	receiverList: ReceiverRow[] = $derived(this.#receivers.rows);
	/** The runtime's handle, for what only a link for several has (dropping one, closing). */
	#room: Pick<SendHandle, 'dropReceiver' | 'closeLink' | 'diagnose'> | null = null;

	/** The last code was used up (wrong_code, code_abandoned): `newCode()` can offer the same files again. */
	canRenewCode = $derived(this.#offered !== null && RENEWABLE.includes(this.error?.code ?? ''));

	constructor(options: SenderOptions = {}) {
		super(options);
		this.#shareBase = options.shareBase;
		this.shortCode = options.shortCode ?? false;
		this.receivers = options.receivers ?? 1;
	}

	/**
	 * Offers files (a FileList, File[], or items from itemsFromDrop). Resolves to the share link once
	 * it exists ("" with `shortCode`: watch `code`), or null when sending could not start.
	 */
	async send(files: SendFiles): Promise<string | null> {
		if (this.active || this.phase === 'loading') return this.link;
		// Nothing from an earlier transfer (link, code, words, notices, progress) carries over.
		this.reset();
		this.phase = 'loading';
		const rt = await this.runtime();
		if (!rt) return null;
		const { signalUrl, iceServers, flow, hasher } = this.config();
		const shortCode = this.shortCode;
		// Only a link can be for several; 1 leaves the options exactly as before.
		const receivers = !shortCode && this.receivers > 1 ? { receivers: this.receivers } : {};
		try {
			const h = rt.send(files, { signalUrl, iceServers, shareBase: this.#shareBase, shortCode, flow, hasher, onEvent: this.onEvent, ...receivers });
			this.handle = h;
			this.#room = h;
			this.forSeveral = 'receivers' in receivers;
			this.#offered = files;
			this.setFiles(h.files);
			this.#receivers.totalBytes = this.progress.total;
			this.link = h.link || null;
			if (this.phase === 'loading') this.phase = 'signaling';
			return h.link;
		} catch (e) {
			this.fail(e);
			return null;
		}
	}

	/** After wrong_code or code_abandoned: offers the same files again with a new short code. */
	async newCode(): Promise<string | null> {
		const files = this.#offered;
		if (!files || !this.canRenewCode) return null;
		this.shortCode = true;
		return this.send(files);
	}

	/** Ends one receiver of a link for several (it is told it was removed); the others go on. */
	dropReceiver(receiver: number): void {
		this.#room?.dropReceiver(receiver);
	}

	/** Stops the transfer: on a link for several, every receiver still in (each is told it was cancelled). */
	override cancel(): void {
		super.cancel();
		this.#receivers.endRunning({ code: 'cancelled', message: YOU_CANCELLED, side: 'sender', local: true });
	}

	/** Nobody new can open the link for several; the receivers already in go on. */
	closeLink(): void {
		this.#room?.closeLink();
	}

	/** Connection and signaling summary for support; with `receiver`, that receiver's connection (a link for several). */
	override async diagnose(receiver?: number): Promise<Diagnosis | null> {
		return this.#room ? this.#room.diagnose(receiver) : null;
	}

	protected override routeEvent(event: PeerDropEvent): boolean {
		// Events about one receiver of several go to its row, never to the link's own phase or progress.
		if (event.receiver == null) return false;
		this.#receivers.apply(event as PeerDropEvent & { receiver: number });
		return true;
	}

	protected override handleEvent(event: PeerDropEvent): void {
		if (event.type === 'code') this.code = event.code;
		else if (event.type === 'room') {
			// An endpoint older than rooms seats one: the link then takes one receiver, still
			// reported (and listed) as receiver 1.
			this.maxReceivers = event.receivers;
		}
		else if (event.type === 'linkClosed') this.linkClosed = true;
	}

	override destroy(): void {
		super.destroy();
		this.#room = null;
	}

	/** Back to idle after a finished, failed or cancelled transfer. */
	reset(): void {
		this.clearTransfer();
		this.link = null;
		this.code = null;
		this.#offered = null;
		this.forSeveral = false;
		this.maxReceivers = null;
		this.linkClosed = false;
		this.#receivers.clear();
		this.phase = 'idle';
	}
}

export function createSender(options: SenderOptions = {}): PeerDropSender {
	return new PeerDropSender(options);
}
