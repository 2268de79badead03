// A sharded store through real workerd (`wrangler dev`): the fixtures store
// cut into shards of at most 60 products with a global shard of its 60 most
// active (`make bundle-sharded`), published as a set into local KV; the
// worker opens only the shards a request needs.
//
// 1. Health reads the manifest and opens nothing.
// 2. A product page is personalized from its shard (found by routes.fst),
//    and opens that shard and the routes only.
// 3. A category page is personalized from the shard that covers it; a
//    department cut into several shards, home and the cart from the global
//    shard.
// 4. A search reads the global shard and the shards its words are in
//    (terms.dir), and returns hits from them.
// 5. The JSON API routes by its product and category parameters.
// 6. A shard whose bytes were altered in KV is refused, its pages stream
//    unmodified, health says why, and the other shards keep working.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONSENTED, ROOT, catalog, kvPut, livePush, publish, slotItems, slotOf, startWrangler, tempState } from './support.mjs';

const SHARDS = path.join(ROOT, 'build/shards');
const index = JSON.parse(fs.readFileSync(path.join(SHARDS, 'shards.json'), 'utf8'));
const products = catalog();
const shardOf = (name) => index.shards.find((s) => s.name === name);
// Whether a product's category is one the shard covers.
const covers = (shard, id) => shard.categories.some((c) => products.get(id).category.join('/').startsWith(c));
// Pages wait for their shard (a cold load in wrangler dev can outlast the
// default 50 ms budget, and these tests are about routing).
const VARS = { COLD_LOAD_BUDGET_MS: '10000' };

async function startSharded() {
  const state = tempState();
  publish(state, SHARDS);
  return { state, server: await startWrangler(state, VARS) };
}

async function openNames(url) {
  const body = await (await fetch(`${url}/p13n/health`)).json();
  return body.open.map((o) => o.name).sort();
}

