// The storefront page cache through real workerd, against a local origin
// server started here (ORIGIN_URL), serving the fixtures site with the
// Cache-Control each test sets.
//
// 1. Fresh: the second request is a hit, the origin is asked once, and the
//    page is still personalized (private) for each shopper; cookies and
//    tracking parameters are not part of the key.
// 2. Stale within stale-while-revalidate: the stale copy is served at once
//    and the origin is asked in the background (conditionally: a 304 keeps
//    the body); the next request has the new copy. A 429 keeps the copy in
//    service; a 404 drops it.
// 3. Stale past that window: fetched anew before serving.
// 4. Origin down (5xx or unreachable) within stale-if-error: the stale copy,
//    personalized; past the window, or never cached: a 502 naming why.
// 5. Pages the origin does not let be shared (private, Set-Cookie, Vary:
//    Cookie) are never cached; POSTs are forwarded with their body and
//    redirects go to the browser.
// 6. `firstpaint cache purge` (a path, a prefix, --all): the next request
//    after the isolate re-reads the purges fetches anew, and a purged page
//    is never served stale, even when a revalidation that began before the
//    isolate saw the purge renewed it with a 304; a copy the origin later
//    answers 404 for is dropped, not kept for stale-if-error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { CONSENTED, ROOT, fetchAgain, firstpaint, slotItems, startWrangler, tempState, publish } from './support.mjs';

const SITE = path.join(ROOT, 'build/site');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The fixtures site as an origin whose answers each test sets per path. */
async function startOrigin() {
  const rules = new Map();
  const seen = [];
  let version = 1;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://origin');
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      seen.push({ method: req.method, path: url.pathname, search: url.search, headers: req.headers, body });
      const rule = rules.get(url.pathname) ?? {};
      if (rule.status && rule.status !== 200) {
        res.writeHead(rule.status, { 'content-type': 'text/plain', ...rule.headers });
        res.end(`origin says ${rule.status}`);
        return;
      }
      if (rule.etag && req.headers['if-none-match'] === rule.etag) {
        setTimeout(() => {
          res.writeHead(304, { etag: rule.etag, 'cache-control': rule.cacheControl });
          res.end();
        }, rule.notModifiedAfterMs ?? 0);
        return;
      }
      const file = path.join(SITE, url.pathname === '/' ? 'index.html' : `${url.pathname.slice(1)}.html`);
      if (!fs.existsSync(file)) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('no such page');
        return;
      }
      const html = fs.readFileSync(file, 'utf8')
        .replace('</body>', `<p id="origin-version">v${rule.version ?? version}</p></body>`);
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        ...(rule.cacheControl ? { 'cache-control': rule.cacheControl } : {}),
        ...(rule.etag ? { etag: rule.etag } : {}),
        ...rule.headers,
      });
      res.end(html);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    rules,
    seen,
    asked: (p) => seen.filter((s) => s.path === p).length,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

const versionOf = (html) => html.match(/<p id="origin-version">(v\d+)<\/p>/)?.[1];
const PRODUCT = '/products/SKU-00001';

