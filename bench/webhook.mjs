// A catalog-change webhook at scale: `firstpaint serve` over a generated
// store, one signed webhook changing `share` of its products' prices,
// timed to its 202 (verified, applied to the catalog file, checked) and
// to the rebuild's publish (a full build today), publishing into a
// directory.
//
//   node bench/webhook.mjs STORE_DIR [share]   (after `make origin`;
//   STORE_DIR from `firstpaint generate`, share default 0.01)
//
// Prints a Markdown table. The store directory is copied first; nothing
// in it changes.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { FP, KEY, PUBKEY } from '../tests/support.mjs';

const [store, shareArg] = process.argv.slice(2);
if (!store) throw new Error('usage: node bench/webhook.mjs STORE_DIR [share]');
const share = Number(shareArg ?? 0.01);
const SECRET = 'bench-secret-0123456789';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-webhook-'));
for (const f of ['catalog.ndjson', 'events.ndjson', 'rules.toml']) fs.copyFileSync(path.join(store, f), path.join(work, f));
const lines = fs.readFileSync(path.join(work, 'catalog.ndjson'), 'utf8').split('\n').filter(Boolean);
const step = Math.max(1, Math.round(1 / share));
const upsert = lines.filter((_, i) => i % step === 0).map((l) => {
  const p = JSON.parse(l);
  p.price = Math.round(p.price * 93) / 100;
  return p;
});
const body = JSON.stringify({ upsert });

const server = spawn(FP, ['serve', '--listen', '127.0.0.1:0', '--debounce-ms', '200',
  '--catalog', path.join(work, 'catalog.ndjson'), '--events', path.join(work, 'events.ndjson'),
  '--rules', path.join(work, 'rules.toml'), '--out', path.join(work, 'bundle.fpb'),
  '--dir', path.join(work, 'kv'), '--pubkey', PUBKEY, '--key', KEY], {
  env: { ...process.env, FIRSTPAINT_WEBHOOK_SECRETS: SECRET },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const stderr = readline.createInterface({ input: server.stderr });
const published = new Promise((resolve, reject) => {
  stderr.on('line', (line) => {
    if (line.includes('published in')) resolve(line);
    if (line.includes('nothing published')) reject(new Error(line));
  });
});
try {
  const first = await new Promise((resolve) => readline.createInterface({ input: server.stdout }).once('line', resolve));
  const addr = first.replace('listening on ', '').split(': ')[0];
  const t = Math.floor(Date.now() / 1000);
  const mac = crypto.createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex');
  const started = process.hrtime.bigint();
  const res = await fetch(`${addr}/webhooks/catalog`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'firstpaint-signature': `t=${t},v1=${mac}` } });
  const answer = await res.text();
  const accepted = Number(process.hrtime.bigint() - started) / 1e9;
  if (res.status !== 202) throw new Error(`${res.status}: ${answer}`);
  await published;
  const live = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${lines.length} products; one webhook changing ${upsert.length} prices (${body.length} bytes)\n`);
  console.log('| step | seconds |\n| --- | ---: |');
  console.log(`| webhook answered 202 (signature checked, change applied and the catalog re-checked and written) | ${accepted.toFixed(2)} |`);
  console.log(`| published (debounce 0.2 s, then a full build and publish) | ${live.toFixed(2)} |`);
} finally {
  server.kill();
  fs.rmSync(work, { recursive: true, force: true });
}
