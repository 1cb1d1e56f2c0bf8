// Screen pops, panel visibility and browser alerts for incoming calls.
//
// Only ONE softphone (browser tab) may pop a given call. The tab asks the
// server over its WebSocket ({"type":"claim_pop","callId"}); the server
// grants each call to the first tab of the agent that asks (across
// browsers and instances). Visible tabs ask at once, hidden tabs wait
// 300 ms so that the tab the agent is looking at wins. If the server
// cannot be asked (socket down), the tabs of this browser agree among
// themselves: a claim {tab, at} is written to localStorage and announced on
// a BroadcastChannel; after a short settle the earliest claim (then the
// smaller tab id) owns the call. Both kinds of claim outlive a reload, so
// reloading never pops a call twice; local claims are pruned after a day.

import { state, myExt } from './state.js';
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
  try { return JSON.parse(localStorage.getItem(key) || 'null'); } catch { return null; }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** claim resolves true in exactly one tab of this browser for a name. */
async function claim(name) {
  const key = PREFIX + name;
  if (stored(key) || heard.has(key)) return false;
  const mine = { tab: TAB, at: Date.now() };
  note(key, mine);
  try { localStorage.setItem(key, JSON.stringify(mine)); } catch { /* storage full or off */ }
  if (bc) bc.postMessage({ claim: key, ...mine });
  await sleep(80);
  const s = stored(key);
  if (s) note(key, s);
  return heard.get(key).tab === TAB;
}

/** prune forgets claims older than a day. */
export function prune(now = Date.now()) {
  for (let i = localStorage.length - 1; i >= 0; i--) {
    const k = localStorage.key(i);
    if (k && k.startsWith(PREFIX) && !((stored(k) || {}).at > now - DAY)) localStorage.removeItem(k);
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
    if (await owns(call)) {
      cti.show();
      alertIfHidden(call);
    }
  }
  const at = (state.settings && state.settings.popAt) || 'ringing';
  const due = at === 'answered' ? call.state === 'connected' : ringing || call.state === 'connected';
  if (!due || done.has(`pop:${call.id}`)) return;
  const targets = popTargets(call, state.cti.console);
  if (!targets) return;
  done.add(`pop:${call.id}`);
  if (!targets.length || !(await owns(call))) return;
  log('screen pop', call.id, targets.length);
  for (const x of targets) {
    if (x.entity) await cti.popNew(x.entity, x.fields);
    else await cti.popRecord(x.id);
  }
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
