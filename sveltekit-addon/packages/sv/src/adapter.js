// Which adapter the app deploys with, and whether its instances share memory. adapter-auto picks
// a serverless target (Vercel, Netlify, Cloudflare...) at build time: each request may land on a
// fresh instance, so in-memory signaling rooms vanish between a sender's and a receiver's calls.

const ADAPTERS = [
	['static', '@sveltejs/adapter-static'],
	['node', '@sveltejs/adapter-node'],
	['auto', '@sveltejs/adapter-auto'],
	['vercel', '@sveltejs/adapter-vercel'],
	['netlify', '@sveltejs/adapter-netlify'],
	['cloudflare', '@sveltejs/adapter-cloudflare'],
	['cloudflare', '@sveltejs/adapter-cloudflare-workers']
];

/** 'static' | 'node' | 'auto' | 'vercel' | 'netlify' | 'cloudflare' | null (none or unknown). */
export function adapterOf(dependencyVersion) {
	return ADAPTERS.find(([, pkg]) => dependencyVersion(pkg))?.[0] ?? null;
}

/** Where in-memory rooms would silently break: every adapter but node (one process) and static (PHP). */
export function needsSharedStore(adapter) {
	return adapter !== 'node' && adapter !== 'static';
}

const STORES = [
	{ value: 'memory', label: 'In memory', hint: 'one long-lived process serves every request (adapter-node)' },
	{ value: 'rest', label: 'Redis over HTTP (Upstash REST)', hint: 'any host, serverless included: UPSTASH_REDIS_REST_URL and _TOKEN' },
	{ value: 'redis', label: 'Redis (redis:// URL)', hint: 'several Node servers that keep connections: PEERDROP_REDIS_URL' }
];

/**
 * Decided when the add-on runs, from the adapter the app has then: questions are asked before any
 * add-on runs, so an adapter added in the same `sv add`/`sv create` run is not in package.json yet.
 */
const AUTO = {
	value: 'auto',
	label: 'What the adapter needs',
	hint: 'in memory on adapter-node, Redis over HTTP on serverless hosts: follows the adapter the app ends up with, one added in this same run included'
};

/** The `store` option as declared (sv checks options given on the command line before setup). */
export const storeOption = {
	question: 'Where should signaling keep its rooms?',
	type: 'select',
	default: 'auto',
	options: [AUTO, ...STORES],
	condition: (o) => o.signaling !== 'php'
};

/** The store a choice means on `adapter`: `auto` (or none) is memory on one process, else a shared one. */
export function storeFor(choice, adapter) {
	if (choice && choice !== 'auto') return choice;
	return needsSharedStore(adapter) ? 'rest' : 'memory';
}

const TARGET = {
	auto: 'adapter-auto deploys to serverless hosts (Vercel, Netlify, Cloudflare...)',
	vercel: 'Vercel runs serverless functions',
	netlify: 'Netlify runs serverless functions',
	cloudflare: 'Cloudflare runs Workers'
};

/**
 * The `store` question for this app, filled in at setup with the adapter package.json names then:
 * serverless targets are told why memory will not do. The default stays `auto`, resolved at run
 * time, since an adapter add-on in the same run may still change the adapter.
 */
export function storeQuestionFor(adapter, isKitSignaling) {
	if (!needsSharedStore(adapter)) {
		return {
			question: 'adapter-node runs one process, so rooms can stay in memory (unless you switch adapters). Where should signaling keep its rooms?',
			default: 'auto',
			options: [AUTO, ...STORES],
			condition: isKitSignaling
		};
	}
	const target = TARGET[adapter] ?? 'On serverless hosts';
	return {
		question: `${target}: instances share no memory, so signaling rooms need a shared store. Which one?`,
		default: 'auto',
		options: [AUTO, STORES[1], STORES[2], { ...STORES[0], hint: 'breaks when requests reach different instances' }],
		condition: isKitSignaling
	};
}
