// The node table under the canvas: state, load, share and a kill/revive button per node.

/** Requests sent to each of `n` nodes over the last four closed buckets (2 s) of `series`, and their total. */
export function recentShare(series, n) {
  const recent = series.slice(-5, -1);
  const sent = new Array(n).fill(0);
  for (const b of recent) b.sent.forEach((v, i) => { if (i < n) sent[i] += v; });
  const total = sent.reduce((a, b) => a + b, 0);
  return { sent, total };
}

// The node table is built once per set of nodes and then updated in place, so
// a button keeps focus and a press that spans a refresh still lands.
const TABLE_MAX = 16, TABLE_SHOWN = 12;
/** Show `snapshot`'s nodes in `table` with their `shares` ({sent, total}). */
export function updateNodeTable(table, snapshot, { sent, total }) {
  const body = table.tBodies[0], nodes = snapshot.nodes;
  const shown = nodes.length > TABLE_MAX ? TABLE_SHOWN : nodes.length;
  const key = nodes.map(n => n.name).join('\n');
  if (body.dataset.key !== key) { buildRows(body, nodes, shown); body.dataset.key = key; }
  for (let i = 0; i < shown; i++) updateRow(body.rows[i], nodes[i], sent[i], total);
}

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

function buildRows(body, nodes, shown) {
  body.replaceChildren(...nodes.slice(0, shown).map((n, i) => {
    const tr = el('tr');
    tr.dataset.testid = `node-${n.name}`;
    const share = el('td'); share.dataset.testid = `share-${n.name}`;
    const btn = el('button', { type: 'button' }); btn.dataset.testid = `kill-${n.name}`; btn.dataset.node = n.name;
    const edit = el('button', { type: 'button', className: 'name', textContent: n.name });
    edit.dataset.edit = i; edit.setAttribute('aria-label', `edit ${n.name}`);
    tr.append(el('td', {}, edit, el('span')), el('td'),
      el('td', {}, el('span', { className: 'bar' }, el('i')), el('span')), el('td'), share, el('td'), el('td', {}, btn));
    return tr;
  }));
  if (nodes.length > shown) {
    body.append(el('tr', {}, el('td', { colSpan: 7, className: 'help', textContent: `…and ${nodes.length - shown} more (all drawn on the canvas)` })));
  }
}

const setText = (e, text) => { if (e.textContent !== text) e.textContent = text; };

function nodeState(n) {
  if (!n.alive) return n.faulty ? ['dead · detected', 'dead'] : ['dead · not yet detected', 'bad'];
  const why = [n.overload > 1 && `overloaded ×${n.overload}`, n.degrade > 1 && `link degraded ×${n.degrade}`].filter(Boolean);
  if (n.faulty || !n.healthy) return [['up · marked faulty', ...why].join(' · '), 'warn'];
  if (why.length) return [['up', ...why].join(' · '), 'warn'];
  return n.load > 0.8 ? ['busy', 'warn'] : ['healthy', 'ok'];
}

function updateRow(tr, n, sent, total) {
  const [name, state, load, inflight, share, sentCell, action] = tr.cells;
  Object.assign(tr.dataset, { alive: n.alive, healthy: n.healthy, recent: sent });
  setText(name.lastChild, n.overload > 1 || n.degrade > 1 ? ' ⚠' : '');
  const [text, cls] = nodeState(n);
  setText(state, text); state.className = `state-${cls}`;
  load.querySelector('i').style.width = `${Math.min(100, n.load * 100).toFixed(0)}%`;
  setText(load.lastChild, ` ${(n.load * 100).toFixed(0)}%`);
  setText(inflight, `${n.inflight} (${n.busy} busy, ${n.queued} queued)`);
  setText(share, `${(total ? sent / total * 100 : 0).toFixed(1)}%`);
  setText(sentCell, String(n.sent));
  const btn = action.firstChild, act = n.alive ? 'kill' : 'revive';
  btn.dataset.act = act;
  btn.setAttribute('aria-label', `${act} ${n.name}`);
  setText(btn, act);
}

