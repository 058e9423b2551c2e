// Browser checks for issue #13 ("the simulator tells the truth"): live views
// that equal the core's series, controls that keep input, every page size,
// bad links and invalid edits.
// Each export takes the harness `t` from browser.mjs:
// { page, context, base, check, step, runFor, artifacts }.
import path from 'node:path';

// Load `preset` afresh (its empty fault timeline, even when it is the one shown), restart it with
// `algorithm`, `method` and `speed`, and run it for `ms` simulated.
export async function runScenario(t, { preset, algorithm, method, speed, ms }) {
  const { page } = t;
  if (await page.evaluate(() => window.edgepick.running)) await page.click('#play');
  await page.evaluate(p => { const e = document.getElementById('preset'); e.value = p; e.dispatchEvent(new Event('change')); }, preset);
  await page.selectOption('#algorithm', algorithm);
  await page.selectOption('#method', method);
  await page.selectOption('#speed', speed);
  await page.click('#reset');
  await page.click('#play');
  await t.runFor(ms);
}

// Compare, inside the page, what the charts and the share cells show with the
// core's own series (`sim.series(0)`), bucket by bucket.
function compareWithCore() {
  const S = window.edgepick, core = S.sim.series(0), now = S.sim.now_ms(), w = S.sim.bucket_ms();
  const p = S.plotted.throughput, lat = S.plotted.latency;
  let differ = 0;
  p.t_ms.forEach((tm, k) => {
    const b = core[tm / w];
    if (!b || b.throughput !== p.values.throughput[k] || b.p99 !== lat.values.p99[k]) differ++;
  });
  const open = Math.floor(now / w);
  const sent = S.topo.servers.map((_, i) => core.slice(open - 4, open).reduce((a, b) => a + b.sent[i], 0));
  const total = sent.reduce((a, b) => a + b, 0);
  const want = sent.map(v => `${(total ? v / total * 100 : 0).toFixed(1)}%`);
  const shown = S.topo.servers.map(s => document.querySelector(`[data-testid="share-${s.name}"]`)?.textContent);
  return {
    buckets: p.t_ms.length, differ, now, t1: p.t1, ahead: core.length - (open + 1),
    seriesLen: S.series.length, open, want, shown,
  };
}

/** Charts and shares equal the core's series under every method at 16×. */
export async function liveViews(t) {
  const { page, check } = t;
  for (const method of ['dns', 'proxy', 'redirect', 'nat', 'dr']) {
    await runScenario(t, { preset: 'figure2', algorithm: 'round_robin', method, speed: '16', ms: method === 'dns' ? 30000 : 10000 });
    await page.click('#play'); // pause: the table refreshes every 250 ms
    await page.waitForTimeout(400);
    const r = await page.evaluate(compareWithCore);
    const name = `${method} at 16×`;
    check(`${name}: throughput and p99 charts equal the core's series bucket for bucket`,
      r.buckets >= 18 && r.differ === 0, `${r.buckets} buckets drawn, ${r.differ} differ; core has ${r.ahead} bucket(s) ahead of the clock`);
    check(`${name}: the chart's x-axis ends at or before the simulated time`, r.t1 !== null && r.t1 <= r.now && r.seriesLen === r.open + 1,
      `axis ends at ${(r.t1 / 1000).toFixed(1)} s, t = ${(r.now / 1000).toFixed(1)} s`);
    check(`${name}: "share (last 2 s)" equals the core's last four closed buckets`,
      r.shown.join() === r.want.join() && r.shown.some(s => s !== '0.0%'), `shown ${r.shown.join(' ')}, core ${r.want.join(' ')}`);
  }
}

const nodeAlive = (page, i) => page.evaluate(i => window.edgepick.snapshot.nodes[i].alive, i);
const waitAlive = (page, i, alive) =>
  page.waitForFunction(([i, a]) => window.edgepick.snapshot.nodes[i].alive === a, [i, alive], { timeout: 3000 }).then(() => true, () => false);

