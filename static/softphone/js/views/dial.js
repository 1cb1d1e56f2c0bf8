// The search bar (names and numbers), the green Make call button, the dial
// pad (digits into the bar, or DTMF during a call) and the search results.
// The same bar picks the target of a transfer, conference or redirect.

import { h, button } from '../dom.js';
import { t } from '../i18n.js';
import { state, update, msgFor, unsay } from '../state.js';
import { dial, search, sendDigits, favoriteFor, toggleFavorite, openRecord } from '../actions.js';

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

/** message renders the inline message of a slot, if any. */
export function message(where) {
  const m = msgFor(where);
  return m ? h('p', { class: `msg ${m.kind}`, role: m.kind === 'error' ? 'alert' : 'status' }, m.text) : null;
}

/** entry renders one contact row: Contact record, click-to-dial, Add favorite. */
export function entry(e, where, extra) {
  const fav = !!favoriteFor(e.id, e.number);
  const label = e.name || e.number;
  return h('li', { class: 'entry' },
    e.id && e.id !== e.number
      ? button('contact.record', () => openRecord(e.id), { icon: 'person', cls: 'btn ghost sm', focusKey: `rec:${where}:${e.id}` })
      : h('span', { class: 'ic sm' }),
    h('button', {
      type: 'button',
      class: 'dialnum',
      'aria-label': t('dial.to', { name: label, number: e.number }),
      'data-focus': `dial:${where}:${e.id || ''}:${e.number}`,
      onclick: () => pick(e),
    }, h('span', { class: 'nm' }, label), h('span', { class: 'sub' }, [e.number, extra].filter(Boolean).join(' · '))),
    button('fav.add', () => toggleFavorite(e, where), { icon: 'star', cls: `btn ghost sm star ${fav ? 'on' : ''}`, pressed: fav, focusKey: `fav:${where}:${e.id || e.number}` }));
}

// pick: with Edit Number to Dial the number goes into the bar to edit,
// otherwise one click dials.
function pick(e) {
  if (state.settings && state.settings.editNumberToDial) {
    update((s) => { s.ui.query = e.number; s.ui.selected = e; s.ui.results = null; });
    requestAnimationFrame(() => document.querySelector('[data-focus=search]')?.focus());
  } else {
    dial(e.number, 'search');
  }
}

function onKey(ev) {
  if (ev.key === 'Enter') {
    ev.preventDefault();
    dial(ev.currentTarget.value);
  } else if (ev.key === 'Escape') {
    update((s) => { s.ui.query = ''; s.ui.results = null; s.ui.target = null; s.ui.msg = null; });
  }
}

function onInput(ev) {
  const q = ev.currentTarget.value;
  state.ui.query = q;
  state.ui.selected = null;
  unsay('search');
  search(q);
}

/** The call that receives DTMF from the pad, if any. */
function dtmfCall() {
  if (state.ui.target) return null;
  return [...state.calls.values()].find((c) => c.state === 'connected' && !c.postCall) || null;
}

function pad() {
  const c = dtmfCall();
  return h('div', { class: 'pad', role: 'group', 'aria-label': t('dialpad') },
    KEYS.map((k) => h('button', {
      type: 'button',
      class: 'key',
      'aria-label': t('dialpad.key', { key: k }),
      'data-focus': `key:${k}`,
      onclick: () => {
        if (c) sendDigits(c, k);
        else update((s) => { s.ui.query += k; unsay('search'); });
      },
    }, k)));
}

function results() {
  const { query, results: rs, searching } = state.ui;
  if (!query.trim() || state.ui.selected) return null;
  if (searching && !rs) return h('p', { class: 'hint' }, t('search.searching'));
  if (!rs) return null;
  if (!rs.length) return /^[+\d\s\-().*#]+$/.test(query) ? null : h('p', { class: 'hint' }, t('search.none', { q: query }));
  return h('ul', { class: 'entries results', 'aria-label': t('search.results') },
    rs.map((m) => entry({ id: m.id, name: m.name, number: m.phone || m.number, type: m.type }, 'search', m.type)));
}

function targetHint() {
  const tg = state.ui.target;
  if (!tg) return null;
  const text = tg.consultId
    ? t(tg.mode === 'transfer' ? 'target.completeTransfer' : 'target.completeConference')
    : t(`target.${tg.mode}`);
  return h('div', { class: 'target', role: 'status' },
    h('span', null, text),
    tg.consultId ? null : h('button', { type: 'button', class: 'link', onclick: () => update((s) => { s.ui.target = null; s.ui.msg = null; }) }, t('target.cancel')));
}

/** dialer renders the bar, the pad and the results. */
export function dialer() {
  return h('div', { class: 'dialer' },
    h('div', { class: 'bar' },
      h('input', {
        type: 'search',
        class: 'q',
        'aria-label': t('search.label'),
        placeholder: t('search.placeholder'),
        autocomplete: 'off',
        spellcheck: 'false',
        value: state.ui.query,
        'data-focus': 'search',
        oninput: onInput,
        onkeydown: onKey,
        'aria-invalid': msgFor('search') && msgFor('search').kind === 'error' ? 'true' : null,
      }),
      button('call.make', () => dial(state.ui.query), { icon: 'phone', cls: 'btn go' }),
      button('dialpad', () => update((s) => { s.ui.dialpad = !s.ui.dialpad; }), { icon: 'dialpad', cls: 'btn ghost', pressed: state.ui.dialpad })),
    targetHint(),
    message('search'),
    state.ui.dialpad ? pad() : null,
    results());
}
