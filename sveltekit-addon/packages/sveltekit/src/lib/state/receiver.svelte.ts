import type { FileInfo, PeerDropEvent, ReceiveOptions } from '../runtime/wasm/peerdrop.js';
import { TransferState, type TransferOptions } from './transfer.svelte.js';
import { storageWorkerUrl } from '../runtime/load.js';

/** `sink`, `serviceWorker` and `memoryCap` are passed to the runtime as they are. */
export interface ReceiverOptions extends TransferOptions, Pick<ReceiveOptions, 'sink' | 'serviceWorker' | 'memoryCap'> {
	/** Accept without waiting for accept(). Default false: the person sees the offer first. */
	autoAccept?: boolean;
}

export interface Offer {
	files: FileInfo[];
	totalBytes: number;
	/** accept({ pick: true }) can save straight into a picked file or folder (Chromium). */
	canPick: boolean;
}

/** Reactive receiver: `receiver.receive(linkOrCode)`, then on `receiver.offer` call `accept()` from a click. */
export class PeerDropReceiver extends TransferState {
	offer = $state<Offer | null>(null);
	/** Where bytes go once accepted: opfs, memory, download or pick. */
	sink = $state<'opfs' | 'memory' | 'pick' | 'download' | null>(null);
	/** Bytes an earlier connection already verified (a resumed transfer). */
	resumedBytes = $state(0);

	protected override readonly side = 'receiver' as const;
	#receiveOptions: ReceiverOptions;

	constructor(options: ReceiverOptions = {}) {
		super(options);
		this.#receiveOptions = options;
	}

	/**
	 * Starts receiving from a share link (the whole URL with its #fragment) or a short code the
	 * sender read out (`7-guitar-orbit`; case, spaces and dashes do not matter). After a failed
	 * attempt (a mistyped code, say) it can be called again.
	 */
	async receive(linkOrCode: string): Promise<void> {
		if (this.active || this.phase === 'loading') return;
		this.restart();
		this.phase = 'loading';
		const rt = await this.runtime();
		if (!rt) return;
		const { signalUrl, iceServers, flow, hasher, storageWorkerUrl: workerUrl } = this.config();
		const { sink, serviceWorker, memoryCap, autoAccept = false } = this.#receiveOptions;
		try {
			this.handle = rt.receive(linkOrCode, {
				signalUrl, iceServers, flow, hasher, onEvent: this.onEvent, sink, serviceWorker, memoryCap, autoAccept,
				storageWorkerUrl: storageWorkerUrl(workerUrl)
			});
			if (this.phase === 'loading') this.phase = 'signaling';
		} catch (e) {
			this.fail(e);
		}
	}

	/** Clears what an earlier attempt left, so a second receive() starts clean. */
	private restart(): void {
		this.clearTransfer();
		this.offer = null;
		this.sink = null;
		this.resumedBytes = 0;
	}

	/** Accepts the offer; `{ pick: true }` asks where to save (call it from a click). */
	accept(choice: { pick?: boolean } = {}): void {
		(this.handle as { accept(c: { pick?: boolean }): void } | null)?.accept(choice);
	}

	protected override handleEvent(event: PeerDropEvent): void {
		switch (event.type) {
			case 'offer':
				this.offer = { files: event.files, totalBytes: event.totalBytes, canPick: event.canPick };
				this.setFiles(event.files);
				this.phase = 'offered';
				break;
			case 'accepted':
				this.sink = event.sink;
				this.resumedBytes = event.resumedBytes;
				if (this.phase === 'offered') this.phase = 'transferring';
				break;
			case 'pickCancelled':
				this.notice = 'No place was picked. Choose again, or receive into the browser.';
				this.noticeEvent = { type: 'pickCancelled' };
				break;
			case 'file': {
				const f = this.files[event.index];
				if (!f) break;
				f.done = true;
				f.verified = event.size;
				f.digest = event.digest;
				f.saved = event.saved;
				f.blob = event.blob;
				f.url = event.blob ? URL.createObjectURL(event.blob) : null;
				break;
			}
		}
	}
}

export function createReceiver(options: ReceiverOptions = {}): PeerDropReceiver {
	return new PeerDropReceiver(options);
}
