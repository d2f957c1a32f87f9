// The observer's record checker: `sivei verificar` in the browser (mirrors sivei/record/verify.py and
// sivei/record/receipts.py; docs/protocol.md §18). Every problem carries the Python verifier's check id
// and location, so a finding here and one on the command line name the same thing.
//
// What it checks, in the verifier's order: the record's files and their SHA-256 index; the group; the
// manifest; the key ceremony's transcript (every signature, proof and key); the credential authority's
// signed list; H_E; the whole board — every event's encoding, the hash chain, indices, opening and
// close, one vote per credential, unique α, each ballot's credential and style on the list, its shape —
// and the aggregates recomputed from every ballot; the published encrypted tally; every decryption
// share's proof, the Lagrange weights and the combination; the decoded counts and results.json; both
// acts field by field and their signatures; the integrity constancia; voters' receipts.
//
// What it does not do for every ballot unless asked: the proofs (0/1 and sum), the credential's
// Ed25519 signature and the subgroup membership of α and β — several exponentiations in a 4096-bit
// group per option, about a second per ballot here. Observers choose ballots (tracking codes, indices;
// receipts' ballots are always included) or all of them. The report says which were checked.

import { bigintToHex, bytesToHex, equalBytes } from "../../booth/js/bytes.js";
import { sha256 as sha256Incremental } from "../../booth/vendor/noble-hashes-2.4.0/sha2.js";
import { CLOSING, OPENING, SignedAct, guardianKeysByName, parseInstant } from "../../booth/js/acts.js";
import { EVENT_BALLOT, EVENT_CLOSE, EVENT_OPEN, GENESIS_PREVIOUS, OPERATOR_EVENTS, alphaKey, eventHash, genesisHead,
} from "../../booth/js/board.js";
import { checkTranscript, parseCeremony, parseEnvelope, transcriptHash } from "../../booth/js/ceremony.js";
import { ElectionContext, baseHash, electionHash, envelopeContentHash } from "../../booth/js/context.js";
import { CredentialEntries, ENTRIES_FILE, LIST_FILE, envelopeProblems, isValidCredentialPoint, parseEntry,
  summaryProblems, verifyCredentialSignature } from "../../booth/js/credentiallist.js";
import { parseGuardianDecryption, statedWeightsMatch, verifyShare } from "../../booth/js/decryption.js";
import { isValidPublicKey, keyFingerprintDigest, verifyDigest } from "../../booth/js/ecdsa.js";
import { ElectionKey } from "../../booth/js/elgamal.js";
import { elementToHex, hexToBytes } from "../../booth/js/encoding.js";
import { SiveiError, bi, errorText } from "../../booth/js/errors.js";
import { fingerprint, matchesFingerprint } from "../../booth/js/fingerprint.js";
import { GROUPS, TEST_GROUP, SCALAR_BYTES } from "../../booth/js/group.js";
import { Manifest } from "../../booth/js/manifest.js";
import { Receipt, MAX_RECEIPT_BYTES, receiptProblems } from "../../booth/js/receipts.js";
import { computeResults, parseResults, samePairs } from "../../booth/js/results.js";
import { EncryptedTally, TallyAccumulator, sameEntry } from "../../booth/js/tally.js";
import { ballotLocation, checkBallot } from "../../booth/js/validate.js";
import { BOARD_FILES, boardReader } from "./board-reader.js";
import { checkChannels, checkConsulates, readInPersonSet } from "./consulates.js";
import { parseConstancia } from "./integrity.js";
import { parseStrictJson } from "./json.js";
import { Report } from "./report.js";
import { blobLines } from "./sources.js";

export const FORMAT = "sivei-record";
export const SUPPORTED_VERSIONS = Object.freeze([1, 2]);
export const HEADER = "record.json";
export const PARAMETERS = "parameters.json";
export const MANIFEST = "manifest.json";
export const CEREMONY = "ceremony.json";
export const ENCRYPTED_TALLY = "encrypted-tally.json";
export const DECRYPTION = "decryption.json";
export const RESULTS = "results.json";
export const OPENING_ACT = "acts/opening.json";
export const CLOSING_ACT = "acts/closing.json";
export const INTEGRITY = "integrity.json";
/** A closed record of format `version`: what exists at the close, before the guardians decrypt. */
export function closedFiles(version) {
  return [PARAMETERS, MANIFEST, CEREMONY, LIST_FILE, ENTRIES_FILE, BOARD_FILES[version], ENCRYPTED_TALLY, OPENING_ACT,
    CLOSING_ACT, INTEGRITY];
}

/** A complete record of format `version`. */
export function requiredFiles(version) {
  return [...closedFiles(version), DECRYPTION, RESULTS];
}
/** Above this many listed credentials, each credential's point is checked only when every ballot's
 * proofs are (about 1.4 ms per credential in a browser). */
export const CREDENTIAL_POINTS_LIMIT = 20000;

/** The observer stopped the check. */
export class Cancelled extends Error {}

/**
 * A set of α keys (their low 128 bits) with the board line of each, in typed arrays: tens of millions
 * of α fit in a few hundred MB instead of gigabytes of strings. Two distinct α with equal low 128
 * bits would take about 2^64 work to find on purpose, and could only make the checker report a
 * repeated α that is not one (never hide one).
 */
class AlphaSet {
  constructor() {
    this.capacity = 1 << 12;
    this.keys = new Uint32Array(4 * this.capacity);
    this.lines = new Uint32Array(this.capacity); // 0: empty slot
    this.size = 0;
  }

  static words(alpha) {
    const low = BigInt.asUintN(128, alpha);
    return [Number(low & 0xffffffffn), Number((low >> 32n) & 0xffffffffn), Number((low >> 64n) & 0xffffffffn),
      Number(low >> 96n)];
  }

  /** The line of an equal α already added, else 0 after adding this one at `line`. */
  addOrFind(alpha, line) {
    if (2 * (this.size + 1) > this.capacity) this.grow();
    const w = AlphaSet.words(alpha);
    const mask = this.capacity - 1;
    let slot = (w[0] ^ Math.imul(w[1], 0x9e3779b1)) & mask;
    for (;;) {
      const existing = this.lines[slot];
      if (existing === 0) {
        this.keys.set(w, 4 * slot);
        this.lines[slot] = line;
        this.size += 1;
        return 0;
      }
      const k = 4 * slot;
      if (this.keys[k] === w[0] && this.keys[k + 1] === w[1] && this.keys[k + 2] === w[2] && this.keys[k + 3] === w[3]) {
        return existing;
      }
      slot = (slot + 1) & mask;
    }
  }

  grow() {
    const { keys, lines, capacity } = this;
    this.capacity *= 2;
    this.keys = new Uint32Array(4 * this.capacity);
    this.lines = new Uint32Array(this.capacity);
    const mask = this.capacity - 1;
    for (let s = 0; s < capacity; s++) {
      if (lines[s] === 0) continue;
      const w = keys.subarray(4 * s, 4 * s + 4);
      let slot = (w[0] ^ Math.imul(w[1], 0x9e3779b1)) & mask;
      while (this.lines[slot] !== 0) slot = (slot + 1) & mask;
      this.keys.set(w, 4 * slot);
      this.lines[slot] = lines[s];
    }
  }
}

function groupParametersJson(group) {
  return { name: group.name, p: bigintToHex(group.p, group.elementBytes), q: bigintToHex(group.q, SCALAR_BYTES),
    g: bigintToHex(group.g, group.elementBytes) };
}

function kindOf(electionId) {
  for (const [kind, prefix] of [["rehearsal", "ensayo-"], ["practice", "practica-"], ["drill", "simulacro-"]]) {
    if (electionId.startsWith(prefix)) return kind;
  }
  return "real";
}