describe('a sharded store in wrangler dev', () => {
  let server;
  const get = (p, cookie = CONSENTED) => fetch(`${server.url}${p}`, { headers: { cookie, 'x-p13n-region': 'DE' } });
  before(async () => {
    ({ server } = await startSharded());
  });
  after(() => server?.stop());

  test('the fixtures are cut as the tests expect', () => {
    assert.ok(index.shards.length >= 8, index.shards.map((s) => s.name).join());
    assert.ok(shardOf('beauty') && shardOf('electronics-1') && shardOf('electronics-2'));
    assert.ok(shardOf('electronics-1').categories.includes('Electronics/Smartphones'));
  });

  test('health reads the manifest and opens nothing', async () => {
    const res = await fetch(`${server.url}/p13n/health`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, 'ok');
    assert.equal(body.sharded, true);
    assert.equal(body.manifest.shards, index.shards.length);
    assert.equal(body.manifest.global, index.global.sha256);
    assert.deepEqual(body.open, []);
    assert.ok(body.limit_bytes > 0);
  });

  test('a product page is personalized from its shard, which is all it opens', async () => {
    const phone = [...products.values()].find((p) => p.category.at(-1) === 'Smartphones').id;
    const res = await get(`/products/${phone}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-p13n'), 'personalized');
    assert.equal(res.headers.get('x-p13n-shard'), 'electronics-1');
    const similar = slotOf(await res.text(), 'similar');
    assert.match(similar.attrs, /data-p13n-state="personalized"/);
    assert.ok(similar.ids.length > 0);
    for (const id of similar.ids) assert.ok(covers(shardOf('electronics-1'), id), `${id} is not in electronics-1`);
    assert.deepEqual(await openNames(server.url), ['electronics-1', 'routes']);
  });

  test('a category page reads the shard that covers it; home, the cart and a split department read global', async () => {
    const res = await get('/categories/beauty');
    assert.equal(res.headers.get('x-p13n'), 'personalized');
    assert.equal(res.headers.get('x-p13n-shard'), 'beauty');
    const slot = slotOf(await res.text(), 'category');
    assert.ok(slot.ids.length > 0);
    for (const id of slot.ids) assert.equal(products.get(id).category[0], 'Beauty', id);
    assert.deepEqual(await openNames(server.url), ['beauty', 'electronics-1', 'routes']);

    for (const page of ['/', '/cart', '/categories/electronics']) {
      const r = await get(page);
      assert.equal(r.headers.get('x-p13n'), 'personalized', page);
      assert.equal(r.headers.get('x-p13n-shard'), 'global', page);
      const slots = slotItems(await r.text());
      assert.ok(slots.some((s) => s.ids.length > 0), `${page}: no slot filled`);
    }
    assert.deepEqual(await openNames(server.url), ['beauty', 'electronics-1', 'global', 'routes']);
  });

  test('a search reads global and the shards its words are in', async () => {
    const res = await get('/search?q=smartphone');
    assert.equal(res.headers.get('x-p13n-search'), 'matched');
    const searched = res.headers.get('x-p13n-search-shards').split(',');
    assert.ok(searched.includes('electronics-1') && searched.includes('global'), searched.join());
    assert.ok(searched.length <= 3, searched.join());
    const slot = slotOf(await res.text(), 'search');
    assert.ok(slot.ids.length >= 10, slot.ids.join());
    assert.ok(slot.ids.slice(0, 10).every((id) => products.get(id).category.at(-1) === 'Smartphones'), slot.ids.join());
    assert.equal(new Set(slot.ids).size, slot.ids.length, 'a product shown twice');

    // A typo is corrected by the global shard and routed by the correction.
    const typoRes = await get('/p13n/search?q=smartphne&per_page=5');
    assert.match(typoRes.headers.get('x-p13n-search-shards'), /electronics-1/);
    const typo = await typoRes.json();
    assert.equal(typo.outcome, 'matched');
    assert.deepEqual(typo.query.corrections.map((c) => c.to), ['smartphone']);
    assert.ok(typo.items.length > 0);
    const names = await openNames(server.url);
    assert.ok(names.includes('terms'), names.join());
    // Never every shard: what the pages and searches so far needed.
    assert.ok(names.length <= 7, names.join());
  });

  test('the JSON API routes by its product and category parameters', async () => {
    const lamp = [...products.values()].find((p) => p.category[0] === 'Home & Kitchen').id;
    const r = await get(`/p13n/recommend?slot=similar&product=${lamp}&k=4`);
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(r.headers.get('x-p13n-shard'), 'home-kitchen');
    const c = await get('/p13n/recommend?slot=category&category=Toys%20%26%20Games&k=4');
    assert.equal(c.status, 200, await c.clone().text());
    assert.equal(c.headers.get('x-p13n-shard'), 'toys-games');
    for (const item of (await c.json()).items) assert.equal(products.get(item.id).category[0], 'Toys & Games');
  });
});

describe('a sharded store with a shard altered in KV', () => {
  let server;
  before(async () => {
    const started = await startSharded();
    server = started.server;
    const beauty = shardOf('beauty');
    const bytes = fs.readFileSync(path.join(SHARDS, beauty.file));
    bytes[bytes.length >> 1] ^= 0xff;
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'firstpaint-bad-')), 'beauty.fpb');
    fs.writeFileSync(bad, bytes);
    assert.notEqual(crypto.createHash('sha256').update(bytes).digest('hex'), beauty.sha256);
    kvPut(started.state, `bundles/${beauty.sha256}`, bad);
  });
  after(() => server?.stop());

  test('its pages stream unmodified, health says why, other shards still work', async () => {
    const res = await fetch(`${server.url}/categories/beauty`, { headers: { cookie: CONSENTED } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-p13n'), 'unmodified');
    assert.equal(res.headers.get('x-p13n-shard'), null);
    const html = await res.text();
    assert.doesNotMatch(html, /data-p13n-state="personalized"/);
    const health = await (await fetch(`${server.url}/p13n/health`)).json();
    assert.ok(!health.open.some((o) => o.name === 'beauty'));
    const failure = health.failures.find((f) => f.name === 'beauty');
    assert.ok(failure, JSON.stringify(health));
    // The head is the one the manifest names; the byte changed is in a
    // section, which the error names.
    assert.match(failure.error, /section [A-Z]{4} at offset \d+ was modified/);
    const other = await fetch(`${server.url}/categories/toys-games`, { headers: { cookie: CONSENTED } });
    assert.equal(other.headers.get('x-p13n'), 'personalized');
    assert.equal(other.headers.get('x-p13n-shard'), 'toys-games');
  });
});

describe('live data over a sharded store', () => {
  let server;
  let state;
  before(async () => {
    ({ state, server } = await startSharded());
  });
  after(() => server?.stop());
  const get = (p) => fetch(`${server.url}${p}`);
  const listed = async (category) => {
    const r = await get(`/p13n/recommend?slot=category&category=${encodeURIComponent(category)}&k=24`);
    assert.equal(r.status, 200, await r.clone().text());
    return { live: r.headers.get('x-p13n-live'), items: (await r.json()).items };
  };

  test('an overlay reaches the shards open and those opened after it', async () => {
    const before = await listed('Home & Kitchen');
    assert.equal(before.live, '0');
    const [cheaper, offSale] = before.items;
    livePush(state, path.join(state, 'live-cache'), [
      { id: cheaper.id, price: 3.21 },
      { id: offSale.id, buyable: false },
    ]);
    const deadline = Date.now() + 10_000;
    let health;
    do {
      await new Promise((r) => setTimeout(r, 200));
      health = await (await get('/p13n/health')).json();
    } while (health.live.overlay?.sequence !== 1 && Date.now() < deadline);
    assert.equal(health.live.overlay?.sequence, 1, JSON.stringify(health.live));
    // The shard open before the push.
    const after = await listed('Home & Kitchen');
    assert.equal(after.live, '1');
    assert.equal(after.items.find((i) => i.id === cheaper.id)?.price, 3.21);
    assert.ok(!after.items.some((i) => i.id === offSale.id));
    // A shard opened after it.
    const toys = await listed('Toys & Games');
    assert.equal(toys.live, '1');
  });
});
