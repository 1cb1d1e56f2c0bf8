// Call notes: the agent's draft per call, saved to the server as they type
// (PUT /api/v1/calls/{id}/log) so a reload or another tab shows them; the
// wrap-up sends the last draft first. A failed save keeps the draft and
// retries on the next change or at wrap-up.

import { api } from './api.js';
import { state, update, say, unsay } from './state.js';
import { t, errText } from './i18n.js';
import { run } from './actions.js';
import { dropCall } from './live.js';

const timers = {};

/** draft returns (creating from the server's log) the notes draft of a call. */
export function draft(call) {
  let d = state.ui.notes[call.id];
  if (!d) {
    const log = call.log || {};
    const subject = log.subject || (state.settings && state.settings.callSubject) || '';
    d = state.ui.notes[call.id] = {
      subject,
      notes: log.notes || '',
      quickNotes: [...(log.quickNotes || [])],
      whoId: log.whoId || '',
      whatId: log.whatId || '',
      status: '',
    };
  }
  return d;
}

/** notesOn reports whether the agent's settings show notes for this call. */
export function notesOn(call) {
  const s = state.settings || {};
  if (call.redirected) return false;
  return { inbound: s.inboundCallNotes, outbound: s.outboundCallNotes, internal: s.internalCallNotes }[call.direction] !== false;
}

/** edit changes a field of the draft and schedules a save. */
export function edit(call, field, value, render = false) {
  const d = draft(call);
  d[field] = value;
  d.dirty = true;
  clearTimeout(timers[call.id]);
  timers[call.id] = setTimeout(() => save(call.id), 400);
  if (render) update();
}

/** save sends the draft now; resolves true when the server has it. */
export async function save(id) {
  clearTimeout(timers[id]);
  const d = state.ui.notes[id];
  if (!d || !d.dirty) return true;
  d.dirty = false;
  setStatus(id, 'saving');
  const body = { notes: d.notes, quickNotes: d.quickNotes, subject: d.subject, whoId: d.whoId, whatId: d.whatId };
  try {
    await api('PUT', `/api/v1/calls/${id}/log`, body);
    unsay(`notes:${id}`);
    setStatus(id, 'saved');
    return true;
  } catch (e) {
    d.dirty = true;
    setStatus(id, 'error');
    if (e.status !== 401) say(`notes:${id}`, `${t('notes.error')} ${e.status === 0 ? t('err.network') : errText(e.code)}`);
    return false;
  }
}

function setStatus(id, status) {
  const d = state.ui.notes[id];
  if (d) update(() => { d.status = status; });
}

/** pickMatch logs the call against one of several matching records. */
export function pickMatch(call, m) {
  // Task.WhoId takes a Contact or Lead; anything else goes in WhatId.
  edit(call, m.type === 'Contact' || m.type === 'Lead' ? 'whoId' : 'whatId', m.id, true);
}

const wrapping = new Set();

/**
 * wrapUp saves the notes and ends post-call work with an action ('save' =
 * Save & Exit). A second click while the first is on its way is ignored.
 */
export async function wrapUp(call, action = 'save') {
  update((s) => { s.ui.menu = null; });
  if (wrapping.has(call.id)) return;
  wrapping.add(call.id);
  try {
    if (!(await save(call.id))) return;
    const r = await run('wrap', 'POST', `/api/v1/calls/${call.id}/wrap-up`, { action });
    if (r !== undefined) {
      update((s) => {
        if (r && r.postCall) s.calls.set(r.id, r);
        else dropCall(s, call.id);
      });
    }
  } finally {
    wrapping.delete(call.id);
  }
}
