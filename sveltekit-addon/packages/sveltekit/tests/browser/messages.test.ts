// Every string the components show comes from `messages`: rendered with a full replacement (each
// value a «marker»), no English is left on screen or in an accessible name, in every state a
// person meets: idle, a refused pick or code, transferring, reconnecting, error, cancelled,
// complete (with the SHA-256), a list of several receivers, and the diagnostics panel.
// Numbers are formatted by Intl for `locale` (Russian here, so units are not Latin letters).
import { afterEach, describe, expect, test, vi } from 'vitest';
import { render } from 'vitest-browser-svelte';
import { userEvent } from 'vitest/browser';
import PeerDropSend from '../../src/lib/components/PeerDropSend.svelte';
import PeerDropReceive from '../../src/lib/components/PeerDropReceive.svelte';
import Sha256Check from '../../src/lib/components/Sha256Check.svelte';
import DiagnosticsPanel from '../../src/lib/components/DiagnosticsPanel.svelte';
import { createSender } from '../../src/lib/state/sender.svelte.js';
import { createReceiver } from '../../src/lib/state/receiver.svelte.js';
import { DEFAULT_MESSAGES, type PeerDropMessages } from '../../src/lib/state/messages.js';
import type { TransferFile } from '../../src/lib/state/transfer.svelte.js';
import type { PeerDropEvent } from '../../src/lib/runtime/wasm/peerdrop.js';
import { fakeRoom, ROOM_FILES, ROOM_LINK } from './fake-room.js';

afterEach(() => {
	vi.restoreAllMocks();
});

/** Strings become «key», functions return «key», tables are replaced entry by entry. */
function marked(value: unknown, key: string): unknown {
	if (typeof value === 'string') return `«${key}»`;
	if (typeof value === 'function') return () => `«${key}»`;
	if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, marked(v, `${key}.${k}`)]));
	return value;
}
const MESSAGES = Object.fromEntries(Object.entries(DEFAULT_MESSAGES).map(([k, v]) => [k, marked(v, k)])) as unknown as PeerDropMessages;
const LOCALE = 'ru';

// What the transfer itself shows (names, words, digests): data, not the page's wording.
const SHA_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const DATA = [ROOM_LINK, ...ROOM_FILES.map((f) => f.path), 'notes.pdf', 'quiet otter river', 'quiet otter', 'calm heron river', 'calm heron', 'ab'.repeat(32), 'ab'.repeat(8), SHA_ABC];

/** The English left in `el`'s rendered text and accessible names once markers and data are removed. */
function english(el: HTMLElement): string[] {
	const names = [...el.querySelectorAll('*')].flatMap((e) => ['aria-label', 'placeholder', 'title', 'alt'].map((a) => e.getAttribute(a) ?? ''));
	let text = [el.innerText, ...names].join('\n');
	for (const d of DATA) text = text.replaceAll(d, ' ');
	text = text.replace(/«[^»]*»/g, ' ');
	return text.split('\n').filter((line) => /[A-Za-z]{2,}/.test(line)).map((line) => line.trim());
}

/** Waits for Svelte to render, then checks. */
async function expectNoEnglish(el: HTMLElement, when: string) {
	await new Promise((r) => setTimeout(r, 30));
	expect(english(el), when).toEqual([]);
}

const emit = (state: object, event: Partial<PeerDropEvent> & { type: string }) => (state as unknown as { onEvent: (e: unknown) => void }).onEvent(event);

function file(path: string, size: number, extra: Partial<TransferFile> = {}): TransferFile {
	return { path, size, modified: 0, mime: 'application/octet-stream', verified: 0, done: false, blob: null, url: null, digest: null, saved: false, ...extra };
}

const pick = async (container: HTMLElement) =>
	userEvent.upload(container.querySelector<HTMLInputElement>('input[data-peerdrop-input="files"]')!, [new File(['abc'], 'notes.pdf')]);

