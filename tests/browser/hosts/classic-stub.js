// A window.sforce.interaction stub standing in for Salesforce Classic's
// interaction.js inside the softphone frame: it records every call into the
// host page (window.parent.ctiCalls) and answers with canned {result}.
(function () {
  var host = window.parent;
  function rec(methodName, args) { host.ctiCalls.push({ methodName: methodName, args: args, apiType: 'stub' }); }
  function fn(name, names, answer) {
    return function () {
      var a = Array.prototype.slice.call(arguments), args = {};
      names.forEach(function (n, i) { args[n] = a[i]; });
      rec(name, args);
      var cb = a[names.length];
      if (typeof cb === 'function') setTimeout(function () { cb({ result: answer(args) }); }, 0);
    };
  }
  var settings = JSON.stringify({ '/reqGeneralInfo/reqAdapterUrl': location.origin + '/softphone/', '/reqGeneralInfo/reqInternalName': 'Stub' });
  window.sforce = { interaction: {
    screenPop: fn('screenPop', ['url', 'force'], function () { return true; }),
    searchAndScreenPop: fn('searchAndScreenPop', ['searchParams', 'queryParams', 'callType'], function () { return '{}'; }),
    saveLog: fn('saveLog', ['object', 'saveParams'], function () { return true; }),
    isInConsole: fn('isInConsole', [], function () { return !!host.classicConsole; }),
    isVisible: fn('isVisible', [], function () { return !!host.panelVisible; }),
    setVisible: fn('setVisible', ['value'], function (a) { host.setPanel(!!a.value); return true; }),
    getPageInfo: fn('getPageInfo', [], function () { return '{}'; }),
    cti: {
      getCallCenterSettings: fn('getCallCenterSettings', [], function () { return settings; }),
      enableClickToDial: fn('enableClickToDial', [], function () { return true; }),
      disableClickToDial: fn('disableClickToDial', [], function () { return true; }),
      onClickToDial: function (listener) { rec('onClickToDial', {}); host.classicListeners.onClickToDial = listener; },
      notifyInitializationComplete: function () { rec('notifyInitializationComplete', {}); },
      setSoftphoneHeight: fn('setSoftphoneHeight', ['height'], function () { return true; }),
      setSoftphoneWidth: fn('setSoftphoneWidth', ['width'], function () { return true; }),
    },
  } };
})();
