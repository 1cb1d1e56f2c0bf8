// Post call: notes, codes, Wrap Up (and its actions), the work timer.

import { h, button, icon } from '../dom.js';
import { t, duration } from '../i18n.js';
import { state, update, say } from '../state.js';
import { run } from '../actions.js';
import { wrapUp, notesOn } from '../notes.js';
import { message } from './dial.js';
import { options } from '../callcenter.js';
import { notesEditor, codes } from './notes.js';
import { nameOf } from './call.js';
import { menuKeys } from './header.js';

/** The configured wrap-up actions besides Save & Exit (call center definition). */
const wrapActions = () => options(state.cti.settings).wrapUpActions;

function talkTime(c) {
  const a = Date.parse(c.answered), e = Date.parse(c.ended);
  return a && e && e > a ? duration((e - a) / 1000) : '';
}

function wrap(c) {
  const id = `wrap-${c.id}`;
  const open = state.ui.menu === id;
  const items = [{ action: 'save', label: t('wrap.save') }, ...wrapActions()];
  return h('div', { class: 'wrap' },
    button('wrap.up', () => wrapUp(c, 'save'), { icon: 'check', text: t('wrap.text'), cls: 'btn go wide' }),
    button('wrap.menu', () => update((s) => { s.ui.menu = open ? null : id; }), { icon: 'caret', cls: 'btn go', haspopup: 'menu', expanded: open, controls: id }),
    open ? h('div', { class: 'menu up', role: 'menu', id, 'aria-label': t('wrap.menu'), onkeydown: menuKeys },
      items.map((x) => h('button', { type: 'button', role: 'menuitem', class: 'mi', onclick: () => wrapUp(c, x.action) }, x.label))) : null);
}

/** postView renders the oldest call waiting for wrap-up. */
export function postView(c) {
  return h('section', { class: 'post', 'aria-label': t('post.title') },
    h('div', { class: 'head' },
      h('span', { class: 'dir' }, t('post.title')),
      h('strong', { class: 'nm' }, nameOf(c)),
      h('span', { class: 'sub' }, [c.number !== nameOf(c) ? c.number : '', talkTime(c)].filter(Boolean).join(' · '))),
    codes(c),
    notesOn(c) ? notesEditor(c) : null,
    wrap(c),
    message('wrap'));
}

/** workTimer renders the running work timer and its cancel button. */
export function workTimer() {
  const d = state.device;
  if (!d || !d.workTimer) return null;
  const cancel = () => {
    if (d.classificationPending) return say('timer', t('worktimer.needsClass'));
    run('timer', 'POST', '/api/v1/device/work-timer/cancel');
  };
  return h('div', { class: 'timer', role: 'group', 'aria-label': t('worktimer') },
    icon('timer'), h('span', null, t('worktimer')),
    d.workTimerEnds ? h('span', { class: 'dur', 'data-until': d.workTimerEnds }, '') : null,
    button('worktimer.cancel', cancel, { icon: 'x', cls: 'btn stop sm' }),
    message('timer'));
}
