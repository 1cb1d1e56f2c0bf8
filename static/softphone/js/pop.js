// Screen pops, panel and browser alerts for incoming calls. One tab pops a
// call: the server says which (hidden tabs ask 300 ms later); without it,
// a localStorage claim on a BroadcastChannel (earliest, then tab id).

import { state, myExt, update } from './state.js';
import { local } from './api.js';
import { cti } from './cti.js';
import { t } from './i18n.js';
import { log } from './log.js';
import { claimPop } from './live.js';

const TAB = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2));
const PREFIX = 'switchboard.claim.';
const DAY = 86_400_000;
const heard = new Map();
const bc = 'BroadcastChannel' in window ? new BroadcastChannel('switchboard') : null;
const done = new Set();

const earlier = (a, b) => a.at < b.at || (a.at === b.at && a.tab < b.tab);
function note(key, c) {
  const best = heard.get(key);
  if (!best || earlier(c, best)) heard.set(key, c);
}
if (bc) bc.onmessage = (ev) => ev.data && ev.data.claim && note(ev.data.claim, ev.data);

function stored(key) {
  try { return JSON.parse(local.get(key) || 'null'); } catch { return null; }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** claim resolves true in exactly one tab of this browser for a name. */
async function claim(name) {
  const key = PREFIX + name;
  if (stored(key) || heard.has(key)) return false;
  const mine = { tab: TAB, at: Date.now() };
  note(key, mine);
  local.set(key, JSON.stringify(mine));
  if (bc) bc.postMessage({ claim: key, ...mine });
  await sleep(80);
  const s = stored(key);
  if (s) note(key, s);
  return heard.get(key).tab === TAB;
}

/** prune forgets claims older than a day. */
export function prune(now = Date.now()) {
  for (const k of local.keys()) {
    if (k.startsWith(PREFIX) && !((stored(k) || {}).at > now - DAY)) local.del(k);
  }
}

const owners = new Map();

// owns decides once per call whether this tab pops it, alerts and opens the panel.
function owns(call) {
  if (!owners.has(call.id)) {
    owners.set(call.id, (async () => {
      if (document.visibilityState !== 'visible') await sleep(300);
      const granted = await claimPop(call.id);
      return granted ?? claim(`pop:${call.id}`);
    })());
  }
  return owners.get(call.id);
}

/** incoming reports whether the call was offered to the agent (not made by them). */
export function incoming(call) {
  if (call.direction === 'outbound') return false;
  const first = call.parties && call.parties[0];
  return !first || first.number !== myExt();
}

/** popTargets turns the server's pop result into what to open. */
export function popTargets(call, all) {
  const p = call.pop;
  if (!p) return null; // lookup not finished: wait for the next update
  if (p.newRecord) return [{ entity: p.newRecord.type || 'Contact', fields: p.newRecord.fields || {} }];
  const ms = (p.matches || []).filter((m) => m && m.id);
  return all ? ms : ms.slice(0, 1);
}

/** onCall reacts to a call update: alert, show the panel, pop. */
export async function onCall(call, before) {
  if (!incoming(call) || call.redirected || call.postCall) return;
  const ringing = call.state === 'alerting';
  if (ringing && !(before && before.state === 'alerting') && !done.has(`ring:${call.id}`)) {
    done.add(`ring:${call.id}`);
    if (await owns(call)) cti.show();
  }
  // The alert names the caller: it waits for the lookup's push.
  if (ringing && call.lookup !== 'pending' && !done.has(`alert:${call.id}`)) {
    done.add(`alert:${call.id}`);
    if (await owns(call)) alertIfHidden(call);
  }
  // Matches that come after the answer still pop.
  const answered = call.state !== 'disconnected' && (call.state === 'connected' || !!call.answered);
  const at = (state.settings && state.settings.popAt) || 'ringing';
  const due = at === 'answered' ? answered : ringing || answered;
  if (!due || done.has(`pop:${call.id}`)) return;
  const targets = popTargets(call, state.cti.console);
  if (!targets) return;
  done.add(`pop:${call.id}`);
  if (!targets.length || !(await owns(call))) return;
  log('screen pop', call.id, targets.length);
  for (const x of targets) await popOne(call, x);
}

// popOne opens one target, once more if Salesforce refused it; if that
// fails too the call view offers the record as a link (state.ui.popFailed)
// and the log keeps the record id (never the number).
async function popOne(call, x) {
  const open = () => (x.entity ? cti.popNew(x.entity, x.fields) : cti.popRecord(x.id));
  if (await open()) return;
  log('screen pop refused, retrying', x.id || x.entity);
  if (await open()) return;
  log('screen pop failed', x.id || x.entity);
  if (!x.id) return;
  const m = (call.matches || []).find((r) => r.id === x.id) || {};
  update((s) => {
    s.ui.popFailed = { ...s.ui.popFailed, [call.id]: { id: x.id, name: m.name || x.id, url: cti.recordURL(cti.origin, x.id) } };
  });
}

function alertIfHidden(call) {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
  const m = (call.matches || [])[0];
  const who = (m && call.matches.length === 1 && m.name) || (call.withheld ? t('number.withheld') : call.number || call.ani || '');
  try {
    const n = new Notification(t('notify.title'), { body: t('notify.body', { name: who }), tag: `switchboard-${call.id}` });
    n.onclick = () => { window.focus(); n.close(); };
  } catch (e) {
    log('notification failed', String(e));
  }
}
