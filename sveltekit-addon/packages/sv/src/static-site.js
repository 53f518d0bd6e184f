// adapter-static: the PHP drop-in ships with the site. `npm run build` copies signal.php from the
// package into static/ through the `prebuild` script (chained with one the app already has), and
// the referrer policy goes into the page, as no server sends headers for a static site.
import { transforms } from '@sveltejs/sv-utils';
import { PACKAGE } from './route.js';

const SCRIPT = 'peerdrop:php';
const COPY = `node -e "require('fs').copyFileSync(require.resolve('${PACKAGE}/signal.php'),'static/signal.php')"`;

export function addPhpDropIn({ sv }) {
	sv.file(
		'package.json',
		transforms.json(({ data }) => {
			data.scripts ??= {};
			const before = JSON.stringify(data.scripts);
			data.scripts[SCRIPT] = COPY;
			const pre = data.scripts.prebuild;
			if (!pre) data.scripts.prebuild = `npm run ${SCRIPT}`;
			else if (!pre.includes(SCRIPT)) data.scripts.prebuild = `npm run ${SCRIPT} && ${pre}`;
			if (JSON.stringify(data.scripts) === before) return false;
		})
	);
	sv.file('.gitignore', (content) =>
		content.includes('static/signal.php') ? false : `${content.replace(/\n*$/, '\n')}# copied from ${PACKAGE} by "npm run ${SCRIPT}"\nstatic/signal.php\n`
	);
}

export function addReferrerMeta({ sv, src }) {
	sv.file(`${src}/app.html`, (content) => {
		if (!content || /<meta[^>]+name=["']?referrer/i.test(content)) return false;
		const out = content.replace(/([ \t]*)%sveltekit\.head%/, '$1<meta name="referrer" content="no-referrer" />\n$&');
		return out === content ? false : out;
	});
}
