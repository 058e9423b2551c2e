// A shared link's hash: `#t=<scenario>&preset=<id>&speed=<x>`. The scenario is
// its JSON in base64url, fault timeline (`faults`) included; the rest restores
// what the page shows beside it: the preset chosen and the speed. Older links
// also carry the faults in effect, `&faults=[[action, node, factor], …]`;
// they are still read (the page makes them timeline rows at 0 s).

function encode(t) {
  const bytes = new TextEncoder().encode(JSON.stringify(t));
  let s = ''; for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function decode(h) {
  const s = atob(h.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(s, c => c.charCodeAt(0))));
}

/** The hash (without `#`) for `topo` (with its fault timeline), `preset` and `speed`. */
export function linkHash(topo, preset, speed) {
  return new URLSearchParams({ t: encode(topo), preset, speed }).toString();
}

/** The scenario's part of a hash (to tell whether it changed), or null. */
export const scenarioPart = hash => new URLSearchParams(hash.replace(/^#/, '')).get('t');

const ACTIONS = ['kill', 'overload', 'degrade'];

/**
 * Read a hash: `{ topo, preset, speed, faults: [[action, name, factor]] }`;
 * throws an Error saying what is wrong when its scenario or faults cannot be read.
 */
export function readLink(hash) {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  let topo;
  try { topo = decode(q.get('t') || ''); } catch { throw new Error('its scenario is unreadable (cut short or mistyped?)'); }
  if (typeof topo !== 'object' || topo === null) throw new Error('it holds no scenario');
  let faults = [];
  try { faults = JSON.parse(q.get('faults') || '[]'); } catch { throw new Error('its list of faults is unreadable'); }
  const ok = f => Array.isArray(f) && ACTIONS.includes(f[0]) && typeof f[1] === 'string' && Number(f[2]) >= 1;
  if (!Array.isArray(faults) || !faults.every(ok)) throw new Error('its list of faults is not [[action, node, factor], …]');
  return { topo, preset: q.get('preset'), speed: q.get('speed'), faults: faults.map(([a, n, f]) => [a, n, Number(f)]) };
}
