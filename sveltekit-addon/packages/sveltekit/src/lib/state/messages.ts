// Every string the components show, in one object: pass `messages` (any subset) to a component
// to translate or reword it. Sizes, speeds and durations are formatted by Intl for the page's
// locale (`<html lang>`, else the browser's), or the `locale` prop.
import { PHASE_TEXT, RECEIVER_ERROR_TEXT, sideErrorText, textFor, YOU_CANCELLED } from './format.js';
import { CODE_PROBLEM_TEXT, type CodeProblem } from './code.js';
import type { NoticeEvent, TransferError, TransferPhase } from './transfer.svelte.js';

/** Where a link for several stands, for the list's one-line summary. */
export interface ReceiverCounts {
	/** Receivers that opened the link so far. */
	joined: number;
	running: number;
	/** Received every file. */
	done: number;
	/** Ended without every file (failed, removed or cancelled). */
	failed: number;
	/** Seats the endpoint granted, null before it said. */
	seats: number | null;
	/** Closed to newcomers. */
	closed: boolean;
	/** The link ended: closed (or full) and every receiver ended. */
	finished: boolean;
}

/** Intl formatters for one locale, handed to the message functions that show numbers. */
export interface Formats {
	locale: string | undefined;
	/** "20 MB", "512 kB" (decimal units, as file managers show them). */
	size(bytes: number): string;
	/** "2.1 MB/s" */
	rate(bytesPerSecond: number): string;
	/** "2 min 5 sec" */
	duration(seconds: number): string;
	/** "50%" */
	percent(value: number): string;
	/** "3" */
	count(n: number): string;
}

export interface PeerDropMessages {
	// DropZone
	dropLabel: string;
	dropOr: string;
	chooseFiles: string;
	chooseFolder: string;
	noFilesPicked: string;
	nothingDropped: string;
	dropUnreadable: (reason: string) => string;
	picked: (count: number, f: Formats) => string;
	// SharePanel
	shareLinkRegion: string;
	shareCodeRegion: string;
	shareLinkHint: string;
	shareLinkLabel: string;
	copyLink: string;
	copyCode: string;
	copied: string;
	copyFailed: string;
	linkCopied: string;
	codeCopied: string;
	copyByHand: (what: 'link' | 'code') => string;
	shareCodeHint: string;
	shareCodeLabel: string;
	qrLabel: string;
	qrCaption: string;
	// TransferProgress
	progressRegion: string;
	phase: Record<TransferPhase, string>;
	waitingForCode: string;
	givingUpIn: (seconds: number, f: Formats) => string;
	/** A notice during the transfer (the runtime's detail, when it gives one, is English). */
	notice: (event: NoticeEvent, f: Formats) => string;
	viaRelay: string;
	peerToPeer: string;
	noIceServers: string;
	verification: string;
	totalProgress: string;
	totalDone: (percent: number, verified: number, total: number, f: Formats) => string;
	speed: (rate: number, eta: number | null, f: Formats) => string;
	fileProgress: (path: string) => string;
	fileOf: (verified: number, size: number, f: Formats) => string;
	fileDone: (size: number, saved: boolean, f: Formats) => string;
	// ReceiverList (a link for several)
	receiversRegion: string;
	/** A receiver before it connected (after: the first two of its verification words). */
	receiverLabel: (id: number, f: Formats) => string;
	receiverPhase: Record<TransferPhase, string>;
	/** One line, announced when people join or finish (not on progress). */
	receiverSummary: (counts: ReceiverCounts, f: Formats) => string;
	receiverProgress: (label: string) => string;
	receiverVerification: string;
	/** A receiver's reason per error code (the sender's `sideErrors` otherwise). */
	receiverErrors: Partial<Record<string, string>>;
	removeReceiver: string;
	/** The Remove button's accessible name. */
	removeReceiverLabel: (label: string) => string;
	closeLink: string;
	linkClosed: string;
	/** SharePanel's hint for a link for several. */
	shareLinkHintSeveral: (receivers: number, f: Formats) => string;
	// ReceiveView
	receiveRegion: string;
	codeLabel: string;
	codeHint: string;
	codePlaceholder: string;
	/** What is wrong with what was typed into the code field. */
	codeProblems: Record<CodeProblem, string>;
	receive: string;
	saveToFolder: string;
	connectingToSender: string;
	offer: (count: number, totalBytes: number, f: Formats) => string;
	save: (path: string) => string;
	/** The runtime's digest is over the file's block digests: it is not what sha256sum prints. */
	digestLabel: string;
	digestHelp: string;
	showSha256: string;
	sha256Label: string;
	sha256Help: string;
	computingSha256: string;
	sha256Failed: (reason: string) => string;
	// ErrorMessage
	retry: string;
	/** Sentences per error code for both sides, ahead of `sideErrors`. */
	errors: Partial<Record<string, string>>;
	/** Every error code worded for the side that sees it (the state's `error.side`). */
	sideErrors: Record<'sender' | 'receiver', Partial<Record<string, string>>>;
	/** This side's own cancel(), on either side and in the list of receivers. */
	youCancelled: string;
	/** A code no table words. */
	unknownError: string;
	// DiagnosticsPanel
	diagnosticsTitle: string;
	diagnosticsHint: string;
	diagnosticsRefresh: string;
	diagnosticsNotConnected: string;
	diagnosticsFailed: (reason: string) => string;
	// PeerDropSend / PeerDropReceive
	sendTitle: string;
	receiveTitle: string;
	shortCodeToggle: string;
	cancel: string;
	/** Cancel on a link for several: it ends every receiver. */
	cancelAll: string;
	sendMore: string;
	newCode: string;
}

