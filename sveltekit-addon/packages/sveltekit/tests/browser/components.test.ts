// Each component rendered in Chromium, asserting what a person (or a screen reader) gets.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { render } from 'vitest-browser-svelte';
import { userEvent } from 'vitest/browser';
import DropZone from '../../src/lib/components/DropZone.svelte';
import SharePanel from '../../src/lib/components/SharePanel.svelte';
import TransferProgress from '../../src/lib/components/TransferProgress.svelte';
import ErrorMessage from '../../src/lib/components/ErrorMessage.svelte';
import ReceiveView from '../../src/lib/components/ReceiveView.svelte';
import DiagnosticsPanel from '../../src/lib/components/DiagnosticsPanel.svelte';
import ReceiverList from '../../src/lib/components/ReceiverList.svelte';
import { createSender } from '../../src/lib/state/sender.svelte.js';
import { createReceiver } from '../../src/lib/state/receiver.svelte.js';
import { ERROR_TEXT, ROLE_ERROR_TEXT } from '../../src/lib/state/format.js';
import type { TransferFile } from '../../src/lib/state/transfer.svelte.js';
import type { SendItem } from '../../src/lib/runtime/wasm/peerdrop.js';
import { routeSignaling, SIGNAL_PATH } from './signaling.js';
import { fakeRoom } from './fake-room.js';

const MiB = 1024 * 1024;
const LINK = 'https://app.test/receive#AbCdEfGhIjKlMnOpQrStUv';

afterEach(() => {
	vi.restoreAllMocks();
});

function drag(el: Element, type: string, files: File[]) {
	const dataTransfer = new DataTransfer();
	for (const f of files) dataTransfer.items.add(f);
	el.dispatchEvent(new DragEvent(type, { dataTransfer, bubbles: true, cancelable: true }));
}

describe('DropZone', () => {
	test('a drop reaches onfiles as items with paths, read by the runtime', async () => {
		const onfiles = vi.fn();
		const screen = await render(DropZone, { onfiles });
		const zone = screen.getByRole('group', { name: 'Drop files or folders here' });
		// The drop is only readable inside its handler: the runtime is loaded first.
		await expect.element(zone, { timeout: 10000 }).toHaveAttribute('data-peerdrop-ready', 'true');
		drag(zone.element(), 'dragover', []);
		await expect.element(zone).toHaveClass('peerdrop-over');
		drag(zone.element(), 'drop', [new File(['abc'], 'a.txt'), new File(['12345'], 'b.bin')]);
		await expect.poll(() => onfiles.mock.calls.length).toBe(1);
		const items = onfiles.mock.calls[0][0] as SendItem[];
		expect(items.map((i) => [i.path, i.file.size])).toEqual([['a.txt', 3], ['b.bin', 5]]);
		await expect.element(zone).not.toHaveClass('peerdrop-over');
	});

	test('an empty drop reports no_files instead of calling onfiles', async () => {
		const onfiles = vi.fn();
		const onerror = vi.fn();
		const screen = await render(DropZone, { onfiles, onerror });
		const zone = screen.getByRole('group', { name: 'Drop files or folders here' });
		await expect.element(zone, { timeout: 10000 }).toHaveAttribute('data-peerdrop-ready', 'true');
		drag(zone.element(), 'drop', []);
		await expect.poll(() => onerror.mock.calls.length).toBe(1);
		expect(onerror.mock.calls[0][0].code).toBe('no_files');
		expect(onfiles).not.toHaveBeenCalled();
	});

	test('picked files arrive as the input\'s FileList and are announced', async () => {
		const onfiles = vi.fn();
		const screen = await render(DropZone, { onfiles, label: 'Send something' });
		await expect.element(screen.getByRole('group', { name: 'Send something' })).toBeVisible();
		const input = screen.container.querySelector<HTMLInputElement>('input[data-peerdrop-input="files"]')!;
		await userEvent.upload(input, [new File(['x'], 'one.txt'), new File(['yy'], 'two.txt')]);
		await expect.poll(() => onfiles.mock.calls.length).toBe(1);
		expect(Array.from(onfiles.mock.calls[0][0] as FileList, (f) => f.name)).toEqual(['one.txt', 'two.txt']);
		await expect.element(screen.getByRole('status')).toHaveTextContent('2 items ready to send.');
	});

	test('keyboard: the zone is not a button; Enter on each button opens its own picker (files, folder)', async () => {
		const screen = await render(DropZone, { onfiles: vi.fn() });
		const zone = screen.container.querySelector('.peerdrop-dropzone')!;
		expect(zone.getAttribute('role')).toBe('group');
		expect(zone.hasAttribute('tabindex')).toBe(false);
		const click = vi.spyOn(HTMLInputElement.prototype, 'click').mockImplementation(() => {});
		const files = screen.container.querySelector('input[data-peerdrop-input="files"]');
		const folder = screen.container.querySelector('input[data-peerdrop-input="folder"]');
		await userEvent.tab();
		expect(document.activeElement?.textContent).toBe('Choose files');
		await userEvent.keyboard('{Enter}');
		await userEvent.tab();
		expect(document.activeElement?.textContent).toBe('Choose a folder');
		await userEvent.keyboard('{Enter}');
		await userEvent.keyboard(' ');
		expect(click.mock.contexts).toEqual([files, folder, folder]);
	});

	test('ids are unique per instance', async () => {
		const a = await render(DropZone, { onfiles: vi.fn(), label: 'A' });
		const b = await render(DropZone, { onfiles: vi.fn(), label: 'B' });
		const ids = [a, b].map((s) => s.container.querySelector('.peerdrop-dropzone')!.getAttribute('aria-labelledby'));
		expect(ids[0]).not.toBe(ids[1]);
	});

	test('disabled: buttons disabled, drops ignored', async () => {
		const onfiles = vi.fn();
		const screen = await render(DropZone, { onfiles, disabled: true, folders: false });
		const zone = screen.getByRole('group', { name: 'Drop files or folders here' });
		await expect.element(screen.getByRole('button', { name: 'Choose files' })).toBeDisabled();
		expect(screen.container.querySelector('[data-peerdrop-input="folder"]')).toBeNull();
		await expect.element(zone, { timeout: 10000 }).toHaveAttribute('data-peerdrop-ready', 'true');
		drag(zone.element(), 'drop', [new File(['abc'], 'a.txt')]);
		await new Promise((r) => setTimeout(r, 200));
		expect(onfiles).not.toHaveBeenCalled();
	});
});

