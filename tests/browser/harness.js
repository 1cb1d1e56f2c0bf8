// Test harness: builds and starts Switchboard in demo mode on a free port,
// launches Debian's headless Chromium through playwright-core, and offers
// host pages that play Salesforce's side of Open CTI around the softphone.

import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync, existsSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, '..', '..');
export const screenshots = join(repo, 'docs', 'screenshots');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * binary returns SWITCHBOARD_BIN or a build of ./cmd/switchboard. The test
 * files of one `node --test` run share the build: the first to take the
 * lock (an atomic mkdir) builds, the others wait for the binary.
 */
export async function binary() {
  if (process.env.SWITCHBOARD_BIN) return process.env.SWITCHBOARD_BIN;
  const dir = join(tmpdir(), `switchboard-browser-tests-${process.ppid}`);
  const bin = join(dir, 'switchboard');
  if (existsSync(bin)) return bin;
  try {
    mkdirSync(dir);
  } catch {
    const deadline = Date.now() + 300_000;
    while (!existsSync(bin)) {
      if (Date.now() > deadline) throw new Error(`no switchboard build appeared at ${bin}`);
      await new Promise((r) => setTimeout(r, 200)); // another test file is building
    }
    return bin;
  }
  execFileSync('go', ['build', '-o', `${bin}.tmp`, './cmd/switchboard'], { cwd: repo, stdio: 'inherit' });
  renameSync(`${bin}.tmp`, bin);
  return bin;
}