export const DEFAULT_MESSAGES: PeerDropMessages = {
	dropLabel: 'Drop files or folders here',
	dropOr: 'or',
	chooseFiles: 'Choose files',
	chooseFolder: 'Choose a folder',
	noFilesPicked: 'No file was picked. Choose one or more files to send.',
	nothingDropped: 'Nothing was dropped that could be read. Drop files or folders.',
	dropUnreadable: (reason) => `The dropped items could not be read: ${reason}`,
	picked: (n, f) => (n === 1 ? '1 item ready to send.' : `${f.count(n)} items ready to send.`),

	shareLinkRegion: 'Share link',
	shareCodeRegion: 'Share code',
	shareLinkHint: 'Open this link in the other browser. Keep this page open until the transfer completes.',
	shareLinkLabel: 'Share link',
	copyLink: 'Copy link',
	copyCode: 'Copy code',
	copied: 'Copied',
	copyFailed: 'Copy failed',
	linkCopied: 'Link copied to the clipboard',
	codeCopied: 'Code copied to the clipboard',
	copyByHand: (what) => `Could not copy the ${what}: it is selected, copy it with Ctrl+C or ⌘C`,
	shareCodeHint: 'Tell the receiver this code; they enter it on the receive page. It works for one try. Keep this page open until the transfer completes.',
	shareCodeLabel: 'Short code',
	qrLabel: 'QR code of the share link',
	qrCaption: 'Or scan this code with the other device.',

	progressRegion: 'Transfer progress',
	phase: PHASE_TEXT,
	waitingForCode: 'Waiting for the other browser to enter the code…',
	givingUpIn: (s, f) => `(giving up in ${f.duration(s)})`,
	notice: (e, f) =>
		e.type === 'stalled'
			? `No progress for ${f.duration(e.seconds)}: ${e.detail ?? 'still trying'}.`
			: e.type === 'blockRejected'
				? 'A damaged block arrived; it was discarded and is being sent again.'
				: e.type === 'pickCancelled'
					? 'No place was picked. Choose again, or receive into the browser.'
					: (e.detail ?? 'The connection was interrupted; reconnecting.'),
	viaRelay: '(through a relay server)',
	peerToPeer: '(peer to peer)',
	noIceServers:
		'This site has no STUN or TURN server configured, so the two browsers can connect only if they reach each other directly, for example on the same network.',
	verification: 'To be sure nobody is in between, check that the other screen shows the same words:',
	totalProgress: 'Total progress',
	totalDone: (percent, verified, total, f) => `${f.percent(percent)} · ${f.size(verified)} of ${f.size(total)}`,
	speed: (rate, eta, f) => `${f.rate(rate)} · ${eta == null || !isFinite(eta) ? 'estimating time left…' : `${f.duration(eta)} left`}`,
	fileProgress: (path) => `Progress of ${path}`,
	fileOf: (verified, size, f) => `${f.size(verified)} of ${f.size(size)}`,
	fileDone: (size, saved, f) => `${f.size(size)} · ${saved ? 'verified and saved' : 'verified'}`,

	receiversRegion: 'Receivers',
	receiverLabel: (id, f) => `Receiver ${f.count(id)}`,
	receiverPhase: {
		...PHASE_TEXT,
		waiting: 'Waiting…',
		connecting: 'Connecting…',
		connected: 'Connected.',
		transferring: 'Receiving…',
		reconnecting: 'Connection lost, retrying…',
		complete: 'Done: every file arrived and was verified.',
		cancelled: 'Stopped.',
		error: 'Failed.'
	},
	receiverSummary: (c, f) => {
		const people = (n: number) => (n === 1 ? '1 person' : `${f.count(n)} people`);
		const outcome = [c.running ? `${f.count(c.running)} receiving` : '', c.done ? `${f.count(c.done)} done` : '', c.failed ? `${f.count(c.failed)} stopped` : '']
			.filter(Boolean)
			.join(', ');
		if (c.finished) return c.joined === 0 ? 'The link is closed; nobody opened it.' : `Finished: ${outcome}.`;
		if (c.joined === 0) return c.seats == null ? 'Nobody has opened the link yet.' : `Nobody has opened the link yet; up to ${people(c.seats)} can.`;
		const opened = c.seats == null ? `${people(c.joined)} opened the link` : `${f.count(c.joined)} of ${people(c.seats)} opened the link`;
		return `${opened}: ${outcome}.`;
	},
	receiverProgress: (label) => `Progress of ${label}`,
	receiverVerification: 'Their words:',
	receiverErrors: RECEIVER_ERROR_TEXT,
	removeReceiver: 'Remove',
	removeReceiverLabel: (label) => `Remove ${label}`,
	closeLink: 'Close the link to newcomers',
	linkClosed: 'The link is closed to newcomers; everyone already in goes on.',
	shareLinkHintSeveral: (n, f) => `Up to ${f.count(n)} people can open this link at the same time. Keep this page open until they are done.`,

	receiveRegion: 'Incoming files',
	codeLabel: 'Enter the code or paste the link',
	codeHint: 'A code is a number and two words, like 7-guitar-orbit.',
	codePlaceholder: '7-guitar-orbit',
	codeProblems: CODE_PROBLEM_TEXT,
	receive: 'Receive',
	saveToFolder: 'Save to a folder…',
	connectingToSender: 'Connecting to the sender…',
	offer: (n, bytes, f) => `The sender offers ${n === 1 ? '1 file' : `${f.count(n)} files`} (${f.size(bytes)}).`,
	save: (path) => `Save ${path}`,
	digestLabel: 'PeerDrop digest',
	digestHelp:
		'Computed over the file’s block digests, so it differs from the file’s SHA-256 (what sha256sum prints). Both screens show the same PeerDrop digest for the same file.',
	showSha256: 'Show SHA-256',
	sha256Label: 'SHA-256',
	sha256Help: 'Compare it with the one the sender gives you (on their side: “Show SHA-256”, or sha256sum FILE).',
	computingSha256: 'Computing SHA-256…',
	sha256Failed: (reason) => `The SHA-256 could not be computed: ${reason}`,

	retry: 'Try again',
	errors: {},
	sideErrors: { sender: sideErrorText('sender'), receiver: sideErrorText('receiver') },
	youCancelled: YOU_CANCELLED,
	unknownError: 'The transfer stopped for a reason this page does not know. Try again; if it keeps happening, reload both pages.',

	diagnosticsTitle: 'Connection details',
	diagnosticsHint: 'Safe to share with support: it contains no file names and no link.',
	diagnosticsRefresh: 'Refresh',
	diagnosticsNotConnected: 'Not connected yet.',
	diagnosticsFailed: (reason) => `Could not read the connection details: ${reason}`,

	sendTitle: 'Send files',
	receiveTitle: 'Receive files',
	shortCodeToggle: 'Give a code to read out instead of a link',
	cancel: 'Cancel',
	cancelAll: 'Stop for everyone',
	sendMore: 'Send more files',
	newCode: 'Make a new code'
};

