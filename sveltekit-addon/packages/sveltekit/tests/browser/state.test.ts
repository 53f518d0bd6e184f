// The state classes against the real runtime, with signaling routed to the Kit handler in-page.
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { createSender } from '../../src/lib/state/sender.svelte.js';
import { createReceiver } from '../../src/lib/state/receiver.svelte.js';
import { RECEIVER_ERROR_TEXT, ROLE_ERROR_TEXT } from '../../src/lib/state/format.js';
import { routeSignaling, SIGNAL_PATH } from './signaling.js';
import { fakeRoom, ROOM_LINK } from './fake-room.js';

let signaling: ReturnType<typeof routeSignaling>;
beforeEach(() => {
	signaling = routeSignaling();
});
afterEach(() => {
	signaling.restore();
	vi.restoreAllMocks();
});

const files = () => [new File(['data'], 'a.txt')];

test('without shortCode the sender has a link and no code; reset() clears both', async () => {
	const sender = createSender({ signalUrl: SIGNAL_PATH, shareBase: 'https://app.test/receive' });
	const link = await sender.send(files());
	expect(link).toMatch(/^https:\/\/app\.test\/receive#[A-Za-z0-9_-]{20,}$/);
	expect(sender.link).toBe(link);
	expect(sender.code).toBeNull();
	await expect.poll(() => sender.phase, { timeout: 10000 }).toBe('waiting');
	expect(sender.canRenewCode).toBe(false);
	expect(await sender.newCode()).toBeNull();
	sender.reset();
	expect([sender.link, sender.code, sender.phase, sender.files.length]).toEqual([null, null, 'idle', 0]);
});

test('with shortCode: "" for a link, the code from the code event, and shortCode is bindable per send', async () => {
	const sender = createSender({ signalUrl: SIGNAL_PATH, shortCode: true });
	expect(await sender.send(files())).toBe('');
	expect(sender.link).toBeNull();
	await expect.poll(() => sender.code, { timeout: 10000 }).toMatch(/^\d{1,3}-[a-z]+-[a-z]+$/);
	sender.reset();
	expect(sender.code).toBeNull();
	sender.shortCode = false;
	expect(await sender.send(files())).toMatch(/#/);
	expect(sender.code).toBeNull();
	sender.destroy();
});

test('the receiver words the code errors for its side, and a second receive() starts clean', async () => {
	const receiver = createReceiver({ signalUrl: SIGNAL_PATH });
	await receiver.receive('7-guitar-orbit');
	await expect.poll(() => receiver.error?.code, { timeout: 10000 }).toBe('code_unknown');
	expect(receiver.error?.message).toBe(ROLE_ERROR_TEXT.receiver.code_unknown);
	expect(receiver.phase).toBe('error');

	// A mistyped word: the runtime's own message names it.
	await receiver.receive('7-guitar-orbitt');
	expect(receiver.error?.code).toBe('bad_code');
	expect(receiver.error?.message).toMatch(/"orbitt"/);

	// The sender's room for a code is taken by the first receiver: a second join is code_used.
	const sender = createSender({ signalUrl: SIGNAL_PATH, shortCode: true });
	await sender.send(files());
	await expect.poll(() => sender.code, { timeout: 10000 }).not.toBeNull();
	const first = createReceiver({ signalUrl: SIGNAL_PATH, sink: 'memory' });
	await first.receive(sender.code!);
	await expect.poll(() => first.offer, { timeout: 15000 }).not.toBeNull();
	await receiver.receive(sender.code!);
	await expect.poll(() => receiver.error?.code, { timeout: 10000 }).toBe('code_used');
	expect(receiver.error?.message).toBe(ROLE_ERROR_TEXT.receiver.code_used);
	expect(receiver.offer).toBeNull();
	first.destroy();
	sender.destroy();
});

test('sink "download" and serviceWorker reach the runtime (a worker the app does not serve is a typed error); a new send() starts clean', async () => {
	const sender = createSender({ signalUrl: SIGNAL_PATH, shareBase: 'https://app.test/receive' });
	const link = await sender.send(files());
	const receiver = createReceiver({ signalUrl: SIGNAL_PATH, sink: 'download', serviceWorker: '/missing-sw.js' });
	await receiver.receive(link!);
	await expect.poll(() => receiver.offer, { timeout: 15000 }).not.toBeNull();
	await expect.poll(() => sender.verification, { timeout: 10000 }).not.toBeNull();
	receiver.accept();
	await expect.poll(() => receiver.error?.code, { timeout: 10000 }).toBe('sink_failed');
	// The runtime's own message names the worker it could not start.
	expect(receiver.error?.message).toMatch(/missing-sw\.js/);
	await expect.poll(() => sender.phase, { timeout: 10000 }).toBe('error');

	// Sending again starts clean: nothing of the last connection shows.
	const again = sender.send(files());
	expect([sender.link, sender.verification, sender.path, sender.error, sender.notice]).toEqual([null, null, null, null, null]);
	expect([sender.files.length, sender.progress.total]).toEqual([0, 0]);
	expect(await again).toMatch(/#/);
	receiver.destroy();
	sender.destroy();
});

// A link for several receivers, against a fake runtime that follows the contract (issue #21).

test('receivers reaches the runtime only above 1 and never with shortCode; it is bindable per send', async () => {
	const sender = createSender({ receivers: 4 });
	const room = fakeRoom(sender);
	expect(await sender.send(files())).toBe(ROOM_LINK);
	expect(room.options()).toMatchObject({ receivers: 4, shortCode: false });
	expect(sender.forSeveral).toBe(true);
	sender.reset();

	sender.receivers = 1;
	await sender.send(files());
	expect(room.options()).not.toHaveProperty('receivers');
	expect(sender.forSeveral).toBe(false);
	sender.reset();

	// A short code always means one receiver.
	sender.receivers = 8;
	sender.shortCode = true;
	await sender.send(files());
	expect(room.options()).not.toHaveProperty('receivers');
	expect(room.options()?.shortCode).toBe(true);
	expect(sender.forSeveral).toBe(false);
	sender.destroy();
});

test('events about one receiver fill its row and never touch the link\'s own phase, progress or error', async () => {
	const sender = createSender({ receivers: 4 });
	const room = fakeRoom(sender);
	await sender.send(files());
	room.open(4);
	expect([sender.phase, sender.maxReceivers, sender.receiverList]).toEqual(['waiting', 4, []]);

	// A row appears with the first event about a receiver; its label comes once it is connected.
	room.emit({ type: 'status', phase: 'connecting', receiver: 3 });
	expect(sender.receiverList.map((r) => [r.id, r.label, r.phase])).toEqual([[3, null, 'connecting']]);
	room.join(3, 'amber tiger');
	room.join(1, 'quiet otter');
	room.join(2, 'brave lemon');
	room.join(4, 'solar piano');
	expect(sender.receiverList.map((r) => [r.id, r.label, r.phase, r.verification, r.path])).toEqual([
		[3, 'amber tiger', 'connected', 'amber tiger river', 'host'],
		[1, 'quiet otter', 'connected', 'quiet otter river', 'host'],
		[2, 'brave lemon', 'connected', 'brave lemon river', 'host'],
		[4, 'solar piano', 'connected', 'solar piano river', 'host']
	]);

	const MiB = 1024 * 1024;
	room.progress(1, 2 * MiB, MiB, 2);
	room.progress(3, MiB, 512 * 1024, 6);
	const row = (k: number) => sender.receiverList.find((r) => r.id === k)!;
	expect(row(1).progress).toEqual({ verified: 2 * MiB, total: 4 * MiB, rate: MiB, eta: 2, percent: 50 });
	expect([row(3).phase, row(3).progress.percent]).toEqual(['transferring', 25]);
	// A row that has not moved yet counts against the offered total.
	expect(row(2).progress).toEqual({ verified: 0, total: 4 * MiB, rate: 0, eta: null, percent: 0 });
	room.emit({ type: 'stalled', idleMs: 12_000, message: 'waiting for the network', receiver: 4 });
	expect(row(4).notice).toEqual({ type: 'stalled', seconds: 12, detail: 'waiting for the network' });

	// The link's own state did not move.
	expect([sender.phase, sender.verification, sender.path, sender.error, sender.notice]).toEqual(['waiting', null, null, null, null]);
	expect(sender.progress.verified).toBe(0);

	// Dropping one: the runtime ends it and its row says why; the others and the link go on.
	sender.dropReceiver(2);
	expect(room.handle.dropReceiver).toHaveBeenCalledWith(2);
	expect([row(2).phase, row(2).error]).toEqual(['cancelled', { code: 'dropped', message: RECEIVER_ERROR_TEXT.dropped, side: 'sender', local: false }]);
	room.emit({ type: 'error', code: 'connection_lost', message: 'connection lost and not restored (connection_lost)', receiver: 4 });
	expect([row(4).phase, row(4).error?.message, row(4).notice]).toEqual(['error', RECEIVER_ERROR_TEXT.connection_lost, null]);
	expect([sender.phase, sender.error]).toEqual(['waiting', null]);
	expect(row(1).phase).toBe('transferring');

	sender.closeLink();
	expect(room.handle.closeLink).toHaveBeenCalledTimes(1);
	expect(sender.linkClosed).toBe(true);

	await sender.diagnose(3);
	expect(room.handle.diagnose).toHaveBeenLastCalledWith(3);

	room.emit({ type: 'status', phase: 'complete', receiver: 1 });
	room.emit({ type: 'complete', receiver: 1 });
	room.emit({ type: 'complete', receiver: 3 });
	expect([row(1).phase, row(1).progress.percent, row(3).progress.percent]).toEqual(['complete', 100, 100]);
	expect(sender.phase).toBe('waiting');
	// The link completes once it is closed and every receiver ended.
	room.emit({ type: 'status', phase: 'complete' });
	room.emit({ type: 'complete' });
	expect([sender.phase, sender.error]).toEqual(['complete', null]);
	expect(sender.receiverList.map((r) => r.phase)).toEqual(['complete', 'complete', 'cancelled', 'error']);

	sender.reset();
	expect([sender.receiverList, sender.maxReceivers, sender.linkClosed, sender.forSeveral]).toEqual([[], null, false, false]);
});

test('a link-level error still ends the sender while rows keep their own outcome', async () => {
	const sender = createSender({ receivers: 3 });
	const room = fakeRoom(sender);
	await sender.send(files());
	room.open(3);
	room.join(1, 'amber tiger');
	room.emit({ type: 'error', code: 'link_expired', message: 'the link expired (link_expired)' });
	expect([sender.phase, sender.error?.code]).toEqual(['error', 'link_expired']);
	expect(sender.receiverList[0]).toMatchObject({ id: 1, phase: 'connected', error: null });
	sender.destroy();
});

test('an endpoint that seats one (older than rooms) still lists its one receiver', async () => {
	const sender = createSender({ receivers: 4 });
	const room = fakeRoom(sender);
	await sender.send(files());
	room.open(1);
	expect([sender.forSeveral, sender.maxReceivers]).toEqual([true, 1]);
	// The runtime reports that receiver as receiver 1, as for any link for several.
	room.emit({ type: 'status', phase: 'connected', verification: 'amber tiger river', label: 'amber tiger', receiver: 1 });
	expect(sender.receiverList.map((r) => [r.id, r.phase, r.label])).toEqual([[1, 'connected', 'amber tiger']]);
	expect(sender.verification).toBe(null);
	sender.destroy();
});

test('cancel() ends every receiver still in; one that cancelled itself says so', async () => {
	const sender = createSender({ receivers: 3 });
	const room = fakeRoom(sender);
	await sender.send(files());
	room.open(3);
	room.join(1, 'quiet otter');
	room.join(2, 'brave lemon');
	room.join(3, 'amber tiger');
	room.emit({ type: 'error', code: 'cancelled', message: 'the other side reported: receiver cancelled the transfer (cancelled)', receiver: 2 });
	room.emit({ type: 'complete', receiver: 3 });
	sender.cancel();
	expect(room.handle.cancel).toHaveBeenCalledTimes(1);
	expect(sender.phase).toBe('cancelled');
	expect(sender.receiverList.map((r) => [r.id, r.phase, r.error?.message ?? null])).toEqual([
		[1, 'cancelled', 'You cancelled the transfer.'],
		[2, 'cancelled', 'This receiver cancelled.'],
		[3, 'complete', null]
	]);
	// The runtime telling each receiver's row the same afterwards changes nothing.
	room.emit({ type: 'error', code: 'cancelled', message: 'cancelled by the sender (cancelled)', receiver: 1 });
	expect(sender.receiverList[0].error?.message).toBe('You cancelled the transfer.');
	sender.destroy();
});
