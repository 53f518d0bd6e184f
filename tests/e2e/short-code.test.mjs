// Short codes read out loud: the right code transfers; a wrong one is refused on both sides,
// and the endpoint then refuses the used-up code even when it is typed correctly.
// (The endpoint side, one join per room, is also in tests/conformance/signal.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { useSiteAndBrowser, errorCode, saveAll, sha256 } from './harness.mjs';

const env = useSiteAndBrowser();

const WORDS = [...readFileSync('crates/peerdrop-core/src/wordlist.rs', 'utf8').matchAll(/"([a-z]+)"/g)].map((m) => m[1]);

async function newPage() {
  const ctx = await env.browser.newContext();
  const page = await ctx.newPage();
  return { ctx, page };
}

/** Offers `files` with a short code; returns the code once the page shows it. */
async function offerWithCode(page, files) {
  await page.goto(env.site.url);
  await page.waitForSelector('body[data-state="ready"]');
  await page.check('#use-code');
  await page.setInputFiles('#file-input', files);
  return readCode(page);
}

/** Every code number offered in this file's site. */
const usedNumbers = new Set();

async function readCode(page, previous = '') {
  await page.waitForFunction((prev) => {
    const text = document.getElementById('code-text').textContent;
    return text && text !== prev;
  }, previous, { timeout: 20000 });
  const code = await page.textContent('#code-text');
  usedNumbers.add(Number(code.split('-')[0]));
  return code;
}

async function enterCode(page, code) {
  await page.goto(env.site.url);
  await page.waitForSelector('body[data-state="ready"]');
  await page.fill('#code-input', code);
  await page.click('#code-receive');
}

/** The same number with other words: a code that is well formed but wrong. */
function wrongCode(code) {
  const [number, a, b] = code.split('-');
  const other = WORDS.find((w) => w !== a && w !== b);
  return `${number}-${other}-${b}`;
}

test('the code shown by the sender, typed by the receiver, transfers the file', async () => {
  const data = randomBytes(300 * 1024 + 7);
  const s = await newPage();
  const r = await newPage();
  // The endpoint picks the number: the page asks for a code room, and shows the number it got.
  const creates = [];
  s.page.on('response', async (res) => {
    if (res.url().endsWith('signal.php') && res.request().postData()?.includes('"op":"create"')) {
      creates.push({ sent: JSON.parse(res.request().postData()), got: await res.json() });
    }
  });
  const code = await offerWithCode(s.page, [{ name: 'spoken.bin', mimeType: 'application/octet-stream', buffer: data }]);
  assert.match(code, /^\d{1,3}-[a-z]+-[a-z]+$/);
  assert.equal(creates.length, 1);
  assert.deepEqual(creates[0].sent, { v: 1, op: 'create', code: true }, 'no room id, no number of its own');
  assert.equal(Number(code.split('-')[0]), creates[0].got.code, 'the code is the endpoint\'s number');
  assert.equal(await s.page.inputValue('#share-link'), '', 'no link is offered in short-code mode');
  await enterCode(r.page, code.toUpperCase().replaceAll('-', ' '));
  await r.page.waitForSelector('#accept:visible', { timeout: 30000 });
  await r.page.click('#accept');
  await r.page.waitForSelector('body[data-state="complete"]', { timeout: 60000 });
  const [saved] = await saveAll(r.page);
  assert.equal(saved.sha256, sha256(data));
  // Both sides compare the same verification words.
  assert.equal(await s.page.textContent('#verification-words'), await r.page.textContent('#verification-words'));
  await s.ctx.close();
  await r.ctx.close();
});

test('a wrong code is refused on both sides, the used code is refused by the endpoint, a new code transfers', async () => {
  const data = Buffer.from('only for the person who heard the code\n');
  const s = await newPage();
  const code = await offerWithCode(s.page, [{ name: 'secret.txt', mimeType: 'text/plain', buffer: data }]);

  const guesser = await newPage();
  await enterCode(guesser.page, wrongCode(code));
  assert.equal(await errorCode(guesser.page, 40000), 'wrong_code');
  assert.equal(await errorCode(s.page, 40000), 'wrong_code');
  assert.match(await s.page.textContent('#error'), /one try/);
  assert.equal(await guesser.page.locator('#offer-actions').isVisible(), false, 'no offer reached the guesser');

  // The right code, after the one allowed try: the endpoint refuses the join. The room is
  // either still held (409: code_used) or already gone because both sides left (404:
  // code_unknown); no exchange, no offer either way.
  const late = await newPage();
  const joins = [];
  late.page.on('response', async (res) => {
    if (res.url().endsWith('signal.php') && res.request().postData()?.includes('"op":"join"')) joins.push(res.status());
  });
  await enterCode(late.page, code);
  assert.ok(['code_used', 'code_unknown'].includes(await errorCode(late.page, 40000)));
  assert.equal(joins.length, 1);
  assert.ok([404, 409, 410].includes(joins[0]), `join answered ${joins[0]}`);

  // The sender makes a new code for the same files; it works.
  await s.page.click('#new-code');
  const fresh = await readCode(s.page, code);
  assert.notEqual(fresh, code);
  const r = await newPage();
  await enterCode(r.page, fresh);
  await r.page.waitForSelector('#accept:visible', { timeout: 30000 });
  await r.page.click('#accept');
  await r.page.waitForSelector('body[data-state="complete"]', { timeout: 60000 });
  const [saved] = await saveAll(r.page);
  assert.equal(saved.sha256, sha256(data));
  for (const p of [s, guesser, late, r]) await p.ctx.close();
});

test('an endpoint from before endpoint-picked numbers: the sender is told so, at once', async () => {
  const { ctx, page } = await newPage();
  // What such an endpoint answers a create without a room id.
  await page.route('**/signal.php', (route) => {
    if (!route.request().postData()?.includes('"op":"create"')) return route.continue();
    return route.fulfill({ status: 400, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'missing_field', message: 'The field "room" is required for this request.' } }) });
  });
  await page.goto(env.site.url);
  await page.waitForSelector('body[data-state="ready"]');
  await page.check('#use-code');
  await page.setInputFiles('#file-input', [{ name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('a') }]);
  assert.equal(await errorCode(page, 20000), 'signaling_error');
  assert.match(await page.textContent('#error'), /older than this page and cannot hand out short codes/);
  await ctx.close();
});

test('a mistyped code gets a message that says what to fix', async () => {
  const { ctx, page } = await newPage();
  await enterCode(page, `7-${WORDS[0]}-notaword`);
  assert.equal(await errorCode(page, 40000), 'bad_code');
  assert.match(await page.textContent('#error'), /"notaword" is not one of PeerDrop's code words/);
  await enterCode(page, `7-${WORDS[0]}`);
  assert.equal(await errorCode(page, 40000), 'bad_code');
  await ctx.close();
});

test('a code nobody offers: the receiver is told no sender is waiting', async () => {
  const { ctx, page } = await newPage();
  // A number none of the codes above used: no room exists for it in this site.
  let n = 1;
  while (usedNumbers.has(n)) n++;
  await enterCode(page, `${n}-${WORDS[0]}-${WORDS[1]}`);
  assert.equal(await errorCode(page, 40000), 'code_unknown');
  await ctx.close();
});
