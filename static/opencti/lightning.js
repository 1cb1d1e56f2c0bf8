/*
 * Stand-in for Salesforce's /support/api/NN.0/lightning/opencti_min.js, for
 * Switchboard's demo mode only (in production the softphone loads the real
 * script from the org). It is the CHILD side of the Lightning Open CTI
 * wire protocol:
 *
 *   child -> parent  {methodName, callId, apiVersion, apiType: 'opencti', args}
 *   parent -> child  {methodName, callId, response: {success, returnValue, errors}}
 *
 * posted to / accepted from the origin in the iframe URL's sfdcIframeOrigin
 * only. Every method takes exactly one object argument; its `callback`
 * receives the response. Listener methods (onClickToDial,
 * onNavigationChange) keep their callId: each later message with it calls
 * the listener with the returnValue (the payload).
 *
 * Like the real script it refuses to start without the `mode` and
 * `sfdcIframeOrigin` query parameters. Unlike it, it accepts any parent
 * origin (the real one requires *.force.com / *.salesforce.com), because
 * the demo "org" is the Switchboard server itself.
 */
(function () {
  'use strict';
  var params = new URLSearchParams(window.location.search);
  var parentOrigin = params.get('sfdcIframeOrigin');
  var script = document.currentScript;
  var m = script && /\/support\/api\/(\d+\.0)\//.exec(script.src);
  var apiVersion = m ? m[1] : '67.0';
  if (!parentOrigin || !params.get('mode') || window.parent === window) {
    console.error('opencti: the softphone URL needs the mode and sfdcIframeOrigin parameters and a parent frame');
    return;
  }

  var next = 0;
  var pending = {};
  var listeners = {};

  function send(methodName, args, onResponse, listener) {
    var callId = 'opencti-' + Date.now().toString(36) + '-' + (++next);
    var clean = {};
    Object.keys(args).forEach(function (k) {
      if (typeof args[k] !== 'function') clean[k] = args[k];
    });
    if (listener) listeners[callId] = listener;
    else pending[callId] = onResponse;
    window.parent.postMessage({
      methodName: methodName, callId: callId, apiVersion: apiVersion, apiType: 'opencti', args: clean,
    }, parentOrigin);
  }

  window.addEventListener('message', function (ev) {
    if (ev.source !== window.parent || ev.origin !== parentOrigin) return;
    var d = ev.data;
    if (!d || typeof d !== 'object' || !d.callId || !d.response) return;
    var r = d.response;
    if (pending[d.callId]) {
      var cb = pending[d.callId];
      delete pending[d.callId];
      cb({ success: !!r.success, returnValue: r.returnValue === undefined ? null : r.returnValue, errors: r.errors || null });
    } else if (listeners[d.callId]) {
      listeners[d.callId](r.returnValue);
    }
  });

  function checkArgs(name, args) {
    if (args === undefined) return {};
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      throw new Error('sforce.opencti.' + name + ': takes exactly one object argument');
    }
    return args;
  }

  function method(name) {
    return function (args) {
      if (arguments.length > 1) throw new Error('sforce.opencti.' + name + ': takes exactly one object argument');
      args = checkArgs(name, args);
      send(name, args, function (response) {
        if (typeof args.callback === 'function') args.callback(response);
      });
    };
  }

  function listenerMethod(name) {
    return function (args) {
      if (arguments.length > 1) throw new Error('sforce.opencti.' + name + ': takes exactly one object argument');
      args = checkArgs(name, args);
      if (typeof args.listener !== 'function') throw new Error('sforce.opencti.' + name + ': listener must be a function');
      send(name, args, null, args.listener);
    };
  }

  var opencti = {
    SCREENPOP_TYPE: {
      URL: 'url', SOBJECT: 'sobject', OBJECTHOME: 'objecthome', LIST: 'list',
      SEARCH: 'search', NEW_RECORD_MODAL: 'newRecord', FLOW: 'flow',
    },
    CALL_TYPE: { INBOUND: 'inbound', OUTBOUND: 'outbound', INTERNAL: 'internal' },
  };
  [
    'screenPop', 'searchAndScreenPop', 'saveLog', 'enableClickToDial', 'disableClickToDial',
    'getAppViewInfo', 'setSoftphonePanelVisibility', 'isSoftphonePanelVisible',
    'setSoftphonePanelHeight', 'setSoftphonePanelWidth', 'setSoftphoneItemIcon',
    'setSoftphoneItemLabel', 'setSoftphonePanelIcon', 'setSoftphonePanelLabel',
    'notifyInitializationComplete', 'runApex', 'refreshView', 'getCallCenterSettings',
    'getSoftphoneLayout',
  ].forEach(function (n) { opencti[n] = method(n); });
  ['onClickToDial', 'onNavigationChange'].forEach(function (n) { opencti[n] = listenerMethod(n); });

  window.sforce = window.sforce || {};
  window.sforce.opencti = opencti;
})();