function banner(electionId) {
  const kind = kindOf(electionId);
  if (kind === "real") return null;
  const word = { rehearsal: ["ENSAYO", "REHEARSAL"], practice: ["PRÁCTICA", "PRACTICE"], drill: ["SIMULACRO", "DRILL"] }[kind];
  return bi(`*** ${word[0]} — NO ES LA ELECCIÓN REAL (${electionId}); sus resultados no son oficiales ***`,
    `*** ${word[1]} — NOT THE REAL ELECTION (${electionId}); its results are not official ***`);
}

/** What the observer typed to choose a ballot: a tracking code or hash, or an index ("#12" or "12"). */
export function parseChoice(text) {
  const t = String(text).trim();
  if (t === "") return null;
  const m = /^#?\s*(\d{1,10})$/.exec(t);
  if (m) return { typed: t, index: Number(m[1]) };
  return { typed: t, index: null };
}

/**
 * Check a record. files: RecordFiles (sources.js). options:
 *   allowTestGroup    accept the insecure test group (drills and tests only), as --test-group
 *   expectElection    [typed fingerprints] as --expect-election; expectHeads [typed heads] as --expect-head
 *   proofs            "chosen" (default) or "all": whose ballot proofs, signatures and memberships to check
 *   chosen            ["XXXXX-XXXXX-XXXXX-XXXXX" | 64 hex | "#12" | "12", …]: ballots to check in full
 *   receipts          [{name, text}]: voters' receipt files (their ballots are checked in full too)
 *   closed            a closed record (before decryption), as --cerrado
 *   credentialPoints  "auto" (default: all when ≤ CREDENTIAL_POINTS_LIMIT or proofs "all"), true, false
 *   onProgress        ({stage, label, fraction, done, total, elapsed, eta}) => void, about every 100 ms
 *   signal            {aborted}: stop at the next step (the promise rejects with Cancelled)
 * Resolves to a Report. Bad record content never rejects: it is reported.
 */
export async function checkRecord(files, options = {}) {
  const checker = new RecordChecker(files, options);
  try {
    await checker.run();
  } catch (err) {
    if (err instanceof Cancelled) throw err;
    checker.report.add("record", files.label, errorText(err));
  }
  // What the page shows beside the report: the chosen ballots and receipts, the published results.
  checker.report.details = { chosen: checker.chosenResults || [], receipts: checker.receiptResults || [],
    results: checker.resultsShown || null };
  return checker.report;
}

class RecordChecker {
  constructor(files, options) {
    this.files = files;
    this.options = { allowTestGroup: false, expectElection: [], expectHeads: [], proofs: "chosen", chosen: [],
      receipts: [], closed: false, credentialPoints: "auto", ...options };
    this.report = new Report(files.label);
    this.started = Date.now();
    this.lastTick = 0;
    this.stageId = "";
    this.stageLabel = bi("", "");
    this.boardHashes = null;
  }

  // -- progress ---------------------------------------------------------------------------------------

  beginStage(id, es, en) {
    this.stageId = id;
    this.stageLabel = bi(es, en);
    this.stageStart = Date.now();
    this.lastTick = 0; // each stage's first step is reported, however fast
    this.mark = this.report.total();
  }

  endStage(status = null, detail = null) {
    const failed = this.report.total() > this.mark;
    this.report.stage(this.stageId, this.stageLabel, status || (failed ? "failed" : "ok"), detail,
      Math.round((Date.now() - this.stageStart) / 10) / 100);
  }