/** The defaults with `over` on top; the tables (phases, errors, code problems) merged per entry. */
export function mergeMessages(over: Partial<PeerDropMessages> | undefined): PeerDropMessages {
	if (!over) return DEFAULT_MESSAGES;
	const d = DEFAULT_MESSAGES;
	return {
		...d,
		...over,
		phase: { ...d.phase, ...over.phase },
		receiverPhase: { ...d.receiverPhase, ...over.receiverPhase },
		codeProblems: { ...d.codeProblems, ...over.codeProblems },
		errors: { ...d.errors, ...over.errors },
		receiverErrors: { ...d.receiverErrors, ...over.receiverErrors },
		sideErrors: {
			sender: { ...d.sideErrors.sender, ...over.sideErrors?.sender },
			receiver: { ...d.sideErrors.receiver, ...over.sideErrors?.receiver }
		}
	};
}

/**
 * The sentence the components show for an error, from `m` alone (never the state's English
 * `message`): this side's cancel, else `errors`, else the side's table, else `unknownError`.
 * `side` defaults to the error's own, else the receiver's.
 */
export function errorMessage(m: PeerDropMessages, error: TransferError, side = error.side ?? 'receiver'): string {
	if (error.local && error.code === 'cancelled') return m.youCancelled;
	const table = (t: Partial<Record<string, string>>) => textFor(t as Record<string, string>, error.code);
	return table(m.errors) ?? table(m.sideErrors[side]) ?? m.unknownError;
}

