// <PeerDropSend> and <PeerDropReceive> in Chromium: axe finds no violation in their states, every
// string can be replaced and numbers follow the locale, a finished transfer can be followed by
// another, both sides can cancel, errors read as sentences, and the digest says what it is.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { render } from 'vitest-browser-svelte';
import { userEvent } from 'vitest/browser';
import axe from 'axe-core';
import PeerDropSend from '../../src/lib/components/PeerDropSend.svelte';
import PeerDropReceive from '../../src/lib/components/PeerDropReceive.svelte';
import { createSender } from '../../src/lib/state/sender.svelte.js';
import { createReceiver } from '../../src/lib/state/receiver.svelte.js';
import type { TransferFile } from '../../src/lib/state/transfer.svelte.js';
import type { PeerDropEvent } from '../../src/lib/runtime/wasm/peerdrop.js';
import { fakeRoom, ROOM_LINK } from './fake-room.js';

afterEach(() => {
	vi.restoreAllMocks();
});

const LINK = 'https://app.test/receive#AbCdEfGhIjKlMnOpQrStUv';
const MiB = 1024 * 1024;

function file(path: string, size: number, extra: Partial<TransferFile> = {}): TransferFile {
	return { path, size, modified: 0, mime: 'application/octet-stream', verified: 0, done: false, blob: null, url: null, digest: null, saved: false, ...extra };
}

/** Feeds one runtime event to a state object, as the runtime would. */
const emit = (state: object, event: Partial<PeerDropEvent> & { type: string }) => (state as unknown as { onEvent: (e: unknown) => void }).onEvent(event);

/** axe's violations in `el`, as "rule: target" lines (empty when none). */
async function violations(el: Element): Promise<string[]> {
	const result = await axe.run(el, { resultTypes: ['violations'] });
	return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')} (${v.help})`));
}

describe('accessibility (axe)', () => {
	test('the send side: drop zone, link with QR code and progress, error', async () => {
		const sender = createSender();
		const screen = await render(PeerDropSend, { sender });
		expect(await violations(screen.container)).toEqual([]);
		sender.phase = 'transferring';
		sender.link = LINK;
		sender.files = [file('a.txt', 2 * MiB, { verified: MiB })];
		sender.progress = { verified: MiB, total: 2 * MiB, rate: MiB, eta: 1, percent: 50 };
		await expect.element(screen.getByRole('button', { name: 'Cancel' })).toBeVisible();
		expect(await violations(screen.container)).toEqual([]);
		sender.phase = 'error';
		sender.error = { code: 'connection_lost', message: 'The connection to the receiver was lost.' };
		await expect.element(screen.getByRole('alert')).toBeVisible();
		expect(await violations(screen.container)).toEqual([]);
	});

	test('the send side for several receivers: link, list of receivers with Remove, link closed, finished', async () => {
		const sender = createSender();
		const room = fakeRoom(sender);
		const screen = await render(PeerDropSend, { sender, receivers: 4 });
		await expect.element(screen.getByRole('button', { name: 'Choose files' })).toBeVisible();
		expect(await violations(screen.container)).toEqual([]);
		await sender.send([new File(['x'], 'a.txt')]);
		room.open(4);
		room.join(1, 'quiet otter');
		room.emit({ type: 'status', phase: 'connecting', receiver: 2 });
		room.progress(1, MiB, MiB, 3);
		await expect.element(screen.getByRole('button', { name: 'Remove quiet otter' })).toBeVisible();
		expect(await violations(screen.container)).toEqual([]);
		await userEvent.click(screen.getByRole('button', { name: 'Remove Receiver 2' }));
		await userEvent.click(screen.getByRole('button', { name: 'Close the link to newcomers' }));
		room.emit({ type: 'complete', receiver: 1 });
		room.emit({ type: 'status', phase: 'complete' });
		room.emit({ type: 'complete' });
		await expect.element(screen.getByRole('button', { name: 'Send more files' })).toBeVisible();
		expect(await violations(screen.container)).toEqual([]);
	});

	test('the receive side: code field, offer, saved files with digest and SHA-256', async () => {
		const receiver = createReceiver();
		const screen = await render(PeerDropReceive, { receiver });
		await expect.element(screen.getByLabelText('Enter the code or paste the link')).toBeVisible();
		expect(await violations(screen.container)).toEqual([]);
		receiver.offer = { files: [{ path: 'a.txt', size: 3, modified: 0, mime: 'text/plain' }], totalBytes: 3, canPick: false };
		receiver.phase = 'complete';
		const blob = new Blob(['abc']);
		receiver.files = [file('a.txt', 3, { done: true, verified: 3, blob, url: URL.createObjectURL(blob), digest: 'ab'.repeat(32) })];
		await expect.element(screen.getByRole('link', { name: 'Save a.txt' })).toBeVisible();
		expect(await violations(screen.container)).toEqual([]);
	});
});

