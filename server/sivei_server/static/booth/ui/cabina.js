// The booth's page (templates/booth/cabina.html): credential → ballot → "corrobora tu voto" →
// encryption and tracking code → cast (signed ballot to the server, signed receipt back) or
// challenge (the encryption revealed for a second device; then vote again).
//
// The credential comes from the credential authority's link (…/votar#credencial=…: enlace.js takes
// it from the fragment and strips the fragment before anything else runs), from its QR code, or is
// typed. If the voter is not logged in yet, the login opens in another tab while this one keeps the
// credential in memory. The private credential lives only in the `credential` variable of this
// module (and, until it is read, in `linkText`): never in storage, a cookie, a URL, the DOM (the
// field is emptied once read) or a request; the worker gets the public credential only
// (../js/client.js). The credential opens the voter's sealed credential token (`ficha`, from
// /api/votante), which is sent beside the ballot. The name typed for a non-registered candidate stays
// in the page (review screen only). Nothing here fetches anything but this server's own API.
//
// Kiosk mode (data-quiosco="1", a consulate's kiosk at /quiosco): the page waits until the consulate's
// official issues a session for this kiosk, then one voter's journey — their letter's QR code (a
// registered voter: it opens their sealed token as above) or a card of the consulate's pool (an
// unregistered voter: the card is checked against the pool before anything is marked; no token) —
// and at "Terminar" (or after a while on the receipt) the session ends and the page is replaced by a
// fresh one (location.replace): nothing of that voter stays in memory, storage or the history.

import { onLinkOpened, takeLinkText } from "./enlace.js"; // first: strips the fragment before anything runs
import { bytesToHex, hexToBytesLoose } from "../js/bytes.js";
import { BoothCrypto } from "../js/client.js";
import { fingerprint } from "../js/fingerprint.js";
import { Manifest } from "../js/manifest.js";
import { sha256 } from "../js/sha256.js";
import { BallotMarks, WRITE_IN_MAX } from "./boleta.js";
import { instantText, sessionEndText } from "./horas.js";
import { challengeQrText, qrDataUrl } from "./qr.js";
import { EN, MSG } from "./textos.js";

const root = document.getElementById("cabina");
const $ = (id) => document.getElementById(id);
const kiosk = root.dataset.quiosco === "1";
const SCREENS = ["p-carga", "p-sesion", "p-votado", "p-credencial", "p-boleta", "p-revision", "p-codigo",
  "p-impugnada", "p-recibo", "p-error", ...(kiosk ? ["p-quiosco"] : [])];
const KIOSK_POLL_MS = 2000;
const KIOSK_RECEIPT_MS = 120_000; // the receipt stays this long, then the kiosk starts again

let lang = document.documentElement.lang === "en" ? "en" : "es";
let booth = null;
let context = null;
let manifest = null;
let voter = null;
let marks = null;
let emblems = new Map(); // party id → data: URL of its emblem, only if its bytes have the manifest's SHA-256
let linkText = takeLinkText(); // the link's `credencial=…` until read; page memory only
let credential = null; // {canonical, seed, publicCredential, token}: page memory only
let encrypted = null; // the ballot encrypted for the current choices (unsigned)
let signedBody = null; // the signed ballot's JSON text while it is being sent
let screen = "p-carga";
const blobUrls = new Map();
const spanish = new Map();

// -- language ---------------------------------------------------------------------------------------

function t(key, ...args) {
  const pair = MSG[key];
  let text = pair[lang === "en" ? 1 : 0];
  args.forEach((a, i) => {
    text = text.replace(`{${i}}`, String(a));
  });
  return text;
}

function errText(err) {
  if (err && typeof err.es === "string") return lang === "en" ? err.en : err.es;
  return String((err && err.message) || err);
}

function applyLanguage() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    const key = el.dataset.i18n;
    if (!spanish.has(el)) spanish.set(el, el.innerHTML);
    // Both texts are this page's own constants (the template's and EN), never input.
    el.innerHTML = lang === "en" && EN[key] !== undefined ? EN[key] : spanish.get(el);
  }
  const button = $("idioma");
  button.textContent = t("idioma");
  button.lang = lang === "es" ? "en" : "es";
  if (booth !== null) booth.setLanguage(lang).catch(() => {});
  showSession();
  if (marks !== null) drawBallot();
  if (screen === "p-revision") drawReview();
  if (screen === "p-impugnada" && lastChallenge !== null) drawChallenge(lastChallenge);
}

