// Search at the edge, through real workerd: the search page arrives with
// its results at first paint, and GET /p13n/search answers the same
// engine as JSON.
//
// 1. Exact, typo'd (1 and 2 edits) and synonym queries find the products
//    a shopper means; the page shows the query as text.
// 2. A word the catalog does not use finds what it means there (WordNet's
//    related words, read at build time: skillet -> frying pan), words run
//    together are searched apart, and the page says what it searched; a
//    query unlike anything the store sells is reported empty, in the
//    x-p13n-search header (the zero-result readout counts it), rather
//    than rescued with products of the wrong kind.
// 3. The merchant's pin leads its query; nothing excluded ever shows;
//    query-string filters hold.
// 4. Bad requests get a 400 that names what is wrong.
// 5. Facets: the JSON counts the results by category, brand and price
//    band; the page renders them as filter links, and following one
//    gives as many results as it said.
// 6. A word in every product of a 4,500-product store: the search stops
//    once its page is settled and says its total is a lower bound; every
//    page is the one the exhaustive search (explain) serves.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CONSENTED, KEY, browse, catalog, firstpaint, forbidden, publish, slotOf, startStore, startWrangler, tempState } from './support.mjs';

const products = catalog();
const leaf = (id) => products.get(id).category.at(-1);
// Search may list what is out of stock (ranked lower); every other rule holds.
const forbiddenInSearch = (p) => {
  const why = forbidden(p);
  return why && !why.startsWith('only ') ? why : null;
};

describe('search at the edge', () => {
  let server;
  before(async () => {
    server = await startStore();
  });
  after(() => server?.stop());

  const get = (url, cookie = CONSENTED) => fetch(`${server.url}${url}`, { headers: { cookie, 'x-p13n-region': 'DE' } });
  const json = async (url, cookie) => {
    const res = await get(url, cookie);
    assert.equal(res.status, 200, await res.clone().text());
    return { res, body: await res.json() };
  };

  test('the search page arrives ranked, for exact and typo\'d words', async () => {
    for (const q of ['smartphone', 'smartphne', 'smrtphine']) {
      const res = await get(`/search?q=${q}`);
      assert.equal(res.headers.get('x-p13n-search'), 'matched', q);
      const html = await res.text();
      const slot = slotOf(html, 'search');
      assert.ok(slot.ids.length >= 10, `${q}: ${slot.ids}`);
      assert.ok(slot.ids.slice(0, 10).every((id) => leaf(id) === 'Smartphones'), `${q}: ${slot.ids.map(leaf)}`);
      assert.match(html, new RegExp(`<q data-p13n-query>${q}</q>`));
      assert.match(slot.attrs, /data-p13n-search="matched"/);
      // A corrected query says what was searched instead.
      if (q === 'smartphone') assert.doesNotMatch(html, /Showing results for/);
      else assert.match(html, /Showing results for <q data-p13n-corrected-query>smartphone<\/q>/);
    }
  });

  test('synonyms: tee finds t-shirts, laptop finds chromebooks', async () => {
    const tee = (await json('/p13n/search?q=tee')).body;
    assert.deepEqual(tee.query.synonyms, [['tee', ['tshirt']]]);
    assert.ok(tee.items.filter((i) => i.typos === 0).every((i) => leaf(i.id) === 'T-Shirts'));
    const laptop = (await json('/p13n/search?q=laptop&per_page=48')).body;
    // No word of the fixtures is in enough products for the search to
    // stop before counting them all (the larger store below has one).
    assert.equal(laptop.total_exact, true);
    assert.ok(laptop.total >= laptop.items.length);
    assert.ok(laptop.items.some((i) => i.title.includes('Chromebook')));
    assert.ok(laptop.items.some((i) => i.title.includes('Ultrabook')));
  });

  test('a word the catalog does not use: its related words, words split, or empty', async () => {
    const skillet = await get('/search?q=skillet');
    assert.equal(skillet.headers.get('x-p13n-search'), 'matched');
    const page = await skillet.text();
    assert.match(page, /Showing results for <q data-p13n-corrected-query>frying pan<\/q>/);
    const slot = slotOf(page, 'search');
    assert.ok(slot.ids.length > 0);
    assert.ok(slot.ids.every((id) => leaf(id) === 'Cookware'), slot.ids.map(leaf).join());
    const api = (await json('/p13n/search?q=gown')).body;
    assert.equal(api.outcome, 'matched');
    assert.deepEqual(api.query.related, [['gown', ['dress']]]);
    assert.ok(api.items.length > 0 && api.items.every((i) => leaf(i.id) === 'Dresses'));
    const split = (await json('/p13n/search?q=yogamats')).body;
    assert.deepEqual(split.query.corrections, [{ from: 'yogamats', to: 'yoga mats', typos: 0 }]);
    assert.ok(split.items.length > 0 && split.items.every((i) => leaf(i.id) === 'Yoga'));
    for (const q of ['xqzvwk', 'lipstick', 'screwdriver']) {
      const empty = await get(`/search?q=${q}`);
      assert.equal(empty.headers.get('x-p13n-search'), 'empty', q);
      assert.equal(empty.headers.get('x-p13n-search-total'), '0');
      assert.equal(empty.headers.get('x-p13n-search-total-exact'), 'true');
      const html = await empty.text();
      assert.match(html, /No products match your search/);
      assert.match(html, /data-p13n-state="fallback"/);
    }
    const none = await get('/p13n/search?q=xqzvwk');
    assert.equal(none.headers.get('x-p13n-search'), 'empty');
    assert.equal((await none.json()).outcome, 'empty');
  });

  test('the merchant\'s pin leads its query and nothing excluded shows', async () => {
    const { body } = await json('/p13n/search?q=chargers');
    assert.equal(body.items[0].source, 'pin');
    for (const q of ['wine', 'fuel', 'vitamin', 'red', 'ibuprofen']) {
      const { body } = await json(`/p13n/search?q=${q}&per_page=48`);
      for (const item of body.items) {
        assert.equal(forbiddenInSearch(products.get(item.id)), null, `${q}: ${item.id}`);
      }
    }
    const { body: filtered } = await json('/p13n/search?q=charger&category=Chargers&price_max=40&in_stock=1');
    assert.ok(filtered.items.length > 0);
    for (const item of filtered.items) {
      assert.equal(leaf(item.id), 'Chargers');
      assert.ok(item.price <= 40, `${item.id} ${item.price}`);
    }
  });

  test('facets count the results, and the page\'s filter links keep their word', async () => {
    const { body } = await json('/p13n/search?q=charger');
    const sum = (xs) => xs.reduce((a, x) => a + x.count, 0);
    assert.equal(body.facets.exact, true);
    assert.equal(sum(body.facets.categories), body.total);
    assert.equal(sum(body.facets.prices), body.total);
    const html = await (await get('/search?q=charger&page=2')).text();
    const links = [...html.matchAll(/<section data-p13n-facet="(\w+)">.*?<\/section>/g)].map((m) => m[1]);
    assert.deepEqual(links, ['category', 'brand', 'price']);
    const brand = body.facets.brands[0];
    const href = [...html.matchAll(/<a href="([^"]+)">([^<]+)<\/a> <span data-p13n-count>(\d+)<\/span>/g)]
      .find((m) => m[2] === brand.value);
    assert.ok(href, html);
    assert.equal(Number(href[3]), brand.count);
    const target = href[1].replaceAll('&amp;', '&');
    assert.ok(!target.includes('page='), target);
    const filtered = await get(target);
    assert.equal(filtered.headers.get('x-p13n-search-total'), String(brand.count));
    assert.match(await filtered.text(), /aria-current="true"/);
  });

  test('the session personalizes search only with consent', async () => {
    const dresses = [...products.values()].filter((p) => leaf(p.id) === 'Dresses' && !forbidden(p));
    const jar = await browse(server.url, [dresses.at(-1).id]);
    const withConsent = (await json('/p13n/search?q=dress', jar)).body;
    assert.equal(withConsent.personalized, true);
    const without = (await json('/p13n/search?q=dress', 'fp_consent=none')).body;
    assert.equal(without.personalized, false);
  });

  test('bad requests get a 400 with a reason', async () => {
    const cases = [
      ['/p13n/search', /missing parameter q/],
      [`/p13n/search?q=${'a'.repeat(300)}`, /q is 300 bytes/],
      ['/p13n/search?q=%FF%FE', /not valid UTF-8/],
      ['/p13n/search?q=tea&per_page=500', /per_page must be/],
      ['/p13n/search?q=tea&sort=price', /unknown parameter "sort"/],
    ];
    for (const [url, reason] of cases) {
      const res = await get(url);
      assert.equal(res.status, 400, url);
      assert.match((await res.json()).error, reason, url);
    }
    // The page itself is never broken by a bad query: its fallback shows.
    const page = await get(`/search?q=${'a'.repeat(300)}`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /No products match your search/);
  });
});

