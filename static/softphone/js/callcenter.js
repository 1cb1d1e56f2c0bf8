// The call center definition as the softphone sees it: Open CTI's
// getCallCenterSettings returns the imported definition as a flat map with
// path keys ("/reqGeneralInfo/reqAdapterUrl", "/section/label", ...). The
// adapter's own options live in the section "switchboardOptions".

/** flatten turns call center definition XML into that flat map. */
export function flatten(xml) {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const map = {};
  for (const sec of doc.querySelectorAll('callCenter > section')) {
    const s = sec.getAttribute('name');
    map[`/${s}/label`] = sec.getAttribute('label') || '';
    map[`/${s}/sortOrder`] = sec.getAttribute('sortOrder') || '';
    for (const item of sec.querySelectorAll(':scope > item')) {
      map[`/${s}/${item.getAttribute('name')}`] = item.textContent;
    }
  }
  return map;
}

const lines = (v) => String(v || '').split(/\r?\n/).map((x) => x.trim()).filter(Boolean);

/**
 * options reads the adapter's section: quick notes and wrap-up actions (one
 * per line). "Save & Exit" (the first wrap-up action) is the action "save".
 */
export function options(map = {}) {
  const get = (k) => map[`/switchboardOptions/${k}`];
  const wrap = lines(get('wrapUpActions'));
  return {
    quickNotes: lines(get('quickNotes')),
    wrapUpActions: wrap.slice(1).map((label) => ({ action: label, label })),
  };
}
