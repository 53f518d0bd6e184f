// Checks what a person typed into the receive form before the runtime sees it, so the common
// slips (nothing typed, a word missing, a number out of range) get a message next to the field.
// The runtime still validates the words themselves (bad_code names an unknown word).

/** Largest room number in a code (peerdrop-core's MAX_NUMBER: four digits once all 999 three-digit ones are in use). */
const MAX_NUMBER = 9999;

/** What is wrong with what was typed, as data: `messages.codeProblems` words it in the components. */
export type CodeProblem = 'empty' | 'link_no_secret' | 'link_incomplete' | 'no_number' | 'number_range' | 'code_shape';

/** The English sentences (`message` below; the defaults of `messages.codeProblems`). */
export const CODE_PROBLEM_TEXT: Record<CodeProblem, string> = {
	empty: 'Enter the code the sender gave you (like 7-guitar-orbit), or paste their link.',
	link_no_secret: 'This link is incomplete: it has nothing after the #. Copy the whole link again.',
	link_incomplete: 'This link is incomplete: a share link ends with # and a secret. Copy the whole link again.',
	no_number: 'A code starts with a number, like the 7 in 7-guitar-orbit.',
	number_range: `A code starts with a number from 1 to ${MAX_NUMBER}, like the 7 in 7-guitar-orbit.`,
	code_shape: 'A code is a number and two words, like 7-guitar-orbit: check that nothing is missing.'
};

export type LinkOrCode = { ok: true; kind: 'link' | 'code'; value: string } | { ok: false; problem: CodeProblem; message: string };

const refused = (problem: CodeProblem): LinkOrCode => ({ ok: false, problem, message: CODE_PROBLEM_TEXT[problem] });

/**
 * Reads a share link (anything with a `#fragment`) or a short code (`7-guitar-orbit`: any case,
 * separated by dashes, spaces, dots, commas or underscores, as the runtime accepts).
 */
export function checkLinkOrCode(text: string): LinkOrCode {
	const value = text.trim();
	if (!value) return refused('empty');
	if (value.includes('#')) {
		return value.split('#', 2)[1] ? { ok: true, kind: 'link', value } : refused('link_no_secret');
	}
	if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return refused('link_incomplete');
	const parts = value.split(/[\s\-_.,]+/).filter(Boolean);
	if (!/^[0-9]+$/.test(parts[0])) return refused('no_number');
	const n = Number(parts[0]);
	if (n < 1 || n > MAX_NUMBER) return refused('number_range');
	if (parts.length !== 3 || !parts.slice(1).every((w) => /^[a-z]+$/i.test(w))) return refused('code_shape');
	return { ok: true, kind: 'code', value: parts.join('-').toLowerCase() };
}
