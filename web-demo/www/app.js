// edgepick web demo: topology editor, live simulation, charts, comparison,
// configuration export/import. No bundler, no CDN: the core comes from ./pkg.
import init, * as wasm from './pkg/edgepick_web.js';
import { PRESETS, ALGO_HELP, METHOD_HELP } from './presets.js';
import { drawTopology, hitTest, drawLines, COLORS } from './draw.js';
import { $, status } from './ui.js';
import { runCompare, runGolden, runBench } from './panels.js';
import { updateNodeTable, recentShare } from './nodes.js';
import { editorHtml, set, pickOptions, pickValue, pickSelection } from './editor.js';
import { linkHash, readLink, scenarioPart } from './link.js';
import { renderWhy } from './why.js';
import { renderTimeline, wireTimeline, recordFault, defaultFactor, describe } from './timeline.js';
import { advance, behind } from './loop.js';
import { exportConfig, downloadConfig, importConfig } from './config.js';

const S = {
  topo: null, sim: null, running: false, simT: 0, lastFrame: 0, series: [], seriesFinal: 0, selected: null, drag: null,
  algorithms: [], frames: [], lastDraw: 0, fps: 0, simRate: 0, rateWindow: [], snapshot: null,
};
window.edgepick = S; // for the browser test and the curious

// ---------- scenario <-> URL ----------
let hashTimer = 0;
function saveHash() {
  clearTimeout(hashTimer);
  hashTimer = setTimeout(() => history.replaceState(null, '', '#' + currentLink()), 300);
}
const currentLink = () => linkHash(S.topo, $('preset').value, $('speed').value);

// S.good is the last scenario the core accepted (JSON text). Only it reaches
// the URL; an edit or a link the core rejects is reported and S.good kept.
function accept() { S.good = JSON.stringify(S.topo); saveHash(); }
function reject(what, e) {
  if (S.good) { S.topo = JSON.parse(S.good); saveHash(); }
  if (!target(S.selected)) S.selected = null;
  status($('status'), `${what}: ${e.message}. The last valid scenario is kept.`, false);
}

// A shared link: load its scenario (with its fault timeline), preset and speed, or say why not and keep the
// current one. An older link's faults in effect (`faults=`) become timeline rows at 0 s.
function loadLink(hash) {
  let link;
  try { link = readLink(hash); } catch (e) { return reject('This link was not loaded', e); }
  const names = Array.isArray(link.topo.servers) ? link.topo.servers.map(s => s?.name) : [], bad = [];
  const old = link.faults.filter(([, name]) => names.includes(name) || !bad.push(name));
  const rows = Array.isArray(link.topo.faults) ? link.topo.faults : [];
  if (old.length) link.topo.faults = [...old.map(([action, target, factor]) => ({ at_ms: 0, action, target, factor })), ...rows];
  S.topo = link.topo; S.selected = null;
  const before = S.sim;
  rebuild('This link was not loaded');
  if (S.sim === before) return;
  if (link.preset in PRESETS) $('preset').value = link.preset;
  if ([...$('speed').options].some(o => o.value === link.speed)) $('speed').value = link.speed;
  if (link.faults.length) {
    status($('status'), `loaded the link: ${old.length} fault(s) in effect at 0 s` + (bad.length ? `; no node named ${bad.join(', ')}` : ''), !bad.length);
  }
}

// ---------- simulation lifecycle ----------
function algoId(alg) {
  const hit = S.algorithms.find(a => JSON.stringify(a.config) === JSON.stringify(alg));
  if (hit) return hit.id;
  if (alg.name === 'consistent_hash') return alg.flavour === 'maglev' ? 'maglev' : 'ketama';
  if (alg.name === 'least_connections' && alg.choices) return 'least_connections_p2c';
  return alg.name;
}

