// The fault timeline: the scenario's scheduled faults (S.topo.faults) as rows
// to add, edit and remove. The core applies each at its simulated time, in the
// live run (a restart replays them from 0 s) and in every Compare run. A fault
// injected by hand is recorded here at the time it happened.
import { $, status } from './ui.js';

const ACTIONS = [['kill', 'kill'], ['revive', 'revive'], ['overload', 'overload'], ['relieve', 'end overload'],
  ['degrade', 'degrade link'], ['restore', 'restore link']];
const HAS_FACTOR = new Set(['overload', 'degrade']);
/** The factor a new fault of this kind starts with (the node buttons use the same). */
export const defaultFactor = action => (action === 'overload' ? 4 : action === 'degrade' ? 5 : 1);

const esc = v => String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
const secs = ms => String(Math.round(ms) / 1000);

/** One fault in words: "kill ws2 at 2.0 s", "overload ws3 ×4 at 1.5 s". */
export const describe = f =>
  `${f.action} ${f.target}${HAS_FACTOR.has(f.action) ? ' ×' + f.factor : ''} at ${(f.at_ms / 1000).toFixed(1)} s`;

// Faults in time order; faults at the same time keep their order (the order the core applies them in).
const byTime = faults => [...faults].sort((a, b) => a.at_ms - b.at_ms);

function rowHtml(f, k) {
  const n = k + 1;
  const options = ACTIONS.map(([v, label]) => `<option value="${v}"${v === f.action ? ' selected' : ''}>${label}</option>`).join('');
  const factor = HAS_FACTOR.has(f.action)
    ? `<input data-f="factor" type="number" min="1" step="any" value="${esc(f.factor)}" aria-label="fault ${n} factor">`
    : '<span class="help" title="this action takes no factor">—</span>';
  return `<tr data-row="${k}" data-testid="fault-${k}">
    <td><input data-f="time" type="number" min="0" step="0.1" value="${secs(f.at_ms)}" aria-label="fault ${n} time (simulated s)"></td>
    <td><select data-f="action" aria-label="fault ${n} action">${options}</select></td>
    <td><input data-f="target" type="text" list="timeline-nodes" value="${esc(f.target)}" aria-label="fault ${n} node"></td>
    <td>${factor}</td>
    <td><button data-f="remove" aria-label="remove fault ${n}" title="remove this fault">✕</button></td></tr>`;
}

/** Draw the timeline of `S.topo` (rows, node suggestions, a summary when it is empty). */
export function renderTimeline(S) {
  const faults = S.topo.faults || [];
  $('timeline-nodes').innerHTML = S.topo.servers.map(s => `<option value="${esc(s.name)}"></option>`).join('');
  $('timeline').tBodies[0].innerHTML = faults.map(rowHtml).join('') ||
    '<tr><td colspan="5" class="help">No faults scheduled: add one, or kill, overload or degrade a node while it runs.</td></tr>';
}

// Read row `tr` into a fault, or throw an Error saying what is wrong in plain language.
function readRow(tr, names) {
  const field = f => tr.querySelector(`[data-f="${f}"]`);
  const text = field('time').value.trim(), time = Number(text);
  if (text === '' || !Number.isFinite(time)) throw new Error('the time must be a number of simulated seconds');
  if (time < 0) throw new Error(`the time must be 0 s or later (not ${text} s)`);
  const action = field('action').value, target = field('target').value.trim();
  if (!names.includes(target)) {
    throw new Error(target ? `no node named "${target}" (the nodes are ${names.join(', ')})` : 'choose a node');
  }
  let factor = 1;
  if (HAS_FACTOR.has(action)) {
    const raw = field('factor')?.value.trim() ?? '';
    factor = raw === '' ? defaultFactor(action) : Number(raw);
    if (!(factor >= 1)) throw new Error(`the factor must be 1 or more (not ${raw})`);
  }
  return { at_ms: Math.round(time * 1000), action, target, factor };
}

