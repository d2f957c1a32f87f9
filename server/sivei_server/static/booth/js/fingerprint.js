// Read-aloud fingerprints: 20 Crockford base-32 characters (100 bits) in groups of 5
// (mirrors sivei/crypto/fingerprint.py; docs/protocol.md section 5.3).

import { bytesToBigint, bytesToHex } from "./bytes.js";
import { EncodingError } from "./errors.js";

export const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
export const FINGERPRINT_CHARS = 20;

const DECODE = new Map([...CROCKFORD].map((c, i) => [c, i]));
// Crockford's decoding forgives the characters people confuse.
DECODE.set("O", 0).set("I", 1).set("L", 1);

// Python's str.isspace() characters, so that strip() behaves the same.
const PY_SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005" +
  "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";

/** Python's str.strip() (JavaScript's trim() also strips U+FEFF, which Python keeps). */
export function pyStrip(text) {
  const chars = [...text];
  let start = 0;
  let end = chars.length;
  while (start < end && PY_SPACE.includes(chars[start])) start++;
  while (end > start && PY_SPACE.includes(chars[end - 1])) end--;
  return chars.slice(start, end).join("");
}

/** The first nchars base-32 digits of data read as a big-endian bit string. */
export function crockfordEncode(data, nchars) {
  const total = data.length * 8;
  if (nchars * 5 > total) throw new RangeError("not enough bits");
  let value = bytesToBigint(data) >> BigInt(total - nchars * 5);
  const out = [];
  for (let i = 0; i < nchars; i++) {
    out.push(CROCKFORD[Number(value & 31n)]);
    value >>= 5n;
  }
  return out.reverse().join("");
}

/** Value of a Crockford string; hyphens and spaces ignored, case and O/I/L forgiven. */
export function crockfordDecode(text) {
  let value = 0n;
  for (const ch of text.toUpperCase()) {
    if (ch === "-" || ch === " ") continue;
    const digit = DECODE.get(ch);
    if (digit === undefined) {
      throw new EncodingError(
        `carácter no válido en base 32: ${JSON.stringify(ch)}`,
        `invalid base-32 character: ${JSON.stringify(ch)}`,
      );
    }
    value = value * 32n + BigInt(digit);
  }
  return value;
}

export function group5(text) {
  const groups = [];
  for (let i = 0; i < text.length; i += 5) groups.push(text.slice(i, i + 5));
  return groups.join("-");
}

/** Read-aloud form of a 32-byte hash, e.g. "7K2QD-M4X9T-0BRHE-5VWNC". */
export function fingerprint(digest) {
  return group5(crockfordEncode(digest, FINGERPRINT_CHARS));
}

/** True when typed is the full hex hash or the 20-character fingerprint of digest. */
export function matchesFingerprint(typed, digest) {
  const cleaned = pyStrip(typed);
  const cleanedChars = [...cleaned];
  if (cleanedChars.length === 2 * digest.length) {
    return cleaned.toLowerCase() === bytesToHex(digest);
  }
  const compact = cleanedChars.filter((ch) => ch !== "-" && ch !== " ").join("");
  if ([...compact].length !== FINGERPRINT_CHARS) return false;
  try {
    const shift = BigInt(digest.length * 8 - FINGERPRINT_CHARS * 5);
    return crockfordDecode(compact) === bytesToBigint(digest) >> shift;
  } catch (err) {
    if (err instanceof EncodingError) return false;
    throw err;
  }
}
