// A fake runtime for a sender with several receivers (issue #21's contract): `send()` returns a
// handle whose calls are recorded, and the test drives the events the runtime would emit.
import { vi } from 'vitest';
import type { PeerDropSender } from '../../src/lib/state/sender.svelte.js';
import type { FileInfo, PeerDropEvent, SendOptions } from '../../src/lib/runtime/wasm/peerdrop.js';

export const ROOM_LINK = 'https://app.test/receive#AbCdEfGhIjKlMnOpQrStUv';
const MiB = 1024 * 1024;
export const ROOM_FILES: FileInfo[] = [
	{ path: 'class/notes.pdf', size: 3 * MiB, modified: 0, mime: 'application/pdf' },
	{ path: 'class/slides.pdf', size: MiB, modified: 0, mime: 'application/pdf' }
];

type Event = PeerDropEvent & { receiver?: number; label?: string };

export interface FakeRoom {
	/** The options the last `send()` passed to the runtime. */
	options: () => SendOptions | undefined;
	handle: {
		link: string;
		code: undefined;
		files: FileInfo[];
		cancel: ReturnType<typeof vi.fn>;
		diagnose: ReturnType<typeof vi.fn>;
		dropReceiver: ReturnType<typeof vi.fn>;
		closeLink: ReturnType<typeof vi.fn>;
	};
	/** Emits one event as the runtime would. */
	emit: (event: Event) => void;
	/** The link is open: signaling, room (`seats`), waiting. */
	open: (seats: number) => void;
	/** Receiver `k` connects with `label` (its first two words). */
	join: (k: number, label: string) => void;
	progress: (k: number, verifiedBytes: number, bytesPerSecond: number, etaSeconds: number | null) => void;
}

/** Replaces the runtime `sender` loads by a fake one that behaves as the contract says. */
export function fakeRoom(sender: PeerDropSender): FakeRoom {
	let options: SendOptions | undefined;
	const emit = (event: Event) => options?.onEvent?.(event as PeerDropEvent);
	const total = ROOM_FILES.reduce((s, f) => s + f.size, 0);
	const handle = {
		link: ROOM_LINK,
		code: undefined,
		files: ROOM_FILES,
		cancel: vi.fn(),
		diagnose: vi.fn(async () => ({ connection: null, channel: null, wasmMemoryBytes: 0, lanes: 0, signaling: { requests: 0, lastStatus: null, medianRoundTripMs: null, recent: [] } })),
		// As the runtime does: the receiver is ended and its row told why.
		dropReceiver: vi.fn((k: number) => emit({ type: 'error', receiver: k, code: 'dropped', message: 'the sender removed this receiver (dropped)' })),
		closeLink: vi.fn(() => emit({ type: 'linkClosed' }))
	};
	const runtime = {
		send: vi.fn((_files: unknown, o: SendOptions) => {
			options = o;
			return handle;
		})
	};
	vi.spyOn(sender as unknown as { runtime: () => Promise<unknown> }, 'runtime').mockResolvedValue(runtime);
	return {
		options: () => options,
		handle,
		emit,
		open: (seats) => {
			emit({ type: 'status', phase: 'signaling' });
			emit({ type: 'room', receivers: seats });
			emit({ type: 'status', phase: 'waiting' });
		},
		join: (k, label) => {
			emit({ type: 'status', phase: 'connecting', receiver: k });
			emit({ type: 'network', source: 'endpoint', stunUrls: 1, turnUrls: 0, receiver: k });
			emit({ type: 'status', phase: 'connected', path: 'host', verification: `${label} river`, receiver: k, label });
		},
		progress: (k, verifiedBytes, bytesPerSecond, etaSeconds) =>
			emit({ type: 'progress', verifiedBytes, totalBytes: total, bytesPerSecond, etaSeconds, file: 0, fileBytes: Math.min(verifiedBytes, ROOM_FILES[0].size), receiver: k })
	};
}
