// The demo page at /: it plays Salesforce around the real softphone.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, newContext, screenshots } from './harness.js';

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

describe('demo page', () => {
  it('places a call to the agent, shows the pop and the Task, and click-to-dials a record', async () => {
    const context = await newContext(browser, server);
    const page = await context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${server.base}/`);
    const phone = page.frameLocator('#softphone');
    await phone.getByRole('button', { name: 'Settings', exact: true }).waitFor();
    assert.equal(await page.locator('#softphone').evaluate((f) => new URL(f.src).searchParams.get('mode')), 'Lightning');
    await page.getByRole('button', { name: 'Known contact (Lucy Hall)' }).click();
    await phone.getByText('Lucy Hall', { exact: true }).first().waitFor(); // the caller's name while it rings
    await phone.getByRole('button', { name: 'Answer call', exact: true }).click();
    await page.locator('#popped li').first().waitFor();
    await page.locator('#cti-log').getByText(/screenPop/).first().waitFor();
    await phone.getByRole('textbox', { name: 'Notes' }).fill('Demo call');
    await phone.getByRole('button', { name: 'Clear call', exact: true }).click();
    await phone.getByRole('button', { name: 'Wrap up call', exact: true }).click();
    await page.locator('#tasks tbody').getByText('Demo call', { exact: false }).waitFor({ timeout: 20_000 });
    // the Task shows the record's name, not its id, and the table fits 1280 px
    await page.locator('#tasks tbody').getByRole('cell', { name: 'Lucy Hall (Contact)' }).waitFor();
    const fits = await page.locator('#tasks').evaluate((t) => t.getBoundingClientRect().right <= document.documentElement.clientWidth && t.parentElement.scrollWidth <= t.parentElement.clientWidth);
    assert.ok(fits, 'the Tasks table fits 1280 px');
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, 'demo.png') });
    // click-to-dial from a record on the page
    await page.locator('#records').getByRole('button', { name: /\+14155550123/ }).click();
    await phone.getByRole('button', { name: 'Clear call', exact: true }).click();
    const wrap = phone.getByRole('button', { name: 'Wrap up call', exact: true });
    const idle = phone.getByRole('button', { name: 'All calls', exact: true });
    await wrap.or(idle).first().waitFor();
    if (await wrap.isVisible()) await wrap.click();
    await context.close();
  });

  it('says where an ACD queue call went and how to log an agent in', async () => {
    const context = await newContext(browser, server);
    const page = await context.newPage();
    await page.goto(`${server.base}/`);
    await page.frameLocator('#softphone').getByRole('button', { name: 'Settings', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Call to the ACD queue' }).click();
    await page.locator('#call-status').getByText(/ACD agents logged in: none/).waitFor();
    await page.locator('#call-status').getByText(/log in with agent ID 5001/).waitFor();
    await context.close();
  });

  it('works when opened as localhost while the server listens on 127.0.0.1 with SWITCHBOARD_PUBLIC_URL on 127.0.0.1', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const seen = [];
    page.on('framenavigated', (f) => { if (f.url().startsWith('http')) seen.push(new URL(f.url()).host); });
    await page.goto(`http://localhost:${server.port}/`);
    const phone = page.frameLocator('#softphone');
    await phone.getByRole('button', { name: 'Settings', exact: true }).waitFor();
    await phone.getByText('Alex Agent').waitFor(); // the demo org signs its default user in
    assert.deepEqual([...new Set(seen)], [`localhost:${server.port}`], 'the sign-in never left the host name the page was opened by');
    await context.close();
  });

  for (const mode of ['classic', 'console']) {
    it(`loads the softphone the ${mode === 'classic' ? 'Classic' : 'Console'} way with the interaction.js stand-in`, async () => {
      const context = await newContext(browser, server);
      const page = await context.newPage();
      await page.goto(`${server.base}/?mode=${mode}`);
      const phone = page.frameLocator('#softphone');
      await phone.getByRole('button', { name: 'Settings', exact: true }).waitFor();
      const src = await page.locator('#softphone').evaluate((f) => new URL(f.src).searchParams);
      assert.ok(await page.locator('#softphone').evaluate((f) => new URL(f.src).searchParams.has('sfdcIFrameOrigin')), String(src));
      await page.locator('#cti-log').getByText(/onClickToDial/).waitFor();
      await page.locator('#cti-log').getByText(/isInConsole/).waitFor();
      await context.close();
    });
  }
});
