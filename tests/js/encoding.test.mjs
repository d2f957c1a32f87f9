// Canonical encoding, canonical JSON, SHA-256 and tagged hashes against tests/vectors.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, test } from "node:test";

import { booth, hex, unhex, vector } from "./helpers.mjs";

const enc = await booth("encoding.js");
const { TEST_GROUP: G } = await booth("group.js");
const { EncodingError, GroupMembershipError } = await booth("errors.js");
const { sha256, sha256Sync } = await booth("sha256.js");
const bytes = await booth("bytes.js");

const V = vector("encoding.json");
const H = vector("hashes.json");

describe("binary encoding (encoding.json)", () => {
  test("u32", () => {
    for (const c of V.u32) assert.equal(hex(new enc.Encoder().u32(c.value).toBytes()), c.encoding);
    assert.throws(() => new enc.Encoder().u32(2 ** 32), EncodingError);
    assert.throws(() => new enc.Encoder().u32(-1), EncodingError);
  });

  test("string (UTF-8 with a length)", () => {
    for (const c of V.string) assert.equal(hex(new enc.Encoder().string(c.value).toBytes()), c.encoding);
    assert.throws(() => new enc.Encoder().string("a\ud800b"), EncodingError);
    assert.throws(() => new enc.Encoder().string("\udc00"), EncodingError);
    assert.equal(hex(new enc.Encoder().string("\ud83d\ude00").toBytes()), "00000004f09f9880");
  });

  test("blob, fixed", () => {
    for (const c of V.blob) assert.equal(hex(new enc.Encoder().blob(unhex(c.value)).toBytes()), c.encoding);
    assert.throws(() => new enc.Encoder().fixed(new Uint8Array(31), 32), EncodingError);
  });

  test("scalar and element", () => {
    for (const c of V.scalar) {
      assert.equal(hex(new enc.Encoder(G).scalar(BigInt("0x" + c.value)).toBytes()), c.encoding);
      assert.equal(enc.scalarToHex(BigInt("0x" + c.value)), c.encoding);
    }
    for (const c of V.element) {
      assert.equal(hex(new enc.Encoder(G).element(BigInt("0x" + c.value)).toBytes()), c.encoding);
    }
    assert.throws(() => new enc.Encoder(G).scalar(G.q), EncodingError);
    assert.throws(() => new enc.Encoder(G).element(0n), EncodingError);
    assert.throws(() => new enc.Encoder(G).element(G.p), EncodingError);
  });

  test("element list and a composite", () => {
    const values = V.element_list.values.map((v) => BigInt("0x" + v));
    assert.equal(hex(new enc.Encoder(G).elements(values).toBytes()), V.element_list.encoding);
    const e = new enc.Encoder(G);
    for (const field of V.composite.fields) {
      const [[kind, value]] = Object.entries(field);
      if (kind === "string") e.string(value);
      else if (kind === "u32") e.u32(value);
      else if (kind === "scalar") e.scalar(BigInt("0x" + value));
      else if (kind === "element") e.element(BigInt("0x" + value));
      else if (kind === "fixed") e.fixed(unhex(value), value.length / 2);
      else if (kind === "blob") e.blob(unhex(value));
      else assert.fail(`unknown field ${kind}`);
    }
    assert.equal(hex(e.toBytes()), V.composite.encoding);
  });

  test("JSON hex: accepted values", () => {
    for (const c of V.element.filter((c) => /[^0]/.test(c.value))) {
      const x = BigInt("0x" + c.value);
      if (G.isElement(x)) assert.equal(enc.elementFromHex(G, c.value, "x"), x);
    }
    for (const c of V.scalar) assert.equal(enc.scalarFromHex(G, c.value, "s"), BigInt("0x" + c.value));
  });

  test("JSON hex: rejections", () => {
    for (const c of V.element_rejections) {
      assert.throws(() => enc.elementFromHex(G, c.hex, "x"), EncodingError, c.reason);
    }
    const subgroup = V.element_rejections.filter((c) => /subgroup/.test(c.reason));
    assert.ok(subgroup.length >= 2);
    for (const c of subgroup) assert.throws(() => enc.elementFromHex(G, c.hex, "x"), GroupMembershipError, c.reason);
    for (const c of V.nonidentity_rejections) {
      assert.doesNotThrow(() => enc.elementFromHex(G, c.hex, "x"));
      assert.throws(() => enc.elementFromHex(G, c.hex, "x", { nonidentity: true }), EncodingError, c.reason);
    }
    for (const c of V.scalar_rejections) assert.throws(() => enc.scalarFromHex(G, c.hex, "s"), EncodingError, c.reason);
    assert.throws(() => enc.hexToBytes("abc", 2, "h"), EncodingError);
    assert.throws(() => enc.hexToBytes(12, 1, "h"), EncodingError);
  });
});

describe("canonical JSON (encoding.json)", () => {
  test("same bytes as Python's canonical_json", () => {
    for (const c of V.canonical_json) {
      assert.equal(enc.canonicalJsonString(c.value), c.canonical);
      assert.equal(hex(enc.canonicalJson(c.value)), c.utf8_hex);
    }
  });

  test("rejections", () => {
    for (const c of V.canonical_json_rejections) assert.throws(() => enc.canonicalJson(c.value), EncodingError, c.reason);
    assert.throws(() => enc.canonicalJson({ a: "\ud800" }), EncodingError);
    assert.throws(() => enc.canonicalJson({ a: undefined }), EncodingError);
    assert.throws(() => enc.canonicalJson({ a: NaN }), EncodingError);
    assert.throws(() => enc.canonicalJson(new Date(0)), EncodingError);
  });

  test("escapes as protocol 4.3 lists them", () => {
    const s = "\b\t\n\f\r\u0000\u001f\u007f/\u2028\u2029\"\\é😀";
    assert.equal(enc.canonicalJsonString(s), '"\\b\\t\\n\\f\\r\\u0000\\u001f\u007f/\u2028\u2029\\"\\\\é😀"');
  });
});

describe("SHA-256 and tagged hashes (hashes.json)", () => {
  test("the JavaScript fallback agrees with node's crypto", async () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 5000]) {
      const data = randomBytes(n);
      const expected = createHash("sha256").update(data).digest("hex");
      assert.equal(hex(sha256Sync(new Uint8Array(data))), expected, `length ${n}`);
      assert.equal(hex(await sha256(new Uint8Array(data))), expected);
    }
  });

  test("tagged hash and hash_to_scalar", async () => {
    for (const c of H.tagged_hash) assert.equal(hex(await enc.taggedHash(c.tag, unhex(c.data))), c.digest);
    for (const c of H.hash_to_scalar) {
      assert.equal(enc.scalarToHex(await enc.hashToScalar(G, c.tag, unhex(c.data))), c.scalar);
    }
  });

  test("bytes helpers", () => {
    assert.equal(bytes.bigintToHex(255n, 2), "00ff");
    assert.throws(() => bytes.bigintToBytes(256n, 1), RangeError);
    assert.equal(bytes.bytesToBigint(new Uint8Array([1, 0])), 256n);
    assert.equal(bytes.bitLength(0n), 0);
    assert.equal(bytes.bitLength(G.q), 256);
    assert.equal(bytes.loneSurrogateIndex("ok😀"), -1);
    assert.equal(bytes.loneSurrogateIndex("x\udc00"), 1);
  });
});