describe('storefront page cache', () => {
  let origin;
  let worker;
  let state;
  before(async () => {
    origin = await startOrigin();
    state = tempState();
    publish(state);
    worker = await startWrangler(state, { ORIGIN_URL: origin.url, PURGE_TTL_MS: '500' });
  });
  after(async () => {
    worker?.stop();
    await origin?.stop();
  });

  const get = async (p, headers = {}) => {
    // Again when a connection kept alive through a CLI command was closed.
    const res = await fetchAgain(`${worker.url}${p}`, { headers: { cookie: CONSENTED, 'x-p13n-region': 'DE', ...headers }, redirect: 'manual' });
    return { res, html: await res.text(), cache: res.headers.get('x-p13n-cache') };
  };
  // What the worker does in the background (storing, revalidating,
  // re-reading purges) lands after a response: ask until it shows.
  const eventually = async (check, what) => {
    for (let i = 0; i < 60; i += 1) {
      const got = await check();
      if (got) return got;
      await sleep(100);
    }
    return assert.fail(`timed out waiting for ${what}`);
  };
  // `p` requested until the cache answers `hit`; with how many misses.
  const untilHit = async (p, headers) => {
    let misses = 0;
    const hit = await eventually(async () => {
      const r = await get(p, headers);
      misses += r.cache === 'miss' ? 1 : 0;
      return r.cache === 'hit' && r;
    }, `a hit on ${p}`);
    return { ...hit, misses };
  };

  test('a fresh page is served from the cache, personalized for each shopper', async () => {
    origin.rules.set(PRODUCT, { cacheControl: 'public, s-maxage=60', version: 1 });
    const first = await get(`${PRODUCT}?utm_source=mail`);
    assert.equal(first.res.status, 200);
    assert.equal(first.cache, 'miss');
    const second = await untilHit(PRODUCT, { cookie: 'fp_consent=personalization.analytics; other=1' });
    assert.equal(origin.asked(PRODUCT), 1 + second.misses, 'a hit asked the origin');
    assert.equal(versionOf(second.html), 'v1');
    // Personalized after the cache: slots filled, private, never shared.
    assert.equal(second.res.headers.get('cache-control'), 'private, no-store');
    assert.match(second.res.headers.get('x-p13n'), /personal/);
    assert.ok(slotItems(second.html).some((s) => s.ids.length > 0), 'no slot was filled');
    // Not the query the page is about: another key.
    const other = await get(`${PRODUCT}?variant=red`);
    assert.equal(other.cache, 'miss');
  });

  test('within stale-while-revalidate the stale copy is served and renewed in the background', async () => {
    const p = '/products/SKU-00002';
    origin.rules.set(p, { cacheControl: 's-maxage=1, stale-while-revalidate=30', version: 1 });
    assert.equal((await get(p)).cache, 'miss');
    await sleep(1300);
    origin.rules.set(p, { cacheControl: 's-maxage=30, stale-while-revalidate=30', version: 2 });
    const stale = await get(p);
    assert.equal(stale.cache, 'stale');
    assert.equal(versionOf(stale.html), 'v1');
    const renewed = await untilHit(p);
    assert.equal(renewed.misses, 0);
    assert.equal(versionOf(renewed.html), 'v2');
  });

  test('an unchanged page revalidates with a 304 and keeps its body', async () => {
    const p = '/products/SKU-00003';
    const rule = { cacheControl: 's-maxage=1, stale-while-revalidate=30', etag: '"p3-v1"', version: 1 };
    origin.rules.set(p, rule);
    assert.equal((await get(p)).cache, 'miss');
    await sleep(1300);
    // The 304 will say the copy is good for 30 s more.
    rule.cacheControl = 's-maxage=30, stale-while-revalidate=30';
    assert.equal((await get(p)).cache, 'stale');
    await eventually(() => origin.asked(p) === 2, 'the background revalidation');
    const revalidation = origin.seen.filter((s) => s.path === p).at(-1);
    assert.equal(revalidation.headers['if-none-match'], '"p3-v1"');
    assert.equal(revalidation.headers.cookie, undefined, 'a shopper\'s cookies revalidated the shared copy');
    const kept = await untilHit(p);
    assert.equal(kept.misses, 0);
    assert.equal(versionOf(kept.html), 'v1');
  });

  test('a revalidation drops the copy only when the origin says it is gone', async () => {
    const kept = '/products/SKU-00015';
    const gone = '/products/SKU-00016';
    for (const p of [kept, gone]) {
      origin.rules.set(p, { cacheControl: 's-maxage=1, stale-while-revalidate=60', version: 1 });
      assert.equal((await get(p)).cache, 'miss');
    }
    await sleep(1300);
    // Throttled: the stale copy stays in service.
    origin.rules.set(kept, { status: 429 });
    assert.equal((await get(kept)).cache, 'stale');
    await eventually(() => origin.asked(kept) === 2, 'the background revalidation');
    await sleep(300);
    const still = await get(kept);
    assert.equal(still.cache, 'stale');
    assert.equal(versionOf(still.html), 'v1');
    // Deleted at the origin: the copy goes, and the 404 is what is served.
    origin.rules.set(gone, { status: 404 });
    assert.equal((await get(gone)).cache, 'stale');
    await eventually(async () => (await get(gone)).res.status === 404, 'the copy dropped');
  });

  test('past stale-while-revalidate the page is fetched before serving', async () => {
    const p = '/products/SKU-00004';
    origin.rules.set(p, { cacheControl: 's-maxage=1, stale-while-revalidate=1, stale-if-error=60', version: 1 });
    assert.equal((await get(p)).cache, 'miss');
    await sleep(2300);
    origin.rules.set(p, { cacheControl: 's-maxage=1, stale-while-revalidate=1, stale-if-error=60', version: 2 });
    const fetched = await get(p);
    assert.equal(fetched.cache, 'miss');
    assert.equal(versionOf(fetched.html), 'v2');
    assert.equal(origin.asked(p), 2);
  });

  test('with the origin failing, stale-if-error serves the copy; without one, a 502 says why', async () => {
    const p = '/products/SKU-00005';
    const cc = 's-maxage=1, stale-if-error=60';
    origin.rules.set(p, { cacheControl: cc, version: 1 });
    assert.equal((await get(p)).cache, 'miss');
    await sleep(1300);
    origin.rules.set(p, { status: 503 });
    const served = await get(p);
    assert.equal(served.res.status, 200);
    assert.equal(served.cache, 'stale-if-error');
    assert.equal(versionOf(served.html), 'v1');
    assert.match(served.res.headers.get('x-p13n'), /personal/);
    // A page never cached: the origin's own 5xx passes through.
    origin.rules.set('/products/SKU-00006', { status: 503 });
    const uncached = await get('/products/SKU-00006');
    assert.equal(uncached.res.status, 503);
    // past the window (must-revalidate forbids stale): the origin's answer.
    const strict = '/products/SKU-00007';
    origin.rules.set(strict, { cacheControl: 's-maxage=1, stale-if-error=60, must-revalidate' });
    await get(strict);
    await sleep(1300);
    origin.rules.set(strict, { status: 502 });
    assert.equal((await get(strict)).res.status, 502);
  });

  test('pages the origin keeps private are never cached', async () => {
    const cases = [
      ['/products/SKU-00008', { cacheControl: 'private, max-age=60' }],
      ['/products/SKU-00009', { cacheControl: 's-maxage=60', headers: { 'set-cookie': 'cart=abc' } }],
      ['/products/SKU-00010', { cacheControl: 's-maxage=60', headers: { vary: 'Cookie' } }],
      ['/products/SKU-00011', {}],
    ];
    for (const [p, rule] of cases) {
      origin.rules.set(p, rule);
      assert.equal((await get(p)).cache, 'bypass', p);
      assert.equal((await get(p)).cache, 'bypass', p);
      assert.equal(origin.asked(p), 2, `${p} was cached`);
    }
  });

  test('POSTs reach the origin with their body; redirects reach the browser', async () => {
    const res = await fetch(`${worker.url}/cart/add`, { method: 'POST', body: 'sku=SKU-00001&qty=2', headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    await res.text();
    assert.equal(res.headers.get('x-p13n-cache'), 'bypass');
    const post = origin.seen.filter((s) => s.path === '/cart/add').at(-1);
    assert.equal(post.method, 'POST');
    assert.equal(post.body, 'sku=SKU-00001&qty=2');
    origin.rules.set('/old', { status: 301, headers: { location: '/products/SKU-00001' } });
    const moved = await get('/old');
    assert.equal(moved.res.status, 301);
    assert.equal(moved.res.headers.get('location'), '/products/SKU-00001');
  });

  test('cache purge stops serving the cached copies, stale ones too', async () => {
    const pages = ['/products/SKU-00012', '/products/SKU-00013', '/categories/home-kitchen'];
    for (const p of pages) origin.rules.set(p, { cacheControl: 's-maxage=600, stale-if-error=600', version: 1 });
    for (const p of pages) assert.equal((await get(p)).cache, 'miss');
    for (const p of pages) await untilHit(p);
    const purge = (...args) => firstpaint(['cache', 'purge', ...args, '--local', '--persist-to', state]);
    const out = purge('/products/SKU-00012');
    assert.match(out, /purged \/products\/SKU-00012/);
    // Each request lets the isolate re-read the purges in the background.
    await eventually(async () => (await get(pages[0])).cache === 'miss', 'the purge of a path');
    assert.equal((await get(pages[1])).cache, 'hit');
    // A purged page is not served stale when the origin fails.
    purge('/products/*');
    origin.rules.set(pages[1], { status: 503 });
    await eventually(async () => (await get(pages[1])).res.status === 503, 'the purge of a prefix');
    assert.equal((await get(pages[2])).cache, 'hit');
    purge('--all');
    await eventually(async () => (await get(pages[2])).cache === 'miss', 'the purge of everything');
    const shown = JSON.parse(firstpaint(['cache', 'show', '--json', '--local', '--persist-to', state]));
    assert.deepEqual(shown.rules.map((r) => r.path), ['/*']);
    assert.throws(() => purge('products/x'), /starts with `\/`/);
  });

  test('a copy renewed by a 304 after a purge stays purged', async () => {
    const p = '/products/SKU-00017';
    // The 304 comes late: after the isolate has read the purge below.
    const rule = { cacheControl: 's-maxage=1, stale-while-revalidate=60', etag: '"p17-v1"', version: 1, notModifiedAfterMs: 1500 };
    origin.rules.set(p, rule);
    assert.equal((await get(p)).cache, 'miss');
    await sleep(1300);
    firstpaint(['cache', 'purge', p, '--local', '--persist-to', state]);
    // The isolate has not read the purge yet: the stale copy, and a
    // revalidation in the background (the purges are re-read meanwhile).
    assert.equal((await get(p)).cache, 'stale');
    await eventually(() => origin.asked(p) === 2, 'the background revalidation');
    await sleep(2000);
    // The 304 renewed the copy's life, not its body: still purged.
    const after = await get(p);
    assert.equal(after.cache, 'miss');
    assert.equal(origin.asked(p), 3);
  });

  test('a copy the origin says is gone is not kept for stale-if-error', async () => {
    const p = '/products/SKU-00018';
    origin.rules.set(p, { cacheControl: 's-maxage=1, stale-if-error=600', version: 1 });
    assert.equal((await get(p)).cache, 'miss');
    await sleep(1300);
    origin.rules.set(p, { status: 404 });
    assert.equal((await get(p)).res.status, 404);
    // Later the origin fails: the deleted page is not brought back.
    origin.rules.set(p, { status: 503 });
    await eventually(async () => (await get(p)).res.status === 503, 'the copy dropped');
  });

  test('an unreachable origin with nothing cached is a 502 that says why', async () => {
    const p = '/products/SKU-00014';
    await origin.stop();
    const down = await get(p);
    assert.equal(down.res.status, 502);
    assert.match(down.html, /storefront origin cannot be reached/);
    const post = await fetchAgain(`${worker.url}/cart/add`, { method: 'POST', body: 'sku=SKU-00001' });
    assert.equal(post.status, 502);
    assert.match(await post.text(), /storefront origin cannot be reached/);
  });
});
