// Call notes (subject, free text, quick notes) and the account and
// classification codes, shown during the call and after it.

import { h, button, icon } from '../dom.js';
import { t } from '../i18n.js';
import { state, update, unsay } from '../state.js';
import { draft, edit } from '../notes.js';
import { run } from '../actions.js';
import { message } from './dial.js';
import { options } from '../callcenter.js';
import { menuKeys, kind } from './header.js';

/** quickList are the administrator's predefined notes (call center definition). */
const quickList = () => options(state.cti.settings).quickNotes;

function quickMenu(c, d, list) {
  const id = `quick-${c.id}`;
  const open = state.ui.menu === id;
  return h('div', { class: 'quick' },
    button('notes.quick', () => update((s) => { s.ui.menu = open ? null : id; }), {
      icon: 'note', text: t('notes.quick'), cls: 'btn ghost', haspopup: 'menu', expanded: open, controls: id, focusKey: `quick:${c.id}`,
    }),
    open ? h('div', { class: 'menu', role: 'menu', id, 'aria-label': t('notes.quick'), onkeydown: menuKeys },
      list.map((q) => h('button', {
        type: 'button', role: 'menuitem', class: 'mi',
        onclick: () => { update((s) => { s.ui.menu = null; }); if (!d.quickNotes.includes(q)) edit(c, 'quickNotes', [...d.quickNotes, q], true); },
      }, q))) : null,
    d.quickNotes.length ? h('ul', { class: 'chips' }, d.quickNotes.map((q) => h('li', null, h('span', null, q),
      button('notes.removeQuick', () => edit(c, 'quickNotes', d.quickNotes.filter((x) => x !== q), true), {
        icon: 'x', cls: 'btn ghost xs', vars: { note: q }, tip: '', focusKey: `rmq:${c.id}:${q}`,
      })))) : null);
}

/** notesEditor renders the call log fields of a call. */
export function notesEditor(c) {
  const d = draft(c);
  const list = quickList();
  const status = d.status === 'saving' ? t('notes.saving') : d.status === 'saved' ? t('notes.saved') : '';
  return h('section', { class: 'notes', 'aria-label': t('notes.title') },
    h('h3', null, icon('note'), t('notes.title'), h('span', { class: 'saved', role: 'status' }, status)),
    h('label', { class: 'field' }, h('span', null, t('notes.subject')),
      h('input', { type: 'text', maxlength: '255', value: d.subject, 'data-focus': `subject:${c.id}`, oninput: (e) => edit(c, 'subject', e.currentTarget.value) })),
    h('label', { class: 'field' }, h('span', null, t('notes.notes')),
      h('textarea', { rows: '3', maxlength: '32000', 'data-focus': `notes:${c.id}`, value: d.notes, oninput: (e) => edit(c, 'notes', e.currentTarget.value) })),
    list.length ? quickMenu(c, d, list) : null,
    message(`notes:${c.id}`));
}

function codeSelect(c, key, list, current, path) {
  const id = `${key}-${c.id}`;
  return h('div', { class: 'field code' },
    h('label', { for: id }, t(key)),
    h('select', {
      id, 'data-focus': id,
      onchange: async (e) => {
        const code = e.currentTarget.value;
        if (code && await run('codes', 'POST', `/api/v1/calls/${c.id}/${path}`, { code }) !== undefined) unsay('timer');
      },
    }, h('option', { value: '', selected: !current }, t('codes.none')),
    list.map((x) => h('option', { value: x.code, selected: x.code === current }, x.label || x.code))));
}

/** codes renders account codes (ACD agents) and classification codes (ACD calls) when configured. */
export function codes(c) {
  const cs = (state.me && state.me.codes) || {};
  const acct = kind() === 'acd' && (cs.accounts || []).length;
  const cls = c.acd && (cs.classifications || []).length;
  if (!acct && !cls) return null;
  return h('div', { class: 'codes' },
    acct ? codeSelect(c, 'codes.account', cs.accounts, c.accountCode, 'account-code') : null,
    cls ? codeSelect(c, 'codes.classification', cs.classifications, c.classificationCode, 'classification-code') : null,
    message('codes'));
}
