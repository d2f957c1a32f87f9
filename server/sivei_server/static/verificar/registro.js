// The observers' record checker page (registro.html). A classic script (the page must also work
// opened from a file), using globalThis.SiveiVerificar.registro from sivei-verificar.js (the checker in
// static/verificar/js/, bundled by scripts/bundle.mjs). Nothing is sent anywhere; the only request,
// when the page is served over http(s) and the observer asks for it, downloads the published record
// (registro.tar.gz next to this page on a mirror, or the voting server's /tablero/registro.tar.gz).
(function () {
  "use strict";

  const S = globalThis.SiveiVerificar;
  const R = S.registro;
  const $ = (id) => document.getElementById(id);
  const SERVER_RECORDS = ["registro.tar.gz", "/tablero/registro.tar.gz"];

  const EN = {
    saltar: "Skip to content",
    nav: "Verification pages",
    "nav.boleta": "Check a ballot verified in the booth",
    titulo: "Check the election record",
    intro: "This page checks on this device, without sending anything to any server, the published election record: " +
      "the acts signed by the key-holders, the signed credential list, the whole chain of the board, voters' receipts, " +
      "the decryption and the results, and the proofs of the ballots you choose. It uses the same check identifiers " +
      "as <span class=\"mono\">sivei verificar</span>. It works opened from a file, from the voting server or from any " +
      "copy of this folder.",
    "registro.titulo": "1. The record",
    "registro.falta": "No record yet.",
    "registro.carpeta": "The record's folder (the one holding record.json)",
    "registro.comprimido": "Or the compressed record the server publishes (registro-electoral.tar.gz)",
    "registro.servidor": "Use the record this server publishes",
    "resumen.eleccion": "Election",
    "resumen.grupo": "Group",
    "resumen.boletas": "Ballots on the board",
    "opciones.titulo": "2. What to check",
    "opciones.siempre": "Always checked: the files and their index, the parameters, the manifest, the key ceremony, the " +
      "credential list, the chain of every board event with its rules (one vote per credential, no repeated α, " +
      "credential on the list), the aggregates recomputed from every ballot, the decryption, the results and the acts; " +
      "with voting at consulates, its whole <span class=\"mono\">consulados/</span> folder too: the credentials' " +
      "declaration, each consulate's signed log, nobody served twice, credentials used reconciled with people served, " +
      "and the results per channel with the 30-ballot rule.",
    "pruebas.leyenda": "Ballot proofs (each option encrypts 0 or 1, each contest's sum, the credential's signature)",
    "pruebas.elegidas": "Only the ballots you choose here and those of the receipts you load",
    "pruebas.codigos": "Tracking codes (or board event numbers), one per line",
    "pruebas.ayuda": "For example 7K2QD-M4X9T-0BRHE-5VWNC, or #12 for event 12.",
    "pruebas.todas": "The proofs of every ballot",
    "pruebas.aviso": "Checking every proof takes time: about a second per ballot on a desktop computer, more on a " +
      "phone. You can stop the check at any moment.",
    "opciones.recibos": "Voters' receipts (.json files the server gives when voting; optional)",
    "opciones.huella": "The published election fingerprint, to compare it (optional)",
    "opciones.huella.ayuda": "The 20 characters read aloud, or the full hash.",
    "opciones.cabezas": "Board heads you noted during voting, one per line (optional)",
    "opciones.prueba": "Accept the test group",
    "opciones.prueba.ayuda": "Drills and tests only: that group is far too small to be secure, and a real record never uses it.",
    "accion.verificar": "Check the record",
    "accion.detener": "Stop",
    "progreso.titulo": "Checking…",
    "resultado.titulo": "Result",
    "resultado.etapas": "What was checked",
    "resultado.problemas": "Problems found",
    "resultado.boletas": "Chosen ballots",
    "resultado.recibos": "Receipts",
    "resultado.huellas": "Fingerprints to compare aloud",
    "resultado.datos": "Checked facts",
    "resultado.notas": "Notes",
    "resultado.resultados": "Published results",
    "resultado.descargar": "Download the report (JSON)",
    pie: "The same without a browser: <span class=\"mono\">sivei verificar RECORD</span> (with " +
      "<span class=\"mono\">--receipt RECEIPT</span> for a receipt).",
  };
  const MSG = {
    idioma: ["English", "Español"],
    cargando: ["Leyendo el registro…", "Reading the record…"],
    descomprimiendo: ["Descomprimiendo: {0}", "Decompressing: {0}"],
    cargado: ["Registro cargado: {0} ({1} archivos).", "Record loaded: {0} ({1} files)."],
    noRegistro: ["Esos archivos no son un registro: falta record.json.", "Those files are not a record: record.json is missing."],
    noCargado: ["No se pudo leer el registro: {0}", "The record could not be read: {0}"],
    faltaRegistro: ["Primero cargue el registro (paso 1).", "First load the record (step 1)."],
    desconocido: ["desconocido", "unknown"],
    prueba: ["grupo de prueba: no es una elección real", "test group: not a real election"],
    boletasAprox: ["{0} (según el acta de cierre)", "{0} (as the closing act states)"],
    avisoTiempo: ["Revisar las pruebas de las {0} boletas tardará unos {1} en este dispositivo (medido: {2} por boleta). " +
      "Puede detener la revisión en cualquier momento.",
    "Checking the proofs of the {0} ballots will take about {1} on this device (measured: {2} per ballot). You can stop " +
      "the check at any moment."],
    etapa: ["{0}: {1} %", "{0}: {1} %"],
    restante: [" — faltan unos {0}", " — about {0} left"],
    detenido: ["Revisión detenida: el informe no está completo.", "Check stopped: the report is not complete."],
    bien: ["Verificación exitosa: todas las revisiones pasaron.", "Verification successful: every check passed."],
    mal: ["La verificación FALLÓ: {0} problemas. Cada uno lleva el identificador de revisión y el lugar.",
      "Verification FAILED: {0} problems. Each names its check identifier and its place."],
    parcial: ["parcial", "partial"],
    etapaOk: ["correcto", "passed"],
    etapaMal: ["falló", "failed"],
    etapaOmitida: ["no se revisó", "not checked"],
    noEncontrada: ["{0}: no está en el tablero", "{0}: not on the board"],
    boletaBien: ["{0}: evento {1}, código {2}: pruebas, firma y pertenencia correctas",
      "{0}: event {1}, code {2}: proofs, signature and membership correct"],
    boletaMal: ["{0}: evento {1}, código {2}: con problemas (vea la lista)", "{0}: event {1}, code {2}: with problems (see the list)"],
    reciboBien: ["{0} ({1}): la firma es del servidor, la boleta está en el tablero en el evento {2} y se cuenta",
      "{0} ({1}): signed by the server, the ballot is on the board at event {2} and is counted"],
    reciboMal: ["{0} ({1}): {2}", "{0} ({1}): {2}"],
    mas: ["… y {0} problemas más de «{1}»", "… and {0} more «{1}» problems"],
    total: ["total", "total"],
    votos: ["{0} votos", "{0} votes"],
    minutos: ["{0} min", "{0} min"],
    segundos: ["{0} s", "{0} s"],
    menosDeUno: ["menos de un segundo", "less than a second"],
  };

  let lang = "es";
  let files = null;
  let summary = null;
  let report = null;
  let running = null;
  const spanish = new Map();

  function t(key, ...args) {
    let text = MSG[key][lang === "en" ? 1 : 0];
    args.forEach((a, i) => {
      text = text.split(`{${i}}`).join(String(a));
    });
    return text;
  }

  /** A bilingual text {es, en} in the page's language. */
  function pick(text) {
    if (text === null || text === undefined) return "";
    return typeof text === "string" ? text : lang === "en" ? text.en : text.es;
  }

  function errText(err) {
    if (err && typeof err.es === "string") return lang === "en" ? err.en : err.es;
    return String((err && err.message) || err);
  }

  function duration(seconds) {
    if (seconds < 1) return t("menosDeUno");
    if (seconds < 90) return t("segundos", Math.round(seconds));
    return t("minutos", Math.round(seconds / 60));
  }

  function alertText(text) {
    $("alerta").textContent = text;
    $("alerta").hidden = text === "";
  }

  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (className) e.className = className;
    return e;
  }

  function applyLanguage() {
    R.applyPageTexts(lang, EN, spanish);
    $("idioma").textContent = t("idioma");
    $("idioma").lang = lang === "es" ? "en" : "es";
    S.setLanguage(lang);
    if (files !== null) showLoaded();
    if (report !== null) showReport();
  }

  // -- loading the record -------------------------------------------------------------------------------

  function showLoaded() {
    $("registro-estado").textContent = t("cargado", files.label, files.names().length);
    if (summary === null) return;
    const unknown = t("desconocido");
    $("resumen-eleccion").textContent = summary.electionId ? `${summary.name || ""} (${summary.electionId})` : unknown;
    $("resumen-grupo").textContent = (summary.group || unknown) + (summary.testGroup ? ` — ${t("prueba")}` : "");
    $("resumen-boletas").textContent = summary.ballots === null ? unknown : t("boletasAprox", summary.ballots);
    $("resumen").hidden = false;
    if (summary.secondsAllProofs !== null) {
      $("aviso-tiempo").textContent = t("avisoTiempo", summary.ballots, duration(summary.secondsAllProofs),
        duration(summary.secondsPerBallot));
    }
  }

  async function loaded(record) {
    if (!record.has("record.json")) {
      files = null;
      $("resumen").hidden = true;
      $("registro-estado").textContent = t("noRegistro");
      return;
    }
    files = record;
    report = null;
    $("resultado").hidden = true;
    summary = await R.recordSummary(files);
    showLoaded();
  }

  async function load(make) {
    alertText("");
    $("registro-estado").textContent = t("cargando");
    try {
      await loaded(await make((n) => {
        $("registro-estado").textContent = t("descomprimiendo", `${(n / 1048576).toFixed(1)} MB`);
      }));
    } catch (err) {
      files = null;
      $("registro-estado").textContent = t("noCargado", errText(err));
    }
  }

  async function offerServerRecord() {
    if (!/^https?:$/.test(location.protocol)) return;
    for (const url of SERVER_RECORDS) {
      try {
        const r = await fetch(url, { method: "HEAD", credentials: "omit" });
        if (!r.ok) continue;
        $("servidor-caja").hidden = false;
        $("servidor").addEventListener("click", () => load((onBytes) => R.recordFromUrl(url, { onBytes })));
        return;
      } catch {
        // try the next place
      }
    }
  }

  // -- the check ----------------------------------------------------------------------------------------

  function lines(text) {
    return text.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== "");
  }

  async function run() {
    alertText("");
    if (files === null) {
      alertText(t("faltaRegistro"));
      return;
    }
    const receipts = [];
    for (const file of $("recibos").files) receipts.push({ name: file.name, text: await file.text() });
    const options = {
      allowTestGroup: $("grupo-prueba").checked,
      proofs: $("pruebas-todas").checked ? "all" : "chosen",
      chosen: lines($("elegidas").value),
      expectElection: lines($("huella").value),
      expectHeads: lines($("cabezas").value),
      receipts,
      signal: { aborted: false },
      onProgress: progress,
    };
    running = options.signal;
    $("verificar").disabled = true;
    $("detener").hidden = false;
    $("resultado").hidden = true;
    $("progreso").hidden = false;
    $("barra").value = 0;
    $("etapa").textContent = "";
    lastStatus = 0;
    try {
      report = await R.checkRecord(files, options);
      $("progreso").hidden = true;
      showReport();
      $("t-resultado").focus();
    } catch (err) {
      $("progreso").hidden = true;
      alertText(err instanceof R.Cancelled ? t("detenido") : errText(err));
    } finally {
      running = null;
      $("verificar").disabled = false;
      $("detener").hidden = true;
    }
  }

  let lastStatus = 0;

  function progress(p) {
    $("barra").value = Math.max(0, Math.min(1, p.fraction || 0));
    const now = Date.now();
    // The status region is read by screen readers: not more than once a second.
    if (now - lastStatus < 1000 && p.fraction < 1) return;
    lastStatus = now;
    let text = t("etapa", pick(p.label), Math.floor(100 * (p.fraction || 0)));
    if (p.eta !== null && p.eta > 5) text += t("restante", duration(p.eta));
    $("etapa").textContent = text;
  }

  // -- the report ---------------------------------------------------------------------------------------

  function showReport() {
    const json = report.toJson(lang);
    const banner = report.heading ? pick(report.heading) : "";
    $("aviso-tipo").textContent = banner;
    $("aviso-tipo").hidden = banner === "";
    const total = Object.values(json.failed_checks).reduce((a, b) => a + b, 0);
    $("veredicto").textContent = json.ok ? t("bien") : t("mal", total);
    $("veredicto").className = `veredicto ${json.ok ? "ok" : "mal"}`;

    const stages = $("etapas");
    stages.replaceChildren();
    for (const s of report.stages) {
      const status = { ok: t("etapaOk"), failed: t("etapaMal"), partial: t("parcial"), skipped: t("etapaOmitida") }[s.status];
      const li = el("li", undefined, `etapa-${s.status}`);
      li.append(el("span", s.status === "ok" ? "✓" : s.status === "failed" ? "✗" : "•", "marca"));
      li.append(document.createTextNode(` ${pick(s.label)}: ${status}${s.detail ? ` (${pick(s.detail)})` : ""}`));
      li.querySelector(".marca").setAttribute("aria-hidden", "true");
      stages.append(li);
    }

    const problems = $("problemas");
    problems.replaceChildren();
    for (const p of json.problems) {
      const li = el("li");
      li.append(el("code", p.check, "check"), document.createTextNode(" "), el("span", p.location, "lugar"),
        document.createTextNode(`: ${p.message}`));
      problems.append(li);
    }
    for (const [check, count] of Object.entries(json.failed_checks)) {
      if (count > R.MAX_LISTED_PER_CHECK) problems.append(el("li", t("mas", count - R.MAX_LISTED_PER_CHECK, check)));
    }
    $("problemas-caja").hidden = json.problems.length === 0;

    const details = report.details || { chosen: [], receipts: [], results: null };
    const ballots = $("boletas");
    ballots.replaceChildren();
    for (const c of details.chosen) {
      const text = c.found === null ? t("noEncontrada", c.typed)
        : t(c.found.ok ? "boletaBien" : "boletaMal", c.typed, c.found.index, c.found.trackingCode);
      ballots.append(el("li", text, c.found !== null && c.found.ok ? "bien" : "mal"));
    }
    $("boletas-caja").hidden = details.chosen.length === 0;
    const receipts = $("recibos-lista");
    receipts.replaceChildren();
    for (const r of details.receipts) {
      const text = r.ok ? t("reciboBien", r.name, r.trackingCode, r.index) : t("reciboMal", r.name, r.trackingCode, r.checks.join(", "));
      receipts.append(el("li", text, r.ok ? "bien" : "mal"));
    }
    $("recibos-caja").hidden = details.receipts.length === 0;

    const list = (dl, entries) => {
      dl.replaceChildren();
      for (const [label, value] of entries) {
        const shown = Array.isArray(value) ? value.join(", ") : String(value);
        // Hashes and fingerprints in a fixed-width font (read character by character); words as words.
        const code = /^[0-9a-f]{64}$/.test(shown) || /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/.test(shown);
        dl.append(el("dt", label), el("dd", shown, code ? "mono" : undefined));
      }
    };
    list($("huellas"), Object.entries(json.fingerprints).map(([k, v]) => [json.labels[k] || k, v]));
    list($("datos"), Object.entries(json.facts).map(([k, v]) => [json.labels[k] || k, v]));
    $("huellas-caja").hidden = Object.keys(json.fingerprints).length === 0;
    $("datos-caja").hidden = Object.keys(json.facts).length === 0;
    const notes = $("notas");
    notes.replaceChildren(...json.notes.map((n) => el("li", n)));
    $("notas-caja").hidden = json.notes.length === 0;

    const out = $("resultados");
    out.replaceChildren();
    if (details.results) {
      for (const r of details.results) {
        const box = el("details");
        box.append(el("summary", `${r.entityName} — ${r.title}`));
        const dl = el("dl", undefined, "datos");
        for (const o of r.options) dl.append(el("dt", o.label), el("dd", t("votos", o.votes)));
        dl.append(el("dt", t("total")), el("dd", t("votos", r.total)));
        box.append(dl);
        out.append(box);
      }
    }
    $("resultados-caja").hidden = !details.results;
    $("resultado").hidden = false;
  }

  function download() {
    const blob = new Blob([JSON.stringify(report.toJson(lang), null, 1) + "\n"], { type: "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "informe-verificacion.json";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  function start() {
    $("idioma").addEventListener("click", () => {
      lang = lang === "es" ? "en" : "es";
      applyLanguage();
    });
    if (new URLSearchParams(location.search).get("lang") === "en") lang = "en";
    applyLanguage();
    $("carpeta").addEventListener("change", (e) => {
      if (e.target.files.length > 0) load(async () => R.recordFromFileList(e.target.files));
    });
    $("comprimido").addEventListener("change", (e) => {
      const file = e.target.files[0];
      if (file) load((onBytes) => R.recordFromTarGz(file, file.name, { onBytes }));
    });
    $("verificar").addEventListener("click", run);
    $("detener").addEventListener("click", () => {
      if (running !== null) running.aborted = true;
    });
    $("descargar").addEventListener("click", download);
    offerServerRecord();
  }

  start();
})();
