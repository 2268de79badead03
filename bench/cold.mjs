// A cold isolate, measured: workerd started afresh for every sample (bare
// workerd, bench/workerd.mjs), then
//   1. start-up: from spawning workerd to its first answer on a route that
//      reads no bundle, beside the same for an empty worker (workerd's own
//      start), so the difference is this worker's script start-up;
//   2. the first page from an in-memory origin, which reads the manifest
//      and bundle (or the shards it needs) from KV (a local directory
//      here), verifies and opens them, ranks and rewrites;
//   3. the same page warm (p50 of 20), so 2 - 3 is what the cold isolate
//      costs the first shopper;
//   4. the KV reads alone: the keys the first page read (the KV service
//      lists them), fetched again from the same service.
// With --profile, as many more fresh isolates run with workerd's inspector
// attached and V8's CPU profiler on for the first page and for the second
// (warm) one, and a table says where each one's time goes. A worker's
// clock stands still while it computes, so the split cannot come from
// timestamps inside it. The profiled runs are slower (the profiler samples
// every 100 µs; console output goes to the inspector): read the shares,
// not the milliseconds.
//
//   node bench/cold.mjs [--samples 10] [--store build/fixtures.fpb]
//                       [--product ID] [--profile] [--whole-file]
//                       [--baseline DIR]
//
// --whole-file adds a baseline in the same run: the same store under a
// release without head digests (as publishers wrote them before session
// 25), whose bundles the edge hashes whole against the release before
// hashing their sections; fresh isolates of the two alternate, and a last
// table gives the ratios.
//
// --baseline DIR adds another build of the worker (a directory holding its
// index.js and index_bg.wasm, e.g. an older commit's edge/build) as the
// second arm, over the same store: fresh isolates of the two alternate.
// (Its profile, with --profile, has no function names unless its wasm
// kept them.)
//
// --store is a bundle or a shard set's directory (`firstpaint build
// --shard-products`); the page is the fixtures home page, or with --product
// the fixtures' first product page about product ID. After `make worker
// bundle site` (`make bench-cold`, `make bench-cold-100k`).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CONSENTED, ROOT, freePort, signRelease } from '../tests/support.mjs';
import { inspect, profileSamples, publishToDir, startOrigin, startWorkerd } from './workerd.mjs';

const { values: args } = parseArgs({
  options: {
    samples: { type: 'string', default: '10' },
    store: { type: 'string', default: path.join(ROOT, 'build/fixtures.fpb') },
    product: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'whole-file': { type: 'boolean', default: false },
    baseline: { type: 'string' },
  },
});
const SAMPLES = Number(args.samples);
const STORE = path.resolve(args.store);
const HEADERS = { cookie: CONSENTED, authorization: 'Bearer bench' };

const pct = (v, q) => [...v].sort((a, b) => a - b)[Math.round((v.length - 1) * q)];
const median = (v) => pct(v, 0.5);
const sum = (v) => v.reduce((a, b) => a + b, 0);
const mean = (v) => sum(v) / v.length;

async function timed(url, headers = HEADERS) {
  const t = process.hrtime.bigint();
  const res = await fetch(url, { headers });
  const body = await res.arrayBuffer();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, tag: res.headers.get('x-p13n'), bytes: body.byteLength };
}

/** workerd's own start: spawn to first answer, with a worker that does nothing. */
async function emptyWorkerStart() {
  const dir = fs.mkdtempSync(path.join(ROOT, 'build', 'workerd-empty-'));
  fs.writeFileSync(path.join(dir, 'w.js'), 'export default { fetch() { return new Response("ok"); } };\n');
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'c.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "main", worker = .w)], sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")]);
const w :Workerd.Worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2025-09-01");
`);
  const started = process.hrtime.bigint();
  const child = spawn(path.join(ROOT, 'node_modules/workerd/bin/workerd'), ['serve', path.join(dir, 'c.capnp')], { stdio: 'ignore', detached: true });
  for (;;) {
    try {
      await (await fetch(`http://127.0.0.1:${port}/`)).arrayBuffer();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.kill(-child.pid, 'SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
  return ms;
}

/** The page: the fixtures home page, or their first product page about `product`. */
function storefrontPage(product) {
  if (!product) return { name: 'the fixtures home page', path: '/', html: fs.readFileSync(path.join(ROOT, 'build/site/index.html')) };
  const dir = path.join(ROOT, 'build/site/products');
  const file = fs.readdirSync(dir).filter((f) => f.endsWith('.html')).sort()[0];
  const html = fs.readFileSync(path.join(dir, file), 'utf8');
  const own = html.match(/data-p13n-product="([^"]+)"/)?.[1];
  if (!own) throw new Error(`${file} has no data-p13n-product`);
  return { name: `the fixtures product page ${file} about ${product}`, path: `/products/${encodeURIComponent(product)}.html`, html: Buffer.from(html.replaceAll(`"${own}"`, `"${product}"`)) };
}

