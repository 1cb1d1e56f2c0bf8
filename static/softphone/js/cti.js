// Open CTI: which Salesforce frames the softphone (Lightning:
// ?mode&sfdcIframeOrigin; Classic: ?sfdcIFrameOrigin&sfdcIFrameHost&mode),
// loading the org's script from <origin>/support/api/<NN>.0/ (NN from
// ?apiVersion=, default 67.0), and one interface over both APIs. Opened
// bare at /softphone/ there is no Open CTI (no pops, no click-to-dial).

import { log } from './log.js';

export const API_VERSION = '67.0';

// Script origins we accept: Salesforce's domains, or this server itself
// (demo mode serves stand-ins at the same paths). Anything else in the URL
// would let a crafted link run foreign script with the agent's session.
const TRUSTED = /\.(force\.com|salesforce\.com|visualforce\.com|salesforce-setup\.com|site\.com|cloudforce\.com)$/;

/** allowedBy: origin matches a CSP frame-ancestors source ('self', https://*.x.com, ...). */
export function allowedBy(sources, origin) {
  return (sources || []).some((src) => {
    if (src === "'self'") return origin === location.origin;
    const m = /^(https?):\/\/(\*\.)?([^/:]+)(:\d+)?\/?$/.exec(src);
    if (!m) return false;
    const re = new RegExp(`^${m[1]}://${m[2] ? '([a-z0-9-]+\\.)+' : ''}${m[3].replace(/[.]/g, '\\.')}${m[4] || ''}$`, 'i');
    return re.test(origin);
  });
}

/**
 * detect reads the iframe URL: {kind, origin, version, reason}. The origin
 * must be Salesforce's, ours, or one allowed to frame us (sources).
 */
export function detect(search = location.search, sources = []) {
  const p = new URLSearchParams(search);
  const version = /^\d{2,3}\.0$/.test(p.get('apiVersion') || '') ? p.get('apiVersion') : API_VERSION;
  const pick = (kind, raw) => {
    let u;
    try { u = new URL(raw); } catch { return { kind: 'none', reason: 'bad origin', origin: String(raw).slice(0, 80) }; }
    const ok = u.origin === location.origin || (u.protocol === 'https:' && TRUSTED.test(u.hostname)) || allowedBy(sources, u.origin);
    return ok ? { kind, origin: u.origin, version } : { kind: 'none', reason: 'untrusted origin', origin: u.origin };
  };
  if (p.get('sfdcIframeOrigin')) return pick('lightning', p.get('sfdcIframeOrigin'));
  if (p.get('sfdcIFrameOrigin')) return pick('classic', p.get('sfdcIFrameOrigin'));
  return { kind: 'none' };
}

/** scriptURL is the org script for a detected host. */
export const scriptURL = (d) => d.kind === 'lightning'
  ? `${d.origin}/support/api/${d.version}/lightning/opencti_min.js`
  : `${d.origin}/support/api/${d.version}/interaction.js`;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(s);
  });
}

// Lightning: every method takes one object; callback({success, returnValue, errors}).
function lightning() {
  const o = window.sforce.opencti;
  const call = (method, args = {}) => new Promise((resolve) => {
    try {
      o[method]({ ...args, callback: (r) => resolve(r || { success: false }) });
    } catch (e) {
      resolve({ success: false, errors: [{ description: String(e) }] });
    }
  });
  const T = o.SCREENPOP_TYPE || {};
  return {
    kind: 'lightning',
    ready: () => call('notifyInitializationComplete'),
    settings: async () => {
      const r = await call('getCallCenterSettings');
      return r.success ? r.returnValue || {} : {};
    },
    // Lightning pops like Classic (the first match); "every match" is the
    // Classic Console behaviour (sforce.interaction.isInConsole).
    isConsole: async () => false,
    clickToDial: async (listener) => {
      await call('enableClickToDial');
      o.onClickToDial({ listener: (p) => listener(String(p.number ?? ''), { id: p.recordId, name: p.recordName, type: p.objectType }) });
    },
    popRecord: async (id) => (await call('screenPop', { type: T.SOBJECT || 'sobject', params: { recordId: id } })).success === true,
    popNew: async (entityName, fields) => (await call('screenPop', {
      type: T.NEW_RECORD_MODAL || 'newRecord',
      params: { entityName, defaultFieldValues: fields },
    })).success === true,
    recordURL: (origin, id) => `${origin}/lightning/r/${encodeURIComponent(id)}/view`,
    show: async () => {
      const r = await call('isSoftphonePanelVisible');
      if (!(r.success && r.returnValue && r.returnValue.visible)) await call('setSoftphonePanelVisibility', { visible: true });
    },
  };
}

