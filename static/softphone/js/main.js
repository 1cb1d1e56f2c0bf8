// Softphone entry point: catalog, Open CTI, sign-in, then the live state.

import { load, t } from './i18n.js';
import { state, update, subscribe } from './state.js';
import { api, token, dropToken, signIn, signedIn, keepFresh, onUnauthorized, local } from './api.js';
import { connect, restart, onCall, on } from './live.js';
import { start as startCti } from './cti.js';
import { onCall as popOnCall, prune } from './pop.js';
import { log } from './log.js';
import { applySettings } from './views/settings.js';
import { render, tick, onSignedIn } from './render.js';
import { loadFavorites, loadHistory, dial, onPhoneSession } from './actions.js';
import { flatten } from './callcenter.js';

function needSignIn() {
  if (state.phase === 'signin') return;
  dropToken();
  if (!signIn()) update((s) => { s.phase = 'signin'; });
}

async function startSession() {
  let me, settings;
  try {
    [me, settings] = await Promise.all([api('GET', '/api/v1/me'), api('GET', '/api/v1/settings')]);
  } catch (e) {
    if (e.status === 401) return; // needSignIn already ran
    log('start failed', e.status, e.code);
    update((s) => { s.phase = 'ready'; s.online = false; });
    setTimeout(startSession, 3000);
    return;
  }
  signedIn();
  applySettings(settings);
  update((s) => { s.me = me; s.settings = settings; s.phase = 'ready'; s.online = true; });
  loadFavorites();
  connect();
  keepFresh();
}

// Click-to-dial from Salesforce: the number goes in the bar and is dialled
// (or used as the transfer / conference / redirect target being chosen);
// the clicked record becomes the call's caller record.
function onClickToDial(number, rec = {}) {
  log('click to dial', rec.id || '');
  update((s) => { s.ui.query = number; s.ui.results = null; });
  // A record id that is not one (15 or 18 letters and digits) is left out: the number is still dialled.
  const record = /^[a-z0-9]{15}([a-z0-9]{3})?$/i.test(rec.id || '') ? { recordId: rec.id, objectType: rec.type || undefined, name: rec.name || undefined } : null;
  dial(number, 'search', record);
}

// startOpenCti tells Salesforce the softphone is up, reads the call center
// settings and registers click-to-dial. Standalone (no Open CTI), the
// settings come from the adapter's own call center definition.
async function startOpenCti(sources) {
  const c = await startCti(sources);
  update((s) => { s.cti.kind = c.kind; s.cti.origin = c.origin || ''; s.cti.error = c.error || null; });
  if (c.kind === 'none') {
    const res = await fetch('/callcenter-definition.xml').catch(() => null);
    if (res && res.ok) {
      const map = flatten(await res.text());
      update((s) => { s.cti.settings = map; });
    }
    return;
  }
  await c.ready();
  const [settings, consoleMode] = await Promise.all([c.settings(), c.isConsole()]);
  update((s) => { s.cti.console = consoleMode; s.cti.settings = settings; });
  await c.clickToDial(onClickToDial);
}

// After a hot-desk or ACD log-in / log-out the agent's extension changed:
// reload the agent and reconnect the live feed.
async function phoneSessionChanged() {
  const me = await api('GET', '/api/v1/me').catch(() => null);
  if (me) update((s) => { s.me = me; });
  restart();
}

// askNotifications offers browser alerts after the agent's first click or
// key press (never on load; the browser prompt only follows their "yes").
function askNotifications() {
  const ask = () => {
    if (state.phase !== 'ready') return; // the Sign in click does not count
    removeEventListener('click', ask, true);
    removeEventListener('keydown', ask, true);
    if ('Notification' in window && Notification.permission === 'default' && !local.get('switchboard.notifyAsked')) {
      setTimeout(() => update((s) => { s.ui.notifyAsk = true; }), 0);
    }
  };
  addEventListener('click', ask, true);
  addEventListener('keydown', ask, true);
}

// config reads /softphone/config.json: the origins allowed to frame the
// softphone (also trusted for the Open CTI script) and any set-up problem.
async function config() {
  try {
    const r = await fetch('/softphone/config.json', { cache: 'no-store' });
    return r.ok ? await r.json() : {};
  } catch {
    return {};
  }
}

async function boot() {
  try {
    await load();
  } catch (e) {
    // No catalog, so no translated text: say in English what to do.
    document.getElementById('app').textContent = 'The softphone could not load its files from this server. Check the call center’s Adapter URL and your network, then reload.';
    log('catalog failed', String(e));
    return;
  }
  document.title = t('app.title');
  subscribe(render);
  update();
  const cfg = await config();
  if (cfg.problem) {
    log('set-up problem', cfg.problem.code);
    update((s) => { s.phase = 'problem'; s.problem = cfg.problem.message; });
    return;
  }
  prune();
  onUnauthorized(needSignIn);
  onSignedIn(startSession);
  onCall(popOnCall);
  on('settings', async () => {
    const s = await api('GET', '/api/v1/settings').catch(() => null);
    if (s) { applySettings(s); update((st) => { st.settings = s; }); }
  });
  on('favorites', loadFavorites);
  on('history', () => {
    update((s) => { s.history = {}; });
    if (state.ui.list !== 'favorites') loadHistory(state.ui.list);
  });
  document.addEventListener('click', (e) => {
    if (state.ui.menu && !e.target.closest('.menu, [aria-haspopup=menu]')) update((s) => { s.ui.menu = null; });
  });
  setInterval(tick, 1000);
  askNotifications();
  onPhoneSession(phoneSessionChanged);
  if (!token()) {
    needSignIn();
    if (state.phase !== 'signin') return; // the frame is navigating to the sign-in
  } else {
    startSession();
  }
  startOpenCti(cfg.frameAncestors).catch((e) => {
    log('open cti failed', String(e));
    update((s) => { s.cti.error = { reason: 'script' }; });
  });
}

boot();
