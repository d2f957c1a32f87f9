// The credential authority's signed list: credential-list.json (an envelope) and credentials.jsonl
// (one {"credential", "style"} per line, sorted by credential) (mirrors check_credential_list in
// sivei/ballot/credentials.py; docs/protocol.md §11.4).
//
// Built for streaming: a list of a million voters is read line by line (CredentialEntries.add), its
// entries hash computed incrementally, and kept as one sorted byte array for look-ups by binary
// search (32 bytes per credential) instead of a million strings.

import { sha256 as sha256Incremental } from "../vendor/noble-hashes-2.4.0/sha2.js";
import { ed25519 as nobleEd25519 } from "../vendor/noble-curves-2.4.0/ed25519.js";
import { bytesToHex, equalBytes } from "./bytes.js";
import { envelopeContentHash } from "./context.js";
import { isValidPublicKey, verifyDigest } from "./ecdsa.js";
import { Encoder, hexToBytes } from "./encoding.js";
import { EncodingError, bi, errorText } from "./errors.js";

export const LIST_FILE = "credential-list.json";
export const ENTRIES_FILE = "credentials.jsonl";
export const TAG_ENTRIES = "sivei/credential-list";
const IN_PERSON_FIELD = "in_person_hash";
const BODY_FIELDS = ["manifest_hash", "authority_key", "entries_hash", "count", "counts", "retains_credentials"];

/**
 * A valid Ed25519 public credential (libsodium's crypto_core_ed25519_is_valid_point): a canonical
 * encoding of a point on the curve, in the prime-order subgroup and not of small order.
 */
export function isValidCredentialPoint(bytes) {
  try {
    const point = nobleEd25519.Point.fromBytes(bytes, false);
    return !point.isSmallOrder() && point.isTorsionFree();
  } catch {
    return false;
  }
}

/**
 * Strict Ed25519 verification with the vendored @noble/curves (RFC 8032 with canonical encodings,
 * small-order public keys refused): the same answer in every browser, WebCrypto or not.
 */