// Where a sample's time goes: the innermost frame of its stack that one of
// these names (searched from the leaf up), else the leaf's kind.
const PHASES = [
  ['verify: SHA-256 (crypto.subtle)', (f) => f.functionName === 'digest'],
  ['verify: Ed25519 (wasm)', (f) => /curve25519|ed25519|sha2::|Sha512/.test(f.functionName)],
  // The engine's open is inlined into the loader's `open_engine`.
  ['open the bundle (wasm)', (f) => /firstpaint_bundle::|Engine::from_bundle|Bundle::open|bincode::|firstpaint_engine::store::|loader::open_engine/.test(f.functionName)],
  ['rank (wasm)', (f) => /firstpaint_engine::/.test(f.functionName)],
  ['rewrite: lol_html, selectors (wasm)', (f) => /lol_html::|cssparser::|selectors::|firstpaint_edge::(rewrite::|slot_regions)/.test(f.functionName)],
  // The runtime hands the KV value over inside the loader's KV read.
  ['KV value into the isolate', (f) => /loader::(fetch_verified|fetch_bundle|kv_buffer)/.test(f.functionName)],
  ['routes (wasm)', (f) => /firstpaint_edge::routing|fst::/.test(f.functionName)],
  ['copy into wasm memory', (f) => /^(memcpy|memmove)$|to_vec/.test(f.functionName)],
  ['cookies, keys, request (wasm)', (f) => /firstpaint_edge::(shopper|cookies|keyed_hash|profile|consent|experiment)|hmac::|url::/.test(f.functionName)],
];
const leafKind = (f) => {
  if (f.functionName === '(idle)') return 'waiting (KV, origin, crypto.subtle)';
  if (f.functionName === '(garbage collector)') return 'garbage collection';
  if (f.functionName === '(program)') return 'V8 itself (the runtime outside any function)';
  if (f.url.includes('.wasm')) return 'other wasm (edge glue, futures, allocator)';
  return 'JavaScript (wasm-bindgen glue, runtime builtins, console)';
};

/** Milliseconds of `profile` by phase. */
function phases(profile) {
  const out = new Map();
  for (const { stack, ms } of profileSamples(profile)) {
    const phase = stack.map((f) => PHASES.find(([, is]) => is(f))?.[0]).find(Boolean) ?? leafKind(stack[0]);
    out.set(phase, (out.get(phase) ?? 0) + ms);
  }
  return out;
}

const page = storefrontPage(args.product);
const origin = await startOrigin((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(page.html);
});
const kvDir = publishToDir(STORE, 'fp-cold-kv-');
const arms = [{ name: 'as published', kvDir }];
if (args['whole-file']) arms.push({ name: 'whole-file hashing (no head digests)', kvDir: withoutHeadDigests(kvDir) });
if (args.baseline) {
  const build = path.resolve(args.baseline);
  arms.push({ name: `baseline build ${path.relative(ROOT, build)}`, kvDir, build });
}
// Production's settings: no log line per page (with the inspector attached
// for --profile, a line costs ms on a first page).
const workers = { on: { ORIGIN_URL: origin.url, LOG_PAGES: '0' } };

/** A copy of the published `dir` whose release names no head digests, re-signed. */
function withoutHeadDigests(dir) {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-cold-kv-whole-'));
  fs.cpSync(dir, copy, { recursive: true });
  const file = path.join(copy, 'manifest.json');
  const release = JSON.parse(JSON.parse(fs.readFileSync(file, 'utf8')).release);
  const strip = (m) => {
    delete m.head_sha256;
    for (const s of m.shards?.shards ?? []) delete s.head_sha256;
  };
  for (const m of [release.current, release.previous, release.canary?.bundle]) if (m) strip(m);
  fs.writeFileSync(file, signRelease(release));
  return copy;
}

/** One fresh isolate of `arm`: start-up, first page, warm, KV reads. */
async function sample(arm, rows) {
  const w = await startWorkerd({ kvDir: arm.kvDir, workers, build: arm.build });
  try {
    rows.startup.push(w.startedMs);
    const first = await timed(`${w.urls.on}${page.path}`);
    if (first.tag !== 'personalized') throw new Error(`first page (${arm.name}): x-p13n ${first.tag}\n${w.logs()}`);
    rows.first.push(first.ms);
    arm.read = await (await fetch(`${w.kvUrl}/__reads`)).json();
    const warm = [];
    for (let i = 0; i < 20; i++) warm.push((await timed(`${w.urls.on}${page.path}`)).ms);
    rows.warm.push(median(warm));
    // The KV reads alone: the keys the first page read, from the same service.
    let kv = 0;
    for (const key of arm.read) kv += (await timed(`${w.kvUrl}/${encodeURIComponent(key)}`, {})).ms;
    rows.kv.push(kv);
  } finally {
    w.stop();
  }
}

