// Browser checks for the fault timeline (issue #13, "Compare with faults"):
// built with the page's own controls, replayed by the live run and by
// Compare, filled by faults done by hand, guarded against bad rows, carried by
// a shared link. Each export takes the harness `t` from browser.mjs.

const S = page => page.evaluate(() => window.edgepick.topo.faults);
const row = k => `[data-testid="fault-${k}"]`;
const b64 = v => Buffer.from(JSON.stringify(v)).toString('base64url');
const urlFaults = url => {
  const t = new URLSearchParams(url.split('#')[1] || '').get('t');
  try { return JSON.parse(Buffer.from(t, 'base64url').toString('utf8')).faults; } catch { return null; }
};
const fault = (at_ms, action, target, factor = 1) => ({ at_ms, action, target, factor });
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// `preset` loaded afresh (empty timeline), paused at 0 s, round robin, reverse proxy, at `speed`.
async function fresh(t, preset, speed = '4') {
  const { page } = t;
  if (await page.evaluate(() => window.edgepick.running)) await page.click('#play');
  await page.evaluate(p => { const e = document.getElementById('preset'); e.value = p; e.dispatchEvent(new Event('change')); }, preset);
  await page.selectOption('#algorithm', 'round_robin');
  await page.selectOption('#method', 'proxy');
  await page.selectOption('#speed', speed);
}

// Let the panel redraw (it does once focus has settled after a change).
const settle = page => page.evaluate(() => new Promise(r => setTimeout(r, 20)));

// Type `value` into field `f` of timeline row `k` with the keyboard and leave it (Tab commits it).
async function type(page, k, f, value) {
  await page.focus(`${row(k)} [data-f="${f}"]`);
  await page.keyboard.press('Control+a');
  await page.keyboard.type(value);
  await page.keyboard.press('Tab');
  await settle(page);
}

// Choose `action` in row `k`.
async function choose(page, k, action) {
  await page.selectOption(`${row(k)} [data-f="action"]`, action);
  await settle(page);
}

// Kill ws2 at 2 s, revive it at 6 s, with the panel's controls.
async function buildKillRevive(page) {
  await page.click('#timeline-add'); // kill ws1 at 2 s; focus on its time
  await settle(page);
  await type(page, 0, 'target', 'ws2');
  await page.click('#timeline-add');
  await settle(page);
  await choose(page, 1, 'revive');
  await type(page, 1, 'target', 'ws2');
  await type(page, 1, 'time', '6');
}

