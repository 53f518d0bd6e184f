// What a person sees when something outside the transfer goes wrong: a clear message in the
// page, never a silent hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useSiteAndBrowser, errorCode } from './harness.mjs';

const env = useSiteAndBrowser();

test('unreachable signaling server: the sender is told so', async () => {
  const ctx = await env.browser.newContext();
  const page = await ctx.newPage();
  await page.route('**/signal.php', (route) => route.abort('connectionrefused'));
  await page.goto(env.site.url);
  await page.waitForSelector('body[data-state="ready"]');
  await page.setInputFiles('#file-input', [{ name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('hi') }]);
  assert.equal(await errorCode(page), 'signaling_unreachable');
  assert.match(await page.textContent('#error'), /Cannot reach the signaling server/);
  await ctx.close();
});

test('a link whose sender is gone: the receiver is told the link expired', async () => {
  const ctx = await env.browser.newContext();
  const page = await ctx.newPage();
  // A well-formed secret that no sender ever created a room for.
  await page.goto(`${env.site.url}#AAAAAAAAAAAAAAAAAAAAAA`);
  assert.equal(await errorCode(page), 'link_expired');
  assert.match(await page.textContent('#error'), /expired or the sender closed their page/);
  await ctx.close();
});

test('a damaged link: the receiver is told to copy the whole link', async () => {
  const ctx = await env.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${env.site.url}#AAAA`);
  assert.equal(await errorCode(page), 'bad_link');
  assert.match(await page.textContent('#error'), /copy the whole link/);
  await ctx.close();
});

test('cancelled file picking: the page says nothing was picked', async () => {
  const ctx = await env.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(env.site.url);
  await page.waitForSelector('body[data-state="ready"]');
  await page.dispatchEvent('#file-input', 'cancel');
  assert.equal(await errorCode(page), 'no_files');
  await ctx.close();
});

test('a busy or rate-limiting endpoint during polls is ridden out, honouring Retry-After', { timeout: 60000 }, async () => {
  const { offer, openAndAccept } = await import('./harness.mjs');
  const senderCtx = await env.browser.newContext();
  const receiverCtx = await env.browser.newContext();
  const sender = await senderCtx.newPage();
  const receiver = await receiverCtx.newPage();
  let refused = 0;
  for (const [page, status] of [[sender, 503], [receiver, 429]]) {
    let polls = 0;
    await page.route('**/signal.php', async (route) => {
      const isPoll = (route.request().postData() ?? '').includes('"op":"poll"');
      if (isPoll && polls++ < 2) {
        refused++;
        return route.fulfill({ status, headers: { 'Retry-After': '1' }, contentType: 'application/json',
          body: JSON.stringify({ error: { code: status === 503 ? 'storage_busy' : 'rate_limited', message: 'busy' } }) });
      }
      return route.continue();
    });
  }
  const link = await offer(sender, env.site.url, [{ name: 'b.txt', mimeType: 'text/plain', buffer: Buffer.from('busy day') }]);
  await openAndAccept(receiver, link);
  await receiver.waitForSelector('body[data-state="complete"]', { timeout: 30000 });
  assert.equal(refused, 4);
  await senderCtx.close();
  await receiverCtx.close();
});