/** Kill and revive by click (short and long presses) and by keyboard while running; focus stays put. */
export async function controls(t) {
  const { page, check } = t;
  await runScenario(t, { preset: 'figure2', algorithm: 'round_robin', method: 'proxy', speed: '4', ms: 2000 });
  let registered = 0;
  for (let k = 0; k < 10; k++) {
    const alive = await nodeAlive(page, 1);
    const name = `${alive ? 'kill' : 'revive'} WS2`;
    await page.getByRole('button', { name, exact: true }).click({ delay: k % 2 ? 150 : 60 });
    if (await waitAlive(page, 1, !alive)) registered++;
    await page.waitForTimeout(300);
  }
  check('kill/revive by click while running: every press registers', registered === 10, `${registered} of 10 (60 ms and 150 ms presses)`);
  const kill = page.getByRole('button', { name: 'kill WS3', exact: true });
  await kill.focus();
  await page.keyboard.press('Enter');
  const died = await waitAlive(page, 2, false);
  await page.waitForTimeout(1000);
  const focus = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') || document.activeElement?.tagName);
  check('kill by keyboard (focus, Enter) while running', died, `WS3 ${died ? 'killed' : 'still alive'}`);
  check('focus stays on the button after 1 s', focus === 'revive WS3', `focus on ${focus}`);
  await page.keyboard.press('Enter');
  check('the same focused button revives it', await waitAlive(page, 2, true));

  await page.getByRole('button', { name: 'edit WS2', exact: true }).focus();
  await page.keyboard.press('Enter');
  const editing = await page.evaluate(() => [document.activeElement?.dataset?.path, document.activeElement?.value]);
  check('a node is selected for editing from the keyboard', editing.join() === 'name,WS2', `focus on ${editing.join(' = ')}`);
  await page.getByRole('button', { name: 'Overload ×4' }).click();
  await page.waitForTimeout(400);
  const state = (await page.locator('[data-testid="node-WS2"] td').nth(1).innerText()).trim();
  check('an overloaded node says so in the table', /^up · (marked faulty · )?overloaded ×4$/.test(state), state);
  await page.getByRole('button', { name: 'End overload' }).click();
  await page.getByRole('button', { name: 'Kill node' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForTimeout(1000);
  const editorFocus = await page.evaluate(() => document.activeElement?.textContent);
  check('the editor\'s Kill button keeps focus (now Revive) after Enter', editorFocus === 'Revive node', `focus on ${editorFocus}`);
  await page.keyboard.press('Enter');

  // The keyboard alone: choose "PC group 2" in the node list (arrow keys), Tab into its form, change its rate.
  await page.focus('#pick');
  await page.keyboard.press('Home');
  for (let k = 0; k < 3; k++) await page.keyboard.press('ArrowDown'); // —, edge, PC group 1, PC group 2
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => [document.activeElement?.dataset?.path, document.activeElement?.value]);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+a');
  await page.keyboard.type('123');
  await page.keyboard.press('Tab');
  const rate = await page.evaluate(() => window.edgepick.topo.clients[1].rate);
  check('a client group is chosen and edited with the keyboard alone', first.join() === 'name,PC group 2' && rate === 123,
    `first field ${first.join(' = ')}; PC group 2 rate now ${rate}`);
  await page.click('#play'); // pause
}

// Touch WS1 on the phone's canvas (real touch input through the DevTools
// protocol), then drag it 60 canvas px down: selected, editor right under the
// canvas, node moved.
async function touchOnPhone(t, phone) {
  const cdp = await t.context.newCDPSession(phone);
  await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 1 });
  const box = await phone.locator('#topology').boundingBox();
  const ws1 = await phone.evaluate(() => ({ ...window.edgepick.topo.servers[0] }));
  const at = (x, y) => [{ x: box.x + x * box.width / 900, y: box.y + y * box.height / 470 }];
  const touch = (type, points) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points });
  await touch('touchStart', at(ws1.x, ws1.y));
  await touch('touchEnd', []);
  await phone.waitForTimeout(200);
  const selected = await phone.evaluate(() => JSON.stringify(window.edgepick.selected));
  const gap = await phone.evaluate(() => Math.round(document.getElementById('editor').getBoundingClientRect().top
    - document.getElementById('topology').getBoundingClientRect().bottom));
  await touch('touchStart', at(ws1.x, ws1.y));
  for (let k = 1; k <= 6; k++) await touch('touchMove', at(ws1.x, ws1.y + 10 * k));
  await touch('touchEnd', []);
  await phone.waitForTimeout(200);
  const moved = await phone.evaluate(y => Math.round(window.edgepick.topo.servers[0].y - y), ws1.y);
  return { selected, gap, moved };
}

