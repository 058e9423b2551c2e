// Canvas drawing: the topology with moving requests, line charts, the comparison chart.

const PALETTE = ['#2f6fd6', '#e09b21', '#2e9d5b', '#8a4fd6', '#d2453b', '#1a9bb0', '#b5651d', '#6b7a8f'];
export const COLORS = { accent: '#2f6fd6', node: i => PALETTE[i % PALETTE.length] };

// Canvas text shrinks with the canvas: on a narrow screen the drawing zooms
// its text (and widens its boxes) so that names stay at least MIN_CSS_PX
// tall, and leaves out the secondary labels.
const MIN_CSS_PX = 10;
let zoom = 1;

function boxOf(kind, topo) {
  const grow = Math.min(zoom, 1.5);
  if (kind === 'server') return topo.servers.length > 16 ? [84, 20] : [96 * grow, 44];
  if (kind === 'client') return topo.clients.length > 6 ? [110, 30] : [120 * grow, 44];
  return [110 * grow, 64];
}

export function hitTest(topo, p) {
  const inside = (o, [w, h]) => Math.abs(p.x - o.x) <= w / 2 && Math.abs(p.y - o.y) <= h / 2;
  for (let i = topo.servers.length - 1; i >= 0; i--) if (inside(topo.servers[i], boxOf('server', topo))) return { kind: 'server', i };
  for (let i = topo.clients.length - 1; i >= 0; i--) if (inside(topo.clients[i], boxOf('client', topo))) return { kind: 'client', i };
  if (inside(topo.edge, boxOf('edge', topo))) return { kind: 'edge' };
  for (let i = 0; i < topo.servers.length; i++) if (segDist(p, topo.edge, topo.servers[i]) < 5) return { kind: 'link', i };
  return null;
}

function segDist(p, a, b) {
  const dx = b.x - a.x, dy = b.y - a.y, len = dx * dx + dy * dy || 1;
  const t = Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len));
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath(); ctx.moveTo(x + r, y); ctx.arcTo(x + w, y, x + w, y + h, r); ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r); ctx.arcTo(x, y, x + w, y, r); ctx.closePath();
}

function line(ctx, a, b, color, width, dash) {
  ctx.strokeStyle = color; ctx.lineWidth = width; ctx.setLineDash(dash || []);
  ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke(); ctx.setLineDash([]);
}

// Dots moving from a to b: `rate` requests per second shown as up to 10 dots.
function flow(ctx, a, b, rate, color, t, offset) {
  if (!(rate > 0)) return;
  const n = Math.max(1, Math.min(10, Math.round(Math.sqrt(rate) / 3)));
  ctx.fillStyle = color;
  for (let k = 0; k < n; k++) {
    const f = ((t * 0.5 + k / n + offset) % 1 + 1) % 1;
    ctx.beginPath(); ctx.arc(a.x + (b.x - a.x) * f, a.y + (b.y - a.y) * f, 2.6, 0, 7); ctx.fill();
  }
}

function nodeColor(n) {
  if (!n) return '#2e9d5b';
  if (!n.alive) return '#8a919c';
  if (n.faulty || !n.healthy) return '#d2453b';
  if (n.load > 0.8 || n.overload > 1 || n.degrade > 1) return '#e09b21';
  return '#2e9d5b';
}

