// Idle state, in a Lightning host: search, dial pad, Make call, Favorites,
// call lists, contact record, DND / Make Busy, 200 px width.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openHost, reload, ctiCalls, waitCti, agentApi, finishCall, simCalls, shot, USERS } from './harness.js';

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

describe('idle state in Lightning', () => {
  it('starts Open CTI the way Salesforce expects', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host');
    await waitCti(page, 'onClickToDial');
    const names = (await ctiCalls(page)).map((c) => c.methodName);
    for (const m of ['notifyInitializationComplete', 'getCallCenterSettings', 'enableClickToDial', 'onClickToDial']) {
      assert.equal(names.filter((n) => n === m).length, 1, `${m} called once`);
    }
    const all = await ctiCalls(page);
    assert.ok(all.every((c) => c.apiType === 'opencti' && c.apiVersion === '67.0'));
    // The softphone loaded the org's script from sfdcIframeOrigin.
    const src = await frame.locator('script[src*="opencti_min.js"]').getAttribute('src');
    assert.equal(src, `${server.org}/support/api/67.0/lightning/opencti_min.js`);
    await shot(page, 'idle');
    await context.close();
  });

  it('offers every idle control by its feature name, keyboard reachable', async () => {
    const { frame, context } = await openHost(browser, server, 'host');
    for (const name of ['Make call', 'Dial pad', 'Favorites', 'All calls', 'Missed call history', 'Received call history', 'Outgoing call history', 'Settings', 'Agent status']) {
      await btn(frame, name).waitFor();
    }
    assert.equal(await btn(frame, 'Log out').count(), 0, 'regular users have no Log out');
    // Tab order reaches the controls (no tabindex=-1 on buttons).
    assert.equal(await frame.locator('button[tabindex="-1"]').count(), 0);
    await frame.getByRole('searchbox', { name: 'Search' }).focus();
    await frame.locator('body').press('Tab');
    assert.equal(await frame.locator(':focus').getAttribute('aria-label'), 'Make call');
    await context.close();
  });

  it('searches names and dials with one click when Edit Number to Dial is off', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host');
    await agentApi(page, 'PUT', '/api/v1/settings', { ...(await agentApi(page, 'GET', '/api/v1/settings')).body, editNumberToDial: false });
    await reload(page);
    await frame.getByRole('searchbox', { name: 'Search' }).fill('Lucy');
    await btn(frame, 'Call Lucy Hall at +14155550123').click();
    await btn(frame, 'Clear call').waitFor();
    await frame.getByText('Outgoing call').waitFor();
    assert.equal((await simCalls(server, '+14155550123')).length, 1);
    await finishCall(frame);
    await context.close();
  });

  it('fills the bar for editing when Edit Number to Dial is on; the green Call button dials', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host');
    const s = (await agentApi(page, 'GET', '/api/v1/settings')).body;
    await agentApi(page, 'PUT', '/api/v1/settings', { ...s, editNumberToDial: true });
    await reload(page);
    const bar = frame.getByRole('searchbox', { name: 'Search' });
    await bar.fill('Lucy');
    await btn(frame, 'Call Lucy Hall at +14155550123').click();
    assert.equal(await bar.inputValue(), '+14155550123');
    assert.equal(await btn(frame, 'Clear call').count(), 0, 'nothing dialled yet');
    await bar.fill('+1 415 555 0123');
    await btn(frame, 'Make call').click();
    await btn(frame, 'Clear call').waitFor();
    await finishCall(frame);
    await agentApi(page, 'PUT', '/api/v1/settings', { ...s, editNumberToDial: false });
    await context.close();
  });

  it('shows an inline message for a number with letters and keeps what was typed', async () => {
    const { frame, context } = await openHost(browser, server, 'host');
    const bar = frame.getByRole('searchbox', { name: 'Search' });
    await bar.fill('555-CALL-ME');
    await btn(frame, 'Make call').click();
    await frame.getByRole('alert').filter({ hasText: 'cannot be dialled' }).waitFor();
    assert.equal(await bar.inputValue(), '555-CALL-ME');
    assert.equal(await bar.getAttribute('aria-invalid'), 'true');
    await bar.fill('');
    await btn(frame, 'Make call').click();
    await frame.getByRole('alert').filter({ hasText: 'Enter a name or number first.' }).waitFor();
    await context.close();
  });

  it('dials from the dial pad', async () => {
    const { frame, context } = await openHost(browser, server, 'host');
    await btn(frame, 'Dial pad').click();
    assert.equal(await btn(frame, 'Dial pad').getAttribute('aria-pressed'), 'true');
    for (const k of '1002') await btn(frame, `Key ${k}`).click();
    assert.equal(await frame.getByRole('searchbox', { name: 'Search' }).inputValue(), '1002');
    await btn(frame, 'Make call').click();
    await btn(frame, 'Clear call').waitFor();
    await frame.getByText('Internal call').waitFor();
    await finishCall(frame);
    await context.close();
  });

  it('adds and removes favorites with the star; Favorites are alphabetical', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular2 });
    const bar = frame.getByRole('searchbox', { name: 'Search' });
    for (const q of ['Lucy', 'Jordan']) {
      await bar.fill(q);
      const star = frame.locator('.results .entry').first().getByRole('button', { name: 'Add favorite' });
      await star.click();
      await frame.locator('.results .star[aria-pressed=true]').first().waitFor();
    }
    await bar.fill('');
    await btn(frame, 'Favorites').click();
    const names = await frame.locator('ul[aria-label=Favorites] .nm').allInnerTexts();
    assert.deepEqual(names, ['Jordan Lee', 'Lucy Hall']);
    await frame.locator('ul[aria-label=Favorites] .entry').filter({ hasText: 'Jordan Lee' }).getByRole('button', { name: 'Add favorite' }).click();
    await frame.locator('ul[aria-label=Favorites] .entry').filter({ hasText: 'Jordan Lee' }).waitFor({ state: 'detached' });
    const left = (await agentApi(page, 'GET', '/api/v1/favorites')).body.favorites.map((f) => f.name);
    assert.deepEqual(left, ['Lucy Hall']);
    await context.close();
  });

  it('refuses a 51st favorite with an inline message; nothing is lost', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular3 });
    for (let i = 0; i < 50; i++) {
      const n = `+1415555${String(1000 + i)}`;
      const r = await agentApi(page, 'POST', '/api/v1/favorites', { id: n, name: `Fav ${String(i).padStart(2, '0')}`, number: n });
      assert.ok(r.status < 300, `favorite ${i}: ${r.status}`);
    }
    await reload(page);
    await frame.locator('ul[aria-label=Favorites] .entry').nth(49).waitFor();
    const bar = frame.getByRole('searchbox', { name: 'Search' });
    await bar.fill('Lucy');
    await frame.locator('.results .entry').first().getByRole('button', { name: 'Add favorite' }).click();
    await frame.getByRole('alert').filter({ hasText: 'at most 50 favorites' }).waitFor();
    assert.equal(await bar.inputValue(), 'Lucy');
    assert.equal((await agentApi(page, 'GET', '/api/v1/favorites')).body.favorites.length, 50);
    await context.close();
  });

  it('pops the contact record from the person icon', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host');
    await frame.getByRole('searchbox', { name: 'Search' }).fill('Lucy');
    await frame.locator('.results .entry').first().getByRole('button', { name: 'Contact record' }).click();
    const pop = await waitCti(page, 'screenPop');
    assert.equal(pop.args.type, 'sobject');
    assert.match(pop.args.params.recordId, /^003/);
    await context.close();
  });

  it('lists all, missed, received and outgoing calls, and dials from a list (click to dial)', async () => {
    const { frame, context } = await openHost(browser, server, 'host', { user: USERS.regular3 });
    // a missed call: the caller hangs up while it rings
    const id = (await server.sim('POST', '/calls', { from: '+14155550188', to: '1003' })).id;
    await btn(frame, 'Answer call').waitFor();
    await server.sim('POST', `/calls/${id}/hangup`);
    await btn(frame, 'Answer call').waitFor({ state: 'detached' });
    const wrap = btn(frame, 'Wrap up call');
    if (await wrap.isVisible()) await wrap.click();
    // an answered call
    await server.sim('POST', '/calls', { from: '+14155550123', to: '1003' });
    await btn(frame, 'Answer call').click();
    await finishCall(frame);
    await btn(frame, 'Missed call history').click();
    await frame.locator('ul[aria-label="Missed call history"]').getByText('Jordan Lee').waitFor();
    await btn(frame, 'Received call history').click();
    const received = frame.locator('ul[aria-label="Received call history"]');
    await received.getByText('Lucy Hall').waitFor();
    await btn(frame, 'All calls').click();
    await frame.locator('ul[aria-label="All calls"] .entry').nth(1).waitFor();
    // click the number in a list to call back
    await btn(frame, 'Received call history').click();
    await received.getByRole('button', { name: 'Call Lucy Hall at +14155550123' }).click();
    await frame.getByText('Outgoing call').waitFor();
    await finishCall(frame);
    await btn(frame, 'Outgoing call history').click();
    await frame.locator('ul[aria-label="Outgoing call history"]').getByText('Lucy Hall').waitFor();
    await context.close();
  });

  it('sets Do Not Disturb (red) and Make Busy with a reason (yellow) from the agent icon', async () => {
    const { frame, context } = await openHost(browser, server, 'host', { user: USERS.regular2 });
    const agent = btn(frame, 'Agent status');
    await agent.click();
    await frame.getByRole('menuitemradio', { name: 'Do Not Disturb' }).click();
    await frame.locator('.agent.dnd').waitFor();
    assert.equal(await agent.evaluate((e) => getComputedStyle(e).color), 'rgb(186, 5, 23)');
    await agent.click();
    assert.equal(await frame.getByRole('menuitemradio', { name: 'Do Not Disturb' }).getAttribute('aria-checked'), 'true');
    await frame.getByRole('menuitemradio', { name: 'Make Busy: Lunch' }).click();
    await frame.locator('.agent.busy').waitFor();
    assert.equal(await agent.evaluate((e) => getComputedStyle(e).color), 'rgb(221, 122, 1)');
    await agent.click();
    assert.equal(await frame.getByRole('menuitemradio', { name: 'Make Busy: Lunch' }).getAttribute('aria-checked'), 'true');
    assert.equal(await frame.getByRole('menuitemradio', { name: 'Make Busy: Meeting' }).getAttribute('aria-checked'), 'false');
    await frame.getByRole('menuitemradio', { name: 'Available' }).click();
    await frame.locator('.agent.free').waitFor();
    await context.close();
  });

  it('works the agent menu from the keyboard', async () => {
    const { frame, context } = await openHost(browser, server, 'host', { user: USERS.regular2 });
    await btn(frame, 'Agent status').focus();
    await frame.locator(':focus').press('Enter');
    assert.equal(await frame.locator(':focus').getAttribute('role'), 'menuitemradio');
    await frame.locator(':focus').press('ArrowDown');
    assert.equal(await frame.locator(':focus').innerText(), 'Do Not Disturb');
    await frame.locator(':focus').press('Enter');
    await frame.locator('.agent.dnd').waitFor();
    assert.equal(await frame.locator(':focus').getAttribute('aria-label'), 'Agent status');
    await frame.locator(':focus').press('Enter');
    await frame.getByRole('menuitemradio', { name: 'Available' }).press('Enter');
    await frame.locator('.agent.free').waitFor();
    await context.close();
  });

  it('fits Lightning’s minimum width of 200 px', async () => {
    const { frame, context } = await openHost(browser, server, 'host', { width: 200 });
    await btn(frame, 'Dial pad').click();
    const overflow = await frame.locator('body').evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0);
    await context.close();
  });
});
