// End to end through real workerd (`wrangler dev`): the origin CLI publishes
// the signed fixtures bundle into local KV, the worker serves the fixtures
// storefront with its slots filled.
//
// 1. Health names the live bundle and its key.
// 2. Home and product pages arrive with filled slots that obey the rules.
// 3. Two shoppers with different histories get different slots.
// 4. Without personalization consent no cookie is set, a profile cookie is
//    ignored and deleted, and slots are the same as for a new visitor;
//    regional defaults apply when the shopper has not chosen.
// 5. A forged profile cookie is ignored (treated as a new visitor).
// 6. The JSON endpoint agrees with the page; bad requests get a 4xx and a reason.
// 7. A tampered bundle in KV leaves every page unmodified, with status 200.
// 8. The kill switch (`P13N_DISABLED=1`) serves every page unmodified and
//    keeps no profile, with a good bundle live.
// 9. A cold isolate whose first load outlasts the page's budget
//    (`COLD_LOAD_BUDGET_MS=0`) serves that page unmodified (`x-p13n:
//    loading`), finishes loading in the background, and personalizes the
//    pages after it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUNDLE, CONSENTED, FP, PUBKEY, ROOT, browse, catalog, devProfile, forbidden, plantTamperedBundle, publish, slotItems, slotOf, startStore, startWrangler, tempState, updateJar } from './support.mjs';

const products = catalog();
const inLeaf = (leaf) => [...products.values()].filter((p) => p.category.at(-1) === leaf).map((p) => p.id);

function assertAllowed(ids, context) {
  assert.ok(ids.length > 0, `${context}: empty slot`);
  for (const id of ids) {
    const p = products.get(id);
    assert.ok(p, `${context}: ${id} is not in the catalog`);
    assert.equal(forbidden(p), null, `${context}: ${id} shown although ${forbidden(p)}`);
  }
}

