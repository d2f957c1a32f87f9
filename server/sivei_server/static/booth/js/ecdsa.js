// ECDSA P-256 verification over a digest the protocol computes (mirrors sivei/crypto/ecdsa.py;
// docs/protocol.md §9.2): raw 64-byte r‖s, low s (0 < r < n, 0 < s ≤ ⌊n/2⌋), 65-byte uncompressed
// SEC1 public keys on the curve. Envelopes, acts, receipts and credential tokens are signed this way.
//
// WebCrypto cannot verify a pre-hashed digest (it always hashes the message itself), so this uses the
// vendored @noble/curves p256 (../vendor/README.md: version, npm integrity, audits) with
// prehash: false — the 32-byte digest is the ECDSA message representative, as PKCS#11's CKM_ECDSA —
// and lowS: true. @noble/curves imports @noble/hashes by bare specifier ("@noble/hashes/sha2.js"):
// scripts/bundle.mjs maps it to the vendored copy for the verification pages' bundle, and
// tests/js/noble-resolve.mjs for node; a page loading this file as an ES module needs an import map.

import { p256 } from "../vendor/noble-curves-2.4.0/nist.js";
import { bytesToBigint, concatBytes } from "./bytes.js";
import { taggedHash } from "./encoding.js";
import { SiveiError } from "./errors.js";

export const PUBLIC_KEY_BYTES = 65;
export const SIGNATURE_BYTES = 64;
export const DIGEST_BYTES = 32;
/** The order n of the P-256 group. */
export const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
export const TAG_SIGNING_KEY = "sivei/signing-key";

function isBytes(value, length) {
  return value instanceof Uint8Array && value.length === length;
}

/** True when `publicKey` is 65 bytes, 04 ‖ x ‖ y, a point on P-256 (not the point at infinity). */
export function isValidPublicKey(publicKey) {
  if (!isBytes(publicKey, PUBLIC_KEY_BYTES) || publicKey[0] !== 4) return false;
  try {
    p256.Point.fromBytes(publicKey).assertValidity();
    return true;
  } catch {
    return false;
  }
}

/** The public key, or a SiveiError naming `what` (as Python's load_public_key). */
export function requirePublicKey(publicKey, what) {
  if (!isBytes(publicKey, PUBLIC_KEY_BYTES) || publicKey[0] !== 4) {
    throw new SiveiError(`${what}: la llave pública P-256 debe tener 65 bytes (04‖x‖y)`,
      `${what}: a P-256 public key must be 65 bytes (04‖x‖y)`);
  }
  if (!isValidPublicKey(publicKey)) {
    throw new SiveiError(`${what}: el punto no está en la curva P-256`, `${what}: point is not on the P-256 curve`);
  }
  return publicKey;
}

/** True when `signature` (r‖s, low s) is a valid signature of the 32-byte `digest` by `publicKey`. */
export function verifyDigest(publicKey, digest, signature) {
  if (!isBytes(signature, SIGNATURE_BYTES) || !isBytes(digest, DIGEST_BYTES)) return false;
  const r = bytesToBigint(signature.subarray(0, 32));
  const s = bytesToBigint(signature.subarray(32));
  // The one accepted form (protocol §9.2), checked here as well as by the library's lowS option.
  if (!(r > 0n && r < P256_ORDER && s > 0n && s <= P256_ORDER / 2n)) return false;
  if (!isValidPublicKey(publicKey)) return false;
  try {
    return p256.verify(signature, digest, publicKey, { prehash: false, lowS: true, format: "compact" });
  } catch {
    return false;
  }
}

/** H("sivei/signing-key", 65-byte key): its read-aloud form identifies a signing key (§9.4). */
export async function keyFingerprintDigest(publicKey) {
  return taggedHash(TAG_SIGNING_KEY, concatBytes([publicKey]));
}
