// Renders the whole softphone from the state after each batch of updates,
// morphing the live DOM (so focus, caret and clicks in progress survive;
// where an element had to be replaced, focus follows its data-focus key),
// and ticks call durations and the work timer once a second.

import { h, morph } from './dom.js';
import { t, duration } from './i18n.js';
import { state, update } from './state.js';
import { header, kind } from './views/header.js';
import { dialer, message } from './views/dial.js';
import { lists } from './views/lists.js';
import { callView, liveCalls } from './views/call.js';
import { postView, workTimer } from './views/post.js';
import { settingsDialog } from './views/settings.js';
import { phoneLogin, signInView } from './views/login.js';
import { local } from './api.js';

let lastMenu = null;
const hooks = { signedIn: () => {} };
/** onSignedIn sets what runs after the popup sign-in succeeded. */
export function onSignedIn(fn) { hooks.signedIn = fn; }

function notifyBanner() {
  if (!state.ui.notifyAsk) return null;
  const done = () => {
    local.set('switchboard.notifyAsked', '1');
    update((s) => { s.ui.notifyAsk = false; });
  };
  return h('div', { class: 'ask', role: 'region', 'aria-labelledby': 'ask-alerts' },
    h('p', { id: 'ask-alerts' }, t('notify.ask')),
    h('button', { type: 'button', class: 'btn go', onclick: () => Notification.requestPermission().finally(done) }, t('notify.enable')),
    h('button', { type: 'button', class: 'btn ghost', onclick: done }, t('notify.later')));
}

// ctiProblem says why Open CTI is off (no screen pops, no click-to-dial).
function ctiProblem() {
  const e = state.cti.error;
  if (!e) return null;
  const key = e.reason === 'script' ? 'cti.scriptFailed' : 'cti.untrusted';
  return h('p', { class: 'msg warn', role: 'status' }, t(key, { origin: e.origin || '' }));
}

function view() {
  if (state.phase === 'loading') return h('p', { class: 'boot' }, t('app.loading'));
  if (state.phase === 'problem') return h('div', { class: 'app' }, h('p', { class: 'msg error', role: 'alert' }, state.problem));
  if (state.phase === 'signin') return h('div', { class: 'app' }, signInView(hooks.signedIn), ctiProblem());
  const d = state.device || {};
  const loggedOut = (kind() === 'hotdesk' || kind() === 'acd') && d.loggedIn === false;
  const calls = liveCalls();
  const post = [...state.calls.values()].filter((c) => c.postCall)
    .sort((a, b) => String(a.ended || a.started).localeCompare(String(b.ended || b.started)));
  let main;
  if (loggedOut) main = phoneLogin();
  else if (calls.length) main = callView(calls);
  else if (post.length) main = postView(post[0]);
  else main = lists();
  return h('div', { class: `app ${state.cti.kind}` },
    header(),
    state.online ? null : h('p', { class: 'msg warn', role: 'status' }, t('conn.reconnecting')),
    ctiProblem(),
    message('global'),
    workTimer(),
    loggedOut ? null : dialer(),
    h('main', null, main),
    notifyBanner(),
    settingsDialog());
}

/** render redraws the softphone. */
export function render() {
  const a = document.activeElement;
  const key = a && a.dataset && a.dataset.focus;
  const sel = key && 'selectionStart' in a ? [a.selectionStart, a.selectionEnd] : null;
  const app = document.getElementById('app');
  if (app.firstChild) morph(app.firstChild, view());
  else app.append(view());
  if (key) {
    const el = document.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    if (el && el !== document.activeElement) {
      el.focus({ preventScroll: true });
      if (sel && sel[0] != null) try { el.setSelectionRange(sel[0], sel[1]); } catch { /* not a text field */ }
    }
  }
  // An opened menu takes focus; a closed one gives it back to its button.
  if (state.ui.menu && state.ui.menu !== lastMenu) document.querySelector('.menu [role^=menuitem]')?.focus();
  if (lastMenu && !state.ui.menu && (document.activeElement === document.body || !document.activeElement)) {
    document.querySelector(`[aria-controls="${CSS.escape(lastMenu)}"]`)?.focus();
  }
  lastMenu = state.ui.menu;
  tick();
}

/** tick refreshes the running durations and countdowns. */
export function tick(now = Date.now()) {
  for (const el of document.querySelectorAll('[data-since]')) {
    const from = Date.parse(el.dataset.since);
    if (from) el.textContent = duration((now - from) / 1000);
  }
  for (const el of document.querySelectorAll('[data-until]')) {
    const to = Date.parse(el.dataset.until);
    if (to) el.textContent = duration((to - now) / 1000);
  }
}
