// Short codes end to end in one page: the sender's DropZone and SharePanel, the receiver's
// ReceiveView code field, the wasm runtime, and the Kit signaling handler behind a fetch stub.
import { afterEach, beforeEach, expect, test } from 'vitest';
import { render } from 'vitest-browser-svelte';
import { userEvent } from 'vitest/browser';
import CodePages from './CodePages.svelte';
import { createSender } from '../../src/lib/state/sender.svelte.js';
import { createReceiver } from '../../src/lib/state/receiver.svelte.js';
import { ROLE_ERROR_TEXT } from '../../src/lib/state/format.js';
import { routeSignaling, SIGNAL_PATH } from './signaling.js';

let signaling: ReturnType<typeof routeSignaling>;
beforeEach(() => {
	signaling = routeSignaling();
});
afterEach(() => signaling.restore());

async function start() {
	const sender = createSender({ signalUrl: SIGNAL_PATH, shortCode: true });
	const receiver = createReceiver({ signalUrl: SIGNAL_PATH, sink: 'memory' });
	const screen = await render(CodePages, { sender, receiver });
	const send = screen.getByTestId('send-page');
	const receive = screen.getByTestId('receive-page');
	await expect.element(send.getByRole('group', { name: 'Drop files or folders here' }), { timeout: 10000 }).toHaveAttribute('data-peerdrop-ready', 'true');
	const input = screen.container.querySelector<HTMLInputElement>('input[data-peerdrop-input="files"]')!;
	await userEvent.upload(input, [new File(['hello from the sender\n'], 'hello.txt', { type: 'text/plain' })]);
	const code = send.getByRole('status', { name: 'Short code' });
	await expect.element(code, { timeout: 15000 }).toHaveTextContent(/^\d{1,3}-[a-z]+-[a-z]+$/);
	return { sender, receiver, send, receive, code: code.element().textContent! };
}

test('the code shown by SharePanel, typed into ReceiveView, brings the file over', async () => {
	const { sender, receiver, send, receive, code } = await start();
	expect(sender.link).toBeNull();
	await expect.element(send.getByText('Waiting for the other browser to enter the code…')).toBeVisible();

	// Typed the way a person might: other case, spaces instead of dashes.
	await userEvent.fill(receive.getByLabelText('Enter the code or paste the link'), `  ${code.replace(/-/g, ' ').toUpperCase()} `);
	await userEvent.click(receive.getByRole('button', { name: 'Receive' }));
	await expect.element(receive.getByText('The sender offers 1 file (22 byte).'), { timeout: 20000 }).toBeVisible();
	await userEvent.click(receive.getByRole('button', { name: 'Receive' }));
	const save = receive.getByRole('link', { name: 'Save hello.txt' });
	await expect.element(save, { timeout: 20000 }).toBeVisible();
	expect(await (await fetch(save.element().getAttribute('href')!)).text()).toBe('hello from the sender\n');
	// The runtime's content digest reaches the state and the page.
	const digest = receiver.files[0].digest;
	expect(digest).toMatch(/^[0-9a-f]{64}$/);
	await expect.element(receive.getByText(`${digest!.slice(0, 16)}…`)).toBeVisible();
	await expect.poll(() => sender.phase, { timeout: 10000 }).toBe('complete');
	expect(receiver.phase).toBe('complete');
	expect(signaling.requests).toContain('join');
});

test('a wrong code fails on both sides with their own sentences; "Make a new code" offers the files again', async () => {
	const { sender, receiver, send, receive, code } = await start();
	const [number, first] = code.split('-');
	// Same room number, other words: the key exchange fails, which both sides learn.
	const wrong = `${number}-${first === 'zebra' ? 'acorn' : 'zebra'}-${first === 'zebra' ? 'acorn' : 'zebra'}`;
	await userEvent.fill(receive.getByLabelText('Enter the code or paste the link'), wrong);
	await userEvent.keyboard('{Enter}');

	await expect.element(receive.getByRole('alert'), { timeout: 20000 }).toHaveTextContent(ROLE_ERROR_TEXT.receiver.wrong_code);
	await expect.element(send.getByRole('alert'), { timeout: 20000 }).toHaveTextContent(ROLE_ERROR_TEXT.sender.wrong_code);
	expect(receiver.error?.code).toBe('wrong_code');
	expect(sender.canRenewCode).toBe(true);
	// The receiver can type again; the sender makes a new code for the same files.
	await expect.element(receive.getByLabelText('Enter the code or paste the link')).toBeVisible();
	await userEvent.click(send.getByRole('button', { name: 'Make a new code' }));
	await expect.element(send.getByRole('status', { name: 'Short code' }), { timeout: 15000 }).toHaveTextContent(/^\d{1,3}-[a-z]+-[a-z]+$/);
	expect(sender.error).toBeNull();
	expect(sender.files.map((f) => f.path)).toEqual(['hello.txt']);
	await expect.element(send.getByRole('alert')).not.toBeInTheDocument();
	sender.destroy();
});
