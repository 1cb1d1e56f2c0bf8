// Message catalogs. Every visible string, tooltip and accessible name of the
// softphone comes from /softphone/i18n/<lang>.json; the language follows the
// browser (navigator.languages), English when none of ours matches.

/** Languages with a catalog, in the order we prefer them on a tie. */
export const LANGS = ['en', 'fr', 'de', 'es'];

let messages = {};
let english = {};
/** Keys looked up but missing from the active catalog (tests assert it stays empty). */
export const missing = new Set();
/** The active language. */
export let lang = 'en';

/** pickLang returns the first of the browser's languages we have a catalog for. */
export function pickLang(prefs = navigator.languages || [navigator.language]) {
  for (const p of prefs) {
    const base = String(p).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

async function fetchCatalog(l) {
  const res = await fetch(`/softphone/i18n/${l}.json`, { cache: 'no-cache' });
  if (!res.ok) throw new Error(`catalog ${l}: HTTP ${res.status}`);
  return res.json();
}

/** load fetches the catalog for the browser's language (and English as the fallback). */
export async function load(l = pickLang()) {
  lang = l;
  english = await fetchCatalog('en');
  messages = l === 'en' ? english : await fetchCatalog(l).catch(() => english);
  document.documentElement.lang = l;
}

/**
 * t returns the message for key with {name} placeholders filled from vars.
 * A key missing from the active catalog falls back to English and is
 * recorded in `missing`.
 */
export function t(key, vars) {
  let s = messages[key];
  if (s === undefined) {
    missing.add(key);
    s = english[key] ?? key;
  }
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m));
  return s;
}

/** has reports whether the active catalog defines key. */
export const has = (key) => key in messages;

/** Formats a duration in seconds as m:ss or h:mm:ss. */
export function duration(sec) {
  sec = Math.max(0, Math.floor(sec));
  const h = Math.floor(sec / 3600), m = Math.floor(sec / 60) % 60, s = sec % 60;
  const two = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** Formats a time of day (or a date for older entries) in the active language. */
export function when(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const sameDay = d.toDateString() === new Date().toDateString();
  return new Intl.DateTimeFormat(lang, sameDay
    ? { hour: '2-digit', minute: '2-digit' }
    : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(d);
}

/** errText is the message for an API error code. */
export const errText = (code) => t(`err.${code}` in messages ? `err.${code}` : 'err.internal');
