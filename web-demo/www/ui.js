// Small page helpers shared by the modules.

/** The element with this id. */
export const $ = id => document.getElementById(id);

/** Show `text` in the status element `el`: good (green), bad (red) or neutral when `good` is undefined. */
export function status(el, text, good) {
  el.textContent = text;
  el.className = 'status ' + (good === undefined ? '' : good ? 'good' : 'bad');
}
