// Call action and post-call states, in a Lightning host, driven by the PBX
// simulator: ringing with screen pop, answer, hold / retrieve, DTMF,
// transfer (supervised and unsupervised), conference, redirect, matches,
// notes, quick notes, wrap-up actions, one pop per call across tabs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openHost, reload, newContext, ctiCalls, waitCti, agentApi, finishCall, simCalls, shot, USERS } from './harness.js';

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

async function tasks() {
  const r = await fetch(`${server.base}/demo/api/tasks`);
  return (await r.json()).tasks;
}

async function waitTask(callObject) {
  for (let i = 0; i < 100; i++) {
    const t = (await tasks()).find((x) => x.CallObject === callObject);
    if (t) return t;
    await new Promise((r) => setTimeout(r, 100)); // polling the demo org, no event to wait on
  }
  throw new Error(`no Task for ${callObject}`);
}

describe('call action in Lightning', () => {
  it('rings with the caller, DNIS, Answer and Redirect; pops the Contact and opens the closed panel', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', { query: { visible: '0' } });
    await waitCti(page, 'onClickToDial');
    await server.sim('POST', '/calls', { from: LUCY, to: '1001', dnis: '+18005550100' });
    await btn(frame, 'Answer call').waitFor();
    await btn(frame, 'Redirect call').waitFor();
    await frame.getByText('Lucy Hall').first().waitFor();
    await frame.locator('dl.info').getByText('+18005550100').waitFor();
    await frame.getByRole('status').filter({ hasText: 'Ringing' }).waitFor();
    await waitCti(page, 'setSoftphonePanelVisibility', '"visible":true');
    const pop = await waitCti(page, 'screenPop');
    assert.equal(pop.args.type, 'sobject');
    assert.match(pop.args.params.recordId, /^003/);
    await page.waitForFunction(() => window.panelVisible);
    await shot(page, 'ringing');
    await btn(frame, 'Answer call').click();
    await frame.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
    await frame.locator('[data-since]').filter({ hasText: /^0:0[1-9]/ }).waitFor();
    assert.equal((await ctiCalls(page, 'screenPop')).length, 1, 'popped once');
    await finishCall(frame);
    await context.close();
  });

  it('holds and retrieves, and sends DTMF from the dial pad', async () => {
    const { frame, context } = await openHost(browser, server, 'host');
    const id = (await server.sim('POST', '/calls', { from: LUCY, to: '1001' })).id;
    await btn(frame, 'Answer call').click();
    await btn(frame, 'Hold call').click();
    await frame.getByRole('status').filter({ hasText: 'On hold' }).waitFor();
    assert.equal(await btn(frame, 'Transfer call').count(), 0, 'a held call must be retrieved first');
    await btn(frame, 'Retrieve call').click();
    await frame.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
    await btn(frame, 'Dial pad').click();
    await btn(frame, 'Key 4').click();
    await btn(frame, 'Key #').click();
    assert.equal(await frame.getByRole('alert').count(), 0);
    const call = await server.sim('GET', `/calls/${id}`);
    assert.equal(call.parties.find((p) => p.number === '1001').state, 'connected');
    await btn(frame, 'Dial pad').click();
    await finishCall(frame);
    await context.close();
  });

  it('transfers supervised: Transfer, dial, talk, Transfer again', async () => {
    const { frame, context } = await openHost(browser, server, 'host');
    await server.sim('PUT', `/numbers/${encodeURIComponent('+14155550777')}`, { answerAfter: '0s' });
    const id = (await server.sim('POST', '/calls', { from: LUCY, to: '1001' })).id;
    await btn(frame, 'Answer call').click();
    await btn(frame, 'Transfer call').click();
    // an empty target is refused inline
    await btn(frame, 'Transfer call').click();
    await frame.getByRole('alert').filter({ hasText: 'Enter a name or number to transfer to.' }).waitFor();
    await frame.getByRole('searchbox', { name: 'Search' }).fill('+14155550777');
    await btn(frame, 'Make call').click();
    await frame.locator('.others').getByText('Consultation hold').waitFor();
    await frame.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
    await btn(frame, 'Transfer call').click();
    await btn(frame, 'Wrap up call').waitFor();
    const call = await server.sim('GET', `/calls/${id}`);
    assert.deepEqual(call.parties.filter((p) => p.state === 'connected').map((p) => p.number).sort(), ['+14155550123', '+14155550777']);
    await btn(frame, 'Wrap up call').click();
    await context.close();
  });

  it('transfers unsupervised: Transfer, dial, hang up before the answer', async () => {
    const { frame, context } = await openHost(browser, server, 'host');
    await server.sim('PUT', `/numbers/${encodeURIComponent('+14155550778')}`, { answerAfter: '30s' });
    await server.sim('POST', '/calls', { from: LUCY, to: '1001' });
    await btn(frame, 'Answer call').click();
    await btn(frame, 'Transfer call').click();
    await frame.getByRole('searchbox', { name: 'Search' }).fill('+14155550778');
    await btn(frame, 'Make call').click();
    await frame.getByRole('status').filter({ hasText: 'Calling…' }).waitFor();
    await btn(frame, 'Clear call').click();
    await btn(frame, 'Wrap up call').waitFor();
    const left = (await simCalls(server, '+14155550778'));
    assert.equal(left.length, 1);
    assert.ok(left[0].parties.some((p) => p.number === LUCY && p.state === 'connected'));
    assert.ok(!left[0].parties.some((p) => p.number === '1001' && p.state !== 'disconnected'));
    await btn(frame, 'Wrap up call').click();
    await context.close();
  });

  it('conferences a third party and lists the participants with their status', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host');
    await server.sim('PUT', `/numbers/${encodeURIComponent('+14155550779')}`, { answerAfter: '0s' });
    await server.sim('POST', '/calls', { from: LUCY, to: '1001' });
    await btn(frame, 'Answer call').click();
    await btn(frame, 'Conference').click();
    await frame.getByRole('searchbox', { name: 'Search' }).fill('+14155550779');
    await btn(frame, 'Make call').click();
    await frame.locator('.others').getByText('Consultation hold').waitFor();
    await frame.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
    await btn(frame, 'Conference').click();
    const list = frame.getByRole('list', { name: 'Participants' });
    await list.getByText('Lucy Hall').or(list.getByText(LUCY)).first().waitFor();
    await list.getByText('+14155550779').waitFor();
    assert.equal(await list.getByText('Connected').count(), 2);
    await shot(page, 'active-conference');
    await finishCall(frame);
    await context.close();
  });

  it('answers a second call that rings while the agent talks', async () => {
    const { frame, context } = await openHost(browser, server, 'host', { user: USERS.regular2 });
    await server.sim('POST', '/calls', { from: LUCY, to: '1002' });
    await btn(frame, 'Answer call').click();
    await btn(frame, 'Hold call').waitFor();
    await server.sim('POST', '/calls', { from: '+14155550188', to: '1002' });
    const waiting = frame.locator('.others li').filter({ hasText: 'Ringing' });
    await waiting.getByRole('button', { name: 'Answer call' }).click();
    await frame.locator('.others').getByText('On hold').waitFor();
    await frame.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
    await frame.locator('.call .nm').filter({ hasText: 'Jordan Lee' }).waitFor();
    await btn(frame, 'Clear call').click();
    // back to the held caller
    await frame.locator('.call .nm').filter({ hasText: 'Lucy Hall' }).waitFor();
    await btn(frame, 'Retrieve call').click();
    await finishCall(frame);
    await context.close();
  });

  it('redirects a ringing call without answering it', async () => {
    const { frame, context } = await openHost(browser, server, 'host');
    const id = (await server.sim('POST', '/calls', { from: LUCY, to: '1001' })).id;
    await btn(frame, 'Redirect call').click();
    await btn(frame, 'Redirect call').click();
    await frame.getByRole('alert').filter({ hasText: 'Enter a name or number to redirect the call to.' }).waitFor();
    await frame.getByRole('searchbox', { name: 'Search' }).fill('1002');
    await btn(frame, 'Make call').click();
    await btn(frame, 'All calls').waitFor();
    const call = await server.sim('GET', `/calls/${id}`);
    assert.ok(call.parties.some((p) => p.number === '1002' && p.state === 'alerting'));
    await server.sim('POST', `/calls/${id}/hangup`);
    await context.close();
  });

  it('pops a New Contact with the phone prefilled for an unknown caller', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host');
    const s = (await agentApi(page, 'GET', '/api/v1/settings')).body;
    await agentApi(page, 'PUT', '/api/v1/settings', { ...s, popOrder: ['ani', 'dnis', 'digits', 'new_contact'] });
    await server.sim('POST', '/calls', { from: '+14155550199', to: '1001' });
    const pop = await waitCti(page, 'screenPop');
    assert.equal(pop.args.type, 'newRecord');
    assert.equal(pop.args.params.entityName, 'Contact');
    assert.equal(pop.args.params.defaultFieldValues.Phone, '+14155550199');
    await btn(frame, 'Answer call').click();
    await finishCall(frame);
    await context.close();
  });

  it('lists several matching records; the agent picks the caller and the Task goes to that record', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host');
    const id = (await server.sim('POST', '/calls', { from: '+14155550142', to: '1001' })).id;
    await frame.getByText('2 records match this number: pick the caller.').first().waitFor();
    const pop = await waitCti(page, 'screenPop');
    assert.equal((await ctiCalls(page, 'screenPop')).length, 1, 'Lightning pops the first match');
    await btn(frame, 'Answer call').click();
    const riley = frame.getByRole('button', { name: /Riley Patel/ });
    await riley.click();
    assert.equal(await riley.getAttribute('aria-pressed'), 'true');
    const popRiley = await page.waitForFunction(() => window.ctiCalls.filter((c) => c.methodName === 'screenPop').length === 2);
    assert.ok(popRiley);
    const rileyId = (await ctiCalls(page, 'screenPop'))[1].args.params.recordId;
    assert.notEqual(rileyId, pop.args.params.recordId);
    await frame.locator('.notes .saved').filter({ hasText: 'Saved' }).waitFor();
    await finishCall(frame);
    const task = await waitTask(id);
    assert.equal(task.WhoId, rileyId);
    await context.close();
  });

  it('takes call notes and quick notes, and wraps up with a configured action', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host');
    const id = (await server.sim('POST', '/calls', { from: LUCY, to: '1001' })).id;
    await btn(frame, 'Answer call').click();
    await frame.getByRole('textbox', { name: 'Notes' }).fill('Asked about the invoice.');
    await btn(frame, 'Quick notes').click();
    await frame.getByRole('menuitem', { name: 'Call back requested' }).click();
    await frame.locator('.chips').getByText('Call back requested').waitFor();
    await btn(frame, 'Clear call').click();
    await frame.getByRole('region', { name: 'Call complete' }).waitFor();
    assert.equal(await frame.getByRole('textbox', { name: 'Notes' }).inputValue(), 'Asked about the invoice.');
    await frame.getByRole('textbox', { name: 'Notes' }).fill('Asked about the invoice. Will call back.');
    await shot(page, 'post-call');
    await btn(frame, 'Wrap-up actions').click();
    await frame.getByRole('menuitem', { name: 'Save & Exit' }).waitFor();
    await frame.getByRole('menuitem', { name: 'Follow-up call' }).click();
    await btn(frame, 'All calls').waitFor();
    let task;
    for (let i = 0; i < 100 && !(task && task.CallDisposition); i++) {
      task = await waitTask(id);
      if (!task.CallDisposition) await new Promise((r) => setTimeout(r, 100)); // the outbox updates the Task
    }
    assert.equal(task.CallDisposition, 'Follow-up call');
    assert.match(task.Description, /Will call back\./);
    assert.match(task.Description, /Call back requested/);
    await context.close();
  });

  it('pops at answer when the agent chose Pop-Up at Answered', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular2 });
    const s = (await agentApi(page, 'GET', '/api/v1/settings')).body;
    await agentApi(page, 'PUT', '/api/v1/settings', { ...s, popAt: 'answered' });
    await reload(page);
    await frame.locator('header.top').waitFor();
    await server.sim('POST', '/calls', { from: LUCY, to: '1002' });
    await btn(frame, 'Answer call').waitFor();
    await waitCti(page, 'setSoftphonePanelVisibility').catch(() => {});
    assert.equal((await ctiCalls(page, 'screenPop')).length, 0, 'no pop while ringing');
    await btn(frame, 'Answer call').click();
    await waitCti(page, 'screenPop');
    await finishCall(frame);
    await agentApi(page, 'PUT', '/api/v1/settings', { ...s, popAt: 'ringing' });
    await context.close();
  });

  it('pops a call in one tab only, and a reload shows the same call without popping again', async () => {
    const context = await newContext(browser, server, { user: USERS.regular3 });
    const a = await openHost(browser, server, 'host', { context });
    const b = await openHost(browser, server, 'host', { context });
    await server.sim('POST', '/calls', { from: LUCY, to: '1003' });
    await btn(a.frame, 'Answer call').waitFor();
    await btn(b.frame, 'Answer call').waitFor();
    await Promise.race([waitCti(a.page, 'screenPop'), waitCti(b.page, 'screenPop')]);
    await a.page.bringToFront();
    await btn(a.frame, 'Answer call').click();
    await b.page.bringToFront();
    await btn(b.frame, 'Clear call').waitFor();
    const pops = (await ctiCalls(a.page, 'screenPop')).length + (await ctiCalls(b.page, 'screenPop')).length;
    assert.equal(pops, 1);
    await b.frame.getByRole('textbox', { name: 'Notes' }).fill('typed in tab B');
    await b.frame.locator('.notes .saved').filter({ hasText: 'Saved' }).waitFor();
    await a.page.bringToFront();
    await reload(a.page);
    await btn(a.frame, 'Clear call').waitFor();
    assert.equal(await a.frame.getByRole('textbox', { name: 'Notes' }).inputValue(), 'typed in tab B');
    assert.equal((await ctiCalls(a.page, 'screenPop')).length, 0, 'no pop after the reload');
    await finishCall(a.frame);
    await btn(b.frame, 'All calls').waitFor();
    await context.close();
  });

  it('keeps a call ended when a resync started before the end answers after it', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular2 });
    const { id } = await server.sim('POST', '/calls', { from: LUCY, to: '1002' });
    await btn(frame, 'Answer call').click();
    await btn(frame, 'Hold call').waitFor();
    // The resync's state is read while the call is up, and reaches the
    // softphone only after the pushes of its end (as after a refused
    // command racing the caller's hang-up).
    let read, release;
    const stateRead = new Promise((r) => { read = r; });
    const answer = new Promise((r) => { release = r; });
    await page.route('**/api/v1/state', async (route) => {
      // fetched from here, where only 127.0.0.1 resolves
      const response = await route.fetch({ url: route.request().url().replace(server.softphone, server.base) });
      read();
      await answer;
      await route.fulfill({ response });
    });
    const sp = page.frame({ url: /\/softphone\// });
    const resynced = sp.evaluate(async () => (await import('/softphone/js/live.js')).resync());
    await stateRead;
    await server.sim('POST', `/calls/${id}/hangup`);
    await btn(frame, 'Wrap up call').waitFor();
    release();
    await resynced;
    await page.unrouteAll();
    assert.equal(await btn(frame, 'Clear call').count(), 0, 'the older state did not bring the call back');
    await finishCall(frame);
    await context.close();
  });

  it('offers browser alerts after the first click, never on load', async () => {
    const context = await newContext(browser, server, { user: USERS.regular2, askAlerts: true });
    await context.addInitScript(() => {
      if (!location.pathname.startsWith('/softphone/')) return;
      window.__asked = 0;
      window.Notification = class {};
      window.Notification.permission = 'default';
      window.Notification.requestPermission = async () => { window.__asked++; return 'granted'; };
    });
    const { frame } = await openHost(browser, server, 'host', { context });
    await btn(frame, 'All calls').waitFor();
    const offer = frame.getByRole('region', { name: 'Get a browser alert when a call rings while the softphone is hidden?' });
    assert.equal(await offer.count(), 0, 'nothing on load');
    await btn(frame, 'All calls').click();
    await offer.waitFor();
    assert.equal(await frame.locator('header.top').evaluate(() => window.__asked), 0, 'the browser prompt only follows a yes');
    await offer.getByRole('button', { name: 'Turn on alerts' }).click();
    await offer.waitFor({ state: 'detached' });
    assert.equal(await frame.locator('header.top').evaluate(() => window.__asked), 1);
    await context.close();
  });

  it('shows a browser alert for a call ringing while the softphone is hidden', async () => {
    const context = await newContext(browser, server, { user: USERS.regular2 });
    await context.grantPermissions(['notifications'], { origin: server.softphone });
    await context.addInitScript(() => {
      if (!location.pathname.startsWith('/softphone/')) return;
      Object.defineProperty(document, 'hidden', { get: () => true });
      Object.defineProperty(document, 'visibilityState', { get: () => 'hidden' });
      window.__alerts = [];
      window.Notification = class { constructor(title, opts) { window.__alerts.push({ title, body: opts.body }); } close() {} };
      window.Notification.permission = 'granted';
    });
    const { page, frame } = await openHost(browser, server, 'host', { context });
    await server.sim('POST', '/calls', { from: LUCY, to: '1002' });
    await btn(frame, 'Answer call').waitFor();
    // The call rings at once and its Salesforce matches follow: the alert
    // waits for them to name the caller.
    const sp = page.frame({ url: /\/softphone\// });
    await sp.waitForFunction(() => window.__alerts.length > 0);
    assert.deepEqual(await sp.evaluate(() => window.__alerts), [{ title: 'Incoming call', body: 'Lucy Hall is calling' }]);
    await btn(frame, 'Answer call').click();
    await finishCall(frame);
    await context.close();
  });
});
