// Message banners through real workerd.
//
// 1. A product page running low shows the low-stock banner.
// 2. A capped banner shows on at most max_per_visit pages of a visit, and
//    never without personalization consent (its cap could not be counted).
// 3. A page without an applicable banner has its banner slot removed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CONSENTED, catalog, forbidden, startStore, updateJar } from './support.mjs';

const products = catalog();
const units = (p) => p.inventory.reduce((n, s) => n + s.available, 0);
// The first rendered banner (the template's own `{{id}}` is skipped).
const bannerOf = (html) => html.match(/data-banner="([^"{]+)"/)?.[1] ?? null;

describe('banners', () => {
  let server;
  before(async () => {
    server = await startStore();
  });
  after(() => server?.stop());

  test('a product running low shows the low-stock banner', async () => {
    const low = [...products.values()].find((p) => units(p) >= 2 && units(p) < 10 && !forbidden(p));
    const html = await (await fetch(`${server.url}/products/${low.id}`, { headers: { cookie: CONSENTED } })).text();
    assert.equal(bannerOf(html), 'low-stock');
    assert.match(html, /Selling fast: only a few left/);
  });

  test('a capped banner shows at most max_per_visit times, and only with consent', async () => {
    // Before 15:00 UTC the uncapped dispatch banner outranks it; either way
    // the capped one may show at most 3 times in a visit.
    let jar = CONSENTED;
    const seen = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await fetch(`${server.url}/`, { headers: { cookie: jar } });
      seen.push(bannerOf(await res.text()));
      jar = updateJar(jar, res);
    }
    const capped = seen.filter((b) => b === 'free-shipping').length;
    assert.ok(capped <= 3, `free-shipping shown ${capped} times: ${seen}`);
    const hour = new Date().getUTCHours();
    if (hour < 15) assert.ok(seen.every((b) => b === 'dispatch'), `${seen}`);
    else assert.deepEqual(seen, ['free-shipping', 'free-shipping', 'free-shipping', null, null, null]);

    for (let i = 0; i < 3; i += 1) {
      const html = await (await fetch(`${server.url}/`, { headers: { cookie: 'fp_consent=none' } })).text();
      assert.notEqual(bannerOf(html), 'free-shipping', 'a capped banner needs consent to be counted');
    }
  });

  test('without an applicable banner the slot is removed', async () => {
    const hour = new Date().getUTCHours();
    const html = await (await fetch(`${server.url}/`, { headers: { cookie: 'fp_consent=none' } })).text();
    if (hour < 15) {
      assert.equal(bannerOf(html), 'dispatch');
    } else {
      assert.ok(!html.includes('data-p13n-slot="banner"'), 'the empty banner slot is removed');
    }
  });
});
