// Every surface of the fixtures store at first paint, through real workerd.
//
// 1. A returning visitor's home slot starts with their recent views; a new
//    visitor's does not.
// 2. Products a shopper viewed out of stock come first on home once they
//    are back in stock (and not while they are still out).
// 3. An out-of-stock product page offers in-stock alternatives from its
//    category; an in-stock page has no alternatives section at all.
// 4. Add-ons on a product page are all compatible with it.
// 5. The cart page's ladder closes the gap to free shipping without
//    overshooting it by more than a third, and cart add-ons obey the rules.
// 6. A visit's intent: a shopper who searched for a tent, or for a
//    smartphone, then opens the home page gets that mission in
//    `x-p13n-intent` and a home slot leaning to its category; the landing
//    page's channel (campaign tag or referrer) is kept for the visit; a
//    shopper without consent gets neither.
// 7. A landing category page (`/categories/<slug>`): its own "picked for
//    you" slot and the home page after it lean to its department, and the
//    category is kept for the visit.
// Every item shown obeys the rules.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CONSENTED, ROOT, catalog, devProfile, forbidden, slotItems, slotOf, startStore, updateJar } from './support.mjs';

const products = catalog();
const units = (p) => p.inventory.reduce((n, s) => n + s.available, 0);
const compatible = (a, b) => a.compatible_with.includes(b.id) || b.compatible_with.includes(a.id);

function assertAllowed(ids, context) {
  for (const id of ids) {
    assert.equal(forbidden(products.get(id)), null, `${context}: ${id} shown although ${forbidden(products.get(id))}`);
  }
}

