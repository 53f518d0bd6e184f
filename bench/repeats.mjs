// Keeping a long bench run going when one repeat fails. On a slow machine a page, its context or
// the whole browser can close in the middle of a transfer ("Target page, context or browser has
// been closed"); the run records that repeat as failed and goes on with fresh pages, in a new
// browser if the old one died, instead of losing everything measured so far.

/** `promise`, or undefined once `ms` have passed. */
const within = (promise, ms) => {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(resolve, ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
};

/**
 * A browser from `launch()` that is launched again by `revive()` when it has died or stopped
 * answering. Code that only calls `newContext()` and `version()` on it always reaches the browser
 * alive at the time.
 */
export async function keptBrowser(launch) {
  let current = await launch();
  const answers = async () => {
    if (!current.isConnected()) return false;
    const ctx = await within(current.newContext().catch(() => null), 10000);
    await ctx?.close().catch(() => {});
    return !!ctx;
  };
  return {
    newContext: (options) => current.newContext(options),
    version: () => current.version(),
    /** Launches a new browser when the current one is gone or does not answer; true when it did. */
    async revive() {
      if (await answers()) return false;
      await within(current.close().catch(() => {}), 10000);
      current = await launch();
      return true;
    },
    close: () => current.close(),
  };
}

/**
 * The failed repeats of one run, for its results. `attempt(phase, repeat, fn)` runs one repeat
 * (numbered from 0) and gives its result; when it throws, the failure is recorded in `failures`
 * (`{ phase, repeat, error, browserRelaunched }`, `repeat` numbered from 1 as the logs say), a
 * dead browser is relaunched, and the result is null. `fn` closes its own pages, also when it
 * throws. `running` is the phase and repeat in progress.
 */
export function repeatLog(browser, log) {
  const failures = [];
  let running = null;
  return {
    failures,
    get running() { return running; },
    async attempt(phase, repeat, fn) {
      running = { phase, repeat: repeat + 1 };
      try {
        return await fn();
      } catch (e) {
        const browserRelaunched = await browser.revive();
        const error = String(e?.message ?? e).split('\n')[0];
        failures.push({ phase, repeat: repeat + 1, error, browserRelaunched });
        log(`${phase}, repeat ${repeat + 1}: FAILED${browserRelaunched ? ' (the browser was gone and was launched again)' : ''}: ${error}`);
        return null;
      } finally {
        running = null;
      }
    },
  };
}

/** The failures as a markdown section, or nothing when there were none. */
export function failuresMarkdown(failures) {
  if (!failures.length) return '';
  const cell = (s) => String(s).replaceAll('|', '\\|');
  return `
**${failures.length} repeat(s) failed** and are left out of the figures above (each figure is over
the repeats that completed; "–" where none did):

| phase | repeat | error | browser relaunched |
| --- | --- | --- | --- |
${failures.map((f) => `| ${cell(f.phase)} | ${f.repeat} | ${cell(f.error)} | ${f.browserRelaunched ? 'yes' : 'no'} |`).join('\n')}
`;
}
