// Live state from the server: the WebSocket /api/v1/ws (auth message first,
// then a snapshot and numbered events), reconnect with backoff, resync from
// GET /api/v1/state after a gap in seq or a reconnect.

import { api, token } from './api.js';
import { state, update, say } from './state.js';
import { errText } from './i18n.js';
import { log } from './log.js';

const callHooks = [];
/** onCall registers fn(call, previous) to run after a call appears or changes. */
export function onCall(fn) { callHooks.push(fn); }

let ws = null;
let backoff = 500;
let pingTimer = 0;
let retryTimer = 0;

/** connect opens the WebSocket (again). */
export function connect() {
  clearTimeout(retryTimer);
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`;
  const sock = new WebSocket(url);
  ws = sock;
  let gotSnapshot = false;
  sock.onopen = () => sock.send(JSON.stringify({ type: 'auth', token: token() }));
  sock.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (msg.type === 'snapshot') {
      gotSnapshot = true;
      backoff = 500;
      applyState(msg);
      update((s) => { s.online = true; });
      clearInterval(pingTimer);
      pingTimer = setInterval(() => sock.readyState === 1 && sock.send('{"type":"ping"}'), 25_000);
      return;
    }
    handle(msg);
  };
  sock.onclose = () => {
    clearInterval(pingTimer);
    if (ws !== sock) return;
    ws = null;
    update((s) => { s.online = false; });
    log('ws closed', { gotSnapshot, backoff });
    retryTimer = setTimeout(reconnect, backoff);
    backoff = Math.min(backoff * 2, 15_000) * (0.9 + Math.random() * 0.2);
  };
}

// reconnect resyncs over HTTP first: a 401 there ends the retries (the
// unauthorized hook takes over), any other failure retries later.
async function reconnect() {
  try {
    await resync();
  } catch (e) {
    if (e.status === 401) return;
  }
  connect();
}

/**
 * resync replaces calls and the device with GET /api/v1/state, unless
 * pushes newer than that state came meanwhile (it would undo them).
 */
export async function resync() {
  const s = await api('GET', '/api/v1/state');
  if (!(s.seq < state.seq)) applyState(s);
}

function applyState(s) {
  const prev = state.calls;
  update((st) => {
    st.seq = s.seq || 0;
    if (s.device) st.device = s.device;
    if (s.agent && st.me) st.me.agent = s.agent;
    st.calls = new Map((s.calls || []).map((c) => [c.id, c]));
  });
  for (const c of state.calls.values()) fire(c, prev.get(c.id));
}

function fire(call, before) {
  for (const fn of callHooks) {
    try { fn(call, before); } catch (e) { log('call hook failed', String(e)); }
  }
}

const claims = new Map();

/**
 * claimPop asks the server whether this tab pops a call (one tab per agent
 * and call wins: {"type":"claim_pop"} -> {"type":"pop_claim","granted"}).
 * Resolves null when the server cannot be asked (no socket, no answer in 3 s).
 */
export function claimPop(callId) {
  if (!ws || ws.readyState !== 1) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = (v) => { claims.delete(callId); clearTimeout(timer); resolve(v); };
    const timer = setTimeout(() => done(null), 3000);
    claims.set(callId, done);
    ws.send(JSON.stringify({ type: 'claim_pop', callId }));
  });
}

/** restart drops the socket and connects again (the agent's extension changed). */
export function restart() {
  const old = ws;
  ws = null;
  if (old) old.close();
  backoff = 500;
  resync().catch(() => {}).finally(connect);
}

function handle(msg) {
  if (msg.type === 'pong') return;
  if (msg.type === 'pop_claim') {
    const done = claims.get(msg.callId);
    if (done) done(!!msg.granted);
    return;
  }
  if (msg.type === 'error') {
    const code = msg.error && msg.error.code;
    if (code === 'unauthorized') api('GET', '/api/v1/state').catch(() => {});
    else say('global', errText(code));
    return;
  }
  if (typeof msg.seq === 'number' && state.seq) {
    if (msg.seq <= state.seq) return; // already in the snapshot
    if (msg.seq > state.seq + 1) {
      log('seq gap', { have: state.seq, got: msg.seq });
      resync().catch(() => {});
      return;
    }
  }
  log('event', msg.type, msg.call ? msg.call.id + ' ' + msg.call.state : '');
  const before = msg.call ? state.calls.get(msg.call.id) : undefined;
  update((s) => {
    if (typeof msg.seq === 'number') s.seq = msg.seq;
    switch (msg.type) {
      case 'call':
        s.calls.set(msg.call.id, msg.call);
        break;
      case 'call_ended':
        if (msg.call.postCall) s.calls.set(msg.call.id, msg.call);
        else dropCall(s, msg.call.id);
        break;
      case 'device':
        s.device = msg.device;
        break;
      case 'task': {
        const c = s.calls.get(msg.callId);
        if (c) s.calls.set(c.id, { ...c, taskId: msg.taskId });
        break;
      }
    }
  });
  if (msg.type === 'call' || msg.type === 'call_ended') fire(state.calls.get(msg.call.id) || msg.call, before);
  for (const fn of (topicHooks[msg.type] || [])) fn(msg);
}

const topicHooks = {};
/** on registers fn for pushes of one type ('settings', 'favorites', 'history', ...). */
export function on(type, fn) { (topicHooks[type] ||= []).push(fn); }

/** dropCall forgets a call and any view state tied to it. */
export function dropCall(s, id) {
  s.calls.delete(id);
  delete s.ui.notes[id];
  if (s.ui.target && (s.ui.target.callId === id || s.ui.target.consultId === id)) s.ui.target = null;
  if (s.ui.focusId === id) s.ui.focusId = null;
}