// -- screens and messages -----------------------------------------------------------------------------

function show(id) {
  screen = id;
  for (const s of SCREENS) $(s).hidden = s !== id;
  clearAlert();
  const heading = $(id).querySelector("h1");
  if (heading) heading.focus();
  window.scrollTo(0, 0);
}

function status(text) {
  $("estado").textContent = text;
}

function alertText(text) {
  const box = $("alerta");
  box.textContent = text;
  box.hidden = false;
  box.focus();
}

function clearAlert() {
  $("alerta").hidden = true;
  $("alerta").textContent = "";
}

function fail(text, { retry = false, login = false } = {}) {
  $("error-texto").textContent = text;
  $("reintentar").hidden = !retry;
  $("error-entrar").hidden = !login;
  show("p-error");
}

function busy(on) {
  for (const b of root.querySelectorAll(".pantalla button")) b.disabled = on;
  root.setAttribute("aria-busy", on ? "true" : "false");
}

function downloadLink(anchor, name, obj) {
  const old = blobUrls.get(anchor.id);
  if (old) URL.revokeObjectURL(old);
  const url = URL.createObjectURL(new Blob([JSON.stringify(obj, null, 1) + "\n"], { type: "application/json" }));
  blobUrls.set(anchor.id, url);
  anchor.href = url;
  anchor.download = name;
}

function showSession() {
  const p = $("sesion");
  if (!voter || !sessionEnd) return;
  p.textContent = t("sesion", sessionEndText(new Date(sessionEnd), lang));
  p.hidden = false;
}

// -- the session's end (absolute: 30 minutes from the login, never extended) ---------------------------

let sessionEnd = null; // this device's clock (ms) when the server's session ends
let sessionTimers = [];
let resumeScreen = null; // where the voter was when the session ended
let sessionVoter = null; // the account the credential was opened for

/** From /api/votante's seconds left (the server's clock), warnings at 5 and 1 minute, then the end. */
function scheduleSession() {
  for (const id of sessionTimers) clearTimeout(id);
  sessionTimers = [];
  sessionEnd = null;
  if (!voter || typeof voter.session_seconds_left !== "number") return;
  sessionEnd = Date.now() + voter.session_seconds_left * 1000;
  for (const minutes of [5, 1]) {
    const wait = sessionEnd - minutes * 60_000 - Date.now();
    if (wait > 0) sessionTimers.push(setTimeout(() => warnSession(minutes), wait));
  }
  sessionTimers.push(setTimeout(sessionEnded, Math.max(0, sessionEnd - Date.now())));
}

function voting() {
  return !["p-carga", "p-sesion", "p-votado", "p-recibo"].includes(screen) && voter !== null && !voter.voted;
}

function warnSession(minutes) {
  if (!voting()) return;
  $("aviso-sesion-texto").textContent = t(minutes === 1 ? "avisoSesion1" : "avisoSesion5",
    sessionEndText(new Date(sessionEnd), lang));
  const box = $("aviso-sesion");
  box.hidden = false;
  $("seguir").focus();
}

function keepVoting() {
  $("aviso-sesion").hidden = true;
  const heading = $(screen).querySelector("h1");
  if (heading) heading.focus();
}

/**
 * The session ended (its time, or the server said 401): the credential, the marks and any signed
 * ballot stay in this page; the login opens in another tab and the voter comes back to where they were.
 */
function sessionEnded() {
  for (const id of sessionTimers) clearTimeout(id);
  sessionTimers = [];
  $("aviso-sesion").hidden = true;
  if (kiosk) {
    finishKiosk(); // a kiosk session is one voter's, never renewed: the kiosk starts again
    return;
  }
  if (!voting() && screen !== "p-error") return;
  if (screen !== "p-sesion") resumeScreen = screen === "p-error" ? "p-codigo" : screen;
  $("sesion").hidden = true;
  askLogin({ ended: true });
}

// -- server --------------------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }

  text() {
    if (this.body.message) return lang === "en" && this.body.message_en ? this.body.message_en : this.body.message;
    return this.message;
  }

  /** As the credential screen shows errors ({es, en}). */
  asCredentialError() {
    return { es: this.body.message || this.message, en: this.body.message_en || this.body.message || this.message };
  }
}

