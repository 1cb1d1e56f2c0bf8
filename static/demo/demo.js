// The demo page "plays Salesforce": it frames the softphone in a 300 px
// utility panel the way Lightning (or Classic / Console) loads it, answers
// its Open CTI calls, shows what it popped and the Tasks it logged, and
// places simulated calls to the demo agent.

import { OpenCtiHost, softphoneURL } from '/demo/opencti-host.js';

// The demo's strings (English only: the demo is a developer tool; the
// softphone itself is translated).
const TEXT = {
  title: 'Switchboard demo org',
  subtitle: 'This page plays Salesforce: the softphone on the left is the real one.',
  modes: 'Salesforce mode',
  modeLightning: 'Lightning',
  modeClassic: 'Classic',
  modeConsole: 'Console',
  phone: 'Phone',
  minimize: 'Minimize the phone panel',
  softphone: 'Softphone',
  placeCalls: 'Place a demo call to the agent',
  placeCallsHint: 'The PBX simulator rings the demo agent’s extension.',
  known: 'Known contact (Lucy Hall)',
  unknown: 'Unknown number',
  multi: 'Number shared by several records',
  queue: 'Call to the ACD queue',
  campaign: 'Call to a campaign line',
  ringing: 'Ringing extension {ext} from {from}…',
  queued: 'The call waits in the ACD queue {queue}. ACD agents logged in: {agents}.',
  queueNobody: 'none',
  queueHow: 'The demo agent (extension {ext}) is not an ACD agent. To answer queue calls, open {url} in a private window, sign in as Frankie Fox (ACD set 3001) and log in with agent ID 5001 or 5002.',
  callFailed: 'The simulator refused the call: {error}',
  page: 'Current page',
  nothingPopped: 'Nothing popped yet.',
  newContact: 'New Contact',
  close: 'Close',
  records: 'Records',
  recordsHint: 'Click a phone number to dial it from the softphone (click-to-dial).',
  clickToDialOff: 'Click-to-dial is not enabled by the softphone yet.',
  popped: 'Records the softphone popped',
  tasks: 'Tasks created',
  noTasks: 'No Task yet: finish a call and wrap it up.',
  subject: 'Subject',
  who: 'Who',
  type: 'Type',
  duration: 'Duration (s)',
  callObject: 'Call object',
  notes: 'Notes',
  ctiLog: 'Open CTI calls from the softphone',
};
const tr = (k, vars = {}) => (TEXT[k] || k).replace(/\{(\w+)\}/g, (m, v) => vars[v] ?? m);

for (const el of document.querySelectorAll('[data-t]')) el.textContent = tr(el.dataset.t);
for (const el of document.querySelectorAll('[data-t-label]')) el.setAttribute('aria-label', tr(el.dataset.tLabel));
for (const el of document.querySelectorAll('[data-t-title]')) el.title = tr(el.dataset.tTitle);

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids.filter((k) => k != null));
  return e;
};

const modeParam = new URLSearchParams(location.search).get('mode') || 'lightning';
const mode = modeParam === 'lightning' ? 'lightning' : 'classic';
const inConsole = modeParam === 'console';
document.querySelector(`[data-mode="${modeParam}"]`)?.setAttribute('aria-current', 'page');

const iframe = $('softphone');
iframe.src = softphoneURL(mode, { console: inConsole });

const host = new OpenCtiHost(iframe, { mode, console: inConsole, on: onHost });
window.demoHost = host;

function setPanel(visible) {
  $('panel').classList.toggle('closed', !visible);
  $('utility-item').setAttribute('aria-expanded', String(visible));
}
setPanel(true);
$('minimize').onclick = () => { host.visible = false; setPanel(false); };
$('utility-item').onclick = () => { host.visible = !host.visible; setPanel(host.visible); };

function onHost(event, d) {
  if (event === 'call') {
    const line = `${new Date(d.at).toLocaleTimeString()} ${d.methodName}(${JSON.stringify(d.args)})`;
    $('cti-log').prepend(el('li', { textContent: line }));
    while ($('cti-log').children.length > 50) $('cti-log').lastChild.remove();
  } else if (event === 'pop') {
    showPop(d);
  } else if (event === 'panel') {
    setPanel(d.visible);
  } else if (event === 'item') {
    if (d.label) $('item-label').textContent = d.label;
    if (d.key) $('item-icon').dataset.key = d.key;
  } else if (event === 'size') {
    if (d.width) $('panel').style.width = `${Math.max(200, Math.min(1920, d.width))}px`;
    if (d.height) iframe.style.height = `${Math.max(240, Math.min(2560, d.height))}px`;
  }
}

let info = { agentExtension: '1001', orgBaseUrl: '', numbers: {} };
const records = new Map();

function recordLabel(id) {
  const r = records.get(id);
  return r ? `${r.name} (${r.type})` : id;
}

