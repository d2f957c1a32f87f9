// Groups, fixed-base tables, fingerprints, the manifest hash, H_B and H_E against tests/vectors.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";

import { booth, hex, readJson, unhex, vector } from "./helpers.mjs";

const groupMod = await booth("group.js");
const { FixedBase, modPow, modInv, PRODUCTION_GROUP: P, TEST_GROUP: G, groupByName } = groupMod;
const { fingerprint, matchesFingerprint, crockfordEncode, crockfordDecode, pyStrip } = await booth("fingerprint.js");
const { Manifest } = await booth("manifest.js");
const { baseHash, electionHash, envelopeContentHash, contextFromRecordFiles } = await booth("context.js");
const { EncodingError, RecordError } = await booth("errors.js");

const H = vector("hashes.json");
const F = vector("fingerprint.json");
const PROD = vector("production.json");

function* pseudoRandomScalars(group, count, seed = 1n) {
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) % (1n << 300n);
    yield x % group.q;
  }
}

describe("groups", () => {
  test("constants as the protocol states them", async () => {
    for (const g of [G, P]) {
      assert.equal((g.p - 1n) % g.q, 0n);
      assert.equal(modPow(g.g, g.q, g.p), 1n);
      assert.notEqual(g.g, 1n);
    }
    assert.equal(G.elementBytes, 64);
    assert.equal(P.elementBytes, 512);
    assert.equal(P.q, (1n << 256n) - 189n);
    assert.equal(hex(createHash("sha256").update(Buffer.from(P.p.toString(16).padStart(1024, "0"), "hex")).digest()),
      PROD.p_sha256);
    assert.equal(P.g.toString(16).padStart(1024, "0"), PROD.g);
    assert.equal(groupByName("eg2-baseline"), P);
    assert.throws(() => groupByName("sivei-test-512"), EncodingError);
    assert.equal(groupByName("sivei-test-512", { allowTestGroup: true }), G);
    assert.throws(() => groupByName("toString"), EncodingError);
  });

  test("group fingerprints and the preimage (hashes.json, production.json)", async () => {
    for (const c of H.group_fingerprint) {
      const g = groupByName(c.group, { allowTestGroup: true });
      assert.equal(hex(await g.fingerprint()), c.fingerprint);
      assert.equal(fingerprint(await g.fingerprint()), c.read_aloud);
    }
    assert.equal(hex(await P.fingerprint()), PROD.fingerprint);
    const pre = unhex(H.group_fingerprint_preimage.preimage);
    assert.equal(hex(createHash("sha256").update(pre).digest()), hex(await G.fingerprint()));
  });

  test("modPow, modInv, membership", () => {
    assert.equal(modPow(3n, 0n, 7n), 1n);
    assert.equal(modPow(3n, 200n, 1000007n), 3n ** 200n % 1000007n);
    assert.equal(modPow(-2n, 3n, 7n), 6n);
    assert.equal((modInv(G.g, G.p) * G.g) % G.p, 1n);
    assert.throws(() => modInv(6n, 9n), RangeError);
    assert.ok(G.isElement(G.g));
    assert.ok(!G.isElement(2n));
    assert.ok(!G.isElement(G.p - 1n));
    assert.ok(!G.isElement(0n));
    assert.equal(G.div(G.mul(G.g, 5n), 5n), G.g);
  });

  test("fixed-base comb tables agree with modPow (every shape, both groups)", () => {
    for (const [teeth, columns] of [[8, 4], [8, 2], [7, 3], [5, 1], [1, 1], [9, 2]]) {
      const fb = new FixedBase(G, G.g, { teeth, columns });
      for (const e of [0n, 1n, 2n, G.q - 1n, G.q, G.q + 7n, -3n, ...pseudoRandomScalars(G, 20, BigInt(teeth * 10 + columns))]) {
        const expected = modPow(G.g, ((e % G.q) + G.q) % G.q, G.p);
        assert.equal(fb.pow(e), expected, `${teeth}×${columns} e=${e}`);
      }
    }
    const fb = P.fixedBase(P.g);
    for (const e of pseudoRandomScalars(P, 3, 99n)) assert.equal(fb.pow(e), modPow(P.g, e, P.p));
    assert.equal(fb.pow(P.q - 1n), modInv(P.g, P.p));
    assert.equal(fb.entries, 1024);
  });
});