describe('SharePanel', () => {
	test('the link: readable, copied to the clipboard, with a QR code', async () => {
		const screen = await render(SharePanel, { link: LINK });
		await expect.element(screen.getByRole('textbox', { name: 'Share link' })).toHaveValue(LINK);
		await expect.element(screen.getByRole('img', { name: 'QR code of the share link' })).toBeVisible();
		expect(screen.container.querySelector('[role="img"] svg')).not.toBeNull();
		expect(screen.container.querySelector('[data-peerdrop="code"]')).toBeNull();
		await userEvent.click(screen.getByRole('button', { name: 'Copy link' }));
		await expect.element(screen.getByRole('button', { name: 'Copied' })).toBeVisible();
		await expect.element(screen.getByText('Link copied to the clipboard')).toBeInTheDocument();
		expect(await navigator.clipboard.readText()).toBe(LINK);
	});

	test('the short code: shown large, announced, copyable, no link and no QR', async () => {
		const screen = await render(SharePanel, { link: '', code: '7-guitar-orbit' });
		const code = screen.getByRole('status', { name: 'Short code' });
		await expect.element(code).toHaveTextContent('7-guitar-orbit');
		await expect.element(code).toHaveAccessibleDescription(/Tell the receiver this code/);
		expect(screen.container.querySelector('input')).toBeNull();
		expect(screen.container.querySelector('svg')).toBeNull();
		await userEvent.click(screen.getByRole('button', { name: 'Copy code' }));
		await expect.element(screen.getByText('Code copied to the clipboard')).toBeInTheDocument();
		expect(await navigator.clipboard.readText()).toBe('7-guitar-orbit');
	});

	test('a refused clipboard is reported, with the text selected for copying by hand', async () => {
		vi.spyOn(navigator.clipboard, 'writeText').mockRejectedValue(new DOMException('denied', 'NotAllowedError'));
		vi.spyOn(document, 'execCommand').mockReturnValue(false);
		const screen = await render(SharePanel, { link: LINK, code: '12-otter-piano', qr: false });
		await userEvent.click(screen.getByRole('button', { name: 'Copy link' }));
		await expect.element(screen.getByRole('alert')).toHaveTextContent('Could not copy the link: it is selected, copy it with Ctrl+C or ⌘C');
		await expect.element(screen.getByRole('button', { name: 'Copy failed' })).toBeVisible();
		const input = screen.getByRole('textbox', { name: 'Share link' }).element() as HTMLInputElement;
		expect([input.selectionStart, input.selectionEnd]).toEqual([0, LINK.length]);
		await userEvent.click(screen.getByRole('button', { name: 'Copy code' }));
		await expect.element(screen.getByRole('alert')).toHaveTextContent('Could not copy the code');
		expect(getSelection()?.toString()).toBe('12-otter-piano');
	});
});