export function drawTopology(canvas, topo, snap, series, selected, now, running, picked = null) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
  const many = topo.servers.length > 16;
  const scale = canvas.getBoundingClientRect().width / canvas.width || 1;
  zoom = many ? 1 : Math.min(3, Math.max(1, MIN_CSS_PX / (11 * scale)));
  const compact = zoom > 1.4;
  let smallest = Infinity; // the smallest text drawn, CSS px
  // Set the font for `text`: `px` zoomed, shrunk to fit `maxW` canvas units.
  const font = (px, bold, text = '', maxW = Infinity) => {
    let size = px * zoom;
    ctx.font = `${bold ? 'bold ' : ''}${size}px system-ui, sans-serif`;
    const w = ctx.measureText(text).width;
    if (w > maxW) { size *= maxW / w; ctx.font = `${bold ? 'bold ' : ''}${size}px system-ui, sans-serif`; }
    smallest = Math.min(smallest, size * scale);
  };
  const last = series.length > 1 ? series[series.length - 2] : null;
  const bucketS = (topo.bucket_ms || 500) / 1000;
  const rateTo = i => (last && last.sent[i] ? last.sent[i] / bucketS : 0);
  const totalRate = topo.clients.reduce((a, g) => a + g.rate, 0) || 1;
  const t = running ? now / 1000 : 0;
  const direct = topo.method === 'dns' || topo.method === 'redirect';
  const E = topo.edge;

  // Links: clients -> edge.
  topo.clients.forEach((g, k) => {
    line(ctx, g, E, '#b8c1ce', direct ? 1 : 2, direct ? [4, 4] : null);
    if (!direct) flow(ctx, g, E, g.rate, '#2f6fd6', t, k * 0.13);
    if (!many && !compact) {
      ctx.fillStyle = '#5b6677'; font(11);
      ctx.fillText(`(${g.link.bandwidth_mbps} Mbps, ${g.link.delay_ms} ms)`, (g.x + E.x) / 2, (g.y + E.y) / 2 - 9);
    }
  });
  // Links: edge -> servers (and direct paths).
  topo.servers.forEach((s, i) => {
    const n = snap?.nodes?.[i];
    const sel = selected && (selected.kind === 'link' || selected.kind === 'server') && selected.i === i;
    const dead = n && !n.alive;
    line(ctx, E, s, sel ? '#2f6fd6' : dead ? '#e3b1ad' : n && n.degrade > 1 ? '#e09b21' : '#b8c1ce', sel ? 3 : many ? 1 : 2);
    const r = rateTo(i);
    if (direct || topo.method === 'dr') {
      topo.clients.forEach((g, k) => {
        const share = g.rate / totalRate;
        if (!many) line(ctx, g, s, 'rgba(47,111,214,0.10)', 1, [3, 5]);
        if (direct) flow(ctx, g, s, r * share, '#2f6fd6', t, k * 0.21 + i * 0.07);
        flow(ctx, s, g, r * share, '#2e9d5b', t, k * 0.17 + i * 0.11);
      });
      if (topo.method === 'dr') flow(ctx, E, s, r, '#2f6fd6', t, i * 0.07);
    } else {
      flow(ctx, E, s, r, '#2f6fd6', t, i * 0.07);
      flow(ctx, s, E, r, '#2e9d5b', t, i * 0.07 + 0.5);
    }
    if (!many && !compact) {
      const mx = (E.x + s.x) / 2, my = (E.y + s.y) / 2;
      const label = `(${s.link.bandwidth_mbps}, ${s.link.delay_ms}, ${s.rate})` + (s.link.hops > 1 ? ` ${s.link.hops} hops` : '');
      font(11);
      const w = ctx.measureText(label).width + 8;
      ctx.fillStyle = 'rgba(251,252,254,0.92)'; ctx.fillRect(mx - w / 2, my - 8, w, 16);
      ctx.fillStyle = n && n.degrade > 1 ? '#b5651d' : '#3d4756'; ctx.fillText(label, mx, my);
    }
  });
  if (!direct) topo.clients.forEach((g, k) => flow(ctx, E, g, topo.method === 'dr' ? 0 : g.rate, '#2e9d5b', t, k * 0.13 + 0.5));

  // Nodes.
  topo.clients.forEach((g, k) => {
    const [w, h] = boxOf('client', topo);
    roundRect(ctx, g.x - w / 2, g.y - h / 2, w, h, 8);
    ctx.fillStyle = '#eef3fb'; ctx.fill();
    ctx.lineWidth = selected?.kind === 'client' && selected.i === k ? 3 : 1.2;
    ctx.strokeStyle = selected?.kind === 'client' && selected.i === k ? '#2f6fd6' : '#8fa6c8'; ctx.stroke();
    ctx.fillStyle = '#1d2430'; font(12, true, g.name, w - 8);
    const sub = h > 34 && !compact;
    ctx.fillText(g.name, g.x, g.y - (sub ? 8 : 0));
    if (sub) { font(11); ctx.fillStyle = '#5b6677'; ctx.fillText(`${g.rate} req/s · ${g.clients} clients`, g.x, g.y + 10); }
  });
  {
    const [w, h] = boxOf('edge', topo);
    roundRect(ctx, E.x - w / 2, E.y - h / 2, w, h, 10);
    ctx.fillStyle = '#1d2430'; ctx.fill();
    if (selected?.kind === 'edge') { ctx.lineWidth = 3; ctx.strokeStyle = '#2f6fd6'; ctx.stroke(); }
    ctx.fillStyle = '#fff'; font(13, true); ctx.fillText('edge', E.x, E.y - (compact ? 14 : 18));
    const alg = (topo.algorithm.name === 'consistent_hash' ? (topo.algorithm.flavour || 'ketama') : topo.algorithm.name).replace(/_/g, ' ');
    font(11, false, alg, w - 8);
    ctx.fillText(alg, E.x, compact ? E.y + 12 : E.y);
    if (!compact) {
      const method = { proxy: 'reverse proxy', redirect: 'HTTP redirect', dns: `DNS, TTL ${topo.dns_ttl_ms / 1000} s`, nat: 'L4 NAT', dr: 'L4 direct routing' };
      ctx.fillStyle = '#aebbd0'; ctx.fillText(method[topo.method], E.x, E.y + 16);
    }
  }
  topo.servers.forEach((s, i) => {
    const n = snap?.nodes?.[i];
    const [w, h] = boxOf('server', topo);
    const x = s.x - w / 2, y = s.y - h / 2;
    if (i === picked) { // the core's pick for the next request ("Why this node?")
      roundRect(ctx, x - 5, y - 5, w + 10, h + 10, 9);
      ctx.setLineDash([5, 3]); ctx.lineWidth = 2; ctx.strokeStyle = '#2f6fd6'; ctx.stroke(); ctx.setLineDash([]);
    }
    roundRect(ctx, x, y, w, h, 6);
    ctx.fillStyle = '#fff'; ctx.fill();
    ctx.lineWidth = selected && selected.kind === 'server' && selected.i === i ? 3 : 2;
    ctx.strokeStyle = selected && selected.kind === 'server' && selected.i === i ? '#2f6fd6' : nodeColor(n); ctx.stroke();
    ctx.fillStyle = nodeColor(n); ctx.fillRect(x + 1, y + 1, 6, h - 2);
    const load = n ? Math.min(1, n.load) : 0;
    ctx.fillStyle = '#e6e9ee'; ctx.fillRect(x + 10, y + h - 7, w - 16, 4);
    ctx.fillStyle = load > 0.8 ? '#d2453b' : load > 0.5 ? '#e09b21' : '#2f6fd6'; ctx.fillRect(x + 10, y + h - 7, (w - 16) * load, 4);
    ctx.fillStyle = n && !n.alive ? '#8a919c' : '#1d2430';
    const name = s.name + (n && !n.alive ? ' ✕' : '');
    font(many ? 10 : 12, true, name, w - 14);
    ctx.fillText(name, s.x + 3, y + (many ? 8 : compact ? h / 2 - 2 : 12));
    if (!many && !compact && n) {
      font(10); ctx.fillStyle = '#5b6677';
      ctx.fillText(!n.alive ? (n.faulty ? 'dead · detected' : 'dead · detecting…') : `${n.busy + n.queued} in · ${Math.round(rateTo(i))}/s`, s.x + 3, y + 26);
    }
  });
  if (snap) {
    ctx.textAlign = 'left'; ctx.fillStyle = '#5b6677'; font(12);
    ctx.fillText(`t = ${(snap.t_ms / 1000).toFixed(1)} s`, 10, 8 + 6 * zoom);
  }
  return { zoom, minTextPx: smallest, picked };
}

