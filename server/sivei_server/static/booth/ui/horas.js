// Instants as a voter abroad reads them: in the device's own time zone, named, and in Mexico City's
// (the election's official time), never bare UTC. Used by the booth (cabina.js) and, as a module
// script, by the server's pages: every <time datetime="…" data-hora> gets the same text (the
// server writes Mexico City's time inside, so that a page without scripts still names its zone).

export const MEXICO = "America/Mexico_City";

function locale(lang) {
  return lang === "en" ? "en-US" : "es-MX";
}

/** The device's time zone (IANA name), or null when the browser does not say. */
export function deviceZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch {
    return null;
  }
}

function part(date, lang, zone, withDate) {
  // 24-hour clock in Spanish (as INE writes times), 12-hour in English.
  const options = { hour: "2-digit", minute: "2-digit", timeZone: zone, hour12: lang === "en" };
  if (withDate) Object.assign(options, { day: "numeric", month: "long", year: "numeric" });
  return new Intl.DateTimeFormat(locale(lang), options).format(date);
}

function zoneName(zone, lang) {
  if (zone === MEXICO) return lang === "en" ? "Mexico City" : "Ciudad de México";
  return zone.replace(/^.*\//, "").replaceAll("_", " ");
}

/**
 * "2 de junio de 2027, 17:42, hora de tu dispositivo (Chicago); 16:42 en la Ciudad de México".
 * `withDate` false gives the times only.
 */
export function instantText(date, lang, { withDate = true } = {}) {
  const zone = deviceZone();
  const mexico = part(date, lang, MEXICO, false);
  if (zone === null || zone === MEXICO) {
    const text = part(date, lang, MEXICO, withDate);
    return lang === "en" ? `${text}, Mexico City time` : `${text}, hora de la Ciudad de México`;
  }
  const local = part(date, lang, zone, withDate);
  const where = zoneName(zone, lang);
  return lang === "en" ? `${local} your time (${where}); ${mexico} in Mexico City`
    : `${local}, tu hora (${where}); ${mexico} en la Ciudad de México`;
}

/** The session's end: times only, the same way. */
export function sessionEndText(date, lang) {
  return instantText(date, lang, { withDate: false });
}

/** Rewrite the page's <time datetime data-hora> elements (data-hora="hora": without the date). */
export function rewriteTimes(root = document) {
  const lang = document.documentElement.lang === "en" ? "en" : "es";
  for (const el of root.querySelectorAll("time[data-hora]")) {
    const date = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) continue;
    el.textContent = instantText(date, lang, { withDate: el.dataset.hora !== "hora" });
  }
}

if (typeof document !== "undefined" && document.querySelector && !document.getElementById("cabina")) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => rewriteTimes());
  else rewriteTimes();
}
