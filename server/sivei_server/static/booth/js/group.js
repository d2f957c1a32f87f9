// The prime-order subgroup of Z_p^* (mirrors sivei/crypto/group.py and fixedbase.py).
//
// Two groups exist: the ElectionGuard 2.0 baseline (production, 4096-bit p) and the 512-bit test
// group. Arithmetic is on BigInt. Exponentiations with the public bases g and K go through
// fixed-base comb tables (see FixedBase below); any other base uses modPow.

import { bigintToBytes, bitLength, concatBytes, utf8 } from "./bytes.js";
import { EncodingError, GroupMembershipError } from "./errors.js";
import { sha256 } from "./sha256.js";

export const SCALAR_BYTES = 32;

/** base^exponent mod modulus for a public exponent ≥ 0 (left-to-right, 4-bit fixed windows). */
export function modPow(base, exponent, modulus) {
  if (exponent < 0n) throw new RangeError("negative exponent");
  if (modulus === 1n) return 0n;
  let b = base % modulus;
  if (b < 0n) b += modulus;
  if (exponent === 0n) return 1n;
  const table = [1n, b];
  for (let i = 2; i < 16; i++) table.push((table[i - 1] * b) % modulus);
  const hex = exponent.toString(16);
  let acc = table[parseInt(hex[0], 16)];
  for (let i = 1; i < hex.length; i++) {
    acc = (acc * acc) % modulus;
    acc = (acc * acc) % modulus;
    acc = (acc * acc) % modulus;
    acc = (acc * acc) % modulus;
    const d = parseInt(hex[i], 16);
    if (d !== 0) acc = (acc * table[d]) % modulus;
  }
  return acc;
}

/** a^{-1} mod m (extended Euclid); RangeError when a is not invertible. */
export function modInv(a, m) {
  let r0 = ((a % m) + m) % m;
  let r1 = m;
  let s0 = 1n;
  let s1 = 0n;
  while (r1 !== 0n) {
    const quotient = r0 / r1;
    [r0, r1] = [r1, r0 - quotient * r1];
    [s0, s1] = [s1, s0 - quotient * s1];
  }
  if (r0 !== 1n) throw new RangeError("not invertible");
  return ((s0 % m) + m) % m;
}

// -- fixed-base exponentiation ---------------------------------------------------------------------

/** Default comb shape: 8 teeth × 4 columns (1,024 table entries per base; see FixedBase). */
export const DEFAULT_TEETH = 8;
export const DEFAULT_COLUMNS = 4;

/**
 * Fixed-base exponentiation by the Lim–Lee comb method.
 *
 * A t-bit exponent (t = bit length of q) is cut into `teeth` rows of a bits, each row into
 * `columns` blocks of b bits (a = columns·b). The table holds, for each column s and each
 * teeth-bit index j, the product of base^(2^(i·a + s·b)) over the set bits i of j. Then
 * base^e costs b−1 squarings and at most columns·b multiplications.
 *
 * Production group, 8 × 4 (the default): 1,024 entries (512 KiB per base), built with 255
 * squarings and 1,020 multiplications (~25 ms in node), then 7 squarings and at most 32
 * multiplications per exponentiation. The Python library's 8-bit windowed table needs 8,192
 * multiplications to build (4 MiB per base) for 31 per exponentiation. A ballot of 18 options
 * needs 132 exponentiations with base g or K and the booth builds its two tables once per page,
 * so the comb costs about a third of the windowed table in all (measured by tests/js/bench.mjs:
 * 8×2 and 8×4 were the best shapes; 8×4 is faster when the voter encrypts again after a challenge).
 *
 * Table look-ups depend on the exponent: this is for nonces in a voter's own device, as in the
 * Python library's fixed-base tables (guardians' secret keys never come here).
 */
