// The storefront in a real browser (Debian's headless Chromium): the slot
// content is in the first HTML response, and nothing changes it after load.
//
// 1. The ids in the DOM's slots after load equal those in the raw response.
// 2. No mutation touches a slot after DOMContentLoaded, and the page runs no script.
// 3. A product page, reached by a click, shows similar items at first paint too.
// 4. The same holds for a visitor without consent (no cookie set, no
//    personal items), a returning visitor (recent views first), an
//    out-of-stock product page (alternatives) and a search typed into the
//    storefront's form.
// 5. A category page reached from the home page's navigation shows its
//    department in the picked-for-you slot at first paint.
// 6. No page type (home, product, out of stock, category, search, a
//    corrected search, cart) shifts its layout after first paint
//    (PerformanceObserver `layout-shift`, as Core Web Vitals counts it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CONSENTED, ROOT, catalog, devProfile, slotItems, slotOf, startStore } from './support.mjs';

const EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('first paint in Chromium', () => {
  let server;
  let browser;
  let context;
  before(async () => {
    server = await startStore();
    browser = await chromium.launch({
      executablePath: EXECUTABLE,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
    });
    context = await newContext([{ name: 'fp_consent', value: 'personalization.analytics' }]);
  });
  after(async () => {
    await browser?.close();
    server?.stop();
  });

  /** A browser context with `cookies` that records slot mutations after parsing. */
  async function newContext(cookies, headers = {}) {
    const ctx = await browser.newContext({ extraHTTPHeaders: headers });
    await ctx.addCookies(cookies.map((c) => ({ ...c, url: server.url })));
    // Record every change to a slot after the parser is done with the page.
    await ctx.addInitScript(() => {
      window.__slotMutations = [];
      let parsed = false;
      const observer = new MutationObserver((records) => {
        if (!parsed) return;
        for (const r of records) {
          const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
          if (el?.closest('[data-p13n-slot]')) window.__slotMutations.push(r.type);
        }
      });
      observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
      document.addEventListener('DOMContentLoaded', () => {
        // The parser's own insertions may still be queued: drop them first.
        observer.takeRecords();
        parsed = true;
      });
    });
    return ctx;
  }

  async function visit(page, navigate) {
    let html = null;
    page.on('response', async (res) => {
      if (res.request().resourceType() === 'document') html = await res.text();
    });
    await navigate();
    await page.waitForLoadState('load');
    await page.waitForTimeout(500);
    const dom = await page.$$eval('section[data-p13n-slot]', (slots) => slots.map((s) => ({
      type: s.getAttribute('data-p13n-slot'),
      ids: [...s.querySelectorAll('[data-p13n-items] [data-product]')].map((e) => e.getAttribute('data-product')),
    })));
    const mutations = await page.evaluate(() => window.__slotMutations);
    const scripts = await page.evaluate(() => document.scripts.length);
    return { html, dom, mutations, scripts };
  }

  test('the home slot is in the first HTML and untouched after load', async () => {
    const page = await context.newPage();
    const { html, dom, mutations, scripts } = await visit(page, () => page.goto(`${server.url}/`));
    const first = slotItems(html).map(({ type, ids }) => ({ type, ids }));
    assert.equal(first[0].ids.length, 8);
    assert.deepEqual(dom, first);
    assert.deepEqual(mutations, []);
    assert.equal(scripts, 0);
    const shots = path.join(ROOT, 'build/screenshots');
    fs.mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: path.join(shots, 'home.png'), fullPage: true });
    await page.close();
  });

  test('a clicked product page shows similar items at first paint', async () => {
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    const target = await page.getAttribute('[data-p13n-items] [data-product] a', 'href');
    const { html, dom, mutations } = await visit(page, () => page.click(`[data-p13n-items] a[href="${target}"]`));
    assert.equal(new URL(page.url()).pathname, target);
    const first = slotItems(html).map(({ type, ids }) => ({ type, ids }));
    assert.equal(first.find((s) => s.type === 'similar').ids.length, 6);
    assert.deepEqual(dom, first);
    assert.deepEqual(mutations, []);
    await page.screenshot({ path: path.join(ROOT, 'build/screenshots/product.png'), fullPage: true });
    // The view was recorded in the signed profile cookie.
    const cookies = await context.cookies();
    const profile = cookies.find((c) => c.name === 'fp_profile');
    assert.ok(profile?.httpOnly, JSON.stringify(cookies));
    const viewed = JSON.parse(Buffer.from(profile.value.split('.')[1], 'base64url')).v;
    assert.equal(viewed[0], target.split('/').pop());
    await page.close();
  });

  test('a category page reached from the home page nav is personalized at first paint', async () => {
    const ctx = await newContext([{ name: 'fp_consent', value: 'personalization.analytics' }]);
    const page = await ctx.newPage();
    await page.goto(`${server.url}/`);
    const { html, dom, mutations } = await visit(page, () => page.click('nav a[href="/categories/sports-outdoors/camping"]'));
    assert.equal(new URL(page.url()).pathname, '/categories/sports-outdoors/camping');
    const first = slotItems(html).map(({ type, ids }) => ({ type, ids }));
    const picked = first.find((s) => s.type === 'home').ids;
    const byId = catalog();
    const outdoors = picked.filter((id) => byId.get(id).category[0] === 'Sports & Outdoors');
    assert.ok(outdoors.length * 2 > picked.length, `${outdoors.length} of ${picked.length} picked in Sports & Outdoors`);
    assert.deepEqual(dom, first);
    assert.deepEqual(mutations, []);
    await page.screenshot({ path: path.join(ROOT, 'build/screenshots/category.png'), fullPage: true });
    await ctx.close();
  });

  /** Visits `url` in `ctx`; checks first paint equals the settled DOM; returns the slots. */
  async function firstPaint(ctx, url) {
    const page = await ctx.newPage();
    const { html, dom, mutations } = await visit(page, () => page.goto(`${server.url}${url}`));
    const first = slotItems(html).map(({ type, ids }) => ({ type, ids }));
    assert.deepEqual(dom, first, `${url}: the DOM after load differs from the first HTML`);
    assert.deepEqual(mutations, [], `${url}: something changed a slot after load`);
    await page.close();
    return html;
  }

  test('a visitor without consent: no cookie, nothing personal, still at first paint', async () => {
    const ctx = await newContext([], { 'x-p13n-region': 'DE' });
    const products = [...catalog().keys()];
    for (const id of products.slice(0, 3)) await firstPaint(ctx, `/products/${id}`);
    const home = slotOf(await firstPaint(ctx, '/'), 'home').ids;
    // The same region: regional exclusions differ, personalization must not.
    const anonymous = await (await fetch(`${server.url}/`, { headers: { cookie: 'fp_consent=none', 'x-p13n-region': 'DE' } })).text();
    assert.deepEqual(home, slotOf(anonymous, 'home').ids);
    assert.deepEqual((await ctx.cookies()).map((c) => c.name), []);
    await ctx.close();
  });

  test('a returning visitor sees their recent views first', async () => {
    const recent = ['SKU-00003', 'SKU-00004'];
    const cookie = devProfile({ v: recent, n: 4, t: Math.floor(Date.now() / 1000) - 7200 }).split('=');
    const ctx = await newContext([
      { name: 'fp_consent', value: 'personalization.analytics' },
      { name: cookie[0], value: cookie.slice(1).join('=') },
    ]);
    const home = slotOf(await firstPaint(ctx, '/'), 'home').ids;
    assert.deepEqual(home.filter((id) => recent.includes(id)).slice(0, 2), recent, `${home}`);
    await ctx.close();
  });

  test('a search typed into the form arrives ranked at first paint', async () => {
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.fill('input[name=q]', 'smartphne');
    const { html, dom, mutations } = await visit(page, () => page.press('input[name=q]', 'Enter'));
    assert.equal(new URL(page.url()).pathname, '/search');
    const first = slotItems(html).map(({ type, ids }) => ({ type, ids }));
    const results = first.find((s) => s.type === 'search').ids;
    assert.equal(results.length, 22, `${results}`);
    assert.deepEqual(dom, first);
    assert.deepEqual(mutations, []);
    assert.equal(await page.textContent('[data-p13n-query]'), 'smartphne');
    await page.screenshot({ path: path.join(ROOT, 'build/screenshots/search.png'), fullPage: true });
    await page.close();
  });

  test('nothing moves after first paint: no layout shift on any page type', async () => {
    const ctx = await newContext([{ name: 'fp_consent', value: 'personalization.analytics' }]);
    // Every layout shift the page makes, as Core Web Vitals counts them
    // (not those right after input).
    await ctx.addInitScript(() => {
      window.__shifts = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (!e.hadRecentInput) window.__shifts.push({ value: e.value, nodes: e.sources.map((s) => s.node?.outerHTML?.slice(0, 80) ?? '') });
        }
      }).observe({ type: 'layout-shift', buffered: true });
    });
    const gone = [...catalog().values()].find((p) => p.inventory.every((s) => s.available === 0));
    const pages = ['/', '/products/SKU-00001', `/products/${gone.id}`, '/categories/sports-outdoors/camping', '/search?q=tent', '/search?q=smartphne', '/cart'];
    const page = await ctx.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    for (const url of pages) {
      const res = await page.goto(`${server.url}${url}`);
      assert.equal(res.headers()['x-p13n'], 'personalized', url);
      await page.waitForLoadState('load');
      // Shifts are reported after the frame they happen in: let a few pass.
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 300)))));
      const shifts = await page.evaluate(() => window.__shifts);
      assert.deepEqual(shifts, [], `${url}: layout shifted after first paint`);
    }
    // The check can see a shift: content put above the slots after load moves them.
    await page.evaluate(() => {
      const block = document.createElement('div');
      block.style.height = '240px';
      document.querySelector('main').prepend(block);
    });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 300)))));
    const seen = await page.evaluate(() => window.__shifts.reduce((sum, e) => sum + e.value, 0));
    assert.ok(seen > 0, `a late insertion was not seen as a shift (${seen})`);
    await ctx.close();
  });

  test('an out-of-stock product page offers alternatives at first paint', async () => {
    const gone = [...catalog().values()].find((p) => p.inventory.every((s) => s.available === 0));
    const html = await firstPaint(context, `/products/${gone.id}`);
    assert.ok(slotOf(html, 'alternatives').ids.length > 0);
  });
});
