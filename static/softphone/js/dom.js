// Tiny DOM helpers: h() builds elements, icon() inline SVG, button() the
// softphone's buttons (accessible name and tooltip from the catalog).

import { t, has } from './i18n.js';

// Properties the view owns when it passes them: morph() keeps them in step.
const OWNED = ['value', 'checked', 'selected'];

/** h creates an element: props are class, on<event>, owned properties or attributes. */
export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (OWNED.includes(k)) {
      if (v == null) continue;
      el[k] = v;
      (el._props ||= []).push(k);
    } else if (v == null || v === false) {
      continue;
    } else if (k === 'class') {
      el.className = v;
    } else if (k.startsWith('on') && typeof v === 'function') {
      el[k] = v;
    } else if (k === 'defaultValue') {
      el.defaultValue = v;
    } else {
      el.setAttribute(k, v === true ? '' : v);
    }
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids) {
    if (k == null || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

// 24x24 stroke icons (paths only; drawn with currentColor).
const PATHS = {
  phone: 'M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2',
  hangup: 'M3 15c5-5 13-5 18 0l-2.5 2.5-3.5-1.5v-3a11 11 0 0 0-6 0v3l-3.5 1.5z',
  hold: 'M9 5v14M15 5v14',
  play: 'M7 5l12 7-12 7z',
  transfer: 'M4 8h14M14 4l4 4-4 4M20 16H6M10 12l-4 4 4 4',
  conference: 'M8 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6M16 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6M2 20c0-3 3-5 6-5s6 2 6 5M12 16c1-1 2.5-1 4-1 3 0 6 2 6 5',
  redirect: 'M4 18c0-6 4-10 12-10M12 4l4 4-4 4M20 20H12',
  dialpad: 'M6 5h.01M12 5h.01M18 5h.01M6 11h.01M12 11h.01M18 11h.01M6 17h.01M12 17h.01M18 17h.01M12 22h.01',
  star: 'M12 3l2.8 5.8 6.2.9-4.5 4.4 1 6.2L12 17.4l-5.5 2.9 1-6.2L3 9.7l6.2-.9z',
  person: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8M4 21c0-4 4-7 8-7s8 3 8 7',
  headset: 'M4 14v-2a8 8 0 0 1 16 0v2M4 14h3v6H4zM17 14h3v6h-3zM20 20c0 1-1 2-3 2h-3',
  gear: 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6M19 12l2-1-1-3-2 .3-1.5-1.5.3-2-3-1-1 2h-2l-1-2-3 1 .3 2L6.6 7.3 4.6 7l-1 3 2 1v2l-2 1 1 3 2-.3 1.5 1.5-.3 2 3 1 1-2h2l1 2 3-1-.3-2 1.5-1.5 2 .3 1-3-2-1z',
  logout: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10',
  list: 'M8 6h12M8 12h12M8 18h12M4 6h.01M4 12h.01M4 18h.01',
  missed: 'M4 6l7 7 4-4 5 5M20 8v6h-6',
  incoming: 'M18 6L8 16M8 8v8h8',
  outgoing: 'M6 18L16 8M8 8h8v8',
  caret: 'M7 10l5 5 5-5',
  x: 'M6 6l12 12M18 6L6 18',
  up: 'M12 19V5M6 11l6-6 6 6',
  down: 'M12 5v14M6 13l6 6 6-6',
  note: 'M5 4h10l4 4v12H5zM9 12h6M9 16h4',
  grip: 'M9 6h.01M15 6h.01M9 12h.01M15 12h.01M9 18h.01M15 18h.01',
  timer: 'M12 21a8 8 0 1 0 0-16 8 8 0 0 0 0 16M12 9v4l2 2M10 2h4',
  check: 'M5 12l5 5 9-10',
};

const HANDLERS = ['onclick', 'oninput', 'onchange', 'onkeydown', 'onsubmit', 'ondragstart', 'ondragover', 'ondrop'];

/**
 * morph updates the live tree `old` in place to look like `next` (same
 * element kept where the tag matches at the same position), so focus,
 * caret, scroll and a click in progress survive a re-render.
 */
export function morph(old, next) {
  if (old.nodeType !== next.nodeType || old.nodeName !== next.nodeName) {
    old.replaceWith(next);
    return;
  }
  if (old.nodeType !== 1) {
    if (old.nodeValue !== next.nodeValue) old.nodeValue = next.nodeValue;
    return;
  }
  for (const a of [...old.attributes]) if (!next.hasAttribute(a.name)) old.removeAttribute(a.name);
  for (const a of next.attributes) if (old.getAttribute(a.name) !== a.value) old.setAttribute(a.name, a.value);
  for (const p of HANDLERS) if (old[p] !== next[p]) old[p] = next[p];
  // value / checked / selected only where the view owns them
  for (const p of next._props || []) if (old[p] !== next[p]) old[p] = next[p];
  const oc = [...old.childNodes];
  const nc = [...next.childNodes];
  nc.forEach((n, i) => (i < oc.length ? morph(oc[i], n) : old.append(n)));
  for (let i = nc.length; i < oc.length; i++) oc[i].remove();
}

/** icon returns a decorative inline SVG. */
export function icon(name, cls = '') {
  const span = document.createElement('span');
  span.className = `ic ${cls}`;
  span.setAttribute('aria-hidden', 'true');
  span.innerHTML = `<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="${PATHS[name]}"/></svg>`;
  return span;
}

/** Whether buttons carry a tooltip (the Tooltips setting). */
export const tips = { on: true };

/** button: accessible name t(key), tooltip t('tip.'+key) when on. */
export function button(key, onclick, opts = {}) {
  const name = t(key, opts.vars);
  const tip = tips.on ? (opts.tip ?? tipFor(key)) : null;
  return h('button', {
    type: 'button',
    class: opts.cls || 'btn',
    'aria-label': name,
    title: tip,
    'aria-pressed': opts.pressed == null ? null : String(!!opts.pressed),
    'aria-expanded': opts.expanded == null ? null : String(!!opts.expanded),
    'aria-haspopup': opts.haspopup || null,
    'aria-controls': opts.controls || null,
    disabled: !!opts.disabled,
    'data-focus': opts.focusKey || key,
    onclick,
  }, opts.icon ? icon(opts.icon) : null, opts.text != null ? h('span', { class: 'lbl' }, opts.text) : null);
}

function tipFor(key) {
  return has('tip.' + key) ? t('tip.' + key) : t(key);
}
