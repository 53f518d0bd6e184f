// Adds `csp: { mode: 'auto', directives: peerdropCsp() }` to the app's Kit config (the
// `sveltekit({...})` argument in vite.config, or `kit` in svelte.config) by inserting text at
// two places: the rest of the file stays byte for byte as its author wrote it (reprinting the
// whole AST reformatted unrelated code). Only a config without a `kit` object to insert into
// goes through sv-utils' AST edit. An existing `csp` is the app's own: left alone.
import { loadFile, parse, svelteConfig } from '@sveltejs/sv-utils';

const SOURCE = '@peerdrop/sveltekit/server';

/** @param {{ sv: any, cwd: string }} ws  @param {string[]} connect extra connect-src sources */
export function addCsp({ sv, cwd }, connect) {
	const location = svelteConfig.find(cwd);
	let fallback = !location;
	if (location) sv.file(location.path, (content) => {
		const found = svelteConfig.read((p) => (p === location.path ? content : loadFile(cwd, p) || null));
		const kit = found?.kit;
		if (!kit || kit.start === undefined) {
			fallback = true;
			return false;
		}
		if (kit.properties.some((p) => p.type === 'Property' && (p.key.name === 'csp' || p.key.value === 'csp'))) return false;

		const { ast } = parse.script(content);
		// sv-utils parses a script as `<script lang="ts">…</script>` with Svelte's parser: node
		// offsets count that tag. The Program node starts right after it.
		const base = ast.start;
		const imports = ast.body.filter((n) => n.type === 'ImportDeclaration');
		const at = (node) => content.slice(node.start - base, node.end - base);
		const q = imports[0] && at(imports[0].source)[0] === '"' ? '"' : "'";
		const semi = imports.length === 0 || at(imports.at(-1)).trimEnd().endsWith(';') ? ';' : '';
		const sources = connect.length ? `{ connectSrc: [${connect.map((c) => q + c + q).join(', ')}] }` : '';
		const value = `{ mode: ${q}auto${q}, directives: peerdropCsp(${sources}) }`;

		const edits = [];
		const props = kit.properties;
		if (props.length === 0) {
			edits.push([kit.start, kit.end, `{ csp: ${value} }`]);
		} else {
			const last = props.at(-1);
			const lineStart = content.lastIndexOf('\n', last.start - base - 1) + 1;
			const indent = content.slice(lineStart, last.start - base);
			const comma = /^\s*,/.exec(content.slice(last.end - base, kit.end - base));
			if (!/^\s*$/.test(indent)) {
				// `{ a: 1, b: 2 }` on one line: stay on it.
				edits.push([last.end, last.end, `, csp: ${value}`]);
			} else if (comma) {
				const at = last.end + comma[0].length;
				edits.push([at, at, `\n${indent}csp: ${value},`]);
			} else {
				edits.push([last.end, last.end, `,\n${indent}csp: ${value}`]);
			}
		}
		const mine = imports.find((n) => n.source.value === SOURCE);
		if (mine?.specifiers.some((s) => s.imported?.name === 'peerdropCsp')) {
			// already imported
		} else if (mine && mine.specifiers.length > 0 && mine.specifiers.every((s) => s.type === 'ImportSpecifier')) {
			const s = mine.specifiers.at(-1);
			edits.push([s.end, s.end, ', peerdropCsp']);
		} else {
			const line = `import { peerdropCsp } from ${q}${SOURCE}${q}${semi}`;
			if (imports.length) edits.push([imports.at(-1).end, imports.at(-1).end, `\n${line}`]);
			else edits.push([base, base, `${line}\n`]);
		}
		edits.sort((a, b) => b[0] - a[0]);
		return edits.reduce((text, [from, to, insert]) => text.slice(0, from - base) + insert + text.slice(to - base), content);
	});
	if (fallback) astEdit({ sv, cwd }, connect);
}

/** The AST edit (reprints the file): for a config with no object literal to insert into. */
function astEdit({ sv, cwd }, connect) {
	svelteConfig.edit({ sv, cwd }, ({ ast, js, property }) => {
		const ours = js.common.parseExpression(
			`({ mode: 'auto', directives: peerdropCsp(${connect.length ? `{ connectSrc: ${JSON.stringify(connect).replaceAll('"', "'")} }` : ''}) })`
		);
		if (property('csp', { fallback: ours }) !== ours) return false;
		js.imports.addNamed(ast, { from: SOURCE, imports: ['peerdropCsp'] });
	});
}
