// The event pipeline through real workerd (`wrangler dev`'s local Queue
// and R2): POST /p13n/collect -> the EVENTS queue -> this worker as its
// consumer -> one gzipped NDJSON object per batch in R2 under its hour ->
// /p13n/events (bearer token) -> `firstpaint events pull`.
//
// 1. Accepted events (a retry of one request among them, sent again with
//    the storefront's own ids) arrive once each in the pulled
//    events.ndjson, pseudonymized, each with an id; events without
//    analytics consent never arrive.
// 2. Objects are named by their hour and are gzipped NDJSON.
// 3. The route refuses a missing or wrong token (401, saying which), and
//    `events pull` with a wrong token fails naming the status.
// 4. What the rules no longer keep (older than events.retention_days) is
//    neither listed nor returned (410, naming the rule), and `events
//    prune --rules` deletes it.
// 5. A second pull fetches nothing new; removing the objects (the
//    route's DELETE, what `events prune` sends) leaves none listed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { FP, ROOT, publish, r2Has, r2Put, startWrangler, tempState } from './support.mjs';

// wrangler.toml's dev token.
const TOKEN = 'dev-events-token-5f0c2a9e41d7';

const event = (n, overrides = {}) => ({
  type: 'page_view',
  session: `sess-pipe-${n % 7}`,
  user: `shopper-${n % 11}`,
  ts: new Date(Date.UTC(2026, 10, 20, 10, 0, n)).toISOString(),
  consent: { personalization: true, analytics: true },
  region: 'DE',
  product: `SKU-${String((n % 40) + 1).padStart(5, '0')}`,
  ...overrides,
});

