// What the agent's clicks do: API calls with their inline error messages.
// Views call these; nothing here builds DOM.

import { api } from './api.js';
import { state, update, say, unsay } from './state.js';
import { t, errText } from './i18n.js';
import { cti } from './cti.js';
import { log } from './log.js';
import { resync } from './live.js';

export const MAX_FAVORITES = 50;

/** run performs an API call; a failure shows at `where`. Undefined on failure. */
export async function run(where, method, path, body, invalidText) {
  unsay(where);
  try {
    return (await api(method, path, body)) ?? null;
  } catch (e) {
    log('api failed', method, path, e.status, e.code);
    if (e.status !== 401) say(where, e.status === 0 ? t('err.network') : (e.code === 'invalid_input' && invalidText) || errText(e.code));
    // The call is not what this view showed: take the server's state again.
    if ((e.status === 404 || e.status === 409) && path.startsWith('/api/v1/calls/')) resync().catch(() => {});
    return undefined;
  }
}

/** cleanNumber strips the usual separators; null when value is not a dialable number. */
export function cleanNumber(value) {
  const v = String(value).trim().replace(/[\s\-().]/g, '');
  return /^\+?[0-9*#]+$/.test(v) ? v : null;
}

/** dial calls number (or picks it as a transfer target); record: the one clicked to dial. */
export async function dial(raw, where = 'search', record = null) {
  // Dialling supersedes a search still waiting: its start would clear
  // this dial's message.
  clearTimeout(searchTimer);
  searchSeq++;
  if (state.ui.searching) update((s) => { s.ui.searching = false; });
  const target = state.ui.target;
  const text = String(raw ?? '').trim();
  if (!text) {
    const key = target ? { transfer: 'target.emptyTransfer', conference: 'target.emptyConference', redirect: 'target.emptyRedirect' }[target.mode] : 'number.empty';
    say(where, t(key));
    return;
  }
  // The server parses the number (one rule for every path).
  const number = text;
  const invalid = t('number.invalid', { value: text });
  let r;
  if (target && target.mode === 'redirect') {
    r = await run(where, 'POST', `/api/v1/calls/${target.callId}/redirect`, { number }, invalid);
    if (r !== undefined) update((s) => { s.ui.target = null; });
  } else if (target) {
    // transfer / conference: consult the target (the call goes on consultation hold)
    r = await run(where, 'POST', `/api/v1/calls/${target.callId}/consult`, { number }, invalid);
    if (r) update((s) => { s.ui.target = { ...target, consultId: r.id }; s.ui.focusId = r.id; });
  } else if ([...state.calls.values()].some((c) => c.state === 'connected' && !c.postCall)) {
    say(where, t('call.busyHint'), 'info');
    return;
  } else {
    r = await run(where, 'POST', '/api/v1/calls', record ? { number, record } : { number }, invalid);
  }
  if (r !== undefined) update((s) => { s.ui.query = ''; s.ui.results = null; s.ui.selected = null; });
}

/** callAction posts a call command (answer, clear, hold, retrieve, transfer, conference). */
export function callAction(call, action) {
  return run('call', 'POST', `/api/v1/calls/${call.id}/${action}`);
}

/** sendDigits sends DTMF on a connected call. */
export function sendDigits(call, digits) {
  return run('call', 'POST', `/api/v1/calls/${call.id}/dtmf`, { digits });
}

/** isFavorite finds the favorite for a record id or number. */
export function favoriteFor(id, number) {
  return state.favorites.find((f) => (id && f.id === id) || (number && f.number === number));
}

/** toggleFavorite adds or removes an entry (at most MAX_FAVORITES). */
export async function toggleFavorite(entry, where) {
  const fav = favoriteFor(entry.id, entry.number);
  if (fav) {
    if (await run(where, 'DELETE', `/api/v1/favorites/${encodeURIComponent(fav.id)}`) !== undefined) {
      update((s) => { s.favorites = s.favorites.filter((f) => f !== fav); });
    }
    return;
  }
  const tooMany = () => say(where, t('fav.limit', { max: MAX_FAVORITES, name: entry.name || entry.number }));
  if (state.favorites.length >= MAX_FAVORITES) return tooMany();
  const number = cleanNumber(entry.number) || entry.number;
  const body = { id: entry.id || number, name: entry.name || number, number, type: entry.type || '' };
  try {
    const r = await api('POST', '/api/v1/favorites', body);
    unsay(where);
    update((s) => { s.favorites = [...s.favorites.filter((f) => f.id !== body.id), (r && r.id) ? r : body]; });
  } catch (e) {
    if (e.code === 'limit_reached') tooMany();
    else if (e.status !== 401) say(where, e.status === 0 ? t('err.network') : errText(e.code));
  }
}

/** openRecord pops a Salesforce record at the agent's request. */
export const openRecord = (id) => cti.popRecord(id);

/** loadFavorites refreshes the favorites list. */
export async function loadFavorites() {
  const r = await run('list', 'GET', '/api/v1/favorites');
  if (r) update((s) => { s.favorites = r.favorites || []; });
}

/** loadHistory refreshes one history list. */
export async function loadHistory(list) {
  const r = await run('list', 'GET', `/api/v1/history?list=${list}`);
  if (r) update((s) => { s.history[list] = r.entries || []; });
}

let searchSeq = 0;
let searchTimer = 0;

/** search looks names and numbers up in Salesforce (debounced). */
export function search(q) {
  clearTimeout(searchTimer);
  const mine = ++searchSeq;
  if (q.trim().length < 2) {
    update((s) => { s.ui.results = null; s.ui.searching = false; });
    return;
  }
  update((s) => { s.ui.searching = true; s.ui.results = null; });
  searchTimer = setTimeout(async () => {
    const r = await run('search', 'GET', `/api/v1/search?q=${encodeURIComponent(q.trim())}`);
    if (mine !== searchSeq) return;
    update((s) => { s.ui.searching = false; s.ui.results = r ? r.results || [] : null; });
  }, 250);
}

/** setStatus sets Available, Do Not Disturb or Make Busy (with a reason). */
export async function setStatus(kind, reason) {
  const d = state.device || {};
  update((s) => { s.ui.menu = null; });
  if (kind === 'dnd') return run('global', 'PUT', '/api/v1/device/dnd', { on: true });
  if (d.dnd) await run('global', 'PUT', '/api/v1/device/dnd', { on: false });
  if (kind === 'busy') return run('global', 'PUT', '/api/v1/device/make-busy', { on: true, reason: reason || '' });
  if (d.makeBusy) return run('global', 'PUT', '/api/v1/device/make-busy', { on: false, reason: '' });
}

const hooks = { session: () => {} };
/** onPhoneSession sets what reloads the agent after a phone log-in or log-out. */
export function onPhoneSession(fn) { hooks.session = fn; }

/** phoneSession: hot-desk / ACD log-in or out (the agent is reloaded). */
export async function phoneSession(where, path, body) {
  if (await run(where, 'POST', path, body) !== undefined) hooks.session();
}