/** V8's CPU profile of the first page and of the second, by phase, for `arm`'s fresh isolates. */
async function profiled(arm) {
  const inspectorPort = await freePort();
  const firstPages = [];
  const secondPages = [];
  for (let s = 0; s < SAMPLES; s++) {
    const w = await startWorkerd({ kvDir: arm.kvDir, workers, build: arm.build ?? path.join(ROOT, 'build/worker-names'), inspectorPort });
    const session = await inspect(w, 'on');
    try {
      await session.send('Profiler.enable');
      await session.send('Profiler.setSamplingInterval', { interval: 100 });
      for (const into of [firstPages, secondPages]) {
        await session.send('Profiler.start');
        const res = await timed(`${w.urls.on}${page.path}`);
        if (res.tag !== 'personalized') throw new Error(`profiled page: x-p13n ${res.tag}\n${w.logs()}`);
        into.push(phases((await session.send('Profiler.stop')).profile));
      }
    } finally {
      session.close();
      w.stop();
    }
  }
  return { firstPages, secondPages };
}

const f = (v) => v.toFixed(1);
try {
  const empty = [];
  for (const arm of arms) arm.rows = { startup: [], first: [], warm: [], kv: [] };
  for (let s = 0; s < SAMPLES; s++) {
    empty.push(await emptyWorkerStart());
    // The arms take turns going first.
    for (const arm of s % 2 ? [...arms].reverse() : arms) await sample(arm, arm.rows);
  }
  const line = (name, v) => console.log(`| ${name} | ${f(median(v))} | ${f(Math.min(...v))} | ${f(Math.max(...v))} |`);
  for (const arm of arms) {
    const { rows, read } = arm;
    const bytes = read.filter((k) => k !== 'manifest').map((k) => path.join(arm.kvDir, k)).filter((p) => fs.existsSync(p)).map((p) => fs.statSync(p).size);
    console.log(`${path.relative(ROOT, STORE)}, ${arm.name}: the first page read ${read.join(', ')} (${sum(bytes).toLocaleString('en')} bytes besides the manifest); ${page.name} (${page.html.length.toLocaleString('en')} bytes) from an in-memory origin; ${SAMPLES} fresh workerd processes\n`);
    console.log('| figure, ms | median | min | max |\n| --- | ---: | ---: | ---: |');
    line('workerd started, an empty worker (spawn to first answer)', empty);
    line('workerd started, this worker (spawn to first answer, no bundle read)', rows.startup);
    line('first page of the isolate (KV reads, verify, open, rank, rewrite)', rows.first);
    line('the same page warm (p50 of 20)', rows.warm);
    line('the KV reads alone (the same keys from the same local KV service)', rows.kv);
    arm.cold = rows.first.map((x, i) => x - rows.warm[i] - rows.kv[i]);
    line('**first page over warm, KV reads excluded**', arm.cold);
    line('**script start-up** (this worker over the empty one)', rows.startup.map((x, i) => x - empty[i]));
    console.log(`\nFirst page over warm, KV reads excluded, each sample in order: ${arm.cold.map((x) => x.toFixed(0)).join(', ')} ms\n`);
  }

  if (args.profile) {
    for (const arm of arms) arm.profile = await profiled(arm);
    for (const arm of arms) {
      const { firstPages, secondPages } = arm.profile;
      const names = [...new Set([...firstPages, ...secondPages].flatMap((m) => [...m.keys()]))];
      const avg = (runs, n) => mean(runs.map((m) => m.get(n) ?? 0));
      const total = (runs) => mean(runs.map((m) => sum([...m.values()])));
      names.sort((a, b) => avg(firstPages, b) - avg(firstPages, a));
      arm.profiledFirst = total(firstPages);
      console.log(`Where the time goes, ${arm.name}: V8's CPU profile of the first page and of the second, ${SAMPLES} fresh isolates with the inspector attached (mean ms a page; a sample counts for the innermost frame of its stack that names a phase)\n`);
      console.log('| phase | first page, ms | share | second page, ms |\n| --- | ---: | ---: | ---: |');
      for (const n of names) {
        console.log(`| ${n} | ${f(avg(firstPages, n))} | ${((100 * avg(firstPages, n)) / total(firstPages)).toFixed(0)}% | ${f(avg(secondPages, n))} |`);
      }
      console.log(`| **profiled in all** | ${f(total(firstPages))} | 100% | ${f(total(secondPages))} |\n`);
    }
  }
  if (arms.length === 2) {
    const [a, b] = arms;
    console.log(`| ${a.name} over ${b.name} | ratio |\n| --- | ---: |`);
    console.log(`| first page over warm, KV excluded (medians) | ${(median(a.cold) / median(b.cold)).toFixed(2)} |`);
    if (args.profile) console.log(`| first page profiled in all (means) | ${(a.profiledFirst / b.profiledFirst).toFixed(2)} |`);
  }
} finally {
  origin.close();
  for (const arm of arms) fs.rmSync(arm.kvDir, { recursive: true, force: true });
}