function file(path: string, size: number, extra: Partial<TransferFile> = {}): TransferFile {
	return { path, size, modified: 0, mime: 'application/octet-stream', verified: 0, done: false, blob: null, url: null, digest: null, saved: false, ...extra };
}

describe('TransferProgress', () => {
	test('percent, bytes, speed and time left from the state, updated as it changes', async () => {
		const t = createSender();
		t.phase = 'transferring';
		t.path = 'relay';
		t.verification = 'otter piano zebra';
		t.files = [file('docs/a.txt', 2 * MiB, { verified: MiB }), file('b.bin', MiB, { verified: MiB, done: true, saved: true })];
		t.progress = { verified: 1.5 * MiB, total: 3 * MiB, rate: 512 * 1024, eta: 125, percent: 50 };
		const screen = await render(TransferProgress, { transfer: t, locale: 'en-US' });
		await expect.element(screen.getByRole('status')).toHaveTextContent('Transferring… (through a relay server)');
		const total = screen.container.querySelector('[data-peerdrop="total"]')!;
		expect(total.textContent!.replace(/\s+/g, ' ').trim()).toBe('50% · 1.6 MB of 3.1 MB · 524 kB/s · 2 min 5 sec left');
		expect((screen.getByRole('progressbar', { name: 'Total progress' }).element() as HTMLProgressElement).value).toBe(50);
		await expect.element(screen.getByText('otter piano zebra')).toBeVisible();
		await expect.element(screen.getByText('1 MB of 2.1 MB')).toBeVisible();
		await expect.element(screen.getByText('1 MB · verified and saved')).toBeVisible();
		const fileBar = screen.getByRole('progressbar', { name: 'Progress of docs/a.txt' }).element() as HTMLProgressElement;
		expect([fileBar.value, fileBar.max]).toEqual([MiB, 2 * MiB]);

		t.progress = { verified: 2.25 * MiB, total: 3 * MiB, rate: 2 * MiB, eta: null, percent: 75 };
		t.path = 'host';
		await expect.element(screen.getByRole('status')).toHaveTextContent('Transferring… (peer to peer)');
		await expect.poll(() => total.textContent!.replace(/\s+/g, ' ').trim()).toBe('75% · 2.4 MB of 3.1 MB · 2.1 MB/s · estimating time left…');

		t.phase = 'complete';
		await expect.element(screen.getByRole('status')).toHaveTextContent('Done: every file arrived and was verified.');
		// Speed and time left only while bytes move.
		await expect.poll(() => total.textContent!.replace(/\s+/g, ' ').trim()).toBe('75% · 2.4 MB of 3.1 MB');
	});

	test('a lost connection being restored counts down to giving up', async () => {
		const t = createSender();
		t.phase = 'reconnecting';
		t.giveUpAt = Date.now() + 90_500;
		const screen = await render(TransferProgress, { transfer: t, locale: 'en-US' });
		await expect.element(screen.getByRole('status')).toHaveTextContent(/Connection lost, retrying.*\(giving up in 1 min (30|31) sec\)/);
		t.giveUpAt = Date.now() + 30_000;
		await expect.element(screen.getByRole('status')).toHaveTextContent(/giving up in (30|29) sec/);
		t.phase = 'transferring';
		t.giveUpAt = null;
		await expect.element(screen.getByRole('status')).not.toHaveTextContent(/giving up/);
	});

	test('says up front, while connecting, when no STUN or TURN server is configured', async () => {
		const t = createSender();
		t.phase = 'connecting';
		const screen = await render(TransferProgress, { transfer: t });
		const note = () => screen.container.querySelector('[data-peerdrop="network-note"]');
		expect(note()).toBeNull();
		t.iceSource = 'endpoint';
		await expect.poll(note).toBeNull();
		t.iceSource = 'none';
		await expect.poll(() => note()?.textContent?.replace(/\s+/g, ' ').trim()).toBe(
			'This site has no STUN or TURN server configured, so the two browsers can connect only if they reach each other directly, for example on the same network.'
		);
		t.phase = 'error';
		await expect.poll(note).toBeNull();
	});

	test('a sender with a short code waits for the code, not for a link', async () => {
		const t = createSender({ shortCode: true });
		t.phase = 'waiting';
		const screen = await render(TransferProgress, { transfer: t });
		await expect.element(screen.getByRole('status')).toHaveTextContent('Waiting for the other browser to open the link…');
		t.code = '7-guitar-orbit';
		await expect.element(screen.getByRole('status')).toHaveTextContent('Waiting for the other browser to enter the code…');
		expect(screen.container.querySelector('progress')).toBeNull();
	});
});