describe('the event pipeline: queue, R2, events pull', () => {
  let server;
  let dir;
  let tokenFile;
  let state;
  const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
  const pull = (token = tokenFile) => execFileSync(FP, ['events', 'pull', '--from', server.url, '--token-file', token, '--out', dir],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  // The first request after `wrangler r2 object put/get --local` on the
  // dev server's own state: on a loaded machine (CI beside a fuzzer) it
  // was refused twice while those commands' local runtime let go of the
  // state, and passed alone. Tried again for up to 10 s; what it answers
  // is checked as before.
  const answered = async (url, init) => {
    for (let tries = 0; ; tries++) {
      try {
        return await fetch(url, init);
      } catch (e) {
        if (tries >= 20) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  const listed = async () => (await (await fetch(`${server.url}/p13n/events?since=0`, { headers: auth() })).json()).objects;

  before(async () => {
    state = tempState();
    publish(state);
    server = await startWrangler(state);
    dir = path.join(tempState(), 'events');
    tokenFile = path.join(path.dirname(dir), 'token');
    fs.writeFileSync(tokenFile, `${TOKEN}\n`);
  });
  after(() => server?.stop());

  const post = async (events) => {
    const res = await fetch(`${server.url}/p13n/collect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
    assert.equal(res.status, 202, await res.clone().text());
    return res.json();
  };

  test('every accepted event arrives once, pseudonymized and with an id', async () => {
    let accepted = 0;
    // Five requests of 40 events; without ids (the edge gives them).
    for (let r = 0; r < 5; r++) {
      accepted += (await post(Array.from({ length: 40 }, (_, i) => event(r * 40 + i)))).accepted;
    }
    // The storefront's own ids, and the same request sent twice (a retry).
    const retried = Array.from({ length: 30 }, (_, i) => event(500 + i, { id: `store-evt-${i}` }));
    accepted += (await post(retried)).accepted;
    assert.equal((await post(retried)).accepted, 30);
    // Without analytics consent: dropped at the edge.
    const unconsented = await post([event(900, { consent: { personalization: true, analytics: false } })]);
    assert.deepEqual(unconsented, { accepted: 0, dropped_without_consent: 1 });
    assert.equal(accepted, 230);

    // The consumer writes each batch within seconds (max_batch_timeout 1).
    let out = '';
    for (let i = 0; i < 60; i++) {
      out = pull();
      if (/hold 230 events/.test(out)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(out, /hold 230 events \(30 repeats dropped\)/, out);
    const events = fs.readFileSync(path.join(dir, 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(events.length, 230);
    assert.equal(new Set(events.map((e) => e.id)).size, 230);
    // The storefront's own ids leave as keyed hashes scoped to their session.
    assert.ok(events.filter((e) => /^s1:[0-9a-f]{24}$/.test(e.id)).length === 30);
    assert.ok(!events.some((e) => e.id.startsWith('store-evt-')));
    assert.ok(events.filter((e) => /^e-[0-9a-f]{32}$/.test(e.id)).length === 200, 'the edge gives ids to the rest');
    for (const e of events) {
      assert.match(e.session, /^s1:[0-9a-f]{24}$/);
      assert.match(e.user, /^s1:[0-9a-f]{24}$/);
    }
    assert.ok(events.every((e, i) => i === 0 || events[i - 1].ts <= e.ts), 'in time order');
  });

  test('objects are gzipped NDJSON named by their hour', async () => {
    const objects = await listed();
    assert.ok(objects.length >= 1);
    const hour = new Date().toISOString().slice(0, 13).replace(/[-T]/g, '/');
    for (const o of objects) {
      assert.match(o.key, /^events\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/\d{13}-[0-9a-f]{12}\.ndjson\.gz$/);
      assert.ok(o.key.startsWith(`events/${hour}/`) || o.key < `events/${hour}/`, `${o.key} in the hour written`);
    }
    const res = await fetch(`${server.url}/p13n/${objects[0].key}`, { headers: auth() });
    assert.equal(res.status, 200);
    const lines = zlib.gunzipSync(Buffer.from(await res.arrayBuffer())).toString().trim().split('\n');
    assert.ok(lines.length >= 1 && lines.every((l) => JSON.parse(l).id));
    const since = Math.floor(Date.now() / 1000) + 7200;
    assert.deepEqual((await (await fetch(`${server.url}/p13n/events?since=${since}`, { headers: auth() })).json()).objects, []);
  });

  test('the route wants the token; a pull with a wrong one fails saying so', async () => {
    let res = await fetch(`${server.url}/p13n/events?since=0`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    assert.match((await res.json()).error, /no bearer token/);
    res = await fetch(`${server.url}/p13n/events?since=0`, { headers: auth('guess') });
    assert.equal(res.status, 401);
    assert.match((await res.json()).error, /not the export's/);
    res = await fetch(`${server.url}/p13n/events/2026/12/01/20/..%2F..%2Fx.ndjson.gz`, { headers: auth() });
    assert.equal(res.status, 400);
    res = await fetch(`${server.url}/p13n/events`, { headers: auth() });
    assert.equal(res.status, 400);
    const wrong = path.join(path.dirname(dir), 'wrong');
    fs.writeFileSync(wrong, 'guess');
    assert.throws(() => pull(wrong), (e) => /401 Unauthorized: .*not the export's/.test(e.stderr.toString()));
  });

  test('what the rules no longer keep is neither listed nor returned, and prune --rules deletes it', async () => {
    // An object of 2020, put straight into R2 (the fixtures keep 395 days).
    const old = '2020/01/01/00/1577836800000-0123456789abcdef.ndjson.gz';
    const file = path.join(state, 'old.ndjson.gz');
    fs.writeFileSync(file, zlib.gzipSync(`${JSON.stringify({ ...event(1), id: 'e-old' })}\n`));
    r2Put(state, `events/${old}`, file);
    assert.ok(r2Has(state, `events/${old}`));
    const res = await answered(`${server.url}/p13n/events?since=0`, { headers: auth() });
    assert.equal(res.headers.get('x-p13n-retention-days'), '395');
    assert.ok(!(await res.json()).objects.some((o) => o.key === `events/${old}`), 'not listed');
    const got = await fetch(`${server.url}/p13n/events/${old}`, { headers: auth() });
    assert.equal(got.status, 410);
    assert.match((await got.json()).error, /retention_days \(395\)/);
    assert.match(pull(), /pulled 0 new objects/);
    const out = execFileSync(FP, ['events', 'prune', '--from', server.url, '--token-file', tokenFile, '--rules', 'fixtures/rules.toml'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    assert.match(out, /removed 1 objects older than 395 days/);
    assert.ok(!r2Has(state, `events/${old}`), 'deleted');
  });

  test('a second pull takes nothing new; removed objects are no longer listed', async () => {
    assert.match(pull(), /pulled 0 new objects/);
    const count = (await listed()).length;
    const res = await fetch(`${server.url}/p13n/events?before=${Math.floor(Date.now() / 1000) + 7200}`, { method: 'DELETE', headers: auth() });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { deleted: count });
    assert.deepEqual(await listed(), []);
  });
});