describe('PeerDropSend', () => {
	test('every string can be replaced, and sizes follow the locale', async () => {
		const sender = createSender();
		const screen = await render(PeerDropSend, {
			sender,
			locale: 'de-DE',
			messages: { dropLabel: 'Dateien hierher ziehen', chooseFiles: 'Dateien wählen', chooseFolder: 'Ordner wählen', dropOr: 'oder', shortCodeToggle: 'Code statt Link', cancel: 'Abbrechen' }
		});
		await expect.element(screen.getByRole('group', { name: 'Dateien hierher ziehen' })).toBeVisible();
		await expect.element(screen.getByRole('button', { name: 'Dateien wählen' })).toBeVisible();
		await expect.element(screen.getByRole('button', { name: 'Ordner wählen' })).toBeVisible();
		await expect.element(screen.getByLabelText('Code statt Link')).toBeVisible();
		sender.phase = 'transferring';
		sender.files = [file('a.bin', 3 * MiB, { verified: 1.5 * MiB })];
		sender.progress = { verified: 1.5 * MiB, total: 3 * MiB, rate: 0, eta: null, percent: 50 };
		await expect.element(screen.getByRole('button', { name: 'Abbrechen' })).toBeVisible();
		// de-DE: decimal comma, a space before % (Intl's own spaces are non-breaking).
		await expect.poll(() => screen.container.querySelector('[data-peerdrop="total"]')?.textContent).toMatch(/^50\s% · 1,6\sMB of 3,1\sMB · 0\sByte\/s/);
	});

	test('after a transfer: "Send more files" brings the drop zone back', async () => {
		const sender = createSender();
		const screen = await render(PeerDropSend, { sender });
		sender.phase = 'complete';
		sender.files = [file('a.txt', 3, { done: true, verified: 3 })];
		await userEvent.click(screen.getByRole('button', { name: 'Send more files' }));
		expect(sender.phase).toBe('idle');
		await expect.element(screen.getByRole('button', { name: 'Choose files' })).toBeVisible();
	});

	test('what was picked is announced in a live region that stays once sending starts (the drop zone does not)', async () => {
		const sender = createSender();
		const room = fakeRoom(sender);
		const screen = await render(PeerDropSend, { sender, locale: 'en-US' });
		const input = screen.container.querySelector<HTMLInputElement>('input[data-peerdrop-input="files"]')!;
		await userEvent.upload(input, [new File(['a'], 'a.txt'), new File(['b'], 'b.txt')]);
		await expect.poll(() => room.options()).toBeTruthy();
		room.emit({ type: 'status', phase: 'waiting' });
		await expect.element(screen.getByRole('textbox', { name: 'Share link' })).toBeVisible();
		expect(screen.container.querySelector('.peerdrop-dropzone')).toBeNull();
		await expect
			.poll(() => [...screen.container.querySelectorAll('[aria-live="polite"]')].map((e) => e.textContent?.trim()))
			.toContain('2 items ready to send.');
	});

	test('Cancel while it runs; the receiver cancelling reads as a sentence, not a code', async () => {
		const sender = createSender();
		const screen = await render(PeerDropSend, { sender });
		sender.phase = 'waiting';
		sender.link = LINK;
		await userEvent.click(screen.getByRole('button', { name: 'Cancel' }));
		expect(sender.phase).toBe('cancelled');
		await expect.element(screen.getByRole('alert')).toHaveTextContent('You cancelled the transfer.');
		await userEvent.click(screen.getByRole('button', { name: 'Send more files' }));
		sender.phase = 'transferring';
		emit(sender, { type: 'error', code: 'cancelled', message: 'the other side reported: receiver cancelled the transfer (cancelled)' });
		const alert = screen.getByRole('alert');
		await expect.element(alert).toHaveTextContent('The receiver cancelled the transfer. Send again when they are ready.');
		await expect.element(alert).not.toHaveTextContent('(cancelled)');
	});

	test('notices are announced, and reworded through messages.notice', async () => {
		const sender = createSender();
		const screen = await render(PeerDropSend, {
			sender,
			locale: 'en-US',
			messages: { notice: (e, f) => (e.type === 'stalled' ? `Stuck for ${f.duration(e.seconds)}` : 'Other') }
		});
		sender.phase = 'transferring';
		sender.files = [file('a.bin', 10)];
		emit(sender, { type: 'stalled', idleMs: 75_000, message: 'waiting for the network' });
		const notice = screen.container.querySelector('.peerdrop-notice');
		await expect.poll(() => screen.container.querySelector('.peerdrop-notice')?.textContent?.trim()).toBe('Stuck for 1 min 15 sec');
		expect(screen.container.querySelector('.peerdrop-notice')?.getAttribute('aria-live') ?? notice?.getAttribute('aria-live')).toBe('polite');
	});

	test('receivers above 1: no code choice, the link for several, the list of receivers instead of the progress', async () => {
		const sender = createSender({ shortCode: true });
		const room = fakeRoom(sender);
		const screen = await render(PeerDropSend, { sender, receivers: 4, locale: 'en-US' });
		await expect.element(screen.getByRole('button', { name: 'Choose files' })).toBeVisible();
		expect(screen.container.querySelector('[data-peerdrop="short-code"]')).toBeNull();
		// A short code means one receiver: a link for several has no code.
		expect([sender.receivers, sender.shortCode]).toEqual([4, false]);
		const input = screen.container.querySelector<HTMLInputElement>('input[data-peerdrop-input="files"]')!;
		await userEvent.upload(input, [new File(['x'], 'a.txt')]);
		await expect.poll(() => room.options()?.receivers).toBe(4);
		room.open(3);
		await expect.element(screen.getByRole('textbox', { name: 'Share link' })).toHaveValue(ROOM_LINK);
		// The endpoint granted 3 seats: the hint says so.
		await expect.element(screen.getByText('Up to 3 people can open this link at the same time. Keep this page open until they are done.')).toBeVisible();
		room.join(1, 'quiet otter');
		room.progress(1, MiB, MiB, 3);
		await expect.element(screen.getByRole('progressbar', { name: 'Progress of quiet otter' })).toBeVisible();
		expect(screen.container.querySelector('.peerdrop-progress')).toBeNull();
		await expect.element(screen.getByRole('region', { name: 'Receivers' })).toBeVisible();
		await userEvent.click(screen.getByRole('button', { name: 'Stop for everyone' }));
		expect(room.handle.cancel).toHaveBeenCalledTimes(1);
		await expect.element(screen.getByRole('alert')).toHaveTextContent('You cancelled the transfer.');
	});

	test('receivers 1 (the default) is the transfer to one, as before', async () => {
		const sender = createSender();
		const room = fakeRoom(sender);
		const screen = await render(PeerDropSend, { sender, receivers: 1 });
		await expect.element(screen.getByLabelText('Give a code to read out instead of a link')).toBeVisible();
		await sender.send([new File(['x'], 'a.txt')]);
		expect(room.options()).not.toHaveProperty('receivers');
		room.emit({ type: 'status', phase: 'waiting' });
		await expect.element(screen.getByText('Open this link in the other browser. Keep this page open until the transfer completes.')).toBeVisible();
		await expect.element(screen.getByRole('region', { name: 'Transfer progress' })).toBeVisible();
		expect(screen.container.querySelector('.peerdrop-receivers')).toBeNull();
		await expect.element(screen.getByRole('button', { name: 'Cancel' })).toBeVisible();
	});

	test('unstyled: no theme class, same markup', async () => {
		const screen = await render(PeerDropSend, { unstyled: true });
		const root = screen.container.querySelector('.peerdrop-ui')!;
		expect(root.classList.contains('peerdrop-themed')).toBe(false);
		await expect.element(screen.getByRole('button', { name: 'Choose files' })).toBeVisible();
		const themed = await render(PeerDropSend, {});
		expect(themed.container.querySelector('.peerdrop-ui')!.classList.contains('peerdrop-themed')).toBe(true);
	});
});