function showPop(p) {
  const page = $('page');
  page.replaceChildren();
  let what;
  if (p.type === 'newRecord' || (p.url && p.url.startsWith('/003/e'))) {
    const phone = p.params ? (p.params.defaultFieldValues || {}).Phone : new URL(p.url, location.href).searchParams.get('con10');
    what = `${tr('newContact')} ${phone || ''}`;
    page.append(el('div', { className: 'modal', role: 'dialog', ariaLabel: tr('newContact') },
      el('h3', { textContent: tr('newContact') }),
      el('label', {}, 'Phone ', el('input', { value: phone || '', readOnly: true })),
      el('button', { type: 'button', textContent: tr('close'), onclick: () => page.replaceChildren(el('p', { textContent: tr('nothingPopped') })) })));
  } else {
    const id = p.params ? p.params.recordId || p.params.url || p.params.searchString : (p.url || '').replace(/^\//, '');
    what = recordLabel(id);
    const href = info.orgBaseUrl ? `${info.orgBaseUrl}/${id}` : null;
    page.append(el('div', { className: 'record' },
      el('h3', { textContent: what }),
      href ? el('a', { href, target: '_blank', rel: 'noopener', textContent: href }) : null));
  }
  $('popped').prepend(el('li', { textContent: `${new Date().toLocaleTimeString()} ${what}` }));
}

// Demo numbers, overridable by GET /demo/api/info.
const CALLS = [
  ['known', (n) => ({ from: n.known || '+14155550123', to: info.agentExtension, dnis: n.dnis || '+18005550100' })],
  ['unknown', (n) => ({ from: n.unknown || '+14155550199', to: info.agentExtension })],
  ['multi', (n) => n.multi && { from: n.multi, to: info.agentExtension }],
  ['queue', (n) => n.queue && { from: n.known || '+14155550123', to: n.queue, dnis: n.queue }],
  ['campaign', (n) => n.campaign && { from: n.unknown || '+14155550199', to: info.agentExtension, dnis: n.campaign }],
];

async function placeCall(body, key) {
  $('call-status').textContent = tr('ringing', { ext: body.to, from: body.from });
  const res = await fetch('/sim/v1/calls', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) {
    const e = await res.json().catch(() => ({}));
    $('call-status').textContent = tr('callFailed', { error: (e.error && e.error.message) || res.status });
  } else if (key === 'queue') {
    await showQueue(body.to);
  }
}

// showQueue says where a queue call went: which ACD agents are logged in
// (the simulator's devices) and how to log one in.
async function showQueue(queue) {
  let agents = [];
  try {
    const { devices = [] } = await (await fetch('/sim/v1/devices')).json();
    agents = devices.filter((d) => d.kind === 'acd' && d.loggedIn).map((d) => `${d.agentId || '?'} (${d.number})`);
  } catch { /* shown as none */ }
  $('call-status').replaceChildren(
    el('span', { textContent: tr('queued', { queue, agents: agents.join(', ') || tr('queueNobody') }) }), ' ',
    agents.length ? null : el('span', { textContent: tr('queueHow', { ext: info.agentExtension, url: `${location.origin}/softphone/` }) }));
}

function renderCallButtons() {
  const n = normalizeNumbers(info.numbers || {});
  $('call-buttons').replaceChildren(...CALLS.map(([key, body]) => {
    const b = body(n);
    return b ? el('button', { type: 'button', className: 'btn', textContent: tr(key), onclick: () => placeCall(b, key) }) : null;
  }).filter(Boolean));
}

function normalizeNumbers(raw) {
  const pick = (...keys) => keys.map((k) => raw[k]).find(Boolean);
  return {
    known: pick('known', 'contact', 'lucy', 'knownContact'),
    unknown: pick('unknown', 'unknownNumber'),
    multi: pick('multi', 'multiple', 'multiMatch', 'shared'),
    queue: pick('queue', 'acd', 'queueDnis', 'acdQueue'),
    dnis: pick('dnis'),
    campaign: pick('campaign', 'campaignDnis'),
  };
}

function renderRecords() {
  const list = info.records || [];
  for (const r of list) if (r.id) records.set(r.id, r);
  $('records').replaceChildren(...list.map((r) => el('li', {},
    el('span', { className: 'nm', textContent: `${r.name} · ${r.type}` }),
    ...(r.phones || [r.phone]).filter(Boolean).map((p) => el('button', {
      type: 'button', className: 'ctd', textContent: `☎ ${p}`,
      onclick: () => {
        if (!host.clickToDial({ number: p, recordId: r.id || '', recordName: r.name, objectType: r.type })) $('call-status').textContent = tr('clickToDialOff');
      },
    })))));
}

async function pollTasks() {
  try {
    const res = await fetch('/demo/api/tasks');
    if (res.ok) {
      const { tasks = [] } = await res.json();
      const body = $('tasks').tBodies[0];
      body.replaceChildren(...(tasks.length ? tasks.map((t) => el('tr', {},
        el('td', { textContent: t.Subject || '' }),
        el('td', { textContent: t.WhoId ? recordLabel(t.WhoId) : (t.WhatId ? recordLabel(t.WhatId) : '') }),
        el('td', { textContent: t.CallType || '' }),
        el('td', { textContent: t.CallDurationInSeconds ?? '' }),
        el('td', { textContent: t.CallObject || '' }),
        el('td', { textContent: t.Description || '' }))) : [el('tr', {}, el('td', { colSpan: 6, textContent: tr('noTasks') }))]));
    }
  } finally {
    setTimeout(pollTasks, 2000);
  }
}

async function start() {
  try {
    const res = await fetch('/demo/api/info');
    if (res.ok) info = { ...info, ...(await res.json()) };
  } catch { /* defaults */ }
  if (!info.records) {
    // The demo org's seeded records (salesforce/fakeorg/seed.go), with their
    // numbers stored the way people type them.
    const n = normalizeNumbers(info.numbers || {});
    info.records = [
      { name: 'Lucy Hall', type: 'Contact', phone: n.known || '+14155550123' },
      { name: 'Sam Patel', type: 'Contact', phones: ['(415) 555-0142', '(415) 555-0143'] },
      { name: 'Jordan Lee', type: 'Lead', phone: '415-555-0188' },
      { name: 'Acme Corporation', type: 'Account', phone: '(415) 555-0100' },
    ];
  }
  renderCallButtons();
  renderRecords();
  $('page').replaceChildren(el('p', { textContent: tr('nothingPopped') }));
  pollTasks();
}
start();
