// Sign-in and the live connection: redirect sign-in, the loop guard and
// popup sign-in, a rejected token, WebSocket reconnect with resync.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openHost, newContext, finishCall, USERS } from './harness.js';

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

describe('session', () => {
  it('keeps the token in sessionStorage, never in the URL, and signs in again when it is rejected', async () => {
    const { page, frame, context } = await openHost(browser, server, 'host', { user: USERS.regular2 });
    const sp = page.frame({ url: /\/softphone\// });
    assert.ok(await sp.evaluate(() => sessionStorage.getItem('switchboard.session')));
    assert.ok(!sp.url().includes('token'));
    await sp.evaluate(() => sessionStorage.setItem('switchboard.session', 'not-a-token'));
    const back = page.waitForEvent('framenavigated', (f) => f.url().includes('/auth/callback'));
    await sp.evaluate(() => location.reload());
    await back;
    await btn(frame, 'Settings').waitFor();
    assert.notEqual(await page.frame({ url: /\/softphone\// }).evaluate(() => sessionStorage.getItem('switchboard.session')), 'not-a-token');
    await context.close();
  });

  it('offers a Sign in button instead of looping when the redirect sign-in fails, and signs in in a popup', async () => {
    const context = await newContext(browser, server, { user: USERS.regular3 });
    // The first sign-in comes back without a token (as a refused sign-in does).
    await context.route(`${server.base}/auth/login**`, (route) => {
      const ret = new URL(route.request().url()).searchParams.get('return');
      route.fulfill({ status: 302, headers: { Location: ret } });
    });
    const { page, frame } = await openHost(browser, server, 'host', { context, wait: false });
    await btn(frame, 'Sign in').waitFor();
    await context.unroute(`${server.base}/auth/login**`);
    const popup = page.waitForEvent('popup');
    await btn(frame, 'Sign in').click();
    await (await popup).waitForEvent('close');
    await btn(frame, 'Settings').waitFor();
    await context.close();
  });

  it('reconnects the WebSocket with backoff and resyncs what happened meanwhile', async () => {
    const context = await newContext(browser, server, { user: USERS.regular3 });
    const sockets = [];
    await context.routeWebSocket(/\/api\/v1\/ws$/, (ws) => {
      const srv = ws.connectToServer();
      sockets.push({ ws, srv });
    });
    const { frame } = await openHost(browser, server, 'host', { context });
    assert.equal(sockets.length, 1);
    sockets[0].ws.close();
    sockets[0].srv.close();
    await frame.getByText('Connection lost: reconnecting…').waitFor();
    await server.sim('POST', '/calls', { from: '+14155550123', to: '1003' });
    await btn(frame, 'Answer call').waitFor();
    assert.equal(sockets.length, 2);
    await btn(frame, 'Answer call').click();
    await finishCall(frame);
    await context.close();
  });
});