export class FixedBase {
  constructor(group, base, { teeth = DEFAULT_TEETH, columns = DEFAULT_COLUMNS } = {}) {
    const p = group.p;
    const t = group.qBits;
    const b = Math.ceil(t / (teeth * columns));
    const a = b * columns;
    this.base = base;
    this.group = group;
    this.teeth = teeth;
    this.columns = columns;
    this.blockBits = b;
    this.rowBits = a;
    this.totalBits = teeth * a;
    // powers[s][i] = base^(2^(i·a + s·b))
    const powers = Array.from({ length: columns }, () => new Array(teeth));
    let current = base % p;
    for (let k = 0; k < this.totalBits; k++) {
      if (k % b === 0) {
        const i = Math.floor(k / a);
        const s = (k % a) / b;
        powers[s][i] = current;
      }
      if (k + 1 < this.totalBits) current = (current * current) % p;
    }
    const size = 1 << teeth;
    this.tables = [];
    for (let s = 0; s < columns; s++) {
      const table = new Array(size);
      table[0] = 1n;
      for (let j = 1; j < size; j++) {
        const low = j & -j;
        const i = 31 - Math.clz32(low);
        table[j] = j === low ? powers[s][i] : (table[j ^ low] * powers[s][i]) % p;
      }
      this.tables.push(table);
    }
  }

  /** Number of BigInt entries held (memory ≈ entries × element width). */
  get entries() {
    return this.columns << this.teeth;
  }

  /** base^e mod p for any integer e (reduced mod q first). */
  pow(exponent) {
    const { p, q } = this.group;
    let e = exponent % q;
    if (e < 0n) e += q;
    if (e === 0n) return 1n;
    const bits = exponentBits(e, this.totalBits);
    const { teeth, columns, blockBits: b, rowBits: a, tables } = this;
    let acc = 1n;
    let started = false;
    for (let k = b - 1; k >= 0; k--) {
      if (started) acc = (acc * acc) % p;
      for (let s = 0; s < columns; s++) {
        let index = 0;
        const offset = s * b + k;
        for (let i = 0; i < teeth; i++) index |= bits[i * a + offset] << i;
        if (index !== 0) {
          if (started) {
            acc = (acc * tables[s][index]) % p;
          } else {
            acc = tables[s][index];
            started = true;
          }
        }
      }
    }
    return acc;
  }
}

const NIBBLE_BITS = Array.from({ length: 16 }, (_, n) => [n & 1, (n >> 1) & 1, (n >> 2) & 1, (n >> 3) & 1]);

/** The low `count` bits of e, least significant first. */
function exponentBits(e, count) {
  const bits = new Uint8Array(count + 4);
  const hex = e.toString(16);
  const n = hex.length;
  for (let d = 0; d < n && 4 * d < count; d++) {
    const nib = NIBBLE_BITS[parseInt(hex[n - 1 - d], 16)];
    const at = 4 * d;
    bits[at] = nib[0];
    bits[at + 1] = nib[1];
    bits[at + 2] = nib[2];
    bits[at + 3] = nib[3];
  }
  return bits;
}

// -- groups -------------------------------------------------------------------------------------

export class Group {
  constructor(name, p, q, g) {
    this.name = name;
    this.p = p;
    this.q = q;
    this.g = g;
    this.elementBytes = Math.ceil(bitLength(p) / 8);
    this.qBits = bitLength(q);
    this._fingerprint = null;
    this._tables = new Map();
  }

  /** r = (p−1)/q. */
  get cofactor() {
    return (this.p - 1n) / this.q;
  }

  /** SHA-256("sivei/group" ‖ string(name) ‖ u32(width) ‖ p ‖ q (32 bytes) ‖ g): 32 bytes. */
  async fingerprint() {
    if (this._fingerprint === null) {
      const width = this.elementBytes;
      const name = utf8(this.name);
      const u32 = (n) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
      const data = concatBytes([
        utf8("sivei/group"),
        u32(name.length),
        name,
        u32(width),
        bigintToBytes(this.p, width),
        bigintToBytes(this.q, SCALAR_BYTES),
        bigintToBytes(this.g, width),
      ]);
      this._fingerprint = await sha256(data);
    }
    return this._fingerprint.slice();
  }

