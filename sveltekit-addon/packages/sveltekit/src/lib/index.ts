// @peerdrop/sveltekit: browser-to-browser file transfer for SvelteKit (Svelte 5).
// Importing this module touches no browser global; the wasm runtime loads on first use.
// Ready-made: the whole send side and the whole receive side, themed (light and dark).
export { default as PeerDropSend } from './components/PeerDropSend.svelte';
export { default as PeerDropReceive } from './components/PeerDropReceive.svelte';
// Building blocks, for pages that compose their own.
export { default as DropZone } from './components/DropZone.svelte';
export { default as Sha256Check } from './components/Sha256Check.svelte';
export { default as SharePanel } from './components/SharePanel.svelte';
export { default as ReceiveView } from './components/ReceiveView.svelte';
export { default as TransferProgress } from './components/TransferProgress.svelte';
export { default as ReceiverList } from './components/ReceiverList.svelte';
export { default as ErrorMessage } from './components/ErrorMessage.svelte';
export { default as DiagnosticsPanel } from './components/DiagnosticsPanel.svelte';
export { createSender, PeerDropSender, type SenderOptions } from './state/sender.svelte.js';
export { type ReceiverRow } from './state/receiver-list.svelte.js';
export { createReceiver, PeerDropReceiver, type ReceiverOptions, type Offer } from './state/receiver.svelte.js';
export {
	TransferState,
	type TransferPhase,
	type TransferError,
	type TransferFile,
	type TransferProgressState,
	type TransferOptions,
	type NoticeEvent
} from './state/transfer.svelte.js';
export {
	formatBytes,
	formatEta,
	errorText,
	errorSentence,
	sideErrorText,
	PHASE_TEXT,
	ERROR_TEXT,
	ROLE_ERROR_TEXT,
	TRANSFER_ERROR_TEXT,
	RECEIVER_ERROR_TEXT,
	GENERAL_ERROR_TEXT,
	YOU_CANCELLED
} from './state/format.js';
export {
	DEFAULT_MESSAGES,
	mergeMessages,
	errorMessage,
	receiverErrorMessage,
	formats,
	pageLocale,
	type PeerDropMessages,
	type Formats,
	type ReceiverCounts
} from './state/messages.js';
export { checkLinkOrCode, CODE_PROBLEM_TEXT, type LinkOrCode, type CodeProblem } from './state/code.js';
export { configurePeerDrop, loadPeerDrop, loadedPeerDrop, peerdropConfig, type PeerDropConfig, type PeerDropRuntime } from './runtime/load.js';
export type {
	PeerDropEvent,
	FileInfo,
	SendItem,
	SendFiles,
	Diagnosis,
	ErrorCode,
	Phase
} from './runtime/wasm/peerdrop.js';