/** No sideways scroll at 360 px; main controls above the fold at 1280×800; screenshots of both. */
export async function layouts(t) {
  const { context, base, check, artifacts } = t;
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 360, height: 740 });
  await phone.goto(base);
  await phone.waitForSelector('body[data-ready="1"]');
  const narrow = await phone.evaluate(() => {
    const right = id => Math.round(document.getElementById(id).getBoundingClientRect().right);
    const kill = Math.round(document.querySelector('[data-testid="kill-WS4"]').getBoundingClientRect().right);
    return { page: document.documentElement.scrollWidth, restart: right('reset'), addServer: right('add-server'), kill };
  });
  const text360 = await phone.evaluate(() => window.edgepick.topologyText);
  const touch = await touchOnPhone(t, phone);
  const shot360 = path.join(artifacts, 'web-demo-360.png');
  await phone.screenshot({ path: shot360, fullPage: true });
  await phone.close();
  check('360 px: canvas text is readable (at least 9.5 CSS px)', text360.minTextPx >= 9.5,
    `smallest canvas text ${text360.minTextPx.toFixed(1)} px (text zoomed ×${text360.zoom.toFixed(2)}, secondary labels left out)`);
  check('360 px: a tap selects a node and its editor sits right under the canvas',
    touch.selected === '{"kind":"server","i":0}' && touch.gap >= 0 && touch.gap < 120, `selected ${touch.selected}; editor ${touch.gap} px below the canvas`);
  check('360 px: a node can be dragged by touch', Math.abs(touch.moved - 60) <= 2, `moved ${touch.moved} canvas px (want 60)`);
  check('360 px wide: no horizontal scroll, toolbar and kill buttons fit',
    [narrow.page, narrow.restart, narrow.addServer, narrow.kill].every(x => x <= 360),
    `page ${narrow.page} px wide, Restart ends at ${narrow.restart}, + server at ${narrow.addServer}, kill WS4 at ${narrow.kill}; ${shot360}`);

  const laptop = await context.newPage();
  await laptop.setViewportSize({ width: 1280, height: 800 });
  await laptop.goto(base);
  await laptop.waitForSelector('body[data-ready="1"]');
  const bottoms = await laptop.evaluate(() => ['algorithm', 'method', 'play'].map(id => {
    const r = document.getElementById(id).getBoundingClientRect();
    return [id, Math.round(r.bottom), r.width > 0];
  }));
  const shot1280 = path.join(artifacts, 'web-demo-1280x800.png');
  await laptop.screenshot({ path: shot1280 });
  const wide = await laptop.evaluate(() => document.documentElement.scrollWidth);
  const text1280 = await laptop.evaluate(() => window.edgepick.topologyText);
  check('1280×800: canvas text at its designed size with every label', text1280.zoom === 1 && text1280.minTextPx >= 9,
    `smallest canvas text ${text1280.minTextPx.toFixed(1)} px`);
  const cite = await laptop.locator('header cite').innerText();
  check('the page names the paper with its title', cite === 'E-Commerce System Based on Distributed Load Balancing', cite);
  await laptop.close();
  check('1280×800: algorithm, method and run are above the fold', bottoms.every(([, b, v]) => v && b <= 800) && wide <= 1280,
    `${bottoms.map(([id, b]) => `${id} ends at y=${b}`).join(', ')}; ${shot1280}`);
}

