// Environment variables through sv-utils' defineEnv: it knows whether the app declares them
// (Kit 3, or Kit 2 with `explicitEnvironmentVariables`: src/env, read from $app/env/private) or
// reads them from $env/dynamic/private. Declared ones get a schema that accepts "unset": Kit
// otherwise refuses to start without them, and each has a working fallback or a clear error later.
import { defineEnv, transforms } from '@sveltejs/sv-utils';

/** @param {{ sv: any, cwd: string, dependencyVersion: (p: string) => string | undefined, kit3: boolean, language: string }} ws */
export function signalingEnv({ sv, cwd, dependencyVersion, kit3, language }) {
	const env = defineEnv({ sv, cwd, dependencyVersion });
	const ts = language === 'ts';
	const envFile = `src/env.${ts ? 'ts' : 'js'}`;
	// Kit 3 turns a function into a Standard Schema; Kit 2 takes only the Standard Schema object.
	const optional = kit3
		? `(value${ts ? ': string | undefined' : ''}) => value || undefined`
		: `{ '~standard': { version: 1, vendor: 'peerdrop', validate: (value${ts ? ': unknown' : ''}) => ({ value: value || undefined }) } }`;
	return {
		declared: env.mode === 'declared',
		envFile,
		/** Declares `name` (declared mode only) as optional, with its description. */
		declare(name, description) {
			if (env.mode !== 'declared') return;
			// An existing declaration is the app's own: left as it is (this also keeps re-runs a no-op).
			let already = false;
			sv.file(envFile, (content) => {
				already = content.includes(name);
				return false;
			});
			if (already) return;
			env.define({ name, description });
			sv.file(envFile, (content) => transforms.script(({ ast, js }) => {
					const entry = findEntry(ast, name);
					if (!entry || entry.properties.some((p) => p.key?.name === 'schema')) return false;
					js.object.property(entry, { name: 'schema', fallback: js.common.parseExpression(`(${optional})`) });
				})(content)
			);
		},
		/** Adds the import for `name` to `ast` and returns the expression that reads it. */
		reference: (ast, js, name) => env.reference(ast, js, { name, scope: 'private' })
	};
}

/** The `{ ... }` of `name` inside `defineEnvVars({ ... })`. */
function findEntry(ast, name) {
	let found = null;
	const visit = (node) => {
		if (found || !node || typeof node.type !== 'string') return;
		if (node.type === 'CallExpression' && node.callee?.name === 'defineEnvVars' && node.arguments[0]?.type === 'ObjectExpression') {
			const prop = node.arguments[0].properties.find((p) => p.key?.name === name || p.key?.value === name);
			if (prop?.value.type === 'ObjectExpression') found = prop.value;
			return;
		}
		for (const v of Object.values(node)) {
			if (Array.isArray(v)) v.forEach(visit);
			else if (v && typeof v === 'object') visit(v);
		}
	};
	visit(ast);
	return found;
}
