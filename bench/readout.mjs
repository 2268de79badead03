// The readout's cost on a large events file: `visitors` seeded synthetic
// visitors over 28 days (each shown home, similar and search, with page
// views, a third with an order before the experiment, carts and orders
// after: about 9 events a visitor), read out with the fixtures' catalog
// (`firstpaint readout --json`), against the same command over the same
// file with a window that lets no exposure in (reading, checking and
// merging the events: the floor any readout pays). Prints a table.
//
//   node bench/readout.mjs [visitors] [runs]   (after `make origin`; defaults 200000, 3)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FP, ROOT, catalog } from '../tests/support.mjs';

const [visitorsArg, runsArg] = process.argv.slice(2).map(Number);
const VISITORS = visitorsArg || 200_000;
const RUNS = runsArg || 3;
const START = Date.UTC(2026, 9, 1);
const DAY = 86_400_000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'firstpaint-readout-'));
const rules = path.join(dir, 'rules.toml');
const base = fs.readFileSync(path.join(ROOT, 'fixtures/rules.toml'), 'utf8').replace(/\n\[experiments\][\s\S]*$/, '\n');
fs.writeFileSync(rules, `${base}\n[experiments]\nholdout = 0.1\nglobal_holdout = 0.1\nsalt = "bench"\n`);
const ids = [...catalog().keys()];

// A small seeded generator (mulberry32), so every run reads the same file.
let seed = 7;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(random() * xs.length)];

const file = path.join(dir, 'events.ndjson');
const out = fs.openSync(file, 'w');
let events = 0;
let lines = [];
const emit = (e) => {
  lines.push(JSON.stringify(e));
  events += 1;
  if (lines.length >= 10_000) {
    fs.writeSync(out, `${lines.join('\n')}\n`);
    lines = [];
  }
};
for (let v = 0; v < VISITORS; v += 1) {
  const visitor = `s1:${v.toString(16).padStart(24, '0')}`;
  const at = START + Math.floor(random() * 28 * DAY);
  const region = pick(['DE', 'GB', 'FR', 'US', 'NL']);
  const common = { visitor, session: visitor, consent: { personalization: true, analytics: true }, region };
  const ts = (ms) => new Date(ms).toISOString();
  const global = random() < 0.1;
  if (random() < 0.33) {
    emit({ ...common, id: `b-${v}`, ts: ts(at - 10 * DAY), type: 'order', order: `o-${v}-0`, items: [{ product: pick(ids), qty: 1, price: 10 + 90 * random() }] });
  }
  const page = pick(ids);
  emit({ ...common, id: `p-${v}`, ts: ts(at), type: 'page_view', product: page });
  const device = pick(['mobile', 'desktop', 'tablet']);
  for (const [k, module] of ['home', 'similar', 'search'].entries()) {
    const arm = global || random() < 0.1 ? 'holdout' : 'treatment';
    const items = Array.from({ length: 8 }, () => pick(ids));
    emit({ ...common, id: `x-${v}-${k}`, ts: ts(at + k * 1000), type: 'exposure', module, arm, global_holdout: global, bundle: 1 + Math.floor((at - START) / (7 * DAY)), items, page: 'product', device, new_visitor: random() < 0.5 });
  }
  emit({ ...common, id: `q-${v}`, ts: ts(at + 5000), type: 'page_view', product: pick(ids) });
  if (random() < 0.25) {
    const product = pick(ids);
    emit({ ...common, id: `c-${v}`, ts: ts(at + 60_000), type: 'add_to_cart', product, qty: 1, price: 10 + 90 * random() });
    if (random() < 0.4) {
      emit({ ...common, id: `o-${v}`, ts: ts(at + 120_000), type: 'order', order: `o-${v}-1`, items: [{ product, qty: 1 + Math.floor(random() * 2), price: 10 + 90 * random() }] });
    }
  }
}
fs.writeSync(out, `${lines.join('\n')}\n`);
fs.closeSync(out);
const mb = fs.statSync(file).size / 1e6;

const time = (extra) => {
  const started = process.hrtime.bigint();
  execFileSync(FP, ['readout', '--events', file, '--rules', rules, '--catalog', 'fixtures/catalog.ndjson', '--json', ...extra],
    { cwd: ROOT, maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  return Number(process.hrtime.bigint() - started) / 1e9;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const floor = [];
const full = [];
for (let i = 0; i < RUNS; i += 1) {
  floor.push(time(['--from', '2100-01-01T00:00:00Z']));
  full.push(time([]));
}
console.log(`${VISITORS} visitors, ${events} events, ${mb.toFixed(0)} MB of NDJSON; median of ${RUNS} runs each, in turn`);
console.log('| what | seconds | events/s | ratio |');
console.log('| --- | ---: | ---: | ---: |');
console.log(`| read and check only (a window with no exposure) | ${median(floor).toFixed(2)} | ${Math.round(events / median(floor))} | 1.00 |`);
console.log(`| the whole readout (overall and 3 modules: metrics, segments, days, fairness) | ${median(full).toFixed(2)} | ${Math.round(events / median(full))} | ${(median(full) / median(floor)).toFixed(2)} |`);
fs.rmSync(dir, { recursive: true, force: true });
