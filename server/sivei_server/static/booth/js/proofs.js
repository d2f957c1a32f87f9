// Non-interactive zero-knowledge proofs (mirrors sivei/crypto/proofs.py; docs/protocol.md section 8).
//
// Challenges are c = H(tag, context ‖ statement ‖ bases ‖ public values ‖ commitments) mod q;
// responses v = u − c·x mod q; verification checks a = base^v · X^c. Provers take their nonces
// from the caller (the ballot derives them from the ballot nonce), so that a challenged ballot can
// be rebuilt byte for byte.

import { Encoder, commitmentFromHex, elementToHex, hashToScalar, scalarFromHex, scalarToHex } from "./encoding.js";
import { isObjectWithKeys } from "./elgamal.js";
import { EncodingError } from "./errors.js";

export const TAG_SCHNORR = "sivei/proof/schnorr";
export const TAG_CHAUM_PEDERSEN = "sivei/proof/chaum-pedersen";
export const TAG_ZERO_ONE = "sivei/proof/zero-one";

function mod(x, q) {
  const r = x % q;
  return r < 0n ? r + q : r;
}

function checkKeys(obj, keys, what) {
  if (!isObjectWithKeys(obj, keys)) {
    const sorted = [...keys].sort().map((k) => `'${k}'`).join(", ");
    throw new EncodingError(
      `${what}: se esperaban exactamente los campos [${sorted}]`,
      `${what}: expected exactly the fields [${sorted}]`,
    );
  }
  return obj;
}

// -- Schnorr: knowledge of x with X = g^x ------------------------------------------------------

export class SchnorrProof {
  constructor(commitment, response) {
    this.commitment = commitment;
    this.response = response;
  }

  toJson(group) {
    return { commitment: elementToHex(group, this.commitment), response: scalarToHex(this.response) };
  }

  static fromJson(group, obj, what) {
    const d = checkKeys(obj, ["commitment", "response"], what);
    return new SchnorrProof(
      commitmentFromHex(group, d.commitment, `${what}.commitment`),
      scalarFromHex(group, d.response, `${what}.response`),
    );
  }
}

export function schnorrChallengeInput(group, context, statement, publicValue, commitment) {
  return new Encoder(group).fixed(context, 32).raw(statement)
    .element(group.g).element(publicValue).element(commitment).toBytes();
}

export async function proveSchnorr(group, secret, publicValue, { context, statement, nonce }) {
  const h = group.gPow(nonce);
  const c = await hashToScalar(group, TAG_SCHNORR, schnorrChallengeInput(group, context, statement, publicValue, h));
  return new SchnorrProof(h, mod(nonce - c * secret, group.q));
}

export async function verifySchnorr(group, proof, publicValue, { context, statement }) {
  const c = await hashToScalar(
    group, TAG_SCHNORR, schnorrChallengeInput(group, context, statement, publicValue, proof.commitment));
  return proof.commitment === group.mul(group.gPow(proof.response), group.pow(publicValue, c));
}

// -- Chaum–Pedersen: log_g X = log_h Y ----------------------------------------------------------

export class ChaumPedersenProof {
  constructor(commitmentG, commitmentH, response) {
    this.commitmentG = commitmentG; // a = g^u
    this.commitmentH = commitmentH; // b = h^u
    this.response = response;
  }

  toJson(group) {
    return {
      commitment_g: elementToHex(group, this.commitmentG),
      commitment_h: elementToHex(group, this.commitmentH),
      response: scalarToHex(this.response),
    };
  }

  static fromJson(group, obj, what) {
    const d = checkKeys(obj, ["commitment_g", "commitment_h", "response"], what);
    return new ChaumPedersenProof(
      commitmentFromHex(group, d.commitment_g, `${what}.commitment_g`),
      commitmentFromHex(group, d.commitment_h, `${what}.commitment_h`),
      scalarFromHex(group, d.response, `${what}.response`),
    );
  }
}

export function chaumPedersenChallengeInput(group, context, statement, h, x, y, a, b) {
  return new Encoder(group).fixed(context, 32).raw(statement).element(group.g).element(h)
    .element(x).element(y).element(a).element(b).toBytes();
}

/**
 * Prove X = g^s and Y = h^s with nonce u. powG / powH compute g^e and h^e (fixed-base tables
 * in ballots); without them, plain exponentiation.
 */
export async function proveChaumPedersen(group, secret, h, x, y, { context, statement, nonce, powG, powH }) {
  const a = powG ? powG(nonce) : group.gPow(nonce);
  const b = powH ? powH(nonce) : group.pow(h, nonce);
  const c = await hashToScalar(
    group, TAG_CHAUM_PEDERSEN, chaumPedersenChallengeInput(group, context, statement, h, x, y, a, b));
  return new ChaumPedersenProof(a, b, mod(nonce - c * secret, group.q));
}

