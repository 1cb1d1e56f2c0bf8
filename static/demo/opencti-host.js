// The PARENT side of Open CTI, playing Salesforce for a softphone iframe:
// the Lightning postMessage protocol (apiType 'opencti', one object argument,
// {success, returnValue, errors}) and the Classic one of our interaction.js
// stand-in (apiType 'interaction', {result, error} with JSON strings).
// The demo page and the browser tests use it; it records every call.

import { flatten } from '/softphone/js/callcenter.js';

/**
 * The softphone URL Salesforce would load for a host mode; softphone is
 * the softphone's origin when it is another site than this page (as in
 * Salesforce: the org's domain frames the adapter's).
 */
export function softphoneURL(mode, { console: inConsole = false, base = '/softphone/', softphone = '' } = {}) {
  base = softphone + base;
  const origin = location.origin;
  if (mode === 'classic') {
    const q = new URLSearchParams({ sfdcIFrameOrigin: origin, sfdcIFrameHost: 'web', mode: inConsole ? 'Console' : 'CallCenter' });
    if (inConsole) q.set('isdtp', 'vw');
    return `${base}?${q}`;
  }
  return `${base}?${new URLSearchParams({ mode: 'Lightning', sfdcIframeOrigin: origin })}`;
}

/**
 * loadSettings reads the call center definition this server offers for
 * import (/callcenter-definition.xml) and flattens it the way Salesforce's
 * getCallCenterSettings returns it ("/reqGeneralInfo/reqAdapterUrl", ...).
 */
export async function loadSettings() {
  const res = await fetch('/callcenter-definition.xml');
  return res.ok ? flatten(await res.text()) : {};
}

/**
 * OpenCtiHost answers one softphone iframe. opts: mode 'lightning' |
 * 'classic', console (Classic Console), visible (panel open), appView
 * (getAppViewInfo answer), on(event, detail) for the page to react
 * ('call' for every call, then 'pop', 'panel', 'item', 'size', 'log'),
 * refuse ({method: n}: answer the next n calls of method with a failure,
 * as Salesforce does when it cannot open a record).
 */
export class OpenCtiHost {
  constructor(iframe, opts = {}) {
    this.iframe = iframe;
    this.mode = opts.mode || 'lightning';
    this.console = !!opts.console;
    this.visible = opts.visible !== false;
    this.appView = opts.appView || { url: location.href, recordId: '', recordName: '', objectType: '' };
    this.on = opts.on || (() => {});
    this.refuse = { ...(opts.refuse || {}) };
    this.calls = [];
    this.clickToDialEnabled = false;
    this.initialized = false;
    this.listeners = {};
    this.origin = new URL(iframe.src || location.href, location.href).origin;
    this.settings = {};
    this.ready = loadSettings().then((m) => { this.settings = m; }, () => {});
    this.handle = this.handle.bind(this);
    addEventListener('message', this.handle);
  }

  stop() { removeEventListener('message', this.handle); }

  async handle(ev) {
    if (ev.source !== this.iframe.contentWindow || ev.origin !== this.origin) return;
    const d = ev.data;
    if (!d || typeof d !== 'object' || !d.callId || (d.apiType !== 'opencti' && d.apiType !== 'interaction')) return;
    const rec = { methodName: d.methodName, args: d.args || {}, apiType: d.apiType, apiVersion: d.apiVersion, at: Date.now() };
    this.calls.push(rec);
    this.on('call', rec);
    const classic = d.apiType === 'interaction';
    if (d.methodName === 'getCallCenterSettings') await this.ready;
    let out;
    try {
      if (this.refuse[d.methodName] > 0) {
        this.refuse[d.methodName]--;
        throw new Error(`${d.methodName} refused`);
      }
      out = this.answer(d.methodName, d.args || {}, d.callId, classic);
    } catch (e) {
      out = { error: String(e.message || e) };
    }
    if (out === undefined) return; // listener registration or no reply
    const response = classic
      ? (out.error ? { result: null, error: out.error } : { result: out.result ?? true })
      : (out.error
        ? { success: false, returnValue: null, errors: [{ code: out.code || 'GENERIC_ERROR', description: out.error, details: null }] }
        : { success: true, returnValue: out.value ?? null, errors: null });
    this.post(d.methodName, d.callId, response);
  }

