// The "Selected" editor's form: the fields of a server, a client group or the edge.

// [label, path, kind]: kind 'text', 'int' (a whole number, as the core wants) or a number by default;
// 'opt' and 'optint' may be left empty (the export then writes a placeholder or the default, and says so).
const FIELDS = {
  server: [['name', 'name', 'text'], ['performance req/s', 'rate'], ['workers', 'workers', 'int'], ['queue', 'queue', 'int'],
    ['weight', 'weight', 'int'], ['bandwidth Mbps', 'link.bandwidth_mbps'], ['delay ms', 'link.delay_ms'], ['hops', 'link.hops', 'int'],
    ['capacity (empty: workers + queue)', 'capacity', 'optint'], ['address ip:port (export)', 'address', 'opt'], ['URL (export, redirect)', 'url', 'opt']],
  client: [['name', 'name', 'text'], ['rate req/s', 'rate'], ['clients', 'clients', 'int'], ['session share 0–1', 'session_share'],
    ['request KB', 'request_kb'], ['response KB', 'response_kb'], ['bandwidth Mbps', 'link.bandwidth_mbps'], ['delay ms', 'link.delay_ms']],
  edge: [['bandwidth Mbps', 'bandwidth_mbps'], ['L7 overhead ms', 'l7_overhead_ms'], ['L4 overhead ms', 'l4_overhead_ms'],
    ['retries (L7)', 'retries', 'int'], ['connect timeout ms', 'connect_timeout_ms']],
};
const get = (o, path) => path.split('.').reduce((a, k) => a[k], o);
/** Set `o`'s field at dotted `path` to `v`. */
export const set = (o, path, v) => { const ks = path.split('.'); const last = ks.pop(); ks.reduce((a, k) => a[k], o)[last] = v; };
const attr = v => String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The form for selection `sel` (its object `obj`; `node` is a server's snapshot, for the fault buttons). */
export function editorHtml(sel, obj, node) {
  const kind = sel.kind === 'link' ? 'server' : sel.kind;
  const title = { server: 'Web server', client: 'Client group', edge: 'Edge (forwarding server)' }[kind];
  const fields = FIELDS[kind].map(([label, path, type]) => {
    const text = type === 'text' || type === 'opt', opt = type === 'opt' || type === 'optint';
    return `<label>${label}<input data-path="${path}" type="${text ? 'text' : 'number'}" ${
      type === 'int' || type === 'optint' ? 'step="1" min="0"' : text ? '' : 'step="any"'}${opt ? ' data-optional="1"' : ''} value="${attr(get(obj, path) ?? '')}"></label>`;
  }).join('');
  let actions = '';
  if (kind === 'server') {
    const n = node, alive = n ? n.alive : true;
    actions = `<div class="actions">
      <button data-act="${alive ? 'kill' : 'revive'}" class="${alive ? 'danger' : ''}" data-testid="editor-kill">${alive ? 'Kill node' : 'Revive node'}</button>
      <button data-act="${n && n.overload > 1 ? 'relieve' : 'overload'}">${n && n.overload > 1 ? 'End overload' : 'Overload ×4'}</button>
      <button data-act="${n && n.degrade > 1 ? 'restore' : 'degrade'}">${n && n.degrade > 1 ? 'Restore link' : 'Degrade link ×5'}</button></div>`;
  }
  return `<p><b>${title}</b>${sel.kind === 'link' ? ' — its link' : ''}</p><div class="fields">${fields}</div>${actions}`;
}

// The "Choose a node" list: a keyboard way to select the edge, a client group or a server (and its link).
const esc = v => String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;');
/** `<option>`s for every node of `topo`, values as `pickValue` makes them. */
export function pickOptions(topo) {
  return '<option value="">— choose a node —</option><option value="edge">edge</option>' +
    topo.clients.map((c, i) => `<option value="client:${i}">${esc(c.name)} (clients)</option>`).join('') +
    topo.servers.map((v, i) => `<option value="server:${i}">${esc(v.name)} (server and its link)</option>`).join('');
}
/** The list's value for selection `sel`. */
export const pickValue = sel => (sel.kind === 'edge' ? 'edge' : `${sel.kind === 'client' ? 'client' : 'server'}:${sel.i}`);
/** The selection for a list value. */
export function pickSelection(v) {
  if (!v) return null;
  if (v === 'edge') return { kind: 'edge' };
  const [kind, i] = v.split(':');
  return { kind, i: Number(i) };
}
