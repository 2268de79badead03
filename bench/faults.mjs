// Load with injected faults, through `wrangler dev` on loopback: for each
// case a fresh worker (real workerd, its local KV) in front of a local
// storefront origin (ORIGIN_URL), loaded by autocannon at fixed
// concurrency for SECONDS, with a mix of shopper requests (home, product,
// category and search pages, /p13n/recommend and /p13n/search).
//
//   node bench/faults.mjs [seconds] [connections] [case...]
//   (after `make worker bundle site`; defaults 60 s, 10 connections, every case)
//
// Prints a Markdown table per case: requests, status codes, p50/p99
// latency, pages personalized vs unmodified (`x-p13n`), and the 5xx the
// worker caused (a 5xx that is neither the origin's own, marked
// `x-origin-status`, nor the 502 naming an origin that cannot be reached).
// The goal: no worker-caused 5xx in any case, and under every fault the
// unmodified page or the origin's own status.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import autocannon from 'autocannon';
import {
  CONSENTED, ROOT, buildWithHoldouts, catalog, plantTamperedBundle, publish, publishInBackground, startWrangler, tempState,
} from '../tests/support.mjs';

const SECONDS = Number(process.argv[2] ?? 60);
const CONNECTIONS = Number(process.argv[3] ?? 10);
const ONLY = process.argv.slice(4);
const SITE = path.join(ROOT, 'build/site');

// The storefront origin: the fixtures site, or a fault.
let originMode = 'ok';
const origin = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://origin');
  const serve = () => {
    if (originMode === '500') {
      res.writeHead(500, { 'content-type': 'text/html', 'x-origin-status': '500' });
      res.end('<!doctype html><title>origin error</title><p>origin error</p>');
      return;
    }
    const file = pageFile(url.pathname);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain', 'x-origin-status': '404' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(fs.readFileSync(file));
  };
  if (originMode === 'down') {
    req.socket.destroy();
  } else if (originMode === 'slow') {
    setTimeout(serve, 2000);
  } else {
    serve();
  }
});

function pageFile(pathname) {
  const name = pathname === '/' ? 'index.html' : `${pathname.replace(/^\/+/, '').replace(/\/+$/, '')}.html`;
  const file = path.join(SITE, name);
  if (file.startsWith(SITE) && fs.existsSync(file)) return file;
  const index = path.join(SITE, pathname, 'index.html');
  return index.startsWith(SITE) && fs.existsSync(index) ? index : null;
}

const products = [...catalog().keys()];
const product = (i) => products[i % products.length];

/** The shopper mix every case sends, with `cookie` on each request. */
function shopperRequests(cookie) {
  const headers = { cookie };
  return [
    { method: 'GET', path: '/', headers },
    { method: 'GET', path: `/products/${product(1)}`, headers },
    { method: 'GET', path: '/categories/sports-outdoors/camping', headers },
    { method: 'GET', path: '/search?q=coffee', headers },
    { method: 'GET', path: `/p13n/recommend?slot=similar&product=${product(2)}&k=6`, headers },
    { method: 'GET', path: '/p13n/search?q=tent&per_page=12', headers },
  ];
}

/** Cookies no edge should trust, one per request in turn. */
function badCookies() {
  const forged = `k1.${Buffer.from('{"v":["SKU-00001"],"n":3}').toString('base64url')}.AAAAAAAAAAAAAAAAAAAAAA`;
  const staleKey = `old9.${Buffer.from('{"v":[]}').toString('base64url')}.${crypto.randomBytes(16).toString('base64url')}`;
  const oversized = `k1.${'A'.repeat(6000)}.x`;
  return [
    `${CONSENTED}; fp_profile=${forged}`,
    `${CONSENTED}; fp_profile=${staleKey}`,
    `${CONSENTED}; fp_profile=${oversized}`,
    `${CONSENTED}; fp_profile=${'%'.repeat(100)}; fp_consent=${'x'.repeat(3000)}`,
  ];
}

/** Requests the edge must refuse with a 4xx. */
function malformed() {
  const headers = { cookie: CONSENTED };
  return [
    '/p13n/recommend?slot=simlar',
    '/p13n/recommend?slot=home&k=abc',
    `/p13n/recommend?slot=home&product=${'x'.repeat(3000)}`,
    '/p13n/recommend?slot=%FF%FE',
    '/p13n/search?q=x&page=0',
    `/p13n/search?q=${'a'.repeat(400)}`,
    '/p13n/nothing',
  ].map((p) => ({ method: 'GET', path: p, headers }))
    .concat([{ method: 'POST', path: '/p13n/collect', headers: { ...headers, 'content-type': 'application/json' }, body: '{"not":"an event"' }]);
}