describe("read-aloud fingerprints (fingerprint.json)", () => {
  test("encode", () => {
    for (const c of F.encode) assert.equal(fingerprint(unhex(c.digest)), c.fingerprint);
    assert.throws(() => crockfordEncode(new Uint8Array(2), 4), RangeError);
  });

  test("typed forms that match or not", () => {
    for (const c of F.matches) assert.equal(matchesFingerprint(c.typed, unhex(c.digest)), c.matches, c.typed);
    const digest = unhex(F.matches[0].digest);
    assert.equal(matchesFingerprint(`  ${F.matches[0].typed}\n`, digest), true);
    assert.equal(matchesFingerprint("\ufeff" + F.matches[0].typed, digest), false); // Python keeps U+FEFF
    assert.equal(pyStrip("\u3000x \u2028"), "x");
    assert.throws(() => crockfordDecode("U"), EncodingError);
    assert.equal(crockfordDecode("o-i l"), 1n * 32n + 1n);
  });
});

describe("manifest hash, H_B and H_E (hashes.json)", () => {
  test("manifest hash of manifest.json", async () => {
    const m = Manifest.fromJson(vector("manifest.json"));
    const { canonicalJson } = await booth("encoding.js");
    assert.equal(hex(createHash("sha256").update(canonicalJson(m.toJson())).digest()), H.manifest.canonical_json_sha256);
    assert.equal(hex(await m.hash()), H.manifest.manifest_hash);
    assert.equal(fingerprint(await m.hash()), H.manifest.read_aloud);
    // An emblem on a party changes the hash as in Python; the same manifest without it, unchanged.
    const e = H.manifest_with_emblem;
    const withEmblem = m.toJson();
    withEmblem.parties[0].emblem = e.emblem;
    const me = Manifest.fromJson(withEmblem);
    assert.equal(hex(createHash("sha256").update(canonicalJson(me.toJson())).digest()), e.canonical_json_sha256);
    assert.equal(hex(await me.hash()), e.manifest_hash);
    assert.equal(hex(createHash("sha256").update(unhex(e.emblem_file_bytes)).digest()), e.emblem.sha256);
    assert.throws(() => Manifest.fromJson({ ...withEmblem,
      parties: [{ ...withEmblem.parties[0], emblem: { file: "../x.svg", sha256: e.emblem.sha256 } }, ...withEmblem.parties.slice(1)] }));
  });

  test("H_B and H_E", async () => {
    const b = H.base_hash;
    const hB = await baseHash(G, unhex(b.manifest_hash));
    assert.equal(hex(hB), b.h_b);
    const e = H.election_hash;
    const commitments = e.commitments.map((row) => row.map((x) => BigInt("0x" + x)));
    const hE = await electionHash(G, unhex(e.h_b), BigInt("0x" + e.joint_key), commitments, unhex(e.credential_list_hash));
    assert.equal(hex(hE), e.h_e);
    assert.equal(fingerprint(hE), e.read_aloud);
  });

  test("envelope content hashes (envelope.json, credentials.json, dkg.json)", async () => {
    const env = vector("envelope.json");
    assert.equal(hex(await envelopeContentHash(env.envelope)), env.content_hash);
    const cred = vector("credentials.json").credential_list;
    assert.equal(hex(await envelopeContentHash(cred.envelope)), cred.credential_list_hash);
  });

  test("the context rebuilt from small-election's opening files", async () => {
    const files = {
      parameters: readJson("tests/vectors/small-election/parameters.json"),
      manifest: readJson("tests/vectors/small-election/manifest.json"),
      ceremony: readJson("tests/vectors/small-election/ceremony.json"),
      credentialList: readJson("tests/vectors/small-election/credential-list.json"),
    };
    const expected = vector("small-election.json");
    await assert.rejects(contextFromRecordFiles(files), EncodingError); // the test group needs consent
    const ctx = await contextFromRecordFiles(files, { allowTestGroup: true });
    assert.equal(hex(ctx.electionHash), expected.election_hash);
    assert.equal(ctx.electionFingerprint, expected.election_fingerprint);
    const tampered = structuredClone(files);
    tampered.parameters.g = tampered.parameters.g.replace(/.$/, "0");
    await assert.rejects(contextFromRecordFiles(tampered, { allowTestGroup: true }), RecordError);
    const otherKey = structuredClone(files);
    otherKey.ceremony.rounds[4][0].body.joint_key = files.ceremony.rounds[1][0].body.commitments[0];
    await assert.rejects(contextFromRecordFiles(otherKey, { allowTestGroup: true }), RecordError);
    const missing = structuredClone(files);
    missing.ceremony.rounds[1].pop();
    await assert.rejects(contextFromRecordFiles(missing, { allowTestGroup: true }), RecordError);
  });
});
