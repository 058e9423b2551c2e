// Browser test for the web demo against real Chromium (playwright-core, no
// downloaded browser). Serves web-demo/www itself on a free loopback port.
//
//   node web-demo/tests/browser.mjs            (after the wasm package is built)
//   EDGEPICK_BROWSER_ONLY=live,controls node web-demo/tests/browser.mjs   (some sections)
//
// Prints one line per check, the measured figures, and `N passed, M failed`;
// exits non-zero on any failure. Screenshots: artifacts/web-demo*.png.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../serve.mjs';
import { liveViews, controls, layouts, links, contrast, download, restart, shared, compareResults } from './truth.mjs';
import { whyView, roundTrip } from './why.mjs';
import { timelineLive, compareTimeline, handRecorded, badRows, linkTimeline } from './timeline.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const demo = path.resolve(here, '..');
const repo = path.resolve(demo, '..');
const artifacts = path.join(repo, 'artifacts');
fs.mkdirSync(artifacts, { recursive: true });

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ' — ' + detail : ''}`);
}
// Section names to run (EDGEPICK_BROWSER_ONLY, comma-separated); all when unset.
const only = process.env.EDGEPICK_BROWSER_ONLY?.split(',');
async function step(name, fn) {
  if (only && name !== 'page loads and the core initialises' && !only.some(o => name.includes(o))) return;
  try { await fn(); } catch (e) { check(name, false, e.message.split('\n')[0]); }
}

if (!fs.existsSync(path.join(demo, 'www/pkg/edgepick_web_bg.wasm'))) {
  console.log('FAIL web-demo/www/pkg is missing: build the wasm package first');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const server = await serve({ root: path.join(demo, 'www'), port: 0 });
const base = `http://127.0.0.1:${server.address().port}/`;
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'edgepick-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1440, height: 1000 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] || await context.newPage();
const errors = [];
page.on('pageerror', e => errors.push(e.message));
page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });

const simT = () => page.evaluate(() => window.edgepick.snapshot?.t_ms ?? 0);
async function runFor(ms) {
  const t0 = await simT();
  await page.waitForFunction(t => (window.edgepick.snapshot?.t_ms ?? 0) >= t, t0 + ms, { timeout: 60000 });
}
// Requests sent to node i over the last k closed buckets.
const recentSent = (i, k) => page.evaluate(([i, k]) => {
  const s = window.edgepick.series.slice(-k - 1, -1);
  return s.reduce((a, b) => a + (b.sent[i] || 0), 0);
}, [i, k]);

