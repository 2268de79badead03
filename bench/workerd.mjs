// The worker in bare workerd (the npm package's own binary): no `wrangler
// dev`, no proxy in front, no inspector attached, no live-reload
// middleware. What the rewrite and cold-start benches time. The bundle is
// read from a directory written by `firstpaint publish --dir` through a
// small read-only KV service; the storefront is `ORIGIN_URL`.
//
//   const w = await startWorkerd({ kvDir, workers: { on: {ORIGIN_URL}, off: {ORIGIN_URL, P13N_DISABLED: '1'} } });
//   w.urls.on, w.urls.off; w.kvUrl (the KV service itself); w.stop()
//
// `build` is the worker build's directory (default edge/build; `make
// worker` keeps a copy whose wasm still has its function names in
// build/worker-names, for CPU profiles); `inspectorPort` opens workerd's
// DevTools inspector there (w.inspectorUrl), and `inspect(w, name)` opens
// a DevTools protocol session with worker `name` (CPU profiles), whose
// samples `profileSamples(profile)` lists with their stacks.
// `startOrigin(handler)` serves a bench's storefront on a free port, and
// `publishToDir(store, prefix)` publishes a store with the DEV key into a
// new directory to pass as `kvDir`.
//
// Each worker is its own service (its own isolate) in one workerd process,
// on its own port, with the DEV variables of wrangler.toml plus `vars`.
// `scripts` (name -> { module, imports, vars }) adds workers that are a
// JavaScript module of their own (and the modules it imports, name ->
// file), not the worker build (bench/floors.js).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ROOT, freePort } from '../tests/support.mjs';

const WORKERD = path.join(ROOT, 'node_modules/workerd/bin/workerd');

/** wrangler.toml's `[vars]`: the DEV keys and settings. */
function wranglerVars() {
  const text = fs.readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8');
  const section = text.split(/^\[vars\]\s*$/m)[1]?.split(/^\[/m)[0] ?? '';
  return Object.fromEntries([...section.matchAll(/^([A-Z_][A-Z0-9_]*)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1], m[2]]));
}

// The KV service: a read-only view of the published directory. It keeps
// the keys it was asked for, which GET /__reads returns (and forgets), so a
// bench can time the same reads on their own.
const KV_WORKER = `const reads = [];
export default {
  async fetch(request, env) {
    if (request.method !== 'GET') return new Response('read-only', { status: 405 });
    let key = decodeURIComponent(new URL(request.url).pathname.slice(1));
    if (key === '__reads') return Response.json(reads.splice(0));
    reads.push(key);
    if (key === 'manifest') key = 'manifest.json';
    return env.files.fetch('http://files/' + key.split('/').map(encodeURIComponent).join('/'));
  },
};
`;

const capnp = (s) => JSON.stringify(String(s));

