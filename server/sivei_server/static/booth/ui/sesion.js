// The page a login opened from the booth ends on (templates/booth/sesion.html): tell the booth's tab
// (same origin only) that the voter is logged in, then close this tab, which the booth opened.

const opener = window.opener;
if (opener && !opener.closed) {
  try {
    opener.postMessage({ sivei: "sesion-iniciada" }, window.location.origin);
  } catch {
    // the booth's tab is gone or elsewhere: the page's text tells the voter what to do
  }
  window.close();
}