describe('the fixtures store in wrangler dev', () => {
  let server;
  before(async () => {
    server = await startStore();
  });
  after(() => server?.stop());

  test('the fixture rules forbid something of every kind', () => {
    const reasons = new Set([...products.values()].map(forbidden).filter(Boolean).map((r) => r.replace(/\d+/g, 'N')));
    for (const r of ['only N in stock', 'regulated', 'flammable', 'discontinued', 'under the Electronics floor', 'under the Fashion margin floor']) {
      assert.ok(reasons.has(r), `no product is forbidden for "${r}"`);
    }
  });

  test('health reports the live bundle and its key', async () => {
    const res = await fetch(`${server.url}/p13n/health`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, 'ok');
    assert.equal(body.bundle.products, products.size);
    const verified = execFileSync(FP, ['verify', BUNDLE, '--pubkey', PUBKEY], { cwd: ROOT }).toString();
    assert.match(verified, new RegExp(`key id\\s+${body.bundle.key_id}`));
    assert.match(verified, new RegExp(`version\\s+${body.bundle.version}`));
  });

  test('the home page arrives with its slot filled by allowed products', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-p13n'), 'personalized');
    const slots = slotItems(await res.text());
    assert.equal(slots.length, 1);
    assert.match(slots[0].attrs, /data-p13n-state="personalized"/);
    assert.equal(slots[0].ids.length, 8);
    assertAllowed(slots[0].ids, 'home');
  });

  test('a product page shows allowed similar products and records the view', async () => {
    const phone = inLeaf('Smartphones')[0];
    const res = await fetch(`${server.url}/products/${phone}`, { headers: { cookie: CONSENTED } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-p13n'), 'personalized');
    assert.match(res.headers.get('set-cookie') ?? '', /^fp_profile=dev1\.[\w-]+\.[\w-]+; Path=\/; Max-Age=\d+; SameSite=Lax; HttpOnly$/);
    const slot = slotOf(await res.text(), 'similar');
    assert.equal(slot.ids.length, 6);
    assert.ok(!slot.ids.includes(phone), 'the product itself is not similar to itself');
    assertAllowed(slot.ids, `similar to ${phone}`);
    const sameLeaf = slot.ids.filter((id) => products.get(id).category.at(-1) === 'Smartphones').length;
    assert.ok(sameLeaf >= 3, `only ${sameLeaf} of ${slot.ids} are phones`);
  });

  test('two shoppers with different histories get different slots', async () => {
    const home = async (cookie) => {
      const res = await fetch(`${server.url}/`, { headers: { cookie } });
      return slotItems(await res.text())[0].ids;
    };
    const anonymous = await home(CONSENTED);
    const phones = await home(await browse(server.url, inLeaf('Smartphones').slice(0, 3)));
    const tea = await home(await browse(server.url, inLeaf('Tea').slice(0, 3)));
    assert.notDeepEqual(phones, tea);
    assert.notDeepEqual(phones, anonymous);
    assertAllowed(phones, 'phone shopper');
    assertAllowed(tea, 'tea shopper');
    assert.ok(phones.filter((id) => products.get(id).category[0] === 'Electronics').length >= 4, `${phones}`);
    assert.ok(tea.filter((id) => products.get(id).category[0] === 'Food & Drink').length >= 2, `${tea}`);
  });

  test('without personalization consent nothing personal is kept or used', async () => {
    // A new visitor's home in each region (regional exclusions differ).
    const anonymous = async (region) => slotItems(await (await fetch(`${server.url}/`, { headers: { cookie: CONSENTED, 'x-p13n-region': region } })).text())[0].ids;
    const profile = (await browse(server.url, inLeaf('Smartphones').slice(0, 3))).split('; ').find((c) => c.startsWith('fp_profile='));
    assert.ok(profile, 'a consenting shopper got a profile');
    for (const [cookie, region, why] of [
      [`fp_consent=analytics; ${profile}`, 'US', 'declined personalization'],
      [profile, 'DE', 'no choice in an opt-in region'],
      [`fp_consent=none; ${profile}`, 'DE', 'declined everything'],
    ]) {
      const product = await fetch(`${server.url}/products/${inLeaf('Tea')[0]}`, { headers: { cookie, 'x-p13n-region': region } });
      assert.equal(product.headers.get('x-p13n'), 'non-personal', why);
      assert.match(product.headers.get('set-cookie') ?? '', /^fp_profile=; .*Max-Age=0/, `${why}: the profile cookie is deleted`);
      const home = await fetch(`${server.url}/`, { headers: { cookie, 'x-p13n-region': region } });
      assert.deepEqual(slotItems(await home.text())[0].ids, await anonymous(region), `${why}: the slot is not personal`);
      const api = await (await fetch(`${server.url}/p13n/recommend?slot=home&k=8&viewed=${inLeaf('Tea').join(',')}`, { headers: { cookie, 'x-p13n-region': region } })).json();
      assert.equal(api.personalized, false, why);
    }
    const fresh = await fetch(`${server.url}/products/${inLeaf('Tea')[0]}`, { headers: { 'x-p13n-region': 'DE' } });
    assert.equal(fresh.headers.get('set-cookie'), null, 'no cookie at all for a new visitor without consent');
    const optOut = await fetch(`${server.url}/products/${inLeaf('Tea')[0]}`, { headers: { 'x-p13n-region': 'US' } });
    assert.match(optOut.headers.get('set-cookie') ?? '', /^fp_profile=dev1\./, 'opt-out region: on by default');
    // Cloudflare's codes for no country (unknown, Tor) are no region: the
    // rules' default for an unknown one (opt-in) applies.
    for (const nowhere of ['XX', 'T1']) {
      const r = await fetch(`${server.url}/products/${inLeaf('Tea')[0]}`, { headers: { 'x-p13n-region': nowhere } });
      assert.equal(r.headers.get('set-cookie'), null, `${nowhere}: a cookie without consent`);
    }
  });

  test('a forged profile cookie is ignored', async () => {
    const anonymous = slotItems(await (await fetch(`${server.url}/`, { headers: { cookie: CONSENTED } })).text())[0].ids;
    const jar = await browse(server.url, inLeaf('Smartphones').slice(0, 3));
    const profile = jar.split('; ').find((c) => c.startsWith('fp_profile=')).slice('fp_profile='.length);
    const [kid, payload, tag] = profile.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ v: inLeaf('Tea').slice(0, 3), n: 9, t: 0 })).toString('base64url');
    for (const forged of [`${kid}.${forgedPayload}.${tag}`, `dev0.${payload}.${tag}`, `${kid}.${payload}.${'A'.repeat(22)}`, 'x'.repeat(5000)]) {
      const res = await fetch(`${server.url}/`, { headers: { cookie: `${CONSENTED}; fp_profile=${forged}` } });
      assert.deepEqual(slotItems(await res.text())[0].ids, anonymous, forged.slice(0, 40));
      assert.match(res.headers.get('set-cookie') ?? '', /^fp_profile=dev1\./, 'replaced by a fresh profile');
    }
  });

  test('/p13n/recommend returns the ranking the page shows', async () => {
    const cookie = await browse(server.url, inLeaf('Yoga').slice(0, 2));
    const page = await (await fetch(`${server.url}/`, { headers: { cookie } })).text();
    const res = await fetch(`${server.url}/p13n/recommend?slot=home&k=8`, { headers: { cookie } });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.personalized, true);
    assert.deepEqual(body.items.map((i) => i.id), slotItems(page)[0].ids);
    assert.ok(body.items[0].reasons.length >= 8);
  });

  test('malformed requests get a 4xx that says why', async () => {
    const cases = [
      ['/p13n/recommend?slot=simlar', 400, /did you mean "similar"/],
      ['/p13n/recommend', 400, /missing parameter slot/],
      ['/p13n/recommend?slot=similar&product=NOPE', 400, /not in the catalog/],
      ['/p13n/recommend?slot=similar', 400, /needs a product/],
      ['/p13n/recommend?slot=home&k=abc', 400, /k must be a whole number/],
      ['/p13n/recommend?slot=home&k=1000', 400, /k must be between/],
      ['/p13n/recommend?slot=home&colour=red', 400, /unknown parameter "colour"/],
      ['/p13n/recommend?slot=home&viewed=%3Cscript%3E', 400, /not a product id/],
      ['/p13n/recommend?slot=%FF%FE', 400, /not valid UTF-8/],
      [`/p13n/recommend?slot=home&product=${'x'.repeat(3000)}`, 400, /longer than/],
      [`/p13n/search?q=tent&brand=${'x'.repeat(3000)}`, 400, /query string longer than 2048 bytes/],
      [`/p13n/search?q=${'a'.repeat(300)}`, 400, /256/],
      ['/p13n/nothing', 404, /no endpoint/],
    ];
    for (const [url, status, reason] of cases) {
      const res = await fetch(`${server.url}${url}`);
      assert.equal(res.status, status, url);
      assert.match((await res.json()).error, reason, url);
    }
  });

  test('assets that are not HTML pass through untouched', async () => {
    const res = await fetch(`${server.url}/style.css`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-p13n'), null);
    assert.equal(await res.text(), fs.readFileSync(path.join(ROOT, 'build/site/style.css'), 'utf8'));
  });
});

