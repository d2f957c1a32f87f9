// The canonical binary encoding, its JSON hex form, canonical JSON and tagged hashes
// (mirrors sivei/crypto/encoding.py; docs/protocol.md sections 4 and 5).

import {
  bigintToBytes,
  bigintToHex,
  bytesToBigint,
  bytesToHex,
  concatBytes,
  hexToBytesLoose,
  isLowerHex,
  loneSurrogateIndex,
  utf8,
} from "./bytes.js";
import { EncodingError } from "./errors.js";
import { SCALAR_BYTES } from "./group.js";
import { sha256 } from "./sha256.js";

export const U32_MAX = 0xffffffff;

/** Builds a canonical byte string field by field (each method returns the encoder). */
export class Encoder {
  constructor(group = null) {
    this.group = group;
    this.parts = [];
  }

  u32(n) {
    if (!Number.isInteger(n) || n < 0 || n > U32_MAX) {
      throw new EncodingError(`entero fuera de rango: ${n}`, `integer out of range: ${n}`);
    }
    this.parts.push(new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]));
    return this;
  }

  string(s) {
    const data = utf8(s, "string");
    this.u32(data.length);
    this.parts.push(data);
    return this;
  }

  /** Variable-length bytes, with a 4-byte length. */
  blob(data) {
    this.u32(data.length);
    this.parts.push(Uint8Array.from(data));
    return this;
  }

  /** Fixed-width bytes (hashes, keys, signatures): no length prefix. */
  fixed(data, length) {
    if (data.length !== length) {
      throw new EncodingError(
        `se esperaban ${length} bytes, hay ${data.length}`,
        `expected ${length} bytes, got ${data.length}`,
      );
    }
    this.parts.push(Uint8Array.from(data));
    return this;
  }

  element(x) {
    const group = this.requireGroup();
    if (!(typeof x === "bigint" && x > 0n && x < group.p)) {
      throw new EncodingError("elemento fuera de [1, p)", "element outside [1, p)");
    }
    this.parts.push(bigintToBytes(x, group.elementBytes));
    return this;
  }

  elements(xs) {
    const items = [...xs];
    this.u32(items.length);
    for (const x of items) this.element(x);
    return this;
  }

  scalar(x) {
    const group = this.requireGroup();
    if (!(typeof x === "bigint" && x >= 0n && x < group.q)) {
      throw new EncodingError("escalar fuera de [0, q)", "scalar outside [0, q)");
    }
    this.parts.push(bigintToBytes(x, SCALAR_BYTES));
    return this;
  }

  /** Append an already canonical encoding (a nested object). */
  raw(data) {
    this.parts.push(Uint8Array.from(data));
    return this;
  }

  toBytes() {
    return concatBytes(this.parts);
  }

  requireGroup() {
    if (this.group === null) throw new TypeError("this encoder has no group");
    return this.group;
  }
}

/**
 * Reads a canonical binary encoding field by field (the inverse of Encoder; mirrors Python's
 * Decoder): every read checks that the bytes are there and that the value is in range, so what is
 * decoded re-encodes to exactly the bytes read. `what` prefixes every error message (a location such
 * as "board.bin:7"); subgroup membership of elements is the caller's check.
 */
export class Decoder {
  constructor(data, what, group = null, start = 0) {
    this.data = data;
    this.what = what;
    this.group = group;
    this.position = start;
  }

  remaining() {
    return this.data.length - this.position;
  }

  take(n, what) {
    const end = this.position + n;
    if (end > this.data.length) {
      const missing = end - this.data.length;
      throw new EncodingError(`${this.what}${what}: datos truncados (faltan ${missing} bytes)`,
        `${this.what}${what}: truncated data (${missing} bytes missing)`);
    }
    const out = this.data.subarray(this.position, end);
    this.position = end;
    return out;
  }

  u32(what) {
    const b = this.take(4, what);
    return b[0] * 0x1000000 + ((b[1] << 16) | (b[2] << 8) | b[3]);
  }

  /** Exactly `length` bytes (a copy). */
  fixed(length, what) {
    return this.take(length, what).slice();
  }

  blob(what) {
    return this.take(this.u32(what), what).slice();
  }

  string(what) {
    const raw = this.take(this.u32(what), what);
    try {
      return STRICT_UTF8.decode(raw);
    } catch {
      throw new EncodingError(`${this.what}${what}: texto que no es UTF-8 válido`,
        `${this.what}${what}: text that is not valid UTF-8`);
    }
  }

  /** An element in [1, p) (range only: membership is established by the caller). */
  element(what) {
    const group = this.requireGroup();
    const x = bytesToBigint(this.take(group.elementBytes, what));
    if (!(x > 0n && x < group.p)) {
      throw new EncodingError(`${this.what}${what}: el valor está fuera del intervalo [1, p)`,
        `${this.what}${what}: value outside the range [1, p)`);
    }
    return x;
  }

  scalar(what) {
    const group = this.requireGroup();
    return group.requireScalar(bytesToBigint(this.take(SCALAR_BYTES, what)), `${this.what}${what}`);
  }

  /** Every byte was read: trailing bytes are an error (one encoding per value). */
  end() {
    if (this.position !== this.data.length) {
      const extra = this.data.length - this.position;
      throw new EncodingError(`${this.what}: sobran ${extra} bytes al final`, `${this.what}: ${extra} unexpected bytes at the end`);
    }
  }