async function getJson(url) {
  // No extra header: the page preloads these two (<link rel="preload" as="fetch" crossorigin>) and a
  // fetch that differs from the preload would be sent again.
  const r = await fetch(url, { credentials: "same-origin" });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new HttpError(r.status, body);
  return body;
}

/** The loading screen's progress: step n of 3, and what is being done. */
function progress(step, text) {
  const bar = $("progreso");
  bar.value = step;
  $("progreso-texto").textContent = text;
}

// -- step 1: the credential ---------------------------------------------------------------------------

async function readCredential(typed) {
  const field = $("credencial");
  const error = $("credencial-error");
  try {
    credential = await openFor(typed);
    sessionVoter = voter.voter_id;
  } catch (err) {
    error.textContent = errText(err);
    error.hidden = false;
    field.setAttribute("aria-invalid", "true");
    field.focus();
    return;
  }
  field.value = "";
  field.removeAttribute("aria-invalid");
  error.hidden = true;
  status(t("credencialLeida"));
  show("p-boleta");
}

/**
 * Open a credential for this voter: with their sealed token; at a kiosk, for a voter without
 * registration, a card of the consulate's pool (no token: the server checks the card is of the pool).
 */
async function openFor(text) {
  if (!(kiosk && voter.unregistered)) return booth.openCredential(text, voter);
  const opened = await booth.openCredential(text, null);
  const r = await fetch(root.dataset.tarjeta, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify({ credential: bytesToHex(opened.publicCredential) }),
  });
  if (!r.ok) {
    booth.forgetCredential(opened);
    const body = await r.json().catch(() => null);
    throw new HttpError(r.status, body).asCredentialError();
  }
  return opened;
}

let stream = null;

async function scanCredential() {
  const video = $("video");
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch {
    alertText(t("camaraNo"));
    return;
  }
  $("camara").hidden = false;
  video.srcObject = stream;
  video.play().catch(() => {}); // not awaited: an empty or slow stream may never start
  const detector = new globalThis.BarcodeDetector({ formats: ["qr_code"] });
  const tick = async () => {
    if (stream === null) return;
    try {
      const codes = await detector.detect(video);
      if (codes.length > 0) {
        const text = codes[0].rawValue;
        stopCamera();
        await readCredential(text);
        return;
      }
    } catch {
      // not ready yet
    }
    setTimeout(tick, 250);
  };
  tick();
}

function stopCamera() {
  if (stream !== null) for (const track of stream.getTracks()) track.stop();
  stream = null;
  $("video").srcObject = null;
  $("camara").hidden = true;
}

// -- step 2: the ballot ----------------------------------------------------------------------------------

/**
 * The emblems the manifest names (file and SHA-256) and the context brings (file → SVG text): an
 * emblem is shown only if its bytes hash to the manifest's digest; a missing or altered one is not
 * shown at all (the party's name is there either way).
 */
async function verifiedEmblems(m, files) {
  const out = new Map();
  if (!files || typeof files !== "object") return out;
  for (const party of m.parties) {
    if (!party.emblem || typeof files[party.emblem.file] !== "string") continue;
    const bytes = new TextEncoder().encode(files[party.emblem.file]);
    if (bytes.length > 3072 || bytesToHex(await sha256(bytes)) !== party.emblem.sha256) continue;
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    out.set(party.id, `data:image/svg+xml;base64,${btoa(binary)}`);
  }
  return out;
}

function partyName(partyId) {
  const p = manifest.parties.find((x) => x.id === partyId);
  return p ? p.name : partyId;
}

function resultText(cm) {
  const op = cm.result;
  if (op === null) return t("sinMarca");
  if (op.kind === "null") return t("tuVoto", t("anulado"));
  if (op.kind === "write_in") {
    return t("tuVoto", cm.writeInName.trim() ? t("noRegistradoCon", cm.writeInName.trim()) : t("noRegistrado"));
  }
  const coalition = cm.coalition;
  const extra = coalition && op.kind === "combination" ? ` (${coalition.name})` : "";
  return t("tuVoto", op.label + extra);
}

/** The manifest's texts are Spanish: marked so inside the English booth (names of the booth's own
 * options, "anular" and the write-in, are translated and need no mark). */