describe('a tampered bundle in KV', () => {
  let server;
  before(async () => {
    const state = tempState();
    plantTamperedBundle(state);
    server = await startWrangler(state);
  });
  after(() => server?.stop());

  test('pages are served unmodified with status 200', async () => {
    for (const [url, file] of [['/', 'index.html'], ['/products/SKU-00001', 'products/SKU-00001.html']]) {
      const res = await fetch(`${server.url}${url}`);
      assert.equal(res.status, 200, url);
      assert.equal(res.headers.get('x-p13n'), 'unmodified', url);
      assert.equal(await res.text(), fs.readFileSync(path.join(ROOT, 'build/site', file), 'utf8'), url);
    }
  });

  test('health says why there is no bundle', async () => {
    const res = await fetch(`${server.url}/p13n/health`);
    assert.equal(res.status, 503);
    assert.match((await res.json()).error, /section [A-Z]{4} at offset \d+ was modified/);
  });

  test('the JSON API answers its fallback (200, no items, the reason), not a 5xx', async () => {
    for (const url of ['/p13n/recommend?slot=home&k=4', '/p13n/recommend?slot=similar&product=SKU-00001', '/p13n/search?q=tent']) {
      const res = await fetch(`${server.url}${url}`, { headers: { cookie: CONSENTED } });
      assert.equal(res.status, 200, url);
      assert.equal(res.headers.get('x-p13n'), 'fallback', url);
      const body = await res.json();
      assert.equal(body.personalized, false, url);
      assert.deepEqual(body.items, [], url);
      // The kind of failure only: the detail is for the log and /p13n/health.
      assert.equal(body.fallback, 'unavailable', url);
      // The endpoint's usual fields, so a script reading them does not throw.
      if (url.startsWith('/p13n/search')) {
        assert.equal(body.total, 0, url);
        assert.deepEqual(body.query.terms, [], url);
        assert.ok(Array.isArray(body.facets.brands) && Array.isArray(body.facets.categories), url);
      } else {
        assert.ok(body.slot, url);
      }
    }
    // A bad request is still the caller's fault, bundle or not.
    assert.equal((await fetch(`${server.url}/p13n/recommend?slot=nope`)).status, 400);
  });

  test('the origin CLI refuses to publish it', () => {
    const state = tempState();
    const bytes = fs.readFileSync(BUNDLE);
    bytes[100] ^= 0x01;
    const file = path.join(state, 'bad.fpb');
    fs.writeFileSync(file, bytes);
    assert.throws(() => publish(state, file), /refused to publish/);
  });
});

