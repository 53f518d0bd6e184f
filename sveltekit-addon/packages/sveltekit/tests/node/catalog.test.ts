// The Kit handler and signal.php must answer with the same error codes, statuses and sentences:
// signal.php's PeerDropError::CATALOG is the reference, read from the PHP source itself.
import { expect, test } from 'vitest';
import php from '../../../../../php-signaling/signal.php?raw';
import { CATALOG, HOST_SPECIFIC, QUOTA_MESSAGES, ROOM_MESSAGES, SignalingError, type SignalingErrorCode } from '../../src/lib/signaling/errors.js';
import { DEFAULTS, EXAMPLE_SECRETS } from '../../src/lib/signaling/handler.js';

/** The inside of the PHP array literal after `const NAME = array(` in signal.php (quotes respected). */
function phpArray(source: string, name: string): string {
	const start = source.indexOf(`const ${name} = array(`);
	if (start < 0) throw new Error(`${name} not found in signal.php`);
	const from = start + `const ${name} = array(`.length;
	let depth = 1;
	for (let i = from, quoted = false; i < source.length; i++) {
		const c = source[i];
		if (quoted) {
			if (c === '\\') i++;
			else if (c === "'") quoted = false;
		} else if (c === "'") quoted = true;
		else if (c === '(') depth++;
		else if (c === ')' && --depth === 0) return source.slice(from, i);
	}
	throw new Error(`${name} is not closed in signal.php`);
}
const phpStrings = (text: string) => [...text.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1].replace(/\\(['\\])/g, '$1'));

function phpCatalog(source: string): Record<string, [number, string]> {
	const block = /const CATALOG = array\(([\s\S]*?)\n\s*\);/.exec(source);
	if (!block) throw new Error('PeerDropError::CATALOG not found in signal.php');
	const out: Record<string, [number, string]> = {};
	const entry = /'([a-z0-9_]+)'\s*=>\s*array\((\d{3}),\s*'((?:[^'\\]|\\.)*)'\)/g;
	for (const m of block[1].matchAll(entry)) out[m[1]] = [Number(m[2]), m[3].replace(/\\(['\\])/g, '$1')];
	// Every entry line was understood (a format change must not silently shrink the comparison).
	expect(Object.keys(out).length).toBe((block[1].match(/=>/g) ?? []).length);
	return out;
}

test('errors.ts has exactly signal.php\'s codes and statuses, and its messages', () => {
	const reference = phpCatalog(php);
	expect(Object.keys(reference).length).toBeGreaterThan(30);
	expect(Object.keys(CATALOG).sort()).toEqual(Object.keys(reference).sort());
	for (const [code, [status, message]] of Object.entries(CATALOG)) {
		expect(status, code).toBe(reference[code][0]);
		if ((HOST_SPECIFIC as readonly string[]).includes(code)) {
			// Operator advice names this handler's settings; signal.php's would mislead here.
			expect(message, code).not.toMatch(/php|metrics_token/i);
			expect(message, code).not.toBe(reference[code][1]);
		} else {
			expect(message, code).toBe(reference[code][1]);
		}
	}
});

test('Retry-After defaults as signal.php sets them', () => {
	const retry = (code: SignalingErrorCode) => new SignalingError(code).headers['Retry-After'];
	expect(retry('storage_busy')).toBe('1');
	expect(retry('queue_full')).toBe('2');
	expect(retry('server_full')).toBe('60');
	expect(retry('storage_unavailable')).toBe('30');
	expect(retry('misconfigured')).toBe('30');
	expect(retry('storage_quota_exceeded')).toBe('60');
	expect(retry('rate_limited')).toBeUndefined();
	expect(new SignalingError('rate_limited', undefined, { 'Retry-After': '7' }).headers['Retry-After']).toBe('7');
});

test('the quota messages are signal.php\'s', () => {
	const block = phpArray(php, 'MESSAGES');
	const out: Record<string, string> = {};
	for (const m of block.matchAll(/'([a-z_]+)'\s*=>\s*'((?:[^'\\]|\\.)*)'/g)) out[m[1]] = m[2].replace(/\\(['\\])/g, '$1');
	expect(out).toEqual(QUOTA_MESSAGES);
});

test('the sentences of rooms for several receivers are signal.php\'s', () => {
	const block = phpArray(php, 'ROOM_MESSAGES');
	const out: Record<string, string> = {};
	for (const m of block.matchAll(/'([a-z_]+)'\s*=>\s*'((?:[^'\\]|\\.)*)'/g)) out[m[1]] = m[2].replace(/\\(['\\])/g, '$1');
	expect(Object.keys(out).length).toBe((block.match(/=>/g) ?? []).length);
	expect(out).toEqual(ROOM_MESSAGES);
});

test('the same example secrets are refused as in signal.php', () => {
	expect([...EXAMPLE_SECRETS].sort()).toEqual(phpStrings(phpArray(php, 'EXAMPLE_SECRETS')).sort());
});

test('the defaults are signal.php\'s, except the held-poll slots', () => {
	const config = /final class PeerDropConfig\s*\{([\s\S]*?)public static function load/.exec(php)?.[1] ?? '';
	const phpDefault = (prop: string): number => {
		const m = new RegExp(`public \\$${prop} = ([^;]+);`).exec(config);
		if (!m) throw new Error(`PeerDropConfig::$${prop} not found`);
		return m[1] === 'PeerDrop::MAX_WAIT' ? 25 : Number(m[1]);
	};
	for (const [name, value] of Object.entries(DEFAULTS)) {
		// A held poll holds a PHP worker, and almost nothing in Node: 4 slots there, 200 here.
		if (name === 'pollSlots') expect(phpDefault(name)).toBe(4);
		else expect(value, name).toBe(phpDefault(name));
	}
});