// The scenario in a page's URL (`#t=` base64url JSON), or null.
const urlTopo = url => {
  const t = new URLSearchParams(url.split('#')[1] || '').get('t');
  try { return t ? JSON.parse(Buffer.from(t, 'base64url').toString('utf8')) : null; } catch { return null; }
};
const b64 = v => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A bad link is reported and the last valid scenario kept; an invalid edit never reaches the URL; plain-language errors. */
export async function links(t) {
  const { page, context, base, check } = t;
  const fresh = await context.newPage();
  await fresh.goto(base + '#t=%%not-a-scenario');
  await fresh.waitForSelector('body[data-ready="1"]');
  const opened = await fresh.evaluate(() => [document.getElementById('status').textContent, !!window.edgepick.sim,
    window.edgepick.topo.servers.map(s => s.name).join()]);
  await fresh.close();
  check('a garbage link is reported and the page still runs a scenario',
    /link was not loaded/.test(opened[0]) && opened[1] && opened[2] === 'WS1,WS2,WS3,WS4', `status "${opened[0]}"; servers ${opened[2]}`);

  await page.selectOption('#preset', 'homogeneous');
  await page.waitForTimeout(500);
  const kept = await page.evaluate(() => window.edgepick.good);
  for (const [what, hash] of [['garbage', 'bm90IGpzb24'], ['no servers', b64({ ...JSON.parse(kept), servers: [] })]]) {
    await page.evaluate(h => { location.hash = '#t=' + h; }, hash);
    await page.waitForFunction(() => /link was not loaded/.test(document.getElementById('status').textContent), null, { timeout: 3000 });
    await page.waitForTimeout(500);
    const r = await page.evaluate(() => [document.getElementById('status').textContent, JSON.stringify(window.edgepick.topo), !!window.edgepick.sim]);
    check(`a link with ${what} pasted into a running page is reported, the scenario kept`,
      r[1] === kept && r[2] && JSON.stringify(urlTopo(page.url())) === kept, r[0]);
  }

  // Select ws1 on the canvas and give its link 1.5 hops.
  const box = await page.locator('#topology').boundingBox();
  const ws1 = await page.evaluate(() => window.edgepick.topo.servers[0]);
  await page.mouse.click(box.x + ws1.x * box.width / 900, box.y + ws1.y * box.height / 470);
  await page.fill('#editor input[data-path="link.hops"]', '1.5');
  await page.keyboard.press('Tab'); // leaving the field commits it (change event)
  await page.waitForTimeout(600);
  const edit = await page.evaluate(() => [document.getElementById('status').textContent, window.edgepick.topo.servers[0].link.hops, !!window.edgepick.sim]);
  const inUrl = urlTopo(page.url())?.servers?.[0]?.link?.hops;
  check('an invalid edit is reported in plain language and not written into the URL',
    /servers\[0\]\.link\.hops: must be a whole number, 0 or more \(not 1\.5\)/.test(edit[0]) && !/expected u32|line \d+ column/.test(edit[0])
      && edit[1] === 1 && inUrl === 1 && edit[2], `status "${edit[0]}"; hops in the page ${edit[1]}, in the URL ${inUrl}`);

  // While running, rename ws1 to ws2's name: reported, the run goes on.
  if (!(await page.evaluate(() => window.edgepick.running))) await page.click('#play');
  await t.runFor(500);
  await page.fill('#editor input[data-path="name"]', 'ws2');
  await page.keyboard.press('Tab');
  const t0 = await page.evaluate(() => window.edgepick.sim.now_ms());
  await t.runFor(1000);
  const dup = await page.evaluate(() => [document.getElementById('status').textContent, window.edgepick.sim.now_ms(),
    window.edgepick.topo.servers.map(s => s.name).join(), document.getElementById('play').textContent]);
  check('a duplicate server name is reported and the run goes on', /Not applied: \w+\[1\]\.name: duplicate name "ws2"/.test(dup[0]) && dup[1] > t0 && dup[2] === 'ws1,ws2,ws3,ws4' && /Pause/.test(dup[3]),
    `status "${dup[0]}"; t ${(t0 / 1000).toFixed(1)} → ${(dup[1] / 1000).toFixed(1)} s; servers ${dup[2]}; button ${dup[3]}`);
  await page.click('#play');
}

