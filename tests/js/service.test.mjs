// The worker's message service (service.js) and the page's client (client.js, run without a
// Worker): init, encrypt, sign, challenge, check, errors.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { booth, unhex, vector } from "./helpers.mjs";

const { createService } = await booth("service.js");
const { BoothCrypto } = await booth("client.js");

const B = vector("ballot.json");
const C = vector("challenge.json");
const contextJson = {
  group: B.group, election_key: B.election_key, election_hash: B.election_hash, manifest: vector("manifest.json"),
};

describe("worker service", () => {
  test("init refuses the test group unless allowed, then loads the context", async () => {
    const service = createService();
    const refused = await service.handle({ id: 1, action: "init", context: contextJson });
    assert.equal(refused.ok, false);
    assert.equal(refused.id, 1);
    assert.match(refused.error.en, /test group/);
    const reply = await service.handle({ id: 2, action: "init", context: contextJson, allowTestGroup: true });
    assert.equal(reply.ok, true, JSON.stringify(reply.error));
    assert.equal(reply.result.electionHash, B.election_hash);
    assert.equal(reply.result.group, "sivei-test-512");
    assert.match(reply.result.electionFingerprint, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
    assert.equal(reply.result.manifestFingerprint, vector("hashes.json").manifest.read_aloud);
  });

  test("encrypt, sign, challenge and check reproduce the vectors", async () => {
    const service = createService();
    await service.handle({ id: 1, action: "init", context: contextJson, allowTestGroup: true });
    const v = B.ballots[0];
    const enc = await service.handle({
      id: 2, action: "encrypt", style: v.style, choices: v.choices, publicCredential: B.public_credential,
      ballotNonce: v.ballot_nonce,
    });
    assert.equal(enc.ok, true, JSON.stringify(enc.error));
    assert.deepEqual(enc.result.ballot, v.ballot);
    assert.equal(enc.result.ballotHash, v.ballot_hash);
    assert.equal(enc.result.trackingCode, v.tracking_code);
    assert.equal(enc.result.ballotNonce, v.ballot_nonce);
    const seed = unhex(B.credential_seed);
    const signed = await service.handle({ id: 3, action: "sign", ballot: enc.result.ballot, seed });
    assert.equal(signed.ok, true, JSON.stringify(signed.error));
    assert.equal(signed.result.signature, v.signature);
    assert.deepEqual(seed, new Uint8Array(32), "the worker zero-fills its copy of the seed");

    const fresh = await service.handle({ id: 4, action: "encrypt", style: "nte", choices: C.challenged.choices,
      publicCredential: unhex(B.public_credential), ballotNonce: C.challenged.ballot_nonce });
    const challenged = await service.handle({ id: 5, action: "challenge", ballot: fresh.result.ballot,
      choices: C.challenged.choices, ballotNonce: fresh.result.ballotNonce });
    assert.deepEqual(challenged.result.challenged, C.challenged);
    const checked = await service.handle({ id: 6, action: "check", challenged: C.lying_device.challenged });
    assert.deepEqual(checked.result.problems.map((p) => p.check), C.lying_device.problems);

    const fromSeed = await service.handle({ id: 8, action: "encrypt", style: v.style, choices: v.choices,
      seed: B.credential_seed, ballotNonce: v.ballot_nonce });
    assert.equal(fromSeed.result.trackingCode, v.tracking_code);
    const random = await service.handle({ id: 7, action: "encrypt", style: "sur", choices: { consulta: "NO" },
      publicCredential: B.public_credential });
    assert.match(random.result.ballotNonce, /^[0-9a-f]{64}$/);
    assert.notEqual(random.result.ballotNonce, v.ballot_nonce);
  });

  test("errors come back as replies, in both languages", async () => {
    const service = createService();
    assert.equal((await service.handle({ id: 1, action: "encrypt" })).ok, false);
    assert.equal((await service.handle({ id: 2, action: "nothing" })).ok, false);
    assert.equal((await service.handle(null)).ok, false);
    await service.handle({ id: 3, action: "init", context: contextJson, allowTestGroup: true });
    const bad = await service.handle({ id: 4, action: "encrypt", style: "nte", choices: { "gob-nte": "NADA" },
      publicCredential: B.public_credential });
    assert.equal(bad.ok, false);
    assert.equal(bad.error.name, "ManifestError");
    assert.match(bad.error.es, /no tiene la opción/);
    assert.match(bad.error.en, /has no option/);
    const wrongSeed = await service.handle({ id: 5, action: "sign", ballot: B.ballots[0].ballot, seed: "00".repeat(32) });
    assert.equal(wrongSeed.ok, false);
    assert.equal(wrongSeed.error.name, "BallotError");
    const lang = await service.handle({ id: 6, action: "language", language: "en" });
    assert.equal(lang.ok, true);
    const english = await service.handle({ id: 7, action: "check", challenged: C.lying_device.challenged });
    assert.match(english.result.problems[0].message, /does NOT match/);
    await service.handle({ id: 8, action: "language", language: "es" });
  });
});

describe("worker.js in a stand-in worker scope", () => {
  test("a stateless request carrying its context; replies by id", async () => {
    const posted = [];
    const scope = new EventTarget();
    scope.postMessage = (message) => posted.push(message);
    const saved = globalThis.self;
    globalThis.self = scope;
    try {
      await booth("worker.js");
      await exchange(scope, posted);
    } finally {
      globalThis.self = saved;
    }
  });
});

async function exchange(scope, posted) {
  {
    const v = B.ballots[2];
    scope.dispatchEvent(new MessageEvent("message", { data: {
      id: 41, action: "encrypt", context: contextJson, allowTestGroup: true, style: v.style, choices: v.choices,
      publicCredential: B.public_credential, ballotNonce: v.ballot_nonce,
    } }));
    for (let i = 0; i < 200 && posted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(posted.length, 1);
    assert.equal(posted[0].id, 41);
    assert.equal(posted[0].ok, true, JSON.stringify(posted[0].error));
    assert.equal(posted[0].result.trackingCode, v.tracking_code);
  }
}

describe("page client (without a Worker)", () => {
  test("open the credential in the page, encrypt, sign in the page, challenge, check", async () => {
    assert.equal(typeof Worker, "undefined");
    const boothClient = await BoothCrypto.start(contextJson, { allowTestGroup: true });
    assert.equal(boothClient.info.electionHash, B.election_hash);
    const cred = await boothClient.openCredential(B.credential.toLowerCase());
    assert.equal(Buffer.from(cred.publicCredential).toString("hex"), B.public_credential);
    const v = B.ballots[1];
    const enc = await boothClient.encrypt(v.style, v.choices, cred.publicCredential);
    assert.match(enc.trackingCode, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
    const signed = await boothClient.sign(enc, cred.seed);
    assert.equal(signed.ballot.signature, signed.signature);
    assert.deepEqual(Object.keys(signed.ballot), ["style", "credential", "contests", "signature"]);
    await assert.rejects(boothClient.sign(enc, new Uint8Array(32)), /no corresponde/);
    const file = await boothClient.challenge(enc, v.choices);
    assert.equal(file.tracking_code, enc.trackingCode);
    assert.deepEqual((await boothClient.check(file)).problems, []);
    await assert.rejects(boothClient.encrypt("nte", { "gob-nte": "NADA" }, cred.publicCredential), /no tiene la opción/);
    await boothClient.setLanguage("en");
    await assert.rejects(boothClient.openCredential("0DJZF"), /missing 22 characters/);
    await assert.rejects(boothClient.encrypt("nte", { "gob-nte": "NADA" }, cred.publicCredential), /has no option/);
    await boothClient.setLanguage("es");
    boothClient.forgetCredential(cred);
    assert.deepEqual(cred.seed, new Uint8Array(32));
    boothClient.terminate();
  });
});

describe("index.js", () => {
  test("re-exports the booth's API in one module", async () => {
    const index = await booth("index.js");
    for (const name of ["encryptBallot", "checkChallenge", "challengeReveal", "contextFromRecordFiles", "parseCredential",
      "openCredential", "Manifest", "ElectionContext", "PRODUCTION_GROUP", "canonicalJson", "fingerprint", "sha256"]) {
      assert.ok(index[name] !== undefined, name);
    }
    assert.equal(typeof index.ed25519.sign, "function");
  });
});
