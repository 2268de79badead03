// End to end through real workerd (`wrangler dev`): the origin CLI publishes
// the signed fixtures bundle into local KV, the worker serves the fixtures
// storefront with its slots filled.
//
// 1. Health names the live bundle and its key.
// 2. Home and product pages arrive with filled slots that obey the rules.
// 3. Two shoppers with different histories get different slots.
// 4. The JSON endpoint agrees with the page; bad requests get a 4xx and a reason.
// 5. A tampered bundle in KV leaves every page unmodified, with status 200.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUNDLE, FP, PUBKEY, ROOT, catalog, forbidden, kvPut, publish, slotItems, startWrangler, tempState } from './support.mjs';

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
    const state = tempState();
    publish(state);
    server = await startWrangler(state);
  });
  after(() => server?.stop());

  test('the fixture rules forbid something of every kind', () => {
    const reasons = new Set([...products.values()].map(forbidden).filter(Boolean).map((r) => r.replace(/\d+/g, 'N')));
    for (const r of ['only N in stock', 'regulated', 'flammable', 'discontinued', 'under the Electronics floor']) {
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
    const res = await fetch(`${server.url}/products/${phone}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('set-cookie') ?? '', new RegExp(`fp_viewed=${phone}`));
    const [slot] = slotItems(await res.text());
    assert.equal(slot.ids.length, 6);
    assert.ok(!slot.ids.includes(phone), 'the product itself is not similar to itself');
    assertAllowed(slot.ids, `similar to ${phone}`);
    const sameLeaf = slot.ids.filter((id) => products.get(id).category.at(-1) === 'Smartphones').length;
    assert.ok(sameLeaf >= 3, `only ${sameLeaf} of ${slot.ids} are phones`);
  });

  test('two shoppers with different histories get different slots', async () => {
    const home = async (viewed) => {
      const headers = viewed ? { cookie: `fp_viewed=${viewed.join('~')}` } : {};
      const res = await fetch(`${server.url}/`, { headers });
      return slotItems(await res.text())[0].ids;
    };
    const anonymous = await home(null);
    const phones = await home(inLeaf('Smartphones').slice(0, 3));
    const tea = await home(inLeaf('Tea').slice(0, 3));
    assert.notDeepEqual(phones, tea);
    assert.notDeepEqual(phones, anonymous);
    assertAllowed(phones, 'phone shopper');
    assertAllowed(tea, 'tea shopper');
    assert.ok(phones.filter((id) => products.get(id).category[0] === 'Electronics').length >= 4, `${phones}`);
    assert.ok(tea.filter((id) => products.get(id).category[0] === 'Food & Drink').length >= 2, `${tea}`);
  });

  test('/p13n/recommend returns the ranking the page shows', async () => {
    const cookie = `fp_viewed=${inLeaf('Yoga').slice(0, 2).join('~')}`;
    const page = await (await fetch(`${server.url}/`, { headers: { cookie } })).text();
    const res = await fetch(`${server.url}/p13n/recommend?slot=home&k=8`, { headers: { cookie } });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.personalized, true);
    assert.deepEqual(body.items.map((i) => i.id), slotItems(page)[0].ids);
    assert.equal(body.items[0].reasons.length, 4);
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
    const bytes = fs.readFileSync(BUNDLE);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    const sha = crypto.createHash('sha256').update(bytes).digest('hex');
    const bundleFile = path.join(state, 'tampered.fpb');
    fs.writeFileSync(bundleFile, bytes);
    const manifestFile = path.join(state, 'manifest.json');
    fs.writeFileSync(manifestFile, JSON.stringify({
      bundle_key: `bundles/${sha}`, sha256: sha, bytes: bytes.length, bundle_version: 1, key_id: 'x', published_at: 0,
    }));
    kvPut(state, `bundles/${sha}`, bundleFile);
    kvPut(state, 'manifest', manifestFile);
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
    assert.match((await res.json()).error, /signature does not verify/);
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