  /** Report progress and yield to the page now and then; stop when asked. */
  async tick(fraction, done = null, total = null, force = false) {
    if (this.options.signal && this.options.signal.aborted) throw new Cancelled("cancelled");
    const now = Date.now();
    if (!force && now - this.lastTick < 100) return;
    this.lastTick = now;
    const elapsed = (now - this.stageStart) / 1000;
    const eta = fraction > 0.02 && fraction < 1 ? elapsed * (1 - fraction) / fraction : null;
    if (this.options.onProgress) {
      this.options.onProgress({ stage: this.stageId, label: this.stageLabel, fraction, done, total, elapsed, eta });
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  async readJson(name) {
    if (!this.files.has(name)) throw new SiveiError(`${name}: falta el archivo`, `${name}: file missing`);
    return parseStrictJson(await this.files.text(name), name);
  }

  // -- the run ----------------------------------------------------------------------------------------

  async run() {
    const report = this.report;
    const header = await this.checkFiles();
    if (header === null) return;
    report.addFact("record_version", bi("versión del formato del registro", "record format version"), header.version);
    const group = await this.checkParameters(header);
    if (group === null) return;
    report.addFact("group", bi("grupo", "group"), group.name);
    const manifest = await this.checkManifest(header);
    if (manifest === null) return;
    const manifestHash = await manifest.hash();
    const hB = await baseHash(group, manifestHash);
    report.addFingerprint("manifest", bi("manifiesto", "manifest"), fingerprint(manifestHash));
    const outcome = await this.checkCeremony(group, manifest, hB);
    const cred = await this.checkCredentials(manifest, manifestHash);
    if (outcome === null || cred === null) return;
    const hE = await electionHash(group, hB, outcome.jointKey, outcome.commitments, cred.listHash);
    const ctx = new ElectionContext(manifest, new ElectionKey(group, outcome.jointKey), hE);
    report.addFingerprint("election_hash", bi("elección (H_E)", "election (H_E)"), fingerprint(hE), { first: true });
    for (const [i, key] of outcome.signingKeys.entries()) {
      report.addFingerprint(`guardian_${i + 1}`, bi(`custodio ${i + 1}`, `guardian ${i + 1}`),
        fingerprint(await keyFingerprintDigest(key)));
    }
    this.expectElection(hE);
    if (report.has("election.expected")) return;
    // In-person voting (docs/protocol.md §20): the declaration's credentials are the consulados
    // channel, aggregated apart on the board (when it is the declaration the list signs).
    this.inPerson = manifest.inPerson !== null ? await readInPersonSet(this, cred.body) : null;
    this.inPersonCast = new Set();
    const tally = await this.checkBoard(ctx, cred.entries, header);
    if (tally === null) return;
    if (manifest.inPerson !== null) {
      this.beginStage("consulates", "Consulados: declaración, bitácoras firmadas y conciliación",
        "Consulates: declaration, signed logs and reconciliation");
      await checkConsulates(this, ctx, cred.body, cred.entries, this.inPersonCast);
      this.endStage();
    }
    let combined = null;
    if (!this.options.closed) {
      combined = await this.checkDecryption(ctx, tally, outcome);
      await this.checkResults(ctx, tally, combined);
    }
    if (manifest.inPerson !== null) {
      this.beginStage("channels", "Resultados por canal (internet y consulados), regla de 30 boletas",
        "Results per channel (internet and consulates), 30-ballot rule");
      await checkChannels(this, ctx, tally, this.channelTally, outcome, { closed: this.options.closed });
      this.endStage(this.channelTally === null ? "skipped" : null);
    }
    await this.checkActs(ctx, outcome, tally, cred);
    await this.checkReceipts(ctx);
  }

  // -- files ------------------------------------------------------------------------------------------

  async checkFiles() {
    const report = this.report;
    this.beginStage("files", "Archivos del registro y su índice SHA-256", "The record's files and their SHA-256 index");
    let header;
    try {
      header = await this.readJson(HEADER);
    } catch (err) {
      report.add("record.header", HEADER, errorText(err));
      this.endStage();
      return null;
    }
    if (header === null || typeof header !== "object" || Array.isArray(header) || header.format !== FORMAT) {
      report.add("record.header", HEADER, bi("no es un registro electoral de SIVEI", "not a SIVEI election record"));
      this.endStage();
      return null;
    }
    if (!SUPPORTED_VERSIONS.includes(header.version)) {
      report.add("record.header", HEADER, bi(`versión de formato no soportada: ${JSON.stringify(header.version)}`,
        `unsupported format version: ${JSON.stringify(header.version)}`));
      this.endStage();
      return null;
    }
    const index = header.files;
    if (index === null || typeof index !== "object" || Array.isArray(index)) {
      report.add("record.header", HEADER, bi("falta la lista de archivos", "missing file list"));
      this.endStage();
      return null;
    }
    this.version = header.version;
    this.boardName = BOARD_FILES[header.version];
    const required = this.options.closed ? closedFiles(this.version) : requiredFiles(this.version);
    for (const name of required) {
      if (!Object.prototype.hasOwnProperty.call(index, name)) {
        report.add("record.missing-file", name, bi("archivo obligatorio ausente del índice", "required file missing from the index"));
      }
    }
    // Every listed file's SHA-256, but the board's: that one is hashed while the board is checked
    // (one pass over what can be gigabytes).
    const names = Object.keys(index).sort();
    const totalBytes = names.reduce((n, name) => n + (name === this.boardName ? 0 : this.files.size(name)), 0);
    let doneBytes = 0;
    for (const name of names) {
      if (!this.files.has(name)) {
        report.add("record.missing-file", name, bi("el archivo no existe", "the file does not exist"));
      } else if (name === this.boardName) {
        this.boardHashes = index[name];
      } else {
        const h = sha256Incremental.create();
        for await (const _ of blobChunks(this.files.blob(name), (chunk) => {
          h.update(chunk);
          doneBytes += chunk.length;
        })) await this.tick(totalBytes ? doneBytes / totalBytes : 1);
        if (bytesToHex(h.digest()) !== index[name]) {
          report.add("record.file-hash", name, bi(
            "el contenido no corresponde al SHA-256 del índice (archivo truncado o alterado)",
            "content does not match the index's SHA-256 (truncated or altered file)"));
        }
      }
    }
    for (const name of this.files.names()) {
      if (name !== HEADER && !Object.prototype.hasOwnProperty.call(index, name)) {
        report.add("record.unlisted-file", name, bi("archivo no listado en el índice", "file not listed in the index"));
      }
    }
    this.endStage();
    return header;
  }

  async checkParameters(header) {
    const report = this.report;
    this.beginStage("parameters", "Parámetros del grupo", "Group parameters");
    const done = (value) => {
      this.endStage();
      return value;
    };
    let params;
    try {
      params = await this.readJson(PARAMETERS);
    } catch (err) {
      report.add("parameters", PARAMETERS, errorText(err));
      return done(null);
    }
    const keys = params && typeof params === "object" && !Array.isArray(params) ? Object.keys(params).sort().join(",") : "";
    if (keys !== "g,name,p,q") {
      report.add("parameters", PARAMETERS, bi("campos no válidos", "invalid fields"));
      return done(null);
    }
    const group = typeof params.name === "string" && Object.prototype.hasOwnProperty.call(GROUPS, params.name)
      ? GROUPS[params.name] : null;
    if (group === null) {
      report.add("parameters", PARAMETERS, bi(`grupo desconocido: '${params.name}'`, `unknown group: '${params.name}'`));
      return done(null);
    }
    const expected = groupParametersJson(group);
    if (["name", "p", "q", "g"].some((k) => params[k] !== expected[k])) {
      report.add("parameters", PARAMETERS, bi("los parámetros no son byte por byte los del grupo nombrado",
        "the parameters are not byte for byte those of the named group"));
      return done(null);
    }
    if (header.group !== group.name) {
      report.add("parameters", HEADER, bi("el índice nombra otro grupo", "the index names another group"));
    }
    if (group === TEST_GROUP && !this.options.allowTestGroup) {
      report.add("parameters", PARAMETERS, bi(
        "el registro usa el grupo de prueba; solo se acepta con la opción «grupo de prueba» (--test-group)",
        "the record uses the test group; it is accepted only with the «test group» option (--test-group)"));
      return done(null);
    }
    return done(group);
  }

  async checkManifest(header) {
    const report = this.report;
    this.beginStage("manifest", "Manifiesto", "Manifest");
    let manifest;
    try {
      manifest = Manifest.fromJson(await this.readJson(MANIFEST));
    } catch (err) {
      report.add("manifest", MANIFEST, errorText(err));
      this.endStage();
      return null;
    }
    if (header.election_id !== manifest.electionId) {
      report.add("manifest", HEADER, bi("el índice nombra otra elección que el manifiesto",
        "the index names another election than the manifest"));
    }
    if (header.counting_policy !== manifest.countingPolicy) {
      report.add("manifest", HEADER, bi("la política de conteo del índice no es la del manifiesto",
        "the index's counting policy is not the manifest's"));
    }
    report.addFact("election", bi("elección", "election"), `${manifest.electionId} — ${manifest.name}`);
    report.addFact("counting_policy", bi("política de conteo", "counting policy"), manifest.countingPolicy);
    report.addFact("election_kind", bi("tipo de elección", "kind of election"), kindOf(manifest.electionId));
    report.heading = banner(manifest.electionId);
    this.endStage();
    return manifest;
  }

  async checkCeremony(group, manifest, hB) {
    const report = this.report;
    this.beginStage("ceremony", "Ceremonia de llaves: firmas, pruebas y llaves", "Key ceremony: signatures, proofs and keys");
    let parsed;
    try {
      parsed = parseCeremony(await this.readJson(CEREMONY));
    } catch (err) {
      report.add("ceremony", CEREMONY, errorText(err));
      this.endStage();
      return null;
    }
    await this.tick(0.1, null, null, true);
    const { ceremonyId, n, t, rounds } = parsed;
    const { problems, outcome } = await checkTranscript(group, manifest.electionId, ceremonyId, hB, n, t, rounds);
    for (const p of problems) {
      let es = `${CEREMONY}, ronda ${p.round}`;
      let en = `${CEREMONY}, round ${p.round}`;
      if (p.guardian !== null) {
        es += `, custodio ${p.guardian}`;
        en += `, guardian ${p.guardian}`;
      }
      report.add(`ceremony.${p.code}`, bi(es, en), p.message);
    }
    if (problems.length > 0 || outcome === null) {
      this.endStage();
      return null;
    }
    this.ceremony = { ceremonyId, n, t, rounds };
    report.addFact("key_ceremony", bi("ceremonia de llaves", "key ceremony"), ceremonyId);
    report.addFact("threshold", bi("umbral (custodios necesarios, t)", "threshold (guardians needed, t)"), t);
    report.addFact("guardians", bi("custodios (n)", "guardians (n)"), n);
    this.endStage();
    return outcome;
  }

  async checkCredentials(manifest, manifestHash) {
    const report = this.report;
    this.beginStage("credentials", "Lista firmada de credenciales", "Signed credential list");
    let envelope;
    try {
      envelope = await this.readJson(LIST_FILE);
      const fields = ["type", "election_id", "ceremony_id", "round", "sender", "previous", "body", "signature"];
      if (envelope === null || typeof envelope !== "object" || Array.isArray(envelope) || Object.keys(envelope).length !== 8
        || !fields.every((k) => Object.prototype.hasOwnProperty.call(envelope, k)) || envelope.body === null
        || typeof envelope.body !== "object" || Array.isArray(envelope.body)) {
        throw new SiveiError(`${LIST_FILE}: se esperaban exactamente los campos del sobre`,
          `${LIST_FILE}: expected exactly the envelope's fields`);
      }
    } catch (err) {
      report.add("credentials", ENTRIES_FILE, errorText(err));
      this.endStage();
      return null;
    }
    const listHash = await envelopeContentHash(envelope);
    const body = envelope.body;
    const styles = manifest.ballotStyles.map((s) => s.id);
    const blob = this.files.blob(ENTRIES_FILE);
    if (blob === null) {
      report.add("credentials", ENTRIES_FILE, bi(`no existe ${ENTRIES_FILE}`, `${ENTRIES_FILE} does not exist`));
      this.endStage();
      return null;
    }
    const declared = Number.isInteger(body.count) ? body.count : null;
    const points = this.options.credentialPoints === "auto"
      ? this.options.proofs === "all" || (declared !== null && declared <= CREDENTIAL_POINTS_LIMIT)
      : Boolean(this.options.credentialPoints);
    const entries = new CredentialEntries(styles, body.count, { checkPoints: points });
    try {
      for await (const { lineno, text, offset } of blobLines(blob)) {
        if (text === null) {
          throw new SiveiError(`${ENTRIES_FILE}: el archivo no está en UTF-8`, `${ENTRIES_FILE}: the file is not UTF-8`);
        }
        const obj = parseStrictJson(text, `${ENTRIES_FILE}, línea ${lineno}`, { compact: true });
        entries.add(parseEntry(obj, lineno), lineno);
        await this.tick(offset / blob.size);
      }
    } catch (err) {
      if (err instanceof Cancelled) throw err;
      report.add("credentials", ENTRIES_FILE, errorText(err));
      this.endStage();
      return null;
    }
    for (const p of await envelopeProblems(manifest, manifestHash, envelope)) report.add("credentials", LIST_FILE, p);
    for (const p of entries.problems) report.add("credentials", LIST_FILE, p);
    for (const p of summaryProblems(bytesToHex(manifestHash), body, entries,
      { inPerson: manifest.inPerson !== null })) report.add("credentials", LIST_FILE, p);
    if (typeof body.authority_key === "string" && /^[0-9a-f]*$/.test(body.authority_key) && body.authority_key.length % 2 === 0) {
      report.addFingerprint("credential_authority", bi("autoridad de credenciales", "credential authority"),
        fingerprint(await keyFingerprintDigest(hexToBytes(body.authority_key, body.authority_key.length / 2, "authority_key"))));
    }
    report.addFact("credentials_listed", bi("credenciales en la lista", "credentials on the list"), entries.size);
    if (!points) {
      report.note(
        `no se comprobó que cada una de las ${entries.size} credenciales de la lista sea un punto Ed25519 válido ` +
          "(se comprueba al revisar todas las pruebas, o con sivei verificar); sí las de las boletas revisadas",
        `each of the ${entries.size} listed credentials was not checked to be a valid Ed25519 point (it is when every ` +
          "proof is checked, or with sivei verificar); those of the ballots checked were");
    }
    this.credentialPointsChecked = points;
    this.endStage();
    return { entries, listHash, body, envelope };
  }

  expectElection(hE) {
    const report = this.report;
    if (this.options.expectElection.length === 0) {
      report.note("un registro coherente consigo mismo no prueba de qué elección se trata: compare la huella de la " +
        "elección con la publicada (--expect-election)",
      "a self-consistent record does not prove which election it is: compare the election fingerprint with the " +
        "published one (--expect-election)");
    }
    for (const typed of this.options.expectElection) {
      if (!matchesFingerprint(typed, hE)) {
        report.add("election.expected", bi("huella esperada", "expected fingerprint"),
          bi(`la huella de la elección no es ${typed}`, `the election fingerprint is not ${typed}`));
      }
    }
  }

  // -- the board --------------------------------------------------------------------------------------

  async checkBoard(ctx, entries, header) {
    const report = this.report;
    this.beginStage("board", "Tablero: cadena, reglas y agregados", "Board: chain, rules and aggregates");
    const reader = boardReader(this.files, header);
    const acc = new TallyAccumulator(ctx);
    const channelAcc = this.inPerson && this.inPerson.size > 0 ? new TallyAccumulator(ctx) : null;
    const all = this.options.proofs === "all";
    const chosen = [...this.options.chosen].map(parseChoice).filter((c) => c !== null);
    const chosenIndices = new Set(chosen.filter((c) => c.index !== null).map((c) => c.index));
    const chosenCodes = chosen.filter((c) => c.index === null);
    const receiptIndices = new Map(); // index → receipt names (their ballots are checked in full)
    this.parsedReceipts = [];
    for (const { name, text } of this.options.receipts) {
      try {
        if (text.length > MAX_RECEIPT_BYTES) {
          throw new SiveiError(`${name}: demasiado grande para ser un recibo`, `${name}: too large for a receipt`);
        }
        let obj;
        try {
          obj = JSON.parse(text);
        } catch {
          throw new SiveiError(`${name}: JSON no válido`, `${name}: invalid JSON`);
        }
        const receipt = Receipt.fromJson(obj, name);
        this.parsedReceipts.push({ name, receipt });
        receiptIndices.set(receipt.index, [...(receiptIndices.get(receipt.index) || []), name]);
      } catch (err) {
        report.add("receipt.format", name, errorText(err));
      }
    }
    this.receiptEvents = new Map();
    this.chosenResults = chosen.map((c) => ({ typed: c.typed, found: null }));
    const boardHash = this.boardHashes !== null ? sha256Incremental.create() : null;
    let previous = GENESIS_PREVIOUS;
    let expectedIndex = 0;
    const cast = { listed: new Uint32Array(entries.size), unlisted: new Map() };
    const alphas = new AlphaSet();
    let ballots = 0;
    let closedLine = null;
    let closePayload = null;
    let lastHead = null;
    const expect = [...this.options.expectHeads];
    const found = expect.map(() => false);
    let proofsChecked = 0;
    let proofSeconds = 0;
    const size = reader ? reader.size : 0;
    const flaggedLines = new Set();
    this.ballotLines = new Map();
    const boardName = this.boardName;
    const add = (check, where, message) => {
      report.add(check, where, message);
      const line = typeof where === "string" ? where : where.es;
      flaggedLines.add(line.split(" ")[0].replace(/,$/, ""));
    };
    // A missing board file is one board.encoding problem, and the checks go on with an empty board
    // (as the command line's verifier).
    for await (const item of reader.events({ ctx, onChunk: (bytes) => boardHash && boardHash.update(bytes) })) {
      const { where, lineno, event } = item;
      await this.tick(size ? item.offset / size : 1, proofsChecked, null);
      if (event === null) {
        add("board.encoding", where, item.error);
        continue;
      }
      const trackingCode = event.type === EVENT_BALLOT ? fingerprint(event.payloadHash) : null;
      let excluded = false;
      if (event.ballot !== null) {
        const index = event.index;
        const wanted = all || chosenIndices.has(index) || receiptIndices.has(index)
          || chosenCodes.some((c) => matchesFingerprint(c.typed, event.payloadHash));
        const location = ballotLocation(where, trackingCode);
        if (wanted) {
          const t0 = Date.now();
          const verdict = await checkBallot(ctx, event.ballot, { what: `${where}.ballot`, location,
            ballotHash: event.payloadHash, verifySignature: verifyCredentialSignature,
            onProgress: () => this.tick(size ? item.offset / size : 1, proofsChecked, null) });
          proofSeconds += (Date.now() - t0) / 1000;
          proofsChecked += 1;
          if (!this.credentialPointsChecked && entries.indexOf(event.ballot.credential) >= 0) {
            // The ballot's credential must be a valid point (on the list it is a "credentials" problem).
            if (!isValidCredentialPoint(event.ballot.credential)) {
              report.add("credentials", LIST_FILE, bi(
                `la credencial de la boleta ${trackingCode} no es un punto Ed25519 válido`,
                `the credential of ballot ${trackingCode} is not a valid Ed25519 point`));
            }
          }
          for (const r of this.chosenResults) {
            if (matchesFingerprint(r.typed, event.payloadHash) || parseChoice(r.typed).index === index) {
              r.found = { index, line: lineno, trackingCode, ok: verdict.notMember === null && verdict.problems.length === 0 };
            }
          }
          if (verdict.notMember !== null) {
            // Unreadable, as a parse with the one-element test: not chained, not counted (as Python).
            add("board.encoding", where, verdict.notMember);
            continue;
          } else {
            for (const p of verdict.problems) add(p.check, p.location, p.message);
            if (verdict.problems.some((p) => p.check === "ballot.shape" || p.check === "ballot.style.unknown")) excluded = true;
          }
        } else {
          const structural = structuralProblems(ctx, event.ballot, location);
          for (const p of structural) add(p.check, p.location, p.message);
          excluded = structural.length > 0;
        }
        if (!excluded) {
          acc.add(event.ballot);
          if (channelAcc !== null && this.inPerson.has(bytesToHex(event.ballot.credential))) channelAcc.add(event.ballot);
        }
      }
      if (closedLine !== null) {
        add("board.after-close", where, bi("evento después del cierre", "event after the close"));
      }
      if (event.index !== expectedIndex) {
        add("board.index", where, bi(
          `se esperaba el evento ${expectedIndex}, hay ${event.index} (eventos faltantes, repetidos o reordenados)`,
          `expected event ${expectedIndex}, found ${event.index} (missing, repeated or reordered events)`));
      }
      let head = await eventHash(ctx.electionHash, previous, event.index, event.type, event.payloadHash);
      if (!equalBytes(head, event.head)) {
        add("board.chain", where, bi("la cabeza de la cadena no corresponde al evento y a su predecesor",
          "the chain head does not match the event and its predecessor"));
        head = event.head;
      }
      previous = head;
      lastHead = head;
      expectedIndex = event.index + 1;
      expect.forEach((typed, k) => {
        if (!found[k] && matchesFingerprint(typed, head)) found[k] = true;
      });
      if (lineno === 1 && (event.type !== EVENT_OPEN || Object.keys(event.payload || {}).length > 0)) {
        add("board.open", where, bi("el tablero no inicia con la apertura vacía", "the board does not start with the empty opening"));
      } else if (lineno !== 1 && event.type === EVENT_OPEN) {
        add("board.open", where, bi("apertura repetida", "repeated opening"));
      }
      if (receiptIndices.has(event.index) && !this.receiptEvents.has(event.index)) {
        this.receiptEvents.set(event.index, { type: event.type, head: bytesToHex(event.head), payloadHash: event.payloadHash,
          lineno, where });
      }
      if (event.type === EVENT_CLOSE) {
        closedLine = lineno;
        closePayload = event.payload;
        this.close = { index: event.index, head, payload: { ...event.payload } };
        if (this.closeLine === undefined) this.closeLine = lineno;
      } else if (OPERATOR_EVENTS.includes(event.type)) {
        // operator events: chained, nothing more
      } else if (event.type === EVENT_BALLOT) {
        ballots += 1;
        this.ballotPolicy(event, where, lineno, entries, cast, alphas, add);
        if (this.inPerson) {
          const credential = bytesToHex(event.ballot.credential);
          if (this.inPerson.has(credential)) this.inPersonCast.add(credential);
        }
      }
    }
    this.flaggedLines = flaggedLines;
    this.channelTally = channelAcc !== null ? channelAcc.result() : null;
    if (boardHash !== null && bytesToHex(boardHash.digest()) !== this.boardHashes) {
      report.add("record.file-hash", boardName, bi(
        "el contenido no corresponde al SHA-256 del índice (archivo truncado o alterado)",
        "content does not match the index's SHA-256 (truncated or altered file)"));
    }
    if (expect.length === 0) {
      report.note("sin cabezas anotadas (--expect-head) no se puede detectar que se hayan quitado boletas del final del tablero",
        "without noted heads (--expect-head), ballots removed from the end of the board cannot be detected");
    }
    expect.forEach((typed, k) => {
      if (!found[k]) {
        report.add("board.expected-head", bi("cabeza anotada", "noted head"), bi(
          `la cadena publicada no pasa por la cabeza ${typed}: faltan o cambiaron eventos`,
          `the published chain does not go through head ${typed}: events are missing or changed`));
      }
    });
    if (closedLine === null) {
      report.add("board.close", boardName, bi("el tablero no está cerrado", "the board is not closed"));
    } else if (!validClose(closePayload, ballots)) {
      report.add("board.close", `${boardName}:${closedLine}`, bi(
        `el cierre declara ${JSON.stringify(closePayload)} pero hay ${ballots} boletas`,
        `the close declares ${JSON.stringify(closePayload)} but there are ${ballots} ballots`));
    }
    report.addFact("ballots_on_board", bi("boletas en el tablero", "ballots on the board"), ballots);
    report.addFact("ballots_proofs_checked", bi("boletas con pruebas, firma y pertenencia revisadas",
      "ballots whose proofs, signature and membership were checked"), proofsChecked);
    this.proofsChecked = proofsChecked;
    this.allProofs = all;
    if (proofsChecked > 0) {
      report.addFact("seconds_per_ballot_proofs", bi("segundos por boleta (pruebas)", "seconds per ballot (proofs)"),
        Math.round((proofSeconds / proofsChecked) * 100) / 100);
    }
    if (!this.allProofs) {
      report.note(
        `se revisaron las pruebas, la firma y la pertenencia al subgrupo de ${proofsChecked} de ${ballots} boletas; ` +
          "las demás, solo su cadena, su credencial en la lista, su forma y su suma en los agregados " +
          "(sivei verificar revisa todas)",
        `the proofs, signature and subgroup membership of ${proofsChecked} of ${ballots} ballots were checked; the others ` +
          "only for their chain, their credential on the list, their shape and their sum in the aggregates " +
          "(sivei verificar checks them all)");
    }
    if (lastHead !== null) {
      report.addFingerprint("final_board_head", bi("cabeza final del tablero", "final board head"), fingerprint(lastHead));
      report.addFact("final_board_head_hash", bi("cabeza final (completa)", "final head (full)"), bytesToHex(lastHead));
    }
    this.endStage(this.allProofs || report.total() > this.mark ? null : "partial",
      this.allProofs ? null : bi(`pruebas de ${proofsChecked} de ${ballots} boletas`, `proofs of ${proofsChecked} of ${ballots} ballots`));
    return this.compareTally(ctx, acc.result());
  }

  ballotPolicy(event, where, lineno, entries, cast, alphas, add) {
    const ballot = event.ballot;
    const position = entries.indexOf(ballot.credential);
    const listed = position < 0 ? null : entries.styleAt(position);
    if (listed === null) {
      add("ballot.credential.unlisted", where, bi("la credencial pública no está en la lista firmada de credenciales",
        "the public credential is not in the signed credential list"));
    } else if (listed !== ballot.style) {
      add("ballot.style.mismatch", where, bi(`la boleta es del tipo ${ballot.style} pero su credencial es del tipo ${listed}`,
        `the ballot is of style ${ballot.style} but its credential is of style ${listed}`));
    }
    // The position of each credential's first ballot: 4 bytes per listed credential, a map for the others.
    const first = position >= 0 ? cast.listed[position] : cast.unlisted.get(bytesToHex(ballot.credential)) || 0;
    if (first !== 0) {
      add("board.one-vote", where, bi(
        `segunda boleta de la misma credencial (la primera está en ${this.boardName}:${first}); la ley permite un solo voto`,
        `second ballot of the same credential (the first is at ${this.boardName}:${first}); the law allows one vote`));
    } else if (position >= 0) {
      cast.listed[position] = lineno;
    } else {
      cast.unlisted.set(bytesToHex(ballot.credential), lineno);
    }
    for (const contest of ballot.contests) {
      for (const sel of contest.selections) {
        const earlier = alphas.addOrFind(sel.ciphertext.alpha, lineno);
        if (earlier !== 0) {
          add("board.unique-alpha", where, bi(`α repetido (ya aparece en ${this.boardName}:${earlier})`,
            `repeated α (already at ${this.boardName}:${earlier})`));
        }
      }
    }
  }

  async compareTally(ctx, tally) {
    const report = this.report;
    this.beginStage("tally", "Recuento cifrado: agregados recalculados del tablero",
      "Encrypted tally: aggregates recomputed from the board");
    let published = null;
    try {
      published = EncryptedTally.fromJson(ctx.group, await this.readJson(ENCRYPTED_TALLY), { membership: false });
    } catch (err) {
      report.add("tally.aggregate", ENCRYPTED_TALLY, errorText(err));
    }
    if (published !== null) {
      if (published.entries.length !== tally.entries.length) {
        report.add("tally.aggregate", ENCRYPTED_TALLY, bi("el número de agregados no corresponde al manifiesto",
          "the number of aggregates does not match the manifest"));
      } else {
        tally.entries.forEach((mine, i) => {
          if (!sameEntry(mine, published.entries[i])) {
            report.add("tally.aggregate", `${ENCRYPTED_TALLY}: ${mine.entity}/${ctx.manifest.contests[mine.contestIndex].id}`,
              bi("el agregado publicado no es el producto de las boletas del tablero",
                "the published aggregate is not the product of the board's ballots"));
          }
        });
      }
    }
    // Decryption shares are checked against A and B of this tally: when not every ballot's α and β
    // were proven members, the aggregates are tested here (a product of members is a member).
    this.tallyMembers = true;
    if (!this.allProofs) {
      const total = tally.entries.reduce((n, e) => n + e.ciphertexts.length, 0);
      let done = 0;
      for (const entry of tally.entries) {
        for (const [oi, ct] of entry.ciphertexts.entries()) {
          if (!ctx.group.isElement(ct.alpha) || !ctx.group.isElement(ct.beta)) {
            const contest = ctx.manifest.contests[entry.contestIndex];
            this.tallyMembers = false;
            report.add("board.encoding", this.boardName, bi(
              `el agregado ${entry.entity}/${contest.id}/${contest.options[oi].id} incluye un α o β fuera del subgrupo de ` +
                "orden q: revise las pruebas de todas las boletas para saber cuál",
              `the aggregate ${entry.entity}/${contest.id}/${contest.options[oi].id} includes an α or β outside the ` +
                "order-q subgroup: check every ballot's proofs to find which"));
          }
          done += 1;
          await this.tick(done / total, done, total);
        }
      }
    }
    this.endStage();
    this.tally = tally;
    return tally;
  }

  // -- decryption and results -------------------------------------------------------------------------

  async checkDecryption(ctx, tally, outcome) {
    const report = this.report;
    this.beginStage("decryption", "Descifrado: pruebas de las partes y pesos de Lagrange",
      "Decryption: share proofs and Lagrange weights");
    const { n, t } = this.ceremony;
    const group = ctx.group;
    const finish = (value) => {
      this.endStage();
      return value;
    };
    if (!this.tallyMembers) {
      report.note("no se revisó el descifrado: el recuento recalculado incluye elementos fuera del subgrupo",
        "the decryption was not checked: the recomputed tally includes elements outside the subgroup");
      this.endStage("skipped");
      return null;
    }
    let data;
    let decryptions;
    try {
      data = await this.readJson(DECRYPTION);
      if (data === null || typeof data !== "object" || Array.isArray(data) || Object.keys(data).length !== 4
        || !["ceremony_id", "present", "weights", "envelopes"].every((k) => Object.prototype.hasOwnProperty.call(data, k))
        || !Array.isArray(data.envelopes)) {
        throw new SiveiError("campos no válidos", "invalid fields");
      }
      const envelopes = data.envelopes.map((e, i) => parseEnvelope(e, `envelopes[${i}]`));
      decryptions = envelopes.map((env, i) => ({ env, d: parseGuardianDecryption(group, env, `envelopes[${i}]`),
        what: `envelopes[${i}]` }));
      // Every share's membership before anything uses a share (§3.2).
      const total = decryptions.reduce((k, x) => k + x.d.shares.reduce((m, row) => m + row.length, 0), 0);
      let done = 0;
      for (const { d, what } of decryptions) {
        for (const [i, row] of d.shares.entries()) {
          for (const [j, share] of row.entries()) {
            if (!group.isElement(share.share)) {
              throw new SiveiError(`${what}.shares[${i}][${j}].share: el elemento no pertenece al subgrupo de orden q`,
                `${what}.shares[${i}][${j}].share: element is not in the order-q subgroup`);
            }
            done += 1;
            await this.tick(0.25 * done / total, done, total);
          }
        }
      }
    } catch (err) {
      if (err instanceof Cancelled) throw err;
      report.add("decryption", DECRYPTION, errorText(err));
      return finish(null);
    }
    const tHash = await tally.hash(ctx);
    const candidates = [];
    for (const { env, d } of decryptions) {
      const where = bi(`${DECRYPTION}, custodio ${d.guardian}`, `${DECRYPTION}, guardian ${d.guardian}`);
      if (!(d.guardian >= 1 && d.guardian <= n)) {
        report.add("decryption", where, bi("custodio fuera de 1..n", "guardian outside 1..n"));
        continue;
      }
      if (!verifyDigest(outcome.signingKeys[d.guardian - 1], await envelopeContentHash(env.json), env.signature)) {
        report.add("decryption.signature", where, bi(
          `firma inválida en el mensaje «${env.type}» de ${env.sender} (ronda ${env.round})`,
          `invalid signature on the «${env.type}» message from ${env.sender} (round ${env.round})`));
        continue;
      }
      if (env.electionId !== ctx.manifest.electionId || env.ceremonyId !== data.ceremony_id || env.round !== 0) {
        report.add("decryption", where, bi("sobre de otra elección, ceremonia o ronda", "envelope from another election, ceremony or round"));
        continue;
      }
      if (!equalBytes(d.tallyHash, tHash) || !equalBytes(env.previous, tHash)) {
        report.add("decryption.tally-hash", where, bi(
          "las partes descifran otro recuento cifrado que el recalculado del tablero",
          "the shares decrypt another encrypted tally than the one recomputed from the board"));
        continue;
      }
      if (d.shares.length !== tally.entries.length || d.shares.some((row, i) => row.length !== tally.entries[i].ciphertexts.length)) {
        report.add("decryption", where, bi("número de partes incorrecto", "wrong number of shares"));
        continue;
      }
      candidates.push({ d, where });
    }
    // Every share's proof (K_i through a fixed-base table: one per guardian).
    const total = candidates.reduce((k, c) => k + c.d.shares.reduce((m, row) => m + row.length, 0), 0);
    let done = 0;
    const valid = [];
    for (const { d, where } of candidates) {
      const kTable = group.fixedBase(outcome.guardianKeys[d.guardian - 1]);
      let failed = false;
      for (const [ei, row] of d.shares.entries()) {
        const entry = tally.entries[ei];
        for (const [oi, share] of row.entries()) {
          const ok = share.guardian === d.guardian && await verifyShare(group, share, outcome.guardianKeys[d.guardian - 1],
            entry.ciphertexts[oi], ctx.electionHash, { powK: (e) => kTable.pow(e) });
          if (!ok) {
            failed = true;
            const contest = ctx.manifest.contests[entry.contestIndex];
            report.add("decryption.share-proof", bi(`${where.es}, ${entry.entity}/${contest.id}/${contest.options[oi].id}`,
              `${where.en}, ${entry.entity}/${contest.id}/${contest.options[oi].id}`),
            bi("la prueba de descifrado parcial no es válida", "the partial decryption proof is invalid"));
          }
          done += 1;
          await this.tick(0.25 + 0.5 * done / total, done, total);
        }
      }
      if (!failed) valid.push(d);
    }
    const present = valid.map((d) => d.guardian).sort((a, b) => a - b);
    if (new Set(present).size !== present.length) {
      report.add("decryption.present", DECRYPTION, bi("custodio repetido", "repeated guardian"));
      return finish(null);
    }
    if (JSON.stringify(data.present) !== JSON.stringify(present)) {
      report.add("decryption.present", DECRYPTION, bi(
        `el conjunto declarado ${pyList(data.present)} no es el de las partes válidas ${pyList(present)}`,
        `the declared set ${pyList(data.present)} is not that of the valid shares ${pyList(present)}`));
    }
    if (present.length < t) {
      report.add("decryption.threshold", DECRYPTION, bi(
        `se necesitan ${t} custodios y solo hay partes válidas de ${present.length}`,
        `${t} guardians are needed and only ${present.length} gave valid shares`));
      return finish(null);
    }
    const { weights, match } = statedWeightsMatch(group, data.weights, present);
    if (!match) {
      report.add("decryption.lagrange", DECRYPTION, bi(
        "los pesos de Lagrange publicados no son los del conjunto de custodios presentes",
        "the published Lagrange weights are not those of the set of guardians present"));
    }
    report.addFact("guardians_decrypted", bi("custodios que descifraron", "guardians who decrypted"), present);
    // Π M_i^{w_i} per ciphertext: g^m = B / that product (compared without an inverse in results).
    const ordered = [...valid].sort((a, b) => a.guardian - b.guardian);
    const combined = new Map();
    const count = tally.entries.reduce((k, e) => k + e.ciphertexts.length, 0);
    let combinedDone = 0;
    for (const [ei, entry] of tally.entries.entries()) {
      for (const [oi, ct] of entry.ciphertexts.entries()) {
        let prod = 1n;
        ordered.forEach((d, k) => {
          prod = (prod * group.pow(d.shares[ei][oi].share, weights[k])) % group.p;
        });
        combined.set(`${ei}:${oi}`, { beta: ct.beta, prod });
        combinedDone += 1;
        await this.tick(0.75 + 0.25 * combinedDone / count, combinedDone, count);
      }
    }
    return finish(combined);
  }

  async checkResults(ctx, tally, combined) {
    const report = this.report;
    this.beginStage("results", "Resultados: conteos descifrados, totales y distribución",
      "Results: decrypted counts, totals and distribution");
    const manifest = ctx.manifest;
    const group = ctx.group;
    let published;
    try {
      published = parseResults(manifest, bytesToHex(await manifest.hash()), await this.readJson(RESULTS), this.version);
    } catch (err) {
      report.add("results", RESULTS, errorText(err));
      this.endStage();
      return;
    }
    const byKey = new Map(published.map((r) => [`${r.entity}\u0000${r.contestId}`, r]));
    const counts = new Map();
    for (const [ei, entry] of tally.entries.entries()) {
      const contest = manifest.contests[entry.contestIndex];
      const result = byKey.get(`${entry.entity}\u0000${contest.id}`);
      const where = `${RESULTS}: ${entry.entity}/${contest.id}`;
      if (result === undefined || result.optionCounts.length !== contest.options.length) {
        report.add("results", where, bi("faltan los resultados de esta contienda", "the results of this contest are missing"));
        continue;
      }
      counts.set(`${entry.entity}\u0000${contest.id}`, result.optionCounts);
      if (combined === null) continue;
      for (const [oi, m] of result.optionCounts.entries()) {
        const c = combined.get(`${ei}:${oi}`);
        // g^m = B / Π M_i^{w_i}  ⇔  g^m · Π M_i^{w_i} = B.
        if (!(m >= 0 && m <= entry.ballots) || (group.gPow(BigInt(m)) * c.prod) % group.p !== c.beta) {
          report.add("results.decryption", `${where}/${contest.options[oi].id}`, bi(
            `el conteo publicado ${m} no es el descifrado del agregado`,
            `the published count ${m} is not the decryption of the aggregate`));
        }
        await this.tick((ei + 1) / tally.entries.length);
      }
    }
    let recomputed;
    try {
      recomputed = computeResults(manifest, counts);
    } catch (err) {
      report.add("results", RESULTS, errorText(err));
      this.endStage();
      return;
    }
    const n = Math.min(recomputed.length, published.length);
    for (let i = 0; i < n; i++) {
      const mine = recomputed[i];
      const theirs = published[i];
      const where = `${RESULTS}: ${mine.entity}/${mine.contestId}`;
      if (mine.entity !== theirs.entity || mine.contestId !== theirs.contestId) {
        report.add("results", where, bi("orden de contiendas distinto al del manifiesto", "contest order differs from the manifest's"));
        continue;
      }
      if (mine.total !== theirs.total || !samePairs(mine.candidateTotals, theirs.candidateTotals)) {
        report.add("results.totals", where, bi("totales o votos por candidatura mal calculados", "totals or candidate votes miscomputed"));
      }
      if (!samePairs(mine.partyDistribution, theirs.partyDistribution)) {
        report.add("results.distribution", where, bi(
          "la distribución de votos de coalición no sigue la regla del manifiesto",
          "the coalition vote distribution does not follow the manifest's rule"));
      }
    }
    if (recomputed.length !== published.length) {
      report.add("results", RESULTS, bi("número de contiendas incorrecto", "wrong number of contests"));
    }
    this.resultsShown = published.map((r) => {
      const contest = manifest.contest(r.contestId);
      let entityName = r.entity;
      try {
        entityName = manifest.entity(r.entity).name;
      } catch {
        // shown by code
      }
      return { entity: r.entity, entityName, contestId: r.contestId, title: contest.title, total: r.total,
        options: contest.options.map((o, i) => ({ id: o.id, label: o.label, kind: o.kind, votes: r.optionCounts[i] })) };
    });
    this.endStage();
  }

  // -- acts -------------------------------------------------------------------------------------------

  async readAct(name, type, check) {
    let act;
    try {
      act = SignedAct.fromJson(await this.readJson(name), name);
    } catch (err) {
      this.report.add(check, name, errorText(err));
      return null;
    }
    if (act.type !== type) {
      this.report.add(check, name, bi("tipo de acta equivocado", "wrong act type"));
      return null;
    }
    this.report.addFingerprint(type.replace("-", "_"), bi(`acta (${name})`, `act (${name})`), fingerprint(await act.contentHash()));
    return act;
  }

  async checkActs(ctx, outcome, tally, cred) {
    const report = this.report;
    this.beginStage("acts", "Actas de inicio y de cierre, constancia de integridad",
      "Opening and closing acts, integrity constancia");
    const { n, t, ceremonyId, rounds } = this.ceremony;
    const keys = guardianKeysByName(outcome.signingKeys);
    const manifest = ctx.manifest;
    const group = ctx.group;
    const mJson = manifest.toJson();
    const expectedOpening = {
      election_id: manifest.electionId,
      parameters_fingerprint: bytesToHex(await group.fingerprint()),
      manifest_hash: bytesToHex(await manifest.hash()),
      voting_opens: mJson.voting_opens,
      voting_closes: mJson.voting_closes,
      credential_authority_key: cred.body.authority_key,
      credential_list_hash: bytesToHex(cred.listHash),
      credential_counts: cred.body.counts,
      ceremony_id: ceremonyId,
      threshold: t,
      guardians: n,
      joint_key: elementToHex(group, outcome.jointKey),
      transcript_hash: bytesToHex(await transcriptHash(manifest.electionId, ceremonyId, rounds)),
      election_hash: bytesToHex(ctx.electionHash),
      guardian_signing_keys: outcome.signingKeys.map(bytesToHex),
      genesis_head: bytesToHex(await genesisHead(ctx.electionHash)),
    };
    const opening = await this.readAct(OPENING_ACT, OPENING, "acts.opening");
    this.receiptKey = null;
    if (opening !== null) {
      for (const p of await opening.signatureProblems(keys, { required: n, what: OPENING_ACT })) {
        report.add("acts.opening.signature", OPENING_ACT, p);
      }
      const body = opening.body;
      for (const [field, value] of Object.entries(expectedOpening)) {
        if (value !== undefined && value !== null && !sameJson(body[field], value)) {
          report.add("acts.opening.content", `${OPENING_ACT}: ${field}`, bi("el valor del acta no corresponde al registro",
            "the act's value does not match the record"));
        }
      }
      try {
        const key = hexToBytes(body.receipt_key, 65, "receipt_key");
        if (key[0] !== 4) {
          throw new SiveiError("receipt_key: la llave pública P-256 debe tener 65 bytes (04‖x‖y)",
            "receipt_key: a P-256 public key must be 65 bytes (04‖x‖y)");
        }
        if (!isValidPublicKey(key)) {
          throw new SiveiError("receipt_key: el punto no está en la curva P-256", "receipt_key: point is not on the P-256 curve");
        }
        this.receiptKey = key;
        report.addFingerprint("receipt_key", bi("llave de recibos", "receipt key"), fingerprint(await keyFingerprintDigest(key)));
      } catch (err) {
        report.add("acts.opening.content", `${OPENING_ACT}: receipt_key`, errorText(err));
      }
      await this.checkIntegrity(body.integrity_digest);
    }
    const closing = await this.readAct(CLOSING_ACT, CLOSING, "acts.closing");
    if (closing !== null) {
      for (const p of await closing.signatureProblems(keys, { required: t, what: CLOSING_ACT })) {
        report.add("acts.closing.signature", CLOSING_ACT, p);
      }
      const body = closing.body;
      const expected = { election_id: manifest.electionId, election_hash: bytesToHex(ctx.electionHash),
        encrypted_tally_hash: bytesToHex(await tally.hash(ctx)) };
      if (this.close) {
        Object.assign(expected, { head: bytesToHex(this.close.head), head_index: this.close.index,
          cast: this.close.payload.cast, late: this.close.payload.late });
      }
      for (const [field, value] of Object.entries(expected)) {
        if (!sameJson(body[field], value)) {
          report.add("acts.closing.content", `${CLOSING_ACT}: ${field}`, bi("el valor del acta no corresponde al registro",
            "the act's value does not match the record"));
        }
      }
      const closedAt = parseInstant(body.closed_at);
      if (closedAt === null || closedAt < parseInstant(manifest.votingCloses)) {
        report.add("acts.closing.content", `${CLOSING_ACT}: closed_at`, bi(
          "el cierre es anterior al fin de la ventana de votación", "the close is earlier than the end of the voting window"));
      }
    }
    this.endStage();
  }

  async checkIntegrity(digest) {
    const report = this.report;
    let constancia;
    let expected;
    try {
      expected = hexToBytes(digest, 32, "integrity_digest");
      constancia = parseConstancia(await this.readJson(INTEGRITY));
    } catch (err) {
      report.add("integrity", INTEGRITY, errorText(err));
      return;
    }
    if (!equalBytes(constancia.digest, expected)) {
      report.add("integrity", INTEGRITY, bi("la constancia de integridad no es la que nombra el acta de inicio",
        "the integrity constancia is not the one the opening act names"));
      return;
    }
    report.addFingerprint("integrity_constancia", bi("constancia de integridad", "integrity constancia"), fingerprint(constancia.digest));
  }

  // -- receipts ---------------------------------------------------------------------------------------

  async checkReceipts(ctx) {
    const report = this.report;
    if (this.options.receipts.length === 0) return;
    this.beginStage("receipts", "Recibos de los votantes", "Voters' receipts");
    if (this.receiptKey === null) {
      report.add("receipt.key", OPENING_ACT, bi("no se puede leer la llave de recibos", "cannot read the receipt key"));
      this.endStage();
      return;
    }
    this.receiptResults = [];
    for (const { name, receipt } of this.parsedReceipts) {
      const event = this.receiptEvents.get(receipt.index) ?? null;
      const where = event ? event.where : `${this.boardName}:0`;
      const counted = event !== null && !this.flaggedLines.has(where) && !this.overflowed();
      const closedAfter = this.closeLine !== undefined && event !== null && event.lineno < this.closeLine;
      const problems = await receiptProblems(receipt, {
        electionId: ctx.manifest.electionId, electionHash: ctx.electionHash, receiptKey: this.receiptKey,
        event: event && { type: event.type, head: event.head }, ballotHash: event && event.type === EVENT_BALLOT ? event.payloadHash : null,
        closedAfter, counted,
      });
      for (const p of problems) report.add(p.check, `${name} (${receipt.trackingCode})`, p.message);
      this.receiptResults.push({ name, trackingCode: receipt.trackingCode, index: receipt.index, ok: problems.length === 0,
        checks: problems.map((p) => p.check) });
    }
    report.addFact("receipts_checked", bi("recibos revisados", "receipts checked"), this.parsedReceipts.length);
    this.endStage();
  }

  /** A check failed more often than the report lists: then nothing is known about a line's problems. */
  overflowed() {
    return [...this.report.counts.values()].some((n) => n > 50);
  }
}

/** The problems found without cryptography for a ballot whose proofs are not checked: an unknown
 * style, contests not those of the style, a contest without one selection per option. */
export function structuralProblems(ctx, ballot, location) {
  const out = [];
  let styleContests;
  try {
    styleContests = ctx.manifest.styleContests(ballot.style);
  } catch {
    return [{ check: "ballot.style.unknown", location, message: bi(
      `el tipo de boleta '${ballot.style}' no existe en el manifiesto`, `ballot style '${ballot.style}' does not exist in the manifest`) }];
  }
  const indices = ballot.contests.map((c) => c.index);
  if (indices.length !== styleContests.length || indices.some((index, i) => index !== styleContests[i][0])) {
    return [{ check: "ballot.shape", location, message: bi("las contiendas de la boleta no son exactamente las de su tipo, en orden",
      "the ballot's contests are not exactly those of its style, in order") }];
  }
  ballot.contests.forEach((c, ci) => {
    const contest = styleContests[ci][1];
    if (c.selections.length !== contest.options.length) {
      out.push({ check: "ballot.shape", location: bi(`${location.es}, contienda ${contest.id}`, `${location.en}, contienda ${contest.id}`),
        message: bi(`se esperaban ${contest.options.length} opciones, hay ${c.selections.length}`,
          `expected ${contest.options.length} options, got ${c.selections.length}`) });
    }
  });
  return out;
}

function validClose(payload, ballots) {
  if (payload === null || typeof payload !== "object") return false;
  const keys = Object.keys(payload).sort().join(",");
  return keys === "cast,late" && payload.cast === ballots && Number.isInteger(payload.late) && payload.late >= 0;
}

function sameJson(a, b) {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

function pyList(xs) {
  return Array.isArray(xs) ? `[${xs.join(", ")}]` : JSON.stringify(xs);
}

async function* blobChunks(blob, onChunk, chunkBytes = 4 << 20) {
  for (let start = 0; start < blob.size; start += chunkBytes) {
    onChunk(new Uint8Array(await blob.slice(start, Math.min(blob.size, start + chunkBytes)).arrayBuffer()));
    yield start;
  }
}
