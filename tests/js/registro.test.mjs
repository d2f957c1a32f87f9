// The record checker's protocol pieces on the shared vectors, and the checker itself on the small
// election record (tests/vectors/small-election): P-256 signatures (envelope.json, acts.json), acts and
// receipts, the board chain (board.json), decryption shares and Lagrange weights (threshold.json),
// results (results.json), the streaming readers (lines, .tar.gz), strict JSON.
// Needs `node --import ./tests/js/noble-resolve.mjs` (tests/test_js.py passes it).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, test } from "node:test";

import { ROOT, booth, hex, unhex, vector } from "./helpers.mjs";

const ecdsa = await booth("ecdsa.js");
const acts = await booth("acts.js");
const receipts = await booth("receipts.js");
const board = await booth("board.js");
const decryption = await booth("decryption.js");
const results = await booth("results.js");
const ceremony = await booth("ceremony.js");
const credentialList = await booth("credentiallist.js");
const { Manifest } = await booth("manifest.js");
const { Ciphertext, ElectionKey } = await booth("elgamal.js");
const { ElectionContext } = await booth("context.js");
const { EncryptedTally } = await booth("tally.js");
const { TEST_GROUP: G } = await booth("group.js");
const enc = await booth("encoding.js");
const R = await import(new URL(`file://${join(ROOT, "server/sivei_server/static/verificar/js/index.js")}`).href);

const s = (x) => BigInt("0x" + x);
/** assert.throws validator: the error's English text matches. */
const en = (re) => (err) => re.test(err.en);
const SMALL = join(ROOT, "tests", "vectors", "small-election");

function recordFiles(dir, label = dir) {
  const files = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p), new Blob([readFileSync(p)]));
    }
  };
  walk(dir);
  return new R.RecordFiles(label, files);
}

describe("ECDSA P-256 over a digest (envelope.json, acts.json)", () => {
  test("the envelope vectors: valid, high s, r = 0, another digest", () => {
    const v = vector("envelope.json");
    for (const c of v.signature_checks) {
      assert.equal(ecdsa.verifyDigest(unhex(v.public_key), unhex(c.digest), unhex(c.signature)), c.valid, c.why);
    }
  });

  test("public keys: on the curve, uncompressed only", () => {
    for (const c of vector("acts.json").public_keys) assert.equal(ecdsa.isValidPublicKey(unhex(c.key)), c.valid, c.why);
  });

  test("key fingerprint", async () => {
    const v = vector("envelope.json");
    assert.equal(hex(await ecdsa.keyFingerprintDigest(unhex(v.public_key))), v.key_fingerprint.digest);
  });

  test("a signature made by WebCrypto (which may give a high s) verifies once normalised, never before", async () => {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    // WebCrypto signs SHA-256(data): the digest is what ecdsa.js receives.
    const data = new TextEncoder().encode("sivei");
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    for (let i = 0; i < 8; i++) {
      const sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, data));
      const sValue = s(hex(sig.subarray(32)));
      const low = sValue > ecdsa.P256_ORDER / 2n ? ecdsa.P256_ORDER - sValue : sValue;
      const normalised = new Uint8Array([...sig.subarray(0, 32), ...unhex(low.toString(16).padStart(64, "0"))]);
      assert.ok(ecdsa.verifyDigest(publicKey, digest, normalised));
      assert.equal(ecdsa.verifyDigest(publicKey, digest, sig), sValue === low);
    }
  });
});