// Draws every bucket but the last (the open one) and returns what it plotted:
// `{ t_ms: [...], values: { key: [...] }, t0, t1 }`, so a test can compare the
// chart with the core's series.
export function drawLines(canvas, series, lines) {
  const ctx = canvas.getContext('2d'), W = canvas.width, H = canvas.height;
  const L = 38, B = 16, T = 8;
  ctx.clearRect(0, 0, W, H);
  let max = 0;
  for (const b of series) for (const l of lines) max = Math.max(max, b[l.key] || 0);
  max = niceMax(max);
  ctx.strokeStyle = '#eef0f3'; ctx.fillStyle = '#8a919c'; ctx.font = '10px system-ui, sans-serif';
  ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
  for (let k = 0; k <= 4; k++) {
    const y = T + (H - T - B) * (1 - k / 4);
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W - 4, y); ctx.stroke();
    ctx.fillText(fmt(max * k / 4), L - 4, y);
  }
  const shown = series.slice(0, -1);
  const plotted = { t_ms: shown.map(b => b.t_ms), values: {}, t0: null, t1: null };
  for (const l of lines) plotted.values[l.key] = shown.map(b => b[l.key] || 0);
  if (series.length < 2) { ctx.textAlign = 'center'; ctx.fillText('press Run', W / 2, H / 2); return plotted; }
  const t0 = series[0].t_ms, t1 = series[series.length - 1].t_ms || 1;
  const X = tm => L + (W - L - 6) * ((tm - t0) / Math.max(1, t1 - t0));
  Object.assign(plotted, { t0, t1 });
  ctx.textAlign = 'center'; ctx.fillText(`${(t0 / 1000).toFixed(0)} s`, L + 10, H - 6); ctx.fillText(`${(t1 / 1000).toFixed(0)} s`, W - 16, H - 6);
  for (const l of lines) {
    ctx.strokeStyle = l.color; ctx.lineWidth = 1.6; ctx.beginPath();
    plotted.values[l.key].forEach((v, k) => {
      const y = T + (H - T - B) * (1 - v / max);
      if (k === 0) ctx.moveTo(X(shown[k].t_ms), y); else ctx.lineTo(X(shown[k].t_ms), y);
    });
    ctx.stroke();
  }
  return plotted;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}
