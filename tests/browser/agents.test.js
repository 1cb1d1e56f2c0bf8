// Hot-desk users and ACD agents: phone log-in and Log out, queue calls with
// queue name and collected digits, account and classification codes, the
// work timer and its cancel button.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openHost, agentApi, shot, USERS } from './harness.js';

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

describe('hot-desk user', () => {
  it('logs in to the phone with a PIN (a wrong one is refused inline) and logs out', async () => {
    const { frame, context } = await openHost(browser, server, 'host', { user: USERS.hotdesk });
    await frame.getByRole('heading', { name: 'Log in to a hot desk phone' }).waitFor();
    assert.equal(await frame.getByRole('textbox', { name: 'Extension' }).inputValue(), '2001');
    await frame.getByLabel('PIN').fill('9999');
    await btn(frame, 'Log in').click();
    await frame.getByRole('alert').waitFor();
    assert.equal(await frame.getByLabel('PIN').inputValue(), '9999', 'what was typed stays');
    await frame.getByLabel('PIN').fill('1234');
    await btn(frame, 'Log in').click();
    await btn(frame, 'Log out').waitFor();
    await btn(frame, 'Make call').waitFor();
    await server.sim('POST', '/calls', { from: '+14155550123', to: '2001' });
    await btn(frame, 'Answer call').click();
    await btn(frame, 'Clear call').click();
    await btn(frame, 'Wrap up call').click();
    await btn(frame, 'Log out').click();
    await frame.getByRole('heading', { name: 'Log in to a hot desk phone' }).waitFor();
    await context.close();
  });
});

describe('ACD agent', () => {
  it('logs in, takes a queue call with codes, and cancels the work timer once classified', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.acd });
    await frame.getByRole('heading', { name: 'Log in as an ACD agent' }).waitFor();
    await frame.getByRole('textbox', { name: 'Agent ID' }).fill('5001');
    await btn(frame, 'Log in').click();
    await btn(frame, 'Log out').waitFor();
    assert.equal(await frame.locator('.agent .ic path').getAttribute('d') !== null, true);
    assert.ok(await frame.locator('button.agent').evaluate((b) => b.innerHTML.includes('M4 14v-2a8 8 0 0 1 16 0v2')), 'headset icon for ACD agents');
    // Make Busy with a reason code
    await btn(frame, 'Agent status').click();
    await frame.getByRole('menuitemradio', { name: 'Make Busy: Break' }).click();
    await frame.locator('.agent.busy').waitFor();
    await btn(frame, 'Agent status').click();
    await frame.getByRole('menuitemradio', { name: 'Available' }).click();
    await frame.locator('.agent.free').waitFor();

    await server.sim('POST', '/calls', { from: '+14155550123', to: '+18005550100', digits: '42' });
    await btn(frame, 'Answer call').click();
    const info = frame.locator('dl.info');
    await info.getByText('Support').waitFor();
    await info.getByText('42').waitFor();
    await frame.getByRole('combobox', { name: 'Account code' }).selectOption('100');
    await btn(frame, 'Clear call').click();
    await btn(frame, 'Wrap up call').waitFor();
    await frame.getByRole('group', { name: 'Work timer' }).waitFor();
    await btn(frame, 'Cancel work timer').click();
    await frame.getByRole('alert').filter({ hasText: 'classification code' }).waitFor();
    await frame.getByRole('combobox', { name: 'Classification code' }).selectOption('SUPPORT');
    await frame.locator('.timer').waitFor();
    await shot(page, 'post-call-acd');
    for (let i = 0; i < 50; i++) {
      const st = (await agentApi(page, 'GET', '/api/v1/state')).body;
      if (!st.device.classificationPending) break;
      await new Promise((r) => setTimeout(r, 100)); // the switch applies the code
    }
    await btn(frame, 'Cancel work timer').click();
    await frame.getByRole('group', { name: 'Work timer' }).waitFor({ state: 'detached' });
    await btn(frame, 'Wrap up call').click();
    await btn(frame, 'Log out').click();
    await frame.getByRole('heading', { name: 'Log in as an ACD agent' }).waitFor();
    await context.close();
  });
});
