// What laying a live overlay over a bundle costs in wasm (Node's V8, as in
// workerd): the apply (the payload hashed by `crypto.subtle`, then
// `withLive`: verify, decode, resolve ids against the catalog; the isolate does it once per overlay, between requests),
// and what ranking and search pay per request with the overlay laid over
// the bundle against without, on the same requests.
//
//   node bench/live-apply.mjs DIR WASM_DIR KEY_FILE CATALOG_NDJSON
//
// DIR is a `firstpaint-bench --out-dir` directory (its 100k store, signed
// with KEY_FILE), WASM_DIR a `wasm-bindgen --target nodejs` build of
// `firstpaint-wasm`, CATALOG_NDJSON the store's catalog (for its ids).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { FP, ROOT } from '../tests/support.mjs';

const [dir, wasmDir, keyFile, catalogFile] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { FirstpaintEngine } = require(path.resolve(wasmDir, 'firstpaint_wasm.js'));
const req = JSON.parse(fs.readFileSync(path.join(dir, 'generated-100k.json'), 'utf8'));
const bundle = fs.readFileSync(path.join(dir, 'generated-100k.fpb'));
const ids = fs.readFileSync(catalogFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).id);
const now = Math.floor(Date.now() / 1000);
const base = new FirstpaintEngine(bundle, req.public_key, req.now);

const time = (f) => {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e3;
};
const pct = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const fmt = (xs) => `${pct(xs, 0.5).toFixed(1)} / ${pct(xs, 0.99).toFixed(1)}`;

/** A sealed overlay of `n` random products' price and stock, by the CLI. */
function overlay(n) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'firstpaint-live-apply-'));
  const chosen = n >= ids.length ? ids : Array.from({ length: n }, (_, i) => ids[(i * 7919) % ids.length]);
  const file = path.join(work, 'updates.ndjson');
  fs.writeFileSync(file, chosen.map((id, i) => JSON.stringify({
    id,
    price: 1 + (i % 500),
    inventory: [{ location: 'north', available: i % 40, lead_days: 1 }],
  })).join('\n'));
  execFileSync(FP, ['live', 'push', '--updates', file, '--dir', path.join(work, 'kv'), '--key', keyFile, '--cache', path.join(work, 'cache')], { cwd: ROOT });
  const pointer = JSON.parse(fs.readFileSync(path.join(work, 'kv', 'live'), 'utf8'));
  return fs.readFileSync(path.join(work, 'kv', pointer.key));
}

// Both engines rank and search the same requests, alternating, after a
// warm-up pass each (steady state, as bench/wasm.mjs).
const home = req.rank.find((r) => r.label.startsWith('home, 3 views'));
const visitors = home.requests.map((r) => JSON.stringify({ now: req.now, viewed: r.viewed }));
const rank = (e, i) => e.rank(home.slot, 12, undefined, [], undefined, visitors[i]);
const queries = req.search['2-3 words, one typo'];
const shopper = JSON.stringify({ now: req.now });

console.log('| overlay | overlay bytes | apply (withLive) median ms | rank home, 3 views p50 / p99 µs: bundle | with overlay | search 2-3 words, one typo p50 / p99 µs: bundle | with overlay |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const n of [10_000, ids.length]) {
  const bytes = overlay(n);
  // As the edge: the payload hashed by the runtime, the rest in wasm.
  const applies = [];
  let live;
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes.subarray(144)));
    live = base.withLive(bytes, req.public_key, now, undefined, digest);
    applies.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const [rb, rl, sb, sl] = [[], [], [], []];
  for (let pass = 0; pass < 2; pass++) {
    // Which engine goes first alternates: the second call of a pair
    // finds the first's lines in the CPU caches.
    const pair = (i, f) => (i % 2 ? [f(base), f(live)] : [f(live), f(base)].reverse());
    home.requests.forEach((_, i) => {
      const [b, l] = pair(i, (e) => time(() => rank(e, i)));
      if (pass) { rb.push(b); rl.push(l); }
    });
    queries.forEach((q, i) => {
      const [b, l] = pair(i, (e) => time(() => e.search(q, 1, 24, shopper)));
      if (pass) { sb.push(b); sl.push(l); }
    });
  }
  console.log(`| ${n} products | ${bytes.length} | ${pct(applies, 0.5).toFixed(1)} | ${fmt(rb)} | ${fmt(rl)} | ${fmt(sb)} | ${fmt(sl)} |`);
}