/** An HTTP server on a free loopback port answering with `handler`: the storefront origin of a bench. */
export async function startOrigin(handler) {
  const server = http.createServer(handler);
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** `store` (a bundle or a shard set's directory) published with the DEV key into a new temporary directory: a `kvDir`. */
export function publishToDir(store, prefix) {
  const kvDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  execFileSync(path.join(ROOT, 'target/native/firstpaint'), ['publish', store,
    '--pubkey', path.join(ROOT, 'fixtures/keys/dev.pub'), '--key', path.join(ROOT, 'fixtures/keys/dev.key'), '--dir', kvDir], { stdio: 'ignore' });
  return kvDir;
}

/** Starts workerd with `workers` (name -> extra vars) over the published `kvDir`. */
export async function startWorkerd({ kvDir, workers, scripts = {}, build = path.join(ROOT, 'edge/build'), inspectorPort }) {
  const dir = fs.mkdtempSync(path.join(ROOT, 'build', 'workerd-'));
  fs.writeFileSync(path.join(dir, 'kv.js'), KV_WORKER);
  const base = wranglerVars();
  const ports = {};
  const kvPort = await freePort();
  const services = [];
  const sockets = [];
  const defs = [];
  const embed = (file) => capnp(path.relative(dir, file));
  const entries = [
    ...Object.entries(workers).map(([name, vars]) => [name, vars, `
    (name = "index.js", esModule = embed ${embed(path.join(build, 'index.js'))}),
    (name = "index_bg.wasm", wasm = embed ${embed(path.join(build, 'index_bg.wasm'))}),
  `]),
    ...Object.entries(scripts).map(([name, { module, imports = {}, vars }]) => [name, vars,
      [`(name = "index.js", esModule = embed ${embed(module)})`,
        ...Object.entries(imports).map(([as, file]) => `(name = ${capnp(as)}, esModule = embed ${embed(file)})`)].join(', ')]),
  ];
  for (const [name, vars, modules] of entries) {
    ports[name] = await freePort();
    const bindings = Object.entries({ ...base, ...vars })
      .map(([k, v]) => `(name = ${capnp(k)}, text = ${capnp(v)})`)
      .concat(['(name = "BUNDLES", kvNamespace = "kv")']);
    services.push(`(name = ${capnp(name)}, worker = .${name})`);
    sockets.push(`(name = ${capnp(name)}, address = ${capnp(`127.0.0.1:${ports[name]}`)}, http = (), service = ${capnp(name)})`);
    defs.push(`const ${name} :Workerd.Worker = (
  modules = [${modules}],
  compatibilityDate = "2025-09-01",
  bindings = [${bindings.join(', ')}],
  globalOutbound = "internet",
);`);
  }
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    ${services.join(',\n    ')},
    (name = "kv", worker = .kv),
    (name = "files", disk = (path = ${capnp(path.resolve(kvDir))})),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [${sockets.concat(`(name = "kv", address = ${capnp(`127.0.0.1:${kvPort}`)}, http = (), service = "kv")`).join(', ')}],
);
const kv :Workerd.Worker = (
  modules = [(name = "kv.js", esModule = embed "kv.js")],
  compatibilityDate = "2025-09-01",
  bindings = [(name = "files", service = "files")],
);
${defs.join('\n')}
`;
  const file = path.join(dir, 'config.capnp');
  fs.writeFileSync(file, config);
  const inspect = inspectorPort ? [`--inspector-addr=127.0.0.1:${inspectorPort}`] : [];
  const child = spawn(WORKERD, ['serve', file, '--experimental', ...inspect], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let logs = '';
  child.stdout.on('data', (d) => { logs += d; });
  child.stderr.on('data', (d) => { logs += d; });
  const stop = () => {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const urls = Object.fromEntries(Object.entries(ports).map(([n, p]) => [n, `http://127.0.0.1:${p}`]));
  const started = process.hrtime.bigint();
  const deadline = Date.now() + 30_000;
  for (const url of Object.values(urls)) {
    for (;;) {
      if (child.exitCode !== null || Date.now() > deadline) {
        stop();
        throw new Error(`workerd did not start:\n${logs}`);
      }
      try {
        // Not a page: answered without reading the bundle.
        await (await fetch(`${url}/p13n/unknown-route`)).arrayBuffer();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
  const startedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const version = execFileSync(WORKERD, ['--version'], { encoding: 'utf8' }).trim();
  const inspectorUrl = inspectorPort && `http://127.0.0.1:${inspectorPort}`;
  return { urls, kvUrl: `http://127.0.0.1:${kvPort}`, inspectorUrl, stop, logs: () => logs, startedMs, version };
}

/** A DevTools protocol session with the worker `name` of a workerd started with an inspector. */
export async function inspect(w, name) {
  const targets = await (await fetch(`${w.inspectorUrl}/json/list`)).json();
  const target = targets.find((t) => t.id === name);
  if (!target) throw new Error(`no inspector target ${name}: ${JSON.stringify(targets)}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let next = 0;
  const pending = new Map();
  ws.on('message', (m) => {
    const d = JSON.parse(m);
    if (pending.has(d.id)) {
      const { resolve, reject } = pending.get(d.id);
      pending.delete(d.id);
      if (d.error) reject(new Error(`${JSON.stringify(d.error)}`));
      else resolve(d.result);
    }
  });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = ++next;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
  return { send, close: () => ws.close() };
}

/**
 * Each sample of a V8 CPU `profile` (as `Profiler.stop` returns it), as
 * its stack (call frames, innermost first) and the milliseconds it stands
 * for: what the benches' profile tables are summed from.
 */
export function profileSamples(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  return profile.samples.map((id, i) => {
    const stack = [];
    for (let at = id; at !== undefined; at = parent.get(at)) stack.push(nodes.get(at).callFrame);
    return { stack, ms: (profile.timeDeltas[i] ?? 0) / 1000 };
  });
}
