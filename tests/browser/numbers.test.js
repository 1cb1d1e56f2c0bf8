// Phone numbers the way Salesforce orgs and carriers write them (issue 14):
// a number with an extension dialled from the search bar and by
// click-to-dial rings the main number and keys the extension as DTMF once
// the far end answers; vanity letters are dialled by their digits; a
// withheld caller is shown (translated) as such, never as "anonymous".
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, openHost, waitCti, finishCall, simCalls, repo, USERS } from './harness.js';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const btn = (frame, name) => frame.getByRole('button', { name, exact: true });
const LUCY = '+14155550123';

/** heard waits until the far end of the agent's call to number heard want (DTMF), and returns the call. */
async function heard(number, want) {
  let last = '';
  for (let i = 0; i < 150; i++) {
    const [c] = await simCalls(server, number);
    if (c) {
      const call = await server.sim('GET', `/calls/${c.id}`);
      last = call.digitsHeard || '';
      if (last === want) return call;
    }
    await new Promise((r) => setTimeout(r, 100)); // polling the simulator: the far end's DTMF sends no event to the page
  }
  throw new Error(`the far end of ${number} heard ${JSON.stringify(last)}, want ${JSON.stringify(want)}`);
}

describe('numbers with extensions', () => {
  it('dials the main number from the search bar and keys the extension once the far end answers', async () => {
    // The far end answers after 1 s: the extension must wait for it.
    await server.sim('PUT', `/numbers/${encodeURIComponent(LUCY)}`, { answerAfter: '1s' });
    const { frame, context } = await openHost(browser, server, 'host', { user: USERS.regular });
    const bar = frame.getByRole('searchbox', { name: 'Search' });
    await bar.fill('(415) 555\u20110123 x 9');
    await btn(frame, 'Make call').click();
    await btn(frame, 'Clear call').waitFor();
    const [ringing] = await simCalls(server, LUCY);
    assert.ok(ringing, 'the main number is called');
    const far = ringing.parties.find((p) => p.number === LUCY);
    assert.equal(far.state, 'alerting');
    assert.equal((await server.sim('GET', `/calls/${ringing.id}`)).digitsHeard, undefined, 'nothing keyed before the answer');
    const call = await heard(LUCY, '9');
    assert.equal(call.parties.find((p) => p.number === LUCY).state, 'connected');
    await frame.getByText('Lucy Hall').first().waitFor();
    await finishCall(frame);
    await context.close();
  });

  it('click-to-dial on a Phone field with an extension keys it after the answer', async () => {
    await server.sim('PUT', `/numbers/${encodeURIComponent(LUCY)}`, { answerAfter: '0s' });
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular });
    await waitCti(page, 'onClickToDial');
    const ok = await page.evaluate(() => window.clickToDial({ number: '415-555-0123 ext. 22', recordId: '', recordName: 'Lucy Hall', objectType: 'Contact' }));
    assert.ok(ok, 'click-to-dial is enabled');
    await btn(frame, 'Clear call').waitFor();
    await heard(LUCY, '22');
    await finishCall(frame);
    await context.close();
  });

  it('dials vanity letters by their digits', async () => {
    const { frame, context } = await openHost(browser, server, 'host', { user: USERS.regular });
    await frame.getByRole('searchbox', { name: 'Search' }).fill('1-800-FLOWERS');
    await btn(frame, 'Make call').click();
    await btn(frame, 'Clear call').waitFor();
    assert.equal((await simCalls(server, '+18003569377')).length, 1);
    await finishCall(frame);
    await context.close();
  });
});

describe('withheld callers', () => {
  for (const lang of ['en', 'fr']) {
    const cat = JSON.parse(readFileSync(join(repo, 'static', 'softphone', 'i18n', `${lang}.json`), 'utf8'));
    const text = cat['number.withheld'];
    it(`shows "${text}" while ringing and in the missed call history (${lang})`, async () => {
      const { frame, context } = await openHost(browser, server, 'host', { user: USERS.regular2, locale: lang === 'en' ? 'en-US' : 'fr-FR' });
      const id = (await server.sim('POST', '/calls', { from: 'anonymous', to: '1002' })).id;
      await frame.locator('section.call').getByText(text).first().waitFor();
      assert.equal(await frame.getByText('anonymous').count(), 0, 'the caller id word is not shown as a number');
      await server.sim('POST', `/calls/${id}/hangup`);
      await frame.locator('section.call').waitFor({ state: 'detached' });
      await btn(frame, cat['list.missed']).click();
      const row = frame.locator(`ul[aria-label="${cat['list.missed']}"] .entry.withheld`).first();
      await row.getByText(text).waitFor();
      assert.equal(await row.getByRole('button').count(), 0, 'nothing to call back or keep as a favorite');
      await context.close();
    });
  }
});
