// The Settings window (MiVoice and Salesforce tabs, as in the guide),
// saved per agent with PUT /api/v1/settings.

import { h, button, icon, tips } from '../dom.js';
import { t } from '../i18n.js';
import { state, update, say } from '../state.js';
import { run } from '../actions.js';
import { logText, logging } from '../log.js';
import { message } from './dial.js';

const RULES = ['ani', 'dnis', 'digits', 'new_contact'];

/** applySettings makes the agent's settings take effect (tooltips, logs). */
export function applySettings(s) {
  tips.on = s.tooltips !== false;
  logging.on = !!s.logs;
}
let opener = null;

/** openSettings opens the window with a draft copy of the settings. */
export function openSettings() {
  opener = document.activeElement;
  update((s) => {
    const cur = s.settings || {};
    s.ui.settings = { ...cur, popOrder: [...(cur.popOrder || [])].filter((r) => RULES.includes(r)) };
    s.ui.settingsTab = 'mivoice';
    s.ui.menu = null;
  });
  requestAnimationFrame(() => document.querySelector('[data-focus="tab:mivoice"]')?.focus());
}

function close() {
  update((s) => { s.ui.settings = null; if (s.ui.msg && s.ui.msg.where === 'settings') s.ui.msg = null; });
  requestAnimationFrame(() => (opener && opener.isConnected ? opener : document.querySelector('[data-focus="settings.open"]'))?.focus());
}

async function saveSettings() {
  const r = await run('settings', 'PUT', '/api/v1/settings', state.ui.settings);
  if (r === undefined) return;
  update((s) => { s.settings = r || s.ui.settings; });
  applySettings(state.settings);
  close();
  say('global', t('settings.saved'), 'info');
}

const set = (k, v) => update((s) => { s.ui.settings[k] = v; });

function check(key, field) {
  return h('label', { class: 'check' },
    h('input', { type: 'checkbox', checked: !!state.ui.settings[field], 'data-focus': `set:${field}`, onchange: (e) => set(field, e.currentTarget.checked) }),
    h('span', null, t(key)));
}