  /** True when x is in [1, p) and in the order-q subgroup. */
  isElement(x) {
    return typeof x === "bigint" && x > 0n && x < this.p && modPow(x, this.q, this.p) === 1n;
  }

  /** x if it is a subgroup element (≠ 1 when nonidentity), else a GroupMembershipError. */
  requireElement(x, what, { nonidentity = false } = {}) {
    if (!(x > 0n && x < this.p)) {
      throw new GroupMembershipError(
        `${what}: el valor está fuera del intervalo [1, p)`,
        `${what}: value outside the range [1, p)`,
      );
    }
    if (modPow(x, this.q, this.p) !== 1n) {
      throw new GroupMembershipError(
        `${what}: el elemento no pertenece al subgrupo de orden q`,
        `${what}: element is not in the order-q subgroup`,
      );
    }
    if (nonidentity && x === 1n) {
      throw new GroupMembershipError(
        `${what}: el elemento no puede ser la identidad (1)`,
        `${what}: element must not be the identity (1)`,
      );
    }
    return x;
  }

  requireScalar(x, what) {
    if (!(x >= 0n && x < this.q)) {
      throw new EncodingError(
        `${what}: el escalar está fuera del intervalo [0, q)`,
        `${what}: scalar outside the range [0, q)`,
      );
    }
    return x;
  }

  /** Variable-base exponentiation (public exponents). */
  pow(base, exponent) {
    return modPow(base, exponent, this.p);
  }

  mul(...xs) {
    let acc = 1n;
    for (const x of xs) acc = (acc * x) % this.p;
    return acc;
  }

  inv(x) {
    return modInv(x, this.p);
  }

  div(a, b) {
    return (a * modInv(b, this.p)) % this.p;
  }

  /** The (cached) fixed-base table of `base`; the last few bases are kept. */
  fixedBase(base, options) {
    const key = base.toString(16);
    let table = this._tables.get(key);
    if (table === undefined) {
      table = new FixedBase(this, base, options);
      if (this._tables.size >= 4) this._tables.delete(this._tables.keys().next().value);
      this._tables.set(key, table);
    }
    return table;
  }

  /** g^e through the cached fixed-base table. */
  gPow(exponent) {
    return this.fixedBase(this.g).pow(exponent);
  }
}

