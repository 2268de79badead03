// Holdout experiments through real workerd (`wrangler dev`), with a
// bundle built here from the fixtures and rules that hold out half of
// each module and a fifth of shoppers globally (the fixtures' own rules
// hold out nobody).
//
// 1. A consenting shopper's arms come in `x-p13n-arms`, are the same on
//    every page, agree with `firstpaint assign` offline, and split within
//    the binomial interval.
// 2. A module that holds out shows what a shopper without
//    personalization sees (the rules and priors); in treatment, a
//    returning shopper's home is their own.
// 3. The edge logs one exposure per slot it filled, through the queue to
//    R2: the arm, the products in the order shown, the page, device and
//    visit; `events pull` brings them back.
//    What the shopper reports to /p13n/collect carries the same
//    pseudonymized visitor id, so the readout can join the two.
// 4. The JSON endpoints log what they returned the same way (page `api`):
//    a recommendation's items, a search's page of results; a consenting
//    shopper's first call gets the profile cookie its arms came from, so
//    the next calls keep them.
// 5. Without analytics consent: arms, but nothing logged; without
//    personalization consent: no arms (in no experiment).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CONSENTED, FP, ROOT, catalog, devProfile, forbidden, publishWithHoldouts, slotItems, slotOf, startWrangler, tempState } from './support.mjs';