/** startServer runs Switchboard in demo mode and resolves once /healthz answers 200. */
export async function startServer() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(await binary(), [], {
    env: { ...process.env, SWITCHBOARD_ADDR: `127.0.0.1:${port}`, SWITCHBOARD_PUBLIC_URL: base, SWITCHBOARD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (b) => { stderr = (stderr + b).slice(-4000); });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const reap = () => proc.kill('SIGKILL');
  process.on('exit', reap); // even when a test run is interrupted
  const deadline = Date.now() + 30_000;
  for (;;) {
    const code = proc.exitCode;
    if (code !== null) throw new Error(`switchboard exited with ${code}: ${stderr}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      proc.kill();
      throw new Error(`switchboard did not become healthy: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100)); // polling the health check, not waiting for an event
  }
  return {
    base,
    async stop() {
      process.off('exit', reap);
      proc.kill('SIGTERM');
      await exited;
    },
    /** sim calls the PBX simulator's control API. */
    async sim(method, path, body) {
      const r = await fetch(`${base}/sim/v1${path}`, {
        method, headers: { 'Content-Type': 'application/json' }, body: body && JSON.stringify(body),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`sim ${method} ${path}: ${r.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
  };
}

/** USERS are demo org users by kind of phone (see salesforce/fakeorg/seed.go). */
export const USERS = {
  regular: 'alex.agent@demo.switchboard', // 1001
  regular2: 'blair.baker@demo.switchboard', // 1002
  regular3: 'casey.chen@demo.switchboard', // 1003
  hotdesk: 'dana.diaz@demo.switchboard', // 2001, PIN 1234
  acd: 'frankie.fox@demo.switchboard', // ACD set 3001
};

/**
 * newContext opens a browser context signed in to the demo org as user.
 * The softphone's offer of browser alerts is taken as already answered
 * unless askAlerts is set (it would sit in every screenshot).
 */
export async function newContext(browser, server, { user = USERS.regular, locale = 'en-US', askAlerts = false } = {}) {
  const context = await browser.newContext({ locale, viewport: { width: 900, height: 800 } });
  await context.addCookies([{ name: 'fakeorg_sid', value: user, url: `${server.base}/demo-org/` }]);
  if (!askAlerts) await context.addInitScript(() => localStorage.setItem('switchboard.notifyAsked', '1'));
  return context;
}

/** launch starts headless Chromium (Debian's package). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

const HOSTS = join(here, 'hosts');

/**
 * openHost opens a host page (tests/browser/hosts/<name>.html, served from
 * the switchboard origin through page.route) that frames the softphone.
 * opts: user (demo org username), locale, width (panel width), query
 * (host query: mode, console, visible, stub, path), classicStub (serve
 * classic-stub.js as interaction.js), context (reuse a browser context:
 * same storage as other tabs). Resolves once the softphone is signed in.
 */
export async function openHost(browser, server, name, opts = {}) {
  const context = opts.context || await newContext(browser, server, { user: opts.user, locale: opts.locale, askAlerts: opts.askAlerts });
  const page = await context.newPage();
  await page.route(`${server.base}/__test/**`, (route) => {
    const file = new URL(route.request().url()).pathname.replace('/__test/', '');
    route.fulfill({ status: 200, contentType: file.endsWith('.js') ? 'text/javascript' : 'text/html', body: readFileSync(join(HOSTS, file)) });
  });
  if (opts.classicStub) {
    await page.route(`${server.base}/support/api/*/interaction.js`, (route) => route.fulfill({
      status: 200, contentType: 'text/javascript', body: readFileSync(join(HOSTS, 'classic-stub.js')),
    }));
  }
  const q = new URLSearchParams({ width: String(opts.width || 300), ...(opts.query || {}) });
  await page.goto(`${server.base}/__test/${name}.html?${q}`);
  const frame = page.frameLocator('#softphone');
  if (opts.wait !== false) await frame.locator('header.top').waitFor();
  return { context, page, frame };
}

/** ctiCalls returns what the host recorded of the softphone's Open CTI calls. */
export const ctiCalls = (page, method) => page.evaluate((m) => window.ctiCalls.filter((c) => !m || c.methodName === m), method);

/**
 * agentApi calls the agent API from inside the softphone frame with its
 * session token (for test set-up: settings, favorites).
 */
export function agentApi(page, method, path, body) {
  const f = page.frame({ url: /\/softphone\// });
  return f.evaluate(async ([m, p, b]) => {
    const r = await fetch(p, {
      method: m,
      headers: { Authorization: `Bearer ${sessionStorage.getItem('switchboard.session')}`, 'Content-Type': 'application/json' },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }, [method, path, body]);
}

/** shot saves a screenshot of the softphone frame to docs/screenshots/<name>.png. */
export async function shot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.locator('#softphone').screenshot({ path: join(screenshots, `${name}.png`) });
}

/**
 * waitCti waits until the host recorded an Open CTI call of method whose
 * JSON-encoded args contain `contains` (if given), and returns it.
 */
export async function waitCti(page, method, contains = '', timeout = 15_000) {
  const h = await page.waitForFunction(([m, c]) => window.ctiCalls.find((x) => x.methodName === m && JSON.stringify(x.args).includes(c)), [method, contains], { timeout });
  return h.jsonValue();
}

/**
 * finishCall clears the agent's call if one is up, then wraps up every call
 * waiting for it (Save & Exit) until the softphone is idle (a call may end
 * without a post-call step, e.g. with Auto Save Notes).
 */
export async function finishCall(frame) {
  const clear = frame.getByRole('button', { name: 'Clear call', exact: true });
  const wrap = frame.getByRole('button', { name: 'Wrap up call', exact: true });
  const idle = frame.getByRole('button', { name: 'All calls', exact: true });
  await clear.or(wrap).first().waitFor();
  if (await clear.isVisible()) await clear.click();
  for (let i = 0; i < 6; i++) {
    await wrap.or(idle).first().waitFor();
    if (await idle.isVisible()) return;
    // the button may go as the last wrap-up lands: look again rather than wait for it
    await wrap.click({ timeout: 3000 }).catch(() => {});
  }
  const shown = await frame.locator('.msg').allInnerTexts();
  throw new Error(`the softphone did not return to idle: ${shown.join(' | ')}`);
}

/** simCalls returns the simulator's calls involving number. */
export async function simCalls(server, number) {
  const { calls } = await server.sim('GET', '/calls');
  return calls.filter((c) => c.parties.some((p) => p.number === number));
}

/** ring places an outside call to an extension and resolves the sim call id. */
export async function ring(server, body) {
  const { id } = await server.sim('POST', '/calls', body);
  return id;
}
