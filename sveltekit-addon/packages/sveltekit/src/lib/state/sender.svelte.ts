// `createSender()`: a sending transfer as reactive Svelte state (files, link or code, progress, errors).
import type { PeerDropEvent, SendFiles } from '../runtime/wasm/peerdrop.js';
import { TransferState, type TransferOptions } from './transfer.svelte.js';

export interface SenderOptions extends TransferOptions {
	/** The page the share link opens (a receive route), e.g. `${origin}/receive`. Default: this page. */
	shareBase?: string;
	/**
	 * Offer a short code to read out (`7-guitar-orbit`) instead of a link. One try per code; after
	 * `wrong_code` or `code_abandoned`, `newCode()` offers the same files with a new one. Default false.
	 */
	shortCode?: boolean;
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
	/** The last code was used up (wrong_code, code_abandoned): `newCode()` can offer the same files again. */
	canRenewCode = $derived(this.#offered !== null && RENEWABLE.includes(this.error?.code ?? ''));

	constructor(options: SenderOptions = {}) {
		super(options);
		this.#shareBase = options.shareBase;
		this.shortCode = options.shortCode ?? false;
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
		try {
			const h = rt.send(files, { signalUrl, iceServers, shareBase: this.#shareBase, shortCode, flow, hasher, onEvent: this.onEvent });
			this.handle = h;
			this.#offered = files;
			this.setFiles(h.files);
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

	protected override handleEvent(event: PeerDropEvent): void {
		if (event.type === 'code') this.code = event.code;
	}

	/** Back to idle after a finished, failed or cancelled transfer. */
	reset(): void {
		this.clearTransfer();
		this.link = null;
		this.code = null;
		this.#offered = null;
		this.phase = 'idle';
	}
}

export function createSender(options: SenderOptions = {}): PeerDropSender {
	return new PeerDropSender(options);
}