// Classic: positional arguments, callback({result, error}); result is often
// a JSON string.
function classic() {
  const i = window.sforce.interaction;
  const call = (fn, ...args) => new Promise((resolve) => {
    try {
      fn(...args, (r) => resolve(r || {}));
    } catch (e) {
      resolve({ error: String(e) });
    }
  });
  const json = (v) => {
    if (typeof v !== 'string') return v || {};
    try { return JSON.parse(v); } catch { return {}; }
  };
  let consoleMode = false;
  const screenPop = async (url) => {
    const r = await call(i.screenPop.bind(i), url, true);
    return !r.error && r.result !== false && r.result !== 'false';
  };
  return {
    kind: 'classic',
    ready: async () => { i.cti.notifyInitializationComplete(); },
    settings: async () => json((await call(i.cti.getCallCenterSettings.bind(i.cti))).result),
    isConsole: async () => {
      const r = await call(i.isInConsole.bind(i));
      consoleMode = r.result === true || r.result === 'true';
      return consoleMode;
    },
    clickToDial: async (listener) => {
      await call(i.cti.enableClickToDial.bind(i.cti));
      i.cti.onClickToDial((r) => {
        const p = json(r && r.result);
        // objectName is the object (or, for a person account, the record)
        // name and displayName the tab's: the server reads the type from
        // the id and the name from Salesforce.
        if (p.number) listener(String(p.number), { id: p.objectId });
      });
    },
    popRecord: (id) => screenPop(`/${encodeURIComponent(id)}`),
    // /003/e is the new Contact page; con10 is its Phone field.
    popNew: (entityName, fields) => screenPop(entityName === 'Contact'
      ? `/003/e?con10=${encodeURIComponent(fields.Phone || '')}`
      : `/${entityName}/e`),
    recordURL: (origin, id) => `${origin}/${encodeURIComponent(id)}`,
    show: async () => {
      const r = await call(i.isVisible.bind(i));
      if (!(r.result === true || r.result === 'true')) await call(i.setVisible.bind(i), true);
    },
  };
}

const none = {
  kind: 'none',
  ready: async () => {},
  settings: async () => ({}),
  isConsole: async () => false,
  clickToDial: async () => {},
  popRecord: async () => true,
  popNew: async () => true,
  recordURL: () => '',
  show: async () => {},
};

/** cti is the active adapter (none until start() loaded the org script). */
export let cti = none;

/**
 * start detects the host, loads its script and returns the adapter; a
 * failure is in .error: {reason: 'untrusted origin'|'script', origin}.
 */
export async function start(sources = []) {
  const d = detect(location.search, sources);
  if (d.kind === 'none') {
    if (d.reason) {
      log('open cti off:', d.reason, d.origin);
      return { ...none, error: { reason: d.reason, origin: d.origin } };
    }
    return cti;
  }
  try {
    await loadScript(scriptURL(d));
    const ok = d.kind === 'lightning'
      ? window.sforce && window.sforce.opencti
      : window.sforce && window.sforce.interaction && window.sforce.interaction.cti;
    if (!ok) throw new Error('script loaded without the Open CTI API');
    cti = { ...(d.kind === 'lightning' ? lightning() : classic()), origin: d.origin };
  } catch (e) {
    log('open cti unavailable:', String(e));
    return { ...none, error: { reason: 'script', origin: d.origin } };
  }
  return cti;
}
