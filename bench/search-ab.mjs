// Search A/B of two engine builds in one process, per query.
//
//   node bench/search-ab.mjs REPS DIR_A WASM_A DIR_B WASM_B
//
// DIR_x is a `firstpaint-bench --out-dir` directory (its
// generated-100k.fpb and the queries in generated-100k.json) and WASM_x
// the `wasm-bindgen --target nodejs` output of the engine that reads it,
// so two commits can be compared even when their bundle formats differ.
// The two engines answer each query alternately, REPS times; per query
// the fastest call is kept (less sensitive to a noisy machine), then the
// p50 / p99 over the queries are printed per row, with the queries B
// slows down most against A and each one's total.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [reps, ...pairs] = process.argv.slice(2);
if (pairs.length !== 4) {
  console.error('usage: node bench/search-ab.mjs REPS DIR_A WASM_A DIR_B WASM_B');
  process.exit(2);
}
const sides = [];
for (let i = 0; i < pairs.length; i += 2) {
  const req = JSON.parse(fs.readFileSync(path.join(pairs[i], 'generated-100k.json'), 'utf8'));
  const bytes = fs.readFileSync(path.join(pairs[i], 'generated-100k.fpb'));
  const { FirstpaintEngine } = require(path.resolve(pairs[i + 1], 'firstpaint_wasm.js'));
  const engine = new FirstpaintEngine(bytes, req.public_key, req.now);
  sides.push({ req, engine, visitor: JSON.stringify({ now: req.now }) });
}
const pct = (v, q) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))];
};
for (const label of Object.keys(sides[0].req.search)) {
  const queries = sides[0].req.search[label];
  const fastest = sides.map(() => queries.map(() => Infinity));
  const totals = sides.map(() => queries.map(() => 0));
  for (const s of sides) for (const q of queries) s.engine.search(q, 1, 24, s.visitor);
  for (let r = 0; r < Number(reps); r++) {
    queries.forEach((q, i) => {
      for (const j of (r + i) % 2 ? [0, 1] : [1, 0]) {
        const s = sides[j];
        const t = process.hrtime.bigint();
        const out = s.engine.search(q, 1, 24, s.visitor);
        const us = Number(process.hrtime.bigint() - t) / 1e3;
        fastest[j][i] = Math.min(fastest[j][i], us);
        if (r === 0) totals[j][i] = JSON.parse(out).total;
      }
    });
  }
  const [a, b] = fastest.map((v) => [pct(v, 0.5), pct(v, 0.99)]);
  console.log(`${label}\tA ${a[0].toFixed(0)} / ${a[1].toFixed(0)} µs\tB ${b[0].toFixed(0)} / ${b[1].toFixed(0)} µs\tratio ${(b[0] / a[0]).toFixed(2)}x / ${(b[1] / a[1]).toFixed(2)}x`);
  const slowest = queries
    .map((q, i) => ({ q, a: fastest[0][i], b: fastest[1][i], ta: totals[0][i], tb: totals[1][i] }))
    .sort((x, y) => y.b / y.a - x.b / x.a)
    .slice(0, 5);
  for (const s of slowest) {
    console.log(`  ${JSON.stringify(s.q)}\t${s.a.toFixed(0)} -> ${s.b.toFixed(0)} µs\ttotal ${s.ta} / ${s.tb}`);
  }
}
