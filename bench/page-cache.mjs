// What the storefront page cache saves: the fixtures' home page from a
// local origin (ORIGIN_URL) that takes `delay` ms to render, personalized
// by the worker, once with a page the origin lets be cached
// (`s-maxage=3600`: every request after the first is a hit) and once with
// one it does not (`no-store`: every request goes to the origin), in the
// same run, requests alternating so drift hits both alike.
//
//   node bench/page-cache.mjs [requests] [delays ms, comma-separated]
//   (after `make worker bundle site`; defaults 300 and 0,50)
//
// Prints a Markdown table: p50 / p99 of the whole response (headers and
// body read, through wrangler's proxy) for each delay, and how often the
// origin was asked. Delay 0 is what the cache lookup itself costs against
// an origin on the same machine.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { CONSENTED, ROOT, publish, startWrangler, tempState } from '../tests/support.mjs';

const REQUESTS = Number(process.argv[2] ?? 300);
const DELAYS = (process.argv[3] ?? '0,50').split(',').map(Number);

const home = fs.readFileSync(path.join(ROOT, 'build/site/index.html'));
let delay = 0;
const asked = new Map();
const origin = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://origin');
  asked.set(url.search, (asked.get(url.search) ?? 0) + 1);
  const cacheControl = url.searchParams.get('mode') === 'cached' ? 'public, s-maxage=3600' : 'no-store';
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': cacheControl });
    res.end(home);
  }, delay);
});
await new Promise((resolve) => origin.listen(0, '127.0.0.1', resolve));
const state = tempState();
publish(state);
const worker = await startWrangler(state, { ORIGIN_URL: `http://127.0.0.1:${origin.address().port}` });

async function timed(url) {
  const t = process.hrtime.bigint();
  const res = await fetch(url, { headers: { cookie: CONSENTED } });
  await res.text();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, cache: res.headers.get('x-p13n-cache'), state: res.headers.get('x-p13n') };
}

const pct = (v, q) => [...v].sort((a, b) => a - b)[Math.round((v.length - 1) * q)];

try {
  const rows = [];
  for (const d of DELAYS) {
    delay = d;
    const cached = `${worker.url}/?mode=cached&delay=${d}`;
    const uncached = `${worker.url}/?mode=uncached&delay=${d}`;
    const first = [await timed(cached), await timed(uncached)];
    if (first[0].cache !== 'miss' || first[1].cache !== 'bypass' || !/personal/.test(first[0].state)) {
      throw new Error(`unexpected first answers: ${JSON.stringify(first)}`);
    }
    for (let i = 0; i < 30; i++) { await timed(cached); await timed(uncached); }
    const times = { cached: [], uncached: [] };
    for (let i = 0; i < REQUESTS; i++) {
      const hit = await timed(cached);
      if (hit.cache !== 'hit') throw new Error(`request ${i}: x-p13n-cache ${hit.cache}`);
      times.cached.push(hit.ms);
      times.uncached.push((await timed(uncached)).ms);
    }
    const originAsked = (mode) => asked.get(`?mode=${mode}&delay=${d}`);
    rows.push(`| ${d} | cached (s-maxage) | ${pct(times.cached, 0.5).toFixed(2)} | ${pct(times.cached, 0.99).toFixed(2)} | ${originAsked('cached')} |`);
    rows.push(`| ${d} | not cacheable (no-store) | ${pct(times.uncached, 0.5).toFixed(2)} | ${pct(times.uncached, 0.99).toFixed(2)} | ${originAsked('uncached')} |`);
    rows.push(`| ${d} | ratio p50 (cached / not) | ${(pct(times.cached, 0.5) / pct(times.uncached, 0.5)).toFixed(2)}x | | |`);
  }
  console.log(`home page ${home.length} bytes, personalized on every request; ${REQUESTS} requests each, alternating\n`);
  console.log('| origin delay ms | page | p50 ms | p99 ms | origin asked |\n| ---: | --- | ---: | ---: | ---: |');
  console.log(rows.join('\n'));
} finally {
  worker.stop();
  origin.close();
}
