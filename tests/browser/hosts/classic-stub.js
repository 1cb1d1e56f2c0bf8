// A window.sforce.interaction stub standing in for Salesforce Classic's
// interaction.js inside the (cross-site) softphone frame: it reports every
// call to the host page by postMessage ({stub: {methodName, args, id}}),
// answers with canned {result}, and asks the page where the answer is the
// page's (isInConsole, isVisible, setVisible). Positional arguments and
// {result, error} callbacks as in Salesforce's documentation.
(function () {
  var host = window.parent;
  var origin = new URLSearchParams(location.search).get('sfdcIFrameOrigin');
  var next = 0, waiting = {}, clickListener = null;
  addEventListener('message', function (ev) {
    if (ev.source !== host || ev.origin !== origin || !ev.data) return;
    if (ev.data.stubReply && waiting[ev.data.stubReply]) {
      var cb = waiting[ev.data.stubReply];
      delete waiting[ev.data.stubReply];
      cb({ result: ev.data.result });
    }
    if (ev.data.stubClick && clickListener) clickListener(ev.data.stubClick);
  });
  function rec(methodName, args, cb) {
    var id = cb ? 'stub-' + (++next) : undefined;
    if (cb) waiting[id] = cb;
    host.postMessage({ stub: { methodName: methodName, args: args, id: id } }, origin);
  }
  function fn(name, names, answer) {
    return function () {
      var a = Array.prototype.slice.call(arguments), args = {};
      names.forEach(function (n, i) { args[n] = a[i]; });
      var cb = a[names.length];
      if (answer === ask) { rec(name, args, typeof cb === 'function' ? cb : function () {}); return; }
      rec(name, args);
      if (typeof cb === 'function') setTimeout(function () { cb({ result: answer(args) }); }, 0);
    };
  }
  function ask() {}
  var settings = JSON.stringify({ '/reqGeneralInfo/reqAdapterUrl': location.origin + '/softphone/', '/reqGeneralInfo/reqInternalName': 'Stub' });
  window.sforce = { interaction: {
    screenPop: fn('screenPop', ['url', 'force'], function () { return true; }),
    searchAndScreenPop: fn('searchAndScreenPop', ['searchParams', 'queryParams', 'callType'], function () { return '{}'; }),
    saveLog: fn('saveLog', ['object', 'saveParams'], function () { return true; }),
    isInConsole: fn('isInConsole', [], ask),
    isVisible: fn('isVisible', [], ask),
    setVisible: fn('setVisible', ['value'], ask),
    getPageInfo: fn('getPageInfo', [], function () { return '{}'; }),
    cti: {
      getCallCenterSettings: fn('getCallCenterSettings', [], function () { return settings; }),
      enableClickToDial: fn('enableClickToDial', [], function () { return true; }),
      disableClickToDial: fn('disableClickToDial', [], function () { return true; }),
      onClickToDial: function (listener) { clickListener = listener; rec('onClickToDial', {}); },
      notifyInitializationComplete: function () { rec('notifyInitializationComplete', {}); },
      setSoftphoneHeight: fn('setSoftphoneHeight', ['height'], function () { return true; }),
      setSoftphoneWidth: fn('setSoftphoneWidth', ['width'], function () { return true; }),
    },
  } };
})();
