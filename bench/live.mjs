// From `firstpaint live push` to the overlay served, through `wrangler dev`
// (real workerd, local KV), for a large store: the time the CLI takes
// (validate, merge, sign, two KV writes through wrangler) and the time
// until /p13n/health says the worker applies the new overlay (the pointer
// is re-read every LIVE_TTL_MS, 1 s in dev; then read, verified, decoded
// and laid over the bundle). Production adds KV's own propagation (up to
// a minute).
//
//   node bench/live.mjs BUNDLE CATALOG_NDJSON KEY_FILE [UPDATES=10000] [RUNS=5]
//
// BUNDLE is a bundle of CATALOG's store signed with KEY_FILE (e.g.
// `firstpaint build --catalog …/catalog.ndjson … --key KEY_FILE`). Each run
// pushes UPDATES random products' stock and price on top of the last (the
// overlay grows as it would); a last run replaces it with every product.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FP, ROOT, startWrangler, tempState } from '../tests/support.mjs';

const [bundle, catalogFile, keyFile, updatesArg = '10000', runsArg = '5'] = process.argv.slice(2);
if (!bundle || !catalogFile || !keyFile) {
  console.error('usage: node bench/live.mjs BUNDLE CATALOG_NDJSON KEY_FILE [UPDATES] [RUNS]');
  process.exit(2);
}
const [perPush, runs] = [Number(updatesArg), Number(runsArg)];
const ids = fs.readFileSync(catalogFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).id);
const seed = fs.readFileSync(keyFile, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#')).join('').trim();
const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed, 'hex')]);
const publicKey = crypto.createPublicKey(crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }))
  .export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
const pubFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'firstpaint-live-bench-')), 'key.pub');
fs.writeFileSync(pubFile, publicKey);

const state = tempState();
const cache = path.join(state, 'live-cache');
const run = (args) => execFileSync(FP, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
run(['publish', bundle, '--pubkey', pubFile, '--key', keyFile, '--local', '--persist-to', state]);
const server = await startWrangler(state, { BUNDLE_PUBKEYS: publicKey, COLD_LOAD_BUDGET_MS: '60000' });
const health = async () => (await fetch(`${server.url}/p13n/health`)).json();

/** `n` updates of random products: a new price and stock at two locations. */
function updates(n, all = false) {
  const chosen = all ? ids : Array.from({ length: n }, () => ids[Math.floor(Math.random() * ids.length)]);
  return chosen.map((id) => JSON.stringify({
    id,
    price: Math.round(Math.random() * 20000) / 100,
    inventory: [
      { location: 'north', available: Math.floor(Math.random() * 40), lead_days: 1 },
      { location: 'south', available: Math.floor(Math.random() * 10), lead_days: 3 },
    ],
  })).join('\n');
}

const rows = [];
try {
  let sequence = (await health()).live?.overlay?.sequence ?? 0;
  for (let i = 0; i <= runs; i++) {
    const all = i === runs;
    const file = path.join(state, `updates-${i}.ndjson`);
    fs.writeFileSync(file, updates(perPush, all));
    const started = performance.now();
    const said = run(['live', 'push', '--updates', file, '--local', '--persist-to', state, '--key', keyFile, '--cache', cache, ...(all ? ['--replace'] : [])]);
    const pushed = performance.now();
    sequence += 1;
    let h;
    do {
      h = await health();
    } while (h.live?.overlay?.sequence !== sequence && performance.now() - started < 60_000);
    const served = performance.now();
    if (h.live?.overlay?.sequence !== sequence) throw new Error(`overlay ${sequence} not served after 60 s: ${JSON.stringify(h.live)}`);
    const [, , products, bytes] = said.match(/(\d+) updates pushed, (\d+) products with live data, (\d+) bytes/) ?? [];
    rows.push({ pushed: all ? ids.length : perPush, products: Number(products), bytes: Number(bytes), cli: pushed - started, served: served - started });
  }
} finally {
  server.stop();
}
console.log(`| push | updates pushed | products with live data | overlay bytes | CLI ms | push to served ms |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
rows.forEach((r, i) => console.log(`| ${i === rows.length - 1 ? 'replace, every product' : i + 1} | ${r.pushed} | ${r.products} | ${r.bytes} | ${r.cli.toFixed(0)} | ${r.served.toFixed(0)} |`));
