// What personalizing a page adds in workerd, and nothing else: a ~100 KB
// storefront page with 4 slots of 12 cards, held in memory by a local
// origin (ORIGIN_URL), fetched by the worker and personalized, or passed
// through by the same worker with the kill switch on (P13N_DISABLED=1: the
// origin's body stream handed on untouched). Bare workerd (the npm
// package's binary, bench/workerd.mjs): no `wrangler dev`, no proxy, no
// inspector. A third arm personalizes with lol_html reading every byte
// (P13N_READ_EVERY_BYTE=1) rather than the slot regions only. Every arm
// runs with production's settings (LOG_PAGES off: no log line per page).
//
//   node bench/rewrite.mjs [runs] [seconds] [concurrency]   (defaults 5 4 4;
//                                                            after `make worker bundle`)
//
// Each run: 200 requests one at a time to each arm in turn (p50 / p99 of
// each, the added p50 against the pass-through), then each arm alone at a
// fixed concurrency for `seconds` (pages/s, and its ratio to the
// pass-through's), the order rotating between runs. Prints each run and
// the medians over the runs, as Markdown.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { CONSENTED, ROOT, freePort } from '../tests/support.mjs';
import { startWorkerd } from './workerd.mjs';

const RUNS = Number(process.argv[2] ?? 5);
const SECONDS = Number(process.argv[3] ?? 4);
const CONCURRENCY = Number(process.argv[4] ?? 4);
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

const html = page();
// Also for `cargo run --release -p firstpaint-edge --example rewrite_cost`.
fs.writeFileSync(path.join(ROOT, 'build/bench-page.html'), html);
const origin = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
});
const originPort = await freePort();
await new Promise((resolve) => origin.listen(originPort, '127.0.0.1', resolve));
const ORIGIN_URL = `http://127.0.0.1:${originPort}`;
const kvDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-bench-kv-'));
execFileSync(path.join(ROOT, 'target/native/firstpaint'), ['publish', path.join(ROOT, 'build/fixtures.fpb'),
  '--pubkey', path.join(ROOT, 'fixtures/keys/dev.pub'), '--key', path.join(ROOT, 'fixtures/keys/dev.key'), '--dir', kvDir], { stdio: 'ignore' });
const workerd = await startWorkerd({
  kvDir,
  workers: {
    regions: { ORIGIN_URL, LOG_PAGES: '0' },
    everybyte: { ORIGIN_URL, LOG_PAGES: '0', P13N_READ_EVERY_BYTE: '1' },
    pass: { ORIGIN_URL, P13N_DISABLED: '1' },
  },
});
const ARMS = [
  ['regions', 'personalizing (lol_html reads the slot regions)'],
  ['everybyte', 'personalizing (lol_html reads every byte)'],
  ['pass', 'pass-through (kill switch)'],
];
try {
  const url = Object.fromEntries(ARMS.map(([k]) => [k, `${workerd.urls[k]}/products/SKU-00001`]));
  for (const [k] of ARMS) {
    const first = await timed(url[k]);
    const filled = (first.body.match(/data-p13n-state="personalized"/g) ?? []).length;
    const expected = k === 'pass' ? first.tag === 'disabled' && first.body === html : first.tag === 'personalized' && filled === SLOTS.length;
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
  runs.forEach((run, i) => ARMS.forEach(([k, name]) => row(String(i + 1), name, run[k], run.pass)));
  const med = Object.fromEntries(ARMS.map(([k]) => [k, {
    p50: median(runs.map((x) => x[k].p50)),
    p99: median(runs.map((x) => x[k].p99)),
    rps: median(runs.map((x) => x[k].rps)),
  }]));
  ARMS.forEach(([k, name]) => row('**median**', name, med[k], med.pass));
} finally {
  workerd.stop();
  origin.close();
  fs.rmSync(kvDir, { recursive: true, force: true });
}
