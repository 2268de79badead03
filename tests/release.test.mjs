// Signed releases, end to end through `wrangler dev` (real workerd): the
// edge serves what the newest release it accepted names, and refuses,
// keeping its bundle and saying why in /p13n/health:
//
// 1. `firstpaint publish` writes release 1, then 2, each signed.
// 2. A replayed older release (a downgrade).
// 3. An expired release (a freeze).
// 4. A release signed by a key the edge does not trust.
// 5. A release whose text changed after signing.
// 6. A manifest that is not a signed release.
// 7. A release naming a bundle whose bytes in KV are other bytes
//    (mix-and-match): not a bundle, another bundle signed by the same key
//    (its head is not the one the release names; of another length, it is
//    refused before it is copied into wasm), and, from a publisher before
//    head digests, other bytes than the file's SHA-256.
// 8. A good release after all that is accepted at once.
// 9. `firstpaint rollback` restores the previous bundle on the next
//    manifest check, and `firstpaint releases` logs who did what and why.
// 10. A canary (`publish --canary 30`): 1,000 new shoppers split 30/70
//    within the binomial interval, each keeping their arm; no consent, no
//    id, the current bundle; `rollout --percent 100`, then `promote`.
// 11. Canaries and shard sets, each arm either: a shard set on trial
//    beside a single bundle (its shoppers' pages and searches come from
//    its shards), promoted; then another shard set (each arm's version of
//    a shard stays open beside the other's), then a single bundle, on
//    trial beside it.
//
// Every page in between is personalized by the last good bundle: never an
// error, never the bundle a refused release named.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BUNDLE, CONSENTED, KEY, ROOT, catalog, fetchAgain, firstpaint, kvGet, kvPut, kvPutText, publish, signRelease, signingKey, startWrangler, tempState, updateJar } from './support.mjs';

/**
 * `/p13n/health` once the edge has re-read the manifest (each request
 * starts a refresh in the background when `MANIFEST_TTL_MS` is 0), and
 * after the refresh the last one started, so KV can be written.
 */
async function settledHealth(url) {
  for (let i = 0; i < 3; i++) {
    await (await fetchAgain(`${url}/p13n/health`)).arrayBuffer();
    await new Promise((r) => setTimeout(r, 300));
  }
  const res = await fetchAgain(`${url}/p13n/health`);
  assert.equal(res.status, 200);
  const body = await res.json();
  await new Promise((r) => setTimeout(r, 300));
  return body;
}