// A new simulation of S.topo from time 0, its fault timeline replayed (faults
// at 0 s are in effect at once); if the core rejects S.topo, the current
// simulation and the last valid scenario stay. With `restarted` (the set of
// servers or clients changed), the status says the run restarted.
function rebuild(what = 'Not applied', restarted = false) {
  S.topo.faults ??= [];
  let sim;
  try { sim = new wasm.Sim(JSON.stringify(S.topo)); } catch (e) { reject(what, e); }
  if (sim) {
    S.sim?.free();
    S.sim = sim;
    S.sim.run_until(0);
    S.simT = 0; S.series = []; S.seriesFinal = 0; S.snapshot = S.sim.snapshot();
    accept();
    const shape = `${S.topo.servers.length} servers, ${S.topo.clients.length} client groups`;
    const n = S.topo.faults?.length || 0, replay = n ? `; the fault timeline replays ${n} fault(s)` : '';
    status($('status'), (restarted ? `restarted from 0 s because the nodes changed (${shape})` : `ready: ${shape}`) + replay, true);
  }
  syncControls(); renderEditor(); renderTimeline(S); render();
}

// Give the scenario and the run the timeline `faults`: null, or the core's reason for refusing it.
function commitTimeline(faults) {
  const before = S.topo.faults;
  S.topo.faults = faults;
  try { S.sim?.set_timeline(JSON.stringify(S.topo)); } catch (e) { S.topo.faults = before; return e.message; }
  accept();
  return null;
}

// Parameters changed: keep the run going when the shape is the same.
function live() {
  if (!S.sim) return rebuild();
  try {
    S.sim.reconfigure(JSON.stringify(S.topo));
    accept();
    status($('status'), 'updated live', true);
  } catch (e) {
    if (/servers or client groups changed/.test(e.message)) return rebuild('Not applied', true);
    reject('Not applied', e);
    renderEditor();
  }
  syncControls();
}

function loadPreset(name) {
  S.topo = PRESETS[name]();
  S.topo.seed = Number($('seed').value) || S.topo.seed;
  S.selected = null;
  rebuild();
}

// ---------- controls ----------
function syncControls() {
  const t = S.topo;
  $('algorithm').value = algoId(t.algorithm);
  $('algo-help').textContent = ALGO_HELP[$('algorithm').value] || '';
  $('method').value = t.method;
  $('method-help').textContent = METHOD_HELP[t.method];
  $('ttl-row').hidden = t.method !== 'dns';
  $('dns-ttl').value = t.dns_ttl_ms;
  $('sticky').checked = t.sticky;
  $('hb-interval').value = t.health.interval_ms;
  $('hb-window').value = t.health.window_ms;
  $('hb-threshold').value = t.health.threshold;
  $('seed').value = t.seed;
}

