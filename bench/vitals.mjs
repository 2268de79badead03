// Core Web Vitals of the fixtures storefront in headless Chromium: every
// page type served personalized, and by the same worker with the kill
// switch on (P13N_DISABLED=1: the page streamed through untouched), in the
// same run, two ways:
//
// - `same`: the kill switch over a copy of the personalized page (taken
//   from the personalizing worker once, before the loads, and served by
//   the origin in place of the authored page): the same bytes, the same
//   cards and images, so what the LCP difference shows is the worker's
//   own work, the time personalizing takes;
// - `authored`: the kill switch over the page as the merchant wrote it,
//   fallbacks and all: what a shopper sees with personalization off. Its
//   content differs (a product page's empty `data-p13n-empty="remove"`
//   slots, the search page's fallback of 9 cards), and so does its LCP.
//
//   node bench/vitals.mjs [loads]     (after `make worker bundle site`; default 20)
//
// Both arms run in one bare workerd (bench/workerd.mjs: no `wrangler dev`
// proxy, which adds ~10 ms and its own noise to every response), over the
// fixtures bundle, with the fixtures site (build/site: pages, style sheet,
// images) served from a local origin the way `wrangler dev` serves it as
// assets (`/products/X` is products/X.html).
//
// Each load is a fresh browser context (a first visit: no cache, the
// consent cookie set), the three arms in rotating order so that drift on
// this noisy machine hits each alike. Per load: time to first byte
// (navigation `responseStart`), time to the last byte (`responseEnd`:
// with the same bytes in both arms, the part of the LCP difference the
// worker decides; the rest is the browser's rendering, and its noise),
// first contentful paint, largest
// contentful paint (the last `largest-contentful-paint` entry before the
// page is hidden) and cumulative layout shift (`layout-shift` entries not
// after input). Prints a Markdown table per page type: medians of the
// personalized arm and of `same`, and the difference; a 95% bootstrap
// interval of that LCP difference (what this many loads can tell apart);
// the same from the loads paired by round;
// the LCP difference against `authored`; the worst CLS of each arm; and
// how many loads never reached `load` (30 s; counted, not measured).
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CONSENTED, ROOT, catalog } from '../tests/support.mjs';
import { publishToDir, startOrigin, startWorkerd } from './workerd.mjs';

const LOADS = Number(process.argv[2] ?? 20);
const EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const gone = [...catalog().values()].find((p) => p.inventory.every((s) => s.available === 0));
const PAGES = {
  home: '/',
  product: '/products/SKU-00001',
  'out of stock': `/products/${gone.id}`,
  category: '/categories/sports-outdoors/camping',
  search: '/search?q=tent',
  cart: '/cart',
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : NaN;
};

/**
 * A 95% interval of median(on) - median(off) by the bootstrap (2,000
 * resamples of each arm): how far the LCP difference can be read from
 * this many loads on this machine.
 */
function differenceInterval(on, off) {
  const diffs = Array.from({ length: 2000 }, () => median(draw(on)) - median(draw(off))).sort((a, b) => a - b);
  return [diffs[50], diffs[1949]];
}

/** `xs` resampled with replacement. */
const draw = (xs) => xs.map(() => xs[Math.floor(Math.random() * xs.length)]);

/**
 * The median of paired differences (each load of one arm against the
 * other arm's load of the same round, taken moments apart) and its 95%
 * bootstrap interval: drift that hits a whole round cancels out.
 */
function pairedInterval(diffs) {
  const medians = Array.from({ length: 2000 }, () => median(draw(diffs))).sort((a, b) => a - b);
  return [median(diffs), medians[50], medians[1949]];
}

/** One first visit of `url`: its vitals, read after load and two frames. */
async function visit(browser, url) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const [name, value] = CONSENTED.split('=');
  await ctx.addCookies([{ name, value, url }]);
  await ctx.addInitScript(() => {
    window.__vitals = { lcp: 0, cls: 0 };
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__vitals.lcp = e.startTime;
    }).observe({ type: 'largest-contentful-paint', buffered: true });
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) if (!e.hadRecentInput) window.__vitals.cls += e.value;
    }).observe({ type: 'layout-shift', buffered: true });
  });
  const page = await ctx.newPage();
  let res;
  try {
    res = await page.goto(url, { waitUntil: 'load' });
  } catch (e) {
    // A load that never finishes is counted, not measured (and not fatal).
    await ctx.close();
    if (e.name === 'TimeoutError') return { timedOut: true };
    throw e;
  }
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 100)))));
  const v = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return { ttfb: nav.responseStart, end: nav.responseEnd, fcp: fcp?.startTime ?? NaN, lcp: window.__vitals.lcp, cls: window.__vitals.cls };
  });
  const tag = res.headers()['x-p13n'];
  await ctx.close();
  return { ...v, tag };
}

const SITE = path.join(ROOT, 'build/site');
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.svg': 'image/svg+xml' };

/**
 * The fixtures site as `wrangler dev` serves its assets: a file, else
 * `.html` or `index.html` added; a path in `copies` (path -> page) is
 * answered with its copy instead.
 */
