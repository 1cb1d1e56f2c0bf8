// Sign-in and the live connection, cross-site as in Salesforce: third-party
// storage blocked, partitioned storage, a rejected token, a blocked popup,
// WebSocket reconnect with resync.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, launchProfile, openHost, newContext, signInToOrg, serveHosts, signedIn, waitCti, finishCall, USERS } from './harness.js';

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
  // Third-party cookies blocked (cookie_controls_mode 1) and the
  // ThirdPartyStoragePartitioning feature off: in the cross-site frame
  // sessionStorage and localStorage throw SecurityError.
  it('starts and signs in with third-party cookies and storage blocked, and asks for one click after a reload', async () => {
    const context = await launchProfile(1, { storage: 'blocked' });
    try {
      await signInToOrg(context, server, USERS.regular2);
      const page = context.pages()[0] || await context.newPage();
      await serveHosts(page, server);
      await page.goto(`${server.org}/__test/host.html?${new URLSearchParams({ softphone: server.softphone })}`);
      const frame = page.frameLocator('#softphone');
      await btn(frame, 'Sign in').waitFor();
      const sp = page.frame({ url: /\/softphone\// });
      assert.equal(await sp.evaluate(() => { try { sessionStorage.getItem('x'); return 'ok'; } catch (e) { return e.name; } }), 'SecurityError');
      // Open CTI is up before the sign-in: Salesforce shows no standby page.
      await waitCti(page, 'notifyInitializationComplete');
      const popup = page.waitForEvent('popup');
      await btn(frame, 'Sign in').click();
      assert.match((await popup).url(), new RegExp(`^${server.softphone}/`), 'a first-party popup on the softphone’s site');
      await btn(frame, 'Settings').waitFor();
      assert.ok(!page.frame({ url: /\/softphone\// }).url().includes('token'));
      // The token is in memory only: a reload asks for one click again.
      await page.reload();
      await btn(frame, 'Sign in').waitFor();
      assert.equal(await frame.getByText('Starting…').count(), 0);
      await signedIn(page);
      await btn(frame, 'Settings').waitFor();
    } finally {
      await context.close();
    }
  });

  // Storage partitioned (Chrome's default): the frame's sessionStorage
  // works, kept under the org's site, so once signed in (silently or with
  // the popup) a reload needs no click; a rejected token is dropped and
  // the sign-in runs again, with no loop.
  it('signs in with partitioned storage: no click after a reload, signs in again when the token is rejected', async () => {
    const context = await launchProfile(1, { storage: 'partitioned' });
    try {
      await signInToOrg(context, server, USERS.regular3);
      const page = context.pages()[0] || await context.newPage();
      await serveHosts(page, server);
      await page.goto(`${server.org}/__test/host.html?${new URLSearchParams({ softphone: server.softphone })}`);
      const frame = page.frameLocator('#softphone');
      await signedIn(page);
      const sp = () => page.frame({ url: /\/softphone\// });
      const first = await sp().evaluate(() => sessionStorage.getItem('switchboard.session'));
      assert.ok(first, 'kept in the partitioned sessionStorage');
      await page.reload();
      await btn(frame, 'Settings').waitFor();
      assert.equal(await btn(frame, 'Sign in').count(), 0, 'no click after a reload');
      await sp().evaluate(() => sessionStorage.setItem('switchboard.session', 'not-a-token'));
      await page.reload();
      await signedIn(page);
      assert.ok(!sp().url().includes('token'));
      const now = await sp().evaluate(() => sessionStorage.getItem('switchboard.session'));
      assert.ok(now && now !== 'not-a-token');
    } finally {
      await context.close();
    }
  });

  it('says what to do when the sign-in window is blocked', async () => {
    const context = await newContext(browser, server, { user: USERS.regular3 });
    await context.addInitScript(() => { if (location.pathname.startsWith('/softphone/')) window.open = () => null; });
    const { frame } = await openHost(browser, server, 'host', { context, wait: false });
    await btn(frame, 'Sign in').click();
    await frame.getByText('The sign-in window was blocked: allow pop-ups for this site and try again.').waitFor();
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