  post(methodName, callId, response) {
    this.iframe.contentWindow.postMessage({ methodName, callId, response }, this.origin);
  }

  // answer returns {value} (Lightning) / {result} (Classic), {error}, or
  // undefined for no reply.
  answer(method, a, callId, classic) {
    const ok = (v) => (classic ? { result: v } : { value: v });
    switch (method) {
      case 'notifyInitializationComplete':
        this.initialized = true;
        return classic ? undefined : ok(null);
      case 'getCallCenterSettings':
        return classic ? { result: JSON.stringify(this.settings) } : ok(this.settings);
      case 'getSoftphoneLayout':
        return ok(classic ? JSON.stringify({}) : {});
      case 'enableClickToDial':
        this.clickToDialEnabled = true;
        return ok(classic ? true : null);
      case 'disableClickToDial':
        this.clickToDialEnabled = false;
        return ok(classic ? true : null);
      case 'onClickToDial':
      case 'onNavigationChange':
      case 'onFocus':
        this.listeners[method] = callId;
        return undefined;
      case 'screenPop':
        this.on('pop', classic ? { url: a.url, force: a.force } : { type: a.type, params: a.params || {} });
        if (!classic && !a.type) return { error: 'type is required', code: 'INVALID_PARAM' };
        return ok(classic ? true : null);
      case 'searchAndScreenPop':
        this.on('pop', { search: a.searchParams, callType: a.callType });
        return ok(classic ? JSON.stringify({}) : {});
      case 'saveLog':
        this.on('log', a.value || a.object);
        return ok(classic ? true : { recordId: '00T000000000001AAA' });
      case 'isInConsole':
        return { result: this.console };
      case 'isVisible':
        return { result: this.visible };
      case 'isSoftphonePanelVisible':
        return ok({ visible: this.visible });
      case 'setVisible':
      case 'setSoftphonePanelVisibility':
        this.visible = !!(classic ? a.value : a.visible);
        this.on('panel', { visible: this.visible });
        return ok(classic ? true : null);
      case 'getAppViewInfo':
      case 'getPageInfo':
        return classic ? { result: JSON.stringify(this.appView) } : ok(this.appView);
      case 'setSoftphoneItemIcon':
      case 'setSoftphoneItemLabel':
      case 'setSoftphonePanelIcon':
      case 'setSoftphonePanelLabel':
        this.on('item', { method, key: a.key, label: a.label });
        return ok(null);
      case 'setSoftphonePanelHeight':
      case 'setSoftphonePanelWidth':
      case 'setSoftphoneHeight':
      case 'setSoftphoneWidth':
        this.on('size', { method, height: a.heightPX ?? a.height, width: a.widthPX ?? a.width });
        return ok(classic ? true : null);
      case 'refreshView':
      case 'refreshPage':
      case 'refreshObject':
        return ok(true);
      case 'runApex':
        return ok(classic ? '' : { runApex: null });
      case 'getDirectoryNumbers':
        return { result: JSON.stringify({}) };
      default:
        return { error: `unknown method ${method}`, code: 'GENERIC_ERROR' };
    }
  }

  /** clickToDial plays a click on a phone number in Salesforce. Returns false when disabled. */
  clickToDial({ number, recordId = '', recordName = '', objectType = 'Contact' }) {
    const callId = this.listeners.onClickToDial;
    if (!this.clickToDialEnabled || !callId) return false;
    if (this.mode === 'classic') {
      // Classic's result: objectName is the object's name, displayName the
      // tab's (Salesforce's example: "Account", "Company"); no record name.
      this.post('onClickToDial', callId, { result: JSON.stringify({ number, objectId: recordId, objectName: objectType, displayName: `${objectType}s` }) });
    } else {
      this.post('onClickToDial', callId, { success: true, returnValue: { number, recordId, recordName, objectType }, errors: null });
    }
    return true;
  }

  /** named returns the recorded calls of one method. */
  named(method) { return this.calls.filter((c) => c.methodName === method); }
}