function wireControls() {
  $('algorithm').innerHTML = S.algorithms.map(a => `<option value="${a.id}">${a.label}</option>`).join('');
  $('algorithm').onchange = e => {
    S.topo.algorithm = S.algorithms.find(a => a.id === e.target.value).config; live();
  };
  $('method').onchange = e => { S.topo.method = e.target.value; live(); };
  $('dns-ttl').onchange = e => { S.topo.dns_ttl_ms = Math.max(0, Number(e.target.value)); live(); };
  $('sticky').onchange = e => { S.topo.sticky = e.target.checked; live(); };
  for (const [id, key] of [['hb-interval', 'interval_ms'], ['hb-window', 'window_ms'], ['hb-threshold', 'threshold']]) {
    $(id).onchange = e => { S.topo.health[key] = Number(e.target.value); live(); };
  }
  $('seed').onchange = e => { S.topo.seed = Math.max(0, Math.floor(Number(e.target.value))); rebuild(); };
  $('preset').onchange = e => loadPreset(e.target.value);
  $('pick').onchange = e => { S.selected = pickSelection(e.target.value); renderEditor(); render(); };
  $('speed').onchange = saveHash;
  $('play').onclick = () => setRunning(!S.running);
  $('reset').onclick = () => rebuild();
  $('add-client').onclick = () => {
    const n = S.topo.clients.length + 1;
    S.topo.clients.push({ name: `clients ${n}`, x: 90, y: 40 + (n * 70) % 400, rate: 200, clients: 500, session_share: 0.5,
      request_kb: 1, response_kb: 20, link: { bandwidth_mbps: 50, delay_ms: 10, hops: 1 } });
    S.selected = { kind: 'client', i: S.topo.clients.length - 1 }; rebuild('Not applied', true);
  };
  $('add-server').onclick = () => {
    let n = S.topo.servers.length + 1;
    while (S.topo.servers.some(s => s.name === `ws${n}`)) n++;
    S.topo.servers.push({ name: `ws${n}`, x: 760, y: 40 + (n * 60) % 420, rate: 400, workers: 8, queue: 64, weight: 1,
      link: { bandwidth_mbps: 1000, delay_ms: 2, hops: 1 } });
    S.selected = { kind: 'server', i: S.topo.servers.length - 1 }; rebuild('Not applied', true);
  };
  $('remove').onclick = removeSelected;
  $('compare-btn').onclick = () => runCompare(S);
  $('export-btn').onclick = () => exportConfig(S, wasm);
  $('import-btn').onclick = () => importConfig(S, wasm, () => { live(); renderEditor(); renderTimeline(S); });
  $('download').onclick = ev => downloadConfig(S, wasm, ev);
  $('share-btn').onclick = () => {
    const url = location.href.split('#')[0] + '#' + currentLink();
    history.replaceState(null, '', url);
    navigator.clipboard?.writeText(url).catch(() => {});
    status($('status'), 'link to this scenario is in the address bar' + (navigator.clipboard ? ' and the clipboard' : ''), true);
  };
  $('golden-btn').onclick = runGolden;
  $('bench-btn').onclick = () => runBench(S);
  // One listener for the node table: its rows are updated in place, never rebuilt while a set of nodes stays.
  $('nodes').tBodies[0].onclick = ev => {
    const b = ev.target.closest('button[data-node]');
    if (b) fault(b.dataset.act, b.dataset.node);
    const e = ev.target.closest('button[data-edit]');
    if (e) { S.selected = { kind: 'server', i: Number(e.dataset.edit) }; renderEditor(); render(); $('editor').querySelector('input')?.focus(); }
  };
}

function removeSelected() {
  const sel = S.selected;
  if (!sel) return;
  if (sel.kind === 'server' || sel.kind === 'link') {
    if (S.topo.servers.length <= 1) return status($('status'), 'keep at least one server', false);
    const name = S.topo.servers[sel.i].name;
    S.topo.servers.splice(sel.i, 1);
    S.topo.faults = S.topo.faults.filter(f => f.target !== name);
  } else if (sel.kind === 'client') S.topo.clients.splice(sel.i, 1);
  S.selected = null; rebuild('Not applied', true);
}

function setRunning(on) {
  S.running = on && !!S.sim;
  $('play').textContent = S.running ? '❚❚ Pause' : '▶ Run';
  S.lastFrame = performance.now();
}

// ---------- side-panel editor ----------
function target(sel) {
  if (!sel) return null;
  if (sel.kind === 'edge') return S.topo.edge;
  if (sel.kind === 'client') return S.topo.clients[sel.i];
  return S.topo.servers[sel.i];
}

function renderEditor() {
  const el = $('editor');
  const sel = S.selected, obj = target(sel);
  $('pick').innerHTML = pickOptions(S.topo); $('pick').value = sel && obj ? pickValue(sel) : '';
  if (!obj) { el.innerHTML = '<p class="help">Choose a node above, click or tap one on the canvas, or a name in the table.</p>'; return; }
  el.innerHTML = editorHtml(sel, obj, sel.kind === 'client' || sel.kind === 'edge' ? null : S.snapshot?.nodes?.[sel.i]);
  for (const input of el.querySelectorAll('input')) {
    input.onchange = () => {
      const path = input.dataset.path;
      const empty = input.dataset.optional && input.value.trim() === ''; // an optional field left empty: not set
      const v = empty ? undefined : input.type === 'text' ? input.value.trim() : Number(input.value);
      const was = obj[path];
      set(obj, path, v);
      if (path !== 'name') return live();
      // A renamed server keeps its faults in the timeline.
      if (sel.kind !== 'client' && sel.kind !== 'edge') for (const f of S.topo.faults) if (f.target === was) f.target = v;
      rebuild('Not applied', true);
    };
  }
  // The form is redrawn after a fault; focus returns to the same button (its label flips, e.g. Kill → Revive).
  el.querySelectorAll('button[data-act]').forEach((b, k) => {
    b.onclick = () => { fault(b.dataset.act, S.topo.servers[sel.i].name); renderEditor(); el.querySelectorAll('button[data-act]')[k]?.focus(); };
  });
}

