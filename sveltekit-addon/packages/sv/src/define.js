// sv's `defineAddon` and `defineAddonOptions` only return what they are given. They are copied
// here, not imported: sv imports an add-on from the add-on's own folder, and in a packed copy
// unpacked outside a workspace the `sv` peer cannot be resolved from there, which sv reports as
// "'/sv' export not found - default export not found". Importing nothing from `sv` at run time,
// the built add-on loads from anywhere (`sv` stays a peer dependency: sv's loader requires it).

/** @type {typeof import('sv').defineAddon} */
export const defineAddon = /** @type {any} */ ((config) => config);

/** @returns {import('sv').OptionBuilder<{}>} */
export function defineAddonOptions(options = {}) {
	return /** @type {any} */ ({
		add: (key, question) => defineAddonOptions({ ...options, [key]: question }),
		build: () => options
	});
}