const fmt = v => (v >= 10000 ? (v / 1000).toFixed(0) + 'k' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2));

const SHORT = {
  rfws: ['RFWS', '(paper)'], round_robin: ['round', 'robin'], random: ['random', ''], weighted_random: ['weighted', 'random'],
  least_connections: ['least', 'conn.'], least_connections_p2c: ['least conn.', 'P2C'], least_response_time: ['least resp.', 'time'],
  ip_hash: ['ip_hash', ''], ketama: ['ketama', 'hash'], maglev: ['maglev', 'hash'],
};

// Latencies span decades (a dead node's timeouts beside sub-millisecond
// answers), so the comparison's axis is logarithmic. Returns what it drew:
// `{ lo, hi, bars: [{ id, mean, p99 }] }` with bar heights as fractions of the axis.
export function drawCompare(canvas, rows) {
  const ctx = canvas.getContext('2d'), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const L = 44, B = 46, T = 22, n = rows.length;
  const values = rows.flatMap(r => [r.mean_ms, r.p99_ms]).filter(v => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values, lo * 10)));
  const frac = v => (v > lo ? Math.min(1, Math.log10(v / lo) / Math.log10(hi / lo)) : 0);
  const maxErr = Math.max(1, ...rows.map(r => r.errors));
  ctx.font = '11px system-ui, sans-serif'; ctx.textBaseline = 'middle';
  ctx.textAlign = 'right'; ctx.fillStyle = '#5b6677'; ctx.strokeStyle = '#eef0f3';
  for (let v = lo; v <= hi * 1.0001; v *= 10) {
    const y = T + (H - T - B) * (1 - frac(v));
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(W, y); ctx.stroke(); ctx.fillText(fmt(v), L - 4, y);
  }
  ctx.save(); ctx.translate(10, T + (H - T - B) / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = 'center'; ctx.fillText('latency ms (log)', 0, 0); ctx.restore();
  const slot = (W - L) / n, bw = slot / 4;
  const bars = rows.map((r, k) => {
    const x = L + k * slot + slot / 2;
    const bar = (f, dx, color) => { const h = (H - T - B) * f; ctx.fillStyle = color; ctx.fillRect(x + dx, H - B - h, bw, h); };
    const drawn = { id: r.id, mean: frac(r.mean_ms), p99: frac(r.p99_ms) };
    bar(drawn.mean, -bw * 1.5, '#2f6fd6'); bar(drawn.p99, -bw * 0.5, '#d2453b');
    const eh = (H - T - B) * 0.5 * r.errors / maxErr;
    ctx.fillStyle = '#8a4fd6'; ctx.fillRect(x + bw * 0.5, H - B - eh, bw * 0.8, eh);
    ctx.fillStyle = '#1d2430'; ctx.textAlign = 'center';
    const [a, b] = SHORT[r.id] || [r.id, ''];
    ctx.fillText(a, x, H - B + 14);
    if (b) ctx.fillText(b, x, H - B + 28);
    return drawn;
  });
  ctx.textAlign = 'left';
  [['mean', '#2f6fd6'], ['p99', '#d2453b'], ['errors (relative, linear)', '#8a4fd6']].forEach(([label, c], k) => {
    ctx.fillStyle = c; ctx.fillRect(L + 8 + k * 130, 6, 10, 10); ctx.fillStyle = '#1d2430'; ctx.fillText(label, L + 22 + k * 130, 11);
  });
  return { lo, hi, bars };
}