/** A receiver's row in the sender's list: `receiverErrors` first (the others go on, so never "send again"). */
export function receiverErrorMessage(m: PeerDropMessages, error: TransferError): string {
	if (error.local && error.code === 'cancelled') return m.youCancelled;
	return textFor(m.receiverErrors as Record<string, string>, error.code) ?? errorMessage(m, error, 'sender');
}

/** The page's locale: `<html lang>`, else the browser's, else Intl's default (on the server). */
export function pageLocale(): string | undefined {
	if (typeof document !== 'undefined' && document.documentElement.lang) return document.documentElement.lang;
	if (typeof navigator !== 'undefined') return navigator.language;
	return undefined;
}

/** Intl formatters for `locale` (default: the page's). */
export function formats(locale: string | undefined = pageLocale()): Formats {
	const unit = (u: string, n: number, digits: number) =>
		new Intl.NumberFormat(locale, { style: 'unit', unit: u, unitDisplay: 'short', maximumFractionDigits: digits }).format(n);
	const scaled = (bytes: number, suffix: string) => {
		const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'];
		let i = 0;
		while (bytes >= 1000 && i < units.length - 1) {
			bytes /= 1000;
			i++;
		}
		return unit(units[i] + suffix, bytes, i === 0 ? 0 : bytes < 10 ? 1 : 0);
	};
	return {
		locale,
		size: (b) => scaled(b, ''),
		rate: (b) => scaled(b, '-per-second'),
		duration: (s) => {
			s = Math.max(0, Math.ceil(s));
			if (s < 60) return unit('second', s, 0);
			const m = Math.floor(s / 60);
			if (m < 60) return `${unit('minute', m, 0)} ${unit('second', s % 60, 0)}`;
			return `${unit('hour', Math.floor(m / 60), 0)} ${unit('minute', m % 60, 0)}`;
		},
		percent: (v) => new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(v / 100),
		count: (n) => new Intl.NumberFormat(locale).format(n)
	};
}
