// One link, several receivers (issue #21): a sender page drives the runtime with
// `receivers` > 1 and several receiver pages open the one link in the plain example, each in
// its own browser context, through the real signal.php.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useSiteAndBrowser, errorCode, openAndAccept, receivedFiles, sha256, shoot } from './harness.mjs';

const env = useSiteAndBrowser();
const MiB = 1024 * 1024;

/** Writes `files` ({relative path: bytes}) under a new folder; returns its top folder. */
async function folder(name, files) {
  const root = await mkdtemp(join(tmpdir(), 'peerdrop-many-'));
  for (const [path, data] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), data);
  }
  return join(root, name);
}

/**
 * Opens the plain page as a sender and offers `path` (a folder or a file) through the runtime
 * itself with `options` (`receivers`, `flow`...). Events land in `window.events`; the handle
 * is `window.handle`. Returns the link.
 */
async function offerToMany(page, path, options) {
  await page.goto(env.site.url);
  await page.waitForSelector('body[data-state="ready"]');
  // An input of the test's own: the page's inputs would start a transfer to one receiver.
  const isFolder = (await stat(path)).isDirectory();
  await page.evaluate((isFolder) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.id = 'many-input';
    input.multiple = true;
    input.webkitdirectory = isFolder;
    document.body.append(input);
  }, isFolder);
  await page.setInputFiles('#many-input', path);
  return page.evaluate(async (options) => {
    const runtime = await import(new URL('pkg/peerdrop.js', location.href).href);
    await runtime.default();
    window.events = [];
    const files = Array.from(document.getElementById('many-input').files, (file) => ({
      file, path: file.webkitRelativePath || file.name,
    }));
    window.handle = runtime.send(files, {
      ...options,
      signalUrl: new URL('signal.php', location.href).href,
      onEvent: (e) => window.events.push(e),
    });
    return window.handle.link;
  }, options);
}

/** Resolves once the sender's events satisfy `predicate` (run in the page). */
function senderSees(page, predicate, arg, timeout = 60000) {
  return page.waitForFunction(predicate, arg, { timeout, polling: 100 });
}

async function receiverPage() {
  const ctx = await env.browser.newContext({ acceptDownloads: true });
  return { ctx, page: await ctx.newPage() };
}

test('one link, four receivers: the folder arrives whole at each, every block read and hashed once', { timeout: 180000 }, async () => {
  const files = {
    'class/notes.txt': Buffer.from('chapter 1\n'),
    'class/slides.pdf': randomBytes(3 * MiB + 5),
    'class/video/intro.webm': randomBytes(9 * MiB + 123),
    'class/video/empty.bin': Buffer.alloc(0),
  };
  const total = Object.values(files).reduce((n, b) => n + b.length, 0);
  const senderCtx = await env.browser.newContext();
  const sender = await senderCtx.newPage();
  // As a person does it: "several people", 8 by default, changed to 4, then a folder.
  await sender.goto(env.site.url);
  await sender.waitForSelector('body[data-state="ready"]');
  await sender.check('#several');
  assert.equal(await sender.inputValue('#receivers'), '8');
  assert.ok(await sender.isDisabled('#use-code'), 'a short code is for one receiver');
  await sender.fill('#receivers', '4');
  await sender.setInputFiles('#folder-input', await folder('class', files));
  await sender.waitForFunction(() => document.getElementById('share-link').value.includes('#'));
  const link = await sender.inputValue('#share-link');
  await sender.waitForFunction(() => /Up to 4 people/.test(document.getElementById('share-hint').textContent));

  const receivers = [];
  for (let i = 0; i < 4; i++) receivers.push(await receiverPage());
  await Promise.all(receivers.map((r) => openAndAccept(r.page, link)));
  await Promise.all(receivers.map((r) => r.page.waitForSelector('body[data-state="complete"]', { timeout: 120000 })));
  // Every seat taken and every receiver done: the link itself completes, each row says so.
  await sender.waitForSelector('body[data-state="complete"]', { timeout: 20000 });
  await shoot(sender, 'sender-four-receivers-complete');
  await shoot(receivers[0].page, 'receiver-of-four-complete');

  for (const r of receivers) {
    const got = await receivedFiles(r.page);
    assert.deepEqual(got.map((f) => f.path).sort(), Object.keys(files).sort());
    for (const f of got) assert.equal(f.sha256, sha256(files[f.path]), f.path);
  }
  const rows = await sender.$$eval('#receiver-list li', (lis) => lis.map((li) => li.textContent));
  assert.equal(rows.length, 4);
  for (const row of rows) assert.match(row, /Done: every file arrived and was verified/);
  // Each receiver has its own connection, so its own words; its row is named by two of them.
  const words = [];
  for (const r of receivers) {
    const w = (await r.page.textContent('#verification-words')).trim();
    words.push(w);
    assert.ok(rows.some((row) => row.includes(w.split(' ').slice(0, 2).join(' '))), `a row is named after ${w}`);
  }
  assert.equal(new Set(words).size, 4);
  // Read and hashed once for all four: the bytes read are the offer's, not four times it.
  await sender.click('#diagnostics summary');
  await sender.click('#diagnose');
  await sender.waitForFunction(() => document.getElementById('diagnosis').textContent.includes('sharedReads'));
  const { sharedReads } = JSON.parse(await sender.textContent('#diagnosis'));
  assert.equal(sharedReads.bytesRead, total, JSON.stringify(sharedReads));
  assert.equal(sharedReads.bytesDelivered, 4 * total);
  assert.ok(sharedReads.maxHeldBytes <= 32 * MiB);
  for (const r of receivers) await r.ctx.close();
  await senderCtx.close();
});

