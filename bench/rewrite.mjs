// What personalizing a page adds in workerd, and nothing else: a ~100 KB
// storefront page with 4 slots of 12 cards, held in memory by a local
// origin (ORIGIN_URL), fetched by the worker and personalized, or passed
// through by the same worker with the kill switch on (P13N_DISABLED=1: the
// origin's body stream handed on untouched). Bare workerd (the npm
// package's binary, bench/workerd.mjs): no `wrangler dev`, no proxy, no
// inspector. A third arm personalizes with lol_html reading every byte
// (P13N_READ_EVERY_BYTE=1) rather than the slot regions only. Every arm
// runs with production's settings (LOG_PAGES off: no log line per page).
// Three floors run beside them (bench/floors.js, no wasm): a JavaScript
// worker passing the page through, the same worker streaming the body
// through the edge's own loop (edge/src/rewrite_stream.mjs) with a copy for
// the rewrite, and the runtime's own HTMLRewriter filling the 4 slots with
// fixed cards: what a wasm worker costs at all, and what changing the body
// costs, by either route, before any personalization. And a
// 12-byte page with nothing to personalize, personalized and passed
// through: what any page costs whatever its size.
//
//   node bench/rewrite.mjs [runs] [seconds] [concurrency]   (defaults 5 4 4;
//                                                            after `make worker bundle`)
//
// Each run: 200 requests one at a time to each arm in turn (p50 / p99 of
// each, the added p50 against the pass-through), then each arm alone at a
// fixed concurrency for `seconds` (pages/s, and its ratio to the
// pass-through's), the order rotating between runs. Prints each run and
// the medians over the runs, as Markdown.
//
// `--baseline DIR` adds another build of the worker (a directory holding
// its index.js and index_bg.wasm, e.g. an older commit's edge/build) in a
// workerd of its own, personalizing and passing through in the same turns,
// each arm's added time against its own build's pass-through.
//
//   node bench/rewrite.mjs --profile [requests] [tiny]   (default 300)
//
// Where a warm page's time goes instead: the regions arm and the
// pass-through, each with workerd's inspector attached and V8's CPU
// profiler on (sampling every 50 µs) for `requests` pages one at a time;
// a table of the functions taking the most time of the personalized
// pages, by self time, ms a page, beside the pass-through's; and the
// edge's own functions by total time (with all they call, glue
// included). `tiny` serves
// a 12-byte page instead: what a page costs whatever its size. The
// profiler slows both arms: read the shares and the differences.
import fs from 'node:fs';
import path from 'node:path';
import { CONSENTED, ROOT, freePort } from '../tests/support.mjs';
import { inspect, profileSamples, publishToDir, startOrigin, startWorkerd } from './workerd.mjs';

const PROFILE = process.argv[2] === '--profile';
const argv = process.argv.slice(PROFILE ? 3 : 2);
const baselineAt = argv.indexOf('--baseline');
const BASELINE = baselineAt >= 0 ? path.resolve(argv.splice(baselineAt, 2)[1]) : null;
const RUNS = Number(argv[0] ?? (PROFILE ? 300 : 5));
const SECONDS = Number(argv[1] ?? 4);
const CONCURRENCY = Number(argv[2] ?? 4);
const TINY = PROFILE && argv[1] === 'tiny';
const SEQUENTIAL = 200;
const SLOTS = ['home', 'similar', 'viewed-together', 'bought-together'];