describe('a full replacement of messages leaves no English', () => {
	test('PeerDropSend to one receiver: idle, nothing picked, transferring, reconnecting, error, cancelled, complete', async () => {
		const sender = createSender();
		const room = fakeRoom(sender);
		const screen = await render(PeerDropSend, { sender, messages: MESSAGES, locale: LOCALE });
		const el = screen.container as HTMLElement;
		await expect.element(screen.getByRole('button', { name: '«chooseFiles»' })).toBeVisible();
		await expectNoEnglish(el, 'idle');

		// A pick of nothing: the drop zone's sentence.
		el.querySelector('input[data-peerdrop-input="files"]')!.dispatchEvent(new Event('change', { bubbles: true }));
		await expect.element(screen.getByRole('alert')).toHaveTextContent('«noFilesPicked»');
		await expectNoEnglish(el, 'nothing picked');

		await pick(el);
		await expect.poll(() => room.options()).toBeTruthy();
		room.emit({ type: 'status', phase: 'waiting' });
		await expect.element(screen.getByText('«shareLinkHint»')).toBeVisible();
		await expectNoEnglish(el, 'waiting with the link');

		room.emit({ type: 'network', source: 'none', stunUrls: 0, turnUrls: 0 } as never);
		room.emit({ type: 'status', phase: 'connected', path: 'relay', verification: 'quiet otter river' });
		room.emit({ type: 'progress', verifiedBytes: 1_500_000, totalBytes: 4_194_304, bytesPerSecond: 1_000_000, etaSeconds: 3, file: 0, fileBytes: 1_500_000 });
		room.emit({ type: 'stalled', idleMs: 12_000, message: 'waiting for the network' });
		await expect.element(screen.getByText('«notice»')).toBeVisible();
		await expectNoEnglish(el, 'transferring');

		room.emit({ type: 'status', phase: 'reconnecting', giveUpInMs: 60_000 });
		await expect.element(screen.getByText('«phase.reconnecting»', { exact: false })).toBeVisible();
		await expectNoEnglish(el, 'reconnecting');

		room.emit({ type: 'error', code: 'connection_lost', message: 'connection lost and not restored (connection_lost)' });
		await expect.element(screen.getByRole('alert')).toHaveTextContent('«sideErrors.sender.connection_lost»');
		await expectNoEnglish(el, 'error');
		room.emit({ type: 'error', code: 'made_up', message: 'Something only the runtime knows.' } as never);
		await expect.element(screen.getByRole('alert')).toHaveTextContent('«unknownError»');
		await expectNoEnglish(el, 'unknown error');

		await userEvent.click(screen.getByRole('button', { name: '«sendMore»' }));
		await pick(el);
		room.emit({ type: 'status', phase: 'waiting' });
		await userEvent.click(screen.getByRole('button', { name: '«cancel»' }));
		await expect.element(screen.getByRole('alert')).toHaveTextContent('«youCancelled»');
		await expectNoEnglish(el, 'cancelled here');
		room.emit({ type: 'error', code: 'cancelled', message: 'the other side reported: receiver cancelled the transfer (cancelled)' });
		await expect.element(screen.getByRole('alert')).toHaveTextContent('«sideErrors.sender.cancelled»');

		await userEvent.click(screen.getByRole('button', { name: '«sendMore»' }));
		await pick(el);
		room.emit({ type: 'status', phase: 'transferring' });
		room.emit({ type: 'complete' });
		await expect.element(screen.getByRole('button', { name: '«showSha256»' })).toBeVisible();
		await expectNoEnglish(el, 'complete');
		await userEvent.click(screen.getByRole('button', { name: '«showSha256»' }));
		await expect.element(screen.getByText(SHA_ABC)).toBeVisible();
		await expectNoEnglish(el, 'complete, SHA-256 shown');
	});

	test('PeerDropSend to several: the list of receivers, a receiver cancelling, one removed, the link closed, all stopped', async () => {
		const sender = createSender();
		const room = fakeRoom(sender);
		const screen = await render(PeerDropSend, { sender, receivers: 4, messages: MESSAGES, locale: LOCALE });
		const el = screen.container as HTMLElement;
		await pick(el);
		await expect.poll(() => room.options()?.receivers).toBe(4);
		room.open(3);
		room.join(1, 'quiet otter');
		room.join(2, 'calm heron');
		room.emit({ type: 'status', phase: 'connecting', receiver: 3 });
		room.progress(1, 1_000_000, 500_000, 7);
		room.emit({ type: 'stalled', idleMs: 9_000, receiver: 1 } as never);
		await expect.element(screen.getByRole('region', { name: '«receiversRegion»' })).toBeVisible();
		await expectNoEnglish(el, 'several receivers running');

		room.emit({ type: 'error', code: 'cancelled', message: 'the other side reported: receiver cancelled (cancelled)', receiver: 2 });
		await userEvent.click(el.querySelector<HTMLElement>('[data-receiver="3"] [data-peerdrop="remove-receiver"]')!);
		await userEvent.click(screen.getByRole('button', { name: '«closeLink»' }));
		await expect.element(screen.getByText('«linkClosed»')).toBeVisible();
		await expect.element(screen.getByText('«receiverErrors.cancelled»')).toBeVisible();
		await expect.element(screen.getByText('«receiverErrors.dropped»')).toBeVisible();
		await expectNoEnglish(el, 'one cancelled, one removed, link closed');

		await userEvent.click(screen.getByRole('button', { name: '«cancelAll»' }));
		await expect.element(screen.getByRole('alert')).toHaveTextContent('«youCancelled»');
		expect(el.querySelector('[data-receiver="1"] .peerdrop-receiver-reason')?.textContent).toBe('«youCancelled»');
		await expectNoEnglish(el, 'stopped for everyone');
	});

	test('PeerDropReceive: the code field and its problems, the offer, transferring, complete, errors, cancelled', async () => {
		const receiver = createReceiver();
		const screen = await render(PeerDropReceive, { receiver, messages: MESSAGES, locale: LOCALE });
		const el = screen.container as HTMLElement;
		const field = screen.getByLabelText('«codeLabel»');
		await expect.element(field).toBeVisible();
		await expectNoEnglish(el, 'idle');
		for (const typed of [' ', '7-guitar', 'https://app.test/receive#']) {
			await userEvent.clear(field);
			if (typed.trim()) await userEvent.type(field, typed);
			await userEvent.click(screen.getByRole('button', { name: '«receive»' }));
			await expect.element(screen.getByRole('alert')).toHaveTextContent(/^«codeProblems\.\w+»$/);
			await expectNoEnglish(el, `code ${JSON.stringify(typed)} refused`);
		}

		receiver.phase = 'offered';
		receiver.offer = { files: [{ path: 'notes.pdf', size: 3, modified: 0, mime: 'application/pdf' }], totalBytes: 3, canPick: true };
		receiver.files = [file('notes.pdf', 3)];
		await expect.element(screen.getByRole('button', { name: '«saveToFolder»' })).toBeVisible();
		await expectNoEnglish(el, 'offered');

		emit(receiver, { type: 'status', phase: 'transferring', path: 'host', verification: 'quiet otter river' });
		emit(receiver, { type: 'progress', verifiedBytes: 1, totalBytes: 3, bytesPerSecond: 1, etaSeconds: 2, file: 0, fileBytes: 1 });
		emit(receiver, { type: 'pickCancelled' });
		await expect.element(screen.getByText('«notice»')).toBeVisible();
		await expectNoEnglish(el, 'transferring');

		const blob = new Blob(['abc']);
		receiver.phase = 'complete';
		receiver.files = [file('notes.pdf', 3, { done: true, verified: 3, blob, url: URL.createObjectURL(blob), digest: 'ab'.repeat(32) })];
		await expect.element(screen.getByRole('link', { name: '«save»' })).toBeVisible();
		await userEvent.click(screen.getByText('«digestLabel»', { exact: false }));
		await userEvent.click(screen.getByRole('button', { name: '«showSha256»' }));
		await expect.element(screen.getByText(SHA_ABC)).toBeVisible();
		await expectNoEnglish(el, 'complete');

		for (const [code, message, shown] of [
			['bad_code', 'That is not a PeerDrop code: "guitra" is not one of the words.', '«sideErrors.receiver.bad_code»'],
			['insufficient_storage', 'Not enough storage for 2.0 GiB. Free some disk space.', '«sideErrors.receiver.insufficient_storage»'],
			['load_failed', 'PeerDrop could not start in this browser: no WebAssembly', '«sideErrors.receiver.load_failed»'],
			['made_up', 'Something only the runtime knows.', '«unknownError»']
		]) {
			receiver.offer = null;
			receiver.phase = 'transferring';
			emit(receiver, { type: 'error', code, message } as never);
			await expect.poll(() => el.querySelector('.peerdrop-error')?.textContent?.trim()).toBe(shown);
			await expectNoEnglish(el, `error ${code}`);
		}

		receiver.error = null;
		receiver.phase = 'transferring';
		await userEvent.click(screen.getByRole('button', { name: '«cancel»' }));
		await expect.poll(() => el.querySelector('.peerdrop-error')?.textContent?.trim()).toBe('«youCancelled»');
		await expectNoEnglish(el, 'cancelled here');
	});

	test('Sha256Check when the file cannot be read; DiagnosticsPanel before connecting and when it fails', async () => {
		const unreadable = { size: 3, arrayBuffer: () => Promise.reject(new Error('The file was moved.')) } as unknown as Blob;
		const check = await render(Sha256Check, { blob: unreadable, messages: MESSAGES });
		await userEvent.click(check.getByRole('button', { name: '«showSha256»' }));
		await expect.element(check.getByRole('alert')).toHaveTextContent('«sha256Failed»');
		await expectNoEnglish(check.container as HTMLElement, 'SHA-256 failed');

		const sender = createSender();
		const panel = await render(DiagnosticsPanel, { transfer: sender, messages: MESSAGES });
		const el = panel.container as HTMLElement;
		await userEvent.click(panel.getByText('«diagnosticsTitle»'));
		await expect.poll(() => el.querySelector('[data-peerdrop="diagnosis"]')?.textContent).toBe('«diagnosticsNotConnected»');
		await expectNoEnglish(el, 'not connected');
		vi.spyOn(sender, 'diagnose').mockRejectedValue(new Error('The connection is closed.'));
		await userEvent.click(panel.getByRole('button', { name: '«diagnosticsRefresh»' }));
		await expect.poll(() => el.querySelector('[data-peerdrop="diagnosis"]')?.textContent).toBe('«diagnosticsFailed»');
		await expectNoEnglish(el, 'diagnosis failed');
	});
});