describe('signed releases', () => {
  let server;
  let state;
  before(async () => {
    state = tempState();
    publish(state);
    // Re-check the manifest on every request (in the background).
    server = await startWrangler(state, { MANIFEST_TTL_MS: '0' });
  });
  after(() => server?.stop());

  const get = (p) => fetchAgain(`${server.url}${p}`);

  const settled = () => settledHealth(server.url);

  /** The home page is personalized by the bundle in use. */
  async function personalized() {
    const res = await get('/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('x-p13n'), /personalized|non-personal/);
    await res.arrayBuffer();
  }

  const live = () => JSON.parse(JSON.parse(kvGet(state, 'manifest')).release);
  const now = () => Math.floor(Date.now() / 1000);

  test('publish writes signed releases with rising sequence numbers', async () => {
    assert.equal((await settled()).release.sequence, 1);
    const first = live();
    assert.equal(first.sequence, 1);
    assert.equal(first.previous, undefined);
    publish(state);
    const second = live();
    assert.equal(second.sequence, 2);
    assert.equal(second.current.sha256, first.current.sha256);
    const health = await settled();
    assert.equal(health.release.sequence, 2);
    assert.equal(health.last_refresh_error, null);
    assert.ok(health.release.expires_in_seconds > 29 * 24 * 3600);
  });

  const refusals = [
    ['an older release (downgrade)', () => signRelease({ ...live(), sequence: 1 }), /release 1 is older than release 2/],
    ['an expired release (freeze)', () => signRelease({ ...live(), sequence: 3, created_at: now() - 7200, expires_at: now() - 3600 }), /release 3 expired/],
    ['a release signed by an untrusted key', () => signRelease({ ...live(), sequence: 3 }, signingKey(null)), /which is not trusted/],
    ['a release changed after signing', () => {
      const signed = JSON.parse(signRelease({ ...live(), sequence: 3 }));
      signed.release = signed.release.replace('"sequence": 3', '"sequence": 30');
      return JSON.stringify(signed);
    }, /signature does not match/],
    ['an unsigned manifest', () => JSON.stringify(live().current), /not a signed release/],
    ['a release naming other bytes than its bundle\'s (mix-and-match)', () => {
      const text = 'not the bundle this release names';
      const sha = crypto.createHash('sha256').update('another bundle').digest('hex');
      kvPutText(state, `bundles/${sha}`, text);
      const current = { ...live().current, bundle_key: `bundles/${sha}`, sha256: sha, bytes: text.length };
      return signRelease({ ...live(), sequence: 3, current });
    }, /bundles\/[0-9a-f]{64} is not a bundle \(.*\); manifest says its head has sha256 [0-9a-f]{64}/],
    ...[['', true], [' of another length', false]].map(([length, sameLength]) => [
      `a release whose bundle key holds another bundle signed by the same key${length} (mix-and-match)`, () => {
        // A shard of the fixtures store: a real bundle, signed by the
        // trusted key, that is not the one the release names.
        const shards = path.join(ROOT, 'build/shards');
        const first = JSON.parse(fs.readFileSync(path.join(shards, 'shards.json'), 'utf8')).shards[0];
        const sha = crypto.createHash('sha256').update(`another signed bundle${length}`).digest('hex');
        kvPut(state, `bundles/${sha}`, path.join(shards, first.file));
        const bytes = sameLength ? fs.statSync(path.join(shards, first.file)).size : live().current.bytes;
        const current = { ...live().current, bundle_key: `bundles/${sha}`, sha256: sha, bytes };
        return signRelease({ ...live(), sequence: 3, current });
      }, sameLength ? /its head has sha256 [0-9a-f]{64}, manifest says [0-9a-f]{64}/ : /has \d+ bytes, manifest says \d+/]),
    ['a release without head digests (an older publisher) naming other bytes', () => {
      const sha = crypto.createHash('sha256').update('yet another bundle').digest('hex');
      kvPutText(state, `bundles/${sha}`, 'not the bundle this release names either');
      const { head_sha256: _, ...older } = live().current;
      const current = { ...older, bundle_key: `bundles/${sha}`, sha256: sha };
      return signRelease({ ...live(), sequence: 3, current });
    }, /has sha256 [0-9a-f]{64}, manifest says [0-9a-f]{64}/],
  ];
  for (const [what, manifest, why] of refusals) {
    test(`${what} is refused; the bundle in use stays`, async () => {
      const good = kvGet(state, 'manifest');
      kvPutText(state, 'manifest', manifest());
      try {
        const health = await settled();
        assert.equal(health.status, 'ok');
        assert.equal(health.release.sequence, 2, JSON.stringify(health));
        assert.match(health.last_refresh_error ?? '', why);
        await personalized();
      } finally {
        kvPutText(state, 'manifest', good);
      }
    });
  }

  test('a good release after the refusals is accepted at once', async () => {
    publish(state);
    const health = await settled();
    assert.equal(health.release.sequence, 3);
    assert.equal(health.last_refresh_error, null);
    await personalized();
  });

  test('rollback restores the previous bundle; the log says who, what and why', async () => {
    const single = (await settled()).sha256;
    publish(state, path.join(ROOT, 'build/shards'), ['--message', 'the sharded store', '--by', 'e2e']);
    const sharded = await settled();
    assert.equal(sharded.sharded, true);
    assert.equal(sharded.release.sequence, 4);
    firstpaint(['rollback', '--key', KEY, '--local', '--persist-to', state, '--message', 'shards misbehave', '--by', 'e2e']);
    const back = await settled();
    assert.equal(back.sharded, undefined);
    assert.equal(back.sha256, single);
    assert.equal(back.release.sequence, 5);
    assert.equal(back.last_refresh_error, null);
    await personalized();
    const log = JSON.parse(firstpaint(['releases', '--local', '--persist-to', state, '--json']));
    assert.deepEqual(log.map((e) => [e.sequence, e.action]), [[1, 'publish'], [2, 'publish'], [3, 'publish'], [4, 'publish'], [5, 'rollback']]);
    assert.deepEqual(log.slice(-2).map((e) => [e.by, e.message]), [['e2e', 'the sharded store'], ['e2e', 'shards misbehave']]);
    assert.equal(log.at(-1).bundle.sha256, single);
    assert.match(firstpaint(['releases', '--local', '--persist-to', state]), /serving release 5: [0-9a-f]{64}.*previous/);
  });
});

describe('a canary', () => {
  let server;
  const settled = () => settledHealth(server.url);
  let state;
  let canarySha;
  before(async () => {
    state = tempState();
    publish(state);
    // Another bundle of the same store (built now: another version).
    const b = path.join(state, 'b.fpb');
    firstpaint(['build', '--catalog', 'fixtures/catalog.ndjson', '--events', 'fixtures/events.ndjson',
      '--rules', 'fixtures/rules.toml', '--synonyms', 'fixtures/synonyms.txt', '--key', KEY, '--out', b]);
    publish(state, b, ['--canary', '30', '--message', 'try b']);
    canarySha = JSON.parse(JSON.parse(kvGet(state, 'manifest')).release).canary.bundle.sha256;
    server = await startWrangler(state, { MANIFEST_TTL_MS: '0' });
  });
  after(() => server?.stop());

  /** A new consenting shopper's first page: which release arm served it, and their cookies. */
  async function newShopper(cookie = CONSENTED) {
    const res = await fetchAgain(`${server.url}/`, { headers: { cookie, 'x-p13n-region': 'DE' } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    return { arm: res.headers.get('x-p13n-release'), bundle: res.headers.get('x-p13n-bundle'), jar: updateJar(cookie, res) };
  }

  test('1,000 shoppers split 30/70 within the binomial interval, each stable', async () => {
    const health = await settled();
    assert.equal(health.canary.percent, 30);
    assert.equal(health.canary.sha256, canarySha);
    const shoppers = [];
    for (let i = 0; i < 1000; i++) shoppers.push(await newShopper());
    const canary = shoppers.filter((s) => s.arm === 'canary');
    // 1,000 draws at 30%: 300 +- 4 sd (14.5).
    assert.ok(canary.length >= 242 && canary.length <= 358, `${canary.length} of 1000 on the canary`);
    assert.ok(shoppers.every((s) => s.arm === 'canary' || s.arm === 'current'));
    const versions = new Set(canary.map((s) => s.bundle));
    assert.equal(versions.size, 1);
    assert.ok(!shoppers.some((s) => s.arm === 'current' && versions.has(s.bundle)), 'the canary is another bundle');
    // Each keeps their arm on later pages.
    for (const s of shoppers.slice(0, 60)) {
      const again = await newShopper(s.jar);
      assert.equal(again.arm, s.arm);
    }
    // Without consent there is no id: everyone gets the current bundle.
    for (let i = 0; i < 30; i++) {
      assert.equal((await newShopper('fp_consent=none')).arm, 'current');
    }
  });

  test('rollout to 100% serves the canary to everyone; promote makes it current', async () => {
    firstpaint(['rollout', '--percent', '100', '--key', KEY, '--local', '--persist-to', state, '--message', 'all in']);
    assert.equal((await settled()).canary.percent, 100);
    for (let i = 0; i < 20; i++) assert.equal((await newShopper()).arm, 'canary');
    firstpaint(['promote', '--key', KEY, '--local', '--persist-to', state]);
    const health = await settled();
    assert.equal(health.canary, null);
    assert.equal(health.sha256, canarySha);
    assert.equal(health.last_refresh_error, null);
    assert.equal((await newShopper()).arm, 'current');
    const log = JSON.parse(firstpaint(['releases', '--local', '--persist-to', state, '--json']));
    assert.deepEqual(log.map((e) => e.action), ['publish', 'canary', 'rollout', 'promote']);
  });
});

describe('a canary beside a shard set, and a shard set as a canary', () => {
  let server;
  let state;
  const settled = () => settledHealth(server.url);
  const phone = [...catalog().values()].find((p) => p.category.at(-1) === 'Smartphones').id;
  /** A shard set of the fixtures (another build: another version) in `state`. */
  const shardSet = (name) => {
    const dir = path.join(state, name);
    firstpaint(['build', '--catalog', 'fixtures/catalog.ndjson', '--events', 'fixtures/events.ndjson',
      '--rules', 'fixtures/rules.toml', '--synonyms', 'fixtures/synonyms.txt', '--key', KEY, '--out', dir,
      '--shard-products', '60', '--global-products', '60']);
    return dir;
  };
  before(async () => {
    state = tempState();
    publish(state);
    publish(state, shardSet('a-shards'), ['--canary', '30', '--message', 'shards on trial']);
    // Pages wait for their shard (a cold load in wrangler dev can outlast
    // the default 50 ms budget, and these tests are about which arm serves).
    server = await startWrangler(state, { MANIFEST_TTL_MS: '0', COLD_LOAD_BUDGET_MS: '10000' });
  });
  after(() => server?.stop());

  /** A shopper's product page (a new consenting shopper without `cookie`). */
  async function productPage(cookie = CONSENTED) {
    const res = await fetchAgain(`${server.url}/products/${phone}`, { headers: { cookie, 'x-p13n-region': 'DE' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-p13n'), 'personalized');
    await res.arrayBuffer();
    return {
      arm: res.headers.get('x-p13n-release'),
      bundle: res.headers.get('x-p13n-bundle'),
      shard: res.headers.get('x-p13n-shard'),
      jar: updateJar(cookie, res),
    };
  }

  /** `n` new shoppers' first product pages, and which arm served each. */
  async function split(n) {
    const shoppers = [];
    for (let i = 0; i < n; i++) shoppers.push(await productPage());
    const arm = (name) => shoppers.filter((s) => s.arm === name);
    return { shoppers, canary: arm('canary'), current: arm('current') };
  }

  test('a shard set as the canary beside a single bundle: its shoppers get its shards', async () => {
    const health = await settled();
    assert.equal(health.sharded, undefined, 'the current bundle is a single one');
    assert.equal(health.canary.sharded, true);
    assert.equal(health.canary.percent, 30);
    assert.equal(health.last_refresh_error, null);
    const { shoppers, canary, current } = await split(200);
    // 200 draws at 30%: 60 +- 4 sd (6.5).
    assert.ok(canary.length >= 34 && canary.length <= 86, `${canary.length} of 200 on the canary`);
    assert.equal(canary.length + current.length, shoppers.length);
    assert.ok(canary.every((s) => s.shard === 'electronics-1' && s.bundle === String(health.canary.bundle_version)),
      JSON.stringify(canary.slice(0, 3)));
    assert.ok(current.every((s) => s.shard === null && s.bundle === String(health.bundle.version)));
    for (const s of shoppers.slice(0, 40)) assert.equal((await productPage(s.jar)).arm, s.arm, 'each keeps their arm');
    // A canary shopper's search reads the canary's shards.
    const res = await fetchAgain(`${server.url}/p13n/search?q=smartphone&per_page=5`, { headers: { cookie: canary[0].jar } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-p13n-release'), 'canary');
    assert.match(res.headers.get('x-p13n-search-shards'), /electronics-1/);
    const again = await fetchAgain(`${server.url}/p13n/search?q=smartphone&per_page=5`, { headers: { cookie: current[0].jar } });
    assert.equal(again.headers.get('x-p13n-release'), 'current');
    assert.equal(again.headers.get('x-p13n-search-shards'), null, 'a single bundle searches alone');
  });

  test('promoted, the shard set serves everyone; another shard set, then a single bundle, beside it', async () => {
    firstpaint(['promote', '--key', KEY, '--local', '--persist-to', state, '--message', 'shards for all']);
    let health = await settled();
    assert.equal(health.sharded, true);
    assert.equal(health.canary, null);
    const promoted = String(health.manifest.bundle_version);
    for (let i = 0; i < 10; i++) {
      const s = await productPage();
      assert.deepEqual([s.arm, s.shard, s.bundle], ['current', 'electronics-1', promoted]);
    }
    // A shard set beside a shard set.
    publish(state, shardSet('b-shards'), ['--canary', '50', '--message', 'other shards']);
    health = await settled();
    assert.equal(health.canary.sharded, true);
    const other = String(health.canary.bundle_version);
    assert.notEqual(other, promoted);
    let { canary, current } = await split(60);
    assert.ok(canary.length >= 10 && current.length >= 10, `${canary.length} of 60 on the canary`);
    assert.ok(canary.every((s) => s.shard === 'electronics-1' && s.bundle === other));
    assert.ok(current.every((s) => s.shard === 'electronics-1' && s.bundle === promoted));
    // Each arm's version of the shard stays open beside the other's (a
    // load of one used to evict the other, so the two arms took turns).
    const open = (await (await fetch(`${server.url}/p13n/health`)).json()).open
      .filter((o) => o.name === 'electronics-1');
    assert.equal(new Set(open.map((o) => o.sha256)).size, 2, JSON.stringify(open));
    // A single bundle beside a shard set.
    publish(state, BUNDLE, ['--canary', '50', '--message', 'one bundle again']);
    health = await settled();
    assert.equal(health.canary.sharded, false);
    assert.equal(health.last_refresh_error, null);
    ({ canary, current } = await split(60));
    assert.ok(canary.length >= 10 && current.length >= 10, `${canary.length} of 60 on the canary`);
    assert.ok(canary.every((s) => s.shard === null && s.bundle === String(health.canary.bundle_version)));
    assert.ok(current.every((s) => s.shard === 'electronics-1' && s.bundle === promoted));
    // Without consent there is no id: the current shard set.
    const anonymous = await fetchAgain(`${server.url}/products/${phone}`, { headers: { cookie: 'fp_consent=none' } });
    await anonymous.arrayBuffer();
    assert.equal(anonymous.headers.get('x-p13n-release'), 'current');
    assert.equal(anonymous.headers.get('x-p13n-shard'), 'electronics-1');
  });
});
