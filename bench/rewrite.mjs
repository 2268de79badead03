// What personalizing a page costs in workerd: a ~100 KB storefront page
// with 4 slots of 12 cards, served by the worker personalizing it and by
// the same worker with the kill switch on (P13N_DISABLED=1: fetch the
// asset and stream it through), in the same run.
//
//   node bench/rewrite.mjs [requests]     (after `make worker bundle site`)
//
// Prints a Markdown table: p50 / p99 of the whole response (headers and
// body read) for each, the added p50, and throughput at 4 concurrent
// requests with its ratio. Requests alternate between the two servers so
// drift on this noisy 2-core machine hits both alike. Each `wrangler dev`
// runs workerd behind its own proxy; the table says which port was timed
// (workerd's own port when it can be found, else the proxy's).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CONSENTED, ROOT, startStore } from '../tests/support.mjs';

const REQUESTS = Number(process.argv[2] ?? 400);
const PAGE = 'bench-page.html';
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

/** workerd's own HTTP port under the `wrangler dev` of `server`, if it can be found. */
async function directPort(server) {
  let listening = '';
  try {
    listening = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  } catch {
    return null;
  }
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
  return null;
}

async function timed(url) {
  const t = process.hrtime.bigint();
  const res = await fetch(url, { headers: { cookie: CONSENTED } });
  const body = await res.text();
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  return { ms, bytes: body.length, tag: res.headers.get('x-p13n') };
}

async function throughput(url, seconds, concurrency) {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) {
      await timed(url);
      done += 1;
    }
  }));
  return done / seconds;
}

const pct = (v, q) => [...v].sort((a, b) => a - b)[Math.round((v.length - 1) * q)];

const html = page();
fs.writeFileSync(path.join(ROOT, 'build/site', PAGE), html);
// Also for `cargo run --release -p firstpaint-edge --example rewrite_cost`.
fs.writeFileSync(path.join(ROOT, 'build/bench-page.html'), html);
const on = await startStore();
const off = await startStore({ P13N_DISABLED: '1' });
try {
  const targets = [];
  for (const server of [on, off]) {
    const direct = await directPort(server);
    targets.push({ base: direct ?? server.url, port: direct ? "workerd's own" : 'wrangler proxy' });
  }
  const [a, b] = targets.map((t) => `${t.base}/${PAGE}`);
  const first = await timed(a);
  const second = await timed(b);
  if (first.tag !== 'personalized' || second.tag !== 'disabled') {
    throw new Error(`unexpected x-p13n: ${first.tag} / ${second.tag}`);
  }
  for (let i = 0; i < 50; i++) { await timed(a); await timed(b); } // warm both isolates
  const times = { a: [], b: [] };
  for (let i = 0; i < REQUESTS; i++) {
    times.a.push((await timed(a)).ms);
    times.b.push((await timed(b)).ms);
  }
  const rpsB = await throughput(b, 5, 4);
  const rpsA = await throughput(a, 5, 4);
  const row = (name, v) => `| ${name} | ${pct(v, 0.5).toFixed(2)} | ${pct(v, 0.99).toFixed(2)} |`;
  console.log(`page ${first.bytes} bytes in, ${SLOTS.length} slots x 12; ${REQUESTS} requests each, alternating; timed on ${targets[0].port} port\n`);
  console.log('| worker | p50 ms | p99 ms |\n| --- | ---: | ---: |');
  console.log(row('personalizing (4 slots ranked and rendered while streaming)', times.a));
  console.log(row('kill switch on (asset streamed through)', times.b));
  console.log(`\nadded p50: ${(pct(times.a, 0.5) - pct(times.b, 0.5)).toFixed(2)} ms; throughput at 4 concurrent: ${rpsA.toFixed(0)} vs ${rpsB.toFixed(0)} pages/s (${(rpsA / rpsB).toFixed(2)}x)`);
} finally {
  on.stop();
  off.stop();
  fs.rmSync(path.join(ROOT, 'build/site', PAGE), { force: true });
}