const CASES = {
  steady: { setup: (s) => publish(s), requests: () => shopperRequests(CONSENTED) },
  'manifest missing': { setup: () => {}, requests: () => shopperRequests(CONSENTED) },
  'bundle corrupted in KV': { setup: plantTamperedBundle, requests: () => shopperRequests(CONSENTED) },
  'bundle replaced mid-run': {
    // The new release is built before the run and published halfway
    // through by a child process, so that this process (the load
    // generator) never stops reading responses.
    setup: (s) => {
      publish(s);
      return buildWithHoldouts(s, 'mid-run').bundle;
    },
    requests: () => shopperRequests(CONSENTED),
    during: (s, next) => setTimeout(() => publishInBackground(s, next).catch((e) => console.error(`the mid-run publish failed: ${e.message}`)), (SECONDS * 1000) / 2),
  },
  'origin 500': { setup: (s) => publish(s), mode: '500', requests: () => shopperRequests(CONSENTED) },
  'origin slow (2 s)': { setup: (s) => publish(s), mode: 'slow', requests: () => shopperRequests(CONSENTED) },
  'origin down': { setup: (s) => publish(s), mode: 'down', requests: () => shopperRequests(CONSENTED) },
  'bad cookies': {
    setup: (s) => publish(s),
    requests: () => badCookies().flatMap((c) => shopperRequests(c).slice(0, 2)),
  },
  'malformed /p13n requests': { setup: (s) => publish(s), requests: malformed },
};

async function runCase(name, spec) {
  const state = tempState();
  const prepared = spec.setup(state);
  originMode = 'ok';
  const worker = await startWrangler(state, { ORIGIN_URL: `http://127.0.0.1:${origin.address().port}` }, '/p13n/health');
  originMode = spec.mode ?? 'ok';
  const tags = new Map();
  let workerErrors = 0;
  const samples = new Map(); // a worker 5xx's status, path and body: the first of each kind
  const requests = spec.requests().map((r) => ({
    ...r,
    onResponse: (status, body, _ctx, headers) => {
      const tag = (headers['x-p13n'] ?? (r.path.startsWith('/p13n/') ? 'api' : 'none')).split(';')[0];
      tags.set(tag, (tags.get(tag) ?? 0) + 1);
      // The origin's own 5xx carries its mark; an origin that cannot be
      // reached is the worker's 502 naming it (what Cloudflare answers too).
      const fromOrigin = headers['x-origin-status'] || /^Bad gateway: the storefront origin/.test(body ?? '');
      if (status >= 500 && !fromOrigin) {
        workerErrors += 1;
        const sample = `${status} ${r.path.slice(0, 60)}: ${(body ?? '').slice(0, 200)}`;
        if (samples.size < 5 && !samples.has(sample)) samples.set(sample, true);
      }
    },
  }));
  spec.during?.(state, prepared);
  try {
    const result = await autocannon({
      url: worker.url, connections: CONNECTIONS, duration: SECONDS, requests, timeout: 10,
    });
    const codes = Object.entries(result.statusCodeStats ?? {}).map(([c, s]) => `${c}: ${s.count}`).join(', ');
    const pages = [...tags.entries()].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${n}`).join(', ');
    for (const sample of samples.keys()) console.error(`  worker 5xx in "${name}": ${sample}`);
    return `| ${name} | ${result.requests.total} | ${codes}${result.errors ? `, errors: ${result.errors}` : ''}${result.timeouts ? `, timeouts: ${result.timeouts}` : ''} | ${result.latency.p50} / ${result.latency.p99} | ${pages} | **${workerErrors}** |`;
  } finally {
    worker.stop();
  }
}

await new Promise((resolve) => origin.listen(0, '127.0.0.1', resolve));
try {
  const rows = [];
  for (const [name, spec] of Object.entries(CASES)) {
    if (ONLY.length && !ONLY.includes(name)) continue;
    const row = await runCase(name, spec);
    console.error(row);
    rows.push(row);
  }
  console.log(`${SECONDS} s a case, ${CONNECTIONS} connections, through wrangler dev on loopback\n`);
  console.log('| case | requests | status codes | p50 / p99 ms | pages (x-p13n) | 5xx by the worker |');
  console.log('| --- | ---: | --- | ---: | --- | ---: |');
  console.log(rows.join('\n'));
} finally {
  origin.close();
}