describe('a word in every product of a larger store', () => {
  let server;
  before(async () => {
    const state = tempState();
    const extra = ['desk', 'brass', 'tall', 'reading', 'floor', 'clip'];
    const lines = [];
    for (let i = 0; i < 4500; i++) {
      // 0 to 12 other words: the word's weight varies with the title's length.
      const title = ['Lamp', ...Array.from({ length: i % 13 }, (_, j) => extra[(i + j) % 6])].join(' ');
      lines.push(JSON.stringify({
        id: `P-${i + 1}`, title, category: ['Lighting'], price: 20 + (i % 50), currency: 'GBP',
        inventory: [{ location: 'a', available: 50 }], created_at: '2026-01-01T00:00:00Z',
      }));
    }
    fs.writeFileSync(path.join(state, 'catalog.ndjson'), `${lines.join('\n')}\n`);
    fs.writeFileSync(path.join(state, 'events.ndjson'), '');
    fs.writeFileSync(path.join(state, 'rules.toml'), '');
    const bundle = path.join(state, 'lamps.fpb');
    firstpaint(['build', '--catalog', path.join(state, 'catalog.ndjson'), '--events', path.join(state, 'events.ndjson'),
      '--rules', path.join(state, 'rules.toml'), '--key', KEY, '--out', bundle]);
    publish(state, bundle);
    server = await startWrangler(state);
  });
  after(() => server?.stop());

  test('the total is a lower bound, and each page is the exhaustive one', async () => {
    for (const page of [1, 2, 10]) {
      const url = `${server.url}/p13n/search?q=lamp&per_page=48&page=${page}`;
      const pruned = await fetch(url);
      const body = await pruned.json();
      assert.equal(pruned.headers.get('x-p13n-search-total-exact'), 'false');
      assert.equal(body.total_exact, false);
      assert.ok(body.total > page * 48 && body.total < 4500, `${body.total}`);
      const all = await (await fetch(`${url}&explain=1`)).json();
      assert.equal(all.total_exact, true);
      assert.equal(all.total, 4500);
      assert.deepEqual(body.items.map((i) => i.id), all.items.map((i) => i.id), `page ${page}`);
      assert.equal(body.items.length, 48);
    }
  });
});