/** powH / powX: h^e and X^e through fixed-base tables, when the caller has them. */
export async function verifyChaumPedersen(group, proof, h, x, y, { context, statement, powH, powX }) {
  const c = await hashToScalar(group, TAG_CHAUM_PEDERSEN,
    chaumPedersenChallengeInput(group, context, statement, h, x, y, proof.commitmentG, proof.commitmentH));
  const v = proof.response;
  const hv = powH ? powH(v) : group.pow(h, v);
  return proof.commitmentG === group.mul(group.gPow(v), powX ? powX(c) : group.pow(x, c))
    && proof.commitmentH === group.mul(hv, group.pow(y, c));
}

// -- Disjunctive 0/1 proof on an ElGamal ciphertext ---------------------------------------------

export class ZeroOneProof {
  constructor(a0, b0, a1, b1, c0, c1, v0, v1) {
    Object.assign(this, { a0, b0, a1, b1, c0, c1, v0, v1 });
  }

  toJson(group) {
    return {
      a0: elementToHex(group, this.a0), b0: elementToHex(group, this.b0),
      a1: elementToHex(group, this.a1), b1: elementToHex(group, this.b1),
      c0: scalarToHex(this.c0), c1: scalarToHex(this.c1),
      v0: scalarToHex(this.v0), v1: scalarToHex(this.v1),
    };
  }

  static fromJson(group, obj, what) {
    const d = checkKeys(obj, ["a0", "b0", "a1", "b1", "c0", "c1", "v0", "v1"], what);
    const el = (k) => commitmentFromHex(group, d[k], `${what}.${k}`);
    const sc = (k) => scalarFromHex(group, d[k], `${what}.${k}`);
    const [a0, b0, a1, b1] = ["a0", "b0", "a1", "b1"].map(el);
    const [c0, c1, v0, v1] = ["c0", "c1", "v0", "v1"].map(sc);
    return new ZeroOneProof(a0, b0, a1, b1, c0, c1, v0, v1);
  }
}

export function zeroOneChallengeInput(key, context, statement, ct, a0, b0, a1, b1) {
  return new Encoder(key.group).fixed(context, 32).raw(statement).element(key.group.g)
    .element(key.element).element(ct.alpha).element(ct.beta)
    .element(a0).element(b0).element(a1).element(b1).toBytes();
}

/**
 * Prove that ct encrypts m ∈ {0, 1} with nonce ξ. nonces = {realCommitment u, fakeChallenge c_k,
 * fakeCommitment u_k}. The simulated branch k = 1 − m is filled with the known nonce:
 * a_k = g^{u_k}, b_k = K^{u_k}·g^{(m−k)c_k}, v_k = u_k − c_k·ξ; every exponentiation has base g or K.
 */
export async function proveZeroOne(key, ct, m, xi, nonces, { context, statement }) {
  if (m !== 0 && m !== 1) throw new RangeError("m must be 0 or 1");
  const { group } = key;
  const q = group.q;
  const g = key.gTable;
  const kt = key.kTable;
  const k = 1 - m;
  const u = nonces.realCommitment;
  const ck = nonces.fakeChallenge;
  const uk = nonces.fakeCommitment;
  const aReal = g.pow(u);
  const bReal = kt.pow(u);
  const aFake = g.pow(uk);
  const bFake = group.mul(kt.pow(uk), g.pow(mod(BigInt(m - k) * ck, q)));
  const [a0, b0, a1, b1] = m === 0 ? [aReal, bReal, aFake, bFake] : [aFake, bFake, aReal, bReal];
  const c = await hashToScalar(group, TAG_ZERO_ONE, zeroOneChallengeInput(key, context, statement, ct, a0, b0, a1, b1));
  const cm = mod(c - ck, q);
  const vReal = mod(u - cm * xi, q);
  const vFake = mod(uk - ck * xi, q);
  if (m === 0) return new ZeroOneProof(a0, b0, a1, b1, cm, ck, vReal, vFake);
  return new ZeroOneProof(a0, b0, a1, b1, ck, cm, vFake, vReal);
}

export async function verifyZeroOne(key, ct, proof, { context, statement }) {
  const { group } = key;
  const c = await hashToScalar(group, TAG_ZERO_ONE,
    zeroOneChallengeInput(key, context, statement, ct, proof.a0, proof.b0, proof.a1, proof.b1));
  if ((proof.c0 + proof.c1) % group.q !== c) return false;
  const g = key.gTable;
  const kt = key.kTable;
  // (β/g)^{c1} = β^{c1} · g^{−c1 mod q}: no inverse, and the g part through its fixed-base table.
  return proof.a0 === group.mul(g.pow(proof.v0), group.pow(ct.alpha, proof.c0))
    && proof.b0 === group.mul(kt.pow(proof.v0), group.pow(ct.beta, proof.c0))
    && proof.a1 === group.mul(g.pow(proof.v1), group.pow(ct.alpha, proof.c1))
    && proof.b1 === group.mul(kt.pow(proof.v1), group.pow(ct.beta, proof.c1), g.pow(group.q - proof.c1));
}
