// A shared link's hash: `#t=<scenario>&preset=<id>&speed=<x>&kill=<names>&overload=<name:factor,…>&degrade=<name:factor,…>`.
// The scenario is its JSON in base64url; the rest restores what the page
// shows beside it: the preset chosen, the speed, and the faults in effect.

function encode(t) {
  const bytes = new TextEncoder().encode(JSON.stringify(t));
  let s = ''; for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function decode(h) {
  const s = atob(h.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(s, c => c.charCodeAt(0))));
}

/** The hash (without `#`) for `topo`, `preset`, `speed` and the faults in `snapshot`. */
export function linkHash(topo, preset, speed, snapshot) {
  const q = new URLSearchParams({ t: encode(topo), preset, speed });
  const nodes = snapshot?.nodes || [];
  const kill = nodes.filter(n => !n.alive).map(n => n.name);
  const overload = nodes.filter(n => n.overload > 1).map(n => `${n.name}:${n.overload}`);
  const degrade = nodes.filter(n => n.degrade > 1).map(n => `${n.name}:${n.degrade}`);
  if (kill.length) q.set('kill', kill.join(','));
  if (overload.length) q.set('overload', overload.join(','));
  if (degrade.length) q.set('degrade', degrade.join(','));
  return q.toString();
}

/** The scenario's part of a hash (to tell whether it changed), or null. */
export const scenarioPart = hash => new URLSearchParams(hash.replace(/^#/, '')).get('t');

/**
 * Read a hash: `{ topo, preset, speed, faults: [[action, name, factor]] }`;
 * throws an Error saying what is wrong when its scenario cannot be read.
 */
export function readLink(hash) {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  let topo;
  try { topo = decode(q.get('t') || ''); } catch { throw new Error('its scenario is unreadable (cut short or mistyped?)'); }
  if (typeof topo !== 'object' || topo === null) throw new Error('it holds no scenario');
  const list = key => (q.get(key) || '').split(',').filter(Boolean);
  const faults = [
    ...list('kill').map(name => ['kill', name, 1]),
    ...list('overload').map(s => s.split(':')).map(([name, f]) => ['overload', name, Number(f) || 4]),
    ...list('degrade').map(s => s.split(':')).map(([name, f]) => ['degrade', name, Number(f) || 5]),
  ];
  return { topo, preset: q.get('preset'), speed: q.get('speed'), faults };
}