// A fault by hand: applied to the run now and recorded in the fault timeline at this simulated time.
function fault(action, name) {
  if (!S.sim) return;
  const factor = defaultFactor(action);
  S.sim.fault(action, name, factor);
  const row = recordFault(S, commitTimeline, action, name, factor);
  S.snapshot = S.sim.snapshot();
  renderNodes();
  const f = { action, target: name, factor, at_ms: S.sim.now_ms() };
  status($('status'), `${describe(f)}` + (row ? ` — recorded as fault ${row} of the timeline` : ''), true);
  render();
}

// ---------- canvas interaction ----------
function canvasPoint(ev) {
  const c = $('topology'), r = c.getBoundingClientRect();
  return { x: (ev.clientX - r.left) * (c.width / r.width), y: (ev.clientY - r.top) * (c.height / r.height) };
}
// Pointer events: mouse, pen and touch select and drag nodes alike.
function wireCanvas() {
  const c = $('topology');
  c.addEventListener('pointerdown', ev => {
    const p = canvasPoint(ev), hit = hitTest(S.topo, p);
    S.selected = hit;
    if (hit && hit.kind !== 'link') {
      S.drag = { hit, dx: target(hit).x - p.x, dy: target(hit).y - p.y, moved: false };
      c.setPointerCapture(ev.pointerId);
    }
    renderEditor(); render();
  });
  c.addEventListener('pointermove', ev => {
    const p = canvasPoint(ev);
    if (S.drag) {
      const o = target(S.drag.hit);
      o.x = Math.max(20, Math.min(c.width - 20, p.x + S.drag.dx));
      o.y = Math.max(20, Math.min(c.height - 20, p.y + S.drag.dy));
      S.drag.moved = true; render();
    } else {
      const hit = hitTest(S.topo, p);
      c.style.cursor = hit ? 'pointer' : 'default';
      S.hover = hit?.kind === 'server' ? hit.i : null;
    }
  });
  const drop = () => { if (S.drag?.moved) accept(); S.drag = null; };
  c.addEventListener('pointerup', drop);
  c.addEventListener('pointerleave', () => { S.hover = null; });
  c.addEventListener('pointercancel', drop);
  c.addEventListener('dblclick', ev => {
    const hit = hitTest(S.topo, canvasPoint(ev));
    if (hit?.kind === 'server') {
      const alive = S.snapshot?.nodes?.[hit.i]?.alive ?? true;
      fault(alive ? 'kill' : 'revive', S.topo.servers[hit.i].name); renderEditor();
    }
  });
}

// On one-column layouts the "Selected" editor sits right under the canvas,
// next to what was tapped; beside it, it lives in the side panel.
const ONE_COLUMN = matchMedia('(max-width: 1000px)');
function placeEditor() {
  (ONE_COLUMN.matches ? $('editor-near') : $('editor-home')).append($('selected-box'));
}
ONE_COLUMN.addEventListener('change', placeEditor);

// ---------- live loop ----------
// The simulator runs between frames (loop.js). While it lags behind the
// wall clock, the page draws every other frame (about 30 a second) and leaves
// it the rest.
function frame(now) {
  const dt = Math.min(now - S.lastFrame, 100);
  S.lastFrame = now;
  if (S.running && S.sim) advance(S, dt, Number($('speed').value));
  if (!behind(S) || now - S.lastDraw > 25) {
    S.lastDraw = now;
    S.frames.push(now);
    while (S.frames.length && S.frames[0] < now - 1000) S.frames.shift();
    S.fps = S.frames.length;
    if (S.sim && S.snapshot?.t_ms !== S.sim.now_ms()) {
      S.snapshot = S.sim.snapshot();
      refreshSeries();
    }
    render(now);
  }
  requestAnimationFrame(frame);
}

