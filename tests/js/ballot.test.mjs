// Nonces, complete ballots, signatures and challenges (nonces.json, ballot.json, challenge.json).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { booth, hex, unhex, vector } from "./helpers.mjs";

const ballotMod = await booth("ballot.js");
const { EncryptedBallot, encryptBallot, signBallot, signatureMessage, deriveNonce, nonceInput } = ballotMod;
const { ChallengedBallot, challengeReveal, checkChallenge } = await booth("challenge.js");
const { ElectionContext } = await booth("context.js");
const { TEST_GROUP: G } = await booth("group.js");
const { scalarToHex } = await booth("encoding.js");
const ed25519 = await booth("ed25519.js");
const { BallotError, EncodingError, ManifestError, SiveiError, setLanguage } = await booth("errors.js");

const N = vector("nonces.json");
const B = vector("ballot.json");
const C = vector("challenge.json");
const manifest = vector("manifest.json");

const ctx = ElectionContext.fromJson(
  { group: B.group, election_key: B.election_key, election_hash: B.election_hash, manifest },
  { allowTestGroup: true },
);
const credential = unhex(B.public_credential);

describe("nonce derivation (nonces.json)", () => {
  test("every purpose", async () => {
    assert.deepEqual(N.purposes, [ballotMod.PURPOSE_ENCRYPT, ballotMod.PURPOSE_REAL_COMMIT,
      ballotMod.PURPOSE_FAKE_CHALLENGE, ballotMod.PURPOSE_FAKE_COMMIT, ballotMod.PURPOSE_SUM_COMMIT]);
    for (const c of N.nonces) {
      const input = nonceInput(unhex(N.election_hash), unhex(N.ballot_nonce), c.contest, c.option, c.purpose);
      assert.equal(hex(input), c.hash_input);
      const nonce = await deriveNonce(G, unhex(N.election_hash), unhex(N.ballot_nonce), c.contest, c.option, c.purpose);
      assert.equal(scalarToHex(nonce), c.nonce);
    }
    assert.ok(N.nonces.some((c) => c.option === ballotMod.CONTEST_LEVEL));
  });
});

describe("complete ballots (ballot.json)", () => {
  test("the context", () => {
    assert.equal(hex(ctx.electionHash), B.election_hash);
    assert.equal(ctx.key.element, G.gPow(BigInt("0x" + B.election_secret_key)));
  });

  for (const v of B.ballots) {
    test(`ballot "${v.label}": JSON, encoding, hash, tracking code, message, signature`, async () => {
      const ballot = await encryptBallot(ctx, v.style, v.choices, credential, unhex(v.ballot_nonce));
      // The same JSON, key order included.
      assert.equal(JSON.stringify(ballot.toJson(G)), JSON.stringify(v.ballot));
      assert.equal(hex(ballot.encode(G)), v.encoding);
      const ballotHash = await ballot.ballotHash(ctx);
      assert.equal(hex(ballotHash), v.ballot_hash);
      assert.equal(await ballot.trackingCode(ctx), v.tracking_code);
      assert.equal(hex(signatureMessage(ctx.electionHash, ballotHash)), v.signature_message);
      for (const mode of ["webcrypto", "fallback"]) {
        ed25519.setEd25519Mode(mode);
        const signed = await signBallot(ctx, ballot, unhex(B.credential_seed));
        assert.equal(hex(signed.signature), v.signature, mode);
        const json = signed.toJson(G);
        assert.equal(json.signature, v.signature);
        assert.ok(await ed25519.verify(credential, unhex(v.signature_message), unhex(v.signature)), mode);
      }
      ed25519.setEd25519Mode("auto");
      // The plaintexts (decrypting with the vector's secret key).
      const s = BigInt("0x" + B.election_secret_key);
      const contests = manifest.contests;
      ballot.contests.forEach((c) => {
        const plain = c.selections.map(({ ciphertext: ct }) => {
          const gm = G.div(ct.beta, G.pow(ct.alpha, s));
          return gm === 1n ? 0 : gm === G.g ? 1 : -1;
        });
        assert.deepEqual(plain, v.plaintext[contests[c.index].id]);
      });
      // A strict parse gives back the same ballot.
      const parsed = EncryptedBallot.fromJson(G, v.ballot);
      assert.equal(hex(parsed.encode(G)), v.encoding);
      assert.deepEqual(parsed.toJson(G), v.ballot);
    });
  }

  test("signing with another credential's seed is refused", async () => {
    const ballot = await encryptBallot(ctx, "sur", { consulta: "SI" }, credential, new Uint8Array(32));
    await assert.rejects(signBallot(ctx, ballot, new Uint8Array(32).fill(1)), BallotError);
  });

  test("choices and nonces that cannot be encrypted", async () => {
    const nonce = new Uint8Array(32);
    await assert.rejects(encryptBallot(ctx, "sur", { "gob-nte": "PRA" }, credential, nonce), BallotError);
    await assert.rejects(encryptBallot(ctx, "nte", { "gob-nte": "XXX" }, credential, nonce), ManifestError);
    await assert.rejects(encryptBallot(ctx, "oeste", {}, credential, nonce), ManifestError);
    await assert.rejects(encryptBallot(ctx, "nte", {}, credential, new Uint8Array(31)), BallotError);
    await assert.rejects(encryptBallot(ctx, "nte", {}, new Uint8Array(31), nonce), BallotError);
    await assert.rejects(encryptBallot(ctx, "nte", null, credential, nonce), BallotError);
    // An unmarked contest is its null option.
    const a = await encryptBallot(ctx, "nte", {}, credential, nonce);
    const b = await encryptBallot(ctx, "nte", { "gob-nte": "NULO", consulta: "NULO" }, credential, nonce);
    assert.equal(hex(a.encode(G)), hex(b.encode(G)));
  });

  test("strict parse rejects malformed ballots", () => {
    const good = B.ballots[0].ballot;
    const bad = (mutate) => {
      const copy = structuredClone(good);
      mutate(copy);
      return () => EncryptedBallot.fromJson(G, copy);
    };
    assert.throws(bad((b) => { b.extra = 1; }), EncodingError);
    assert.throws(bad((b) => { delete b.signature; }), EncodingError);
    assert.throws(bad((b) => { b.credential = b.credential.toUpperCase(); }), EncodingError);
    assert.throws(bad((b) => { b.signature = "00"; }), EncodingError);
    assert.throws(bad((b) => { b.contests[0].index = -1; }), EncodingError);
    assert.throws(bad((b) => { b.contests[0].index = 1.5; }), EncodingError);
    assert.throws(bad((b) => { b.contests[0].selections[0].ciphertext.alpha = "00".repeat(63) + "02"; }), EncodingError);
    assert.throws(bad((b) => { b.contests[0].selections[0].proof.c0 = "ff".repeat(32); }), EncodingError);
    assert.throws(bad((b) => { b.contests[0].sum_proof.response = undefined; }), EncodingError);
    assert.throws(bad((b) => { b.style = 3; }), EncodingError);
  });
});

