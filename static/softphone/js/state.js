// The softphone's state. Everything about calls, the device, settings,
// favorites and history comes from the server (snapshot + pushes), so a
// reload shows the same thing; `ui` holds only what is local to this view.

export const state = {
  /** 'loading' | 'signin' | 'ready' | 'problem' (set-up problem: state.problem says what to fix) */
  phase: 'loading',
  problem: '',
  me: null, // {agent, device, codes, config}
  device: null, // pbx.DeviceState
  calls: new Map(), // id -> CallView
  seq: 0,
  settings: null,
  favorites: [],
  history: {}, // list -> entries
  online: true,
  cti: { kind: 'none', console: false, origin: '', error: null }, // error: {reason, origin}
  ui: {
    list: 'favorites',
    query: '',
    results: null, // search results for ui.query
    searching: false,
    selected: null, // {number, name, id} picked with Edit Number to Dial
    dialpad: false,
    target: null, // {mode: 'transfer'|'conference'|'redirect', callId}
    focusId: null,
    menu: null, // id of the open menu: 'agent-menu' | 'wrap-<call>' | 'quick-<call>'
    settings: null, // draft settings while the window is open
    settingsTab: 'mivoice',
    msg: null, // {where, text, kind}
    notes: {}, // callId -> {subject, notes, quickNotes, status}
    notifyAsk: false,
    popFailed: {}, // callId -> {id, name, url}: a screen pop Salesforce refused twice
  },
};

const listeners = [];
let queued = false;

/** subscribe registers fn to run after every batch of updates. */
export function subscribe(fn) { listeners.push(fn); }

/** update applies fn to the state and schedules one render for the batch. */
export function update(fn) {
  if (fn) fn(state);
  if (queued) return;
  queued = true;
  queueMicrotask(() => {
    queued = false;
    for (const l of listeners) l(state);
  });
}

/** say shows an inline message next to `where` (search, target, notes:<id>, ...). */
export function say(where, text, kind = 'error') {
  const msg = { where, text, kind };
  update((s) => { s.ui.msg = msg; });
  // Information fades; errors stay until the next action.
  if (kind === 'info') setTimeout(() => state.ui.msg === msg && update((s) => { s.ui.msg = null; }), 5000);
}

/** msgFor returns the inline message for where, if any. */
export const msgFor = (where) => (state.ui.msg && state.ui.msg.where === where ? state.ui.msg : null);

/** unsay removes the inline message (of `where` only, when given). */
export function unsay(where) {
  if (state.ui.msg && (!where || state.ui.msg.where === where)) update((s) => { s.ui.msg = null; });
}

/** myExt is the agent's extension. */
export const myExt = () => (state.device && state.device.extension) || (state.me && state.me.agent && state.me.agent.extension) || '';
