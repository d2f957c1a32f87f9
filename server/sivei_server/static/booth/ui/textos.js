// The booth's texts. Spanish first: the static texts are written in the template
// (templates/booth/cabina.html, elements with data-i18n="key") and EN below holds their English;
// the texts the page composes are pairs [es, en] in MSG.

export const EN = {
  prueba: "Test group: this is not a real election.",
  "quiosco.titulo": "Voting kiosk",
  "quiosco.espera": "This kiosk is free. The consulate's staff will assign it to you when it is your turn; the " +
    "booth will open by itself.",
  "quiosco.privado": "Your vote is encrypted on this kiosk and nobody sees it. When you finish, the kiosk starts " +
    "again and keeps nothing of yours.",
  "quiosco.terminar": "Finish",
  "quiosco.carta": "Hold the QR code of your letter (or message) from the credential authority to the kiosk's " +
    "reader. You can also type your 27-character credential.",
  "quiosco.tarjeta": "Hold the QR code of the card the consulate's staff gave you to the kiosk's reader. You can " +
    "also type the credential printed on it.",
  "quiosco.verificar": "Read the QR code below with your phone on the public board's verification page and compare " +
    "the tracking code.",
  "quiosco.recibo": "Write down your tracking code (or take a picture of it) to look it up on the public board. " +
    "When you finish, the kiosk starts again and keeps nothing of yours.",
  "carga.titulo": "Voting booth",
  "carga.texto": "Getting the booth ready…",
  "carga.descarga": "Downloading the booth (step 1 of 3)…",
  "votado.titulo": "You have already voted",
  "votado.texto": "Your vote is already on the public board. You can look up your tracking code there.",
  "enlace.tablero": "Go to the public board",
  "sesion.titulo": "Log in to vote",
  "sesion.titulo.terminada": "Your session has ended",
  "sesion.terminada": "Sessions last 30 minutes and cannot be extended. Your credential, your marks and your " +
    "ballot are still in this page, which sent nothing: log in again in the tab that will open, then come back to " +
    "this tab to continue where you were.",
  "aviso.titulo": "Your session is ending",
  "aviso.nota": "A session lasts 30 minutes from the login and cannot be extended. If it ends, you can log in " +
    "again in another tab without losing your ballot.",
  seguir: "Keep voting",
  "sesion.enlace": "Your credential was read from your link and stays in this page's memory (it is not sent to the " +
    "server). Log in in the tab that will open, then come back to this tab to vote.",
  "sesion.texto": "To vote, first log in with your username and password.",
  "sesion.entrar": "Log in",
  "sesion.lista": "I have logged in: continue",
  paso1: "Step 1 of 4.",
  paso2: "Step 2 of 4.",
  paso3: "Step 3 of 4.",
  paso4: "Step 4 of 4.",
  "credencial.titulo": "Your voting credential",
  "credencial.texto": "Type or paste the 27-character credential from your letter (for example " +
    '<span class="mono">ABCDE-FGHJK-…-7X</span>). Upper or lower case and hyphens do not matter.',
  "credencial.enlace": "If you open the link in the credential authority's message (or scan its QR code), the " +
    "booth reads the credential by itself and you do not have to type it.",
  "credencial.privado": "Your credential stays in this page's memory: it is neither stored nor sent to the server. " +
    "This page signs your vote with it.",
  "huella.manifiesto": "Manifest fingerprint",
  "huella.manifiesto.nota": "(compare it with the one in your letter)",
  "credencial.etiqueta": "Credential",
  "credencial.continuar": "Continue",
  "credencial.escanear": "Read the QR code in my letter",
  "camara.texto": "Point the camera at your credential's QR code.",
  "camara.cerrar": "Close the camera",
  "boleta.titulo": "Your ballot",
  "boleta.texto": "Mark one option in each contest. If you mark two or more parties of the same coalition, your vote " +
    "counts for their joint candidacy; options that cannot be combined with your mark are disabled. If you mark " +
    "nothing, that vote counts as null.",
  "boleta.revisar": "Review my vote",
  "secreto.titulo": "Your vote is secret",
  "secreto.texto": "Your vote is encrypted on this device before it leaves it. Nobody can see it — not INE, not " +
    "the server, not the people who run it. It is only counted together with all the others, when the key-holders " +
    "open the vault at the close.",
  "secreto.codigo": "When you encrypt it you get a tracking code: with it you find your encrypted ballot on the " +
    "public board and check that it was counted. The code does not reveal whom you voted for.",
  "revision.titulo": "Check your vote",
  "revision.texto": "Check that this is what you want to vote. If something is wrong, correct it before encrypting.",
  "huella.eleccion": "Election fingerprint",
  "huella.nota": "They must be the same as those published on the board and in the official notices.",
  "revision.cifrar": "Encrypt my vote",
  "revision.corregir": "Correct my vote",
  "codigo.titulo": "Your tracking code",
  "codigo.texto": "Your vote is now encrypted on this device. Write down this tracking code (or take a picture of " +
    "it): with it you will find your ballot on the public board.",
  "codigo.pregunta": "What do you want to do?",
  "codigo.depositar": "Cast my vote",
  "codigo.depositar.nota": "Signs your ballot with your credential and sends it. You will not be able to change " +
    "your vote.",
  "codigo.impugnar": "Verify this ballot",
  "codigo.impugnar.nota": "Check on another device that your vote was encrypted exactly as you marked it. This " +
    "ballot is then opened to be checked: it is neither sent nor counted, and you vote again with a new encryption.",
  "impugnada.titulo": "Verify this ballot on another device",
  "impugnada.texto": "This ballot was NOT sent and will not be counted. To check that this device encrypted exactly " +
    "your choices, open the verification page on another device with the file below (or read the QR code) and " +
    "compare the tracking code.",
  "impugnada.codigo": "Tracking code",
  "impugnada.nonce": "Ballot nonce",
  "impugnada.opciones": "Revealed choices",
  "impugnada.nombre": "The name you typed for a non-registered candidate is not in the file: it never leaves this " +
    "device.",
  "impugnada.descargar": "Download the ballot to verify (JSON)",
  "impugnada.contexto": "Download the election context (JSON)",
  "impugnada.abrir": "Open the verification page",
  "impugnada.qr": "QR code to check on another device (it holds your public credential, your choices and the " +
    "nonce; not your private credential).",
  "impugnada.otra": "Vote again",
  "recibo.titulo": "Your vote was cast",
  "recibo.texto": "The server received your ballot and added it to the public board. This is your receipt, signed " +
    "by the server; keep it.",
  "recibo.codigo": "Tracking code",
  "recibo.indice": "Position on the board",
  "recibo.hora": "Received",
  "recibo.cabeza": "Board head after your ballot",
  "recibo.descargar": "Download the receipt (JSON)",
  "recibo.tablero": "Find my code on the public board",
  "recibo.nota": "With the record published at the end, anyone can check your receipt: " +
    '<span class="mono">sivei verificar RECORD --receipt RECEIPT.json</span>.',
  "error.titulo": "Could not continue",
  "error.reintentar": "Try sending again",
  "error.entrar": "Log in again",
};

