// In-person voting at consulates in the record checker (mirrors sivei/record/consulates.py and
// sivei/ballot/in_person.py; docs/protocol.md §18.1 and §20). Two stages, with the Python verifier's
// check ids and locations:
//
// * after the board: consulates.declaration (consulados/consulados.json is the declaration the list
//   signs, and agrees with the list and the manifest), consulates.log (each consulate's signed log:
//   of this election, by the manifest's log key, within the cap), consulates.one-person (nobody served
//   at two consulates) and consulates.reconciliation (pool credentials used ≤ unregistered voters
//   served; registered voters' ballots ≤ registered voters served);
// * after the results: consulates.channels (consulados/canales.json — the ballots per channel and
//   cell recomputed from the board and the declaration, the 30-ballot rule, the consulados
//   aggregates recomputed, every share proof, the present set, the weights, the counts and internet =
//   combined − consulados option by option).
//
// Every part runs in full: the declaration and logs are bounded by the consulates' caps, and the
// split's share proofs are at most as many as the decryption stage's (one per option of the split
// cells and guardian present).

import { bytesToHex, equalBytes } from "../../booth/js/bytes.js";
import { parseEnvelope } from "../../booth/js/ceremony.js";
import { envelopeContentHash } from "../../booth/js/context.js";
import { parseGuardianDecryption, statedWeightsMatch, verifyShare } from "../../booth/js/decryption.js";
import { verifyDigest } from "../../booth/js/ecdsa.js";
import { Encoder, hexToBytes, taggedHash } from "../../booth/js/encoding.js";
import { SiveiError, bi, errorText } from "../../booth/js/errors.js";
import { parseResults } from "../../booth/js/results.js";
import { EncryptedTally, sameEntry } from "../../booth/js/tally.js";

export const RECORD_DIR = "consulados";
export const DECLARATION = `${RECORD_DIR}/consulados.json`;
export const CHANNELS = `${RECORD_DIR}/canales.json`;
export const TAG_DECLARATION = "sivei/in-person";
export const DECLARATION_FORMAT = "sivei-consulados";
export const DECLARATION_VERSION = 1;
export const LOG_TYPE = "consulate-log";
export const CHANNEL_MINIMUM = 30;
const HEX64 = /^[0-9a-f]{64}$/;