describe('ErrorMessage', () => {
	test.each(['bad_code', 'code_unknown', 'code_used', 'wrong_code', 'code_abandoned'])('%s gets its sentence, worded for the side that saw it', async (code) => {
		const screen = await render(ErrorMessage, { error: { code, message: '', side: 'sender' } });
		const alert = screen.getByRole('alert');
		await expect.element(alert).toHaveTextContent(ROLE_ERROR_TEXT.sender[code] ?? ERROR_TEXT[code]);
		await expect.element(alert).toHaveAttribute('data-code', code);
		await screen.rerender({ error: { code, message: '' }, side: 'receiver' });
		await expect.element(alert).toHaveTextContent(ROLE_ERROR_TEXT.receiver[code] ?? ERROR_TEXT[code]);
	});

	test('the sentence comes from messages by code, not from the state\'s English message; an unknown code still says something', async () => {
		const screen = await render(ErrorMessage, { error: { code: 'bad_code', message: 'That is not a PeerDrop code: "guitra" is not one of the words.' } });
		await expect.element(screen.getByRole('alert')).toHaveTextContent(ERROR_TEXT.bad_code);
		await screen.rerender({ error: { code: 'bad_code', message: 'x' }, messages: { sideErrors: { sender: {}, receiver: { bad_code: 'Kein PeerDrop-Code.' } } } });
		await expect.element(screen.getByRole('alert')).toHaveTextContent('Kein PeerDrop-Code.');
		await screen.rerender({ error: { code: 'made_up', message: 'Only the runtime knows.' }, messages: undefined });
		await expect.element(screen.getByRole('alert')).toHaveTextContent(/^The transfer stopped for a reason this page does not know\./);
		await expect.element(screen.getByRole('alert')).not.toHaveTextContent('made_up');
		await screen.rerender({ error: null });
		await expect.element(screen.getByRole('alert')).not.toBeInTheDocument();
	});

	test('the retry button carries its label and action', async () => {
		const onretry = vi.fn();
		const screen = await render(ErrorMessage, { error: { code: 'wrong_code', message: '' }, onretry, retryLabel: 'Make a new code', class: 'mine' });
		await userEvent.click(screen.getByRole('button', { name: 'Make a new code' }));
		expect(onretry).toHaveBeenCalledTimes(1);
		await expect.element(screen.getByRole('alert')).toHaveClass('peerdrop-error', 'mine');
	});
});

