// Idle state: Favorites (alphabetical) and the four call history lists.

import { h, button } from '../dom.js';
import { t, when, duration } from '../i18n.js';
import { state, update } from '../state.js';
import { loadHistory } from '../actions.js';
import { entry, message } from './dial.js';

const LISTS = [
  ['favorites', 'list.favorites', 'star'],
  ['all', 'list.all', 'list'],
  ['missed', 'list.missed', 'missed'],
  ['received', 'list.received', 'incoming'],
  ['outgoing', 'list.outgoing', 'outgoing'],
];

function show(list) {
  update((s) => { s.ui.list = list; s.ui.msg = null; });
  if (list !== 'favorites') loadHistory(list);
}

function historyRow(e) {
  const kind = e.direction === 'outgoing' || e.direction === 'outbound' ? 'history.out' : e.missed ? 'history.missed' : 'history.in';
  const extra = [t(kind), when(e.time), e.duration ? duration(e.duration) : ''].filter(Boolean).join(' · ');
  if (e.withheld) {
    // No number to call back or keep as a favorite.
    return h('li', { class: 'entry withheld' }, h('span', { class: 'ic sm' }),
      h('span', { class: 'dialnum' }, h('span', { class: 'nm' }, t('number.withheld')), h('span', { class: 'sub' }, extra)));
  }
  return entry({ id: e.recordId, name: e.name, number: e.number, type: e.type }, 'list', extra);
}

function body() {
  const list = state.ui.list;
  if (list === 'favorites') {
    const favs = [...state.favorites].sort((a, b) => (a.name || a.number).localeCompare(b.name || b.number, undefined, { sensitivity: 'base' }));
    if (!favs.length) return h('p', { class: 'hint' }, t('fav.empty'));
    return h('ul', { class: 'entries', 'aria-label': t('list.favorites') },
      favs.map((f) => entry({ id: f.id, name: f.name, number: f.number, type: f.type }, 'list')));
  }
  const entries = state.history[list];
  if (!entries) return h('p', { class: 'hint' }, t('list.loading'));
  if (!entries.length) return h('p', { class: 'hint' }, t('list.empty'));
  const name = LISTS.find((l) => l[0] === list)[1];
  return h('ul', { class: 'entries', 'aria-label': t(name) }, entries.map(historyRow));
}

/** lists renders the list buttons and the chosen list. */
export function lists() {
  return h('section', { class: 'lists' },
    h('div', { class: 'tabs', role: 'group', 'aria-label': t('list.lists') },
      LISTS.map(([id, key, ic]) => button(key, () => show(id), { icon: ic, cls: 'btn ghost tab', pressed: state.ui.list === id }))),
    message('list'),
    body());
}
