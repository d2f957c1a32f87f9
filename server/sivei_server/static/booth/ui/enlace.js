// The voting link's credential (…/votar#credencial=…, protocol 11.5): taken from the fragment and
// removed from the address bar (history.replaceState) before anything else of the booth runs —
// this module is cabina.js's first import — so that it is in no request (browsers never send the
// fragment anyway), in no history entry and in no screenshot of the address bar. The text stays in
// this module's memory until the booth takes it, once; nothing is stored. A link opened again in
// the same tab changes only the fragment (no new page): it is taken the same way.

const KEY = "#credencial=";
let fromLink = null;
let listener = null;

function take() {
  if (!window.location.hash.startsWith(KEY)) return false;
  fromLink = window.location.hash.slice(1);
  window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
  return true;
}

take();
window.addEventListener("hashchange", () => {
  if (take() && listener !== null) listener();
});

/** The fragment's text (`credencial=…`), or null; the second call returns null. */
export function takeLinkText() {
  const text = fromLink;
  fromLink = null;
  return text;
}

/** Call `callback` when a link is opened again in this tab (then `takeLinkText()` has it). */
export function onLinkOpened(callback) {
  listener = callback;
}