const serveSite = (copies) => (req, res) => {
  const { pathname } = new URL(req.url, 'http://origin');
  if (copies.has(pathname)) {
    res.writeHead(200, { 'content-type': TYPES['.html'] });
    res.end(copies.get(pathname));
    return;
  }
  const wanted = decodeURIComponent(pathname);
  for (const candidate of [wanted, `${wanted}.html`, path.join(wanted, 'index.html')]) {
    const file = path.join(SITE, candidate);
    if (file.startsWith(SITE) && fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      res.end(fs.readFileSync(file));
      return;
    }
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
};

// The personalized pages' copies, filled in before the loads.
const copies = new Map();
const origin = await startOrigin(serveSite(new Map()));
const copyOrigin = await startOrigin(serveSite(copies));
const ORIGIN_URL = origin.url;
const kvDir = publishToDir(path.join(ROOT, 'build/fixtures.fpb'), 'fp-vitals-kv-');
const workerd = await startWorkerd({
  kvDir,
  workers: {
    on: { ORIGIN_URL, LOG_PAGES: '0' },
    same: { ORIGIN_URL: copyOrigin.url, P13N_DISABLED: '1' },
    authored: { ORIGIN_URL, P13N_DISABLED: '1' },
  },
});
const ARMS = ['on', 'same', 'authored'];
const browser = await chromium.launch({
  executablePath: EXECUTABLE,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
});
try {
  const rows = [];
  // Warm isolates first: V8 runs a function's baseline code until it has
  // been called enough to be optimized, which for this worker takes some
  // 50 pages (a fresh isolate's first pages are several ms slower); the
  // kill switch runs hardly any wasm, so without this the page types
  // measured first would pay for it on one arm only.
  for (let i = 0; i < 20; i++) {
    for (const route of Object.values(PAGES)) {
      for (const arm of ARMS) {
        await (await fetch(`${workerd.urls[arm]}${route}`, { headers: { cookie: CONSENTED } })).arrayBuffer();
      }
    }
  }
  for (const route of Object.values(PAGES)) {
    const { pathname } = new URL(route, 'http://origin');
    const res = await fetch(`${workerd.urls.on}${route}`, { headers: { cookie: CONSENTED } });
    if (res.headers.get('x-p13n') !== 'personalized') throw new Error(`${route}: x-p13n ${res.headers.get('x-p13n')}, not personalized`);
    copies.set(pathname, await res.text());
  }
  const want = { on: 'personalized', same: 'disabled', authored: 'disabled' };
  for (const [type, route] of Object.entries(PAGES)) {
    // One unmeasured load each: the browser's first load of the type.
    for (const arm of ARMS) await visit(browser, `${workerd.urls[arm]}${route}`);
    const arms = { on: [], same: [], authored: [] };
    const timedOut = { on: 0, same: 0, authored: 0 };
    const rounds = Array.from({ length: LOADS }, () => ({}));
    for (let i = 0; i < LOADS; i++) {
      // The order rotates: drift on this noisy machine hits every arm alike.
      for (let j = 0; j < ARMS.length; j++) {
        const arm = ARMS[(i + j) % ARMS.length];
        const v = await visit(browser, `${workerd.urls[arm]}${route}`);
        if (v.timedOut) {
          timedOut[arm] += 1;
          console.error(`${type}: a ${arm} load did not reach 'load' in 30 s`);
          continue;
        }
        if (v.tag !== want[arm]) throw new Error(`${type}: ${arm}: x-p13n ${v.tag}, not ${want[arm]}`);
        arms[arm].push(v);
        rounds[i][arm] = v;
      }
    }
    const m = (arm, k) => median(arms[arm].map((v) => v[k]));
    const signed = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
    const cell = (k) => `${m('on', k).toFixed(1)} / ${m('same', k).toFixed(1)} (${signed(m('on', k) - m('same', k))})`;
    const worst = (arm) => Math.max(...arms[arm].map((v) => v.cls)).toFixed(4);
    const lcps = (arm) => arms[arm].map((v) => v.lcp);
    const [low, high] = differenceInterval(lcps('on'), lcps('same'));
    const paired = pairedInterval(rounds.filter((r) => r.on && r.same).map((r) => r.on.lcp - r.same.lcp));
    rows.push(`| ${type} | ${cell('ttfb')} | ${cell('end')} | ${cell('fcp')} | ${cell('lcp')} | ${low.toFixed(1)} to ${high.toFixed(1)} | ${signed(paired[0])} (${paired[1].toFixed(1)} to ${paired[2].toFixed(1)}) | ${signed(m('on', 'lcp') - m('authored', 'lcp'))} | ${ARMS.map(worst).join(' / ')} | ${ARMS.map((a) => timedOut[a]).join(' / ')} |`);
    console.error(rows.at(-1));
  }
  console.log(`${LOADS} first visits a page type and arm, in rotating order; headless Chromium, bare workerd (${workerd.version}); medians in ms, personalized / kill switch over the personalized page's copy (difference)\n`);
  console.log('| page | TTFB | last byte | FCP | LCP | LCP difference, 95% interval | LCP, paired by round: median difference (95% interval) | LCP against the authored page | CLS, worst load: personalized / copy / authored | loads timed out (30 s) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(rows.join('\n'));
} finally {
  await browser.close();
  workerd.stop();
  origin.close();
  copyOrigin.close();
  fs.rmSync(kvDir, { recursive: true, force: true });
}
