// Core Web Vitals of the fixtures storefront in headless Chromium: every
// page type served personalized, and by the same worker with the kill
// switch on (P13N_DISABLED=1: the page streamed through untouched), in the
// same run.
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
// consent cookie set), alternating between the two workers so that drift
// on this noisy machine hits both alike. Per load: time to first byte
// (navigation `responseStart`), first contentful paint, largest
// contentful paint (the last `largest-contentful-paint` entry before the
// page is hidden) and cumulative layout shift (`layout-shift` entries not
// after input). Prints a Markdown table per page type: medians of each
// arm and the personalized arm's difference, a 95% bootstrap interval of
// the LCP difference (what this many loads can tell apart), the worst CLS
// seen and how many loads never reached `load` (30 s; counted, not
// measured).
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
  const draw = (xs) => xs.map(() => xs[Math.floor(Math.random() * xs.length)]);
  const diffs = Array.from({ length: 2000 }, () => median(draw(on)) - median(draw(off))).sort((a, b) => a - b);
  return [diffs[50], diffs[1949]];
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
    return { ttfb: nav.responseStart, fcp: fcp?.startTime ?? NaN, lcp: window.__vitals.lcp, cls: window.__vitals.cls };
  });
  const tag = res.headers()['x-p13n'];
  await ctx.close();
  return { ...v, tag };
}

const SITE = path.join(ROOT, 'build/site');
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.svg': 'image/svg+xml' };

/** The fixtures site as `wrangler dev` serves its assets: a file, else `.html` or `index.html` added. */
function serveSite(req, res) {
  const wanted = decodeURIComponent(new URL(req.url, 'http://origin').pathname);
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
}

const origin = await startOrigin(serveSite);
const ORIGIN_URL = origin.url;
const kvDir = publishToDir(path.join(ROOT, 'build/fixtures.fpb'), 'fp-vitals-kv-');
const workerd = await startWorkerd({
  kvDir,
  workers: { on: { ORIGIN_URL, LOG_PAGES: '0' }, off: { ORIGIN_URL, P13N_DISABLED: '1' } },
});
const personalized = { url: workerd.urls.on };
const killed = { url: workerd.urls.off };
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
      for (const server of [personalized, killed]) {
        await (await fetch(`${server.url}${route}`, { headers: { cookie: CONSENTED } })).arrayBuffer();
      }
    }
  }
  for (const [type, route] of Object.entries(PAGES)) {
    // One unmeasured load each: the browser's first load of the type.
    await visit(browser, `${personalized.url}${route}`);
    await visit(browser, `${killed.url}${route}`);
    const arms = { on: [], off: [] };
    const timedOut = { on: 0, off: 0 };
    for (let i = 0; i < LOADS; i++) {
      for (const [arm, server] of i % 2 ? [['off', killed], ['on', personalized]] : [['on', personalized], ['off', killed]]) {
        const v = await visit(browser, `${server.url}${route}`);
        if (v.timedOut) {
          timedOut[arm] += 1;
          console.error(`${type}: a ${arm} load did not reach 'load' in 30 s`);
          continue;
        }
        const want = arm === 'on' ? 'personalized' : 'disabled';
        if (v.tag !== want) throw new Error(`${type}: x-p13n ${v.tag}, not ${want}`);
        arms[arm].push(v);
      }
    }
    const m = (arm, k) => median(arms[arm].map((v) => v[k]));
    const cell = (k) => `${m('on', k).toFixed(1)} / ${m('off', k).toFixed(1)} (${(m('on', k) - m('off', k) >= 0 ? '+' : '')}${(m('on', k) - m('off', k)).toFixed(1)})`;
    const worst = Math.max(...arms.on.map((v) => v.cls));
    const worstOff = Math.max(...arms.off.map((v) => v.cls));
    const [low, high] = differenceInterval(arms.on.map((v) => v.lcp), arms.off.map((v) => v.lcp));
    rows.push(`| ${type} | ${cell('ttfb')} | ${cell('fcp')} | ${cell('lcp')} | ${low.toFixed(1)} to ${high.toFixed(1)} | ${worst.toFixed(4)} / ${worstOff.toFixed(4)} | ${timedOut.on} / ${timedOut.off} |`);
    console.error(rows.at(-1));
  }
  console.log(`${LOADS} first visits a page type and arm, alternating; headless Chromium, bare workerd (${workerd.version}); medians in ms, personalized / kill switch (difference)\n`);
  console.log('| page | TTFB | FCP | LCP | LCP difference, 95% interval | CLS, worst load | loads timed out (30 s) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(rows.join('\n'));
} finally {
  await browser.close();
  workerd.stop();
  origin.close();
  fs.rmSync(kvDir, { recursive: true, force: true });
}
