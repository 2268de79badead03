// Shared by the end-to-end tests: start `wrangler dev` (real workerd) over a
// fresh local KV, publish bundles into it, and read the fixtures' rules.
import { spawn, execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const FP = path.join(ROOT, 'target/native/firstpaint');
export const WRANGLER = path.join(ROOT, 'node_modules/.bin/wrangler');
export const BUNDLE = path.join(ROOT, 'build/fixtures.fpb');
export const PUBKEY = path.join(ROOT, 'fixtures/keys/dev.pub');
export const KEY = path.join(ROOT, 'fixtures/keys/dev.key');

const ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
};

for (const needed of [FP, WRANGLER, BUNDLE, path.join(ROOT, 'edge/build/index.js'), path.join(ROOT, 'build/site/index.html')]) {
  if (!fs.existsSync(needed)) {
    throw new Error(`${needed} is missing: run the e2e tests through \`make test\`, which builds it first`);
  }
}

/** A fresh directory for wrangler's local state. */
export function tempState() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'firstpaint-e2e-'));
}

/** Publishes the fixtures bundle into `state` with the origin CLI (a new signed release). */
export function publish(state, bundle = BUNDLE, extra = []) {
  execFileSync(FP, publishArgs(state, bundle, extra), { cwd: ROOT, env: ENV, stdio: 'pipe' });
}

/**
 * `publish` without blocking this process (a load generator running in it
 * keeps reading its responses while the release is written).
 */
export function publishInBackground(state, bundle = BUNDLE) {
  return new Promise((resolve, reject) => {
    execFile(FP, publishArgs(state, bundle, []), { cwd: ROOT, env: ENV }, (e, _out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve()));
  });
}

function publishArgs(state, bundle, extra) {
  return ['publish', bundle, '--pubkey', PUBKEY, '--key', KEY, '--local', '--persist-to', state, ...extra];
}

/**
 * Builds the fixtures store with rules that hold out half of each module
 * and a fifth of shoppers globally (the fixtures' own hold out nobody),
 * salted with `salt`, into `state`; returns the rules file and the bundle.
 */
export function buildWithHoldouts(state, salt) {
  const rules = path.join(state, 'rules.toml');
  const base = fs.readFileSync(path.join(ROOT, 'fixtures/rules.toml'), 'utf8').replace(/\n\[experiments\][\s\S]*$/, '\n');
  fs.writeFileSync(rules, `${base}\n[experiments]\nholdout = 0.5\nglobal_holdout = 0.2\nsalt = "${salt}"\n`);
  const bundle = path.join(state, 'holdouts.fpb');
  firstpaint(['build', '--catalog', 'fixtures/catalog.ndjson', '--events', 'fixtures/events.ndjson',
    '--rules', rules, '--synonyms', 'fixtures/synonyms.txt', '--key', KEY, '--out', bundle]);
  return { rules, bundle };
}

/** `buildWithHoldouts`, published into `state`; returns the rules file. */
export function publishWithHoldouts(state, salt) {
  const { rules, bundle } = buildWithHoldouts(state, salt);
  publish(state, bundle);
  return rules;
}

/**
 * Runs wrangler's local KV command, again while a running `wrangler dev`
 * holds the same store's SQLite lock (SQLITE_BUSY, or a 500 from KV).
 */
function kv(args) {
  return wranglerLocal(['kv', 'key', ...args]);
}