describe('the kill switch', () => {
  let server;
  before(async () => {
    server = await startStore({ P13N_DISABLED: '1' });
  });
  after(() => server?.stop());

  test('pages pass through unmodified and no profile is kept', async () => {
    for (const [url, file] of [['/', 'index.html'], ['/products/SKU-00001', 'products/SKU-00001.html']]) {
      const res = await fetch(`${server.url}${url}`, { headers: { cookie: CONSENTED } });
      assert.equal(res.status, 200, url);
      assert.equal(res.headers.get('x-p13n'), 'disabled', url);
      assert.equal(res.headers.get('set-cookie'), null, url);
      assert.equal(await res.text(), fs.readFileSync(path.join(ROOT, 'build/site', file), 'utf8'), url);
    }
    const health = await fetch(`${server.url}/p13n/health`);
    assert.equal(health.status, 200, 'the bundle is still live for the JSON endpoints');
    await health.text();
  });
});

describe('profile keys that cannot be read', () => {
  let server;
  before(async () => {
    server = await startStore({ PROFILE_KEYS: 'not-a-key' });
  });
  after(() => server?.stop());

  test("shoppers' profile cookies are left alone, not deleted", async () => {
    const profile = devProfile({ i: 'kept-1', v: ['SKU-00001'], n: 1, t: Math.floor(Date.now() / 1000) });
    const res = await fetch(`${server.url}/products/SKU-00002`, { headers: { cookie: `${CONSENTED}; ${profile}` } });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(res.headers.get('set-cookie'), null, 'a misconfigured secret wiped the shopper\'s profile');
  });
});

// workerd cancels a request that awaits a promise another request made
// (as hung, a 500) when that request's context ends first: a cold isolate
// hit by many requests at once must load once and answer them all.
describe('a cold isolate hit by a burst', () => {
  const burst = (url, n) => Promise.all(Array.from({ length: n }, (_, i) => {
    const paths = ['/p13n/recommend?slot=home&k=4', `/p13n/recommend?slot=similar&product=SKU-0000${1 + (i % 8)}`, '/p13n/search?q=tent', '/', '/products/SKU-00002'];
    const p = paths[i % paths.length];
    return fetch(`${url}${p}`, { headers: { cookie: CONSENTED } })
      .then(async (res) => ({ path: p, status: res.status, tag: res.headers.get('x-p13n'), body: await res.text() }));
  }));

  test('with a bundle: one load, every request answered, the JSON ones from the bundle', async () => {
    const server = await startStore({}, '/style.css');
    try {
      const answers = await burst(server.url, 40);
      for (const a of answers) {
        assert.equal(a.status, 200, `${a.path}: ${a.body.slice(0, 300)}`);
        if (a.path.startsWith('/p13n/')) assert.ok(JSON.parse(a.body).items.length > 0, `${a.path}: ${a.body.slice(0, 300)}`);
      }
    } finally {
      server.stop();
    }
  });

  test('without one: every request answered, as often as the load is tried again', async () => {
    const server = await startWrangler(tempState(), {}, '/style.css');
    try {
      // A failed load is tried again after 5 s: burst across three tries.
      for (let round = 0; round < 3; round++) {
        for (const a of await burst(server.url, 40)) {
          assert.equal(a.status, 200, `round ${round}, ${a.path}: ${a.body.slice(0, 300)}`);
          assert.ok(['unmodified', 'fallback'].includes(a.tag), `round ${round}, ${a.path}: ${a.tag}`);
        }
        if (round < 2) await new Promise((r) => setTimeout(r, 5_100));
      }
    } finally {
      server.stop();
    }
  });
});

describe('a cold isolate over its load budget', () => {
  let server;
  before(async () => {
    server = await startStore({ COLD_LOAD_BUDGET_MS: '0' }, '/style.css');
  });
  after(() => server?.stop());

  test('the first page streams unmodified, the load finishes behind it', async () => {
    const first = await fetch(`${server.url}/`, { headers: { cookie: CONSENTED } });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-p13n'), 'loading');
    assert.equal(await first.text(), fs.readFileSync(path.join(ROOT, 'build/site/index.html'), 'utf8'));
    let state = 'loading';
    for (let i = 0; i < 50 && state === 'loading'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`${server.url}/`, { headers: { cookie: CONSENTED } });
      state = res.headers.get('x-p13n');
      const html = await res.text();
      if (state !== 'loading') assert.ok(slotItems(html).length > 0, 'slots filled once loaded');
    }
    assert.equal(state, 'personalized', 'a later page is personalized by the bundle loaded in the background');
  });
});