function downloadLogs() {
  const a = h('a', { href: URL.createObjectURL(new Blob([logText()], { type: 'text/plain' })), download: 'switchboard-softphone.log' });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function mivoice() {
  const d = state.ui.settings;
  return [
    check('settings.tooltips', 'tooltips'),
    check('settings.editNumber', 'editNumberToDial'),
    check('settings.autoSave', 'autoSaveNotes'),
    check('settings.logs', 'logs'),
    d.logs ? h('button', { type: 'button', class: 'link', onclick: downloadLogs }, t('settings.downloadLogs')) : null,
    h('label', { class: 'field' }, h('span', null, t('settings.callSubject')),
      h('input', { type: 'text', maxlength: '255', value: d.callSubject || '', 'data-focus': 'set:callSubject', oninput: (e) => { d.callSubject = e.currentTarget.value; } })),
  ];
}

// move puts rule at index `to` of the pop order, or in "Do not pop" (to = null).
function move(rule, to) {
  const order = state.ui.settings.popOrder.filter((r) => r !== rule);
  if (to != null) order.splice(Math.max(0, Math.min(to, order.length)), 0, rule);
  set('popOrder', order);
  requestAnimationFrame(() => document.querySelector(`[data-focus="rule:${rule}"]`)?.focus());
}

function onDrop(ev, list) {
  ev.preventDefault();
  const rule = ev.dataTransfer.getData('text/plain');
  if (!RULES.includes(rule)) return;
  if (list === 'none') return move(rule, null);
  const li = ev.target.closest('li[data-rule]');
  const order = state.ui.settings.popOrder.filter((r) => r !== rule);
  let at = order.length;
  if (li && li.dataset.rule !== rule) {
    const box = li.getBoundingClientRect();
    at = order.indexOf(li.dataset.rule) + (ev.clientY > box.top + box.height / 2 ? 1 : 0);
  }
  move(rule, at);
}

function ruleItem(rule, i, inOrder, n) {
  const name = t(`rule.${rule}`);
  return h('li', {
    class: 'rule', draggable: 'true', 'data-rule': rule,
    ondragstart: (e) => { e.dataTransfer.setData('text/plain', rule); e.dataTransfer.effectAllowed = 'move'; },
  },
  icon('grip', 'grip'),
  h('span', { class: 'nm', tabindex: '-1', 'data-focus': `rule:${rule}` }, name),
  inOrder ? [
    button('settings.moveUp', () => move(rule, i - 1), { icon: 'up', cls: 'btn ghost xs', vars: { rule: name }, disabled: i === 0, focusKey: `up:${rule}`, tip: '' }),
    button('settings.moveDown', () => move(rule, i + 1), { icon: 'down', cls: 'btn ghost xs', vars: { rule: name }, disabled: i === n - 1, focusKey: `down:${rule}`, tip: '' }),
    button('settings.toDoNotPop', () => move(rule, null), { icon: 'x', cls: 'btn ghost xs', vars: { rule: name }, focusKey: `off:${rule}`, tip: '' }),
  ] : button('settings.toPop', () => move(rule, n), { icon: 'up', cls: 'btn ghost xs', vars: { rule: name }, focusKey: `on:${rule}`, tip: '' }));
}

// zone is one drop list: the pop order (named by the fieldset's legend) or
// "Do not pop" (with its own heading).
function zone(list, titleKey, rules, inOrder) {
  return h('div', { class: 'zone' },
    inOrder ? null : h('h4', null, t(titleKey)),
    h('ol', {
      class: `rules ${list}`, 'aria-label': t(titleKey), 'data-zone': list,
      ondragover: (e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; },
      ondrop: (e) => onDrop(e, list),
    }, rules.length ? rules.map((r, i) => ruleItem(r, i, inOrder, rules.length)) : h('li', { class: 'hint empty' }, t('settings.empty'))));
}

function salesforce() {
  const d = state.ui.settings;
  const allOff = !d.outboundCallNotes && !d.inboundCallNotes && !d.internalCallNotes;
  const radio = (value, key) => h('label', { class: 'check' },
    h('input', { type: 'radio', name: 'popAt', value, checked: (d.popAt || 'ringing') === value, 'data-focus': `popAt:${value}`, onchange: () => set('popAt', value) }),
    h('span', null, t(key)));
  const order = d.popOrder;
  return [
    check('settings.outbound', 'outboundCallNotes'),
    check('settings.inbound', 'inboundCallNotes'),
    check('settings.internal', 'internalCallNotes'),
    allOff ? h('p', { class: 'msg info' }, t('settings.allNotesOff')) : null,
    h('fieldset', null, h('legend', null, t('settings.popAt')), radio('ringing', 'settings.popRinging'), radio('answered', 'settings.popAnswered')),
    h('fieldset', { class: 'order' }, h('legend', null, t('settings.popOrder')),
      h('p', { class: 'hint' }, t('settings.dragHint')),
      zone('pop', 'settings.popOrder', order, true),
      zone('none', 'settings.doNotPop', RULES.filter((r) => !order.includes(r)), false)),
  ];
}

function tabKeys(ev) {
  if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
  const next = state.ui.settingsTab === 'mivoice' ? 'salesforce' : 'mivoice';
  update((s) => { s.ui.settingsTab = next; });
  requestAnimationFrame(() => document.querySelector(`[data-focus="tab:${next}"]`)?.focus());
}

// dialogKeys: Escape cancels; Tab stays inside the (modal) window.
function dialogKeys(e) {
  if (e.key === 'Escape') return close();
  if (e.key !== 'Tab') return;
  const all = [...e.currentTarget.querySelectorAll('button:not([disabled]), input, select, textarea')]
    .filter((el) => el.tabIndex >= 0);
  const first = all[0];
  const last = all[all.length - 1];
  if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
  else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
}

/** settingsDialog renders the window while it is open. */
export function settingsDialog() {
  if (!state.ui.settings) return null;
  const tab = state.ui.settingsTab;
  const tabBtn = (id, key) => h('button', {
    type: 'button', role: 'tab', id: `tab-${id}`, class: 'stab', 'aria-selected': String(tab === id),
    'aria-controls': `panel-${id}`, tabindex: tab === id ? '0' : '-1', 'data-focus': `tab:${id}`,
    onclick: () => update((s) => { s.ui.settingsTab = id; }), onkeydown: tabKeys,
  }, t(key));
  return h('div', { class: 'scrim', onkeydown: dialogKeys },
    h('div', { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'settings-title' },
      h('h2', { id: 'settings-title' }, t('settings.title')),
      h('div', { class: 'stabs', role: 'tablist', 'aria-label': t('settings.title') },
        tabBtn('mivoice', 'settings.tabMivoice'), tabBtn('salesforce', 'settings.tabSalesforce')),
      h('div', { class: 'spanel', role: 'tabpanel', id: `panel-${tab}`, 'aria-labelledby': `tab-${tab}` },
        tab === 'mivoice' ? mivoice() : salesforce()),
      message('settings'),
      h('div', { class: 'foot' },
        h('button', { type: 'button', class: 'btn go', 'data-focus': 'set:save', onclick: saveSettings }, t('settings.save')),
        h('button', { type: 'button', class: 'btn ghost', 'data-focus': 'set:cancel', onclick: close }, t('settings.cancel')))));
}
