// A catalog change at scale, from the merchant's webhook to the published
// bundle: `firstpaint serve` over a generated store, publishing into a
// directory.
//
// First the baseline, in the same run: a full build of the store (what
// `firstpaint build` does, and what serve falls back to), timed. Then
// `rounds` signed webhooks, one after another, each changing `share` of
// the products as a merchant's day does (40% of them repriced, 30%
// renamed, 20% new products, 10% deleted), each timed to its 202
// (verified, applied to the catalog serve holds, checked, journaled) and
// to its publish (debounce, incremental build from the last build's
// state, publish). The serve log must say each was built incrementally.
// Webhooks start once serve has read the catalog at start; each round
// after the last one's catalog file is written (untimed: serve writes it
// after publishing).
//
//   node bench/webhook.mjs STORE_DIR [share] [rounds]   (after `make origin`;
//   STORE_DIR from `firstpaint generate`; share default 0.01, rounds 3)
//
// Prints a Markdown table. The store directory is copied first; nothing
// in it changes.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { FP, KEY, PUBKEY } from '../tests/support.mjs';

const [store, shareArg, roundsArg] = process.argv.slice(2);
if (!store) throw new Error('usage: node bench/webhook.mjs STORE_DIR [share] [rounds]');
const share = Number(shareArg ?? 0.01);
const rounds = Number(roundsArg ?? 3);
const SECRET = 'bench-secret-0123456789';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-webhook-'));
for (const f of ['catalog.ndjson', 'events.ndjson', 'rules.toml']) fs.copyFileSync(path.join(store, f), path.join(work, f));
const catalog = path.join(work, 'catalog.ndjson');
const inputs = ['--catalog', catalog, '--events', path.join(work, 'events.ndjson'),
  '--rules', path.join(work, 'rules.toml'), '--out', path.join(work, 'bundle.fpb')];

/// One round's change to the catalog as it is now: `share` of its
/// products, spread evenly from `offset`.
function change(round) {
  const products = fs.readFileSync(catalog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const linked = new Set(products.flatMap((p) => p.compatible_with ?? []));
  const count = Math.max(10, Math.round(products.length * share));
  const step = Math.floor(products.length / count);
  const upsert = [];
  const del = [];
  for (let k = 0; k < count; k++) {
    const p = products[(k * step + round * 7) % products.length];
    const kind = k % 10;
    if (kind < 4) upsert.push({ ...p, price: Math.round(p.price * 93) / 100 });
    else if (kind < 7) upsert.push({ ...p, title: `${p.title} (round ${round + 1} edition)` });
    else if (kind < 9) upsert.push({ ...p, id: `${p.id}-R${round + 1}`, title: `New ${p.title}`, compatible_with: [] });
    else if (!linked.has(p.id)) del.push(p.id);
  }
  return { products: products.length, upsert, delete: del };
}

const started = process.hrtime.bigint();
const seconds = (since) => Number(process.hrtime.bigint() - since) / 1e9;
execFileSync(FP, ['build', ...inputs, '--key', KEY], { stdio: ['ignore', 'ignore', 'pipe'] });
const full = seconds(started);

const server = spawn(FP, ['serve', '--listen', '127.0.0.1:0', '--debounce-ms', '200', ...inputs,
  '--dir', path.join(work, 'kv'), '--pubkey', PUBKEY, '--key', KEY], {
  env: { ...process.env, FIRSTPAINT_WEBHOOK_SECRETS: SECRET },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const log = [];
const waiting = [];
const writing = [];
let checked;
const catalogChecked = new Promise((resolve) => { checked = resolve; });
readline.createInterface({ input: server.stderr }).on('line', (line) => {
  log.push(line);
  if (line.startsWith('catalog: ')) checked(line);
  if (line.includes('published in') || line.includes('nothing published')) waiting.shift()?.(line);
  if (line.includes('journaled changes written') || line.includes('the journal stays')) writing.shift()?.(line);
  if (process.env.FP_BENCH_LOG) console.error(line);
});
const rows = [];
try {
  const first = await new Promise((resolve) => readline.createInterface({ input: server.stdout }).once('line', resolve));
  const addr = first.replace('listening on ', '').split(': ')[0];
  // serve reads the catalog once at start, as it would long before a webhook.
  await catalogChecked;
  for (let round = 0; round < rounds; round++) {
    // Each round starts with the disk idle, as webhooks minutes apart would
    // find it (this machine's disk takes seconds to write out the copies
    // and bundles before; untimed).
    execFileSync('sync');
    const { products, ...body } = change(round);
    const text = JSON.stringify(body);
    const t = Math.floor(Date.now() / 1000);
    const mac = crypto.createHmac('sha256', SECRET).update(`${t}.${text}`).digest('hex');
    const done = new Promise((resolve) => waiting.push(resolve));
    const written = new Promise((resolve) => writing.push(resolve));
    const sent = process.hrtime.bigint();
    const res = await fetch(`${addr}/webhooks/catalog`, { method: 'POST', body: text, headers: { 'content-type': 'application/json', 'firstpaint-signature': `t=${t},v1=${mac}` } });
    const answer = await res.text();
    const accepted = seconds(sent);
    if (res.status !== 202) throw new Error(`${res.status}: ${answer}`);
    const line = await done;
    const live = seconds(sent);
    if (!line.includes('published in')) throw new Error(line);
    const built = log.findLast((l) => l.includes('incremental build:') || l.includes('full build'));
    if (!built?.includes('incremental build:')) throw new Error(`round ${round + 1} was not incremental:\n${log.slice(-30).join('\n')}`);
    const write = await written;
    if (!write.includes('journaled changes written')) throw new Error(write);
    rows.push({ round: round + 1, products, upserts: body.upsert.length, deletes: body.delete.length, accepted, live, built: built.replace(/.*incremental build: /, '').replace(/\)$/, '') });
  }
} finally {
  server.kill();
  fs.rmSync(work, { recursive: true, force: true });
}

console.log(`full build of the store (the baseline, same run): ${full.toFixed(1)} s\n`);
console.log('| round | products | upserts / deletes | incremental build | webhook answered 202 (s) | published (s) | vs the full build |');
console.log('| ---: | ---: | ---: | --- | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.round} | ${r.products} | ${r.upserts} / ${r.deletes} | ${r.built} | ${r.accepted.toFixed(2)} | ${r.live.toFixed(2)} | ${(r.live / full).toFixed(3)}x |`);
}
