// Test harness: builds and starts Switchboard in demo mode on a free port,
// launches Debian's headless Chromium through playwright-core, and offers
// host pages that play Salesforce's side of Open CTI around the softphone.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, mkdirSync } from 'node:fs';
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

let built = null;
/** binary returns SWITCHBOARD_BIN or a fresh build of ./cmd/switchboard (once per process). */
export function binary() {
  if (process.env.SWITCHBOARD_BIN) return process.env.SWITCHBOARD_BIN;
  if (!built) {
    built = join(mkdtempSync(join(tmpdir(), 'switchboard-')), 'switchboard');
    execFileSync('go', ['build', '-o', built, './cmd/switchboard'], { cwd: repo, stdio: 'inherit' });
  }
  return built;
}

/** startServer runs Switchboard in demo mode and resolves once /healthz answers 200. */
export async function startServer() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(binary(), [], {
    env: { ...process.env, SWITCHBOARD_ADDR: `127.0.0.1:${port}`, SWITCHBOARD_PUBLIC_URL: base, SWITCHBOARD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (b) => { stderr = (stderr + b).slice(-4000); });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
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
 * opts: locale, width (panel width), query (extra host query string),
 * context (reuse a browser context: same storage as other tabs).
 */
export async function openHost(browser, server, name, opts = {}) {
  const context = opts.context || await browser.newContext({ locale: opts.locale || 'en-US', viewport: { width: 900, height: 800 } });
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
  return { context, page, frame };
}

/** ctiCalls returns what the host recorded of the softphone's Open CTI calls. */
export const ctiCalls = (page, method) => page.evaluate((m) => window.ctiCalls.filter((c) => !m || c.methodName === m), method);

/** shot saves a screenshot of the softphone frame to docs/screenshots/<name>.png. */
export async function shot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.locator('#softphone').screenshot({ path: join(screenshots, `${name}.png`) });
}
