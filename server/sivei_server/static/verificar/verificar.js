// The static verification page (index.html): checks a challenged ballot on this device.
// A classic script (no ES modules: the page must also work opened from a file), using
// globalThis.SiveiVerificar from sivei-verificar.js (the booth's own cryptography, bundled by
// scripts/bundle.mjs). Nothing is sent anywhere; the only requests are, when the page is
// served over http(s), for the election's public context next to it (contexto.json) or from the
// voting server (/api/eleccion/contexto).
//
// Two inputs are accepted:
// * the challenged-ballot file the booth offers (Python's ChallengedBallot.to_json): the ballot is
//   rebuilt from the revealed choices and nonce and compared byte for byte (checkChallenge);
// * the text of the booth's QR code ("sivei-impugnada-qr/1": election hash, style, public
//   credential, choices, nonce): the ballot is rebuilt and its tracking code shown, to compare with
//   the code the booth showed before the challenge (equal codes: the same ballot).
(function () {
  "use strict";

  const S = globalThis.SiveiVerificar;
  const $ = (id) => document.getElementById(id);
  const QR_FORMAT = "sivei-impugnada-qr/1";
  const CONTEXT_KEYS = ["election_hash", "election_key", "group", "manifest"];
  const RECORD_FILES = ["parameters", "manifest", "ceremony", "credentialList"];

  const EN = {
    saltar: "Skip to content",
    nav: "Verification pages",
    "nav.registro": "Check the record, a receipt or the results",
    titulo: "Check a challenged ballot",
    intro: "This page checks, on this device and without sending anything to any server, that a ballot challenged " +
      "in the voting booth is encrypted with exactly the choices it reveals. It works opened from a file, from the " +
      "voting server or from any copy of this folder.",
    "contexto.titulo": "1. The election",
    "contexto.falta": "No election data yet.",
    "contexto.etiqueta": "The election context file (contexto-eleccion.json, offered by the booth), or the record's " +
      "four opening files (parameters.json, manifest.json, ceremony.json and credential-list.json)",
    "huella.eleccion": "Election fingerprint",
    "huella.manifiesto": "Manifest fingerprint",
    "huella.nota": "Compare it with the one the booth showed and the one on the public board.",
    "boleta.titulo": "2. The challenged ballot",
    "boleta.archivo": "Challenged-ballot file (boleta-impugnada-….json)",
    "boleta.texto": "Or paste here the text of the file or of the QR code",
    "boleta.escanear": "Read the QR code with the camera",
    "boleta.verificar": "Check",
    "camara.cerrar": "Close the camera",
    "resultado.titulo": "Result",
    "resultado.codigo": "Tracking code (recomputed)",
    "resultado.compara": "It must be the same code the booth showed you BEFORE you chose to challenge.",
    "resultado.opciones": "Revealed choices",
    pie: "You can also check it without a browser: <span class=\"mono\">sivei impugnada --eleccion … BALLOT.json</span>.",
  };
  const MSG = {
    idioma: ["English", "Español"],
    cargado: ["Datos de la elección cargados ({0}).", "Election data loaded ({0})."],
    deArchivo: ["del archivo", "from the file"],
    deRegistro: ["de los archivos de apertura del registro; H_E recalculado", "from the record's opening files; H_E recomputed"],
    deServidor: ["de {0}", "from {0}"],
    grupoPrueba: ["grupo de prueba: no es una elección real", "test group: not a real election"],
    faltaContexto: ["Primero carga los datos de la elección (paso 1).", "First load the election data (step 1)."],
    faltaBoleta: ["Elige el archivo de la boleta impugnada o pega su texto.", "Choose the challenged-ballot file or paste its text."],
    noJson: ["El texto no es JSON válido: {0}", "The text is not valid JSON: {0}"],
    archivosNo: ["No se reconocieron los archivos: {0}", "The files were not recognized: {0}"],
    faltanRegistro: ["Faltan archivos de apertura: {0}", "Opening files missing: {0}"],
    bien: ["El cifrado corresponde exactamente a las opciones reveladas.", "The encryption matches the revealed choices exactly."],
    mal: ["El cifrado NO corresponde a las opciones reveladas: el dispositivo que cifró no es confiable. Repórtalo.",
      "The encryption does NOT match the revealed choices: the encrypting device is not trustworthy. Report it."],
    qrBien: ["Boleta reconstruida a partir del código QR. Si el código de rastreo es el que mostró la cabina, el cifrado corresponde a estas opciones.",
      "Ballot rebuilt from the QR code. If the tracking code is the one the booth showed, the encryption matches these choices."],
    otraEleccion: ["La boleta es de otra elección (su huella no es la de los datos cargados).",
      "The ballot belongs to another election (its fingerprint is not that of the loaded data)."],
    verificando: ["Verificando…", "Checking…"],
    noRegistrado: ["Candidatura no registrada", "Non-registered candidate"],
    camaraNo: ["No se pudo abrir la cámara.", "The camera could not be opened."],
  };

  let lang = "es";
  let ctx = null;
  let contextSource = "";
  let lastInput = null;
  const spanish = new Map();

  function t(key, ...args) {
    let text = MSG[key][lang === "en" ? 1 : 0];
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
    S.registro.applyPageTexts(lang, EN, spanish);
    $("idioma").textContent = t("idioma");
    $("idioma").lang = lang === "es" ? "en" : "es";
    S.setLanguage(lang);
    if (ctx !== null) showContext();
    if (lastInput !== null) verify(lastInput);
  }

  function alertText(text) {
    const box = $("alerta");
    box.textContent = text;
    box.hidden = text === "";
  }

  // -- the election's context ---------------------------------------------------------------------------

  async function showContext() {
    const note = ctx.group.name !== "eg2-baseline" ? ` — ${t("grupoPrueba")}` : "";
    $("contexto-estado").textContent = t("cargado", contextSource) + note;
    $("huella-eleccion").textContent = ctx.electionFingerprint;
    $("huella-manifiesto").textContent = S.fingerprint(await ctx.manifest.hash());
    $("contexto-huella").hidden = false;
  }

  // The context's keys; "emblems" (the parties' SVG files, when the manifest names them) may be there.
  function isContextJson(obj) {
    return obj !== null && typeof obj === "object" && !Array.isArray(obj)
      && Object.keys(obj).filter((k) => k !== "emblems").sort().join(",") === CONTEXT_KEYS.join(",");
  }

  function recordRole(name, obj) {
    const base = name.replace(/^.*[\\/]/, "").toLowerCase();
    if (base === "parameters.json" || (obj && obj.p && obj.q && obj.g && obj.name)) return "parameters";
    if (base === "ceremony.json" || (obj && Array.isArray(obj.rounds))) return "ceremony";
    if (base === "credential-list.json" || (obj && obj.type === "credential-list")) return "credentialList";
    if (base === "manifest.json" || (obj && obj.election_id && obj.contests)) return "manifest";
    return null;
  }

  async function loadContextFiles(files) {
    alertText("");
    const parsed = [];
    for (const file of files) {
      try {
        parsed.push({ name: file.name, obj: JSON.parse(await file.text()) });
      } catch (err) {
        alertText(t("archivosNo", `${file.name}: ${errText(err)}`));
        return;
      }
    }
    try {
      const single = parsed.find((p) => isContextJson(p.obj));
      if (single) {
        ctx = S.ElectionContext.fromJson(single.obj, { allowTestGroup: true });
        contextSource = `${t("deArchivo")} ${single.name}`;
      } else {
        const found = {};
        for (const p of parsed) {
          const role = recordRole(p.name, p.obj);
          if (role === null) throw new Error(p.name);
          found[role] = p.obj;
        }
        const missing = RECORD_FILES.filter((r) => !(r in found));
        if (missing.length > 0) {
          alertText(t("faltanRegistro", missing.map((r) => (r === "credentialList" ? "credential-list" : r) + ".json").join(", ")));
          return;
        }
        ctx = await S.contextFromRecordFiles(found, { allowTestGroup: true });
        contextSource = t("deRegistro");
      }
    } catch (err) {
      alertText(t("archivosNo", errText(err)));
      return;
    }
    await showContext();
  }

  async function loadContextFromServer() {
    if (!/^https?:$/.test(location.protocol)) return;
    for (const url of ["contexto.json", "/api/eleccion/contexto"]) {
      try {
        const r = await fetch(url, { credentials: "omit", headers: { Accept: "application/json" } });
        if (!r.ok) continue;
        const obj = await r.json();
        if (!isContextJson(obj)) continue;
        ctx = S.ElectionContext.fromJson(obj, { allowTestGroup: true });
        contextSource = t("deServidor", new URL(url, location.href).href);
        await showContext();
        return;
      } catch {
        // try the next place
      }
    }
  }

  // -- the challenged ballot --------------------------------------------------------------------------

  function choiceLabel(contestId, optionId) {
    try {
      const c = ctx.manifest.contest(contestId);
      const op = c.options[c.optionIndex(optionId)];
      return op.kind === "write_in" ? t("noRegistrado") : op.label;
    } catch {
      return optionId;
    }
  }

  function showResult(ok, verdict, trackingCode, choices, problems) {
    const v = $("veredicto");
    v.textContent = verdict;
    v.className = `veredicto ${ok ? "ok" : "mal"}`;
    $("codigo").textContent = trackingCode || "—";
    const dl = $("opciones");
    dl.replaceChildren();
    for (const [contestId, optionId] of Object.entries(choices || {})) {
      let title = contestId;
      try {
        title = ctx.manifest.contest(contestId).title;
      } catch {
        // shown by id
      }
      const dt = document.createElement("dt");
      dt.textContent = title;
      const dd = document.createElement("dd");
      dd.textContent = choiceLabel(contestId, optionId);
      dl.append(dt, dd);
    }
    const ul = $("problemas");
    ul.replaceChildren();
    for (const p of problems) {
      const li = document.createElement("li");
      li.textContent = `${p.check}: ${p.message}`;
      ul.append(li);
    }
    $("resultado").hidden = false;
    $("t-resultado").focus();
  }

  async function verify(obj) {
    lastInput = obj;
    alertText("");
    if (ctx === null) {
      alertText(t("faltaContexto"));
      return;
    }
    $("verificar").disabled = true;
    $("contexto-estado").setAttribute("aria-busy", "true");
    try {
      if (obj && obj.format === QR_FORMAT) {
        if (String(obj.election_hash).toLowerCase() !== S.bytesToHex(ctx.electionHash)) {
          showResult(false, t("otraEleccion"), "", obj.choices, []);
          return;
        }
        let ballot;
        try {
          ballot = await S.encryptBallot(ctx, obj.style, obj.choices, S.hexToBytes(obj.credential, 32, "credential"),
            S.hexToBytes(obj.ballot_nonce, 32, "ballot_nonce"));
        } catch (err) {
          showResult(false, t("mal"), "", obj.choices, [{ check: "challenge.choices", message: errText(err) }]);
          return;
        }
        showResult(true, t("qrBien"), await ballot.trackingCode(ctx), obj.choices, []);
        return;
      }
      const result = await S.checkChallenge(ctx, obj);
      const ok = result.problems.length === 0;
      showResult(ok, ok ? t("bien") : t("mal"), result.trackingCode, obj.choices, result.problems);
    } catch (err) {
      const other = err instanceof S.EncodingError && /otra elección|another election/.test(`${err.es} ${err.en}`);
      showResult(false, other ? t("otraEleccion") : errText(err), "", obj && obj.choices, []);
    } finally {
      $("verificar").disabled = false;
      $("contexto-estado").removeAttribute("aria-busy");
    }
  }

  async function onVerify() {
    let text = $("texto").value.trim();
    const file = $("archivo").files[0];
    if (text === "" && file) text = (await file.text()).trim();
    if (text === "") {
      alertText(t("faltaBoleta"));
      return;
    }
    let obj;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      alertText(t("noJson", errText(err)));
      return;
    }
    $("resultado").hidden = true;
    await verify(obj);
  }

  let stream = null;

  function stopCamera() {
    if (stream !== null) for (const track of stream.getTracks()) track.stop();
    stream = null;
    $("camara").hidden = true;
  }

  async function scan() {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch {
      alertText(t("camaraNo"));
      return;
    }
    $("camara").hidden = false;
    const video = $("video");
    video.srcObject = stream;
    video.play().catch(() => {}); // not awaited: an empty or slow stream may never start
    const detector = new globalThis.BarcodeDetector({ formats: ["qr_code"] });
    const tick = async () => {
      if (stream === null) return;
      try {
        const codes = await detector.detect(video);
        if (codes.length > 0) {
          $("texto").value = codes[0].rawValue;
          stopCamera();
          await onVerify();
          return;
        }
      } catch {
        // not ready yet
      }
      setTimeout(tick, 250);
    };
    tick();
  }

  /** BarcodeDetector with QR codes and a camera API (not every browser has them). */
  async function canScanQr() {
    try {
      if (typeof globalThis.BarcodeDetector !== "function" || !navigator.mediaDevices
        || typeof navigator.mediaDevices.getUserMedia !== "function") return false;
      return (await globalThis.BarcodeDetector.getSupportedFormats()).includes("qr_code");
    } catch {
      return false;
    }
  }

  function start() {
    $("idioma").addEventListener("click", () => {
      lang = lang === "es" ? "en" : "es";
      applyLanguage();
    });
    const asked = new URLSearchParams(location.search).get("lang");
    if (asked === "en") lang = "en";
    applyLanguage();
    $("contexto").addEventListener("change", (e) => loadContextFiles([...e.target.files]));
    $("archivo").addEventListener("change", () => {
      $("texto").value = "";
    });
    $("verificar").addEventListener("click", onVerify);
    canScanQr().then((yes) => {
      if (!yes) return;
      $("escanear").hidden = false;
      $("escanear").addEventListener("click", scan);
      $("camara-cerrar").addEventListener("click", stopCamera);
    });
    loadContextFromServer();
  }

  start();
})();