function manifestLang(kind = null) {
  return lang === "en" && kind !== "null" && kind !== "write_in" ? "es" : null;
}

function optionText(cm, op) {
  if (op.kind === "null") return { main: t("anular"), detail: t("anularNota") };
  if (op.kind === "write_in") return { main: t("noRegistrado"), detail: "" };
  if (op.kind === "party") {
    const coalition = cm.contest.coalitionOf(op.parties[0]);
    const detail = [partyName(op.parties[0]), op.candidate, coalition ? coalition.name : null].filter(Boolean);
    return { main: op.parties[0], detail: detail.join(" · ") };
  }
  return { main: op.label, detail: "" };
}

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "className") node.className = v;
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, String(v));
  }
  if (text !== null) node.textContent = text;
  return node;
}

function slug(text) {
  return text.replace(/[^A-Za-z0-9_-]/g, "_");
}

function ids(cm) {
  const cid = `c-${slug(cm.contest.id)}`;
  return { cid, option: (op) => `${cid}-${slug(op.id)}`, vote: `${cid}-voto`, hint: `${cid}-pista` };
}

/** Build the ballot's markup (at start and when the language changes). */
function drawBallot() {
  const holder = $("contiendas");
  const focusedId = document.activeElement ? document.activeElement.id : null;
  holder.replaceChildren();
  const total = marks.contests.length;
  marks.contests.forEach((cm, n) => {
    const c = cm.contest;
    const id = ids(cm);
    const fs = el("fieldset", { className: "contienda", id: id.cid, "aria-describedby": `${id.cid}-ayuda` });
    const legend = el("legend");
    legend.append(el("span", { className: "num" }, t("eleccionDe", n + 1, total)), " ",
      el("span", { lang: manifestLang() }, c.title));
    fs.append(legend);
    fs.append(el("p", { className: "ayuda", id: `${id.cid}-ayuda` },
      c.kind === "referendum" ? t("ayudaConsulta") : t("ayudaCandidatura")));
    const list = el("ul", { className: "opciones" });
    for (const op of cm.items) {
      const oid = id.option(op);
      const li = el("li", { className: `opcion opcion-${op.kind}` });
      // Each option's name is its own label (party, candidate, coalition); the contest's resulting
      // vote is announced by its live region, not repeated as every option's description.
      const box = el("input", { type: "checkbox", id: oid, value: op.id, "data-contienda": c.id });
      const text = optionText(cm, op);
      const label = el("label", { for: oid });
      const emblem = op.kind === "party" ? emblems.get(op.parties[0]) : undefined;
      // Decorative (alt=""): the party's name is the label's text.
      if (emblem) label.append(el("img", { className: "emblema", src: emblem, alt: "", width: 44, height: 44 }));
      label.append(el("span", { className: "principal", lang: manifestLang(op.kind) }, text.main));
      if (text.detail) label.append(" ", el("span", { className: "detalle", lang: manifestLang(op.kind) }, text.detail));
      label.append(el("span", { className: "no-disponible", id: `${oid}-no` }, t("noDisponible")));
      li.append(box, label);
      if (op.kind === "write_in") {
        const nid = `${oid}-nombre`;
        const wrap = el("div", { className: "nombre", id: `${nid}-caja` });
        const input = el("input", { type: "text", id: nid, maxlength: WRITE_IN_MAX, autocomplete: "off",
          spellcheck: "false", "data-nombre": c.id, "aria-describedby": `${nid}-aviso` });
        input.value = cm.writeInName;
        wrap.append(el("label", { for: nid }, t("nombre")), input,
          el("p", { className: "aviso-nombre", id: `${nid}-aviso` }, t("nombreAviso")));
        li.append(wrap);
      }
      list.append(li);
    }
    fs.append(list);
    fs.append(el("p", { className: "voto", id: id.vote, "aria-live": "polite" }));
    fs.append(el("p", { className: "pista", id: id.hint }, t("desactivadas")));
    holder.append(fs);
    updateContest(cm);
  });
  if (focusedId && document.getElementById(focusedId)) document.getElementById(focusedId).focus();
}