/** Runs a local wrangler storage command, again while SQLite is busy (see `kv`). */
function wranglerLocal(args) {
  for (let attempt = 1; ; attempt++) {
    try {
      return execFileSync(WRANGLER, args, { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    } catch (e) {
      if (attempt >= 10 || !/SQLITE_BUSY|database is locked|500 Internal Server Error/.test(`${e.stdout}${e.stderr}${e.message}`)) throw e;
      execFileSync('sleep', ['0.2']);
    }
  }
}

/**
 * `fetch`, once more when a kept-alive connection was closed by the dev
 * server while idle (the seconds a CLI command takes between requests): a
 * client-side race of keep-alive, not an answer from the edge.
 */
export async function fetchAgain(url, init) {
  try {
    return await fetch(url, init);
  } catch (e) {
    if (e.cause?.code !== 'UND_ERR_SOCKET') throw e;
    return fetch(url, init);
  }
}

/** Runs the origin CLI (`firstpaint ARGS`); its output. */
export function firstpaint(args) {
  return execFileSync(FP, args, { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Writes a raw KV value, bypassing every check (to plant bad bundles and releases). */
export function kvPut(state, key, file) {
  kv(['put', key, '--binding', 'BUNDLES', '--local', '--persist-to', state, '--path', file]);
}

/** Writes `text` as KV value `key`, bypassing every check. */
export function kvPutText(state, key, text) {
  const file = path.join(state, `kv-${crypto.randomUUID()}`);
  fs.writeFileSync(file, text);
  kvPut(state, key, file);
}

/** Puts `file` into the local events bucket as `key`, bypassing the worker. */
export function r2Put(state, key, file) {
  wranglerLocal(['r2', 'object', 'put', `firstpaint-events/${key}`, '--file', file, '--local', '--persist-to', state]);
}

/** Whether the local events bucket holds `key`. */
export function r2Has(state, key) {
  try {
    wranglerLocal(['r2', 'object', 'get', `firstpaint-events/${key}`, '--pipe', '--local', '--persist-to', state]);
    return true;
  } catch (e) {
    if (/not found|does not exist/i.test(`${e.stdout}${e.stderr}`)) return false;
    throw e;
  }
}

/**
 * Plants in `state` the fixtures bundle with one byte flipped, named by a
 * release signed with the trusted key under the tampered bytes' own hash:
 * only the bundle's own signature can catch them.
 */
export function plantTamperedBundle(state) {
  const bytes = fs.readFileSync(BUNDLE);
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  const bundleFile = path.join(state, 'tampered.fpb');
  fs.writeFileSync(bundleFile, bytes);
  const now = Math.floor(Date.now() / 1000);
  kvPut(state, `bundles/${sha}`, bundleFile);
  kvPutText(state, 'manifest', signRelease({
    sequence: 1,
    created_at: now,
    expires_at: now + 3600,
    current: { bundle_key: `bundles/${sha}`, sha256: sha, bytes: bytes.length, bundle_version: 1, key_id: 'x', published_at: now },
  }));
}

/** A raw KV value as text (`null` when there is none). */
export function kvGet(state, key) {
  const out = kv(['get', key, '--binding', 'BUNDLES', '--local', '--persist-to', state, '--text']);
  return out.trim() === 'Value not found' ? null : out;
}

/** An ed25519 key pair from a key file's 32-byte seed (`fixtures/keys/dev.key`), or a fresh one. */
export function signingKey(file = KEY) {
  if (file === null) return crypto.generateKeyPairSync('ed25519');
  const seed = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#')).join('').trim();
  // PKCS#8 wrapping of a raw ed25519 seed.
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed, 'hex')]);
  const privateKey = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return { privateKey, publicKey: crypto.createPublicKey(privateKey) };
}

/** `release` signed as the origin signs it (`SignedRelease`), as KV's `manifest` text. */
export function signRelease(release, key = signingKey()) {
  const text = JSON.stringify(release, null, 2);
  const raw = key.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return JSON.stringify({
    format: 1,
    key_id: crypto.createHash('sha256').update(raw).digest('hex').slice(0, 16),
    signature: crypto.sign(null, Buffer.from(text), key.privateKey).toString('hex'),
    release: text,
  });
}

/**
 * Pushes live updates (objects, one NDJSON line each) into `state` with
 * the origin CLI (`firstpaint live push`), caching under `cache`; its
 * output.
 */
export function livePush(state, cache, updates, extra = []) {
  const file = path.join(cache, `updates-${crypto.randomUUID()}.ndjson`);
  fs.mkdirSync(cache, { recursive: true });
  fs.writeFileSync(file, updates.map((u) => JSON.stringify(u)).join('\n'));
  return firstpaint(['live', 'push', '--updates', file, '--local', '--persist-to', state, '--key', KEY, '--cache', cache, ...extra]);
}

/**
 * A live overlay container (`FPLV`, as `firstpaint_bundle::seal_live`
 * writes it) around `payload`, signed with `key`: to plant overlays the
 * origin would never write.
 */
export function sealLive({ sequence, createdAt, expiresAt }, payload, key = signingKey()) {
  const raw = key.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const head = Buffer.alloc(80);
  head.write('FPLV', 0, 'latin1');
  head.writeUInt32LE(1, 4);
  crypto.createHash('sha256').update(raw).digest().copy(head, 8, 0, 8);
  head.writeBigUInt64LE(BigInt(sequence), 16);
  head.writeBigInt64LE(BigInt(createdAt), 24);
  head.writeBigInt64LE(BigInt(expiresAt), 32);
  head.writeBigUInt64LE(BigInt(payload.length), 40);
  crypto.createHash('sha256').update(payload).digest().copy(head, 48);
  return Buffer.concat([head, crypto.sign(null, head, key.privateKey), payload]);
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `wrangler dev` over `state` (with `vars`); resolves once it answers
 * HTTP at `ready` (health, which loads the bundle; a static asset leaves
 * the isolate cold).
 */
export async function startWrangler(state, vars = {}, ready = '/p13n/health') {
  const port = await freePort();
  // Its own inspector port too: the default (9229) is taken by the first
  // of the test files that `make test` runs side by side.
  const inspector = await freePort();
  const varArgs = Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]);
  const child = spawn(WRANGLER, ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector), '--persist-to', state, '--show-interactive-dev-session=false', ...varArgs], {
    cwd: ROOT,
    env: ENV,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout.on('data', (d) => { logs += d; });
  child.stderr.on('data', (d) => { logs += d; });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
  };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      await (await fetch(`${url}${ready}`)).arrayBuffer();
      return { url, stop, pid: child.pid, logs: () => logs };
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  stop();
  throw new Error(`wrangler dev did not start on ${url}:\n${logs}`);
}