describe("acts and receipts (acts.json)", () => {
  const v = vector("acts.json");
  const keys = new Map(Object.entries(v.guardian_keys).map(([k, key]) => [k, unhex(key)]));

  test("closing act: content hash and its input, signatures", async () => {
    const c = v.closing_act;
    const act = acts.SignedAct.fromJson(c.act, "closing");
    assert.equal(hex(act.contentHashInput()), c.content_hash_input);
    assert.equal(hex(await act.contentHash()), c.content_hash);
    assert.deepEqual(await act.signatureProblems(keys, { required: 2, what: "closing" }), []);
    const three = await act.signatureProblems(keys, { required: 3, what: "closing" });
    assert.equal(three.length, 1);
    assert.match(three[0].en, /3 valid signatures are required, 2 present \(missing: guardian-3\)/);
    for (const check of c.signature_checks) {
      assert.equal(ecdsa.verifyDigest(keys.get(check.signer), unhex(c.content_hash), unhex(check.signature)), check.valid,
        check.why);
    }
    const repeated = acts.SignedAct.fromJson({ ...c.act, signatures: [c.act.signatures[0], c.act.signatures[0]] }, "x");
    assert.match((await repeated.signatureProblems(keys, { required: 1, what: "x" }))[0].en, /repeated signature/);
    assert.throws(() => acts.SignedAct.fromJson({ ...c.act, body: { ...c.act.body, extra: 1 } }, "x"), en(/invalid fields/));
  });

  test("opening act", async () => {
    const act = acts.SignedAct.fromJson(v.opening_act.act, "opening");
    assert.equal(hex(await act.contentHash()), v.opening_act.content_hash);
    assert.deepEqual(await act.signatureProblems(keys, { required: 3, what: "opening" }), []);
  });

  test("receipt: digest and its input, signature checks", async () => {
    const r = v.receipt;
    const receipt = receipts.Receipt.fromJson(r.receipt);
    assert.equal(new TextDecoder().decode(enc.canonicalJson(receipt.body())), r.digest_input);
    assert.equal(hex(await receipt.digest()), r.digest);
    for (const c of r.checks) {
      assert.equal(await receipts.Receipt.fromJson(c.receipt).signatureValid(unhex(r.receipt_key)), c.valid, c.why);
    }
    assert.throws(() => receipts.Receipt.fromJson({ ...r.receipt, tracking_code: "00000-00000-00000-00000" }),
      en(/tracking_code/));
  });

  test("instants are compared as instants", () => {
    assert.equal(acts.parseInstant("2027-06-07T00:00:00Z"), Date.UTC(2027, 5, 7));
    assert.equal(acts.parseInstant("2027-02-30T00:00:00Z"), null);
    assert.equal(acts.parseInstant("2027-06-07 00:00:00Z"), null);
  });
});

describe("the board chain (board.json)", () => {
  test("a ballot's hash input written straight from its JSON is H_E ‖ its encoding (ballot.json)", async () => {
    const v = vector("ballot.json");
    const { EncryptedBallot, TAG_BALLOT } = await booth("ballot.js");
    const { taggedHash } = enc;
    for (const b of v.ballots) {
      const parsed = EncryptedBallot.fromJson(G, b.ballot, "ballot", { membership: false });
      const hE = unhex(v.election_hash);
      const input = board.ballotHashInputFromJson(G, hE, b.ballot);
      assert.equal(hex(input.subarray(32)), b.encoding);
      assert.equal(hex(input.subarray(32)), hex(parsed.encode(G)));
      assert.equal(hex(await taggedHash(TAG_BALLOT, input)), b.ballot_hash);
    }
  });

  test("every head", async () => {
    const v = vector("board.json");
    const hE = unhex(v.election_hash);
    let previous = board.GENESIS_PREVIOUS;
    for (const e of v.events) {
      const payloadHash = e.payload === undefined ? unhex(e.ballot_hash) : await board.payloadHash(e.payload);
      assert.equal(hex(payloadHash), e.payload_hash);
      assert.equal(hex(board.eventHashInput(hE, previous, e.index, e.type, payloadHash)), e.hash_input);
      const head = await board.eventHash(hE, previous, e.index, e.type, payloadHash);
      assert.equal(hex(head), e.head);
      previous = head;
    }
    assert.equal(hex(await board.genesisHead(hE)), v.events[0].head);
  });
});