describe('ReceiveView', () => {
	const LABEL = 'Enter the code or paste the link';

	test('the code field says what is wrong before anything is sent', async () => {
		const receiver = createReceiver();
		const receive = vi.spyOn(receiver, 'receive');
		const screen = await render(ReceiveView, { receiver });
		const field = screen.getByLabelText(LABEL);
		await expect.element(field).toHaveAccessibleDescription('A code is a number and two words, like 7-guitar-orbit.');
		const submit = screen.getByRole('button', { name: 'Receive' });
		const cases: [string, string][] = [
			['', 'Enter the code the sender gave you (like 7-guitar-orbit), or paste their link.'],
			['7-guitar', 'A code is a number and two words, like 7-guitar-orbit: check that nothing is missing.'],
			['guitar-orbit-7', 'A code starts with a number, like the 7 in 7-guitar-orbit.'],
			['10000-guitar-orbit', 'A code starts with a number from 1 to 9999, like the 7 in 7-guitar-orbit.'],
			['https://app.test/receive', 'This link is incomplete: a share link ends with # and a secret. Copy the whole link again.'],
			['https://app.test/receive#', 'This link is incomplete: it has nothing after the #. Copy the whole link again.']
		];
		for (const [typed, message] of cases) {
			await userEvent.fill(field, typed || ' ');
			await userEvent.click(submit);
			await expect.element(screen.getByRole('alert')).toHaveTextContent(message);
			await expect.element(field).toHaveAttribute('aria-invalid', 'true');
			await expect.element(field).toHaveAccessibleDescription(new RegExp(message.slice(0, 20)));
		}
		expect(receive).not.toHaveBeenCalled();
		// Typing again clears the complaint.
		await userEvent.type(field, 'x');
		await expect.element(screen.getByRole('alert')).not.toBeInTheDocument();
		await expect.element(field).not.toHaveAttribute('aria-invalid');
	});

	test('a valid code is submitted (normalised) and a failure brings the field back', async () => {
		const signaling = routeSignaling();
		try {
			const receiver = createReceiver({ signalUrl: SIGNAL_PATH });
			const receive = vi.spyOn(receiver, 'receive');
			const screen = await render(ReceiveView, { receiver });
			await userEvent.fill(screen.getByLabelText(LABEL), ' 7 Guitar  Orbit ');
			await userEvent.keyboard('{Enter}');
			expect(receive).toHaveBeenCalledWith('7-guitar-orbit');
			// No sender waits with number 7: the runtime says so, and the person can try again.
			await expect.poll(() => receiver.error?.code, { timeout: 15000 }).toBe('code_unknown');
			expect(signaling.requests).toContain('join');
			await expect.element(screen.getByLabelText(LABEL)).toBeVisible();
		} finally {
			signaling.restore();
		}
	});

	test('a pasted link goes to receive() as it is', async () => {
		const receiver = createReceiver();
		const receive = vi.spyOn(receiver, 'receive').mockResolvedValue();
		const screen = await render(ReceiveView, { receiver });
		await userEvent.fill(screen.getByLabelText(LABEL), LINK);
		await userEvent.click(screen.getByRole('button', { name: 'Receive' }));
		expect(receive).toHaveBeenCalledWith(LINK);
	});

	test('without codeEntry it waits for receive(link); an offer shows the files and the choices', async () => {
		const receiver = createReceiver();
		const accept = vi.spyOn(receiver, 'accept').mockImplementation(() => {});
		const screen = await render(ReceiveView, { receiver, codeEntry: false, locale: 'en-US' });
		await expect.element(screen.getByText('Connecting to the sender…')).toBeVisible();
		expect(screen.container.querySelector('input')).toBeNull();
		receiver.offer = { files: [{ path: 'a.txt', size: 1024, modified: 0, mime: 'text/plain' }, { path: 'b.txt', size: 2048, modified: 0, mime: 'text/plain' }], totalBytes: 3072, canPick: true };
		receiver.phase = 'offered';
		await expect.element(screen.getByText('The sender offers 2 files (3.1 kB).')).toBeVisible();
		await userEvent.click(screen.getByRole('button', { name: 'Save to a folder…' }));
		expect(accept).toHaveBeenCalledWith({ pick: true });
		await userEvent.click(screen.getByRole('button', { name: 'Receive' }));
		expect(accept).toHaveBeenLastCalledWith();
	});
});

