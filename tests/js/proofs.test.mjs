// Schnorr, Chaum–Pedersen and 0/1 proofs with fixed nonces (proofs.json, production.json).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { booth, hex, unhex, vector } from "./helpers.mjs";

const proofs = await booth("proofs.js");
const { ElectionKey, Ciphertext, addCiphertexts } = await booth("elgamal.js");
const enc = await booth("encoding.js");
const { TEST_GROUP: G, PRODUCTION_GROUP: P, groupByName } = await booth("group.js");
const { EncodingError } = await booth("errors.js");

const V = vector("proofs.json");
const PROD = vector("production.json");
const s = (x) => BigInt("0x" + x);

describe("Schnorr and Chaum–Pedersen (proofs.json)", () => {
  test("Schnorr", async () => {
    const v = V.schnorr;
    const i = v.inputs;
    const publicValue = G.gPow(s(i.secret));
    assert.equal(enc.elementToHex(G, publicValue), v.public);
    const opts = { context: unhex(i.context), statement: unhex(i.statement) };
    const proof = await proofs.proveSchnorr(G, s(i.secret), publicValue, { ...opts, nonce: s(i.nonce) });
    assert.deepEqual(proof.toJson(G), v.proof);
    assert.equal(hex(proofs.schnorrChallengeInput(G, opts.context, opts.statement, publicValue, proof.commitment)),
      v.challenge_input);
    assert.equal(enc.scalarToHex(await enc.hashToScalar(G, proofs.TAG_SCHNORR, unhex(v.challenge_input))), v.challenge);
    const parsed = proofs.SchnorrProof.fromJson(G, v.proof, "proof");
    assert.ok(await proofs.verifySchnorr(G, parsed, publicValue, opts));
    assert.ok(!(await proofs.verifySchnorr(G, parsed, publicValue, { ...opts, statement: unhex("0000000200000002") })));
    assert.throws(() => proofs.SchnorrProof.fromJson(G, { ...v.proof, extra: 1 }, "proof"), EncodingError);
  });

  test("Chaum–Pedersen", async () => {
    const v = V.chaum_pedersen;
    const i = v.inputs;
    const h = s(i.h);
    const x = G.gPow(s(i.secret));
    const y = G.pow(h, s(i.secret));
    assert.equal(enc.elementToHex(G, x), v.x);
    assert.equal(enc.elementToHex(G, y), v.y);
    const opts = { context: unhex(i.context), statement: unhex(i.statement) };
    const proof = await proofs.proveChaumPedersen(G, s(i.secret), h, x, y, { ...opts, nonce: s(i.nonce) });
    assert.deepEqual(proof.toJson(G), v.proof);
    assert.equal(hex(proofs.chaumPedersenChallengeInput(G, opts.context, opts.statement, h, x, y,
      proof.commitmentG, proof.commitmentH)), v.challenge_input);
    assert.equal(enc.scalarToHex(await enc.hashToScalar(G, proofs.TAG_CHAUM_PEDERSEN, unhex(v.challenge_input))), v.challenge);
    const parsed = proofs.ChaumPedersenProof.fromJson(G, v.proof, "proof");
    assert.ok(await proofs.verifyChaumPedersen(G, parsed, h, x, y, opts));
    assert.ok(!(await proofs.verifyChaumPedersen(G, parsed, h, x, G.mul(y, G.g), opts)));
  });
});

async function checkZeroOne(group, block) {
  const key = new ElectionKey(group, s(block.election_key));
  assert.equal(key.element, group.gPow(s(block.election_secret_key)));
  for (const c of block.cases) {
    const i = c.inputs;
    const xi = s(i.nonce_xi);
    const ct = key.encrypt(i.m, xi);
    assert.deepEqual(ct.toJson(group), c.ciphertext);
    const nonces = { realCommitment: s(i.real_commitment_u), fakeChallenge: s(i.fake_challenge), fakeCommitment: s(i.fake_commitment_u) };
    const opts = { context: unhex(i.context), statement: unhex(i.statement) };
    const proof = await proofs.proveZeroOne(key, ct, i.m, xi, nonces, opts);
    assert.deepEqual(proof.toJson(group), c.proof);
    assert.equal(enc.scalarToHex((proof.c0 + proof.c1) % group.q), c.challenge);
    const parsed = proofs.ZeroOneProof.fromJson(group, c.proof, "proof");
    const parsedCt = Ciphertext.fromJson(group, c.ciphertext, "ct");
    assert.ok(await proofs.verifyZeroOne(key, parsedCt, parsed, opts));
    for (const bad of c.rejected_variants ?? []) {
      const badProof = proofs.ZeroOneProof.fromJson(group, bad.proof ?? c.proof, "proof");
      const badOpts = { ...opts, statement: unhex(bad.statement ?? i.statement) };
      assert.ok(!(await proofs.verifyZeroOne(key, parsedCt, badProof, badOpts)), bad.why);
    }
  }
}

describe("0/1 proofs", () => {
  test("test group, m = 0 and m = 1 (proofs.json)", async () => {
    await checkZeroOne(G, V.zero_one);
  });

  test("production group, m = 1 (production.json)", async () => {
    const group = groupByName(PROD.group);
    assert.equal(group, P);
    const el = P.gPow(12345n);
    assert.equal(enc.elementToHex(P, BigInt("0x" + PROD.element.value)), PROD.element.encoding);
    assert.equal(enc.elementToHex(P, el).length, 1024);
    await checkZeroOne(P, PROD.zero_one);
  });

  test("m must be 0 or 1; ciphertexts add", async () => {
    const key = new ElectionKey(G, G.gPow(77n));
    const ct = key.encrypt(1, 5n);
    await assert.rejects(proofs.proveZeroOne(key, ct, 2, 5n, { realCommitment: 1n, fakeChallenge: 2n, fakeCommitment: 3n },
      { context: new Uint8Array(32), statement: new Uint8Array(0) }), RangeError);
    const sum = addCiphertexts(G, [key.encrypt(1, 5n), key.encrypt(0, 6n), key.encrypt(1, 7n)]);
    assert.deepEqual(sum, key.encrypt(2, 18n));
    assert.deepEqual(addCiphertexts(G, []), new Ciphertext(1n, 1n));
  });
});
