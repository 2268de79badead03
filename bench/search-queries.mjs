// Times chosen queries on one store in wasm: per query the fastest of 30
// calls, with the total it reports and whether that total is exact.
//
//   node bench/search-queries.mjs DIR WASM_DIR QUERY...
//
// DIR is a `firstpaint-bench --out-dir` directory, WASM_DIR the
// `wasm-bindgen --target nodejs` output of the engine that reads it.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [dir, wasm, ...queries] = process.argv.slice(2);
if (!dir || !wasm || queries.length === 0) {
  console.error('usage: node bench/search-queries.mjs DIR WASM_DIR QUERY...');
  process.exit(2);
}
const req = JSON.parse(fs.readFileSync(path.join(dir, 'generated-100k.json'), 'utf8'));
const { FirstpaintEngine } = require(path.resolve(wasm, 'firstpaint_wasm.js'));
const engine = new FirstpaintEngine(fs.readFileSync(path.join(dir, 'generated-100k.fpb')), req.public_key, req.now);
const visitor = JSON.stringify({ now: req.now });
for (const q of queries) {
  let fastest = Infinity;
  let out;
  for (let i = 0; i < 30; i++) {
    const t = process.hrtime.bigint();
    out = engine.search(q, 1, 24, visitor);
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - t) / 1e3);
  }
  const r = JSON.parse(out);
  console.log(`${JSON.stringify(q)}\t${fastest.toFixed(0)} µs\ttotal ${r.total}${r.total_exact === false ? '+' : ''}`);
}