/** (a) A timeline built in the panel is replayed by the live run: the node's state flips at those simulated times. */
export async function timelineLive(t) {
  const { page, check } = t;
  await fresh(t, 'homogeneous');
  await buildKillRevive(page);
  const faults = await S(page);
  const focus = await page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
  check('timeline: rows added and edited from the panel (keyboard for node and time); focus moves on with Tab',
    same(faults, [fault(2000, 'kill', 'ws2'), fault(6000, 'revive', 'ws2')]) && (await page.locator('#timeline tbody tr').count()) === 2 &&
      focus === 'fault 2 action',
    `timeline ${JSON.stringify(faults)}; focus on "${focus}"; ${await page.textContent('#timeline-status')}`);
  await page.evaluate(() => {
    window.samples = [];
    const look = () => {
      const s = window.edgepick.snapshot;
      window.samples.push([s.t_ms, s.nodes[1].alive]);
      if (s.t_ms < 7500) requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  });
  await page.click('#play');
  await page.waitForFunction(() => window.edgepick.snapshot.t_ms >= 7500, null, { timeout: 30000 });
  await page.click('#play');
  const s = await page.evaluate(() => window.samples);
  const wrong = s.filter(([tm, alive]) => alive !== (tm < 2000 || tm >= 6000));
  const seen = [s.some(([tm]) => tm < 2000), s.some(([tm]) => tm >= 2000 && tm < 6000), s.some(([tm]) => tm >= 6000)];
  const flips = s.filter((x, k) => k > 0 && x[1] !== s[k - 1][1]).map(([tm, a]) => `${a ? 'alive' : 'dead'} at ${(tm / 1000).toFixed(2)} s`);
  check('timeline: the live run kills ws2 at 2 s and revives it at 6 s (simulated)', wrong.length === 0 && seen.every(Boolean),
    `${s.length} frames; ${wrong.length} with the wrong state; flips: ${flips.join(', ')}`);
}

const compareRows = async (page, secs) => {
  await page.fill('#compare-secs', String(secs));
  await page.evaluate(() => { document.getElementById('status').textContent = ''; });
  await page.click('#compare-btn');
  await page.waitForFunction(() => /compared/.test(document.getElementById('status').textContent), null, { timeout: 60000 });
  return page.evaluate(() => ({
    rr: window.edgepick.compareRows.find(r => r.id === 'round_robin'), all: window.edgepick.compareRows,
    status: document.getElementById('status').textContent, said: document.getElementById('compare-faults').textContent,
  }));
};

/** (b) Compare replays the timeline: the killed node's share drops, errors appear (no retries), and the result names the faults. */
export async function compareTimeline(t) {
  const { page, check } = t;
  await page.selectOption('#pick', 'edge');
  await page.fill('#editor input[data-path="retries"]', '0'); // without retries, requests the dead node loses fail
  await page.keyboard.press('Tab');
  const withFaults = await compareRows(page, 8);
  for (let k = 0; k < 2; k++) { await page.click(`${row(0)} [data-f="remove"]`); await settle(page); }
  const bare = await compareRows(page, 8);
  const [f, p] = [withFaults.rr, bare.rr];
  check('Compare with the timeline: round robin sends ws2 less; every algorithm has more errors than without it (no retries)',
    f.share[1] < p.share[1] - 0.05 && withFaults.all.every((r, k) => r.errors > bare.all[k].errors),
    `ws2 share ${(f.share[1] * 100).toFixed(1)}% vs ${(p.share[1] * 100).toFixed(1)}% without faults; p99 ${f.p99_ms.toFixed(1)} vs ${p.p99_ms.toFixed(1)} ms; errors ${f.errors} vs ${p.errors}; errors with and without faults: ${withFaults.all.map((r, k) => `${r.id} ${r.errors}/${bare.all[k].errors}`).join(', ')}`);
  check('Compare says which faults it replayed',
    /faults replayed: 2/.test(withFaults.status) && withFaults.all.every(r => r.faults_replayed === 2) &&
      /Faults replayed: 2 .*kill ws2 at 2\.0 s; revive ws2 at 6\.0 s/.test(withFaults.said) &&
      /faults replayed: 0/.test(bare.status) && /empty/.test(bare.said),
    `"${withFaults.said}" | "${bare.said}"`);
}

/** (c) A kill done by hand while running becomes a timeline row at the simulated time of the click; Restart replays it. */
export async function handRecorded(t) {
  const { page, check } = t;
  await fresh(t, 'homogeneous');
  await page.click('#play');
  await t.runFor(1500);
  const before = await page.evaluate(() => window.edgepick.sim.now_ms());
  await page.getByRole('button', { name: 'kill ws3', exact: true }).click();
  const after = await page.evaluate(() => window.edgepick.sim.now_ms());
  await page.click('#play');
  const faults = await S(page);
  const shown = await page.evaluate(r => ['time', 'action', 'target'].map(f => document.querySelector(`${r} [data-f="${f}"]`)?.value), row(0));
  const status = await page.textContent('#status');
  const at = faults[0]?.at_ms;
  check('timeline: a kill by hand is recorded at the simulated time of the click',
    faults.length === 1 && faults[0].action === 'kill' && faults[0].target === 'ws3' && at >= Math.floor(before) && at <= after &&
      shown.join() === `${at / 1000},kill,ws3` && /recorded as fault 1/.test(status),
    `clicked between ${(before / 1000).toFixed(3)} and ${(after / 1000).toFixed(3)} s; row ${shown.join(' ')}; "${status}"`);
  await page.click('#reset');
  const atStart = await page.evaluate(() => window.edgepick.snapshot.nodes[2].alive);
  await page.click('#play');
  await page.waitForFunction(a => window.edgepick.snapshot.t_ms > a, at, { timeout: 30000 });
  await page.click('#play');
  const later = await page.evaluate(() => window.edgepick.snapshot.nodes[2].alive);
  check('timeline: Restart replays the kill done by hand at its time', atStart && !later, `ws3 at 0 s ${atStart ? 'up' : 'dead'}, after ${(at / 1000).toFixed(2)} s ${later ? 'up' : 'dead'}`);
}

/** (d) A bad row (unknown node, negative time, factor below 1) is reported in plain words and the last valid timeline kept. */
export async function badRows(t) {
  const { page, check } = t;
  await fresh(t, 'homogeneous');
  await buildKillRevive(page);
  await page.waitForTimeout(400);
  const good = await S(page);
  const tries = [];
  for (const [f, v, want] of [['target', 'nope', /Fault 1: no node named "nope" \(the nodes are ws1, ws2, ws3, ws4\)/],
    ['time', '-2', /Fault 1: the time must be 0 s or later \(not -2 s\)/]]) {
    await type(page, 0, f, v);
    tries.push([await page.textContent('#timeline-status'), want, await S(page),
      await page.evaluate(r => document.querySelector(`${r} [data-f="target"]`).value, row(0))]);
  }
  await choose(page, 1, 'overload');
  const withOverload = await S(page);
  await type(page, 1, 'factor', '0.5');
  tries.push([await page.textContent('#timeline-status'), /Fault 2: the factor must be 1 or more \(not 0\.5\)/, await S(page), 'ws2']);
  await page.waitForTimeout(400);
  const inUrl = urlFaults(page.url());
  const ok = tries.map(([said, want, kept, shown], k) => want.test(said) && /last valid timeline is kept/.test(said) &&
    same(kept, k < 2 ? good : withOverload) && shown === 'ws2');
  check('timeline: an unknown node, a negative time and a factor below 1 are reported and the last valid timeline kept',
    ok.every(Boolean) && same(withOverload[1], fault(6000, 'overload', 'ws2', 4)) && same(inUrl, withOverload),
    tries.map(([said], k) => `${ok[k] ? '' : 'WRONG '}"${said}"`).join(' | '));
}

/** (e) A shared link, and export then import, keep the timeline; an older link's faults in effect become rows at 0 s. */
export async function linkTimeline(t) {
  const { page, context, base, check } = t;
  await fresh(t, 'homogeneous', '16');
  await buildKillRevive(page);
  await choose(page, 1, 'degrade');
  await type(page, 1, 'factor', '3');
  await type(page, 1, 'time', '3.5');
  await page.waitForTimeout(400);
  const mine = await S(page);
  const other = await context.newPage();
  await other.goto(page.url());
  await other.waitForSelector('body[data-ready="1"]');
  const got = await other.evaluate(() => JSON.stringify(window.edgepick.topo.faults));
  const shown = await other.evaluate(() => [...document.querySelectorAll('#timeline tbody tr')]
    .map(tr => [...tr.querySelectorAll('input, select')].map(e => e.value).join(' ')).join(' | '));
  await other.close();
  const old = await context.newPage();
  await old.goto(base + '#t=' + b64({ ...(await page.evaluate(() => window.edgepick.topo)), faults: [] }) +
    '&faults=' + encodeURIComponent('[["kill","ws2",1],["kill","gone",1]]'));
  await old.waitForSelector('body[data-ready="1"]');
  const legacy = await old.evaluate(() => [JSON.stringify(window.edgepick.topo.faults), window.edgepick.snapshot.nodes[1].alive,
    document.getElementById('status').textContent]);
  await old.close();
  check('timeline: a shared link round-trips it (rows shown in the new page)',
    same(mine, [fault(2000, 'kill', 'ws2'), fault(3500, 'degrade', 'ws2', 3)]) && got === JSON.stringify(mine) &&
      shown === '2 kill ws2 | 3.5 degrade ws2 3', `${got}; rows ${shown}`);
  check('timeline: an older link\'s faults in effect load as rows at 0 s, in effect at once',
    legacy[0] === JSON.stringify([fault(0, 'kill', 'ws2')]) && legacy[1] === false && /1 fault\(s\) in effect at 0 s; no node named gone/.test(legacy[2]),
    `${legacy[0]}; "${legacy[2]}"`);
  await page.click('#export-btn');
  await page.click('#import-btn');
  check('timeline: export then import of the configuration keeps it', /^valid/.test(await page.textContent('#config-status')) && same(await S(page), mine));
}