// The core writes a request's end (and its send, for direct methods) into the
// bucket of the time it happens, which may be ahead of the clock. A bucket is
// final once the clock has passed its end; S.series holds the core's buckets
// up to and including the open one (the one the clock is in), never later ones,
// and re-reads every bucket that was not final at the last refresh.
function refreshSeries() {
  const w = S.sim.bucket_ms();
  const open = Math.floor(S.sim.now_ms() / w);
  const from = Math.min(S.series.length, S.seriesFinal);
  const fresh = S.sim.series(from).slice(0, open + 1 - from);
  S.series.splice(from, S.series.length - from, ...fresh);
  S.seriesFinal = Math.min(open, S.series.length);
}

let lastTable = -Infinity; // the first render fills the table
function render(now = performance.now()) {
  if (!S.topo) return;
  S.topologyText = drawTopology($('topology'), S.topo, S.snapshot, S.series, S.selected, now, S.running, S.why?.choice);
  const win = S.series.slice(-120);
  // The charts show closed buckets only: redrawn when one closes, not every frame.
  const closed = win[win.length - 2];
  if (S.plotted && win.length === S.chartLen && closed === S.chartLast) return renderSlow(now);
  S.chartLen = win.length; S.chartLast = closed;
  S.plotted = {
    throughput: drawLines($('chart-throughput'), win, [{ key: 'throughput', color: COLORS.accent }]),
    latency: drawLines($('chart-latency'), win, [{ key: 'p50', color: '#2f6fd6' }, { key: 'p95', color: '#e09b21' }, { key: 'p99', color: '#d2453b' }]),
    errors: drawLines($('chart-errors'), win, [{ key: 'failed', color: '#d2453b' }, { key: 'dropped', color: '#8a4fd6' }]),
  };
  renderSlow(now);
}

// The table, stats and "why": 4 times a second, once while the simulator lags.
function renderSlow(now) {
  if (now - lastTable > (behind(S) ? 1000 : 250)) { lastTable = now; renderStats(); renderNodes(); renderWhyView(); }
}

function renderStats() {
  const s = S.snapshot;
  if (!s) return;
  const last = S.series.length > 1 ? S.series[S.series.length - 2] : null;
  $('stats').innerHTML = `t = <b>${(s.t_ms / 1000).toFixed(1)} s</b> · generated <b>${s.generated}</b> · answered <b>${s.ok}</b> ·
    dropped <b>${s.dropped}</b> · failed <b>${s.failed}</b> · in flight <b>${s.in_flight}</b>` +
    (last ? ` · p99 <b>${last.p99.toFixed(1)} ms</b>` : '') +
    ` · <span id="fps" data-testid="fps">${S.fps} fps</span> · <span id="simrate" data-testid="simrate">${Math.round(S.simRate).toLocaleString('en')} sim req/s</span>`;
}

// The core's pick for a request arriving now; the hovered (else selected) node brought forward.
function renderWhyView() {
  S.why = S.sim ? S.sim.why() : null;
  const focus = S.hover ?? (S.selected?.kind === 'server' || S.selected?.kind === 'link' ? S.selected.i : null);
  renderWhy($('why'), S.why, focus);
}

function renderNodes() {
  if (S.snapshot) updateNodeTable($('nodes'), S.snapshot, recentShare(S.series, S.topo.servers.length));
}

// ---------- start ----------
async function main() {
  await init();
  S.algorithms = wasm.algorithms();
  wireControls(); wireCanvas(); placeEditor(); wireTimeline(S, commitTimeline);
  loadPreset('figure2');
  if (location.hash.length > 1) loadLink(location.hash);
  addEventListener('hashchange', () => {
    if (scenarioPart(location.hash) !== scenarioPart(currentLink())) loadLink(location.hash);
  });
  document.body.dataset.ready = '1';
  requestAnimationFrame(now => { S.lastFrame = now; frame(now); });
}
main().catch(e => status($('status'), 'failed to start — ' + e.message, false));