  requireGroup() {
    if (this.group === null) throw new TypeError("this decoder has no group");
    return this.group;
  }
}

/** UTF-8 that refuses invalid bytes and keeps a leading BOM (as Python's decode("utf-8")). */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// -- tagged hashes ----------------------------------------------------------------------------

/** H(tag, data) = SHA-256(u32(len(tag)) ‖ tag ‖ data), 32 bytes (async). */
export async function taggedHash(tag, data) {
  if (!/^[\x00-\x7f]*$/.test(tag)) throw new TypeError("tags are ASCII");
  return sha256(new Encoder().string(tag).raw(data).toBytes());
}

/** Fiat–Shamir challenge / nonce: H(tag, data) read big-endian, reduced mod q. */
export async function hashToScalar(group, tag, data) {
  return bytesToBigint(await taggedHash(tag, data)) % group.q;
}

// -- JSON hex ---------------------------------------------------------------------------------

/** value checked to be exactly 2·nbytes lowercase hex digits (else an EncodingError naming `what`). */
function checkHex(value, nbytes, what) {
  if (typeof value !== "string") {
    throw new EncodingError(`${what}: se esperaba una cadena hexadecimal`, `${what}: expected a hex string`);
  }
  if (value.length !== 2 * nbytes || !isLowerHex(value)) {
    throw new EncodingError(
      `${what}: se esperaban exactamente ${2 * nbytes} dígitos hexadecimales en minúscula`,
      `${what}: expected exactly ${2 * nbytes} lowercase hex digits`,
    );
  }
  return value;
}

function parseHex(value, nbytes, what) {
  return hexToBytesLoose(checkHex(value, nbytes, what));
}

/** The integer of a checked fixed-width hex value (read directly: no byte array in between). */
function parseHexInteger(value, nbytes, what) {
  return BigInt("0x" + checkHex(value, nbytes, what));
}

export { bytesToHex };

/** Exactly nbytes from a lowercase hex string of exactly 2·nbytes digits. */
export function hexToBytes(value, nbytes, what) {
  return parseHex(value, nbytes, what);
}

export function elementToHex(group, x) {
  return bigintToHex(x, group.elementBytes);
}

/** Parse and check a received group element (range and subgroup membership). */
export function elementFromHex(group, value, what, { nonidentity = false } = {}) {
  const x = parseHexInteger(value, group.elementBytes, what);
  return group.requireElement(x, what, { nonidentity });
}

/** Parse a proof commitment: range only (its verification equation implies membership). */
export function commitmentFromHex(group, value, what) {
  const x = parseHexInteger(value, group.elementBytes, what);
  if (!(x > 0n && x < group.p)) {
    throw new EncodingError(
      `${what}: el valor está fuera del intervalo [1, p)`,
      `${what}: value outside the range [1, p)`,
    );
  }
  return x;
}

export function scalarToHex(x) {
  return bigintToHex(x, SCALAR_BYTES);
}

export function scalarFromHex(group, value, what) {
  const x = parseHexInteger(value, SCALAR_BYTES, what);
  return group.requireScalar(x, what);
}

// -- canonical JSON ---------------------------------------------------------------------------

const MAX_SAFE = 2 ** 53 - 1;

function isPlainObject(value) {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function checkCanonical(value, path) {
  if (typeof value === "string") {
    if (loneSurrogateIndex(value) >= 0) {
      throw new EncodingError(
        `${path}: texto con caracteres no representables en UTF-8`,
        `${path}: text with characters not representable in UTF-8`,
      );
    }
    return;
  }
  if (value === null || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new EncodingError(
        `${path}: tipo no permitido en JSON canónico (float)`,
        `${path}: type not allowed in canonical JSON (float)`,
      );
    }
    if (Math.abs(value) > MAX_SAFE) {
      throw new EncodingError(`${path}: entero demasiado grande para JSON`, `${path}: integer too large for JSON`);
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkCanonical(item, `${path}[${i}]`));
    return;
  }
  if (isPlainObject(value)) {
    for (const [k, item] of Object.entries(value)) {
      if (!/^[\x00-\x7f]*$/.test(k)) {
        throw new EncodingError(`${path}: las claves deben ser ASCII`, `${path}: keys must be ASCII`);
      }
      checkCanonical(item, `${path}.${k}`);
    }
    return;
  }
  throw new EncodingError(
    `${path}: tipo no permitido en JSON canónico (${typeof value})`,
    `${path}: type not allowed in canonical JSON (${typeof value})`,
  );
}

function serialise(value) {
  if (Array.isArray(value)) return "[" + value.map(serialise).join(",") + "]";
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + serialise(value[k])).join(",") + "}";
  }
  // -0 is written "0", as Python writes the integer 0.
  return JSON.stringify(value);
}

/** Canonical JSON text: keys sorted (ASCII), no whitespace, no floats, strings as JSON.stringify. */
export function canonicalJsonString(value) {
  checkCanonical(value, "$");
  return serialise(value);
}

/** UTF-8 bytes of the canonical JSON of value (the same bytes as Python's canonical_json). */
export function canonicalJson(value) {
  return utf8(canonicalJsonString(value), "$");
}
