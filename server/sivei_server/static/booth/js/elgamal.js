// Exponential ElGamal over the election group: (α, β) = (g^ξ, g^m · K^ξ)
// (mirrors sivei/crypto/elgamal.py; docs/protocol.md section 7).

import { commitmentFromHex, elementFromHex, elementToHex } from "./encoding.js";
import { EncodingError } from "./errors.js";

export class Ciphertext {
  constructor(alpha, beta) {
    this.alpha = alpha;
    this.beta = beta;
  }

  encode(enc) {
    return enc.element(this.alpha).element(this.beta);
  }

  toJson(group) {
    return { alpha: elementToHex(group, this.alpha), beta: elementToHex(group, this.beta) };
  }

  /**
   * Parse and check α and β: subgroup members, or only in [1, p) with membership: false (a verifier
   * that establishes membership later, before anything uses them — as Python's membership=False).
   */
  static fromJson(group, obj, what, { membership = true } = {}) {
    if (!isObjectWithKeys(obj, ["alpha", "beta"])) {
      throw new EncodingError(
        `${what}: se esperaba un objeto con alpha y beta`,
        `${what}: expected an object with alpha and beta`,
      );
    }
    const parse = membership ? elementFromHex : commitmentFromHex;
    return new Ciphertext(parse(group, obj.alpha, `${what}.alpha`), parse(group, obj.beta, `${what}.beta`));
  }
}

/** The joint public key K with its group; exponentiations of g and K use fixed-base tables. */
export class ElectionKey {
  constructor(group, element) {
    this.group = group;
    this.element = element;
  }

  get gTable() {
    return this.group.fixedBase(this.group.g);
  }

  get kTable() {
    return this.group.fixedBase(this.element);
  }

  /** Build both tables now (so that the first encryption does not pay for them). */
  prepare() {
    this.gTable;
    this.kTable;
    return this;
  }

  /** Encrypt m ∈ {0, 1} (or any small integer) with nonce ξ. */
  encrypt(m, nonce) {
    const g = this.gTable;
    const alpha = g.pow(nonce);
    const kXi = this.kTable.pow(nonce);
    const gm = m === 0 ? 1n : m === 1 ? this.group.g : g.pow(BigInt(m));
    return new Ciphertext(alpha, this.group.mul(gm, kXi));
  }
}

/** Homomorphic sum: component-wise product (the empty sum is (1, 1)). */
export function addCiphertexts(group, cts) {
  return new Ciphertext(group.mul(...cts.map((c) => c.alpha)), group.mul(...cts.map((c) => c.beta)));
}

export function isObjectWithKeys(obj, keys) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return false;
  const own = Object.keys(obj);
  return own.length === keys.length && keys.every((k) => Object.prototype.hasOwnProperty.call(obj, k));
}
