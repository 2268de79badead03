// Load on the event pipeline through `wrangler dev` (real workerd, its
// local Queue and R2): `rate` events a second posted to /p13n/collect on
// loopback for `seconds` (requests of `batch` events, each event with its
// own id, a tenth of the requests sent twice as a storefront's retry
// would), then `firstpaint events pull` until every accepted event is
// there. Count in (distinct ids accepted) must equal count out (events
// in the pulled events.ndjson); prints what it saw.
//
//   node bench/events-load.mjs [rate] [seconds] [batch]   (after `make worker origin bundle site`;
//   defaults 1000, 60, 50)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FP, ROOT, startStore, tempState } from '../tests/support.mjs';

const [rate, seconds, batch] = process.argv.slice(2).map(Number);
const RATE = rate || 1000;
const SECONDS = seconds || 60;
const BATCH = batch || 50;
const TOKEN = 'dev-events-token-5f0c2a9e41d7';

const server = await startStore();
const dir = path.join(tempState(), 'events');
const tokenFile = path.join(path.dirname(dir), 'token');
fs.writeFileSync(tokenFile, TOKEN);
const event = (id, n) => ({
  id, type: 'page_view', session: `load-${n % 997}`, ts: new Date(Date.UTC(2026, 10, 20) + n).toISOString(),
  consent: { personalization: true, analytics: true }, region: 'DE', product: `SKU-${String((n % 400) + 1).padStart(5, '0')}`,
});

const ids = new Set();
let posted = 0;
let requests = 0;
let retries = 0;
const failures = new Map();
const latencies = [];
const send = async (events) => {
  const started = performance.now();
  try {
    const res = await fetch(`${server.url}/p13n/collect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
    const body = await res.json();
    latencies.push(performance.now() - started);
    requests++;
    if (res.status !== 202) {
      failures.set(`${res.status} ${body.error}`, (failures.get(`${res.status} ${body.error}`) ?? 0) + 1);
      return;
    }
    for (const e of events) ids.add(e.id);
    posted += body.accepted;
  } catch (e) {
    failures.set(String(e.cause?.code ?? e), (failures.get(String(e.cause?.code ?? e)) ?? 0) + 1);
  }
};

const started = Date.now();
const inFlight = new Set();
let n = 0;
// A request every BATCH/RATE seconds, on schedule (not waiting for the last).
const interval = (1000 * BATCH) / RATE;
for (let k = 0; Date.now() - started < SECONDS * 1000; k++) {
  const due = started + k * interval;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const events = Array.from({ length: BATCH }, () => event(`load-${n}`, n++));
  const p = send(events).then(() => (k % 10 === 0 ? (retries++, send(events)) : undefined));
  inFlight.add(p);
  p.finally(() => inFlight.delete(p));
}
await Promise.all(inFlight);
const elapsed = (Date.now() - started) / 1000;

const pullStarted = Date.now();
let out = '';
let pulled = 0;
for (let i = 0; i < 240 && pulled < ids.size; i++) {
  out = execFileSync(FP, ['events', 'pull', '--from', server.url, '--token-file', tokenFile, '--out', dir], { cwd: ROOT }).toString();
  pulled = Number(/hold (\d+) events/.exec(out)?.[1] ?? 0);
  if (pulled < ids.size) await new Promise((r) => setTimeout(r, 500));
}
server.stop();
latencies.sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]?.toFixed(1);
console.log(`posted for ${elapsed.toFixed(1)} s: ${requests} requests (${retries} retries of a request already sent), ${posted} events accepted, ${ids.size} distinct ids (${(ids.size / elapsed).toFixed(0)} events/s)`);
console.log(`request latency ms: p50 ${q(0.5)}, p99 ${q(0.99)}, max ${q(1)}`);
console.log(`failures: ${failures.size ? JSON.stringify(Object.fromEntries(failures)) : 'none'}`);
console.log(`pulled within ${((Date.now() - pullStarted) / 1000).toFixed(1)} s of the last post: ${out.trim()}`);
console.log(`count in ${ids.size}, count out ${pulled}: ${ids.size === pulled ? 'equal' : 'DIFFERENT'}`);
process.exit(ids.size === pulled && failures.size === 0 ? 0 : 1);
