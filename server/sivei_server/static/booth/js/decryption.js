// Threshold decryption: guardians' signed decryption shares, their Chaum–Pedersen proofs and the
// Lagrange combination (mirrors sivei/crypto/decryption.py and sivei/tally/decrypt.py;
// docs/protocol.md §16).
//
// Guardian i publishes M_i = A^{s_i} for each tally ciphertext (A, B) with a proof that
// log_g K_i = log_A M_i (h = A, X = K_i, Y = M_i, statement u32(i) ‖ element(B), context H_E); any set S
// of at least t guardians gives g^m = B / Π_{i∈S} M_i^{w_i}, w_i = Π_{j∈S, j≠i} j/(j−i) mod q.

import { Encoder, commitmentFromHex, hexToBytes, scalarFromHex } from "./encoding.js";
import { EncodingError } from "./errors.js";
import { modInv } from "./group.js";
import { ChaumPedersenProof, verifyChaumPedersen } from "./proofs.js";

export const TYPE_DECRYPTION_SHARES = "decryption-shares";

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function exactKeys(obj, keys) {
  return isPlainObject(obj) && Object.keys(obj).length === keys.length
    && keys.every((k) => Object.prototype.hasOwnProperty.call(obj, k));
}

/**
 * One share {guardian, share, proof}: the share M_i is checked for range only (the caller
 * establishes the membership of every share before any is verified or combined, as Python's
 * membership=False and require_share_members).
 */
export function parseShare(group, obj, what) {
  const fields = ["guardian", "proof", "share"];
  if (!exactKeys(obj, fields)) {
    throw new EncodingError(`${what}: se esperaban exactamente los campos [${fields.map((k) => `'${k}'`).join(", ")}]`,
      `${what}: expected exactly the fields [${fields.map((k) => `'${k}'`).join(", ")}]`);
  }
  if (!Number.isInteger(obj.guardian) || obj.guardian < 1 || obj.guardian >= 2 ** 32) {
    throw new EncodingError(`${what}.guardian: índice de custodio no válido`, `${what}.guardian: invalid guardian index`);
  }
  return Object.freeze({
    guardian: obj.guardian,
    share: commitmentFromHex(group, obj.share, `${what}.share`),
    proof: ChaumPedersenProof.fromJson(group, obj.proof, `${what}.proof`),
  });
}

/**
 * A guardian's decryption envelope body (Python's parse_guardian_decryption with membership=False):
 * {guardian, tallyHash, shares: [[share per option] per tally entry]}. envelope: the parsed envelope
 * JSON ({type, sender, body, …}).
 */
export function parseGuardianDecryption(group, envelope, what) {
  const body = envelope.body;
  if (!exactKeys(body, ["guardian", "shares", "tally_hash"])) {
    throw new EncodingError(`${what}: campos no válidos`, `${what}: invalid fields`);
  }
  const guardian = body.guardian;
  if (!Number.isInteger(guardian) || guardian < 1) {
    throw new EncodingError(`${what}.guardian: índice no válido`, `${what}.guardian: invalid index`);
  }
  if (envelope.sender !== `guardian-${guardian}` || envelope.type !== TYPE_DECRYPTION_SHARES) {
    throw new EncodingError(`${what}: remitente o tipo no corresponde al guardián ${guardian}`,
      `${what}: sender or type does not match guardian ${guardian}`);
  }
  const tallyHash = hexToBytes(body.tally_hash, 32, `${what}.tally_hash`);
  if (!Array.isArray(body.shares) || !body.shares.every((row) => Array.isArray(row))) {
    throw new EncodingError(`${what}.shares: se esperaba una lista de listas`, `${what}.shares: expected a list of lists`);
  }
  const shares = body.shares.map((row, i) => row.map((s, j) => parseShare(group, s, `${what}.shares[${i}][${j}]`)));
  return Object.freeze({ guardian, tallyHash, shares });
}

/** The statement a share's proof binds: u32(i) ‖ element(B). */
export function shareStatement(group, guardian, ciphertext) {
  return new Encoder(group).u32(guardian).element(ciphertext.beta).toBytes();
}

/**
 * True when `share` (its M_i a proven member) is guardian `share.guardian`'s valid partial decryption
 * of `ciphertext` (A and B proven members) for K_i = guardianKey. powK: K_i^e through a fixed-base
 * table, when the caller has one.
 */
export async function verifyShare(group, share, guardianKey, ciphertext, context, { powK } = {}) {
  // X = K_i is the "public value" on the g side: a = g^v · K_i^c; b = A^v · M_i^c.
  return verifyChaumPedersen(group, share.proof, ciphertext.alpha, guardianKey, share.share,
    { context, statement: shareStatement(group, share.guardian, ciphertext), powX: powK });
}

/**
 * The present set's Lagrange weights, and whether the published ones (hex scalars) are exactly them: a
 * record states its weights, a checker recomputes them and never uses the stated ones.
 */
export function statedWeightsMatch(group, stated, present) {
  const weights = present.map((i) => lagrangeCoefficient(group, i, present));
  let parsed = [];
  try {
    parsed = Array.isArray(stated) ? stated.map((w) => scalarFromHex(group, w, "weights")) : [];
  } catch {
    parsed = [];
  }
  return { weights, match: parsed.length === weights.length && parsed.every((w, i) => w === weights[i]) };
}

/** w_i = Π_{j∈S, j≠i} j/(j−i) mod q over the set S = present (which contains i). */
export function lagrangeCoefficient(group, i, present) {
  const q = group.q;
  let num = 1n;
  let den = 1n;
  for (const j of present) {
    if (j !== i) {
      num = (num * BigInt(j)) % q;
      den = (((den * BigInt(j - i)) % q) + q) % q;
    }
  }
  return (num * modInv(den, q)) % q;
}
