// Message catalogs: English gives the guide's feature names; French, German
// and Spanish translate every key, and no English string is left on screen
// in any state when the browser prefers one of them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, openHost, repo, USERS } from './harness.js';

const catalog = (l) => JSON.parse(readFileSync(join(repo, 'static', 'softphone', 'i18n', `${l}.json`), 'utf8'));
const en = catalog('en');

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

describe('message catalogs', () => {
  it('English names every control exactly as the guide does', () => {
    const names = {
      'call.answer': 'Answer call', 'call.clear': 'Clear call', 'call.hold': 'Hold call', 'call.retrieve': 'Retrieve call',
      'call.transfer': 'Transfer call', 'call.conference': 'Conference', 'call.redirect': 'Redirect call', dialpad: 'Dial pad',
      'call.make': 'Make call', 'fav.add': 'Add favorite', 'list.all': 'All calls', 'list.missed': 'Missed call history',
      'list.received': 'Received call history', 'list.outgoing': 'Outgoing call history', 'settings.open': 'Settings',
      'contact.record': 'Contact record', 'wrap.up': 'Wrap up call',
      'settings.tooltips': 'Tooltips', 'settings.editNumber': 'Edit Number to Dial', 'settings.autoSave': 'Auto Save Notes',
      'settings.logs': 'Logs', 'settings.callSubject': 'Call Subject', 'settings.outbound': 'Outbound Call Notes',
      'settings.inbound': 'Inbound Call Notes', 'settings.internal': 'Internal Call Notes', 'settings.popRinging': 'Pop-Up at Ringing',
      'settings.popAnswered': 'Pop-Up at Answered', 'settings.popOrder': 'Pop-Up Order', 'settings.doNotPop': 'Do not pop',
    };
    for (const [k, v] of Object.entries(names)) assert.equal(en[k], v, k);
  });

  for (const l of ['fr', 'de', 'es']) {
    it(`${l} has every key, every placeholder, and no English left`, () => {
      const c = catalog(l);
      assert.deepEqual(Object.keys(c).sort(), Object.keys(en).sort());
      for (const [k, v] of Object.entries(en)) {
        const ph = (s) => (s.match(/\{\w+\}/g) || []).sort().join();
        assert.equal(ph(c[k]), ph(v), `${l} ${k} placeholders`);
        assert.ok(c[k].trim(), `${l} ${k} empty`);
      }
      // Only product names and words the language shares with English stay as they are.
      const same = Object.keys(en).filter((k) => c[k] === en[k]);
      const shared = ['settings.tabMivoice', 'settings.tabSalesforce', ...{ fr: ['call.participants', 'notes.notes'], de: ['login.pin'], es: ['login.pin'] }[l]];
      assert.deepEqual(same.filter((k) => !shared.includes(k)), []);
    });
  }
});

// englishOnly is every English message that the language translates
// differently, as a pattern over one whole string ({x} matches anything).
function englishOnly(l) {
  const c = catalog(l);
  return Object.keys(en).filter((k) => c[k] !== en[k])
    .map((k) => `^${en[k].replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '.*')}$`);
}

// leftovers collects the frame's visible texts, names, tooltips and
// placeholders that are English-only messages, and the keys t() missed.
async function leftovers(frame, patterns) {
  return frame.locator('body').evaluate(async (body, pats) => {
    const res = pats.map((p) => new RegExp(p, 's'));
    const seen = new Set();
    const walk = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) if (n.data.trim()) seen.add(n.data.trim());
    for (const el of body.querySelectorAll('[aria-label],[title],[placeholder]')) {
      for (const a of ['aria-label', 'title', 'placeholder']) if (el.getAttribute(a)) seen.add(el.getAttribute(a).trim());
    }
    const { missing } = await import('/softphone/js/i18n.js');
    const english = [...seen].filter((s) => res.some((r) => r.test(s)));
    return { english, missing: [...missing], document: document.documentElement.lang };
  }, patterns);
}

const LOCALES = { fr: ['fr-FR', USERS.regular2], de: ['de-DE', USERS.regular3], es: ['es-ES', USERS.hotdesk] };

describe('the softphone in other languages', () => {
  for (const [l, [locale, user]] of Object.entries(LOCALES)) {
    it(`shows no English string in ${locale}, in every state`, async () => {
      const { frame, context } = await openHost(browser, server, 'host', { user, locale });
      const pats = englishOnly(l);
      const check = async (state) => {
        const r = await leftovers(frame, pats);
        assert.equal(r.document, l);
        assert.deepEqual(r.english, [], `${state}: English left`);
        assert.deepEqual(r.missing, [], `${state}: keys missing`);
      };
      const by = (key) => frame.locator(`[data-focus="${key}"]`);
      const ext = { fr: '1002', de: '1003', es: '2001' }[l];
      if (l === 'es') {
        // a hot-desk user logs in to the phone first
        await frame.locator('form.login').waitFor();
        await check('phone log-in');
        await frame.locator('input[name=pin]').fill('1234');
        await frame.locator('form.login button[type=submit]').click();
        await by('logout').waitFor();
      }
      await check('idle');
      await by('agent.status').click();
      await frame.getByRole('menu').waitFor();
      await check('agent menu');
      await by('agent.status').click();
      await by('dialpad').click();
      await frame.locator('input[type=search]').fill('abc!');
      await by('call.make').click();
      await frame.getByRole('alert').waitFor();
      await check('dial pad and bad input');
      await frame.locator('input[type=search]').fill('');
      await by('list.all').click();
      await check('call list');
      await server.sim('POST', '/calls', { from: '+14155550142', to: ext, dnis: '+18005550100' });
      await by('call.answer').waitFor();
      await check('ringing');
      await by('call.answer').click();
      await by('call.hold').waitFor();
      await by('call.transfer').click();
      await by('call.transfer').click();
      await frame.getByRole('alert').waitFor();
      await check('connected, choosing a transfer target');
      await frame.locator('.target button').click();
      await frame.locator('.quick > button').click();
      await frame.getByRole('menu').waitFor();
      await check('quick notes');
      await frame.getByRole('menuitem').first().click();
      await by('call.clear').click();
      await by('wrap.menu').click();
      await check('post call');
      await by('wrap.up').click();
      await by('list.all').waitFor();
      await by('settings.open').click();
      await check('settings: MiVoice');
      await by('tab:salesforce').click();
      await frame.locator('ol[data-zone=pop]').waitFor();
      await check('settings: Salesforce');
      await by('set:cancel').click();
      await context.close();
    });
  }
});