/**
 * Wire the panel. `commit(faults)` applies a timeline (in time order) to the
 * scenario and the running simulation and returns null, or an Error message
 * when the core refuses it (the scenario then keeps its last valid timeline).
 */
export function wireTimeline(S, commit) {
  const tbody = $('timeline').tBodies[0];
  const say = (text, good) => status($('timeline-status'), text, good);
  // Redraw once focus has settled (a change made by Tab fires before focus moves on). Focus stays on the
  // same field of the same fault wherever it sorts to, or goes to `to()` (an element) when given.
  const redraw = (rows, sorted, to) => setTimeout(() => {
    const a = tbody.contains(document.activeElement) ? document.activeElement : null;
    const r = a ? Number(a.closest('tr').dataset.row) : -1, k = sorted.includes(rows[r]) ? sorted.indexOf(rows[r]) : r;
    renderTimeline(S);
    (to ? to() : a && tbody.querySelector(`tr[data-row="${k}"] [data-f="${a.dataset.f}"]`))?.focus();
  });
  // Apply `faults`; `edited` is the fault just changed or added (its row number is said).
  const apply = (faults, edited, note, to) => {
    const sorted = byTime(faults), problem = commit(sorted);
    redraw(faults, problem ? faults : sorted, to);
    if (problem) return say(`Not applied: ${problem}. The last valid timeline is kept.`, false);
    const now = S.sim ? S.sim.now_ms() : 0;
    const late = edited && now > 0 && edited.at_ms <= now ? ` Fault ${sorted.indexOf(edited) + 1} is at or before the current time ` +
      `(${(now / 1000).toFixed(1)} s): it takes effect from the next ⟲ Restart.` : '';
    say(`${note}: ${sorted.length} fault(s) in the timeline.${late}`, true);
  };
  tbody.addEventListener('change', ev => {
    const tr = ev.target.closest('tr[data-row]');
    if (!tr) return;
    const k = Number(tr.dataset.row), f = ev.target.dataset.f, faults = [...S.topo.faults];
    try {
      faults[k] = readRow(tr, S.topo.servers.map(s => s.name));
      if (f === 'action') faults[k].factor = defaultFactor(faults[k].action);
    } catch (e) {
      redraw(faults, faults, () => tbody.querySelector(`tr[data-row="${k}"] [data-f="${f}"]`));
      return say(`Fault ${k + 1}: ${e.message}. The last valid timeline is kept.`, false);
    }
    apply(faults, faults[k], `fault ${k + 1} is now ${describe(faults[k])}`);
  });
  tbody.addEventListener('click', ev => {
    const b = ev.target.closest('button[data-f="remove"]');
    if (!b) return;
    const k = Number(b.closest('tr').dataset.row), faults = [...S.topo.faults];
    const [gone] = faults.splice(k, 1);
    apply(faults, null, `removed ${describe(gone)}`,
      () => tbody.querySelector(`tr[data-row="${Math.min(k, faults.length - 1)}"] button`) || $('timeline-add'));
  });
  $('timeline-add').onclick = () => {
    // Two whole seconds ahead of the clock, so it still happens in this run.
    const now = S.sim ? S.sim.now_ms() : 0;
    const f = { at_ms: (Math.floor(now / 1000) + 2) * 1000, action: 'kill', target: S.topo.servers[0].name, factor: 1 };
    const sorted = byTime([...S.topo.faults, f]);
    apply([...S.topo.faults, f], f, `added ${describe(f)}`, () => tbody.querySelector(`tr[data-row="${sorted.indexOf(f)}"] [data-f="time"]`));
  };
}

/**
 * Record a fault injected by hand (already applied to the run) at the current
 * simulated time; the core does not apply a fault at or before its clock again.
 * Returns the recorded fault's row number, or null when the core refused it.
 */
export function recordFault(S, commit, action, target, factor) {
  const f = { at_ms: Math.floor(S.sim.now_ms()), action, target, factor };
  const sorted = byTime([...S.topo.faults, f]);
  const problem = commit(sorted);
  renderTimeline(S);
  return problem ? null : sorted.indexOf(f) + 1;
}
