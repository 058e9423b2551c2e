// The side panel's tools: compare every algorithm, replay golden vectors, time the simulator.
import * as wasm from './pkg/edgepick_web.js';
import { drawCompare, COLORS } from './draw.js';
import { $, status } from './ui.js';
import { describe } from './timeline.js';

/** Run every algorithm on `S.topo` (Compare button) and show the table and chart. */
export function runCompare(S) {
  const secs = Math.max(1, Number($('compare-secs').value) || 20);
  status($('status'), 'comparing…');
  setTimeout(() => {
    try {
      const t0 = performance.now();
      const faults = S.topo.faults || [];
      const rows = wasm.compare(JSON.stringify(S.topo), secs * 1000);
      const replayed = Math.min(...rows.map(r => r.faults_replayed));
      $('compare-faults').textContent = faultsLine(faults, replayed, secs);
      const names = S.topo.servers.map(s => s.name);
      $('compare-out').hidden = false;
      S.comparePlot = drawCompare($('compare-chart'), rows);
      S.compareRows = rows;
      const head = '<tr><th>algorithm</th><th>mean ms</th><th>p50</th><th>p99 ms</th><th>errors</th><th>answered</th><th>per-node share</th></tr>';
      const best = Math.min(...rows.map(r => r.p99_ms));
      $('compare-table').innerHTML = head + rows.map(r => `<tr data-testid="compare-${r.id}">
        <td>${r.label}</td><td>${r.mean_ms.toFixed(1)}</td><td>${r.p50_ms.toFixed(1)}</td>
        <td>${r.p99_ms === best ? '<b>' + r.p99_ms.toFixed(1) + '</b>' : r.p99_ms.toFixed(1)}</td>
        <td>${r.errors}</td><td>${r.ok}</td>
        <td><span class="shares" title="${r.share.map((s, i) => `${names[i]} ${(s * 100).toFixed(1)}%`).join(', ')}">${
          r.share.map((s, i) => `<i style="width:${s * 100}%;background:${COLORS.node(i)}"></i>`).join('')}</span></td></tr>`).join('') +
        `<tr><td colspan="6"></td><td class="help">${names.slice(0, 16).map((n, i) => `<i class="swatch" style="background:${COLORS.node(i)}"></i> ${n}`).join(' ')}</td></tr>`;
      status($('status'), `compared ${rows.length} algorithms over ${secs} s simulated in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
        `faults replayed: ${replayed}`, true);
      offerResults($('compare-csv'), $('compare-json'), rows, names, secs, faults);
      $('compare-out').scrollIntoView({ behavior: 'smooth' });
    } catch (e) { status($('status'), 'compare failed — ' + e.message, false); }
  }, 10);
}

// What Compare says about the fault timeline it replayed (`replayed`: faults the core applied in every run).
function faultsLine(faults, replayed, secs) {
  if (!faults.length) return 'Fault timeline: empty — every run is without faults.';
  const later = faults.length - replayed;
  return `Faults replayed: ${replayed} of the timeline's ${faults.length}, at the same times in every run: ` +
    faults.slice(0, 8).map(describe).join('; ') + (faults.length > 8 ? '; …' : '') +
    (later > 0 ? `. ${later} fall after the ${secs} s compared.` : '.');
}

// The comparison as files: CSV (one row per algorithm, a share column per node) and JSON (the rows as the
// simulator gave them, and the fault timeline replayed).
function offerResults(csvLink, jsonLink, rows, names, secs, faults) {
  const cols = ['id', 'label', 'generated', 'ok', 'errors', 'mean_ms', 'p50_ms', 'p95_ms', 'p99_ms', 'faults_replayed'];
  const cell = v => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const csv = [[...cols, ...names.map(n => `share_${n}`)].map(cell).join(','),
    ...rows.map(r => [...cols.map(c => r[c]), ...r.share].map(cell).join(','))].join('\n') + '\n';
  const json = JSON.stringify({ simulated_s: secs, nodes: names, faults, rows }, null, 2);
  for (const [a, text, type] of [[csvLink, csv, 'text/csv'], [jsonLink, json, 'application/json']]) {
    URL.revokeObjectURL(a.href);
    a.href = URL.createObjectURL(new Blob([text], { type }));
  }
}

/** Replay the pasted golden vectors in the core. */
export function runGolden() {
  try {
    const r = JSON.parse(wasm.golden($('golden-text').value));
    const bad = r.cases.filter(c => !c.pass).map(c => c.name + (c.error ? ` (${c.error})` : ''));
    status($('golden-result'), `${r.passed} of ${r.passed + r.failed} cases match` + (bad.length ? ' — differ: ' + bad.join('; ') : ''), r.failed === 0);
    $('golden-result').dataset.passed = r.passed; $('golden-result').dataset.failed = r.failed;
  } catch (e) { status($('golden-result'), 'golden failed — ' + e.message, false); }
}

/** Time the simulator on `S.topo`. */
export function runBench(S) {
  // At least 10 simulated seconds and about 300 000 requests, so start-up costs do not dominate.
  const rate = S.topo.clients.reduce((a, g) => a + g.rate, 0) || 1;
  const r = wasm.bench(JSON.stringify(S.topo), Math.max(10000, 300000 / rate * 1000));
  $('bench-result').dataset.rate = Math.round(r.requests_per_s);
  status($('bench-result'), `${Math.round(r.requests_per_s).toLocaleString('en')} simulated requests/s ` +
    `(${r.requests} requests, ${r.events} events in ${r.wall_ms.toFixed(0)} ms, ${S.topo.servers.length} nodes)`, true);
}