/** Bring one contest's controls up to date with its marks (checked, offered, the resulting vote). */
function updateContest(cm) {
  const id = ids(cm);
  let someDisabled = false;
  for (const op of cm.items) {
    const box = document.getElementById(id.option(op));
    const checked = cm.marked(op);
    const offered = cm.offered(op);
    someDisabled = someDisabled || !offered;
    box.checked = checked;
    box.disabled = !offered;
    if (offered) box.removeAttribute("aria-describedby");
    else box.setAttribute("aria-describedby", `${id.option(op)}-no ${id.hint}`);
    box.parentElement.classList.toggle("marcada", checked);
    box.parentElement.classList.toggle("no-ofrecida", !offered);
    if (op.kind === "write_in") document.getElementById(`${id.option(op)}-nombre-caja`).hidden = !checked;
  }
  const problem = showProblems && cm.problem === "write-in-name";
  const vote = document.getElementById(id.vote);
  vote.textContent = problem ? t("escribeNombre") : resultText(cm);
  vote.classList.toggle("error-campo", problem);
  document.getElementById(id.hint).hidden = !someDisabled;
}

let showProblems = false;

function onBallotChange(event) {
  const target = event.target;
  if (target.matches("input[type=checkbox][data-contienda]")) {
    const cm = marks.contest(target.dataset.contienda);
    cm.toggle(target.value);
    updateContest(cm);
  }
}

function onBallotInput(event) {
  const target = event.target;
  if (target.matches("input[data-nombre]")) {
    const cm = marks.contest(target.dataset.nombre);
    cm.writeInName = target.value.slice(0, WRITE_IN_MAX);
    if (showProblems && cm.problem === null) updateContest(cm);
  }
}

function toReview(event) {
  event.preventDefault();
  const problems = marks.problems();
  if (problems.length > 0) {
    showProblems = true;
    for (const cm of marks.contests) updateContest(cm);
    const first = document.querySelector(`input[data-nombre="${CSS.escape(problems[0].contest)}"]`);
    alertText(t("escribeNombre"));
    if (first) first.focus();
    return;
  }
  showProblems = false;
  drawReview();
  show("p-revision");
}

// -- step 3: review ----------------------------------------------------------------------------------------

function reviewText(cm) {
  const op = cm.result;
  if (op === null) return t("sinMarca");
  if (op.kind === "null") return t("anulado");
  if (op.kind === "write_in") return t("noRegistradoCon", cm.writeIn);
  const coalition = cm.coalition;
  return op.label + (coalition && op.kind === "combination" ? ` (${coalition.name})` : "");
}

function drawReview() {
  const dl = $("revision");
  dl.replaceChildren();
  for (const cm of marks.contests) {
    const op = cm.result;
    const own = op === null || op.kind === "null" || op.kind === "write_in";
    dl.append(el("dt", { lang: manifestLang() }, cm.contest.title),
      el("dd", { "data-contienda": cm.contest.id, lang: own ? null : manifestLang() }, reviewText(cm)));
  }
}

async function encrypt() {
  busy(true);
  status(t("cifrando"));
  try {
    await booth.ready; // built while the voter marked the ballot: normally long done
    encrypted = await booth.encrypt(marks.style, marks.choices(), credential.publicCredential);
    encrypted.choices = marks.choices();
  } catch (err) {
    busy(false);
    alertText(errText(err));
    return;
  }
  busy(false);
  $("codigo").textContent = encrypted.trackingCode;
  status(t("cifrado"));
  show("p-codigo");
}

// -- step 4a: cast -------------------------------------------------------------------------------------------

async function cast() {
  busy(true);
  status(t("firmando"));
  try {
    if (signedBody === null) {
      const signed = await booth.sign(encrypted, credential.seed);
      signedBody = JSON.stringify(signed.ballot);
    }
  } catch (err) {
    busy(false);
    alertText(errText(err));
    return;
  }
  await send();
}

async function send() {
  busy(true);
  status(t("firmando"));
  let r;
  let body = null;
  try {
    r = await fetch(root.dataset.votar, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRF-Token": csrf(),
        ...(credential.token ? { "X-Credential-Token": bytesToHex(credential.token) } : {}),
      },
      body: signedBody,
    });
    body = await r.json().catch(() => null);
  } catch {
    busy(false);
    status("");
    fail(t("sinRed"), { retry: true });
    return;
  }
  busy(false);
  status("");
  if (r.ok && body && body.receipt) {
    done(body.receipt);
    return;
  }
  const err = new HttpError(r.status, body);
  if (r.status === 401 && !kiosk) {
    resumeScreen = "p-codigo";
    sessionEnded();
  } else if (r.status >= 500 || r.status === 429) {
    fail(err.text(), { retry: true });
  } else {
    fail(err.text());
  }
}