const TOKEN = 'dev-events-token-5f0c2a9e41d7';
const toml = fs.readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8');
const [, saltId, saltHex] = toml.match(/^PSEUDONYM_SALTS = "(\w+):([0-9a-f]{64})/m);
/** The pseudonym the edge logs for a first-party id. */
const pseudonym = (id) => `${saltId}:${crypto.createHmac('sha256', Buffer.from(saltHex, 'hex')).update(id).digest().subarray(0, 12).toString('hex')}`;
const parseArms = (header) => Object.fromEntries(header.split(',').map((kv) => kv.split('=')));

describe('holdout experiments', () => {
  let server;
  let state;
  let rules;
  const products = catalog();
  const recent = [...products.values()].filter((p) => !forbidden(p)).slice(0, 3).map((p) => p.id);
  const now = Math.floor(Date.now() / 1000);
  /** A returning shopper with id `id` who viewed `recent`. */
  const shopper = (id, consent = CONSENTED) => `${consent}; ${devProfile({ i: id, v: recent, n: 3, t: now - 2 * 3600 })}`;
  const get = (p, cookie) => fetch(`${server.url}${p}`, { headers: { cookie, 'x-p13n-region': 'DE' } });

  before(async () => {
    state = tempState();
    rules = publishWithHoldouts(state, 'e2e');
    server = await startWrangler(state);
  });
  after(() => server?.stop());

  const ids = Array.from({ length: 200 }, (_, i) => crypto.createHash('sha256').update(`shopper-${i}`).digest('hex').slice(0, 32));
  const arms = new Map();

  test('arms are in a header, stable, the same as `firstpaint assign`, and split as the rules say', async () => {
    for (const id of ids) {
      const res = await get('/', shopper(id));
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      arms.set(id, parseArms(res.headers.get('x-p13n-arms')));
    }
    for (const id of ids.slice(0, 10)) {
      const again = await get('/products/SKU-00001', shopper(id));
      await again.arrayBuffer();
      assert.deepEqual(parseArms(again.headers.get('x-p13n-arms')), arms.get(id), 'the same on every page');
      const offline = JSON.parse(execFileSync(FP, ['assign', id, '--rules', rules, '--json'], { cwd: ROOT }).toString());
      assert.deepEqual({ global: offline.global, ...offline.arms }, arms.get(id), 'firstpaint assign agrees');
    }
    const all = [...arms.values()];
    const global = all.filter((a) => a.global === 'holdout').length;
    // 200 draws at 20%: 40 +- 4 sd (5.7).
    assert.ok(global >= 18 && global <= 62, `${global} of 200 in the global holdout`);
    assert.ok(all.filter((a) => a.global === 'holdout').every((a) => a.home === 'holdout' && a.search === 'holdout'));
    const rest = all.filter((a) => a.global === 'treatment');
    const home = rest.filter((a) => a.home === 'holdout').length;
    const sd = Math.sqrt(rest.length * 0.25);
    assert.ok(Math.abs(home - rest.length / 2) <= 4 * sd, `${home} of ${rest.length} hold out home`);
  });

  test('a module that holds out shows the rules and priors; in treatment, the shopper\'s own', async () => {
    const held = ids.find((id) => arms.get(id).home === 'holdout');
    const treated = ids.find((id) => arms.get(id).home === 'treatment');
    const plain = slotOf(await (await get('/', 'fp_consent=analytics')).text(), 'home').ids;
    const heldHome = slotOf(await (await get('/', shopper(held))).text(), 'home').ids;
    assert.deepEqual(heldHome, plain, 'a holdout sees what a shopper without personalization sees');
    const treatedHome = slotOf(await (await get('/', shopper(treated))).text(), 'home').ids;
    assert.notDeepEqual(treatedHome, plain);
    assert.ok(recent.every((id) => treatedHome.includes(id)), `treatment shows the recent views: ${treatedHome}`);
  });

  test('each filled slot is logged as an exposure, and comes back through events pull', async () => {
    // Shoppers whose only product page is this one (the first ten opened another).
    const who = ids.slice(10, 16);
    const shown = new Map();
    for (const id of who) {
      const html = await (await get('/products/SKU-00002', shopper(id))).text();
      shown.set(id, slotItems(html).filter((s) => s.type !== 'banner' && s.ids.length > 0));
    }
    // What the shopper then does carries the same pseudonymized id (a
    // visitor named in the body is not taken).
    const cart = { type: 'add_to_cart', session: 'storefront-session-1', visitor: 'forged', ts: new Date().toISOString(), consent: { personalization: true, analytics: true }, region: 'DE', product: 'SKU-00002', qty: 1, price: 10 };
    const posted = await fetch(`${server.url}/p13n/collect`, { method: 'POST', headers: { cookie: shopper(who[0]), 'content-type': 'application/json' }, body: JSON.stringify([cart]) });
    assert.equal(posted.status, 202, await posted.clone().text());
    // Without analytics consent: arms, nothing logged.
    const quiet = crypto.randomBytes(16).toString('hex');
    const res = await get('/products/SKU-00002', shopper(quiet, 'fp_consent=personalization'));
    await res.arrayBuffer();
    assert.ok(res.headers.get('x-p13n-arms'));
    // Without personalization consent: in no experiment.
    const none = await get('/products/SKU-00002', 'fp_consent=analytics');
    await none.arrayBuffer();
    assert.equal(none.headers.get('x-p13n-arms'), null);

    const dir = path.join(state, 'events');
    const tokenFile = path.join(state, 'token');
    fs.writeFileSync(tokenFile, TOKEN);
    let exposures = [];
    for (let i = 0; i < 60; i++) {
      execFileSync(FP, ['events', 'pull', '--from', server.url, '--token-file', tokenFile, '--out', dir], { cwd: ROOT });
      const events = fs.readFileSync(path.join(dir, 'events.ndjson'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      exposures = events.filter((e) => e.type === 'exposure' && e.page === 'product');
      if (who.every((id) => exposures.some((e) => e.session === pseudonym(id))) && events.some((e) => e.type === 'add_to_cart')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const id of who) {
      const mine = exposures.filter((e) => e.session === pseudonym(id));
      const slots = shown.get(id);
      assert.equal(mine.length, slots.length, `${id}: one exposure per filled slot`);
      for (const slot of slots) {
        const e = mine.find((x) => x.module === slot.type);
        assert.ok(e, `${id}: no exposure of ${slot.type}`);
        assert.deepEqual(e.items, slot.ids, 'the products in the order shown');
        assert.equal(e.arm, arms.get(id)[slot.type]);
        assert.equal(e.global_holdout, arms.get(id).global === 'holdout');
        assert.equal(e.device, 'desktop');
        assert.equal(e.new_visitor, false);
        assert.equal(e.region, 'DE');
        assert.match(e.id, /^x-[0-9a-f]{32}$/);
      }
    }
    assert.ok(!exposures.some((e) => e.session === pseudonym(quiet)), 'no analytics consent, nothing logged');
    assert.ok(exposures.every((e) => e.visitor === e.session));
    const events = fs.readFileSync(path.join(dir, 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const carted = events.find((e) => e.type === 'add_to_cart' && e.product === 'SKU-00002');
    assert.equal(carted?.visitor, pseudonym(who[0]), 'the cart joins the exposures');
    assert.ok(!exposures.some((e) => who.some((id) => e.session === id)), 'ids leave pseudonymized');
  });

  test('the JSON endpoints log what they returned as exposures', async () => {
    const who = ids[20];
    const rec = await get('/p13n/recommend?slot=similar&product=SKU-00003', shopper(who));
    assert.equal(rec.status, 200);
    const recItems = (await rec.json()).items.map((i) => i.id);
    const found = await get('/p13n/search?q=phone', shopper(who));
    assert.equal(found.status, 200);
    const foundItems = (await found.json()).items.map((i) => i.id);
    assert.ok(recItems.length > 0 && foundItems.length > 0);
    const dir = path.join(state, 'events-api');
    const tokenFile = path.join(state, 'token');
    fs.writeFileSync(tokenFile, TOKEN);
    let mine = [];
    for (let i = 0; i < 60 && mine.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 500));
      execFileSync(FP, ['events', 'pull', '--from', server.url, '--token-file', tokenFile, '--out', dir], { cwd: ROOT });
      const events = fs.readFileSync(path.join(dir, 'events.ndjson'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      mine = events.filter((e) => e.type === 'exposure' && e.page === 'api' && e.visitor === pseudonym(who));
    }
    const similar = mine.find((e) => e.module === 'similar');
    const search = mine.find((e) => e.module === 'search');
    assert.deepEqual(similar?.items, recItems, 'the recommendation as returned');
    assert.deepEqual(search?.items, foundItems, 'the search page as returned');
    assert.equal(similar.arm, arms.get(who).similar);
    assert.equal(search.arm, arms.get(who).search);
  });

  test("a new shopper's first JSON call sets the id its arms came from", async () => {
    for (const endpoint of ['/p13n/recommend?slot=home&k=4', '/p13n/search?q=phone']) {
      const first = await get(endpoint, CONSENTED);
      assert.equal(first.status, 200);
      const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0];
      assert.match(cookie, /^fp_profile=/, `${endpoint}: no profile cookie`);
      const armsOf = async () => (await get(endpoint, `${CONSENTED}; ${cookie}`)).headers.get('x-p13n-arms');
      const [a, b] = [await armsOf(), await armsOf()];
      assert.ok(a);
      assert.equal(a, first.headers.get('x-p13n-arms'), `${endpoint}: arms changed with the cookie`);
      assert.equal(b, a);
    }
  });
});
