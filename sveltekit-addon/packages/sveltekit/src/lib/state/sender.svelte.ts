import type { SendFiles } from '../runtime/wasm/peerdrop.js';
import { TransferState, type TransferOptions } from './transfer.svelte.js';

export interface SenderOptions extends TransferOptions {
	/** The page the share link opens (a receive route), e.g. `${origin}/receive`. Default: this page. */
	shareBase?: string;
}

/** Reactive sender: `const sender = createSender({ shareBase })`, then `sender.send(files)`. */
export class PeerDropSender extends TransferState {
	/** The share link (its secret is only in the #fragment), once sending started. */
	link = $state<string | null>(null);

	#shareBase: string | undefined;

	constructor(options: SenderOptions = {}) {
		super(options);
		this.#shareBase = options.shareBase;
	}

	/** Offers files (a FileList, File[], or items from itemsFromDrop). Resolves once the link exists. */
	async send(files: SendFiles): Promise<string | null> {
		if (this.active) return this.link;
		this.error = null;
		this.phase = 'loading';
		const rt = await this.runtime();
		if (!rt) return null;
		const { signalUrl, iceServers } = this.config();
		try {
			const h = rt.send(files, { signalUrl, iceServers, shareBase: this.#shareBase, onEvent: this.onEvent });
			this.handle = h;
			this.setFiles(h.files);
			this.link = h.link;
			if (this.phase === 'loading') this.phase = 'signaling';
			return h.link;
		} catch (e) {
			this.fail(e);
			return null;
		}
	}

	/** Back to idle after a finished, failed or cancelled transfer. */
	reset(): void {
		this.destroy();
		this.link = null;
		this.files = [];
		this.error = null;
		this.verification = null;
		this.notice = null;
		this.phase = 'idle';
	}
}

export function createSender(options: SenderOptions = {}): PeerDropSender {
	return new PeerDropSender(options);
}
