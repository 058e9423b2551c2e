// Export, download and import of the filter's configuration. The core does
// the work (export_config / import_config); this shows its text and notes.
import { $, status } from './ui.js';

function showNotes(notes) {
  const ul = $('config-notes');
  ul.replaceChildren(...notes.map(n => Object.assign(document.createElement('li'), { textContent: n })));
  ul.hidden = !notes.length;
}

/** Export the scenario `S.topo` into the text box with the core's notes. */
export function exportConfig(S, wasm) {
  try {
    const { config, notes } = wasm.export_config(JSON.stringify(S.topo));
    $('config-text').value = config;
    showNotes(notes);
    const r = wasm.check_config(config);
    status($('config-status'), r.ok ? 'exported — valid: the core accepts it' : `invalid: ${r.field}: ${r.problem}`, r.ok);
  } catch (e) { status($('config-status'), 'export failed — ' + e.message, false); }
}

/** The download link builds the file when pressed, so it always holds the current scenario's configuration. */
export function downloadConfig(S, wasm, ev) {
  const a = ev.currentTarget;
  try {
    URL.revokeObjectURL(a.href);
    a.href = URL.createObjectURL(new Blob([wasm.export_config(JSON.stringify(S.topo)).config], { type: 'application/json' }));
  } catch (e) { ev.preventDefault(); status($('config-status'), 'download failed — ' + e.message, false); }
}

/** Import the text box into `S.topo`; `applied()` runs after a valid import. */
export function importConfig(S, wasm, applied) {
  const r = wasm.import_config($('config-text').value, JSON.stringify(S.topo));
  if (!r.ok) return status($('config-status'), `invalid — ${r.field}: ${r.problem}`, false);
  S.topo = JSON.parse(r.topology);
  showNotes(r.not_represented.map(n => `not kept — ${n}`));
  const left = r.not_represented.length ? `; ${r.not_represented.length} field(s) the simulator cannot represent, listed below` : '';
  status($('config-status'), 'valid — applied' + (r.unmatched.length ? ` (no server named ${r.unmatched.join(', ')})` : '') + left, true);
  applied();
}
