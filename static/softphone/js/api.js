// The agent API client and the sign-in (docs/agent-api.md). The token lives
// in memory, copied to sessionStorage where the browser allows it. Without
// one: a redirect sign-in when storage works (once per tab), else a Sign in
// button that opens a first-party popup; its /auth/callback page posts the
// token here (exact target origin, checked on receipt).

// Web storage where the browser allows it (a third-party frame with
// third-party storage blocked throws on every access): nothing here throws;
// a blocked store reads empty and drops writes.
function open(kind) {
  try {
    const s = window[kind];
    const k = 'switchboard.probe';
    s.setItem(k, '1');
    s.removeItem(k);
    return s;
  } catch {
    return null;
  }
}

const wrap = (s) => ({
  get: (k) => { try { return s ? s.getItem(k) : null; } catch { return null; } },
  set: (k, v) => { try { if (s) s.setItem(k, v); } catch { /* full or blocked */ } },
  del: (k) => { try { if (s) s.removeItem(k); } catch { /* blocked */ } },
  keys: () => { try { return s ? Object.keys(s) : []; } catch { return []; } },
  ok: !!s,
});

/** session is the tab's sessionStorage, local the site's localStorage. */
export const session = wrap(open('sessionStorage'));
export const local = wrap(open('localStorage'));

export const TOKEN_KEY = 'switchboard.session';
const GUARD_KEY = 'switchboard.loginTried';
const EXPIRY_KEY = 'switchboard.session.expiresAt';

/** ApiError is a failed API call: status 0 means the network failed. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

const hooks = { unauthorized: () => {} };
/** onUnauthorized sets what happens when the session is missing or rejected. */
export function onUnauthorized(fn) { hooks.unauthorized = fn; }

let current = session.get(TOKEN_KEY);
let expiresAt = session.get(EXPIRY_KEY) || '';

/** token is the session token in memory (null when signed out). */
export const token = () => current;

function storeToken(tok, exp) {
  current = tok;
  expiresAt = exp || '';
  session.set(TOKEN_KEY, tok);
  if (exp) session.set(EXPIRY_KEY, exp);
  else session.del(EXPIRY_KEY);
}

/** dropToken forgets a rejected token. */
export function dropToken() {
  current = null;
  expiresAt = '';
  session.del(TOKEN_KEY);
  session.del(EXPIRY_KEY);
}

/** api calls the agent API and returns the decoded JSON body (null for 204). */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (current) headers.Authorization = `Bearer ${current}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'network', e.message);
  }
  if (res.status === 401) {
    hooks.unauthorized();
    throw new ApiError(401, 'unauthorized');
  }
  const text = res.status === 204 ? '' : await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = data && data.error;
    throw new ApiError(res.status, (err && err.code) || codeFor(res.status), err && err.message);
  }
  return data;
}

function codeFor(status) {
  return { 400: 'invalid_input', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 413: 'too_large', 503: 'unavailable' }[status] || 'internal';
}

/** loginURL is where the frame goes to sign in; it comes back to this page. */
export const loginURL = (ret = location.pathname + location.search) =>
  `/auth/login?return=${encodeURIComponent(ret)}`;

/** signIn starts the redirect sign-in, or returns false: offer the Sign in button. */
export function signIn() {
  if (!session.ok || session.get(GUARD_KEY)) return false;
  session.set(GUARD_KEY, String(Date.now()));
  location.assign(loginURL());
  return true;
}

/** signedIn clears the loop guard once the server accepted the session. */
export function signedIn() { session.del(GUARD_KEY); }

/**
 * signInPopup signs in in a first-party popup, whose /auth/callback posts
 * {type: 'switchboard.session', token | error}. Rejects: 'popup blocked'
 * or the sign-in's error.
 */
export function signInPopup() {
  const w = window.open(`${loginURL()}&prompt=interactive`, 'switchboard-signin', 'popup,width=520,height=680');
  if (!w) return Promise.reject(new Error('popup blocked'));
  return new Promise((resolve, reject) => {
    addEventListener('message', function got(ev) {
      if (ev.source !== w || ev.origin !== location.origin || !ev.data || ev.data.type !== 'switchboard.session') return;
      removeEventListener('message', got);
      if (!ev.data.token) return reject(new Error(ev.data.error || 'sign-in failed'));
      storeToken(ev.data.token);
      signedIn();
      resolve();
    });
  });
}

let refreshTimer = 0;

/** expiry returns when the current token expires (ms since epoch), or 0 if unknown. */
function expiry() {
  const known = Date.parse(expiresAt);
  if (known) return known;
  const parts = (current || '').split('.');
  if (parts.length === 3) {
    try {
      const claims = JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/')));
      if (claims.exp) return claims.exp * 1000;
    } catch { /* not a JWT */ }
  }
  return 0;
}

/**
 * keepFresh refreshes the token (POST /auth/refresh) a minute before it
 * expires; when the expiry is unknown it refreshes once now to learn it.
 */
export function keepFresh() {
  clearTimeout(refreshTimer);
  const exp = expiry();
  const wait = exp ? Math.max(5_000, exp - Date.now() - 60_000) : 0;
  refreshTimer = setTimeout(async () => {
    try {
      const r = await api('POST', '/auth/refresh');
      if (r && r.token) storeToken(r.token, r.expiresAt);
      keepFresh();
    } catch (e) {
      if (e.status !== 401) refreshTimer = setTimeout(keepFresh, 30_000);
    }
  }, wait);
}
