// Test host: plays Salesforce around the softphone iframe and records every
// Open CTI call in window.ctiCalls. Query: mode=lightning|classic,
// console=1 (Classic Console), visible=0 (panel starts minimized),
// stub=1 (Classic: interaction.js is replaced by classic-stub.js, a
// window.sforce.interaction stub that records into this page), width=px,
// path=softphone path (default /softphone/).
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
iframe.src = softphoneURL(mode, { console: inConsole, base: q.get('path') || '/softphone/' });

if (q.get('stub') !== '1') {
  window.host = new OpenCtiHost(iframe, {
    mode, console: inConsole, visible: window.panelVisible,
    on(ev, d) {
      if (ev === 'call') window.ctiCalls.push({ methodName: d.methodName, args: d.args, apiType: d.apiType, apiVersion: d.apiVersion });
      if (ev === 'pop') window.pops.push(d);
      if (ev === 'panel') window.setPanel(d.visible);
    },
  });
  window.clickToDial = (p) => window.host.clickToDial(p);
} else {
  // classic-stub.js (inside the frame) calls these.
  window.classicListeners = {};
  window.clickToDial = ({ number, recordId = '', recordName = '' }) => {
    const l = window.classicListeners.onClickToDial;
    if (!l) return false;
    l({ result: JSON.stringify({ number, objectId: recordId, objectName: recordName, displayName: recordName }) });
    return true;
  };
}