export function verifyCredentialSignature(publicKey, message, signature) {
  try {
    return nobleEd25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

function line(i) {
  return bi(`${ENTRIES_FILE}, línea ${i}`, `${ENTRIES_FILE}, line ${i}`);
}

/** Parse one line of credentials.jsonl (shape only, Python's _parse_entry_line): {credential, style}. */
export function parseEntry(obj, number) {
  const where = line(number);
  const fail = (es, en) => {
    throw new EncodingError(`${where.es}: ${es}`, `${where.en}: ${en}`);
  };
  if (obj === null || typeof obj !== "object" || Array.isArray(obj) || Object.keys(obj).length !== 2
    || !Object.prototype.hasOwnProperty.call(obj, "credential") || !Object.prototype.hasOwnProperty.call(obj, "style")) {
    fail("se esperaban exactamente los campos «credential» y «style»", "expected exactly the fields «credential» and «style»");
  }
  let credential;
  try {
    credential = hexToBytes(obj.credential, 32, "«credential»");
  } catch (err) {
    const e = errorText(err);
    fail(e.es, e.en);
  }
  if (typeof obj.style !== "string") fail("«style» debe ser texto", "«style» must be text");
  return { credential, style: obj.style };
}

/** The list's entries, read one at a time: order, styles, counts and the entries hash, streamed. */
export class CredentialEntries {
  /** styles: the manifest's ballot style ids; count: the body's count (the hash input starts with it). */
  constructor(styles, count, { checkPoints = true } = {}) {
    this.styles = styles;
    this.styleIndex = new Map(styles.map((s, i) => [s, i]));
    this.checkPoints = checkPoints;
    this.pointsChecked = 0;
    this.problems = [];
    this.size = 0;
    this.capacity = 1024;
    this.keys = new Uint8Array(32 * this.capacity);
    this.styleOf = new Uint16Array(this.capacity);
    this.perStyle = new Map(styles.map((s) => [s, 0]));
    this.previous = null;
    this.hasher = null;
    this.declaredCount = Number.isInteger(count) && count >= 0 && count <= 0xffffffff ? count : null;
    if (this.declaredCount !== null) {
      const tag = new TextEncoder().encode(TAG_ENTRIES);
      this.hasher = sha256Incremental.create();
      this.hasher.update(new Encoder().u32(tag.length).raw(tag).u32(this.declaredCount).toBytes());
    }
    this.unknownStyles = [];
    this.unsorted = false;
  }

  /** Add the entry of line `number` (1-based). */
  add(entry, number) {
    const where = line(number);
    const { credential, style } = entry;
    if (this.checkPoints) {
      this.pointsChecked += 1;
      if (!isValidCredentialPoint(credential)) {
        this.problems.push(bi(`${where.es}: «credential» no es un punto Ed25519 válido`,
          `${where.en}: «credential» is not a valid Ed25519 point`));
      }
    }
    if (!this.styleIndex.has(style)) {
      this.problems.push(bi(`${where.es}: «style» '${style}' no existe en el manifiesto`,
        `${where.en}: «style» '${style}' is not in the manifest`));
    } else {
      this.perStyle.set(style, this.perStyle.get(style) + 1);
    }
    if (this.previous !== null) {
      const cmp = compareBytes(credential, this.previous);
      if (cmp === 0) {
        this.problems.push(bi(`${where.es}: credencial repetida (igual a la línea ${number - 1})`,
          `${where.en}: duplicate credential (same as line ${number - 1})`));
      } else if (cmp < 0) {
        this.unsorted = true;
        this.problems.push(bi(
          `${where.es}: fuera de orden (menor que la línea ${number - 1}; la lista va ordenada por bytes de la credencial)`,
          `${where.en}: out of order (less than line ${number - 1}; the list is sorted by credential bytes)`));
      }
    }
    this.previous = credential;
    if (this.hasher !== null) this.hasher.update(new Encoder().fixed(credential, 32).string(style).toBytes());
    if (this.size === this.capacity) this.grow();
    this.keys.set(credential, 32 * this.size);
    this.styleOf[this.size] = this.styleIndex.has(style) ? this.styleIndex.get(style) : 0xffff;
    if (!this.styleIndex.has(style)) this.unknownStyles.push([this.size, style]);
    this.size += 1;
  }

  grow() {
    this.capacity *= 2;
    const keys = new Uint8Array(32 * this.capacity);
    keys.set(this.keys);
    this.keys = keys;
    const styleOf = new Uint16Array(this.capacity);
    styleOf.set(this.styleOf);
    this.styleOf = styleOf;
  }

  /** The entries hash, once every entry was added (null when the body's count is not a valid integer). */
  entriesHash() {
    return this.hasher === null ? null : this.hasher.digest();
  }

  /** The position of `credential` (32 bytes) in the list, or -1: a binary search, since the list
   * promises its order (an unsorted list is a "credentials" problem, then searched one by one). */
  indexOf(credential) {
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const cmp = compareBytes(this.keys.subarray(32 * mid, 32 * mid + 32), credential);
      if (cmp === 0) return mid;
      if (cmp < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    if (this.unsorted) {
      for (let i = 0; i < this.size; i++) if (equalBytes(this.keys.subarray(32 * i, 32 * i + 32), credential)) return i;
    }
    return -1;
  }

  /** The style the list gives the entry at `index` (indexOf). */
  styleAt(index) {
    const s = this.styleOf[index];
    if (s !== 0xffff) return this.styles[s];
    const unknown = this.unknownStyles.find(([i]) => i === index);
    return unknown ? unknown[1] : null;
  }

  /** The style the list gives `credential`, or null when it is not listed. */
  styleFor(credential) {
    const index = this.indexOf(credential);
    return index < 0 ? null : this.styleAt(index);
  }
}

function compareBytes(a, b) {
  for (let i = 0; i < 32; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return 0;
}

/**
 * The problems of the list's envelope (header fields, previous = manifest hash, the authority key,
 * its signature) — the first part of Python's check_credential_list. envelope: the parsed JSON.
 */
export async function envelopeProblems(manifest, manifestHash, envelope) {
  const problems = [];
  const header = [["type", envelope.type, "credential-list"], ["ceremony_id", envelope.ceremony_id, "credentials"],
    ["round", envelope.round, 0], ["sender", envelope.sender, "credential-authority"],
    ["election_id", envelope.election_id, manifest.electionId]];
  for (const [name, got, want] of header) {
    if (got !== want) {
      problems.push(bi(`${LIST_FILE}: «${name}» es ${JSON.stringify(got)}, se esperaba ${JSON.stringify(want)}`,
        `${LIST_FILE}: «${name}» is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`));
    }
  }
  let previous = null;
  try {
    previous = hexToBytes(envelope.previous, 32, "previous");
  } catch {
    previous = null;
  }
  if (previous === null || !equalBytes(previous, manifestHash)) {
    problems.push(bi(`${LIST_FILE}: «previous» no es el hash del manifiesto dado`,
      `${LIST_FILE}: «previous» is not the given manifest's hash`));
  }
  const body = envelope.body;
  if (Object.prototype.hasOwnProperty.call(body, "authority_key")) {
    const where = `${LIST_FILE}: body.authority_key`;
    let key = null;
    try {
      key = hexToBytes(body.authority_key, 65, where);
      if (key[0] !== 4) {
        problems.push(bi(`${where}: la llave pública P-256 debe tener 65 bytes (04‖x‖y)`,
          `${where}: a P-256 public key must be 65 bytes (04‖x‖y)`));
        key = null;
      } else if (!isValidPublicKey(key)) {
        problems.push(bi(`${where}: el punto no está en la curva P-256`, `${where}: point is not on the P-256 curve`));
        key = null;
      }
    } catch (err) {
      problems.push(errorText(err));
      key = null;
    }
    if (key !== null) {
      let signature = null;
      try {
        signature = hexToBytes(envelope.signature, 64, "signature");
      } catch {
        signature = null;
      }
      if (signature === null || !verifyDigest(key, await envelopeContentHash(envelope), signature)) {
        problems.push(bi(
          `${LIST_FILE}: firma inválida en el mensaje «${envelope.type}» de ${envelope.sender} (ronda ${envelope.round})`,
          `${LIST_FILE}: invalid signature on the «${envelope.type}» message from ${envelope.sender} (round ${envelope.round})`));
      }
    }
  }
  return problems;
}

/** The problems of the body's summary fields against the entries read (Python's _summary_problems). */
export function summaryProblems(manifestHashHex, body, entries, { inPerson = false } = {}) {
  const what = `${LIST_FILE}: body`;
  const problems = [];
  // With voting at consulates the body also signs the consulates' declaration (in_person_hash).
  const fields = inPerson ? [...BODY_FIELDS, IN_PERSON_FIELD] : BODY_FIELDS;
  if (inPerson && Object.prototype.hasOwnProperty.call(body, IN_PERSON_FIELD)
    && (typeof body[IN_PERSON_FIELD] !== "string" || !/^[0-9a-f]{64}$/.test(body[IN_PERSON_FIELD]))) {
    problems.push(bi(`${what}.${IN_PERSON_FIELD}: se esperaban 64 dígitos hexadecimales`,
      `${what}.${IN_PERSON_FIELD}: expected 64 hex digits`));
  }
  const missing = fields.filter((k) => !Object.prototype.hasOwnProperty.call(body, k)).sort();
  const extra = Object.keys(body).filter((k) => !fields.includes(k)).sort();
  const pyList = (xs) => `[${xs.map((x) => `'${x}'`).join(", ")}]`;
  if (missing.length) problems.push(bi(`${what}: faltan los campos ${pyList(missing)}`, `${what}: missing fields ${pyList(missing)}`));
  if (extra.length) problems.push(bi(`${what}: campos no previstos ${pyList(extra)}`, `${what}: unexpected fields ${pyList(extra)}`));
  if ("manifest_hash" in body && body.manifest_hash !== manifestHashHex) {
    problems.push(bi(`${what}.manifest_hash: la lista es de otro manifiesto (no coincide con el hash del manifiesto dado)`,
      `${what}.manifest_hash: the list belongs to another manifest (does not match the given manifest's hash)`));
  }
  if ("count" in body) {
    if (!Number.isInteger(body.count)) {
      problems.push(bi(`${what}.count: se esperaba un entero`, `${what}.count: expected an integer`));
    } else if (body.count !== entries.size) {
      problems.push(bi(`${what}.count: dice ${body.count} credenciales y ${ENTRIES_FILE} tiene ${entries.size}`,
        `${what}.count: says ${body.count} credentials and ${ENTRIES_FILE} has ${entries.size}`));
    }
  }
  if ("counts" in body) {
    const counts = body.counts;
    if (counts === null || typeof counts !== "object" || Array.isArray(counts)) {
      problems.push(bi(`${what}.counts: se esperaba un objeto`, `${what}.counts: expected an object`));
    } else {
      const styles = [...new Set([...Object.keys(counts), ...entries.styles])].sort();
      for (const style of styles) {
        if (!entries.perStyle.has(style)) {
          problems.push(bi(`${what}.counts: el estilo '${style}' no existe en el manifiesto`, `${what}.counts: style '${style}' is not in the manifest`));
        } else if (!Object.prototype.hasOwnProperty.call(counts, style)) {
          problems.push(bi(`${what}.counts: falta el estilo '${style}'`, `${what}.counts: style '${style}' is missing`));
        } else if (counts[style] !== entries.perStyle.get(style)) {
          problems.push(bi(`${what}.counts['${style}']: dice ${JSON.stringify(counts[style])} y ${ENTRIES_FILE} tiene ${entries.perStyle.get(style)}`,
            `${what}.counts['${style}']: says ${JSON.stringify(counts[style])} and ${ENTRIES_FILE} has ${entries.perStyle.get(style)}`));
        }
      }
    }
  }
  if ("entries_hash" in body) {
    const value = body.entries_hash;
    if (typeof value !== "string" || !/^[0-9a-f]{64}$/.test(value)) {
      problems.push(bi(`${what}.entries_hash: se esperaban 64 dígitos hexadecimales`, `${what}.entries_hash: expected 64 hex digits`));
    } else {
      const hash = body.count === entries.size ? entries.entriesHash() : null;
      if (hash === null || bytesToHex(hash) !== value) {
        problems.push(bi(`${what}.entries_hash: no coincide con ${ENTRIES_FILE} (se cambió, quitó o agregó alguna entrada)`,
          `${what}.entries_hash: does not match ${ENTRIES_FILE} (an entry was changed, removed or added)`));
      }
    }
  }
  if ("retains_credentials" in body && typeof body.retains_credentials !== "boolean") {
    problems.push(bi(`${what}.retains_credentials: se esperaba true o false`, `${what}.retains_credentials: expected true or false`));
  }
  return problems;
}