export const MSG = {
  idioma: ["English", "Español"],
  sesion: ["Tu sesión termina a las {0}.", "Your session ends at {0}."],
  avisoSesion5: [
    "Tu sesión termina en 5 minutos (a las {0}). Tu boleta sigue en esta página.",
    "Your session ends in 5 minutes (at {0}). Your ballot is still in this page.",
  ],
  avisoSesion1: [
    "Tu sesión termina en 1 minuto (a las {0}). Si termina, inicia sesión de nuevo en otra pestaña: no perderás tu boleta.",
    "Your session ends in 1 minute (at {0}). If it ends, log in again in another tab: you will not lose your ballot.",
  ],
  sesionRenovada: [
    "Iniciaste sesión de nuevo. Tu boleta firmada sigue en esta página: envíala (si ya había llegado, recibirás el mismo recibo).",
    "You logged in again. Your signed ballot is still in this page: send it (if it had already arrived, you will get " +
      "the same receipt).",
  ],
  sesionRenovadaBoleta: [
    "Iniciaste sesión de nuevo: tu credencial y tus marcas siguen aquí.",
    "You logged in again: your credential and your marks are still here.",
  ],
  noDisponible: [
    "No disponible: no se puede combinar con tu marca.",
    "Not available: it cannot be combined with your mark.",
  ],
  nombreAviso: [
    "El nombre no se registra en ningún lado: tu voto cuenta como «candidatura no registrada», sin el nombre.",
    "The name is never recorded anywhere: your vote counts as “non-registered candidate”, without the name.",
  ],
  progresoEleccion: ["Leyendo tu sesión y la elección (paso 2 de 3)…", "Reading your session and the election (step 2 of 3)…"],
  progresoBoleta: ["Preparando tu boleta (paso 3 de 3)…", "Preparing your ballot (step 3 of 3)…"],
  eleccionDe: ["Elección {0} de {1}", "Contest {0} of {1}"],
  ayudaCandidatura: [
    "Marca una opción. Puedes marcar dos o más partidos solo si son de la misma coalición.",
    "Mark one option. You can mark two or more parties only if they belong to the same coalition.",
  ],
  ayudaConsulta: ["Marca una respuesta.", "Mark one answer."],
  anular: ["Anular mi voto", "Cancel (null) my vote"],
  anularNota: ["tu voto en esta elección será nulo", "your vote in this contest will be null"],
  noRegistrado: ["Candidatura no registrada", "Non-registered candidate"],
  nombre: ["Nombre de la persona (solo para tu revisión)", "The person's name (for your review only)"],
  coalicion: ["{0}", "{0}"],
  tuVoto: ["Tu voto: {0}", "Your vote: {0}"],
  sinMarca: ["Sin marca: contará como voto nulo.", "Not marked: it will count as a null vote."],
  anulado: ["Voto anulado (nulo)", "Vote cancelled (null)"],
  desactivadas: [
    "Las opciones que no se pueden combinar con tu marca están desactivadas; quita tu marca para elegir otra.",
    "Options that cannot be combined with your mark are disabled; remove your mark to choose another.",
  ],
  escribeNombre: [
    "Escribe el nombre de la candidatura no registrada, o elige otra opción.",
    "Type the name of the non-registered candidate, or choose another option.",
  ],
  noRegistradoCon: ["Candidatura no registrada: {0}", "Non-registered candidate: {0}"],
  cifrando: ["Cifrando tu voto en este dispositivo…", "Encrypting your vote on this device…"],
  cifrado: ["Voto cifrado.", "Vote encrypted."],
  firmando: ["Firmando y enviando tu boleta…", "Signing and sending your ballot…"],
  impugnando: ["Preparando la boleta para verificar…", "Preparing the ballot to verify…"],
  listo: ["Listo.", "Done."],
  credencialLeida: ["Credencial leída.", "Credential read."],
  credencialEnlace: [
    "Tu credencial se leyó de tu enlace: no tienes que escribirla.",
    "Your credential was read from your link: you do not have to type it.",
  ],
  ventanaBloqueada: [
    "El navegador no abrió la pestaña para iniciar sesión. Permite ventanas emergentes para este sitio, o inicia " +
      "sesión y vuelve a abrir el enlace de tu mensaje.",
    "The browser did not open the login tab. Allow pop-ups for this site, or log in and open the link in your " +
      "message again.",
  ],
  reciboCoincide: [
    "El recibo corresponde a la boleta que cifró este dispositivo.",
    "The receipt matches the ballot this device encrypted.",
  ],
  reciboNoCoincide: [
    "ATENCIÓN: el recibo NO corresponde a la boleta que cifró este dispositivo. Guarda el recibo y repórtalo.",
    "WARNING: the receipt does NOT match the ballot this device encrypted. Keep the receipt and report it.",
  ],
  sinRed: [
    "No hubo respuesta del servidor. Tu boleta firmada sigue en esta página: reintenta el envío (si ya había " +
      "llegado, recibirás el mismo recibo).",
    "The server did not answer. Your signed ballot is still on this page: try sending it again (if it had " +
      "already arrived, you will get the same receipt).",
  ],
  falloCabina: [
    "No se pudo preparar la cabina: {0}",
    "The booth could not be prepared: {0}",
  ],
  estiloDesconocido: ["tu tipo de boleta no está en el manifiesto", "your ballot style is not in the manifest"],
  qrNoLegible: ["No se reconoció una credencial en el código QR.", "No credential was recognized in the QR code."],
  camaraNo: ["No se pudo abrir la cámara: escribe la credencial.", "The camera could not be opened: type the credential."],
};