test('one receiver reloads and resumes, one is removed by the sender, the third completes', { timeout: 240000 }, async () => {
  const size = 240 * MiB;
  const dir = await mkdtemp(join(tmpdir(), 'peerdrop-many-big-'));
  const data = randomBytes(size);
  const path = join(dir, 'lecture.bin');
  await writeFile(path, data);
  const senderCtx = await env.browser.newContext();
  const sender = await senderCtx.newPage();
  const link = await offerToMany(sender, path, { receivers: 3 });
  const [reloading, removed, steady] = [await receiverPage(), await receiverPage(), await receiverPage()];
  for (const r of [reloading, removed, steady]) await openAndAccept(r.page, link);
  const bar = (page) => page.$eval('#total-bar', (bar) => bar.value);

  // Both happen early, while every transfer runs: the loopback moves 240 MiB in seconds.
  await removed.page.waitForFunction(() => document.getElementById('total-bar').value > 0.02, null, { timeout: 60000 });
  await reloading.page.waitForFunction(() => document.getElementById('total-bar').value >= 0.1, null, { timeout: 60000 });
  // Receiver numbers follow the order of joins: find which number each page got by its words.
  const words = (await removed.page.textContent('#verification')).trim();
  const removedNumber = await sender.evaluate((words) => window.events.find((e) => e.verification && words.includes(e.verification))?.receiver, words);
  assert.ok(removedNumber >= 1, 'the removed page has a receiver number');
  await sender.evaluate((n) => window.handle.dropReceiver(n), removedNumber);
  const verifiedBefore = Math.floor((await bar(reloading.page)) * size);
  assert.ok(verifiedBefore < size, 'the reload comes mid-transfer');
  await reloading.page.reload();
  await reloading.page.goto(link);
  await reloading.page.waitForSelector('#accept:visible', { timeout: 30000 });
  await reloading.page.click('#accept');

  assert.equal(await errorCode(removed.page, 15000), 'cancelled');
  assert.match(await removed.page.textContent('#error'), /removed you/);
  await senderSees(sender, (n) => window.events.some((e) => e.receiver === n && e.type === 'error' && e.code === 'dropped'), removedNumber);
  for (const r of [reloading, steady]) {
    await r.page.waitForSelector('body[data-state="complete"]', { timeout: 150000 });
    const [file] = await receivedFiles(r.page);
    assert.equal(file.sha256, sha256(data));
  }
  const resumed = Number(await reloading.page.getAttribute('body', 'data-resumed-bytes'));
  assert.ok(resumed >= verifiedBefore - MiB, `resumed ${resumed} of ${verifiedBefore} verified before the reload`);
  // The reloaded receiver kept its number: no fourth receiver appeared.
  const numbers = await sender.evaluate(() => [...new Set(window.events.map((e) => e.receiver).filter((n) => n))].sort());
  assert.deepEqual(numbers, [1, 2, 3]);
  // Every seat taken and every receiver ended (two complete, one removed): the link completes.
  await senderSees(sender, () => window.events.some((e) => e.type === 'complete' && e.receiver === undefined));
  // Reopened, the removed receiver is turned away (the link has ended: no room, or its seat gone).
  await removed.page.reload();
  await removed.page.goto(link);
  assert.ok(['dropped', 'link_expired'].includes(await errorCode(removed.page, 20000)));
  await shoot(removed.page, 'receiver-removed');
  for (const r of [reloading, removed, steady]) await r.ctx.close();
  await senderCtx.close();
});

