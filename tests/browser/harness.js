// Test harness: builds and starts Switchboard in demo mode on a free port,
// launches Debian's headless Chromium through playwright-core, and offers
// host pages that play Salesforce's side of Open CTI around the softphone.
//
// Cross-site, as in Salesforce: Chromium maps two host names to 127.0.0.1
// (--host-resolver-rules), so the host page ("the org") is on
// http://salesforce.test:PORT and the softphone frame on
// http://switchboard.test:PORT, two different sites. A Playwright browser
// context is an off-the-record profile, which blocks third-party cookies
// and storage like Incognito: in the frame sessionStorage and localStorage
// throw SecurityError and the demo org's cookie is not sent, so the
// softphone signs in through its popup (openHost clicks Sign in).

import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync, existsSync, renameSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, '..', '..');
/**
 * screenshots is where shot() writes: docs/screenshots (the README's) only
 * under `make screenshots` (SWITCHBOARD_SCREENSHOTS=docs), else the
 * ignored tests/browser/out/screenshots, so a test run leaves the tree clean.
 */
export const screenshots = process.env.SWITCHBOARD_SCREENSHOTS === 'docs'
  ? join(repo, 'docs', 'screenshots')
  : join(here, 'out', 'screenshots');

/** The two sites: the org (host pages) and the softphone, both on 127.0.0.1. */
export const ORG_HOST = 'salesforce.test';
export const SOFTPHONE_HOST = 'switchboard.test';

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

/**
 * startServer runs Switchboard in demo mode and resolves once /healthz
 * answers 200. base is http://127.0.0.1:PORT; org and softphone are the same
 * server under the two test sites. The org may frame the softphone
 * (SWITCHBOARD_FRAME_ANCESTORS), which also makes it a trusted Open CTI
 * origin. opts.env adds settings.
 */
export async function startServer(opts = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const org = `http://${ORG_HOST}:${port}`;
  const softphone = `http://${SOFTPHONE_HOST}:${port}`;
  const proc = spawn(await binary(), [], {
    env: {
      ...process.env, SWITCHBOARD_ADDR: `127.0.0.1:${port}`, SWITCHBOARD_PUBLIC_URL: base, SWITCHBOARD_LOG_LEVEL: 'warn',
      SWITCHBOARD_FRAME_ANCESTORS: `'self' ${org}`, ...(opts.env || {}),
    },
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
  lastServer = {
    base,
    org,
    softphone,
    port,
    /** stderr is the server's last log lines. */
    get stderr() { return stderr; },
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
  return lastServer;
}

let lastServer = null;

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
 * (notifications allowed) unless askAlerts is set (it would sit in every
 * screenshot).
 */
export async function newContext(browser, server, { user = USERS.regular, locale = 'en-US', askAlerts = false } = {}) {
  const context = await browser.newContext({ locale, viewport: { width: 900, height: 800 } });
  await signInToOrg(context, server, user);
  // The frame's localStorage is blocked: the offer counts as answered when
  // the browser's permission is (granted).
  if (!askAlerts) await context.grantPermissions(['notifications'], { origin: server.softphone });
  return context;
}

/**
 * signInToOrg gives the browser the demo org's session cookie (the agent
 * is signed in to Salesforce) on every origin the tests use.
 */
export async function signInToOrg(context, server, user) {
  await context.addCookies([server.base, server.softphone].map((o) => ({ name: 'fakeorg_sid', value: user, url: `${o}/demo-org/` })));
}

/**
 * launch starts headless Chromium (Debian's package) for server (default:
 * the last one startServer started in this process). opts.storage:
 * 'blocked' (default) or 'partitioned', see args.
 */
export function launch(server = lastServer, opts = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: args(server, opts.storage),
  });
}

/**
 * args are Chromium's flags: the two test sites resolve to 127.0.0.1 and,
 * like Salesforce's https pages, count as secure contexts (the flag wants
 * exact origins, port included). storage says what a third-party frame
 * gets when third-party cookies are blocked (as in a Playwright context,
 * an off-the-record profile like Incognito, or a profile with
 * cookie_controls_mode 1): 'blocked' disables the ThirdPartyStoragePartitioning
 * feature, so sessionStorage and localStorage throw SecurityError (older
 * Chrome, company policy); 'partitioned' keeps it (Chrome's default since
 * 115): storage works, kept per top-level site. --disable-features replaces
 * Playwright's own list, so that list is repeated here.
 */
function args(server, storage = 'blocked') {
  const disabled = ['AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades', 'HttpsFirstBalancedModeAutoEnable',
    'LensOverlay', 'MediaRouter', 'PaintHolding', 'AvoidCorsURLLoaderRestartOnRedirect', 'OptimizationHints', 'NetworkTimeServiceQuerying',
    // host pages come from page.route (no address, so "public"); the softphone is on 127.0.0.1
    'LocalNetworkAccessChecks', 'BlockInsecurePrivateNetworkRequests', 'PrivateNetworkAccessSendPreflights'];
  if (storage === 'blocked') disabled.push('ThirdPartyStoragePartitioning');
  const a = ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run',
    `--host-resolver-rules=MAP ${ORG_HOST} 127.0.0.1, MAP ${SOFTPHONE_HOST} 127.0.0.1`, `--disable-features=${disabled.join(',')}`];
  if (server) a.push(`--unsafely-treat-insecure-origin-as-secure=${server.org},${server.softphone}`);
  return a;
}