describe("threshold decryption (threshold.json)", () => {
  const v = vector("threshold.json");

  test("Lagrange weights", () => {
    for (const c of v.lagrange) {
      assert.deepEqual(c.present.map((i) => enc.scalarToHex(decryption.lagrangeCoefficient(G, i, c.present))), c.weights);
    }
  });

  test("shares verify, a changed one does not, and combine to g^m", async () => {
    const ct = Ciphertext.fromJson(G, v.ciphertext, "ct");
    const hE = unhex(v.election_hash);
    for (const c of v.decryptions) {
      let prod = 1n;
      for (const [k, row] of c.shares.entries()) {
        const share = decryption.parseShare(G, row.share, "share");
        const key = s(row.guardian_key);
        assert.equal(hex(decryption.shareStatement(G, row.guardian, ct)), row.statement);
        assert.ok(await decryption.verifyShare(G, share, key, ct, hE));
        const wrong = { ...share, share: G.mul(share.share, G.g) };
        assert.ok(!(await decryption.verifyShare(G, wrong, key, ct, hE)));
        prod = (prod * G.pow(share.share, s(c.weights[k]))) % G.p;
      }
      assert.equal(enc.elementToHex(G, G.div(ct.beta, prod)), c.g_m);
      assert.equal(G.gPow(BigInt(c.m)), s(c.g_m));
    }
  });

  test("encrypted-tally hash", async () => {
    const t = v.encrypted_tally;
    const ctx = new ElectionContext(Manifest.fromJson(vector("manifest.json")),
      new ElectionKey(G, s(v.election_key)), unhex(v.election_hash));
    const tally = EncryptedTally.fromJson(G, t.tally);
    assert.equal(hex(await tally.hash(ctx)), t.tally_hash);
  });
});

describe("results (results.json)", () => {
  test("recomputed from the counts: totals, candidacies, coalition distribution", () => {
    const manifest = Manifest.fromJson(vector("manifest.json"));
    for (const c of vector("results.json").cases) {
      const counts = new Map(c.counts.map((x) => [`${x.entity}\u0000${x.contest_id}`, x.option_counts]));
      const mine = results.computeResults(manifest, counts).map(results.contestResultJson);
      assert.deepEqual(mine, c.results.contests, c.label);
    }
  });
});

describe("ceremony and credential list pieces", () => {
  test("low-order X25519 keys are refused, with bit 255 set or not", () => {
    assert.ok(ceremony.isLowOrderX25519(new Uint8Array(32)));
    const p = unhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    assert.ok(ceremony.isLowOrderX25519(p));
    assert.ok(!ceremony.isLowOrderX25519(unhex("09" + "00".repeat(31))));
  });

  test("credential points: the list's are valid, a small-order point and a non-canonical encoding are not", () => {
    const lines = readFileSync(join(SMALL, "credentials.jsonl"), "utf8").trim().split("\n");
    for (const line of lines) assert.ok(credentialList.isValidCredentialPoint(unhex(JSON.parse(line).credential)));
    assert.ok(!credentialList.isValidCredentialPoint(unhex("01" + "00".repeat(31)))); // the neutral element
    assert.ok(!credentialList.isValidCredentialPoint(unhex("ed" + "ff".repeat(30) + "7f"))); // y = p
  });

  test("Ed25519 ballot signatures (ballot.json) verify, a changed message does not", () => {
    const v = vector("ballot.json");
    for (const b of v.ballots) {
      const msg = unhex(b.signature_message);
      const pub = unhex(b.ballot.credential);
      assert.ok(credentialList.verifyCredentialSignature(pub, msg, unhex(b.signature)));
      msg[msg.length - 1] ^= 1;
      assert.ok(!credentialList.verifyCredentialSignature(pub, msg, unhex(b.signature)));
    }
  });
});

