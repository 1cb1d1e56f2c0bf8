// Salesforce Classic and Console: the softphone loads interaction.js from
// sfdcIFrameOrigin and drives sforce.interaction / .cti. Most tests replace
// interaction.js with a stub that records every call (classic-stub.js); one
// runs the demo stand-in against the postMessage host.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openHost, ctiCalls, waitCti, agentApi, finishCall, simCalls, USERS } from './harness.js';

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
const classic = (extra = {}) => ({ classicStub: true, query: { mode: 'classic', stub: '1', ...extra } });

describe('Salesforce Classic', () => {
  it('starts with cti.notifyInitializationComplete, getCallCenterSettings, enableClickToDial, onClickToDial and isInConsole', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', classic());
    await waitCti(page, 'onClickToDial');
    await waitCti(page, 'isInConsole');
    const names = (await ctiCalls(page)).map((c) => c.methodName);
    for (const m of ['notifyInitializationComplete', 'getCallCenterSettings', 'enableClickToDial', 'onClickToDial', 'isInConsole']) {
      assert.ok(names.includes(m), `${m} called`);
    }
    const src = await frame.locator('script[src*="interaction.js"]').getAttribute('src');
    assert.equal(src, `${server.org}/support/api/67.0/interaction.js`);
    // quick notes come from the call center settings (a JSON string in Classic)
    await context.close();
  });

  it('pops the matching record with screenPop(url, true) and shows the hidden softphone', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', classic({ visible: '0' }));
    await waitCti(page, 'onClickToDial');
    await server.sim('POST', '/calls', { from: '+14155550123', to: '1001' });
    await btn(frame, 'Answer call').waitFor();
    const pop = await waitCti(page, 'screenPop');
    assert.match(pop.args.url, /^\/003/);
    assert.equal(pop.args.force, true);
    await waitCti(page, 'isVisible');
    await waitCti(page, 'setVisible', '"value":true');
    await btn(frame, 'Answer call').click();
    await finishCall(frame);
    await context.close();
  });

  it('pops only the first of several matches in Classic', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', classic());
    await waitCti(page, 'isInConsole');
    await server.sim('POST', '/calls', { from: '+14155550142', to: '1001' });
    await frame.getByText('2 records match this number: pick the caller.').first().waitFor();
    await waitCti(page, 'screenPop');
    await btn(frame, 'Answer call').click();
    await btn(frame, 'Clear call').waitFor();
    assert.equal((await ctiCalls(page, 'screenPop')).length, 1);
    await finishCall(frame);
    await context.close();
  });

  it('pops every match in the Console', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', classic({ console: '1' }));
    await waitCti(page, 'isInConsole');
    await server.sim('POST', '/calls', { from: '+14155550142', to: '1001' });
    await page.waitForFunction(() => window.ctiCalls.filter((c) => c.methodName === 'screenPop').length === 2);
    const urls = (await ctiCalls(page, 'screenPop')).map((c) => c.args.url);
    assert.equal(new Set(urls).size, 2);
    assert.ok(urls.every((u) => /^\/003/.test(u)));
    await btn(frame, 'Answer call').click();
    await finishCall(frame);
    await context.close();
  });

  it('opens the new Contact page with the number for an unknown caller', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', classic());
    const s = (await agentApi(page, 'GET', '/api/v1/settings')).body;
    await agentApi(page, 'PUT', '/api/v1/settings', { ...s, popOrder: ['ani', 'new_contact'] });
    await waitCti(page, 'isInConsole');
    await server.sim('POST', '/calls', { from: '+14155550199', to: '1001' });
    const pop = await waitCti(page, 'screenPop');
    assert.equal(pop.args.url, `/003/e?con10=${encodeURIComponent('+14155550199')}`);
    await btn(frame, 'Answer call').click();
    await finishCall(frame);
    await agentApi(page, 'PUT', '/api/v1/settings', s);
    await context.close();
  });

  it('dials a number clicked in Salesforce (cti.onClickToDial)', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', classic());
    await waitCti(page, 'onClickToDial');
    assert.equal(await page.evaluate(() => window.clickToDial({ number: '+14155550123', recordId: '003x', recordName: 'Lucy Hall' })), true);
    await btn(frame, 'Clear call').waitFor();
    assert.equal((await simCalls(server, '+14155550123')).length, 1);
    await finishCall(frame);
    await context.close();
  });

  it('works with the demo stand-in interaction.js and a postMessage host', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular2, query: { mode: 'classic' } });
    await waitCti(page, 'onClickToDial');
    const init = await ctiCalls(page);
    assert.ok(init.every((c) => c.apiType === 'interaction'));
    await server.sim('POST', '/calls', { from: '+14155550123', to: '1002' });
    const pop = await waitCti(page, 'screenPop');
    assert.match(pop.args.url, /^\/003/);
    await btn(frame, 'Answer call').click();
    await finishCall(frame);
    await context.close();
  });
});

describe('Lightning click-to-dial', () => {
  it('dials a number clicked in Salesforce (onClickToDial listener)', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular3 });
    await waitCti(page, 'onClickToDial');
    assert.equal(await page.evaluate(() => window.clickToDial({ number: '+14155550188', recordId: '00Qx', recordName: 'Jordan Lee', objectType: 'Lead' })), true);
    await btn(frame, 'Clear call').waitFor();
    assert.equal((await simCalls(server, '+14155550188')).length, 1);
    await finishCall(frame);
    await context.close();
  });
});

describe('standalone', () => {
  it('works with no Open CTI when opened bare at /softphone/', async () => {
    const context = await browser.newContext();
    await context.addCookies([{ name: 'fakeorg_sid', value: USERS.regular3, url: `${server.base}/demo-org/` }]);
    const page = await context.newPage();
    await page.goto(`${server.base}/softphone/`);
    await page.getByRole('button', { name: 'Settings', exact: true }).waitFor();
    assert.equal(await page.locator('script[src*="/support/api/"]').count(), 0);
    await server.sim('POST', '/calls', { from: '+14155550123', to: '1003' });
    await page.getByRole('button', { name: 'Answer call', exact: true }).click();
    // quick notes still come from the adapter's call center definition
    await page.getByRole('button', { name: 'Quick notes', exact: true }).click();
    await page.getByRole('menuitem', { name: 'Left voicemail' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Clear call', exact: true }).click();
    await page.getByRole('button', { name: 'Wrap up call', exact: true }).click();
    await page.getByRole('button', { name: 'All calls', exact: true }).waitFor();
    await context.close();
  });

  it('ignores an Open CTI origin that is not Salesforce’s or its own', async () => {
    const context = await browser.newContext();
    await context.addCookies([{ name: 'fakeorg_sid', value: USERS.regular3, url: `${server.base}/demo-org/` }]);
    const page = await context.newPage();
    const asked = [];
    page.on('request', (r) => { if (new URL(r.url()).hostname === 'evil.example') asked.push(r.url()); });
    await page.goto(`${server.base}/softphone/?mode=Lightning&sfdcIframeOrigin=${encodeURIComponent('https://evil.example')}`);
    await page.getByRole('button', { name: 'Settings', exact: true }).waitFor();
    assert.deepEqual(asked, []);
    await context.close();
  });
});
