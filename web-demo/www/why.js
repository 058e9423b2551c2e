// "Why this node?": the core's decision for a request arriving now
// (Sim.why(): the router's own pick on a copy of its state) and every node's
// RFWS inputs as the core read them. Nothing here is computed: values are
// formatted, and each cell keeps the core's number in data-value for the test.

const STEP = {
  availability: 'step 3 — the highest availability A, no other node within the tie band',
  delay: 'step 4 — a tie on A, broken by the smallest delay D',
  residual_bandwidth: 'step 5 — a tie on A and D, broken by the largest residual bandwidth B_R',
  random: 'step 6 — a tie on A, D and B_R, broken at random',
  cookie: 'step 2 — the session cookie',
};
const COLS = [['v_net', 'V_net = B/h', 1], ['v_fs', 'V_FS', 3], ['a', 'A', 2], ['d_ms', 'D ms', 2], ['b_r_mbps', 'B_R Mbps', 1]];
const MAX_ROWS = 16;

const fmt = (v, k) => (v === null || v === undefined ? '—' : Number(v).toFixed(k));
const esc = s => String(s).replace(/[&<>"]/g, c => `&#${c.charCodeAt(0)};`);

/** What decided, in words (`decided_by` from the core). */
export function decidedText(why) {
  return STEP[why.decided_by] || `${why.decided_by.replace(/_/g, ' ')} (${why.algorithm.replace(/_/g, ' ')} has no tie-break steps)`;
}

/** Fill `el` with `why`; `focus` is the hovered or selected node index (or null). */
export function renderWhy(el, why, focus) {
  if (!why) { el.innerHTML = ''; return; }
  el.dataset.decided = why.decided_by;
  el.dataset.choice = why.choice_name ?? '';
  // RFWS scores by A; another algorithm by its own score (e.g. load per weight).
  const cols = why.tie_tolerance === null ? COLS.map(c => (c[0] === 'a' ? ['score', 'score', 3] : c)) : COLS;
  const rows = why.nodes.map((n, i) => [n, i])
    .filter(([, i]) => why.nodes.length <= MAX_ROWS || i === why.choice || i === focus);
  const band = why.band_from === null ? '' :
    ` · tie band: A ≥ <b data-testid="why-band" data-value="${why.band_from}">${fmt(why.band_from, 2)}</b>` +
    ` (best ${fmt(why.best_a, 2)} × (1 − ${why.tie_tolerance})) · load threshold ${why.load_threshold}`;
  el.innerHTML = `<p class="why-head">Next request → <b data-testid="why-choice">${esc(why.choice_name ?? 'no node')}</b>,
    decided by <b data-testid="why-step">${esc(decidedText(why))}</b>${band}</p>
    <div class="table-wrap"><table class="why"><thead><tr><th>node</th>${cols.map(c => `<th>${c[1]}</th>`).join('')}<th>in band</th></tr></thead>
    <tbody>${rows.map(([n, i]) => row(n, i, why.choice, focus, cols)).join('')}</tbody></table></div>
    <p class="help" data-testid="why-explain">${esc(why.explain)}</p>`;
}

function row(n, i, choice, focus, cols) {
  const cls = [i === choice ? 'picked' : '', i === focus ? 'focus' : '', n.eligible ? '' : 'out'].join(' ').trim();
  const cells = cols.map(([k, , d]) => `<td data-testid="why-${esc(n.name)}-${k}" data-value="${n[k] ?? ''}">${fmt(n[k], d)}</td>`).join('');
  const note = !n.eligible ? 'not eligible' : n.over_threshold ? 'over threshold' : n.in_band ? 'yes' : 'no';
  return `<tr class="${cls}" data-testid="why-${esc(n.name)}"><th scope="row">${i === choice ? '▶ ' : ''}${esc(n.name)}</th>${cells}<td>${note}</td></tr>`;
}
