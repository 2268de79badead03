// The memory an isolate holds for a sharded store's requests, in wasm under
// Node (the engine as `bench/wasm.mjs` loads it), as the edge opens shards:
// SHA-256 by crypto.subtle, one copy into wasm memory.
//
//   node bench/shards.mjs WASM_NODE_DIR SHARD_DIR PUBKEY_HEX
//
// For each request kind it opens what the worker opens (a fresh Node
// process per kind, since wasm memory never shrinks) and prints the wasm
// linear memory after opening, plus the bytes read from KV.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [,, wasmDir, dir, pub, kind] = process.argv;
const index = JSON.parse(fs.readFileSync(path.join(dir, 'shards.json'), 'utf8'));
const largest = [...index.shards].sort((a, b) => b.bytes - a.bytes);
const kinds = {
  // A product page: routes.fst and the product's shard (the largest here).
  product: { files: [index.routes, largest[0].file], query: null },
  // A category page: its shard.
  category: { files: [largest[0].file], query: null },
  // Home, cart: the global shard.
  home: { files: [index.global.file], query: null },
  // A category's pages after a home page: shard + global + routes.
  'category pages': { files: [index.routes, largest[0].file, index.global.file], query: null },
  // A search at its widest: global, terms.dir and the two largest shards.
  search: { files: [index.global.file, index.terms, largest[0].file, largest[1].file], query: 'premium wireless' },
};

if (!kind) {
  console.log(`| request | opens | bytes read | wasm linear memory MiB | + largest JS transfer MiB |`);
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const k of Object.keys(kinds)) {
    const out = execFileSync(process.execPath, [process.argv[1], wasmDir, dir, pub, k]).toString().trim();
    console.log(out);
  }
  process.exit(0);
}

const require = createRequire(import.meta.url);
const { FirstpaintEngine, sectionRanges, wasmMemoryBytes } = require(path.resolve(wasmDir, 'firstpaint_wasm.js'));
const now = Date.now() / 1000;
const open = async (bytes) => {
  const ranges = sectionRanges(bytes);
  const digests = new Uint8Array((ranges.length / 2) * 32);
  for (let i = 0; i < ranges.length; i += 2) {
    const d = await crypto.subtle.digest('SHA-256', bytes.subarray(ranges[i], ranges[i + 1]));
    digests.set(new Uint8Array(d), (i / 2) * 32);
  }
  return FirstpaintEngine.withDigests(bytes, digests, pub, now);
};
const { files, query } = kinds[kind];
let read = 0;
let extra = 0; // routes and terms: held as bytes in wasm memory by the worker
let largestTransfer = 0;
const engines = [];
for (const f of files) {
  const bytes = fs.readFileSync(path.join(dir, f));
  read += bytes.length;
  largestTransfer = Math.max(largestTransfer, bytes.length);
  if (f.endsWith('.fpb')) engines.push(await open(bytes));
  else extra += bytes.length;
}
if (query) for (const e of engines) JSON.parse(e.search(query, 1, 24, []));
else for (const e of engines) JSON.parse(e.rank('home', 12, undefined, [], [], now));
const mib = (b) => (b / 2 ** 20).toFixed(1);
const linear = wasmMemoryBytes() + extra;
console.log(`| ${kind} | ${files.join(' + ')} | ${read.toLocaleString('en')} | ${mib(linear)} | ${mib(linear + largestTransfer)} |`);
