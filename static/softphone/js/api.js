// The agent API client and the sign-in session (docs/agent-api.md).
//
// The adapter's session token lives in sessionStorage["switchboard.session"]
// (written by /auth/callback). Without one, or when the server answers 401,
// the frame navigates to /auth/login?return=<this page>; if that already
// happened once in this tab and still failed, the softphone shows a Sign in
// button that runs the same flow in a popup instead (no redirect loop).

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

export const token = () => sessionStorage.getItem(TOKEN_KEY);

function storeToken(tok, expiresAt) {
  sessionStorage.setItem(TOKEN_KEY, tok);
  if (expiresAt) sessionStorage.setItem(EXPIRY_KEY, expiresAt);
  else sessionStorage.removeItem(EXPIRY_KEY);
}

/** api calls the agent API and returns the decoded JSON body (null for 204). */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const tok = token();
  if (tok) headers.Authorization = `Bearer ${tok}`;
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

/**
 * signIn starts the redirect sign-in unless it already failed once in this
 * tab; it returns false when the caller must offer the popup instead.
 */
export function signIn() {
  if (sessionStorage.getItem(GUARD_KEY)) return false;
  sessionStorage.setItem(GUARD_KEY, String(Date.now()));
  location.assign(loginURL());
  return true;
}

/** signedIn clears the loop guard once the server accepted the session. */
export function signedIn() { sessionStorage.removeItem(GUARD_KEY); }

/**
 * signInPopup runs the same sign-in in a popup; /auth/callback posts the
 * token to this frame (its opener, same origin only) and closes. Resolves
 * when the token arrived; rejects if the popup was blocked or sign-in failed.
 */
export function signInPopup() {
  const w = window.open(`${loginURL()}&prompt=interactive`, 'switchboard-signin', 'popup,width=520,height=680');
  if (!w) return Promise.reject(new Error('popup blocked'));
  return new Promise((resolve, reject) => {
    addEventListener('message', function got(ev) {
      if (ev.origin !== location.origin || !ev.data || ev.data.type !== 'switchboard.session') return;
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
  const stored = Date.parse(sessionStorage.getItem(EXPIRY_KEY) || '');
  if (stored) return stored;
  const parts = (token() || '').split('.');
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
