// The Kit handler and signal.php must answer with the same error codes, statuses and sentences:
// signal.php's PeerDropError::CATALOG is the reference, read from the PHP source itself.
import { expect, test } from 'vitest';
import php from '../../../../../php-signaling/signal.php?raw';
import { CATALOG, HOST_SPECIFIC, SignalingError, type SignalingErrorCode } from '../../src/lib/signaling/errors.js';

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