try {
  await step('page loads and the core initialises', async () => {
    await page.goto(base);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
    const n = await page.locator('#algorithm option').count();
    check('page loads and the core initialises', n >= 8, `${n} algorithms offered`);
  });

  await step('RFWS on a preset', async () => {
    await page.selectOption('#preset', 'homogeneous');
    await page.selectOption('#algorithm', 'rfws');
    await page.selectOption('#speed', '4');
    const help = await page.textContent('#algo-help');
    await page.click('#play');
    await runFor(4000);
    const alg = await page.evaluate(() => window.edgepick.topo.algorithm.name);
    const sent = await page.evaluate(() => window.edgepick.snapshot.nodes.map(n => n.sent));
    check('RFWS chosen and explained', alg === 'rfws' && /RFWS/.test(help));
    check('preset runs: requests answered', (await page.evaluate(() => window.edgepick.snapshot.ok)) > 1000, `sent per node ${sent.join(',')}`);
  });

  await step('kill a node', async () => {
    await page.selectOption('#algorithm', 'round_robin'); // spreads evenly, so the victim surely had traffic
    await runFor(2000);
    const before = await recentSent(1, 3);
    await page.click('[data-testid="kill-ws2"]');
    await runFor(4000);
    const after = await recentSent(1, 4);
    const others = await recentSent(0, 4);
    const row = await page.locator('[data-testid="node-ws2"]').innerText();
    check('killed node had traffic before', before > 0, `${before} requests in the last 3 buckets`);
    check('killed node\'s traffic stops once detected', after === 0 && others > 0, `ws2 ${after}, ws1 ${others} in the last 4 buckets`);
    check('page shows the node dead and detected', /dead · detected/.test(row), row.replace(/\s+/g, ' '));
    await page.click('[data-testid="kill-ws2"]'); // revive
    await runFor(3000);
    check('revived node gets traffic again', (await recentSent(1, 2)) > 0);
  });

  await step('comparison', async () => {
    await page.click('#play'); // pause
    await page.fill('#compare-secs', '10');
    await page.click('#compare-btn');
    await page.waitForSelector('#compare-table tr[data-testid^="compare-"]', { timeout: 60000 });
    const rows = await page.locator('#compare-table tr[data-testid^="compare-"]').count();
    const nums = await page.locator('#compare-table tr[data-testid="compare-rfws"] td').allInnerTexts();
    check('comparison lists every algorithm', rows === (await page.locator('#algorithm option').count()), `${rows} rows; rfws: ${nums.slice(1, 5).join(' / ')}`);
  });

  await step('export / import configuration', async () => {
    await page.click('#export-btn');
    const exported = await page.inputValue('#config-text');
    fs.writeFileSync(path.join(artifacts, 'web-demo-config.json'), exported);
    const st = await page.textContent('#config-status');
    check('exported configuration is valid for the core', /valid/.test(st) && !/invalid/.test(st) && JSON.parse(exported).backends.length === 4, st);
    await page.click('#import-btn');
    check('importing it back is valid', /^valid/.test(await page.textContent('#config-status')));
    await page.fill('#config-text', '{"backends":[{"name":"a","address":"nope"}]}');
    await page.click('#import-btn');
    const bad = await page.textContent('#config-status');
    check('an invalid configuration names the field', /backends\[0\]\.address/.test(bad), bad);
  });

  await step('golden vectors', async () => {
    const file = path.join(repo, 'tests/golden/vectors.json');
    await page.evaluate(() => { document.querySelector('details').open = true; });
    await page.fill('#golden-text', fs.readFileSync(file, 'utf8'));
    await page.click('#golden-btn');
    const res = page.locator('#golden-result');
    const [p, f] = [Number(await res.getAttribute('data-passed')), Number(await res.getAttribute('data-failed'))];
    check(`golden vectors replayed in the page (${path.relative(repo, file)})`, p > 0 && f === 0, await res.innerText());
  });

  await step('scenario in the URL', async () => {
    await page.waitForTimeout(400);
    const url = page.url();
    const other = await context.newPage();
    await other.goto(url);
    await other.waitForSelector('body[data-ready="1"]');
    const same = await other.evaluate(() => [window.edgepick.topo.servers.length, window.edgepick.topo.algorithm.name]);
    await other.close();
    check('the URL hash restores the scenario', url.includes('#t=') && same[0] === 4 && same[1] === 'round_robin', same.join(','));
  });

  const t = { page, context, base, check, runFor, artifacts };
  await step('live views equal the core\'s series', () => liveViews(t));
  await step('controls keep input', () => controls(t));
  await step('layout at 360 px and 1280×800', () => layouts(t));
  await step('bad links and invalid edits', () => links(t));
  await step('contrast', () => contrast(t));
  await step('download', () => download(t));
  await step('restart keeps faults', () => restart(t));
  await step('shared link', () => shared(t));
  await step('compare results', () => compareResults(t));
  await step('fault timeline: live run', () => timelineLive(t));
  await step('fault timeline: compare', () => compareTimeline(t));
  await step('fault timeline: faults by hand', () => handRecorded(t));
  await step('fault timeline: bad rows', () => badRows(t));
  await step('fault timeline: link', () => linkTimeline(t));
  await step('why this node', () => whyView(t));
  await step('configuration round trip', () => roundTrip(t));

  await step('speed with 64 nodes', async () => {
    await page.selectOption('#preset', 'stress64');
    await page.selectOption('#speed', '1');
    await page.click('#play');
    await page.waitForTimeout(4000);
    const [fps, simRate] = await page.evaluate(() => [window.edgepick.fps, window.edgepick.simRate]);
    // 4× and 16×: frames/s and how fast simulated time runs against the wall clock.
    const speed = async x => {
      await page.selectOption('#speed', x);
      await page.waitForTimeout(1000);
      const [sim0, wall0] = await page.evaluate(() => [window.edgepick.sim.now_ms(), performance.now()]);
      await page.waitForTimeout(4000);
      const [f, sim1, wall1] = await page.evaluate(() => [window.edgepick.fps, window.edgepick.sim.now_ms(), performance.now()]);
      const ratio = (sim1 - sim0) / (wall1 - wall0);
      console.log(`figure: 64 nodes at ${x}×: ${f} frames/s, simulated time at ${ratio.toFixed(1)}× real time`);
      return [f, ratio];
    };
    const [fps4, ratio4] = await speed('4');
    const [fps16, ratio16] = await speed('16');
    // Issue #13's target is a figure of this machine, not a pass/fail check.
    const met = fps16 >= 30 && ratio16 >= 14;
    console.log(`figure: issue #13 target at 16× (≥ 30 frames/s, ≥ 14× real time): ${met ? 'met' : 'not met'} on this machine`);
    await page.click('#play');
    await page.evaluate(() => { document.querySelector('details').open = true; });
    await page.click('#bench-btn');
    const rate = Number(await page.locator('#bench-result').getAttribute('data-rate'));
    console.log(`figure: 64 nodes live: ${fps} frames/s while simulating ${Math.round(simRate).toLocaleString('en')} req/s of wall time`);
    console.log(`figure: browser simulator speed (64 nodes, rfws): ${rate.toLocaleString('en')} simulated requests/s`);
    await page.selectOption('#preset', 'homogeneous');
    await page.click('#bench-btn');
    const rate4 = Number(await page.locator('#bench-result').getAttribute('data-rate'));
    console.log(`figure: browser simulator speed (4 nodes, round robin): ${rate4.toLocaleString('en')} simulated requests/s`);
    check('64 nodes animate smoothly', fps >= 20, `${fps} fps`);
    // Loose: frames keep coming while the simulator is the bottleneck, and it
    // runs well past 4× (the figures above are the measurement).
    check('64 nodes at 16× keep drawing and run faster than at 4×', fps16 >= 20 && fps4 >= 20 && ratio16 > ratio4,
      `${fps16} fps, ${ratio16.toFixed(1)}× at 16×; ${fps4} fps, ${ratio4.toFixed(1)}× at 4×`);
    check('simulator speed measured', rate > 0 && rate4 > 0);
  });

  await step('screenshot', async () => {
    await page.selectOption('#preset', 'figure2');
    await page.selectOption('#speed', '4');
    await page.click('#play');
    await runFor(6000);
    await page.click('[data-testid="kill-WS2"]');
    await runFor(3000);
    await page.click('#play');
    await page.click('#compare-btn');
    await page.waitForFunction(() => /compared/.test(document.getElementById('status').textContent), null, { timeout: 60000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const file = path.join(artifacts, 'web-demo.png');
    await page.screenshot({ path: file, fullPage: true });
    check('screenshot saved', fs.statSync(file).size > 10000, file);
  });

  check('no errors in the page', errors.length === 0, errors.slice(0, 3).join(' | '));
} finally {
  await context.close();
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