describe('DiagnosticsPanel', () => {
	test('opens to the connection summary, refreshes, and reports a failure', async () => {
		const sender = createSender();
		const screen = await render(DiagnosticsPanel, { transfer: sender });
		const pre = screen.container.querySelector('[data-peerdrop="diagnosis"]')!;
		expect(screen.container.querySelector('details')!.open).toBe(false);
		await userEvent.click(screen.getByText('Connection details'));
		await expect.poll(() => pre.textContent).toBe('Not connected yet.');
		await expect.element(screen.getByText('Safe to share with support: it contains no file names and no link.')).toBeVisible();

		const diagnose = vi.spyOn(sender, 'diagnose').mockResolvedValue({
			connection: null, channel: null, wasmMemoryBytes: 1114112, lanes: 0,
			signaling: { requests: 3, lastStatus: 200, medianRoundTripMs: 12, recent: [{ op: 'poll', status: 200, ms: 12 }] }
		});
		await userEvent.click(screen.getByRole('button', { name: 'Refresh' }));
		await expect.poll(() => JSON.parse(pre.textContent || 'null')?.signaling?.requests).toBe(3);
		expect(diagnose).toHaveBeenCalled();
		diagnose.mockRejectedValue(new Error('the peer connection is closed'));
		await userEvent.click(screen.getByRole('button', { name: 'Refresh' }));
		await expect.poll(() => pre.textContent).toBe('Could not read the connection details: the peer connection is closed');
	});
});

