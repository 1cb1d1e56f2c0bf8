// The records Salesforce hands the softphone, cross-site: click-to-dial
// carries the clicked record into the call and its Task (Lightning and
// Classic), and a screen pop Salesforce refuses is retried once, then
// offered as a link.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openHost, waitCti, ctiCalls, finishCall, USERS } from './harness.js';

let server;
let browser;
let records;
before(async () => {
  server = await startServer();
  browser = await launch();
  records = (await (await fetch(`${server.base}/demo/api/info`)).json()).records;
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const btn = (frame, name) => frame.getByRole('button', { name, exact: true });
const record = (name) => records.find((r) => r.name === name);

/** callOf is the simulator's current call of an extension. */
async function callOf(ext) {
  const { calls } = await server.sim('GET', '/calls');
  const mine = calls.filter((c) => c.parties.some((p) => p.number === ext));
  assert.equal(mine.length, 1, `one call on ${ext}`);
  return mine[0];
}

async function taskFor(callId) {
  for (let i = 0; i < 100; i++) {
    const { tasks } = await (await fetch(`${server.base}/demo/api/tasks`)).json();
    const t = tasks.find((x) => x.CallObject === callId);
    if (t) return t;
    await new Promise((r) => setTimeout(r, 100)); // polling the demo org for the outbox's write
  }
  throw new Error(`no Task for ${callId}`);
}

describe('click-to-dial', () => {
  for (const mode of ['lightning', 'classic']) {
    it(`on a shared number calls and logs the clicked record, with no pick step (${mode})`, async () => {
      const riley = record('Riley Patel');
      const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular2, query: { mode } });
      await waitCti(page, 'onClickToDial');
      // Sam and Riley Patel share this household line.
      assert.ok(await page.evaluate((r) => window.clickToDial({ number: '415.555.0142', recordId: r.id, recordName: r.name, objectType: 'Contact' }), riley));
      await btn(frame, 'Clear call').waitFor();
      await frame.locator('.call .nm').filter({ hasText: 'Riley Patel' }).first().waitFor();
      assert.equal(await frame.getByText(/records match this number/).count(), 0, 'no pick step');
      const call = await callOf('1002');
      await finishCall(frame);
      const task = await taskFor(call.id);
      assert.equal(task.WhoId, riley.id);
      await context.close();
    });
  }

  it('logs an Account clicked to dial as the Task’s WhatId', async () => {
    const acme = record('Acme Corporation');
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular3 });
    await waitCti(page, 'onClickToDial');
    await page.evaluate((r) => window.clickToDial({ number: r.phones[0], recordId: r.id, recordName: r.name, objectType: 'Account' }), acme);
    await btn(frame, 'Clear call').waitFor();
    const call = await callOf('1003');
    await finishCall(frame);
    const task = await taskFor(call.id);
    assert.equal(task.WhatId, acme.id);
    assert.equal(task.WhoId ?? null, null);
    await context.close();
  });
});

describe('screen pop', () => {
  it('retries a refused screen pop once, then shows the record as a link', async () => {
    const lucy = record('Lucy Hall');
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular2, query: { refusePop: '2' } });
    await waitCti(page, 'onClickToDial');
    await server.sim('POST', '/calls', { from: '+14155550123', to: '1002' });
    const link = frame.getByRole('link', { name: 'Lucy Hall' });
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), `${server.org}/lightning/r/${lucy.id}/view`);
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal((await ctiCalls(page, 'screenPop')).length, 2, 'tried twice');
    await frame.getByText('Salesforce did not open the record:').waitFor();
    await btn(frame, 'Answer call').click();
    await finishCall(frame);
    await context.close();
  });

  it('shows no link when the retry opens the record', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular3, query: { refusePop: '1' } });
    await waitCti(page, 'onClickToDial');
    await server.sim('POST', '/calls', { from: '+14155550123', to: '1003' });
    await page.waitForFunction(() => window.pops.length === 1);
    assert.equal((await ctiCalls(page, 'screenPop')).length, 2);
    assert.equal(await frame.getByText('Salesforce did not open the record:').count(), 0);
    await btn(frame, 'Answer call').click();
    await finishCall(frame);
    await context.close();
  });
});