test('a receiver beyond the limit, or after the link was closed, gets a clear error', { timeout: 120000 }, async () => {
  const dir = await folder('small', { 'small/a.txt': Buffer.from('a'), 'small/b.bin': randomBytes(64 * 1024) });
  const senderCtx = await env.browser.newContext();
  const sender = await senderCtx.newPage();
  const link = await offerToMany(sender, dir, { receivers: 2 });
  const pages = [await receiverPage(), await receiverPage()];
  for (const r of pages) {
    await openAndAccept(r.page, link);
    await r.page.waitForSelector('body[data-state="complete"]', { timeout: 60000 });
  }
  const late = await receiverPage();
  await late.page.goto(link);
  assert.equal(await errorCode(late.page), 'link_in_use');
  assert.match(await late.page.textContent('#error'), /as many people as the sender allowed/);
  await shoot(late.page, 'receiver-link-full');

  // A link for three, closed while its one receiver looks at the offer: a newcomer is turned
  // away, and the link completes once that receiver is done.
  const closing = await senderCtx.newPage();
  const link2 = await offerToMany(closing, dir, { receivers: 3 });
  const first = await receiverPage();
  await first.page.goto(link2);
  await first.page.waitForSelector('#accept:visible', { timeout: 30000 });
  await closing.evaluate(() => window.handle.closeLink());
  await senderSees(closing, () => window.events.some((e) => e.type === 'linkClosed'));
  const turnedAway = await receiverPage();
  await turnedAway.page.goto(link2);
  assert.equal(await errorCode(turnedAway.page), 'link_closed');
  assert.match(await turnedAway.page.textContent('#error'), /closed this link to newcomers/);
  await first.page.click('#accept');
  await first.page.waitForSelector('body[data-state="complete"]', { timeout: 60000 });
  await senderSees(closing, () => window.events.some((e) => e.type === 'complete' && e.receiver === undefined));

  // A short code stays for one receiver.
  const refused = await closing.evaluate(async () => {
    const runtime = await import(new URL('pkg/peerdrop.js', location.href).href);
    try {
      runtime.send([new File(['x'], 'x.txt')], { receivers: 3, shortCode: true });
      return null;
    } catch (e) {
      return e.code;
    }
  });
  assert.equal(refused, 'invalid_receivers');
  for (const r of [...pages, late, first, turnedAway]) await r.ctx.close();
  await senderCtx.close();
});

/** Rewrites the test site's signal.php config, and waits until the endpoint reads it (php -S
 *  has opcache on, which may serve the old file for a couple of seconds). */
async function configure(config, text, maxReceivers) {
  await writeFile(config, text);
  for (let i = 0; i < 50; i++) {
    const health = await (await fetch(new URL('signal.php', env.site.url))).json();
    if (health.limits.max_receivers === maxReceivers) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`signal.php did not take max_receivers ${maxReceivers}`);
}

test('an endpoint that seats fewer than asked gives the link what it allows', { timeout: 60000 }, async () => {
  // The operator allows 2 per room (`max_receivers`); the sender asks for 4.
  const config = join(env.site.dataDir, '..', 'peerdrop.local.config.php');
  const before = await readFile(config, 'utf8');
  await configure(config, before.replace('return array(', "return array('max_receivers' => 2, "), 2);
  try {
    const senderCtx = await env.browser.newContext();
    const sender = await senderCtx.newPage();
    const dir = await folder('two', { 'two/a.txt': Buffer.from('a') });
    await offerToMany(sender, dir, { receivers: 4 });
    await senderSees(sender, () => window.events.some((e) => e.type === 'room' || e.type === 'error'));
    const first = await sender.evaluate(() => window.events.find((e) => e.type === 'room' || e.type === 'error'));
    assert.deepEqual(first, { type: 'room', receivers: 2 });
    await senderCtx.close();
  } finally {
    await configure(config, before, 32);
  }
});

test('a receiver that went away does not keep a closed link from completing', { timeout: 90000 }, async () => {
  const dir = await folder('gone', { 'gone/a.bin': randomBytes(256 * 1024) });
  const senderCtx = await env.browser.newContext();
  const sender = await senderCtx.newPage();
  const link = await offerToMany(sender, dir, { receivers: 3, reconnectWindow: 2000 });
  const done = await receiverPage();
  await openAndAccept(done.page, link);
  await done.page.waitForSelector('body[data-state="complete"]', { timeout: 60000 });
  // The second one sees the offer, then closes its window without a word.
  const gone = await receiverPage();
  await gone.page.goto(link);
  await gone.page.waitForSelector('#accept:visible', { timeout: 30000 });
  await gone.ctx.close();
  await sender.evaluate(() => window.handle.closeLink());
  await senderSees(sender, () => window.events.some((e) => e.type === 'complete' && e.receiver === undefined), undefined, 60000);
  const ended = await sender.evaluate(() => window.events.filter((e) => e.receiver === 2 && e.type === 'error').map((e) => e.code));
  assert.deepEqual(ended, ['connection_lost']);
  await done.ctx.close();
  await senderCtx.close();
});