export function logPath(code) {
  return `${RECORD_DIR}/bitacora-${code}.json`;
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function hasExactly(obj, keys) {
  const own = Object.keys(obj);
  return own.length === keys.length && keys.every((k) => Object.prototype.hasOwnProperty.call(obj, k));
}

function isCount(v) {
  return Number.isInteger(v) && typeof v === "number";
}

function py(v) {
  return typeof v === "string" ? `'${v}'` : JSON.stringify(v);
}

// -- the authority's declaration ---------------------------------------------------------------------

/** consulados.json's shape (Python's InPersonDeclaration.from_json): {electionId, consulates: [{code,
 * registered: [hex], pool: [hex]}]}. */
export function parseDeclaration(obj, what = "consulados.json") {
  const bad = (es, en) => new SiveiError(`${what}: ${es}`, `${what}: ${en}`);
  if (!isObject(obj) || !hasExactly(obj, ["format", "version", "election_id", "consulates"])
    || obj.format !== DECLARATION_FORMAT || obj.version !== DECLARATION_VERSION) {
    throw bad(`no es una declaración ${DECLARATION_FORMAT} versión ${DECLARATION_VERSION}`,
      `not a ${DECLARATION_FORMAT} version ${DECLARATION_VERSION} declaration`);
  }
  if (typeof obj.election_id !== "string" || !Array.isArray(obj.consulates)) {
    throw bad("«election_id» o «consulates» mal formados", "malformed «election_id» or «consulates»");
  }
  const consulates = obj.consulates.map((c, i) => {
    const where = `consulates[${i}]`;
    if (!isObject(c) || !hasExactly(c, ["code", "registered", "pool"]) || typeof c.code !== "string") {
      throw bad(`${where}: se esperaban «code», «registered» y «pool»`, `${where}: expected «code», «registered» and «pool»`);
    }
    for (const key of ["registered", "pool"]) {
      if (!Array.isArray(c[key]) || !c[key].every((v) => typeof v === "string" && HEX64.test(v))) {
        throw bad(`${where}.${key}: se esperaban credenciales públicas (64 dígitos hexadecimales)`,
          `${where}.${key}: expected public credentials (64 hex digits)`);
      }
    }
    return Object.freeze({ code: c.code, registered: [...c.registered], pool: [...c.pool] });
  });
  return Object.freeze({ electionId: obj.election_id, consulates });
}

/** H("sivei/in-person", …): the signed list's in_person_hash (docs/protocol.md §20). */
export async function declarationHash(declaration) {
  const enc = new Encoder().string(declaration.electionId).u32(declaration.consulates.length);
  for (const c of declaration.consulates) {
    enc.string(c.code).u32(c.registered.length);
    for (const k of c.registered) enc.fixed(hexToBytes(k, 32, "registered"), 32);
    enc.u32(c.pool.length);
    for (const k of c.pool) enc.fixed(hexToBytes(k, 32, "pool"), 32);
  }
  return taggedHash(TAG_DECLARATION, enc.toBytes());
}

/** Every in-person credential (hex) of the declaration: the consulados channel. */
export function inPersonSet(declaration) {
  return new Set(declaration.consulates.flatMap((c) => [...c.registered, ...c.pool]));
}

/** Every way the declaration disagrees with the manifest, the list (`entries`) and the list body's
 * in_person_hash (Python's InPersonDeclaration.problems). */
export async function declarationProblems(declaration, manifest, entries, statedHash) {
  const out = [];
  const w = "consulados.json";
  const ip = manifest.inPerson;
  if (ip === null) return [bi(`${w}: el manifiesto no tiene voto en consulados`, `${w}: the manifest has no consulate vote`)];
  if (declaration.electionId !== manifest.electionId) {
    out.push(bi(`${w}: es de la elección ${py(declaration.electionId)}`, `${w}: belongs to election ${py(declaration.electionId)}`));
  }
  if (statedHash !== bytesToHex(await declarationHash(declaration))) {
    out.push(bi(`${w}: su hash no es el «in_person_hash» que firma la lista de credenciales`,
      `${w}: its hash is not the «in_person_hash» the credential list signs`));
  }
  const codes = declaration.consulates.map((c) => c.code);
  const manifestCodes = ip.consulates.map((c) => c.code);
  if (codes.join("\u0000") !== manifestCodes.join("\u0000") || codes.length !== manifestCodes.length) {
    out.push(bi(`${w}: los consulados ${JSON.stringify(codes)} no son los del manifiesto ${JSON.stringify(manifestCodes)}, en su orden`,
      `${w}: consulates ${JSON.stringify(codes)} are not the manifest's ${JSON.stringify(manifestCodes)}, in its order`));
  }
  const unregistered = ip.unregistered_style;
  const seen = new Map();
  for (const c of declaration.consulates) {
    for (const [kind, keys] of [["registered", c.registered], ["pool", c.pool]]) {
      const where = `${w}: ${c.code}.${kind}`;
      const sorted = [...new Set(keys)].sort();
      if (sorted.length !== keys.length || sorted.some((k, i) => k !== keys[i])) {
        out.push(bi(`${where}: credenciales repetidas o fuera de orden`, `${where}: repeated or unsorted credentials`));
      }
      for (const k of keys) {
        const style = entries.styleFor(hexToBytes(k, 32, where));
        const short = `${k.slice(0, 16)}…`;
        if (style === null) {
          out.push(bi(`${where}: la credencial ${short} no está en la lista`, `${where}: credential ${short} is not on the list`));
        } else if ((kind === "pool") !== (style === unregistered)) {
          out.push(bi(`${where}: la credencial ${short} es del estilo ${py(style)}; el fondo es del estilo ${py(unregistered)} ` +
            "y los registrados, de su entidad",
          `${where}: credential ${short} is of style ${py(style)}; the pool is of style ${py(unregistered)} and registered ` +
            "voters of their entity's"));
        }
        if (seen.has(k)) {
          out.push(bi(`${where}: la credencial ${short} ya está en ${seen.get(k)}`, `${where}: credential ${short} is already in ${seen.get(k)}`));
        }
        seen.set(k, `${c.code}.${kind}`);
      }
    }
    const consulate = ip.consulates.find((x) => x.code === c.code);
    if (consulate !== undefined && c.pool.length !== consulate.unregistered_cap) {
      out.push(bi(`${w}: ${c.code}.pool tiene ${c.pool.length} credenciales; el tope del manifiesto es ${consulate.unregistered_cap}`,
        `${w}: ${c.code}.pool has ${c.pool.length} credentials; the manifest's cap is ${consulate.unregistered_cap}`));
    }
  }
  // Credentials of the unregistered voters' style outside every pool: the list's count of that style
  // minus the pooled credentials the list gives that style.
  const pooled = new Set(declaration.consulates.flatMap((c) => c.pool));
  let pooledOfStyle = 0;
  for (const k of pooled) if (entries.styleFor(hexToBytes(k, 32, "pool")) === unregistered) pooledOfStyle += 1;
  const stray = (entries.perStyle.get(unregistered) || 0) - pooledOfStyle;
  if (stray > 0) {
    out.push(bi(`${w}: ${stray} credenciales del estilo ${py(unregistered)} no están en ningún fondo ` +
      "(solo se votan con una sesión de consulado)",
    `${w}: ${stray} credentials of style ${py(unregistered)} are in no pool (they are voted only in a consulate's session)`));
  }
  return out;
}

// -- a consulate's signed log ------------------------------------------------------------------------

function parseLogBody(body, what) {
  if (!isObject(body) || !hasExactly(body, ["consulate", "registered_served", "unregistered"])) {
    throw new SiveiError(`${what}: se esperaban «consulate», «registered_served» y «unregistered»`,
      `${what}: expected «consulate», «registered_served» and «unregistered»`);
  }
  const served = body.registered_served;
  if (typeof body.consulate !== "string" || !isCount(served) || served < 0) {
    throw new SiveiError(`${what}: «consulate» o «registered_served» mal formados`,
      `${what}: malformed «consulate» or «registered_served»`);
  }
  const hashes = body.unregistered;
  if (!Array.isArray(hashes) || !hashes.every((h) => typeof h === "string" && HEX64.test(h))) {
    throw new SiveiError(`${what}.unregistered: se esperaban hashes de 64 dígitos hexadecimales`,
      `${what}.unregistered: expected 64-hex-digit hashes`);
  }
  const sorted = [...new Set(hashes)].sort();
  if (sorted.length !== hashes.length || sorted.some((h, i) => h !== hashes[i])) {
    throw new SiveiError(`${what}.unregistered: una persona aparece dos veces, o la lista no está ordenada`,
      `${what}.unregistered: a person appears twice, or the list is not sorted`);
  }
  return { consulate: body.consulate, registeredServed: served, unregistered: hashes };
}

/** Consulate `code`'s signed log (Python's check_log): {log (null when unusable), problems}. what:
 * {es, en}, the name the messages give the log. */
export async function checkLog(manifest, electionHash, code, envelope, { es, en }) {
  const consulate = manifest.inPerson.consulates.find((c) => c.code === code);
  const problems = [];
  const sender = `consulado-${code}`;
  const header = [["type", envelope.type, LOG_TYPE], ["election_id", envelope.electionId, manifest.electionId],
    ["ceremony_id", envelope.ceremonyId, sender], ["sender", envelope.sender, sender], ["round", envelope.round, 0]];
  for (const [name, got, want] of header) {
    if (got !== want) {
      problems.push(bi(`${es}: «${name}» es ${py(got)}, se esperaba ${py(want)}`, `${en}: «${name}» is ${py(got)}, expected ${py(want)}`));
    }
  }
  if (!equalBytes(envelope.previous, electionHash)) {
    problems.push(bi(`${es}: «previous» no es la huella de esta elección (H_E)`, `${en}: «previous» is not this election's hash (H_E)`));
  }
  let signed = false;
  try {
    signed = verifyDigest(hexToBytes(consulate.log_key, 65, "log_key"), await envelopeContentHash(envelope.json), envelope.signature);
  } catch {
    signed = false;
  }
  if (!signed) {
    problems.push(bi(`${es}: la firma no es de la llave de bitácora del consulado ${code} (manifiesto)`, `${en}: the signature is not by consulate ${code}'s log key (manifest)`));
    return { log: null, problems };
  }
  let log;
  try {
    log = parseLogBody(envelope.body, `${es}: body`);
  } catch (err) {
    return { log: null, problems: [...problems, errorText(err)] };
  }
  if (log.consulate !== code) {
    problems.push(bi(`${es}: body.consulate es ${py(log.consulate)}, no ${py(code)}`, `${en}: body.consulate is ${py(log.consulate)}, not ${py(code)}`));
  }
  if (log.unregistered.length > consulate.unregistered_cap) {
    problems.push(bi(`${es}: ${log.unregistered.length} personas sin registro atendidas, más que el tope de ${consulate.unregistered_cap}`, `${en}: ${log.unregistered.length} unregistered voters served, more than the cap of ${consulate.unregistered_cap}`));
  }
  return { log: problems.length ? null : log, problems };
}

// -- the stages ----------------------------------------------------------------------------------------

/**
 * The in-person credentials (hex) the board's channel aggregates keep apart: the declaration's, when
 * it is the one the list signs (else null: the stage says why). Read before the board.
 */
export async function readInPersonSet(checker, body) {
  try {
    const declaration = parseDeclaration(await checker.readJson(DECLARATION), DECLARATION);
    if (bytesToHex(await declarationHash(declaration)) !== body.in_person_hash) return null;
    return inPersonSet(declaration);
  } catch {
    return null; // unreadable: the consulates' stage reports it
  }
}

/** The consulates' stage (Python's check_consulates): `cast` is the set of in-person credentials (hex)
 * that cast a ballot. Returns each consulate's counts. */
export async function checkConsulates(checker, ctx, body, entries, cast) {
  const report = checker.report;
  const ip = ctx.manifest.inPerson;
  report.addFact("one_vote_per_person", bi("un voto por persona en todos los canales (internet y consulados)",
    "one vote per person across channels (internet and consulates)"),
  bi(`${ip.consulates.length} consulados; sus bitácoras firmadas se concilian con las boletas del tablero`,
    `${ip.consulates.length} consulates; their signed logs are reconciled with the board's ballots`));
  let declaration = null;
  try {
    declaration = parseDeclaration(await checker.readJson(DECLARATION), DECLARATION);
  } catch (err) {
    report.add("consulates.declaration", DECLARATION, errorText(err));
  }
  if (declaration !== null) {
    const problems = await declarationProblems(declaration, ctx.manifest, entries, body.in_person_hash);
    for (const p of problems) report.add("consulates.declaration", DECLARATION, p);
    if (problems.length) declaration = null;
  }
  const logs = new Map();
  for (const c of ip.consulates) {
    const where = logPath(c.code);
    if (!checker.files.has(where)) {
      report.add("consulates.log", where, bi(`falta la bitácora firmada del consulado ${c.code}`,
        `the signed log of consulate ${c.code} is missing`));
      continue;
    }
    const what = bi("bitácora", "log");
    let envelope;
    try {
      envelope = parseEnvelope(await checker.readJson(where), "bitácora");
    } catch (err) {
      report.add("consulates.log", where, errorText(err));
      continue;
    }
    const { log, problems } = await checkLog(ctx.manifest, ctx.electionHash, c.code, envelope, what);
    for (const p of problems) report.add("consulates.log", where, p);
    if (log !== null) logs.set(c.code, log);
  }
  const first = new Map();
  for (const [code, log] of logs) {
    for (const h of log.unregistered) {
      if (first.has(h)) {
        report.add("consulates.one-person", logPath(code), bi(
          `la persona sin registro ${h.slice(0, 16)}… ya fue atendida en el consulado ${first.get(h)}: votó dos veces`,
          `unregistered voter ${h.slice(0, 16)}… was already served at consulate ${first.get(h)}: they voted twice`));
      } else {
        first.set(h, code);
      }
    }
  }
  if (declaration === null) return [];
  const out = [];
  for (const c of ip.consulates) {
    const d = declaration.consulates.find((x) => x.code === c.code);
    const poolUsed = d.pool.filter((k) => cast.has(k)).length;
    const registeredBallots = d.registered.filter((k) => cast.has(k)).length;
    const log = logs.get(c.code) || null;
    const where = logPath(c.code);
    if (log !== null && poolUsed > log.unregistered.length) {
      const n = log.unregistered.length;
      report.add("consulates.reconciliation", where, bi(
        `consulado ${c.code}: se usaron ${poolUsed} credenciales de su fondo y su bitácora firmada registra ${n} personas ` +
          `sin registro atendidas: ${poolUsed - n} boletas sin una persona atendida`,
        `consulate ${c.code}: ${poolUsed} credentials of its pool were used and its signed log records ${n} unregistered ` +
          `voters served: ${poolUsed - n} ballots without a voter served`));
    }
    if (log !== null && registeredBallots > log.registeredServed) {
      report.add("consulates.reconciliation", where, bi(
        `consulado ${c.code}: ${registeredBallots} boletas de credenciales de sus votantes registrados y su bitácora ` +
          `firmada registra ${log.registeredServed} votantes registrados atendidos`,
        `consulate ${c.code}: ${registeredBallots} ballots of its registered voters' credentials and its signed log ` +
          `records ${log.registeredServed} registered voters served`));
    }
    const served = log === null ? "?" : log.unregistered.length;
    const registered = log === null ? "?" : log.registeredServed;
    report.addFact(`consulate_${c.code}`, bi(`consulado ${c.code}`, `consulate ${c.code}`), bi(
      `credenciales del fondo usadas ${poolUsed}, personas sin registro atendidas ${served} (tope ${c.unregistered_cap}); ` +
        `boletas de votantes registrados ${registeredBallots}, registrados atendidos ${registered}`,
      `pool credentials used ${poolUsed}, unregistered voters served ${served} (cap ${c.unregistered_cap}); ` +
        `ballots of registered voters ${registeredBallots}, registered voters served ${registered}`));
    out.push({ code: c.code, cap: c.unregistered_cap, poolUsed, unregisteredServed: log && log.unregistered.length,
      registeredBallots, registeredServed: log && log.registeredServed });
  }
  return out;
}

// -- results per channel (§20.5) ---------------------------------------------------------------------

/** Ballots per channel in every cell (both tallies in the manifest's entry order). */
export function channelCells(combined, consulados) {
  return combined.entries.map((c, i) => ({ entity: c.entity, contestIndex: c.contestIndex,
    internet: c.ballots - consulados.entries[i].ballots, consulados: consulados.entries[i].ballots }));
}

function isSplit(cell) {
  return Math.min(cell.internet, cell.consulados) >= CHANNEL_MINIMUM;
}

function parseCells(obj) {
  if (!Array.isArray(obj)) throw new SiveiError("«cells»: se esperaba una lista", "«cells»: expected a list");
  return obj.map((c, i) => {
    const keys = ["entity", "contest_index", "internet", "consulados"];
    if (!isObject(c) || !hasExactly(c, keys) || typeof c.entity !== "string"
      || !["contest_index", "internet", "consulados"].every((k) => isCount(c[k]))) {
      throw new SiveiError(`cells[${i}]: campos no válidos`, `cells[${i}]: invalid fields`);
    }
    return { entity: c.entity, contestIndex: c.contest_index, internet: c.internet, consulados: c.consulados };
  });
}

function sameCells(a, b) {
  return a.length === b.length && a.every((c, i) => c.entity === b[i].entity && c.contestIndex === b[i].contestIndex
    && c.internet === b[i].internet && c.consulados === b[i].consulados);
}

/**
 * consulados/canales.json against the board (Python's check_channels): `combined` the tally
 * recomputed from the board, `consulados` the in-person ballots' aggregates (null: no usable
 * declaration, nothing to check), `outcome` the key ceremony's.
 */
export async function checkChannels(checker, ctx, combined, consulados, outcome, { closed }) {
  if (consulados === null) return;
  const report = checker.report;
  const cells = channelCells(combined, consulados);
  const splitCells = cells.filter(isSplit);
  report.addFact("channel_cells", bi(`celdas (entidad × elección) con al menos ${CHANNEL_MINIMUM} boletas en cada canal`,
    `cells (entity × contest) with at least ${CHANNEL_MINIMUM} ballots in each channel`), `${splitCells.length} / ${cells.length}`);
  const path = CHANNELS;
  if (!checker.files.has(path)) {
    if (!closed) {
      report.note("no se publicaron resultados por canal (consulados/canales.json): solo los resultados combinados",
        "no results per channel were published (consulados/canales.json): only the combined results");
    }
    return;
  }
  const fail = (where, message) => report.add("consulates.channels", where, message);
  let data;
  let stated;
  try {
    data = await checker.readJson(path);
    const keys = isObject(data) ? Object.keys(data) : [];
    if (!isObject(data) || !["minimum", "cells"].every((k) => keys.includes(k))
      || !keys.every((k) => ["minimum", "cells", "split"].includes(k))) {
      throw new SiveiError("campos no válidos", "invalid fields");
    }
    stated = parseCells(data.cells);
  } catch (err) {
    fail(path, errorText(err));
    return;
  }
  if (data.minimum !== CHANNEL_MINIMUM) {
    fail(path, bi(`«minimum» es ${JSON.stringify(data.minimum)}; la regla es ${CHANNEL_MINIMUM}`,
      `«minimum» is ${JSON.stringify(data.minimum)}; the rule is ${CHANNEL_MINIMUM}`));
  }
  if (!sameCells(stated, cells)) {
    fail(`${path}: cells`, bi("las boletas por canal no son las del tablero y la declaración de consulados",
      "the ballots per channel are not those of the board and the consulates' declaration"));
  }
  if (!Object.prototype.hasOwnProperty.call(data, "split")) return;
  const split = data.split;
  if (closed) {
    fail(`${path}: split`, bi("un registro cerrado no lleva resultados por canal", "a closed record carries no results per channel"));
    return;
  }
  let published;
  try {
    if (!isObject(split) || !hasExactly(split, ["encrypted", "decryption", "results"])) {
      throw new SiveiError("campos no válidos", "invalid fields");
    }
    published = EncryptedTally.fromJson(ctx.group, split.encrypted);
  } catch (err) {
    fail(`${path}: split`, errorText(err));
    return;
  }
  const manifest = ctx.manifest;
  const allowed = new Set(splitCells.map((c) => `${c.entity}\u0000${c.contestIndex}`));
  for (const entry of published.entries) {
    if (!allowed.has(`${entry.entity}\u0000${entry.contestIndex}`)) {
      const contest = entry.contestIndex >= 0 && entry.contestIndex < manifest.contests.length
        ? manifest.contests[entry.contestIndex].id : entry.contestIndex;
      fail(`${path}: split.encrypted ${entry.entity}/${contest}`, bi(
        `se descifró por canal una celda con menos de ${CHANNEL_MINIMUM} boletas en algún canal: revela cómo votaron ` +
          "esas personas (el secreto del voto)",
        `a cell with fewer than ${CHANNEL_MINIMUM} ballots in some channel was decrypted per channel: it reveals how ` +
          "those voters voted (ballot secrecy)"));
    }
  }
  const expected = new EncryptedTally(consulados.entries.filter((_, i) => isSplit(cells[i])));
  if (published.entries.length !== expected.entries.length
    || published.entries.some((e, i) => !sameEntry(e, expected.entries[i]))) {
    fail(`${path}: split.encrypted`, bi(
      "los agregados por canal no son los productos de las boletas presenciales de las celdas permitidas",
      "the channel aggregates are not the products of the in-person ballots of the allowed cells"));
    return;
  }
  const decrypted = await splitDecryption(checker, ctx, expected, split.decryption, outcome, fail, `${path}: split.decryption`);
  if (decrypted === null) return;
  await splitResults(checker, ctx, expected, decrypted, split.results, fail, `${path}: split.results`);
}

async function splitDecryption(checker, ctx, split, obj, outcome, fail, where) {
  const { n, t } = checker.ceremony;
  const group = ctx.group;
  let decryptions;
  try {
    if (!isObject(obj) || !hasExactly(obj, ["ceremony_id", "present", "weights", "envelopes"]) || !Array.isArray(obj.envelopes)) {
      throw new SiveiError("campos no válidos", "invalid fields");
    }
    decryptions = obj.envelopes.map((e, i) => {
      const env = parseEnvelope(e, `envelopes[${i}]`);
      return { env, d: parseGuardianDecryption(group, env, `envelopes[${i}]`), what: `envelopes[${i}]` };
    });
    for (const { d, what } of decryptions) {
      for (const [i, row] of d.shares.entries()) {
        for (const [j, share] of row.entries()) {
          if (!group.isElement(share.share)) {
            throw new SiveiError(`${what}.shares[${i}][${j}].share: el elemento no pertenece al subgrupo de orden q`,
              `${what}.shares[${i}][${j}].share: element is not in the order-q subgroup`);
          }
        }
        await checker.tick(0.1);
      }
    }
  } catch (err) {
    if (!(err instanceof SiveiError)) throw err;
    fail(where, errorText(err));
    return null;
  }
  const tHash = await split.hash(ctx);
  const valid = [];
  const total = decryptions.reduce((k, x) => k + x.d.shares.reduce((m, row) => m + row.length, 0), 0) || 1;
  let done = 0;
  for (const { env, d } of decryptions) {
    const who = bi(`${where}, custodio ${d.guardian}`, `${where}, guardian ${d.guardian}`);
    if (!(d.guardian >= 1 && d.guardian <= n)) {
      fail(who, bi("custodio fuera de 1..n", "guardian outside 1..n"));
      continue;
    }
    if (!verifyDigest(outcome.signingKeys[d.guardian - 1], await envelopeContentHash(env.json), env.signature)) {
      fail(who, bi(`firma inválida en el mensaje «${env.type}» de ${env.sender} (ronda ${env.round})`,
        `invalid signature on the «${env.type}» message from ${env.sender} (round ${env.round})`));
      continue;
    }
    if (env.electionId !== ctx.manifest.electionId || env.ceremonyId !== obj.ceremony_id || !equalBytes(d.tallyHash, tHash)
      || !equalBytes(env.previous, tHash) || d.shares.length !== split.entries.length
      || d.shares.some((row, i) => row.length !== split.entries[i].ciphertexts.length)) {
      fail(who, bi("las partes no descifran los agregados por canal de esta elección",
        "the shares do not decrypt this election's channel aggregates"));
      continue;
    }
    const key = outcome.guardianKeys[d.guardian - 1];
    const kTable = group.fixedBase(key);
    let failed = false;
    for (const [ei, row] of d.shares.entries()) {
      for (const [oi, share] of row.entries()) {
        const ok = share.guardian === d.guardian && await verifyShare(group, share, key, split.entries[ei].ciphertexts[oi],
          ctx.electionHash, { powK: (e) => kTable.pow(e) });
        failed = failed || !ok;
        done += 1;
        await checker.tick(0.1 + 0.8 * done / total, done, total);
      }
    }
    if (failed) {
      fail(who, bi("una prueba de descifrado parcial no es válida", "a partial decryption proof is invalid"));
    } else {
      valid.push(d);
    }
  }
  const present = valid.map((d) => d.guardian).sort((a, b) => a - b);
  if (new Set(present).size !== present.length || JSON.stringify(obj.present) !== JSON.stringify(present) || present.length < t) {
    fail(where, bi(`custodios presentes ${JSON.stringify(obj.present)}, con partes válidas ${JSON.stringify(present)} (se necesitan ${t})`,
      `guardians present ${JSON.stringify(obj.present)}, with valid shares ${JSON.stringify(present)} (${t} needed)`));
    return null;
  }
  const { weights, match } = statedWeightsMatch(group, obj.weights, present);
  if (!match) {
    fail(where, bi("los pesos de Lagrange no son los del conjunto presente", "the Lagrange weights are not those of the present set"));
  }
  // g^m = B / Π M_i^{w_i}: kept as (B, Π M_i^{w_i}) and compared without an inverse.
  const ordered = [...valid].sort((a, b) => a.guardian - b.guardian);
  const out = new Map();
  for (const [ei, entry] of split.entries.entries()) {
    for (const [oi, ct] of entry.ciphertexts.entries()) {
      let prod = 1n;
      ordered.forEach((d, k) => {
        prod = (prod * group.pow(d.shares[ei][oi].share, weights[k])) % group.p;
      });
      out.set(`${ei}:${oi}`, { beta: ct.beta, prod });
    }
    await checker.tick(0.9 + 0.1 * (ei + 1) / split.entries.length);
  }
  return out;
}

async function splitResults(checker, ctx, split, decrypted, obj, fail, where) {
  const manifest = ctx.manifest;
  const group = ctx.group;
  let combined;
  try {
    combined = parseResults(manifest, bytesToHex(await manifest.hash()), await checker.readJson("results.json"), checker.version);
  } catch (err) {
    if (!(err instanceof SiveiError)) throw err;
    fail(where, errorText(err));
    return;
  }
  if (!Array.isArray(obj) || obj.length !== split.entries.length) {
    fail(where, bi("se esperaba un resultado por celda separada", "expected one result per split cell"));
    return;
  }
  const byKey = new Map(combined.map((r) => [`${r.entity}\u0000${r.contestId}`, r.optionCounts]));
  for (const [ei, entry] of split.entries.entries()) {
    const r = obj[ei];
    const contest = manifest.contests[entry.contestIndex];
    const cell = `${where} ${entry.entity}/${contest.id}`;
    const options = isObject(r) ? r.options : null;
    const wellFormed = isObject(r) && hasExactly(r, ["entity", "contest_id", "options"]) && r.entity === entry.entity
      && r.contest_id === contest.id && Array.isArray(options) && options.length === contest.options.length
      && options.every((o, i) => isObject(o) && o.id === contest.options[i].id && hasExactly(o, ["id", "consulados", "internet"])
        && isCount(o.consulados) && isCount(o.internet));
    if (!wellFormed) {
      fail(cell, bi("resultado mal formado o de otra celda (se espera cada opción de la elección, en orden, con sus conteos " +
        "por canal)", "malformed result, or another cell's (expected each option of the contest, in order, with its counts " +
        "per channel)"));
      continue;
    }
    const total = byKey.get(`${entry.entity}\u0000${contest.id}`) || [];
    for (const [oi, option] of contest.options.entries()) {
      const m = options[oi].consulados;
      const rest = options[oi].internet;
      const c = decrypted.get(`${ei}:${oi}`);
      if (!(m >= 0 && m <= entry.ballots) || (group.gPow(BigInt(m)) * c.prod) % group.p !== c.beta) {
        fail(`${cell}/${option.id}`, bi(`el conteo de consulados ${m} no es el descifrado del agregado`,
          `the consulados count ${m} is not the decryption of the aggregate`));
      }
      if (rest !== total[oi] - m || rest < 0) {
        fail(`${cell}/${option.id}`, bi(`el conteo de internet ${rest} no es el combinado menos el de consulados`,
          `the internet count ${rest} is not the combined minus the consulados`));
      }
    }
    await checker.tick((ei + 1) / split.entries.length);
  }
}