describe("cast or challenge (challenge.json)", () => {
  test("a challenged ballot that checks, and its JSON", async () => {
    const file = C.challenged;
    assert.equal(C.election_hash, B.election_hash);
    assert.equal(C.election_key, B.election_key);
    const ballot = await encryptBallot(ctx, file.ballot.style, file.choices, unhex(file.ballot.credential),
      unhex(file.ballot_nonce));
    const made = await challengeReveal(ctx, ballot, file.choices, unhex(file.ballot_nonce));
    assert.equal(JSON.stringify(made), JSON.stringify(file));
    const result = await checkChallenge(ctx, file);
    assert.deepEqual(result.problems.map((p) => p.check), C.challenged_problems);
    assert.equal(result.trackingCode, file.tracking_code);
    const signed = await signBallot(ctx, ballot, unhex(B.credential_seed));
    await assert.rejects(challengeReveal(ctx, signed, file.choices, unhex(file.ballot_nonce)), SiveiError);
  });

  test("a lying device is caught (challenge.mismatch)", async () => {
    const { challenged, problems } = C.lying_device;
    const result = await checkChallenge(ctx, challenged);
    assert.deepEqual(result.problems.map((p) => p.check), problems);
    assert.equal(result.problems[0].location, `boleta impugnada ${challenged.tracking_code}`);
  });

  test("other findings: signed, wrong tracking code, impossible choices, other election", async () => {
    const file = structuredClone(C.challenged);
    const check = async (mutate) => {
      const copy = structuredClone(file);
      mutate(copy);
      return (await checkChallenge(ctx, copy)).problems.map((p) => p.check);
    };
    assert.deepEqual(await check((f) => { f.tracking_code = "00000-00000-00000-00000"; }), ["challenge.tracking-code"]);
    assert.deepEqual(await check((f) => { f.tracking_code = f.tracking_code.toLowerCase().replace(/-/g, " "); }), []);
    assert.deepEqual(await check((f) => { f.choices = { "gob-nte": "NADA" }; }), ["challenge.choices"]);
    assert.deepEqual(await check((f) => { f.choices = { otra: "SI" }; }), ["challenge.choices"]);
    assert.deepEqual(await check((f) => { f.ballot.signature = "ab".repeat(64); }), ["challenge.signed"]);
    assert.deepEqual(await check((f) => { f.ballot_nonce = "00".repeat(32); }), ["challenge.mismatch"]);
    await assert.rejects(check((f) => { f.election_hash = "00".repeat(32); }), EncodingError);
    await assert.rejects(check((f) => { delete f.choices; }), EncodingError);
    await assert.rejects(check((f) => { f.choices = { a: 1 }; }), EncodingError);
    const parsed = ChallengedBallot.fromJson(ctx, file);
    assert.equal(parsed.statedTrackingCode, file.tracking_code);
    setLanguage("en");
    try {
      const r = await checkChallenge(ctx, C.lying_device.challenged);
      assert.match(r.problems[0].message, /does NOT match/);
    } finally {
      setLanguage("es");
    }
  });
});
