// Test host: plays Salesforce around the softphone iframe and records every
// Open CTI call in window.ctiCalls. Query: mode=lightning|classic,
// console=1 (Classic Console), visible=0 (panel starts minimized),
// stub=1 (Classic: interaction.js is replaced by classic-stub.js, a
// window.sforce.interaction stub that records into this page), width=px,
// path=softphone path (default /softphone/), softphone=the softphone's
// origin (another site than this page's, as in Salesforce), refusePop=n
// (answer the next n screenPop calls with success: false).
import { OpenCtiHost, softphoneURL } from '/demo/opencti-host.js';

const q = new URLSearchParams(location.search);
const mode = q.get('mode') || 'lightning';
const inConsole = q.get('console') === '1';
const iframe = document.getElementById('softphone');
iframe.style.width = `${q.get('width') || 300}px`;
window.ctiCalls = [];
window.pops = [];
window.panelVisible = q.get('visible') !== '0';
window.classicConsole = inConsole;
window.setPanel = (visible) => {
  window.panelVisible = visible;
  document.getElementById('panel').classList.toggle('closed', !visible);
};
window.setPanel(window.panelVisible);
iframe.src = softphoneURL(mode, { console: inConsole, base: q.get('path') || '/softphone/', softphone: q.get('softphone') || '' });

if (q.get('stub') !== '1') {
  window.host = new OpenCtiHost(iframe, {
    mode, console: inConsole, visible: window.panelVisible, refuse: { screenPop: Number(q.get('refusePop') || 0) },
    on(ev, d) {
      if (ev === 'call') window.ctiCalls.push({ methodName: d.methodName, args: d.args, apiType: d.apiType, apiVersion: d.apiVersion });
      if (ev === 'pop') window.pops.push(d);
      if (ev === 'panel') window.setPanel(d.visible);
    },
  });
  window.clickToDial = (p) => window.host.clickToDial(p);
} else {
  // classic-stub.js (inside the cross-site frame) reports each call by
  // postMessage {stub: {methodName, args, id}}; calls that need the page's
  // answer get {stubReply: id, result}.
  const origin = new URL(iframe.src, location.href).origin;
  let clickToDial = false;
  addEventListener('message', (ev) => {
    if (ev.source !== iframe.contentWindow || ev.origin !== origin || !ev.data || !ev.data.stub) return;
    const { methodName, args, id } = ev.data.stub;
    window.ctiCalls.push({ methodName, args, apiType: 'stub' });
    if (methodName === 'onClickToDial') clickToDial = true;
    let result;
    if (methodName === 'isInConsole') result = inConsole;
    if (methodName === 'isVisible') result = window.panelVisible;
    if (methodName === 'setVisible') { window.setPanel(!!args.value); result = true; }
    if (id) iframe.contentWindow.postMessage({ stubReply: id, result }, origin);
  });
  window.clickToDial = ({ number, recordId = '', objectType = 'Contact' }) => {
    if (!clickToDial) return false;
    iframe.contentWindow.postMessage({ stubClick: { result: JSON.stringify({ number, objectId: recordId, objectName: objectType, displayName: `${objectType}s` }) } }, origin);
    return true;
  };
}