describe('PeerDropReceive', () => {
	test('Cancel while it runs; the sender leaving reads as a sentence', async () => {
		const receiver = createReceiver();
		const screen = await render(PeerDropReceive, { receiver });
		receiver.phase = 'transferring';
		receiver.files = [file('a.txt', 10)];
		await userEvent.click(screen.getByRole('button', { name: 'Cancel' }));
		expect(receiver.phase).toBe('cancelled');
		receiver.phase = 'transferring';
		emit(receiver, { type: 'error', code: 'connection_lost', message: 'connection lost and not restored (connection_lost)' });
		const alert = screen.getByRole('alert');
		await expect.element(alert).toHaveTextContent(/^The connection to the sender was lost and could not be restored\. Ask the sender for a new link/);
		await expect.element(alert).not.toHaveTextContent('connection_lost');
	});

	test('the digest is labelled for what it is; the plain SHA-256 is computed on request', async () => {
		const receiver = createReceiver();
		const screen = await render(PeerDropReceive, { receiver });
		receiver.offer = { files: [{ path: 'a.txt', size: 3, modified: 0, mime: 'text/plain' }], totalBytes: 3, canPick: false };
		receiver.phase = 'complete';
		const blob = new Blob(['abc']);
		receiver.files = [file('a.txt', 3, { done: true, verified: 3, blob, url: URL.createObjectURL(blob), digest: 'cd'.repeat(32) })];
		await expect.element(screen.getByText('PeerDrop digest:', { exact: false })).toBeVisible();
		await expect.element(screen.getByText(/differs from the file’s SHA-256 \(what sha256sum prints\)/)).toBeInTheDocument();
		await userEvent.click(screen.getByRole('button', { name: 'Show SHA-256' }));
		// sha256("abc")
		await expect.element(screen.getByText('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')).toBeVisible();
	});
});
