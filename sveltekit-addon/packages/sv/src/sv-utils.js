// Bundled into dist/ at build time (community add-ons may not have dependencies).
export * from '@sveltejs/sv-utils';
