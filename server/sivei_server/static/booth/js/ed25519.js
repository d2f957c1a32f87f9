// Ed25519 for voters' credentials: WebCrypto where the browser has it (Chrome ≥ 137, Firefox ≥ 129,
// Safari ≥ 17), else the vendored @noble/ed25519 (../vendor/noble-ed25519-3.2.0/, pinned; see its
// README). Both give the same bytes: Ed25519 (RFC 8032) is deterministic.
//
// The 32-byte seed enters WebCrypto as a PKCS#8 private key: the fixed 16-byte DER prefix
// 302e020100300506032b657004220420 followed by the seed (docs/protocol.md section 11.3).
// Detection signs RFC 8032's first test vector, so a browser whose WebCrypto Ed25519 is present
// but wrong is not used.

import { bytesToHex, concatBytes, equalBytes, hexToBytesLoose } from "./bytes.js";

export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const SEED_BYTES = 32;
export const PKCS8_PREFIX = hexToBytesLoose("302e020100300506032b657004220420");

export const VENDORED_MODULE = "../vendor/noble-ed25519-3.2.0/index.js";

// RFC 8032 section 7.1, TEST 1 (empty message).
const RFC8032_SEED = hexToBytesLoose("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
const RFC8032_PUBLIC = hexToBytesLoose("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
const RFC8032_SIGNATURE = hexToBytesLoose(
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
);

let mode = "auto";
let webCryptoProbe = null;
let nobleModule = null;

/**
 * "auto" (default): WebCrypto when it works, else the vendored library; "webcrypto" or "fallback"
 * force one (tests).
 */
export function setEd25519Mode(newMode) {
  if (!["auto", "webcrypto", "fallback"].includes(newMode)) throw new TypeError(`unknown mode ${newMode}`);
  mode = newMode;
}

function subtle() {
  const c = globalThis.crypto;
  return c && c.subtle ? c.subtle : null;
}

function pkcs8(seed) {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) throw new TypeError("the seed must be 32 bytes");
  return concatBytes([PKCS8_PREFIX, seed]);
}

async function webCryptoSign(seed, message) {
  const key = await subtle().importKey("pkcs8", pkcs8(seed), { name: "Ed25519" }, false, ["sign"]);
  return new Uint8Array(await subtle().sign({ name: "Ed25519" }, key, message));
}

function base64UrlToBytes(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  const bin = atob(b64);
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

async function webCryptoPublicKey(seed) {
  // Exporting the public half needs an extractable key; the object is dropped at once.
  const key = await subtle().importKey("pkcs8", pkcs8(seed), { name: "Ed25519" }, true, ["sign"]);
  const jwk = await subtle().exportKey("jwk", key);
  return base64UrlToBytes(jwk.x);
}

async function probeWebCrypto() {
  if (subtle() === null) return false;
  try {
    const signature = await webCryptoSign(RFC8032_SEED, new Uint8Array(0));
    const publicKey = await webCryptoPublicKey(RFC8032_SEED);
    return equalBytes(signature, RFC8032_SIGNATURE) && equalBytes(publicKey, RFC8032_PUBLIC);
  } catch {
    return false;
  }
}

/** Whether this platform's WebCrypto signs Ed25519 correctly (probed once). */
export function webCryptoEd25519Available() {
  if (webCryptoProbe === null) webCryptoProbe = probeWebCrypto();
  return webCryptoProbe;
}

/** The vendored library's module (loaded on first use only, from this server). */
export function loadFallback() {
  if (nobleModule === null) nobleModule = import(new URL(VENDORED_MODULE, import.meta.url).href);
  return nobleModule;
}

/** "webcrypto" or "fallback": the implementation the next call will use. */
export async function implementation() {
  if (mode !== "auto") return mode;
  return (await webCryptoEd25519Available()) ? "webcrypto" : "fallback";
}

/** The 32-byte public key of a 32-byte seed (RFC 8032: SHA-512, clamp, [a]B). */
export async function publicKeyFromSeed(seed) {
  pkcs8(seed);
  if ((await implementation()) === "webcrypto") return webCryptoPublicKey(seed);
  const noble = await loadFallback();
  return new Uint8Array(await noble.getPublicKeyAsync(seed));
}

/** The 64-byte Ed25519 signature of message by seed. */
export async function sign(seed, message) {
  pkcs8(seed);
  if ((await implementation()) === "webcrypto") return webCryptoSign(seed, message);
  const noble = await loadFallback();
  return new Uint8Array(await noble.signAsync(message, seed));
}

/**
 * Verify a signature (the booth's own self-check; servers and verifiers use libsodium's strict
 * verification). The fallback runs in its strict RFC 8032 mode (zip215: false).
 */
export async function verify(publicKey, message, signature) {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    if ((await implementation()) === "webcrypto") {
      const key = await subtle().importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
      return await subtle().verify({ name: "Ed25519" }, key, signature, message);
    }
    const noble = await loadFallback();
    return await noble.verifyAsync(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export { bytesToHex };
