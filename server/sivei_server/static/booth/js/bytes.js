// Byte-string helpers: big-endian integers, lowercase hex, UTF-8 (refusing lone surrogates).

import { EncodingError } from "./errors.js";

const HEX_DIGITS = "0123456789abcdef";
const HEX_RE = /^[0-9a-f]*$/;

export function concatBytes(parts) {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Lowercase hex, two digits per byte. */
const BYTE_HEX = Array.from({ length: 256 }, (_, b) => HEX_DIGITS[b >> 4] + HEX_DIGITS[b & 15]);

export function bytesToHex(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += BYTE_HEX[bytes[i]];
  return out;
}

// Value of each lowercase hex digit by character code (-1: not a lowercase hex digit).
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE[HEX_DIGITS.charCodeAt(i)] = i;

function hexValue(hex, i) {
  const c = hex.charCodeAt(i);
  return c < 128 ? HEX_VALUE[c] : -1;
}

/** Bytes of a lowercase hex string of even length (no width check: see encoding.hexToBytes). */
export function hexToBytesLoose(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0) {
    throw new EncodingError("se esperaba hexadecimal en minúscula", "expected lowercase hex");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexValue(hex, 2 * i);
    const lo = hexValue(hex, 2 * i + 1);
    if (hi < 0 || lo < 0) throw new EncodingError("se esperaba hexadecimal en minúscula", "expected lowercase hex");
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Write the bytes of an even-length lowercase hex string (already checked) into out at offset. */
export function hexInto(hex, out, offset) {
  const n = hex.length >>> 1;
  for (let i = 0; i < n; i++) out[offset + i] = (HEX_VALUE[hex.charCodeAt(2 * i)] << 4) | HEX_VALUE[hex.charCodeAt(2 * i + 1)];
  return offset + n;
}

export function isLowerHex(value) {
  return typeof value === "string" && HEX_RE.test(value);
}

/** Number of bits of a non-negative BigInt (0 for 0). */
export function bitLength(x) {
  if (x < 0n) throw new RangeError("negative");
  return x === 0n ? 0 : x.toString(2).length;
}

/** x as exactly n big-endian bytes (RangeError when it does not fit). */
export function bigintToBytes(x, n) {
  if (x < 0n) throw new RangeError("negative integer");
  const hex = x.toString(16);
  if (hex.length > 2 * n) throw new RangeError(`integer does not fit in ${n} bytes`);
  const out = new Uint8Array(n);
  let j = hex.length;
  for (let i = n - 1; i >= 0 && j > 0; i--) {
    const lo = HEX_VALUE[hex.charCodeAt(--j)];
    const hi = j > 0 ? HEX_VALUE[hex.charCodeAt(--j)] : 0;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

export function bytesToBigint(bytes) {
  return bytes.length === 0 ? 0n : BigInt("0x" + bytesToHex(bytes));
}

/** x as exactly n bytes in lowercase hex. */
export function bigintToHex(x, n) {
  if (x < 0n) throw new RangeError("negative integer");
  const hex = x.toString(16);
  if (hex.length > 2 * n) throw new RangeError(`integer does not fit in ${n} bytes`);
  return hex.padStart(2 * n, "0");
}

/** The first lone (unpaired) surrogate's index in s, or -1 when s is well formed. */
export function loneSurrogateIndex(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of s; a lone surrogate is an encoding error (TextEncoder would silently replace it). */
export function utf8(s, what = "string") {
  if (typeof s !== "string") {
    throw new EncodingError(`${what}: se esperaba texto`, `${what}: expected text`);
  }
  if (loneSurrogateIndex(s) >= 0) {
    throw new EncodingError(
      `${what}: texto con caracteres no representables en UTF-8`,
      `${what}: text with characters not representable in UTF-8`,
    );
  }
  return encoder.encode(s);
}

/** 32 bytes from the platform's cryptographic RNG. */
export function randomBytes(n) {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}
