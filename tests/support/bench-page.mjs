// bench/page in a browser, for the harnesses that drive it: bench/run.mjs (make bench) and the
// network lab's WAN transfers (tests/netlab/wan.mjs, make bench-wan).

/**
 * A new context and page in `browser` at `url`, once bench/page says it is ready
 * (`body[data-ready]`). A page whose load or module imports failed (a network change in the lab,
 * a machine too busy to load it in `readyMs`) is loaded again, `loads` times in all.
 */
export async function benchPage(browser, url, { readyMs = 10000, loads = 4 } = {}) {
  const ctx = await browser.newContext();
  try {
    const p = await ctx.newPage();
    for (let i = 1; ; i++) {
      try {
        await p.goto(url);
        await p.waitForSelector('body[data-ready="yes"]', { timeout: readyMs });
        return { p, ctx };
      } catch (e) {
        if (i >= loads || p.isClosed()) throw new Error(`the bench page at ${url} did not get ready after ${i} load(s): ${e.message}`, { cause: e });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } catch (e) {
    await ctx.close().catch(() => {});
    throw e;
  }
}

/** Closes the contexts of pages from benchPage, whatever state they or their browser are in. */
export async function closePages(...pages) {
  for (const x of pages) await x?.ctx.close().catch(() => {});
}