describe('every surface at first paint', () => {
  let server;
  before(async () => {
    server = await startStore();
  });
  after(() => server?.stop());

  const page = async (url, cookie = CONSENTED) => (await fetch(`${server.url}${url}`, { headers: { cookie } })).text();

  test('a returning visitor sees their recent views first', async () => {
    const recent = [...products.values()].filter((p) => !forbidden(p)).slice(0, 3).map((p) => p.id);
    const now = Math.floor(Date.now() / 1000);
    const returning = devProfile({ v: recent, n: 3, t: now - 2 * 3600 });
    const home = slotOf(await page('/', `${CONSENTED}; ${returning}`), 'home').ids;
    const afterPin = home.filter((id) => recent.includes(id));
    assert.ok(afterPin.length >= 3, `recent views ${recent} not in ${home}`);
    assert.deepEqual(home.slice(0, 5).filter((id) => recent.includes(id)), recent, `${home}`);
    const newVisitor = devProfile({ v: recent, n: 1, t: now - 60 });
    const fresh = slotOf(await page('/', `${CONSENTED}; ${newVisitor}`), 'home').ids;
    assert.ok(!fresh.some((id) => recent.includes(id)), `a first visit does not repeat views: ${fresh}`);
    assertAllowed(home, 'returning home');
  });

  test('products wanted while out of stock come back first', async () => {
    const gone = [...products.values()].find((p) => units(p) === 0);
    const res = await fetch(`${server.url}/products/${gone.id}`, { headers: { cookie: CONSENTED } });
    const cookie = res.headers.get('set-cookie').split(';')[0];
    const recorded = JSON.parse(Buffer.from(cookie.split('.')[1], 'base64url'));
    assert.deepEqual(recorded.w, [gone.id], 'the out-of-stock view is remembered');

    const back = [...products.values()].find((p) => !forbidden(p) && p.category[0] === 'Toys & Games' && units(p) > 20);
    const now = Math.floor(Date.now() / 1000);
    const profile = devProfile({ v: [back.id, gone.id], n: 1, t: now - 60, w: [back.id, gone.id] });
    const home = slotOf(await page('/', `${CONSENTED}; ${profile}`), 'home').ids;
    assert.ok(home.slice(0, 2).includes(back.id), `${back.id} is back in stock but not first: ${home}`);
    assert.ok(!home.includes(gone.id), `${gone.id} is still out of stock: ${home}`);
  });

  test('an out-of-stock product offers alternatives; an in-stock one does not', async () => {
    const gone = [...products.values()].find((p) => units(p) === 0 && !forbidden({ ...p, inventory: [{ available: 99 }] }));
    const html = await page(`/products/${gone.id}`);
    const alternatives = slotOf(html, 'alternatives');
    assert.ok(alternatives.ids.length > 0);
    assertAllowed(alternatives.ids, 'alternatives');
    const sameLeaf = alternatives.ids.filter((id) => products.get(id).category.at(-1) === gone.category.at(-1));
    assert.ok(sameLeaf.length >= 1, `no alternative from ${gone.category.at(-1)}: ${alternatives.ids}`);
    const inStock = [...products.values()].find((p) => units(p) > 50);
    const other = await page(`/products/${inStock.id}`);
    assert.ok(!other.includes('data-p13n-slot="alternatives"'), 'the empty slot is removed');
  });

  test('add-ons are compatible with the product', async () => {
    const phone = [...products.values()].find((p) => p.category.at(-1) === 'Smartphones' && units(p) > 0
      && [...products.values()].filter((o) => compatible(o, p) && !forbidden(o)).length >= 2);
    const addons = slotOf(await page(`/products/${phone.id}`), 'addons').ids;
    assert.ok(addons.length >= 2, `${addons}`);
    for (const id of addons) assert.ok(compatible(products.get(id), phone), `${id} does not fit ${phone.id}`);
    assertAllowed(addons, 'addons');
  });

  test('the cart page closes the gap to free shipping and adds what ships together', async () => {
    const html = await page('/cart');
    const cart = html.match(/data-p13n-cart="([^"]+)"/)[1].split(',');
    const subtotal = cart.reduce((sum, id) => sum + products.get(id).price, 0);
    const rules = fs.readFileSync(path.join(ROOT, 'fixtures/rules.toml'), 'utf8');
    const threshold = Number(rules.match(/free_threshold = ([\d.]+)/)[1]);
    const gap = threshold - subtotal;
    assert.ok(gap > 0, 'the demo cart is below the threshold');
    const ladder = slotOf(html, 'ladder').ids;
    assert.ok(ladder.length > 0);
    for (const id of ladder) {
      const price = products.get(id).price;
      assert.ok(price >= gap && price <= (gap * 4) / 3, `${id} at ${price} does not close a gap of ${gap.toFixed(2)}`);
    }
    const addons = slotOf(html, 'cart-addons').ids;
    assert.ok(addons.length > 0);
    for (const id of [...ladder, ...addons]) assert.ok(!cart.includes(id), `${id} is already in the cart`);
    assertAllowed([...ladder, ...addons], 'cart');
    assert.equal(slotItems(html).length, 3, 'ladder, cart add-ons and the home slot');
  });

  /** The profile cookie's payload in `jar`, decoded. */
  const profileOf = (jar) => {
    const value = jar.split('; ').find((c) => c.startsWith('fp_profile='));
    return value ? JSON.parse(Buffer.from(value.split('.')[1], 'base64url').toString()) : null;
  };

  test('what a visit searched steers its home page towards that mission', async () => {
    const plain = await fetch(`${server.url}/`, { headers: { cookie: CONSENTED, 'x-p13n-region': 'DE' } });
    assert.equal(plain.headers.get('x-p13n-intent'), null, 'nothing shown, nothing predicted');
    const baseline = slotOf(await plain.text(), 'home').ids;
    for (const [query, mission] of [['two-person tent', 'Sports & Outdoors'], ['smartphone', 'Electronics']]) {
      let jar = CONSENTED;
      const search = await fetch(`${server.url}/search?q=${encodeURIComponent(query)}`, { headers: { cookie: jar, 'x-p13n-region': 'DE' } });
      await search.text();
      jar = updateJar(jar, search);
      assert.equal(profileOf(jar).q?.length, 1, 'the search is kept for the visit');
      const home = await fetch(`${server.url}/`, { headers: { cookie: jar, 'x-p13n-region': 'DE' } });
      assert.match(home.headers.get('x-p13n-intent') ?? '', new RegExp(`^${mission};p=0\\.\\d\\d$`));
      const ids = slotOf(await home.text(), 'home').ids;
      const onMission = (list) => list.filter((id) => products.get(id).category[0] === mission).length;
      assert.ok(onMission(ids) * 2 > ids.length, `${query}: ${onMission(ids)} of ${ids.length} in ${mission}`);
      assert.ok(onMission(ids) > onMission(baseline), `${query}: not more ${mission} than without the search`);
      assertAllowed(ids, `home after searching ${query}`);
    }
  });

  test('a landing category page steers its own slot and the home page after it', async () => {
    const baseline = slotOf(await page('/'), 'home').ids;
    for (const [slug, leaf, mission] of [
      ['sports-outdoors/camping', 'Camping', 'Sports & Outdoors'],
      ['food-drink/coffee-beans', 'Coffee Beans', 'Food & Drink'],
    ]) {
      const land = await fetch(`${server.url}/categories/${slug}?utm_medium=social`, { headers: { cookie: CONSENTED } });
      assert.equal(land.status, 200);
      assert.match(land.headers.get('x-p13n-intent') ?? '', new RegExp(`^${mission};p=[01]\\.\\d\\d$`));
      const html = await land.text();
      assert.match(html, new RegExp(`<h1>${leaf}</h1>`), 'the storefront rendered the category page');
      const onMission = (list) => list.filter((id) => products.get(id).category[0] === mission).length;
      const picked = slotOf(html, 'home').ids;
      assert.ok(picked.length > 0 && onMission(picked) * 2 > picked.length, `${slug}: ${onMission(picked)} of ${picked.length} picked in ${mission}`);
      assertAllowed(picked, `picked on ${slug}`);
      const top = slotOf(html, 'category').ids;
      assert.ok(top.length > 0, `${slug}: the category slot is filled`);
      for (const id of top) assert.equal(products.get(id).category.join('/'), `${mission}/${leaf}`, `${id} listed on ${slug}`);
      assertAllowed(top, `top picks on ${slug}`);
      const jar = updateJar(CONSENTED, land);
      assert.deepEqual(profileOf(jar).k, [`${mission}/${leaf}`], 'the category is kept for the visit');
      const home = await fetch(`${server.url}/`, { headers: { cookie: jar, referer: `${server.url}/categories/${slug}` } });
      assert.match(home.headers.get('x-p13n-intent') ?? '', new RegExp(`^${mission};`));
      const ids = slotOf(await home.text(), 'home').ids;
      assert.ok(onMission(ids) * 2 > ids.length, `${slug}: home has ${onMission(ids)} of ${ids.length} in ${mission}`);
      assert.ok(onMission(ids) > onMission(baseline), `${slug}: not more ${mission} than without landing there`);
      assertAllowed(ids, `home after landing on ${slug}`);
    }
    const unknown = await fetch(`${server.url}/categories/no-such-thing`, { headers: { cookie: CONSENTED } });
    assert.equal(unknown.status, 404, 'an unknown category is the storefront\'s 404, untouched');
    await unknown.text();
  });

  test('product views move the price band in the profile, and slots use it', async () => {
    // Price levels as the origin computes them: log price over the leaf's median.
    const byLeaf = new Map();
    for (const p of products.values()) {
      const leaf = p.category.join('/');
      byLeaf.set(leaf, [...(byLeaf.get(leaf) ?? []), p.price].sort((a, b) => a - b));
    }
    const level = (p) => {
      const prices = byLeaf.get(p.category.join('/'));
      return Math.log(p.price / prices[Math.floor(prices.length / 2)]);
    };
    const dear = [...products.values()].filter((p) => !forbidden(p) && level(p) > 0.3).slice(0, 4);
    let jar = CONSENTED;
    for (const p of dear) {
      const r = await fetch(`${server.url}/products/${p.id}`, { headers: { cookie: jar } });
      await r.text();
      jar = updateJar(jar, r);
    }
    const [centre, evidence] = profileOf(jar).p;
    const mean = dear.reduce((sum, p) => sum + level(p), 0) / dear.length;
    assert.ok(Math.abs(centre / 100 - mean) < 0.02, `band ${centre / 100} vs mean level ${mean}`);
    assert.equal(evidence, 40, 'four views');
    const r = await fetch(`${server.url}/p13n/recommend?slot=home&k=8&explain=1`, { headers: { cookie: jar } });
    const { items } = await r.json();
    const fit = items.flatMap((i) => i.reasons.filter((x) => x.signal === 'price_fit'));
    assert.ok(fit.some((x) => x.value > 0), 'price_fit speaks in the reasons');
    const none = await (await fetch(`${server.url}/p13n/recommend?slot=home&k=8&explain=1`, { headers: { cookie: CONSENTED } })).json();
    assert.ok(none.items.every((i) => i.reasons.every((x) => x.signal !== 'price_fit' || x.value === 0)), 'no band, no fit');
  });

  test('the landing page sets the visit channel, later pages keep it', async () => {
    const land = await fetch(`${server.url}/?utm_medium=email&utm_source=newsletter`, { headers: { cookie: CONSENTED } });
    await land.text();
    let jar = updateJar(CONSENTED, land);
    assert.equal(profileOf(jar).c, 'email');
    const next = await fetch(`${server.url}/cart`, { headers: { cookie: jar, referer: `${server.url}/` } });
    await next.text();
    jar = updateJar(jar, next);
    assert.equal(profileOf(jar).c, 'email', 'an internal page does not change the channel');
    const google = await fetch(`${server.url}/`, { headers: { cookie: CONSENTED, referer: 'https://www.google.com/' } });
    await google.text();
    assert.equal(profileOf(updateJar(CONSENTED, google)).c, 'search');
  });

  test('without consent nothing about the visit is kept or used', async () => {
    const cookie = 'fp_consent=none';
    const search = await fetch(`${server.url}/search?q=tent`, { headers: { cookie } });
    await search.text();
    assert.equal(search.headers.get('set-cookie'), null);
    const home = await fetch(`${server.url}/?utm_medium=email`, { headers: { cookie } });
    assert.equal(home.headers.get('x-p13n-intent'), null);
    assert.equal(home.headers.get('x-p13n'), 'non-personal');
    await home.text();
  });
});