describe('ReceiverList', () => {
	const text = (el: Element | null | undefined) => el?.textContent?.replace(/\s+/g, ' ').trim();

	async function started(receivers = 4) {
		const sender = createSender({ receivers });
		const room = fakeRoom(sender);
		await sender.send([new File(['x'], 'a.txt')]);
		return { sender, room };
	}

	test('one row per receiver: label, phase, progress, speed and time left; joins announced, progress not', async () => {
		const { sender, room } = await started();
		const screen = await render(ReceiverList, { sender, locale: 'en-US' });
		const summary = screen.getByRole('status');
		await expect.element(summary).toHaveTextContent('Contacting the signaling server…');
		room.open(4);
		await expect.element(summary).toHaveTextContent('Nobody has opened the link yet; up to 4 people can.');

		// Before it is connected a receiver has a numbered name; then its two words.
		room.emit({ type: 'status', phase: 'connecting', receiver: 3 });
		const row = (k: number) => screen.container.querySelector(`[data-receiver="${k}"]`);
		await expect.poll(() => text(row(3)?.querySelector('.peerdrop-receiver-label'))).toBe('Receiver 3');
		await expect.element(summary).toHaveTextContent('1 of 4 people opened the link: 1 receiving.');
		room.join(3, 'amber tiger');
		room.join(1, 'quiet otter');
		room.join(2, 'brave lemon');
		await expect.poll(() => [...screen.container.querySelectorAll('.peerdrop-receiver-label')].map(text)).toEqual(['amber tiger', 'quiet otter', 'brave lemon']);
		await expect.element(summary).toHaveTextContent('3 of 4 people opened the link: 3 receiving.');
		expect(text(row(1)?.querySelector('.peerdrop-receiver-phase'))).toBe('Connected.');
		await expect.element(screen.getByText('amber tiger river')).toBeVisible();

		const MiB = 1024 * 1024;
		room.progress(1, 2 * MiB, 512 * 1024, 125);
		room.progress(3, MiB, 2 * MiB, null);
		const bar = (label: string) => screen.getByRole('progressbar', { name: `Progress of ${label}` }).element() as HTMLProgressElement;
		await expect.poll(() => bar('quiet otter').value).toBe(50);
		expect(bar('amber tiger').value).toBe(25);
		expect(bar('brave lemon').value).toBe(0);
		expect(text(row(1)?.querySelector('[data-peerdrop="receiver-total"]'))).toBe('50% · 2.1 MB of 4.2 MB · 524 kB/s · 2 min 5 sec left');
		expect(text(row(3)?.querySelector('[data-peerdrop="receiver-total"]'))).toBe('25% · 1 MB of 4.2 MB · 2.1 MB/s · estimating time left…');
		expect(text(row(1)?.querySelector('.peerdrop-receiver-phase'))).toBe('Receiving… (peer to peer)');
		// Progress alone does not change what the live region says.
		expect(text(summary.element())).toBe('3 of 4 people opened the link: 3 receiving.');
		// One live region: rows are not announced one by one.
		expect(screen.container.querySelectorAll('[aria-live], [role="status"], [role="alert"]').length).toBe(1);
		sender.destroy();
	});

	test('Remove drops one receiver, whose row says why; the others go on', async () => {
		const { sender, room } = await started(3);
		const screen = await render(ReceiverList, { sender, locale: 'en-US' });
		room.open(3);
		room.join(1, 'quiet otter');
		room.join(2, 'brave lemon');
		room.progress(1, 1024, 1024, 10);
		await userEvent.click(screen.getByRole('button', { name: 'Remove brave lemon' }));
		expect(room.handle.dropReceiver).toHaveBeenCalledExactlyOnceWith(2);
		const row2 = screen.container.querySelector('[data-receiver="2"]')!;
		await expect.poll(() => text(row2.querySelector('.peerdrop-receiver-reason'))).toBe('You removed this receiver.');
		expect(row2.querySelector('.peerdrop-receiver-reason')!.getAttribute('data-code')).toBe('dropped');
		expect(text(row2.querySelector('.peerdrop-receiver-phase'))).toBe('Stopped.');
		await expect.element(screen.getByRole('button', { name: 'Remove brave lemon' })).not.toBeInTheDocument();
		await expect.element(screen.getByRole('button', { name: 'Remove quiet otter' })).toBeVisible();
		await expect.element(screen.getByRole('status')).toHaveTextContent('2 of 3 people opened the link: 1 receiving, 1 stopped.');
		expect(sender.phase).toBe('waiting');
		sender.destroy();
	});

	test('Close the link to newcomers, then the link completes once everyone ended', async () => {
		const { sender, room } = await started(4);
		const screen = await render(ReceiverList, { sender, locale: 'en-US' });
		room.open(4);
		room.join(1, 'quiet otter');
		room.join(2, 'brave lemon');
		room.join(3, 'amber tiger');
		await userEvent.click(screen.getByRole('button', { name: 'Close the link to newcomers' }));
		expect(room.handle.closeLink).toHaveBeenCalledTimes(1);
		await expect.element(screen.getByText('The link is closed to newcomers; everyone already in goes on.')).toBeVisible();
		await expect.element(screen.getByRole('button', { name: 'Close the link to newcomers' })).not.toBeInTheDocument();

		room.emit({ type: 'complete', receiver: 1 });
		room.emit({ type: 'complete', receiver: 2 });
		room.emit({ type: 'error', code: 'connection_lost', message: 'connection lost and not restored (connection_lost)', receiver: 3 });
		const row3 = screen.container.querySelector('[data-receiver="3"]')!;
		await expect.poll(() => text(row3.querySelector('.peerdrop-receiver-reason'))).toBe('The connection to this receiver was lost and could not be restored.');
		expect(text(screen.container.querySelector('[data-receiver="1"] .peerdrop-receiver-phase'))).toBe('Done: every file arrived and was verified.');
		room.emit({ type: 'status', phase: 'complete' });
		room.emit({ type: 'complete' });
		await expect.element(screen.getByRole('status')).toHaveTextContent('Finished: 2 done, 1 stopped.');
		expect(screen.container.querySelector('[data-peerdrop="remove-receiver"]')).toBeNull();
		sender.destroy();
	});

	test('its strings can be replaced', async () => {
		const { sender, room } = await started(2);
		const screen = await render(ReceiverList, {
			sender,
			messages: {
				receiverLabel: (id) => `Schüler ${id}`,
				removeReceiver: 'Entfernen',
				removeReceiverLabel: (label) => `${label} entfernen`,
				closeLink: 'Link schließen',
				receiverSummary: (c) => `${c.joined} verbunden`,
				receiverErrors: { dropped: 'Entfernt.' }
			}
		});
		room.open(2);
		room.emit({ type: 'status', phase: 'connecting', receiver: 2 });
		await expect.element(screen.getByRole('button', { name: 'Schüler 2 entfernen' })).toHaveTextContent('Entfernen');
		await expect.element(screen.getByRole('status')).toHaveTextContent('1 verbunden');
		await expect.element(screen.getByRole('button', { name: 'Link schließen' })).toBeVisible();
		await userEvent.click(screen.getByRole('button', { name: 'Schüler 2 entfernen' }));
		await expect.element(screen.getByText('Entfernt.')).toBeVisible();
		sender.destroy();
	});
});