let lastReceipt = null;

function done(receipt) {
  const matches = receipt.tracking_code === encrypted.trackingCode && receipt.ballot_hash === encrypted.ballotHash;
  booth.forgetCredential(credential);
  credential = null;
  signedBody = null;
  voter.voted = true;
  lastReceipt = receipt;
  $("aviso-sesion").hidden = true;
  $("rec-codigo").textContent = receipt.tracking_code;
  $("rec-indice").textContent = String(receipt.index);
  $("rec-hora").textContent = instantText(new Date(receipt.received_at), lang);
  $("rec-cabeza").textContent = receipt.head;
  const ok = $("rec-coincide");
  ok.textContent = matches ? t("reciboCoincide") : t("reciboNoCoincide");
  ok.className = matches ? "ok" : "alerta";
  encrypted = null;
  if (kiosk) {
    show("p-recibo");
    setTimeout(finishKiosk, KIOSK_RECEIPT_MS);
    return;
  }
  downloadLink($("rec-archivo"), `recibo-${receipt.tracking_code}.json`, receipt);
  $("rec-tablero").href = `${root.dataset.tablero}?codigo=${encodeURIComponent(receipt.tracking_code)}#buscar`;
  show("p-recibo");
}

// -- step 4b: challenge -------------------------------------------------------------------------------------

let lastChallenge = null;

function choiceLabel(contestId, optionId) {
  try {
    const c = manifest.contest(contestId);
    const op = c.options[c.optionIndex(optionId)];
    if (op.kind === "null") return `${op.label} (${optionId})`;
    return op.kind === "write_in" ? t("noRegistrado") : op.label;
  } catch {
    return optionId;
  }
}

function drawChallenge(file) {
  $("imp-codigo").textContent = file.tracking_code;
  $("imp-nonce").textContent = file.ballot_nonce.replace(/(.{16})/g, "$1 ").trim();
  const dl = $("imp-opciones");
  dl.replaceChildren();
  for (const [contestId, optionId] of Object.entries(file.choices)) {
    let title = contestId;
    try {
      title = manifest.contest(contestId).title;
    } catch {
      // shown by id
    }
    dl.append(el("dt", { lang: manifestLang() }, title),
      el("dd", { "data-contienda": contestId }, choiceLabel(contestId, optionId)));
  }
}

async function challenge() {
  busy(true);
  status(t("impugnando"));
  let file;
  try {
    file = await booth.challenge(encrypted, encrypted.choices);
  } catch (err) {
    busy(false);
    alertText(errText(err));
    return;
  }
  encrypted = null; // revealed: this encryption can never be cast
  lastChallenge = file;
  busy(false);
  status(t("listo"));
  drawChallenge(file);
  $("imp-nombre").hidden = !marks.contests.some((cm) => cm.writeIn !== null);
  const code = file.tracking_code;
  if (!kiosk) {
    downloadLink($("imp-archivo"), `boleta-para-verificar-${code}.json`, file);
    downloadLink($("imp-contexto"), "contexto-eleccion.json", context);
  }
  const figure = $("imp-qr");
  try {
    $("imp-qr-img").src = qrDataUrl(challengeQrText(file));
    $("imp-qr-img").alt = `QR ${code}`;
    figure.hidden = false;
  } catch {
    figure.hidden = true; // too long for a QR code: the file is there
  }
  show("p-impugnada");
}

function voteAgain() {
  lastChallenge = null;
  $("imp-qr-img").removeAttribute("src");
  show("p-boleta");
}

/** BarcodeDetector with QR codes and a camera API (Chromium on Android, macOS, ChromeOS; not everywhere). */
async function canScanQr() {
  try {
    if (typeof globalThis.BarcodeDetector !== "function" || !navigator.mediaDevices
      || typeof navigator.mediaDevices.getUserMedia !== "function") return false;
    return (await globalThis.BarcodeDetector.getSupportedFormats()).includes("qr_code");
  } catch {
    return false;
  }
}

// -- logging in without losing the link's credential -----------------------------------------------

let waitingForLogin = false;