// ElectionGuard 2.0 baseline parameters, as in src/sivei/crypto/group.py.
const EG2_P = BigInt(
  "0x" +
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFB17217F7D1CF79ABC9E3B39803F2F6AF" +
    "40F343267298B62D8A0D175B8BAAFA2BE7B876206DEBAC98559552FB4AFA1B10ED2EAE35C138214427573B291169B8" +
    "253E96CA16224AE8C51ACBDA11317C387EB9EA9BC3B136603B256FA0EC7657F74B72CE87B19D6548CAF5DFA6BD3830" +
    "3248655FA1872F20E3A2DA2D97C50F3FD5C607F4CA11FB5BFB90610D30F88FE551A2EE569D6DFC1EFA157D2E23DE14" +
    "00B39617460775DB8990E5C943E732B479CD33CCCC4E659393514C4C1A1E0BD1D6095D25669B333564A3376A9C7F8A" +
    "5E148E82074DB6015CFE7AA30C480A5417350D2C955D5179B1E17B9DAE313CDB6C606CB1078F735D1B2DB31B5F50B5" +
    "185064C18B4D162DB3B365853D7598A1951AE273EE5570B6C68F96983496D4E6D330AF889B44A02554731CDC8EA172" +
    "93D1228A4EF98D6F5177FBCF0755268A5C1F9538B98261AFFD446B1CA3CF5E9222B88C66D3C5422183EDC99421090B" +
    "BB16FAF3D949F236E02B20CEE886B905C128D53D0BD2F9621363196AF503020060E49908391A0C57339BA2BEBA7D05" +
    "2AC5B61CC4E9207CEF2F0CE2D7373958D762265890445744FB5F2DA4B751005892D356890DEFE9CAD9B9D4B713E061" +
    "62A2D8FDD0DF2FD608FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
);
const EG2_Q = (1n << 256n) - 189n;
const EG2_G = BigInt(
  "0x" +
    "36036FED214F3B50DC566D3A312FE4131FEE1C2BCE6D02EA39B477AC05F7F885F38CFE77A7E45ACF4029114C4D7A9B" +
    "FE058BF2F995D2479D3DDA618FFD910D3C4236AB2CFDD783A5016F7465CF59BBF45D24A22F130F2D04FE93B2D58BB9" +
    "C1D1D27FC9A17D2AF49A779F3FFBDCA22900C14202EE6C99616034BE35CBCDD3E7BB7996ADFE534B63CCA41E21FF5D" +
    "C778EBB1B86C53BFBE99987D7AEA0756237FB40922139F90A62F2AA8D9AD34DFF799E33C857A6468D001ACF3B681DB" +
    "87DC4242755E2AC5A5027DB81984F033C4D178371F273DBB4FCEA1E628C23E52759BC7765728035CEA26B44C49A656" +
    "66889820A45C33DD37EA4A1D00CB62305CD541BE1E8A92685A07012B1A20A746C3591A2DB3815000D2AACCFE43DC49" +
    "E828C1ED7387466AFD8E4BF1935593B2A442EEC271C50AD39F733797A1EA11802A2557916534662A6B7E9A9E449A24" +
    "C8CFF809E79A4D806EB681119330E6C57985E39B200B4893639FDFDEA49F76AD1ACD997EBA13657541E79EC57437E5" +
    "04EDA9DD011061516C643FB30D6D58AFCCD28B73FEDA29EC12B01A5EB86399A593A9D5F450DE39CB92962C5EC69253" +
    "48DB54D128FD99C14B457F883EC20112A75A6A0581D3D80A3B4EF09EC86F9552FFDA1653F133AA2534983A6F31B0EE" +
    "4697935A6B1EA2F75B85E7EBA151BA486094D68722B054633FEC51CA3F29B31E77E317B178B6B9D8AE0F",
);

/** SHA-256 of p as 512 big-endian bytes, as published with the parameters. */
export const EG2_P_SHA256 = "f76fac50669bdb5b75fe86264378525d336bc1566140a48d76aebf7b0dd19f27";

export const PRODUCTION_GROUP = new Group("eg2-baseline", EG2_P, EG2_Q, EG2_G);

const TEST_P = BigInt(
  "0xffffffffffffffff6c30839f0501155cc9be14f587bbed2d108132046b2bb2d9" +
    "000000000000006d202ed3994e333a7f0eaa86baca41e5bad09e12bce0bc6a43",
);
const TEST_G = BigInt(
  "0xf4ea7c4a85c44dbc7782d2a0cbb0921f05df1e5672ce03d3efbdae41b4e3591d" +
    "933b4e1ba02315903acf86c8cde1e3ffa9d01ac2b4fc8bbbdfe5b7d0740a0ffb",
);

/** The 512-bit test group: far too small to be secure; tests and drills only. */
export const TEST_GROUP = new Group("sivei-test-512", TEST_P, EG2_Q, TEST_G);

export const GROUPS = Object.freeze({
  [PRODUCTION_GROUP.name]: PRODUCTION_GROUP,
  [TEST_GROUP.name]: TEST_GROUP,
});

/** The group of that name; the test group only when allowTestGroup. */
export function groupByName(name, { allowTestGroup = false } = {}) {
  const group = Object.prototype.hasOwnProperty.call(GROUPS, name) ? GROUPS[name] : undefined;
  if (group === undefined) {
    throw new EncodingError(`grupo desconocido: ${name}`, `unknown group: ${name}`);
  }
  if (group === TEST_GROUP && !allowTestGroup) {
    throw new EncodingError(
      "la elección usa el grupo de prueba, que no es seguro",
      "the election uses the test group, which is not secure",
    );
  }
  return group;
}
