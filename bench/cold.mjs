// A cold isolate, measured: workerd started afresh for every sample (bare
// workerd, bench/workerd.mjs), then
//   1. start-up: from spawning workerd to its first answer on a route that
//      reads no bundle, beside the same for an empty worker (workerd's own
//      start), so the difference is this worker's script start-up;
//   2. the first page: the fixtures home page from an in-memory origin,
//      which reads the manifest and bundle from KV (a local directory
//      here), verifies and opens it, ranks and rewrites;
//   3. the same page warm (p50 of 20), so 2 - 3 is what the cold isolate
//      costs the first shopper;
//   4. the KV read alone: the bundle fetched from the same KV service.
//
//   node bench/cold.mjs [samples] [bundle]   (defaults 10 build/fixtures.fpb;
//                                             after `make worker bundle site`)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { CONSENTED, ROOT, freePort } from '../tests/support.mjs';
import { startWorkerd } from './workerd.mjs';

const SAMPLES = Number(process.argv[2] ?? 10);
const BUNDLE = path.resolve(process.argv[3] ?? path.join(ROOT, 'build/fixtures.fpb'));
const HEADERS = { cookie: CONSENTED, authorization: 'Bearer bench' };

const pct = (v, q) => [...v].sort((a, b) => a - b)[Math.round((v.length - 1) * q)];
const median = (v) => pct(v, 0.5);

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

const page = fs.readFileSync(path.join(ROOT, 'build/site/index.html'));
const origin = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(page);
});
const originPort = await freePort();
await new Promise((resolve) => origin.listen(originPort, '127.0.0.1', resolve));
const kvDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-cold-kv-'));
execFileSync(path.join(ROOT, 'target/native/firstpaint'), ['publish', BUNDLE,
  '--pubkey', path.join(ROOT, 'fixtures/keys/dev.pub'), '--key', path.join(ROOT, 'fixtures/keys/dev.key'), '--dir', kvDir], { stdio: 'ignore' });
const bundleKey = fs.readdirSync(path.join(kvDir, 'bundles'))[0];
const bundleBytes = fs.statSync(path.join(kvDir, 'bundles', bundleKey)).size;
const rows = { empty: [], startup: [], first: [], warm: [], kv: [] };
try {
  for (let s = 0; s < SAMPLES; s++) {
    rows.empty.push(await emptyWorkerStart());
    const w = await startWorkerd({ kvDir, workers: { on: { ORIGIN_URL: `http://127.0.0.1:${originPort}` } } });
    try {
      rows.startup.push(w.startedMs);
      const first = await timed(`${w.urls.on}/`);
      if (first.tag !== 'personalized') throw new Error(`first page: x-p13n ${first.tag}\n${w.logs()}`);
      rows.first.push(first.ms);
      const warm = [];
      for (let i = 0; i < 20; i++) warm.push((await timed(`${w.urls.on}/`)).ms);
      rows.warm.push(median(warm));
      // The KV read alone: the same service, asked for the bundle.
      rows.kv.push((await timed(`${w.kvUrl}/bundles%2F${bundleKey}?urlencoded=true`, {})).ms);
    } finally {
      w.stop();
    }
  }
  const f = (v) => v.toFixed(1);
  const line = (name, v) => console.log(`| ${name} | ${f(median(v))} | ${f(Math.min(...v))} | ${f(Math.max(...v))} |`);
  console.log(`${path.relative(ROOT, BUNDLE)} (${bundleBytes.toLocaleString('en')} bytes), the fixtures home page (${page.length.toLocaleString('en')} bytes) from an in-memory origin; ${SAMPLES} fresh workerd processes\n`);
  console.log('| figure, ms | median | min | max |\n| --- | ---: | ---: | ---: |');
  line('workerd started, an empty worker (spawn to first answer)', rows.empty);
  line('workerd started, this worker (spawn to first answer, no bundle read)', rows.startup);
  line('first page of the isolate (KV read, verify, open, rank, rewrite)', rows.first);
  line('the same page warm (p50 of 20)', rows.warm);
  line('the KV read alone (the bundle from the same local KV service)', rows.kv);
  const cold = rows.first.map((x, i) => x - rows.warm[i] - rows.kv[i]);
  line('**first page over warm, KV read excluded**', cold);
  const script = rows.startup.map((x, i) => x - rows.empty[i]);
  line('**script start-up** (this worker over the empty one)', script);
} finally {
  origin.close();
  fs.rmSync(kvDir, { recursive: true, force: true });
}
