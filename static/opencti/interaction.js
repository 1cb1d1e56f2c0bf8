/*
 * Stand-in for Salesforce Classic's /support/api/NN.0/interaction.js, for
 * Switchboard's demo mode only (in production the softphone loads the real
 * script from the org).
 *
 * The JavaScript surface is Salesforce's documented one: sforce.interaction
 * and sforce.interaction.cti with positional arguments and a callback that
 * receives {result, error} (result often a JSON string, error undefined on
 * success). Salesforce does not document the frame messages interaction.js
 * exchanges with the page, so this stand-in uses the same envelope as the
 * Lightning script, with apiType 'interaction' and named arguments:
 *
 *   child -> parent  {methodName, callId, apiVersion, apiType: 'interaction', args}
 *   parent -> child  {methodName, callId, response: {result, error}}
 *
 * posted to / accepted from the origin in sfdcIFrameOrigin only. Listener
 * methods (cti.onClickToDial, onFocus) keep their callId; each later message
 * with it calls the listener with the response.
 */
(function () {
  'use strict';
  var params = new URLSearchParams(window.location.search);
  var parentOrigin = params.get('sfdcIFrameOrigin');
  var script = document.currentScript;
  var m = script && /\/support\/api\/(\d+\.0)\//.exec(script.src);
  var apiVersion = m ? m[1] : '67.0';
  if (!parentOrigin || window.parent === window) {
    console.error('interaction.js: the softphone URL needs sfdcIFrameOrigin and a parent frame');
    return;
  }

  var next = 0;
  var pending = {};
  var listeners = {};

  function send(methodName, args, callback, isListener) {
    var callId = 'interaction-' + Date.now().toString(36) + '-' + (++next);
    if (typeof callback === 'function') (isListener ? listeners : pending)[callId] = callback;
    window.parent.postMessage({
      methodName: methodName, callId: callId, apiVersion: apiVersion, apiType: 'interaction', args: args,
    }, parentOrigin);
  }

  window.addEventListener('message', function (ev) {
    if (ev.source !== window.parent || ev.origin !== parentOrigin) return;
    var d = ev.data;
    if (!d || typeof d !== 'object' || !d.callId || !d.response) return;
    var r = { result: d.response.result === undefined ? null : d.response.result };
    if (d.response.error !== undefined && d.response.error !== null) r.error = d.response.error;
    if (pending[d.callId]) {
      var cb = pending[d.callId];
      delete pending[d.callId];
      cb(r);
    } else if (listeners[d.callId]) {
      listeners[d.callId](r);
    }
  });

  // m2: a method with named positional arguments followed by a callback.
  function m2(name, names) {
    return function () {
      var a = Array.prototype.slice.call(arguments);
      var args = {};
      names.forEach(function (n, i) { if (a[i] !== undefined && typeof a[i] !== 'function') args[n] = a[i]; });
      send(name, args, a[names.length]);
    };
  }

  var interaction = {
    screenPop: m2('screenPop', ['url', 'force']),
    searchAndScreenPop: m2('searchAndScreenPop', ['searchParams', 'queryParams', 'callType']),
    searchAndGetScreenPopUrl: m2('searchAndGetScreenPopUrl', ['searchParams', 'queryParams', 'callType']),
    saveLog: m2('saveLog', ['object', 'saveParams']),
    isInConsole: m2('isInConsole', []),
    isVisible: m2('isVisible', []),
    setVisible: m2('setVisible', ['value']),
    getPageInfo: m2('getPageInfo', []),
    refreshPage: m2('refreshPage', []),
    refreshObject: m2('refreshObject', ['objectId', 'refreshFields', 'refreshRelatedLists', 'refreshFeed']),
    runApex: m2('runApex', ['apexClass', 'methodName', 'methodParams']),
    onFocus: function (listener) { send('onFocus', {}, listener, true); },
    cti: {
      getCallCenterSettings: m2('getCallCenterSettings', []),
      getSoftphoneLayout: m2('getSoftphoneLayout', []),
      setSoftphoneHeight: m2('setSoftphoneHeight', ['height']),
      setSoftphoneWidth: m2('setSoftphoneWidth', ['width']),
      enableClickToDial: m2('enableClickToDial', []),
      disableClickToDial: m2('disableClickToDial', []),
      onClickToDial: function (listener) { send('onClickToDial', {}, listener, true); },
      notifyInitializationComplete: function () { send('notifyInitializationComplete', {}); },
      getDirectoryNumbers: m2('getDirectoryNumbers', ['isGlobal', 'callCenterName']),
    },
  };

  window.sforce = window.sforce || {};
  window.sforce.interaction = interaction;
})();
