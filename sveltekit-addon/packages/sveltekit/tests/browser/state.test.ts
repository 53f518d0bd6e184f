// The state classes against the real runtime, with signaling routed to the Kit handler in-page.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { createSender } from '../../src/lib/state/sender.svelte.js';
import { createReceiver } from '../../src/lib/state/receiver.svelte.js';
import { ROLE_ERROR_TEXT } from '../../src/lib/state/format.js';
import { routeSignaling, SIGNAL_PATH } from './signaling.js';

let signaling: ReturnType<typeof routeSignaling>;
beforeEach(() => {
	signaling = routeSignaling();
});
afterEach(() => signaling.restore());

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