/**
 * launchProfile starts Chromium with a fresh persistent profile (not
 * off-the-record) whose third-party cookie setting is cookieControlsMode
 * (Chromium's profile.cookie_controls_mode preference: 0 allows third-party
 * cookies, 1 blocks them); storage as in args. Resolves a BrowserContext.
 */
export async function launchProfile(cookieControlsMode, { storage = 'blocked', ...opts } = {}, server = lastServer) {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-profile-'));
  mkdirSync(join(dir, 'Default'));
  writeFileSync(join(dir, 'Default', 'Preferences'), JSON.stringify({
    profile: { cookie_controls_mode: cookieControlsMode, block_third_party_cookies: cookieControlsMode === 1 },
  }));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: args(server, storage),
    locale: 'en-US', viewport: { width: 900, height: 800 }, ...opts,
  });
  const close = context.close.bind(context);
  context.close = async () => { await close(); rmSync(dir, { recursive: true, force: true }); };
  return context;
}

const HOSTS = join(here, 'hosts');

/**
 * serveHosts serves tests/browser/hosts/* at <org>/__test/ for a page or
 * context (page.route); classicStub also replaces the org's interaction.js
 * with classic-stub.js.
 */
export async function serveHosts(target, server, { classicStub = false } = {}) {
  await target.route(`${server.org}/__test/**`, (route) => {
    const file = new URL(route.request().url()).pathname.replace('/__test/', '');
    route.fulfill({ status: 200, contentType: file.endsWith('.js') ? 'text/javascript' : 'text/html', body: readFileSync(join(HOSTS, file)) });
  });
  if (classicStub) {
    await target.route(`${server.org}/support/api/*/interaction.js`, (route) => route.fulfill({
      status: 200, contentType: 'text/javascript', body: readFileSync(join(HOSTS, 'classic-stub.js')),
    }));
  }
}

/**
 * openHost opens a host page (tests/browser/hosts/<name>.html, served on the
 * org site through page.route) that frames the softphone from the
 * softphone site. opts: user (demo org username), locale, width (panel
 * width), query (host query: mode, console, visible, stub, path),
 * classicStub (serve classic-stub.js as interaction.js), context (reuse a
 * browser context: same storage as other tabs), signIn (false: leave the
 * Sign in button alone). Resolves once the softphone is signed in.
 */
export async function openHost(browser, server, name, opts = {}) {
  const context = opts.context || await newContext(browser, server, { user: opts.user, locale: opts.locale, askAlerts: opts.askAlerts });
  const page = await context.newPage();
  await serveHosts(page, server, opts);
  const q = new URLSearchParams({ width: String(opts.width || 300), softphone: server.softphone, ...(opts.query || {}) });
  await page.goto(`${server.org}/__test/${name}.html?${q}`);
  const frame = page.frameLocator('#softphone');
  if (opts.wait !== false) await signedIn(page, frame, opts);
  return { context, page, frame };
}

/**
 * signedIn waits for the softphone to be signed in, clicking its Sign in
 * button and finishing the popup when it asks (third-party storage
 * blocked: after every load). Returns whether it had to click.
 */
export async function signedIn(page, frame = page.frameLocator('#softphone'), opts = {}) {
  const top = frame.locator('header.top');
  const button = frame.locator('.signin button');
  // A minimized panel (host visible=0) is opened for the click, as the
  // agent would, and minimized again.
  const closed = await page.evaluate(() => window.panelVisible === false);
  if (closed) await page.evaluate(() => window.setPanel(true));
  await top.or(button).first().waitFor();
  if (await top.isVisible() || opts.signIn === false) {
    if (closed) await page.evaluate(() => window.setPanel(false));
    return false;
  }
  const [popup] = await Promise.all([page.waitForEvent('popup'), button.click()]);
  try {
    await top.waitFor({ timeout: 15_000 }); // the popup posts the token and closes itself
  } catch (e) {
    const left = popup.isClosed() ? 'closed' : `${popup.url()}: ${await popup.locator('body').innerText().catch(() => '')}`;
    throw new Error(`the softphone did not sign in through its popup (popup ${left})`, { cause: e });
  }
  if (closed) await page.evaluate(() => window.setPanel(false));
  return true;
}

/** reload reloads a host page and signs the softphone in again if it asks. */
export async function reload(page) {
  await page.reload();
  await signedIn(page);
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
    const { token } = await import('/softphone/js/api.js'); // the softphone's own module: its in-memory token
    const r = await fetch(p, {
      method: m,
      headers: { Authorization: `Bearer ${token()}`, 'Content-Type': 'application/json' },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }, [method, path, body]);
}

/** shot saves a screenshot of the softphone frame to <screenshots>/<name>.png. */
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