/** Not logged in: with a credential (from the link, or already read), log in in another tab. */
function askLogin({ ended = false } = {}) {
  waitingForLogin = true;
  const keep = linkText !== null || credential !== null;
  $("sesion-terminada").hidden = !ended;
  $("sesion-enlace").hidden = ended || linkText === null;
  $("sesion-sin-enlace").hidden = ended || linkText !== null;
  $("sesion-lista").hidden = !keep;
  $("t-sesion-inicia").hidden = ended;
  $("t-sesion-terminada").hidden = !ended;
  show("p-sesion");
}

function openLogin() {
  if (linkText === null && credential === null) {
    window.location.assign(root.dataset.entrar);
    return;
  }
  const tab = window.open(root.dataset.entrarPestana, "_blank");
  if (tab === null) alertText(t("ventanaBloqueada"));
}

/**
 * A link opened again in this tab (only the fragment changed): use it unless a credential is already
 * read (the voter is voting with it) or the page is busy; on the login screen it waits for the login.
 */
function linkOpenedAgain() {
  const text = takeLinkText();
  if (text === null || credential !== null || root.getAttribute("aria-busy") === "true") return;
  linkText = text;
  if (voter !== null && booth !== null && !voter.voted) prepare();
  else if (screen === "p-sesion") askLogin();
}

/** Back from the login tab (focus, visibility, its message or the button): try again. */
function loginMaybeDone() {
  if (!waitingForLogin || document.visibilityState === "hidden") return;
  waitingForLogin = false;
  prepare();
}

// -- start ------------------------------------------------------------------------------------------------------

function csrf() {
  if (voter && voter.csrf) return voter.csrf; // the session's: the page may predate the login
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function forgetLink() {
  linkText = null;
}

async function start() {
  $("idioma").hidden = false;
  $("idioma").addEventListener("click", () => {
    lang = lang === "es" ? "en" : "es";
    applyLanguage();
  });
  applyLanguage();
  $("sesion-entrar").addEventListener("click", openLogin);
  onLinkOpened(linkOpenedAgain);
  $("sesion-lista").addEventListener("click", () => {
    waitingForLogin = true;
    loginMaybeDone();
  });
  window.addEventListener("focus", loginMaybeDone);
  document.addEventListener("visibilitychange", loginMaybeDone);
  window.addEventListener("message", (event) => {
    if (event.origin === window.location.origin && event.data && event.data.sivei === "sesion-iniciada") {
      loginMaybeDone();
    }
  });
  $("f-credencial").addEventListener("submit", (event) => {
    event.preventDefault();
    readCredential($("credencial").value);
  });
  $("contiendas").addEventListener("change", onBallotChange);
  $("contiendas").addEventListener("input", onBallotInput);
  $("f-boleta").addEventListener("submit", toReview);
  $("corregir").addEventListener("click", () => show("p-boleta"));
  $("cifrar").addEventListener("click", encrypt);
  $("depositar").addEventListener("click", cast);
  $("impugnar").addEventListener("click", challenge);
  $("votar-otra-vez").addEventListener("click", voteAgain);
  $("reintentar").addEventListener("click", send);
  $("seguir").addEventListener("click", keepVoting);
  window.addEventListener("pagehide", () => {
    if (credential !== null && booth !== null) booth.forgetCredential(credential);
    credential = null;
    forgetLink();
  });
  if (kiosk) {
    startKiosk();
    return;
  }
  await prepare();
}

// -- a consulate's kiosk ----------------------------------------------------------------------------------------

let finishing = false;

/** Wait for the official's session on this kiosk, then the voter's journey. */
function startKiosk() {
  window.history.replaceState(null, "", root.dataset.reinicio); // this page is the kiosk's only entry
  for (const b of root.querySelectorAll(".terminar")) b.addEventListener("click", finishKiosk);
  show("p-quiosco");
  const poll = async () => {
    let state = null;
    try {
      state = await getJson(root.dataset.estado);
    } catch {
      // the server is unreachable for a moment: try again
    }
    if (state && state.session) {
      await prepare();
      return;
    }
    setTimeout(poll, KIOSK_POLL_MS);
  };
  poll();
}

/** The voter is done (or the session ended): end the session, then a fresh page replaces this one. */
async function finishKiosk() {
  if (finishing) return;
  finishing = true;
  if (credential !== null && booth !== null) booth.forgetCredential(credential);
  credential = null;
  try {
    await fetch(root.dataset.terminar, { method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf() } });
  } catch {
    // the official can release the kiosk
  }
  window.location.replace(root.dataset.reinicio);
}

