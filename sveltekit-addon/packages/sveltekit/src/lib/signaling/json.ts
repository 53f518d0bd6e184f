// A strict JSON reader that keeps what JSON.parse loses and the v1 contract needs: whether a number
// was written as an integer (`1` is an integer, `1.0` and `1e0` are not), nesting depth (PHP's
// json_decode depth 8: at most 7 nested arrays/objects) and unpaired surrogate escapes.

/** A number written without fraction or exponent. */
export class JsonInt {
	constructor(readonly value: number) {}
}
/** A number written with a fraction or an exponent. */
export class JsonFloat {
	constructor(readonly value: number) {}
}

export type JsonValue = null | boolean | string | JsonInt | JsonFloat | JsonValue[] | { [k: string]: JsonValue };

export type JsonFailure = 'invalid_json' | 'json_too_deep' | 'invalid_utf8';

export class JsonError extends Error {
	constructor(readonly code: JsonFailure) {
		super(code);
	}
}

const MAX_CONTAINERS = 7;

export function parseJson(text: string): JsonValue {
	let i = 0;
	let depth = 0;
	const fail = (code: JsonFailure = 'invalid_json'): never => {
		throw new JsonError(code);
	};
	const ws = () => {
		while (i < text.length) {
			const c = text.charCodeAt(i);
			if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
			else break;
		}
	};
	const value = (): JsonValue => {
		ws();
		const c = text[i];
		if (c === '{') return object();
		if (c === '[') return array();
		if (c === '"') return string();
		if (c === 't') return literal('true', true);
		if (c === 'f') return literal('false', false);
		if (c === 'n') return literal('null', null);
		if (c === '-' || (c >= '0' && c <= '9')) return number();
		return fail();
	};
	const literal = <T extends JsonValue>(word: string, v: T): T => {
		if (text.startsWith(word, i)) {
			i += word.length;
			return v;
		}
		return fail();
	};
	const enter = () => {
		if (++depth > MAX_CONTAINERS) fail('json_too_deep');
	};
	const object = () => {
		enter();
		i++;
		const out: { [k: string]: JsonValue } = Object.create(null);
		ws();
		if (text[i] === '}') {
			i++;
			depth--;
			return out;
		}
		for (;;) {
			ws();
			if (text[i] !== '"') fail();
			const k = string();
			ws();
			if (text[i] !== ':') fail();
			i++;
			out[k] = value(); // duplicate keys: the last one wins
			ws();
			if (text[i] === ',') {
				i++;
				continue;
			}
			if (text[i] === '}') {
				i++;
				depth--;
				return out;
			}
			fail();
		}
	};
	const array = () => {
		enter();
		i++;
		const out: JsonValue[] = [];
		ws();
		if (text[i] === ']') {
			i++;
			depth--;
			return out;
		}
		for (;;) {
			out.push(value());
			ws();
			if (text[i] === ',') {
				i++;
				continue;
			}
			if (text[i] === ']') {
				i++;
				depth--;
				return out;
			}
			fail();
		}
	};
	const string = (): string => {
		i++; // opening quote
		let out = '';
		let start = i;
		for (;;) {
			if (i >= text.length) fail();
			const c = text.charCodeAt(i);
			if (c === 0x22) {
				out += text.slice(start, i);
				i++;
				return out;
			}
			if (c < 0x20) fail();
			if (c === 0x5c) {
				out += text.slice(start, i);
				const e = text[i + 1];
				i += 2;
				if (e === 'u') {
					const unit = hex4();
					if (unit >= 0xd800 && unit <= 0xdbff) {
						if (text[i] === '\\' && text[i + 1] === 'u') {
							i += 2;
							const low = hex4();
							if (low < 0xdc00 || low > 0xdfff) fail('invalid_utf8');
							out += String.fromCharCode(unit, low);
						} else fail('invalid_utf8');
					} else if (unit >= 0xdc00 && unit <= 0xdfff) {
						fail('invalid_utf8');
					} else out += String.fromCharCode(unit);
				} else {
					const m = ESCAPES[e as string];
					if (m === undefined) fail();
					out += m;
				}
				start = i;
				continue;
			}
			i++;
		}
	};
	const hex4 = () => {
		const h = text.slice(i, i + 4);
		if (!/^[0-9a-fA-F]{4}$/.test(h)) fail();
		i += 4;
		return parseInt(h, 16);
	};
	const number = (): JsonInt | JsonFloat => {
		const m = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
		if (!m) return fail();
		i += m[0].length;
		const n = Number(m[0]);
		// PHP decodes integers beyond 64 bits as floats; here anything past 2^63 counts as a float too.
		if (m[1] === undefined && m[2] === undefined && Math.abs(n) < 9223372036854775808) return new JsonInt(n);
		return new JsonFloat(n);
	};
	const v = value();
	ws();
	if (i !== text.length) fail();
	return v;
}

const ESCAPES: Record<string, string> = {
	'"': '"',
	'\\': '\\',
	'/': '/',
	b: '\b',
	f: '\f',
	n: '\n',
	r: '\r',
	t: '\t'
};
