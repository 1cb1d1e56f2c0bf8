// Call action state: who is calling, status and duration, DNIS / collected
// digits / queue, conference participants, several matching records to
// pick from, the call buttons and the call notes.

import { h, button, icon } from '../dom.js';
import { t } from '../i18n.js';
import { state, update, myExt } from '../state.js';
import { callAction, openRecord, dial } from '../actions.js';
import { pickMatch, draft, notesOn, save as saveNotes } from '../notes.js';
import { message } from './dial.js';
import { notesEditor, codes } from './notes.js';

const ORDER = { connected: 0, alerting: 1, held: 2, consultation_held: 3 };

/** liveCalls returns the calls still in progress, the focused one first. */
export function liveCalls() {
  const calls = [...state.calls.values()].filter((c) => !c.postCall && c.state !== 'disconnected');
  calls.sort((a, b) => (ORDER[a.state] ?? 9) - (ORDER[b.state] ?? 9) || String(a.started).localeCompare(String(b.started)));
  const f = calls.findIndex((c) => c.id === state.ui.focusId);
  if (f > 0) calls.unshift(...calls.splice(f, 1));
  return calls;
}

/** others are the parties on the call other than the agent. */
const others = (c) => (c.parties || []).filter((p) => p.number !== myExt() && p.state !== 'disconnected');

/** nameOf is how the call is shown: the one matching record, a party name, or the number. */
export function nameOf(c) {
  if (c.matches && c.matches.length === 1) return c.matches[0].name;
  const o = others(c);
  if (o.length === 1 && o[0].name) return o[0].name;
  if (c.withheld) return t('number.withheld');
  return c.number || (o[0] && o[0].number) || c.ani || t('call.unknown');
}

/** The held call a consultation call belongs to (transfer or conference in progress). */
function consultedFrom(c) {
  if (c.state !== 'connected') return null;
  for (const o of state.calls.values()) {
    if (o.id !== c.id && o.state === 'consultation_held' && (o.relatedId === c.id || c.relatedId === o.id || !o.relatedId)) return o;
  }
  return null;
}

function since(c) {
  const from = c.state === 'alerting' ? c.started : c.answered || c.started;
  return h('span', { class: 'dur', 'data-since': from }, '0:00');
}

function farState(c) {
  // An outgoing call is "connected" for us while the far end still rings.
  if (c.state === 'connected' && others(c).length && others(c).every((p) => p.state === 'alerting')) return 'dialing';
  return c.state;
}

function info(c) {
  // DNIS only when it says something: not our own extension, not the caller.
  const dnis = c.dnis && c.dnis !== myExt() && c.dnis !== c.number ? c.dnis : '';
  const rows = [['call.dnis', dnis], ['call.digits', c.digits], ['call.queue', c.queue]].filter(([, v]) => v);
  if (!rows.length) return null;
  return h('dl', { class: 'info' }, rows.map(([k, v]) => [h('dt', null, t(k)), h('dd', null, v)]));
}

function participants(c) {
  const ps = (c.parties || []).filter((p) => p.number !== myExt());
  if (ps.length < 2) return null;
  return h('div', { class: 'parties' },
    h('h3', null, t('call.participants')),
    h('ul', { 'aria-label': t('call.participants') },
      ps.map((p) => {
        const name = p.name || (p.number === c.ani && c.matches && c.matches.length === 1 ? c.matches[0].name : '');
        return h('li', { class: `party ${p.state}` },
          h('span', { class: 'nm' }, name || p.number),
          h('span', { class: 'sub' }, name ? p.number : ''),
          h('span', { class: 'pst' }, t(`state.${p.state}`)));
      })));
}

function matches(c) {
  const ms = c.matches || [];
  if (ms.length < 2) return null;
  const d = draft(c);
  return h('div', { class: 'matches' },
    h('p', { class: 'hint' }, t('call.matches', { n: ms.length })),
    h('ul', { 'aria-label': t('call.matches', { n: ms.length }) },
      ms.map((m) => {
        const picked = d.whoId === m.id || d.whatId === m.id;
        return h('li', null, h('button', {
          type: 'button',
          class: `match ${picked ? 'on' : ''}`,
          'aria-pressed': String(picked),
          'data-focus': `match:${m.id}`,
          onclick: () => { pickMatch(c, m); openRecord(m.id); },
        }, picked ? icon('check') : icon('person'), h('span', { class: 'nm' }, m.name), h('span', { class: 'sub' }, `${m.type || ''} ${m.phone || ''}`.trim())));
      })));
}

// leave sends what the agent typed before leaving the call (the call may
// end without a post-call step, e.g. with Auto Save Notes), then acts.
async function leave(c, action) {
  await saveNotes(c.id);
  return callAction(c, action);
}

function startTarget(c, mode) {
  const tg = state.ui.target;
  update((s) => { s.ui.target = { mode, callId: c.id }; s.ui.msg = null; });
  if (!tg) requestAnimationFrame(() => document.querySelector('[data-focus=search]')?.focus());
}

