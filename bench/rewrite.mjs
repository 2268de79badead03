// What personalizing a page adds in workerd, and nothing else: a ~100 KB
// storefront page with 4 slots of 12 cards, held in memory by a local
// origin (ORIGIN_URL), fetched by the worker and either personalized or
// passed through by the same worker with the kill switch on
// (P13N_DISABLED=1: the origin's body stream handed on untouched), timed
// on workerd's own port (not `wrangler dev`'s proxy). Requests carry an
// Authorization header, so both arms go straight to the origin (no page
// cache in either).
//
//   node bench/rewrite.mjs [runs] [seconds] [concurrency]   (defaults 5 4 4;
//                                                            after `make worker bundle`)
//
// Each run: 200 requests one at a time, alternating between the two
// workers (p50 / p99 of each, and the added p50), then each worker alone
// at a fixed concurrency for `seconds` (pages/s), the order alternating
// between runs. Prints each run and the medians over the runs, as Markdown.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { CONSENTED, ROOT, freePort, startStore } from '../tests/support.mjs';

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

/** Whether process `pid` descends from process `root`. */
function descends(pid, root) {
  for (let p = pid, hops = 0; p > 1 && hops < 32; hops++) {
    if (p === root) return true;
    try {
      p = Number(fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    } catch {
      return false;
    }
  }
  return false;
}

/** workerd's own HTTP port under the `wrangler dev` of `server`. */
async function directPort(server) {
  const listening = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  const proxy = new URL(server.url).port;
  const ports = [...listening.matchAll(/127\.0\.0\.1:(\d+)\s.*"workerd",pid=(\d+)/g)]
    .filter((m) => m[1] !== proxy && descends(Number(m[2]), server.pid))
    .map((m) => m[1]);
  for (const port of ports) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/p13n/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok && (await res.json()).status === 'ok') return `http://127.0.0.1:${port}`;
    } catch { /* not the worker's port */ }
  }
  throw new Error(`workerd's own port under wrangler dev ${server.url} not found (ss -ltnp)`);
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
const vars = { ORIGIN_URL: `http://127.0.0.1:${originPort}` };
const on = await startStore(vars);
const off = await startStore({ ...vars, P13N_DISABLED: '1' });
try {
  const a = `${await directPort(on)}/products/SKU-00001`;
  const b = `${await directPort(off)}/products/SKU-00001`;
  const first = await timed(a);
  const second = await timed(b);
  const filled = (first.body.match(/data-p13n-state="personalized"/g) ?? []).length;
  if (first.tag !== 'personalized' || filled !== SLOTS.length || second.tag !== 'disabled' || second.body !== html) {
    throw new Error(`unexpected answers: x-p13n ${first.tag} with ${filled} slots filled / ${second.tag}, pass-through ${second.body === html ? 'intact' : 'changed'}`);
  }
  for (let i = 0; i < 100; i++) { await timed(a); await timed(b); } // warm both isolates
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const times = { a: [], b: [] };
    for (let i = 0; i < SEQUENTIAL; i++) {
      times.a.push((await timed(a)).ms);
      times.b.push((await timed(b)).ms);
    }
    const order = r % 2 === 0 ? [b, a] : [a, b];
    const rps = {};
    for (const url of order) rps[url === a ? 'a' : 'b'] = await throughput(url);
    runs.push({
      a50: median(times.a), a99: pct(times.a, 0.99),
      b50: median(times.b), b99: pct(times.b, 0.99),
      added: median(times.a) - median(times.b),
      rpsA: rps.a, rpsB: rps.b, ratio: rps.a / rps.b,
    });
  }
  const f = (v) => v.toFixed(2);
  console.log(`page ${html.length} bytes from an in-memory origin, ${SLOTS.length} slots x 12; timed on workerd's own port; ${RUNS} runs of ${SEQUENTIAL} alternating requests each, then ${SECONDS} s per worker at ${CONCURRENCY} concurrent\n`);
  console.log('| run | personalizing p50 / p99 ms | pass-through p50 / p99 ms | added p50 ms | personalizing pages/s | pass-through pages/s | throughput ratio |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  runs.forEach((x, i) => console.log(`| ${i + 1} | ${f(x.a50)} / ${f(x.a99)} | ${f(x.b50)} / ${f(x.b99)} | ${f(x.added)} | ${x.rpsA.toFixed(0)} | ${x.rpsB.toFixed(0)} | ${f(x.ratio)}x |`));
  const m = (k) => median(runs.map((x) => x[k]));
  console.log(`| **median** | ${f(m('a50'))} / ${f(m('a99'))} | ${f(m('b50'))} / ${f(m('b99'))} | **${f(m('added'))}** | ${m('rpsA').toFixed(0)} | ${m('rpsB').toFixed(0)} | **${f(m('ratio'))}x** |`);
} finally {
  on.stop();
  off.stop();
  origin.close();
}
