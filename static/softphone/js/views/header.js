// The top bar: status menu, agent, Settings, phone Log out.

import { h, icon, button } from '../dom.js';
import { t } from '../i18n.js';
import { state, update } from '../state.js';
import { setStatus, phoneSession } from '../actions.js';
import { openSettings } from './settings.js';

/** kind is the agent's user type: regular, hotdesk or acd. */
export const kind = () => (state.me && state.me.agent && state.me.agent.kind) || (state.device && state.device.kind) || 'regular';

function statusClass(d) {
  if (d.dnd) return 'dnd';
  if (d.makeBusy) return 'busy';
  return 'free';
}

function statusText(d, reasons) {
  if (d.dnd) return t('agent.dnd');
  if (d.makeBusy) {
    const r = reasons.find((x) => x.code === d.reason);
    return r ? t('agent.makeBusyReason', { reason: r.label || r.code }) : t('agent.makeBusy');
  }
  return t('agent.available');
}

function menu(d, reasons) {
  const item = (label, checked, onclick, cls) => h('button', {
    type: 'button', role: 'menuitemradio', class: `mi ${cls || ''}`, 'aria-checked': String(checked), onclick,
  }, checked ? icon('check') : h('span', { class: 'ic' }), label);
  const items = [
    item(t('agent.available'), !d.dnd && !d.makeBusy, () => setStatus('free')),
    item(t('agent.dnd'), !!d.dnd, () => setStatus('dnd'), 'dnd'),
  ];
  if (reasons.length) {
    for (const r of reasons) {
      items.push(item(t('agent.makeBusyReason', { reason: r.label || r.code }), !d.dnd && d.makeBusy && d.reason === r.code, () => setStatus('busy', r.code), 'busy'));
    }
  } else {
    items.push(item(t('agent.makeBusy'), !d.dnd && !!d.makeBusy, () => setStatus('busy'), 'busy'));
  }
  return h('div', { class: 'menu', role: 'menu', id: 'agent-menu', 'aria-label': t('agent.status'), onkeydown: menuKeys }, items);
}

/** menuKeys moves focus in an open menu with the arrow keys; Escape closes it. */
export function menuKeys(ev) {
  const items = [...ev.currentTarget.querySelectorAll('[role^=menuitem]')];
  const i = items.indexOf(document.activeElement);
  if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
    ev.preventDefault();
    const n = (i + (ev.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
    items[n].focus();
  } else if (ev.key === 'Escape') {
    update((s) => { s.ui.menu = null; });
  }
}

/** header renders the top bar. */
export function header() {
  const d = state.device || {};
  const agent = (state.me && state.me.agent) || {};
  const codes = (state.me && state.me.codes) || {};
  const reasons = codes.reasons || [];
  const k = kind();
  const open = state.ui.menu === 'agent-menu';
  const agentBtn = button('agent.status', () => update((s) => { s.ui.menu = open ? null : 'agent-menu'; }), {
    icon: k === 'acd' ? 'headset' : 'person',
    cls: `btn agent ${statusClass(d)}`,
    haspopup: 'menu',
    expanded: open,
    controls: 'agent-menu',
  });
  const canLogOut = !!(state.me && state.me.canLogOut) && d.loggedIn !== false;
  return h('header', { class: 'top' },
    agentBtn,
    h('div', { class: 'who' },
      h('span', { class: 'name' }, agent.name || ''),
      h('span', { class: 'ext' }, d.extension || agent.extension || ''),
      h('span', { class: `st ${statusClass(d)}` }, statusText(d, reasons))),
    button('settings.open', openSettings, { icon: 'gear', cls: 'btn ghost' }),
    canLogOut ? button('logout', () => phoneSession('global', k === 'acd' ? '/api/v1/device/acd-logout' : '/api/v1/device/hotdesk-logout'), { icon: 'logout', cls: 'btn ghost' }) : null,
    open ? menu(d, reasons) : null);
}
