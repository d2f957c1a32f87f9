// The signed acts: the opening act (signed by all n key-holders) and the closing act (by at least t)
// (mirrors sivei/record/acts.py; docs/protocol.md §18.2).
//
// An act is {type, election_id, body, signatures: [{signer: "guardian-<i>", signature}]}; its content
// hash H("sivei/act", string(type) ‖ string(election_id) ‖ blob(canonical_json(body))) never covers
// the signatures, each an ECDSA P-256 signature (ecdsa.js) over that hash.

import { bytesToHex } from "./bytes.js";
import { SIGNATURE_BYTES, verifyDigest } from "./ecdsa.js";
import { Encoder, canonicalJson, hexToBytes, taggedHash } from "./encoding.js";
import { EncodingError, bi } from "./errors.js";

export const TAG_ACT = "sivei/act";
export const OPENING = "opening-act";
export const CLOSING = "closing-act";
export const ACT_TYPES = Object.freeze([OPENING, CLOSING]);

export const OPENING_FIELDS = Object.freeze([
  "election_id", "parameters_fingerprint", "manifest_hash", "voting_opens", "voting_closes",
  "credential_authority_key", "credential_list_hash", "credential_counts", "ceremony_id", "threshold",
  "guardians", "joint_key", "transcript_hash", "election_hash", "guardian_signing_keys", "receipt_key",
  "genesis_head", "integrity_digest",
]);
export const CLOSING_FIELDS = Object.freeze([
  "election_id", "election_hash", "closed_at", "head", "head_index", "cast", "late", "encrypted_tally_hash",
]);

function sameKeys(obj, keys) {
  const own = Object.keys(obj);
  return own.length === keys.length && keys.every((k) => Object.prototype.hasOwnProperty.call(obj, k));
}

function sortedList(keys) {
  return `[${[...keys].sort().map((k) => `'${k}'`).join(", ")}]`;
}

export class SignedAct {
  constructor(type, electionId, body, signatures) {
    this.type = type;
    this.electionId = electionId;
    this.body = body;
    this.signatures = Object.freeze(signatures.map((s) => Object.freeze({ ...s })));
    Object.freeze(this);
  }

  contentHashInput() {
    return new Encoder().string(this.type).string(this.electionId).blob(canonicalJson(this.body)).toBytes();
  }

  /** H("sivei/act", type ‖ election id ‖ canonical JSON of the body): what every key-holder signs. */
  async contentHash() {
    return taggedHash(TAG_ACT, this.contentHashInput());
  }

  /**
   * Every invalid, unknown or repeated signature, and too few valid ones (< required), as bilingual
   * texts (Python's signature_problems). keys: Map of "guardian-<i>" → 65-byte key, in guardian order.
   */
  async signatureProblems(keys, { required, what }) {
    const digest = await this.contentHash();
    const problems = [];
    const valid = new Set();
    const seen = new Set();
    for (const s of this.signatures) {
      if (seen.has(s.signer)) {
        problems.push(bi(`${what}: firma repetida de ${s.signer}`, `${what}: repeated signature of ${s.signer}`));
        continue;
      }
      seen.add(s.signer);
      const key = keys.get(s.signer);
      if (key === undefined) {
        problems.push(bi(`${what}: firmante desconocido ${s.signer}`, `${what}: unknown signer ${s.signer}`));
      } else if (!verifyDigest(key, digest, s.signature)) {
        problems.push(bi(`${what}: la firma de ${s.signer} no es válida`, `${what}: the signature of ${s.signer} is invalid`));
      } else {
        valid.add(s.signer);
      }
    }
    if (valid.size < required) {
      const missing = [...keys.keys()].filter((k) => !valid.has(k)).sort().join(", ");
      problems.push(bi(
        `${what}: se requieren ${required} firmas válidas y hay ${valid.size} (faltan: ${missing})`,
        `${what}: ${required} valid signatures are required, ${valid.size} present (missing: ${missing})`));
    }
    return problems;
  }

  toJson() {
    return { type: this.type, election_id: this.electionId, body: this.body,
      signatures: this.signatures.map((s) => ({ signer: s.signer, signature: bytesToHex(s.signature) })) };
  }

  /** Strict parse (Python's SignedAct.from_json): exact fields, the body's fields for its type. */
  static fromJson(obj, what) {
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)
      || !sameKeys(obj, ["type", "election_id", "body", "signatures"])) {
      throw new EncodingError(`${what}: se esperaban los campos type, election_id, body, signatures`,
        `${what}: expected the fields type, election_id, body, signatures`);
    }
    if (!ACT_TYPES.includes(obj.type) || typeof obj.election_id !== "string") {
      throw new EncodingError(`${what}: tipo de acta o elección no válidos`, `${what}: invalid act type or election`);
    }
    const fields = obj.type === OPENING ? OPENING_FIELDS : CLOSING_FIELDS;
    const body = obj.body;
    if (body === null || typeof body !== "object" || Array.isArray(body) || !sameKeys(body, fields)) {
      throw new EncodingError(`${what}.body: campos no válidos (se esperaban ${sortedList(fields)})`,
        `${what}.body: invalid fields (expected ${sortedList(fields)})`);
    }
    canonicalJson(body);
    if (!Array.isArray(obj.signatures)) {
      throw new EncodingError(`${what}.signatures: se esperaba una lista`, `${what}.signatures: expected a list`);
    }
    const signatures = obj.signatures.map((s, i) => {
      if (s === null || typeof s !== "object" || Array.isArray(s) || !sameKeys(s, ["signer", "signature"])
        || typeof s.signer !== "string") {
        throw new EncodingError(`${what}.signatures[${i}]: no válida`, `${what}.signatures[${i}]: invalid`);
      }
      return { signer: s.signer, signature: hexToBytes(s.signature, SIGNATURE_BYTES, `${what}.signatures[${i}].signature`) };
    });
    return new SignedAct(obj.type, obj.election_id, body, signatures);
  }
}

/** "guardian-<i>" → the i-th signing key (1-based), in guardian order. */
export function guardianKeysByName(signingKeys) {
  return new Map(signingKeys.map((key, i) => [`guardian-${i + 1}`, key]));
}

/**
 * An act's UTC instant ("YYYY-MM-DDTHH:MM:SSZ") as milliseconds since 1970, or null when it is not
 * one (an impossible date included): instants are compared as instants, never as strings.
 */
export function parseInstant(value) {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(value)) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || new Date(ms).toISOString().replace(".000Z", "Z") !== value) return null;
  return ms;
}
