// Open CTI: which Salesforce hosts the softphone (from the iframe URL),
// loading the org's own script, and one small interface over the Lightning
// (sforce.opencti) and Classic (sforce.interaction / .cti) APIs.
//
// Lightning loads us with ?mode=...&sfdcIframeOrigin=<org origin>; Classic
// with ?sfdcIFrameOrigin=<org origin>&sfdcIFrameHost=...&mode=...(&isdtp=..).
// We then load <origin>/support/api/<NN>.0/lightning/opencti_min.js or
// <origin>/support/api/<NN>.0/interaction.js (NN from ?apiVersion=, default
// 67.0). Opened bare at /softphone/ there is no Open CTI: everything but
// screen pops and click-to-dial still works.

import { log } from './log.js';

export const API_VERSION = '67.0';

// Script origins we accept: Salesforce's domains, or this server itself
// (demo mode serves stand-ins at the same paths). Anything else in the URL
// would let a crafted link run foreign script with the agent's session.
const TRUSTED = /\.(force\.com|salesforce\.com|visualforce\.com|salesforce-setup\.com|site\.com|cloudforce\.com)$/;

/** detect reads the iframe URL: {kind: 'lightning'|'classic'|'none', origin, version}. */
export function detect(search = location.search) {
  const p = new URLSearchParams(search);
  const version = /^\d{2,3}\.0$/.test(p.get('apiVersion') || '') ? p.get('apiVersion') : API_VERSION;
  const pick = (kind, raw) => {
    let u;
    try { u = new URL(raw); } catch { return { kind: 'none', reason: 'bad origin' }; }
    const ok = u.origin === location.origin || (u.protocol === 'https:' && TRUSTED.test(u.hostname));
    return ok ? { kind, origin: u.origin, version } : { kind: 'none', reason: `untrusted origin ${u.origin}` };
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
    popRecord: (id) => call('screenPop', { type: T.SOBJECT || 'sobject', params: { recordId: id } }),
    popNew: (entityName, fields) => call('screenPop', {
      type: T.NEW_RECORD_MODAL || 'newRecord',
      params: { entityName, defaultFieldValues: fields },
    }),
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
  const screenPop = (url) => call(i.screenPop.bind(i), url, true);
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
        if (p.number) listener(String(p.number), { id: p.objectId, name: p.objectName || p.displayName });
      });
    },
    popRecord: (id) => screenPop(`/${encodeURIComponent(id)}`),
    // /003/e is the new Contact page; con10 is its Phone field.
    popNew: (entityName, fields) => screenPop(entityName === 'Contact'
      ? `/003/e?con10=${encodeURIComponent(fields.Phone || '')}`
      : `/${entityName}/e`),
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
  popRecord: async () => {},
  popNew: async () => {},
  show: async () => {},
};

/** cti is the active adapter (none until start() loaded the org script). */
export let cti = none;

/** start detects the host, loads its script and returns the adapter. */
export async function start() {
  const d = detect();
  if (d.kind === 'none') {
    if (d.reason) log('open cti off:', d.reason);
    return cti;
  }
  try {
    await loadScript(scriptURL(d));
    const ok = d.kind === 'lightning'
      ? window.sforce && window.sforce.opencti
      : window.sforce && window.sforce.interaction && window.sforce.interaction.cti;
    if (!ok) throw new Error('script loaded without the Open CTI API');
    cti = d.kind === 'lightning' ? lightning() : classic();
  } catch (e) {
    log('open cti unavailable:', String(e));
  }
  return cti;
}