describe("reading a record", () => {
  test("strict JSON: duplicate keys and fractions refused, canonical lines read fast", () => {
    assert.deepEqual(R.parseStrictJson('{"a":1,"b":[2]}', "x", { compact: true }), { a: 1, b: [2] });
    assert.throws(() => R.parseStrictJson('{"a":1,"a":2}', "x"), en(/duplicate key 'a'/));
    assert.throws(() => R.parseStrictJson('{"a": {"b": 1, "b": 1}}', "x"), en(/duplicate key 'b'/));
    assert.throws(() => R.parseStrictJson('{"a":1.0}', "x", { compact: true }), en(/non-integer/));
    assert.deepEqual(R.parseStrictJson('{"a":"1.5e3","b":{"a":1}}', "x"), { a: "1.5e3", b: { a: 1 } });
  });

  test("lines of a Blob across slices, the last one without a newline, bad UTF-8 named", async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode("uno\ndós\n"), 0xff, 10, ...new TextEncoder().encode("x")]);
    const out = [];
    for await (const l of R.blobLines(new Blob([bytes]), { chunkBytes: 3 })) out.push([l.lineno, l.text, l.offset]);
    assert.deepEqual(out, [[1, "uno", 4], [2, "dós", 9], [3, null, 11], [4, "x", 12]]);
  });

  test("a .tar.gz of the record (as the server publishes it) reads as the folder does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "registro-"));
    const archive = join(dir, "registro.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", join(ROOT, "tests", "vectors"), "small-election"]);
    const fromTar = await R.recordFromTarGz(new Blob([readFileSync(archive)]), "registro.tar.gz");
    const fromDir = recordFiles(SMALL);
    assert.deepEqual(fromTar.names(), fromDir.names());
    for (const name of fromDir.names()) assert.equal(await fromTar.text(name), await fromDir.text(name));
  });

  test("the board reader interface: one event at a time, with where it came from", async () => {
    const files = recordFiles(SMALL);
    const reader = R.boardReader(files, { version: 1 });
    assert.equal(R.boardReader(files, { version: 2 }), null);
    const seen = [];
    let bytes = 0;
    for await (const item of reader.events({ onChunk: (b) => (bytes += b.length) })) seen.push([item.where, item.event.type]);
    assert.equal(bytes, files.size("board.jsonl"));
    assert.deepEqual(seen[0], ["board.jsonl:1", "open"]);
    assert.equal(seen.at(-1)[1], "close");
  });
});

describe("the checker on the small election", () => {
  test("every check passes with the test group allowed, every ballot's proofs included", async () => {
    const expect = vector("small-election.json");
    const report = await R.checkRecord(recordFiles(SMALL), { allowTestGroup: true, proofs: "all",
      expectElection: [expect.election_fingerprint], expectHeads: [expect.final_head_read_aloud] });
    const json = report.toJson("en");
    assert.deepEqual(json.problems, []);
    assert.ok(json.ok);
    assert.equal(json.fingerprints.election_hash, expect.election_fingerprint);
    assert.equal(json.facts.final_board_head_hash, expect.final_head);
    assert.equal(json.facts.ballots_proofs_checked, json.facts.ballots_on_board);
    assert.deepEqual(json.stages.map((st) => st.status), Array(json.stages.length).fill("ok"));
  });

  test("the test group is refused unless asked for", async () => {
    const report = await R.checkRecord(recordFiles(SMALL));
    assert.deepEqual(report.failedChecks(), { parameters: 1 });
    assert.match(report.toJson("es").problems[0].message, /grupo de prueba/);
  });

  test("chosen ballots: by tracking code and by index; one not on the board is said so", async () => {
    const progress = [];
    const report = await R.checkRecord(recordFiles(SMALL), { allowTestGroup: true, chosen: ["#2", "00000-00000-00000-00000"],
      onProgress: (p) => progress.push(p.stage) });
    assert.ok(report.ok);
    assert.equal(report.toJson("en").facts.ballots_proofs_checked, 1);
    assert.ok(progress.includes("board"));
    assert.ok(report.toJson("en").notes.some((n) => /proofs, signature and subgroup membership of 1 of 4/.test(n)));
  });

  test("a stop request stops the check", async () => {
    const signal = { aborted: false };
    const pending = R.checkRecord(recordFiles(SMALL), { allowTestGroup: true, proofs: "all", signal,
      onProgress: () => (signal.aborted = true) });
    await assert.rejects(pending, R.Cancelled);
  });
});
