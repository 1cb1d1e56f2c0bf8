// Phone log-in for hot-desk users (extension + PIN) and ACD agents (agent
// ID), and the Salesforce sign-in screen.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { state, say } from '../state.js';
import { phoneSession } from '../actions.js';
import { signInPopup } from '../api.js';
import { message } from './dial.js';
import { kind } from './header.js';

function field(key, name, type = 'text', value = '') {
  return h('label', { class: 'field' }, h('span', null, t(key)),
    h('input', { name, type, defaultValue: value, required: true, autocomplete: 'off', 'data-focus': `login:${name}` }));
}

/** phoneLogin renders the log-in form of a logged-out hot-desk or ACD device. */
export function phoneLogin() {
  const acd = kind() === 'acd';
  const home = (state.me && state.me.agent && state.me.agent.homeExtension) || '';
  const submit = (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const vals = Object.fromEntries(f.entries());
    if (Object.values(vals).some((v) => !String(v).trim())) return say('login', t('login.required'));
    phoneSession('login', acd ? '/api/v1/device/acd-login' : '/api/v1/device/hotdesk-login', vals);
  };
  return h('form', { class: 'login', onsubmit: submit, novalidate: true },
    h('h2', null, t(acd ? 'login.acd' : 'login.hotdesk')),
    acd ? field('login.agentId', 'agentId') : [field('login.extension', 'extension', 'text', home), field('login.pin', 'pin', 'password')],
    message('login'),
    h('button', { type: 'submit', class: 'btn go wide' }, t('login.submit')));
}

/**
 * signInView offers the popup sign-in (one click: browsers open popups
 * only on a click) when the redirect cannot work or did not.
 */
export function signInView(start) {
  const go = () => signInPopup().then(start, (e) => say('signin', e.message === 'popup blocked'
    ? t('auth.popupBlocked') : t('auth.failed', { reason: e.message })));
  return h('div', { class: 'signin' },
    h('p', null, t('auth.needed')),
    h('button', { type: 'button', class: 'btn go wide', 'data-focus': 'signin', onclick: go }, t('auth.signIn')),
    message('signin'));
}