// transferOrConference: first click chooses a target in the search bar,
// the next click dials it (or, during the consultation, completes).
function transferOrConference(c, mode) {
  const held = consultedFrom(c);
  if (held) {
    update((s) => { s.ui.target = null; });
    return leave(c, mode === 'transfer' ? 'transfer' : 'conference');
  }
  const tg = state.ui.target;
  if (tg && tg.mode === mode && tg.callId === c.id) {
    return dial(state.ui.query);
  }
  startTarget(c, mode);
}

// can says whether the phone system offers a command (/api/v1/me's
// capabilities; every command when the server does not say).
function can(cmd) {
  const caps = state.me && state.me.capabilities;
  return !caps || caps[cmd] !== false;
}

function actions(c) {
  const b = [];
  const held = consultedFrom(c);
  const s = c.state;
  if (s === 'alerting') {
    if (can('answer')) b.push(button('call.answer', () => callAction(c, 'answer'), { icon: 'phone', cls: 'btn go' }));
    if (can('redirect')) b.push(button('call.redirect', () => (state.ui.target && state.ui.target.mode === 'redirect')
      ? dial(state.ui.query)
      : startTarget(c, 'redirect'), { icon: 'redirect', pressed: state.ui.target && state.ui.target.mode === 'redirect' }));
  } else if (s === 'connected') {
    b.push(button('call.clear', () => leave(c, 'clear'), { icon: 'hangup', cls: 'btn stop' }));
    if (held) b.push(button('call.retrieve', () => callAction(held, 'retrieve'), { icon: 'play' }));
    else if (can('hold')) b.push(button('call.hold', () => callAction(c, 'hold'), { icon: 'hold' }));
    const tg = state.ui.target;
    if (can('consult') && can('transfer')) b.push(button('call.transfer', () => transferOrConference(c, 'transfer'), { icon: 'transfer', pressed: !!(tg && tg.mode === 'transfer') }));
    if (can('consult') && can('conference')) b.push(button('call.conference', () => transferOrConference(c, 'conference'), { icon: 'conference', pressed: !!(tg && tg.mode === 'conference') }));
  } else if (s === 'held' || s === 'consultation_held') {
    if (can('retrieve')) b.push(button('call.retrieve', () => callAction(c, 'retrieve'), { icon: 'play', cls: 'btn go' }));
    b.push(button('call.clear', () => leave(c, 'clear'), { icon: 'hangup', cls: 'btn stop' }));
  }
  return h('div', { class: 'actions', role: 'toolbar', 'aria-label': t('call.actions') }, b);
}

function card(c) {
  const st = farState(c);
  const single = c.matches && c.matches.length === 1 ? c.matches[0] : null;
  return h('section', { class: `call ${st}`, 'aria-label': t(`dir.${c.direction}`) },
    h('div', { class: 'head' },
      h('span', { class: 'dir' }, t(`dir.${c.direction}`)),
      h('div', { class: 'line' },
        h('strong', { class: 'nm' }, nameOf(c)),
        single ? button('contact.record', () => openRecord(single.id), { icon: 'person', cls: 'btn ghost sm', focusKey: `rec:call:${single.id}` }) : null),
      h('span', { class: 'sub' }, c.number && c.number !== nameOf(c) ? c.number : '')),
    h('div', { class: 'status' },
      h('span', { class: `pill ${st}`, role: 'status' }, t(`state.${st}`)), since(c)),
    info(c),
    participants(c),
    matches(c),
    c.lookup === 'pending' ? h('p', { class: 'msg info', role: 'status' }, t('call.lookingUp')) : null,
    c.lookupError ? h('p', { class: 'msg info' }, t('call.lookupError')) : null);
}

// compact is another call of the agent: a button to show it, and Answer
// for a call waiting while the agent talks.
function compact(c) {
  return h('li', { class: `other ${c.state}` },
    h('button', {
      type: 'button', class: 'switch', 'data-focus': `switch:${c.id}`,
      'aria-label': t('call.switchTo', { name: nameOf(c) }),
      onclick: () => update((s) => { s.ui.focusId = c.id; }),
    }, h('span', { class: 'nm' }, nameOf(c)), h('span', { class: 'pill' }, t(`state.${c.state}`))),
    c.state === 'alerting' ? button('call.answer', () => callAction(c, 'answer'), { icon: 'phone', cls: 'btn go sm', focusKey: `answer:${c.id}` }) : null);
}

// popLink offers the record Salesforce refused to pop (twice) as a link
// that opens it in a new tab.
function popLink(c) {
  const f = state.ui.popFailed[c.id];
  if (!f) return null;
  return h('p', { class: 'msg warn', role: 'alert' }, t('pop.failed'), ' ',
    f.url ? h('a', { href: f.url, target: '_blank', rel: 'noopener' }, f.name) : h('strong', null, f.name));
}

/** callView renders the focused call with its actions and notes, and the other calls. */
export function callView(calls) {
  const c = calls[0];
  const showNotes = c.state !== 'alerting' && notesOn(c);
  return h('div', { class: 'incall' },
    card(c),
    popLink(c),
    actions(c),
    message('call'),
    calls.length > 1 ? h('ul', { class: 'others' }, calls.slice(1).map(compact)) : null,
    codes(c),
    showNotes ? notesEditor(c) : null);
}