/** The voter (or the login screen), the election's context, the crypto worker, then the credential. */
async function prepare() {
  progress(2, t("progresoEleccion"));
  try {
    [voter, context] = await Promise.all([getJson(root.dataset.votante), context ?? getJson(root.dataset.contexto)]);
  } catch (err) {
    if (kiosk && err instanceof HttpError && err.status === 409) {
      finishKiosk(); // the session ended meanwhile (released by the official)
    } else if (err instanceof HttpError && err.status === 401 && !kiosk) {
      askLogin();
    } else {
      fail(t("falloCabina", err instanceof HttpError ? err.text() : errText(err)));
    }
    return;
  }
  scheduleSession();
  showSession();
  if (credential !== null && sessionVoter !== voter.voter_id) {
    // Another account logged in from the login tab: the credential read belongs to the first one.
    booth.forgetCredential(credential);
    credential = null;
    signedBody = null;
    resumeScreen = null;
  }
  if (voter.voted && signedBody === null) {
    forgetLink();
    show("p-votado");
    return;
  }
  if (booth === null) {
    progress(3, t("progresoBoleta"));
    try {
      const allowTestGroup = root.dataset.grupoPrueba === "1";
      if (context.group !== "eg2-baseline") $("aviso-prueba").hidden = false;
      manifest = Manifest.fromJson(context.manifest);
      marks = new BallotMarks(manifest, voter.style);
      emblems = await verifiedEmblems(manifest, context.emblems);
      // The worker checks the context and builds its tables while the voter marks the ballot; the
      // encryption waits for it (`booth.ready`). The page's bundle is also the worker's script.
      const workerUrl = root.dataset.trabajador;
      booth = BoothCrypto.create(context, workerUrl ? { allowTestGroup, workerUrl, workerType: "classic" }
        : { allowTestGroup });
      const started = booth;
      booth.ready.then(() => {
        window.__siveiWorkerReadyMs = performance.now();
      }, (err) => {
        if (booth !== started) return;
        booth = null;
        fail(t("falloCabina", errText(err)));
      });
      booth.setLanguage(lang).catch(() => {});
      const manifestFingerprint = fingerprint(await manifest.hash());
      $("huella-manifiesto-1").textContent = manifestFingerprint;
      $("huella-manifiesto-2").textContent = manifestFingerprint;
      $("huella-eleccion").textContent = fingerprint(hexToBytesLoose(context.election_hash));
    } catch (err) {
      booth = null;
      fail(t("falloCabina", errText(err)));
      return;
    }
    drawBallot();
    if (await canScanQr()) {
      $("escanear").hidden = false;
      $("escanear").addEventListener("click", scanCredential);
      $("camara-cerrar").addEventListener("click", stopCamera);
    }
  } else if (marks.style !== voter.style) {
    marks = new BallotMarks(manifest, voter.style); // another account logged in from the login tab
    drawBallot();
  }
  if (credential !== null && resumeScreen !== null) {
    // Back from logging in again after the session ended: where the voter was, nothing lost.
    const back = resumeScreen;
    resumeScreen = null;
    if (signedBody !== null) {
      fail(t("sesionRenovada"), { retry: true });
    } else {
      show(back === "p-revision" ? "p-revision" : back === "p-codigo" && encrypted !== null ? "p-codigo" : "p-boleta");
      status(t("sesionRenovadaBoleta"));
    }
    return;
  }
  if (kiosk) {
    $(voter.unregistered ? "quiosco-tarjeta" : "quiosco-carta").hidden = false;
    show("p-credencial");
    $("credencial").focus(); // a USB QR reader types the link into the field and presses Enter
    return;
  }
  if (linkText !== null) {
    const text = linkText;
    forgetLink();
    try {
      credential = await booth.openCredential(text, voter);
      sessionVoter = voter.voter_id;
    } catch (err) {
      show("p-credencial");
      const error = $("credencial-error");
      error.textContent = errText(err);
      error.hidden = false;
      return;
    }
    show("p-boleta");
    status(t("credencialEnlace"));
    return;
  }
  show("p-credencial");
}

start();