/** `wrangler dev` over fresh local state with the fixtures bundle published (and `vars`). */
export async function startStore(vars = {}, ready = undefined) {
  const state = tempState();
  publish(state);
  return startWrangler(state, vars, ready);
}

/** A local HTTP server standing in for the merchant's event collector. */
export async function startCollector() {
  const received = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204);
      res.end();
    });
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}/events`, received, stop: () => server.close() };
}

/** The fixtures catalog by id. */
export function catalog() {
  const byId = new Map();
  for (const line of fs.readFileSync(path.join(ROOT, 'fixtures/catalog.ndjson'), 'utf8').split('\n')) {
    if (line.trim()) {
      const p = JSON.parse(line);
      byId.set(p.id, p);
    }
  }
  return byId;
}

/**
 * Why `p` must never be promoted under fixtures/rules.toml, or null. Mirrors
 * the fixture rules; a test checks that the catalog has products each rule forbids.
 */
export function forbidden(p) {
  const units = (p.inventory ?? []).reduce((n, s) => n + s.available, 0);
  if (units < 2) return `only ${units} in stock`;
  if (p.regulated) return 'regulated';
  if ((p.safety ?? []).includes('flammable')) return 'flammable';
  if (p.category.includes('Camping Fuel')) return 'excluded category';
  if ((p.tags ?? []).includes('discontinued')) return 'discontinued';
  if (p.category.includes('Electronics') && p.price < 12) return 'under the Electronics floor';
  if (p.category.includes('Fashion') && p.cost > 0 && (p.price - p.cost) / p.price < 0.35) return 'under the Fashion margin floor';
  return null;
}

/** Each slot of a page, in order: its type, its items element's attributes, and the product ids rendered in it (not the template's). */
export function slotItems(html) {
  const out = [];
  const re = /<section data-p13n-slot="([^"]+)"[^>]*>[\s\S]*?<div class="cards" data-p13n-items([^>]*)>([\s\S]*?)<\/div>\s*<\/section>/g;
  for (const m of html.matchAll(re)) {
    out.push({
      type: m[1],
      attrs: m[2],
      ids: [...m[3].matchAll(/data-product="([^"]+)"/g)].map((x) => x[1]),
    });
  }
  return out;
}

/** The slot of `type` on a page. */
export function slotOf(html, type) {
  const found = slotItems(html).find((s) => s.type === type);
  if (!found) throw new Error(`no ${type} slot in the page`);
  return found;
}

/** The consent cookie of a shopper who agreed to everything. */
export const CONSENTED = 'fp_consent=personalization.analytics';

/** `jar` (a Cookie header) updated with a response's Set-Cookie. */
export function updateJar(jar, res) {
  const set = res.headers.get('set-cookie');
  if (!set) return jar;
  const [pair] = set.split(';');
  const name = pair.slice(0, pair.indexOf('='));
  const kept = jar.split('; ').filter((c) => c && !c.startsWith(`${name}=`));
  return (pair.endsWith('=') ? kept : [...kept, pair]).join('; ');
}

/** Visits product pages as one shopper; returns their Cookie header after. */
export async function browse(url, ids, { cookie = CONSENTED, region = 'DE' } = {}) {
  let jar = cookie;
  for (const id of ids) {
    const res = await fetch(`${url}/products/${id}`, { headers: { cookie: jar, 'x-p13n-region': region } });
    await res.text();
    jar = updateJar(jar, res);
  }
  return jar;
}

/** A profile cookie signed with wrangler.toml's dev key, as the worker would sign it. */
export function devProfile(profile) {
  const toml = fs.readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8');
  const [, id, hex] = toml.match(/^PROFILE_KEYS = "(\w+):([0-9a-f]{64})/m);
  const signed = `${id}.${Buffer.from(JSON.stringify(profile)).toString('base64url')}`;
  const tag = crypto.createHmac('sha256', Buffer.from(hex, 'hex')).update(signed).digest().subarray(0, 16);
  return `fp_profile=${signed}.${tag.toString('base64url')}`;
}