// Every visible text element's contrast with its background (WCAG 2 ratio), lowest first.
function textContrasts() {
  const rgb = c => (c.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => v / 255).map(v => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
    .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = e => {
    for (; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const r = e.getBoundingClientRect();
    if (!own || r.width === 0 || getComputedStyle(e).visibility === 'hidden') continue;
    const [a, b] = [lum(rgb(getComputedStyle(e).color)), lum(background(e))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(getComputedStyle(e).fontSize), bold = Number(getComputedStyle(e).fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    out.push({ text: e.textContent.trim().slice(0, 30), ratio: Math.round(ratio * 100) / 100, need });
  }
  return out.sort((x, y) => x.ratio / x.need - y.ratio / y.need);
}

/** Text on the page meets WCAG AA contrast, with a dead, a faulty and an overloaded node and an error showing. */
export async function contrast(t) {
  const { page, check } = t;
  await runScenario(t, { preset: 'figure2', algorithm: 'round_robin', method: 'proxy', speed: '4', ms: 1000 });
  await page.getByRole('button', { name: 'kill WS1', exact: true }).click();
  await t.runFor(2000);
  await page.click('#play');
  await page.fill('#hb-interval', '-5');
  await page.keyboard.press('Tab');
  await page.waitForTimeout(400);
  const shown = await page.textContent('#status');
  const low = (await page.evaluate(textContrasts)).filter(x => x.ratio < x.need);
  check('text contrast meets WCAG AA (4.5:1, 3:1 for large text)', low.length === 0,
    (low.length ? low.slice(0, 4).map(x => `"${x.text}" ${x.ratio}:1`).join(', ') : 'every visible text element') + `; status "${shown}"`);
}

/** The download link serves the current scenario's configuration, before any export and after a change. */
export async function download(t) {
  const { context, base, check } = t;
  const p = await context.newPage();
  await p.goto(base);
  await p.waitForSelector('body[data-ready="1"]');
  const fetchDownload = async () => {
    const [d] = await Promise.all([p.waitForEvent('download', { timeout: 10000 }), p.click('#download')]);
    const file = await d.path();
    return JSON.parse((await import('node:fs')).readFileSync(file, 'utf8'));
  };
  const first = await fetchDownload();
  await p.selectOption('#algorithm', 'least_connections');
  const second = await fetchDownload();
  await p.close();
  check('the download link serves the current configuration (before any export, and after a change)',
    first.backends?.length === 4 && first.algorithm?.name === 'rfws' && second.algorithm?.name === 'least_connections',
    `first: ${first.algorithm?.name}, ${first.backends?.length} backends; after choosing least connections: ${second.algorithm?.name}`);
}

const nodeStates = page => page.evaluate(() => window.edgepick.snapshot.nodes
  .map(n => `${n.name}${n.alive ? '' : ' dead'}${n.overload > 1 ? ' ×' + n.overload : ''}`).join());
const runPast = (page, ms) => page.waitForFunction(t => window.edgepick.snapshot.t_ms > t, ms, { timeout: 30000 });

/** Adding or removing a server restarts the run from 0 s and replays the fault timeline, a kill done by hand included. */
export async function restart(t) {
  const { page, check } = t;
  await runScenario(t, { preset: 'figure2', algorithm: 'round_robin', method: 'proxy', speed: '4', ms: 1000 });
  await page.click('#play'); // pause
  await page.getByRole('button', { name: 'kill WS2', exact: true }).click();
  const killAt = await page.evaluate(() => window.edgepick.topo.faults.find(f => f.action === 'kill' && f.target === 'WS2')?.at_ms);
  await page.click('#add-server');
  const added = [await page.textContent('#status'), await nodeStates(page)];
  await page.click('#play');
  await runPast(page, killAt);
  const later = await nodeStates(page);
  await page.click('#play');
  await page.click('#remove'); // the new server is selected
  const removed = [await page.textContent('#status'), await nodeStates(page)];
  await page.click('#play');
  await runPast(page, killAt);
  const removedLater = await nodeStates(page);
  await page.click('#play'); // pause
  check('adding a server restarts from 0 s and the timeline replays the kill done by hand at its time',
    killAt >= 1000 && /restarted from 0 s because the nodes changed.*timeline replays 1 fault/.test(added[0]) &&
      added[1] === 'WS1,WS2,WS3,WS4,ws5' && later === 'WS1,WS2 dead,WS3,WS4,ws5',
    `"${added[0]}"; at 0 s ${added[1]}; after ${(killAt / 1000).toFixed(2)} s ${later}`);
  check('removing it again does the same', /restarted.*replays 1 fault/.test(removed[0]) && removed[1] === 'WS1,WS2,WS3,WS4' &&
    removedLater === 'WS1,WS2 dead,WS3,WS4', `at 0 s ${removed[1]}; later ${removedLater}`);
}

/** A shared link restores the preset, the speed and the fault timeline (faults done by hand included), replayed from 0 s. */
export async function shared(t) {
  const { page, context, check } = t;
  await runScenario(t, { preset: 'homogeneous', algorithm: 'least_connections', method: 'nat', speed: '16', ms: 1000 });
  await page.click('#play');
  await page.getByRole('button', { name: 'kill ws2', exact: true }).click();
  await page.getByRole('button', { name: 'edit ws3', exact: true }).click();
  await page.getByRole('button', { name: 'Overload ×4' }).click();
  await page.waitForTimeout(500);
  const mine = await page.evaluate(() => JSON.stringify(window.edgepick.topo.faults));
  const other = await context.newPage();
  await other.goto(page.url());
  await other.waitForSelector('body[data-ready="1"]');
  const got = await other.evaluate(() => [document.getElementById('preset').value, document.getElementById('speed').value,
    window.edgepick.topo.method, window.edgepick.topo.algorithm.name]);
  const [faults, atStart] = [await other.evaluate(() => JSON.stringify(window.edgepick.topo.faults)), await nodeStates(other)];
  await other.click('#play');
  await runPast(other, Math.max(...JSON.parse(mine).map(f => f.at_ms)));
  const after = await nodeStates(other);
  await other.close();
  check('a shared link restores preset, speed, method and algorithm', got.join('|') === 'homogeneous|16|nat|least_connections', got.join(' | '));
  check('a shared link carries the faults done by hand as the timeline, replayed at their times',
    faults === mine && JSON.parse(mine).length === 2 && atStart === 'ws1,ws2,ws3,ws4' && after === 'ws1,ws2 dead,ws3 ×4,ws4',
    `timeline ${faults}; at 0 s ${atStart}; later ${after}`);
}

/** Compare draws latency on a log axis and offers its results as CSV and JSON. */
export async function compareResults(t) {
  const { page, check } = t;
  await runScenario(t, { preset: 'figure2', algorithm: 'rfws', method: 'proxy', speed: '1', ms: 10 });
  await page.click('#play');
  await page.fill('#compare-secs', '5');
  await page.click('#compare-btn');
  await page.waitForFunction(() => /compared/.test(document.getElementById('status').textContent), null, { timeout: 60000 });
  const plot = await page.evaluate(() => {
    const { lo, hi, bars } = window.edgepick.comparePlot, rows = window.edgepick.compareRows;
    const want = v => Math.log10(v / lo) / Math.log10(hi / lo);
    const off = bars.filter((b, k) => Math.abs(b.p99 - want(rows[k].p99_ms)) > 1e-9 || Math.abs(b.mean - want(rows[k].mean_ms)) > 1e-9);
    return { lo, hi, off: off.length, rows: rows.length, p99: rows.map(r => r.p99_ms) };
  });
  check('Compare draws mean and p99 on a log axis spanning every value', plot.off === 0 && plot.rows >= 8 && plot.hi / plot.lo >= 10,
    `axis ${plot.lo}–${plot.hi} ms, ${plot.off} bars off the log scale`);
  const fs = await import('node:fs');
  const grab = async sel => {
    const [d] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), page.click(sel)]);
    return fs.readFileSync(await d.path(), 'utf8');
  };
  // RFC 4180 fields: quoted when they hold a comma or a quote.
  const fields = line => [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)].slice(0, -1).map(m => m[1].replace(/^"|"$/g, '').replace(/""/g, '"'));
  const csv = (await grab('#compare-csv')).trim().split('\n').map(fields);
  const json = JSON.parse(await grab('#compare-json'));
  const p99col = csv[0].indexOf('p99_ms');
  check('Compare results download as CSV and JSON with the table\'s figures',
    csv.length === plot.rows + 1 && csv.slice(1).every((r, k) => Number(r[p99col]) === plot.p99[k]) && csv[0].includes('share_WS1')
      && json.rows.length === plot.rows && json.nodes.join() === 'WS1,WS2,WS3,WS4',
    `${csv.length - 1} CSV rows, ${json.rows.length} JSON rows; columns ${csv[0].slice(0, 4).join(',')},…`);
}
