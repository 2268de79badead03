// The measurement loop end to end, through real workerd (`wrangler dev`)
// and real Chromium, with a bundle whose rules hold out half of each
// module and a fifth of shoppers globally:
//
// 1. `firstpaint simulate` drives 600 seeded shoppers (home page, product
//    pages, then what they did, to /p13n/collect) with a planted lift:
//    home's treatment converts twice as often as its holdout.
// 2. The exposures the edge logged and the shoppers' events flow through
//    the queue to R2; `events pull` brings every order back.
// 3. `firstpaint readout` finds the planted lift within its intervals, for
//    home and overall; a module with nothing planted shows no
//    significant effect; no sample ratio is off.
//    Each bundle version's results name the publish log's release.
// 4. Its HTML report renders in headless Chromium: the three plots drawn,
//    a row per experiment, no script errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { FP, ROOT, publishWithHoldouts, startWrangler, tempState } from './support.mjs';

const TOKEN = 'dev-events-token-5f0c2a9e41d7';
const EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const run = (args) => JSON.parse(execFileSync(FP, args, { cwd: ROOT, maxBuffer: 64 << 20 }).toString());

describe('simulated shoppers, read out', () => {
  let server;
  let state;
  let rules;
  before(async () => {
    state = tempState();
    rules = publishWithHoldouts(state, 'simulate');
    server = await startWrangler(state);
  });
  after(() => server?.stop());

  test('the planted lift is recovered within the readout\'s intervals, and the report renders', async () => {
    const planted = run(['simulate', '--target', server.url, '--rules', rules, '--shoppers', '600', '--seed', '3',
      '--conversion', '0.1', '--lift', 'home=1.0', '--json']);
    assert.equal(planted.shoppers, 600);
    assert.equal(planted.assigned, 600, 'every consenting shopper is in the experiments');
    assert.ok(Math.abs(planted.planted_relative_lift.home - 1.0) < 1e-9, 'home\'s treatment converts twice as often');

    const dir = path.join(state, 'events');
    const tokenFile = path.join(state, 'token');
    fs.writeFileSync(tokenFile, TOKEN);
    let [orders, exposures] = [0, 0];
    for (let i = 0; i < 90 && (orders < planted.orders || exposures < planted.exposures); i++) {
      await new Promise((r) => setTimeout(r, 500));
      execFileSync(FP, ['events', 'pull', '--from', server.url, '--token-file', tokenFile, '--out', dir], { cwd: ROOT });
      const file = path.join(dir, 'events.ndjson');
      if (!fs.existsSync(file)) continue;
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      orders = lines.filter((l) => l.includes('"type":"order"')).length;
      exposures = lines.filter((l) => l.includes('"type":"exposure"')).length;
    }
    assert.equal(orders, planted.orders, 'every order came back once');
    assert.equal(exposures, planted.exposures, 'one exposure per slot of a module on every page');

    const report = path.join(state, 'report.html');
    const log = path.join(state, 'releases.json');
    fs.writeFileSync(log, execFileSync(FP, ['releases', '--local', '--persist-to', state, '--json'], { cwd: ROOT }));
    const r = run(['readout', '--events', dir, '--rules', rules, '--catalog', 'fixtures/catalog.ndjson',
      '--releases', log, '--planned-visitors', '600', '--out', report, '--json']);
    assert.match(r.overall.bundles[0].releases[0], /^#1 .* publish by /, 'the bundle\'s results name its release');
    assert.equal(r.visitors, 600);
    const home = r.modules.find((m) => m.module === 'home');
    assert.ok(home, `modules: ${r.modules.map((m) => m.module)}`);
    const covers = ([lo, hi], x) => lo <= x && x <= hi;
    for (const [c, truth] of [[home, planted.planted_relative_lift.home], [r.overall, planted.planted_relative_lift.overall]]) {
      assert.ok(c.reliable, `${c.module}: sample ratio ${JSON.stringify(c.srm)}`);
      const conversion = c.metrics.find((m) => m.name === 'conversion');
      assert.ok(covers(conversion.lift.relative_ci, truth), `${c.module}: ${truth} in ${conversion.lift.relative_ci}`);
      assert.ok(covers(conversion.always_valid.relative, truth));
    }
    // Twice the conversion is seen, at the planned horizon's width too.
    assert.ok(home.metrics.find((m) => m.name === 'conversion').lift.relative_ci[0] > 0, 'home lifts conversion');
    for (const m of r.modules.filter((x) => x.module !== 'home')) {
      assert.ok(m.reliable, `${m.module}: ${JSON.stringify(m.srm)}`);
      assert.ok(!m.metrics.find((x) => x.name === 'conversion').significant, `${m.module} plants nothing`);
    }

    const browser = await chromium.launch({
      executablePath: EXECUTABLE,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const requests = [];
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(`file://${report}`);
      for (const id of ['lift-by-module', 'cumulative-lift', 'exposure-shares']) {
        const box = await page.locator(`svg#${id}`).boundingBox();
        assert.ok(box && box.width > 300 && box.height > 40, `${id} is drawn: ${JSON.stringify(box)}`);
      }
      const estimated = [r.overall, ...r.modules].filter((c) => c.metrics.find((m) => m.name === 'revenue_per_visitor').lift).length;
      assert.equal(await page.locator('svg#lift-by-module circle').count(), estimated, 'an estimate per experiment');
      assert.equal(await page.locator('#summary tr').count(), 2 + r.modules.length);
      assert.match(await page.locator('#analysis').innerText(), /always-valid/);
      assert.ok((await page.locator('#findings li').count()) >= 4, 'the audit\'s findings');
      assert.deepEqual(errors, []);
      assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), [], 'the report asks nothing of the network');
    } finally {
      await browser.close();
    }
  });
});
