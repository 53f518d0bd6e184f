// What the receive form accepts before the runtime sees it, and the sentences for code errors.
import { describe, expect, test } from 'vitest';
import { checkLinkOrCode } from '../../src/lib/state/code.js';
import { ERROR_TEXT, ROLE_ERROR_TEXT, errorText, textFor } from '../../src/lib/state/format.js';

describe('checkLinkOrCode', () => {
	test.each([
		['7-guitar-orbit', '7-guitar-orbit'],
		['  7 Guitar Orbit ', '7-guitar-orbit'],
		['999_zebra.acorn', '999-zebra-acorn'],
		['1234 zebra acorn', '1234-zebra-acorn'],
		['12, otter,piano', '12-otter-piano'],
		['007-guitar-orbit', '007-guitar-orbit']
	])('code %j -> %j', (typed, value) => {
		expect(checkLinkOrCode(typed)).toEqual({ ok: true, kind: 'code', value });
	});

	test('a link with a fragment passes as it is', () => {
		const link = ' https://app.test/receive#AbCdEfGhIjKlMnOpQrStUv ';
		expect(checkLinkOrCode(link)).toEqual({ ok: true, kind: 'link', value: link.trim() });
	});

	test.each([
		['', /^Enter the code/],
		['   ', /^Enter the code/],
		['7', /number and two words/],
		['7-guitar', /number and two words/],
		['7-guitar-orbit-extra', /number and two words/],
		['7-guitar-0rbit', /number and two words/],
		['guitar-orbit', /starts with a number/],
		['0-guitar-orbit', /from 1 to 9999/],
		['10000-guitar-orbit', /from 1 to 9999/],
		['https://app.test/receive', /ends with # and a secret/],
		['https://app.test/receive#', /nothing after the #/]
	])('%j is refused: %s', (typed, message) => {
		const r = checkLinkOrCode(typed);
		expect(r.ok).toBe(false);
		expect(r.ok === false && r.message).toMatch(message);
	});
});

describe('error sentences', () => {
	const CODE_ERRORS = ['bad_code', 'code_unknown', 'code_used', 'wrong_code', 'code_abandoned'];

	test('every short-code error has a sentence; each side gets its own for the shared ones', () => {
		for (const code of CODE_ERRORS) expect(ERROR_TEXT[code]).toMatch(/^[A-Z].{30,}\.$/);
		for (const code of ['wrong_code', 'code_abandoned']) {
			expect(ROLE_ERROR_TEXT.sender[code]).toMatch(/make a new code/i);
			expect(ROLE_ERROR_TEXT.receiver[code]).toMatch(/ask (the sender|them) for a new code/i);
		}
		// bad_code stays with the runtime, whose message names the unknown word.
		expect(ROLE_ERROR_TEXT.receiver.bad_code).toBeUndefined();
	});

	test('errorText: the message, else the code\'s sentence, else a generic one', () => {
		expect(errorText({ code: 'wrong_code', message: 'From the runtime.' })).toBe('From the runtime.');
		expect(errorText({ code: 'wrong_code', message: '' })).toBe(ERROR_TEXT.wrong_code);
		// Never a raw code in brackets: a sentence saying what to do.
		expect(errorText({ code: 'constructor' })).toMatch(/^The transfer stopped for a reason this page does not know\. Try again/);
		expect(textFor(ERROR_TEXT, 'toString')).toBeUndefined();
	});
});