/** A storefront page of about 100 KB: 4 slots of 12, and a long listing. */
function page() {
  const card = (i) => `<article class="card" data-listing="${i}"><a href="/products/SKU-${String((i % 400) + 1).padStart(5, '0')}"><img src="/img/camping.svg" alt="A product of the listing, number ${i}" width="240" height="180"><h3>Listing product ${i}: a long enough title for a real card</h3><span class="price">£${(i % 90) + 9}.99</span></a></article>\n`;
  const slot = (type) => `<section data-p13n-slot="${type}" data-p13n-k="12" data-p13n-product="SKU-00001">
  <h2>${type}</h2>
  <template data-p13n-item><article class="card" data-product="{{id}}"><a href="{{url}}"><img src="{{image}}" alt="{{image_alt}}" width="240" height="180"><h3>{{title}}</h3><span class="price">{{price}}</span></a></article></template>
  <div class="cards" data-p13n-items><p>Our bestsellers</p></div>
</section>\n`;
  let listing = '';
  for (let i = 0; listing.length < 92_000; i++) listing += card(i);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bench</title><link rel="stylesheet" href="/style.css"></head><body>
<header><a href="/"><strong>Northwind Goods</strong></a></header><main>
${SLOTS.slice(0, 2).map(slot).join('')}<div class="cards">${listing}</div>
${SLOTS.slice(2).map(slot).join('')}</main></body></html>\n`;
}

const HEADERS = { cookie: CONSENTED, authorization: 'Bearer bench' };

async function timed(url) {
  const t = process.hrtime.bigint();
  const res = await fetch(url, { headers: HEADERS });
  const body = await res.text();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, body, tag: res.headers.get('x-p13n') };
}

async function throughput(url) {
  const end = Date.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < end) {
      await timed(url);
      done += 1;
    }
  }));
  return done / SECONDS;
}

const pct = (v, q) => [...v].sort((a, b) => a - b)[Math.round((v.length - 1) * q)];
const median = (v) => pct(v, 0.5);

// A page with nothing in it to personalize: what a page costs whatever
// its size (the cookie, the shopper, the headers, the stream).
const tinyHtml = '<p>tiny</p>\n';
const html = TINY ? tinyHtml : page();
// Also for `cargo run --release -p firstpaint-edge --example rewrite_cost`.
if (!TINY) fs.writeFileSync(path.join(ROOT, 'build/bench-page.html'), html);
const origin = await startOrigin((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(req.url.endsWith('?tiny') ? tinyHtml : html);
});
const ORIGIN_URL = origin.url;
const kvDir = publishToDir(path.join(ROOT, 'build/fixtures.fpb'), 'fp-bench-kv-');
if (PROFILE) {
  await profiled();
  origin.close();
  fs.rmSync(kvDir, { recursive: true, force: true });
  process.exit(0);
}
const workerd = await startWorkerd({
  kvDir,
  workers: {
    regions: { ORIGIN_URL, LOG_PAGES: '0' },
    everybyte: { ORIGIN_URL, LOG_PAGES: '0', P13N_READ_EVERY_BYTE: '1' },
    pass: { ORIGIN_URL, P13N_DISABLED: '1' },
  },
  scripts: Object.fromEntries(['jspass', 'stream', 'native'].map((floor) => [floor, {
    module: path.join(ROOT, 'bench/floors.js'),
    imports: { 'rewrite_stream.mjs': path.join(ROOT, 'edge/src/rewrite_stream.mjs') },
    vars: { ORIGIN_URL, FLOOR: floor === 'jspass' ? 'pass' : floor },
  }])),
});
// With --baseline DIR, another build of the worker (e.g. an older commit's
// edge/build) in a workerd of its own: its regions arm and its own
// pass-through, in the same turns.
const baseline = BASELINE && await startWorkerd({
  kvDir,
  workers: { base: { ORIGIN_URL, LOG_PAGES: '0' }, basepass: { ORIGIN_URL, P13N_DISABLED: '1' } },
  build: BASELINE,
});
// [key, name, the key of the pass-through its added time is measured
// against, the worker, the page ('' the 94 KB one, '?tiny' the tiny one)]
const ARMS = [
  ['regions', 'personalizing (lol_html reads the slot regions)', 'pass', 'regions', ''],
  ['everybyte', 'personalizing (lol_html reads every byte)', 'pass', 'everybyte', ''],
  ['jspass', 'floor: a JavaScript worker passing the page through (no wasm; against the kill switch)', 'pass', 'jspass', ''],
  ['stream', 'floor: the body through the edge\'s loop, copied (no wasm; against the line above)', 'jspass', 'stream', ''],
  ['native', 'floor: the runtime\'s HTMLRewriter fills the slots with fixed cards (no wasm, no ranking; against the JavaScript pass-through)', 'jspass', 'native', ''],
  ['pass', 'pass-through (kill switch)', 'pass', 'pass', ''],
  ['tiny', 'a 12-byte page, personalizing (nothing to fill: the cost of any page)', 'tinypass', 'regions', '?tiny'],
  ['tinypass', 'the 12-byte page, pass-through', 'tinypass', 'pass', '?tiny'],
  ...(baseline ? [
    ['base', `baseline build ${path.relative(ROOT, BASELINE)}: personalizing (slot regions)`, 'basepass', 'base', ''],
    ['basepass', 'baseline build: pass-through', 'basepass', 'basepass', ''],
  ] : []),
];
try {
  const urls = { ...workerd.urls, ...baseline?.urls };
  const url = Object.fromEntries(ARMS.map(([k, , , worker, query]) => [k, `${urls[worker]}/products/SKU-00001${query}`]));
  for (const [k] of ARMS) {
    const first = await timed(url[k]);
    const filled = (first.body.match(/data-p13n-state="personalized"/g) ?? []).length;
    const expected = {
      pass: first.tag === 'disabled' && first.body === html,
      basepass: first.tag === 'disabled' && first.body === html,
      tinypass: first.tag === 'disabled' && first.body === tinyHtml,
      jspass: first.tag === 'floor' && first.body === html,
      stream: first.tag === 'floor' && first.body === html,
      native: first.tag === 'floor' && filled === SLOTS.length,
      tiny: first.tag === 'personalized' && first.body === tinyHtml,
    }[k] ?? (first.tag === 'personalized' && filled === SLOTS.length);
    if (!expected) throw new Error(`${k}: x-p13n ${first.tag}, ${filled} slots filled, body ${first.body === html ? 'unchanged' : 'changed'}`);
  }
  for (let i = 0; i < 100; i++) for (const [k] of ARMS) await timed(url[k]); // warm every isolate
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const times = Object.fromEntries(ARMS.map(([k]) => [k, []]));
    for (let i = 0; i < SEQUENTIAL; i++) for (const [k] of ARMS) times[k].push((await timed(url[k])).ms);
    const rps = {};
    for (let j = 0; j < ARMS.length; j++) {
      const [k] = ARMS[(j + r) % ARMS.length];
      rps[k] = await throughput(url[k]);
    }
    runs.push(Object.fromEntries(ARMS.map(([k]) => [k, {
      p50: median(times[k]), p99: pct(times[k], 0.99), rps: rps[k],
    }])));
  }
  const f = (v) => v.toFixed(2);
  console.log(`page ${html.length} bytes from an in-memory origin, ${SLOTS.length} slots x 12; bare workerd (${workerd.version}); ${RUNS} runs of ${SEQUENTIAL} requests per arm in turn, then ${SECONDS} s per arm at ${CONCURRENCY} concurrent\n`);
  console.log('| run | arm | p50 ms | p99 ms | added p50 ms | pages/s | throughput ratio |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  const row = (label, name, x, pass) => console.log(`| ${label} | ${name} | ${f(x.p50)} | ${f(x.p99)} | ${f(x.p50 - pass.p50)} | ${x.rps.toFixed(0)} | ${f(x.rps / pass.rps)}x |`);
  runs.forEach((run, i) => ARMS.forEach(([k, name, pass]) => row(String(i + 1), name, run[k], run[pass])));
  const med = Object.fromEntries(ARMS.map(([k]) => [k, {
    p50: median(runs.map((x) => x[k].p50)),
    p99: median(runs.map((x) => x[k].p99)),
    rps: median(runs.map((x) => x[k].rps)),
  }]));
  ARMS.forEach(([k, name, pass]) => row('**median**', name, med[k], med[pass]));
} finally {
  workerd.stop();
  baseline?.stop();
  origin.close();
  fs.rmSync(kvDir, { recursive: true, force: true });
}

/** Self time by function of `n` warm pages of each arm, under V8's CPU profiler. */
async function profiled() {
  const inspectorPort = await freePort();
  const w = await startWorkerd({
    kvDir,
    workers: { regions: { ORIGIN_URL, LOG_PAGES: '0' }, pass: { ORIGIN_URL, P13N_DISABLED: '1' } },
    build: path.join(ROOT, 'build/worker-names'),
    inspectorPort,
  });
  const arms = {};
  let totals;
  try {
    for (const arm of ['regions', 'pass']) {
      const url = `${w.urls[arm]}/products/SKU-00001`;
      for (let i = 0; i < 100; i++) await timed(url);
      const session = await inspect(w, arm);
      try {
        await session.send('Profiler.enable');
        await session.send('Profiler.setSamplingInterval', { interval: 50 });
        await session.send('Profiler.start');
        for (let i = 0; i < RUNS; i++) await timed(url);
        const { profile } = await session.send('Profiler.stop');
        arms[arm] = selfTimes(profile);
        if (arm === 'regions') totals = edgeTotals(profile);
      } finally {
        session.close();
      }
    }
  } finally {
    w.stop();
  }
  const busy = (m) => [...m.values()].reduce((a, b) => a + b, 0) / RUNS;
  console.log(`${html.length} bytes a page, ${RUNS} pages an arm one at a time, V8's CPU profile (bare workerd ${w.version}, inspector attached); busy (not idle) ms a page: personalizing ${busy(arms.regions).toFixed(3)}, pass-through ${busy(arms.pass).toFixed(3)}\n`);
  console.log('| function (self time) | personalizing, ms a page | pass-through | difference |\n| --- | ---: | ---: | ---: |');
  const top = [...arms.regions].sort((a, b) => b[1] - a[1]).slice(0, 30);
  for (const [name, ms] of top) {
    const pass = arms.pass.get(name) ?? 0;
    console.log(`| \`${name.slice(0, 90)}\` | ${(ms / RUNS).toFixed(3)} | ${(pass / RUNS).toFixed(3)} | ${((ms - pass) / RUNS).toFixed(3)} |`);
  }
  console.log('\n| the edge\'s functions (total time: with what they call) | personalizing, ms a page |\n| --- | ---: |');
  for (const [name, ms] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`| \`${name.slice(0, 110)}\` | ${(ms / RUNS).toFixed(3)} |`);
  }
}

/** A profile's function name, hashes dropped. */
function frameName(f) {
  return (f.functionName || `(anonymous ${path.basename(f.url)})`).replace(/::h[0-9a-f]{16}/g, '');
}

/** Milliseconds of `profile` by leaf function (hashes dropped), idle left out. */
function selfTimes(profile) {
  const out = new Map();
  for (const { stack, ms } of profileSamples(profile)) {
    if (stack[0].functionName === '(idle)') continue;
    const name = frameName(stack[0]);
    out.set(name, (out.get(name) ?? 0) + ms);
  }
  return out;
}

/**
 * Milliseconds of `profile` by function of the edge crate (`firstpaint_edge`
 * in its name), counting every sample with the function on its stack: the
 * time of each step with everything it calls (JavaScript glue and the
 * runtime included), once per sample however deep it recurses.
 */
function edgeTotals(profile) {
  const out = new Map();
  for (const { stack, ms } of profileSamples(profile)) {
    if (stack[0].functionName === '(idle)') continue;
    const names = new Set(stack.map(frameName).filter((name) => name.includes('firstpaint_edge')));
    for (const name of names) out.set(name, (out.get(name) ?? 0) + ms);
  }
  return out;
}
