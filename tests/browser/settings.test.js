// The Settings window (MiVoice and Salesforce tabs), saved per agent on the
// server, and what each setting changes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openHost, reload, ctiCalls, waitCti, agentApi, finishCall, shot, USERS } from './harness.js';

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

async function openSettings(frame) {
  await btn(frame, 'Settings').click();
  const dialog = frame.getByRole('dialog', { name: 'Settings' });
  await dialog.waitFor();
  return dialog;
}

describe('Settings window', () => {
  it('has the MiVoice and Salesforce tabs the guide describes', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host');
    const dialog = await openSettings(frame);
    assert.equal(await dialog.getByRole('tab', { name: 'MiVoice' }).getAttribute('aria-selected'), 'true');
    for (const name of ['Tooltips', 'Edit Number to Dial', 'Auto Save Notes', 'Logs']) await dialog.getByRole('checkbox', { name }).waitFor();
    await dialog.getByRole('textbox', { name: 'Call Subject' }).waitFor();
    await shot(page, 'settings');
    await dialog.getByRole('tab', { name: 'Salesforce' }).click();
    for (const name of ['Outbound Call Notes', 'Inbound Call Notes', 'Internal Call Notes']) await dialog.getByRole('checkbox', { name }).waitFor();
    for (const name of ['Pop-Up at Ringing', 'Pop-Up at Answered']) await dialog.getByRole('radio', { name }).waitFor();
    const order = dialog.getByRole('list', { name: 'Pop-Up Order' });
    const none = dialog.getByRole('list', { name: 'Do not pop' });
    assert.deepEqual(await order.locator('li .nm').allInnerTexts(), [
      'ANI Search (Pop Contact record)', 'DNIS Search (Pop Campaign record)', 'Collected Digits Search (Pop Configured record)', 'New Contact']);
    await shot(page, 'settings-salesforce');
    // keyboard: the arrows reorder
    await dialog.getByRole('button', { name: 'Move New Contact up' }).click();
    assert.equal(await order.locator('li .nm').nth(2).innerText(), 'New Contact');
    // drag and drop into "Do not pop"
    await order.locator('li[data-rule=dnis]').dragTo(none);
    assert.deepEqual(await none.locator('li .nm').allInnerTexts(), ['DNIS Search (Pop Campaign record)']);
    await order.locator('li[data-rule=new_contact]').dragTo(order.locator('li[data-rule=ani]'), { targetPosition: { x: 10, y: 2 } });
    assert.deepEqual(await order.locator('li').evaluateAll((ls) => ls.map((li) => li.dataset.rule)), ['new_contact', 'ani', 'digits']);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual((await agentApi(page, 'GET', '/api/v1/settings')).body.popOrder, ['new_contact', 'ani', 'digits']);
    // saved on the server: a reload shows it
    await reload(page);
    const again = await openSettings(frame);
    await again.getByRole('tab', { name: 'Salesforce' }).click();
    assert.deepEqual(await again.getByRole('list', { name: 'Do not pop' }).locator('li .nm').allInnerTexts(), ['DNIS Search (Pop Campaign record)']);
    await again.getByRole('button', { name: 'Move DNIS Search (Pop Campaign record) up' }).or(again.getByRole('button', { name: 'Pop DNIS Search (Pop Campaign record)' })).first().click();
    await again.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await agentApi(page, 'GET', '/api/v1/settings')).body.popOrder.includes('dnis'), false, 'Cancel keeps the saved settings');
    await context.close();
  });

  it('moves a pop type to "Do not pop" so that it no longer pops', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular2 });
    const dialog = await openSettings(frame);
    await dialog.getByRole('tab', { name: 'Salesforce' }).click();
    await dialog.getByRole('button', { name: 'Do not pop ANI Search (Pop Contact record)' }).click();
    await dialog.getByRole('button', { name: 'Do not pop New Contact' }).click();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await server.sim('POST', '/calls', { from: LUCY, to: '1002' });
    await btn(frame, 'Answer call').click();
    await btn(frame, 'Clear call').waitFor();
    assert.equal((await ctiCalls(page, 'screenPop')).length, 0);
    await finishCall(frame);
    await context.close();
  });

  it('turns tooltips off and on', async () => {
    const { frame, context } = await openHost(browser, server, 'host', { user: USERS.regular3 });
    assert.equal(await btn(frame, 'Make call').getAttribute('title'), 'Dials the contact or telephone number displayed in the search field.');
    let dialog = await openSettings(frame);
    await dialog.getByRole('checkbox', { name: 'Tooltips' }).uncheck();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await btn(frame, 'Make call').getAttribute('title'), null);
    dialog = await openSettings(frame);
    await dialog.getByRole('checkbox', { name: 'Tooltips' }).check();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.ok(await btn(frame, 'Make call').getAttribute('title'));
    await context.close();
  });

  it('uses the Call Subject, hides notes when Inbound Call Notes is off, and Auto Save Notes skips wrap-up', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular3 });
    let dialog = await openSettings(frame);
    await dialog.getByRole('textbox', { name: 'Call Subject' }).fill('Support call');
    await dialog.getByRole('checkbox', { name: 'Auto Save Notes' }).check();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    const id = (await server.sim('POST', '/calls', { from: LUCY, to: '1003' })).id;
    await btn(frame, 'Answer call').click();
    assert.equal(await frame.getByRole('textbox', { name: 'Subject' }).inputValue(), 'Support call');
    await frame.getByRole('textbox', { name: 'Notes' }).fill('Saved without wrap-up');
    await btn(frame, 'Clear call').click();
    await btn(frame, 'All calls').waitFor();
    assert.equal(await btn(frame, 'Wrap up call').count(), 0);
    let task;
    for (let i = 0; i < 100 && !(task && /Saved without wrap-up/.test(task.Description || '')); i++) {
      task = ((await (await fetch(`${server.base}/demo/api/tasks`)).json()).tasks).find((x) => x.CallObject === id);
      await new Promise((r) => setTimeout(r, 100)); // polling the demo org
    }
    assert.match(task.Description, /Saved without wrap-up/);
    assert.match(task.Subject, /Support call/);

    dialog = await openSettings(frame);
    await dialog.getByRole('checkbox', { name: 'Auto Save Notes' }).uncheck();
    await dialog.getByRole('tab', { name: 'Salesforce' }).click();
    await dialog.getByRole('checkbox', { name: 'Inbound Call Notes' }).uncheck();
    await dialog.getByRole('checkbox', { name: 'Outbound Call Notes' }).uncheck();
    await dialog.getByRole('checkbox', { name: 'Internal Call Notes' }).uncheck();
    await dialog.getByText('With every Call Notes option off, no call logs are saved in Salesforce.').waitFor();
    await dialog.getByRole('checkbox', { name: 'Outbound Call Notes' }).check();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await server.sim('POST', '/calls', { from: LUCY, to: '1003' });
    await btn(frame, 'Answer call').click();
    await btn(frame, 'Hold call').waitFor();
    assert.equal(await frame.getByRole('textbox', { name: 'Notes' }).count(), 0);
    await finishCall(frame);
    const s = (await agentApi(page, 'GET', '/api/v1/settings')).body;
    await agentApi(page, 'PUT', '/api/v1/settings', { ...s, inboundCallNotes: true, internalCallNotes: true, callSubject: 'Call' });
    await context.close();
  });

  it('closes with Escape and gives focus back to the Settings button', async () => {
    const { frame, context } = await openHost(browser, server, 'host');
    await btn(frame, 'Settings').focus();
    await frame.locator(':focus').press('Enter');
    const dialog = frame.getByRole('dialog', { name: 'Settings' });
    await dialog.waitFor();
    assert.equal(await frame.locator(':focus').getAttribute('role'), 'tab');
    await frame.locator(':focus').press('ArrowRight');
    await dialog.getByRole('checkbox', { name: 'Inbound Call Notes' }).waitFor();
    await frame.locator(':focus').press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await frame.locator(':focus').getAttribute('aria-label'), 'Settings');
    await context.close();
  });
});
