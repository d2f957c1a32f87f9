// The record checker's protocol pieces on the shared vectors, and the checker itself on the small
// election record (tests/vectors/small-election): P-256 signatures (envelope.json, acts.json), acts and
// receipts, the board chain (board.json), decryption shares and Lagrange weights (threshold.json),
// results (results.json, both forms), the stored board of record format 2 (board-file.json: every frame,
// the rejected ones, truncation and trailing bytes located), the streaming readers (lines, frames,
// .tar.gz), strict JSON; the checker on the small election in format 1 and in format 2.
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
const SMALL_V2 = join(ROOT, "tests", "vectors", "small-election-v2");

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
  const manifest = Manifest.fromJson(vector("manifest.json"));
  const v = vector("results.json");
  const hash = v.cases[0].results.manifest_hash;

  test("recomputed from the counts: totals, candidacies, coalition distribution, in both forms", () => {
    for (const c of v.cases) {
      const counts = new Map(c.counts.map((x) => [`${x.entity}\u0000${x.contest_id}`, x.option_counts]));
      const computed = results.computeResults(manifest, counts);
      assert.deepEqual(computed.map((r) => results.contestResultJson(manifest, r)), c.results.contests, c.label);
      assert.deepEqual(computed.map((r) => results.contestResultJson(manifest, r, 1)), c.results_version_1.contests, c.label);
      for (const [form, json] of [[2, c.results], [1, c.results_version_1], [null, c.results], [null, c.results_version_1]]) {
        const parsed = results.parseResults(manifest, hash, json, form);
        assert.deepEqual(parsed.map((r) => r.optionCounts), computed.map((r) => r.optionCounts), `${c.label} (${form})`);
      }
    }
  });

  test("version 2 names every count: renamed, reordered or positional counts are refused with their path", () => {
    const base = v.cases[0].results;
    const copy = () => JSON.parse(JSON.stringify(base));
    const swapped = copy();
    const options = swapped.contests[0].options;
    [options[0], options[1]] = [options[1], options[0]];
    assert.throws(() => results.parseResults(manifest, hash, swapped, 2), en(/results\.contests\[0\]\.options: expected the options/));
    const renamed = copy();
    renamed.contests[1].options[0].id = "SÍ";
    assert.throws(() => results.parseResults(manifest, hash, renamed, 2), en(/results\.contests\[1\]\.options: expected/));
    assert.throws(() => results.parseResults(manifest, hash, v.cases[0].results_version_1, 2),
      en(/results\.contests\[0\]\.option_counts: unknown key/));
    assert.throws(() => results.parseResults(manifest, hash, base, 1), en(/results\.contests\[0\]\.options: unknown key/));
  });
});

describe("the stored board of record format 2 (board-file.json)", () => {
  const v = vector("board-file.json");
  const bv = vector("ballot.json");
  const ctx = new ElectionContext(Manifest.fromJson(vector("manifest.json")), new ElectionKey(G, s(bv.election_key)),
    unhex(bv.election_hash));
  const whole = () => new Uint8Array([...unhex(v.magic), ...v.events.flatMap((e) => [...unhex(e.frame)])]);
  const files = (bytes) => new R.RecordFiles("x", new Map([["board.bin", new Blob([bytes])]]));
  async function read(bytes, chunkBytes = 1 << 20) {
    const out = [];
    let hashed = 0;
    const reader = R.boardReader(files(bytes), { version: 2 }, { chunkBytes });
    for await (const item of reader.events({ ctx, onChunk: (b) => (hashed += b.length) })) out.push(item);
    assert.equal(hashed, bytes.length, "every byte goes through onChunk once");
    return out;
  }

  test("the magic, and every frame read to its version-1 event: same payload hash, same head", async () => {
    assert.equal(hex(R.MAGIC), v.magic);
    assert.equal(ctx.electionHash.length, 32);
    assert.equal(hex(ctx.electionHash), v.election_hash);
    for (const [k, e] of v.events.entries()) {
      const frame = unhex(e.frame);
      const where = `board.bin:${k + 1}`;
      const event = await board.eventFromBytes(ctx, frame.subarray(4), where);
      const fromLine = await board.parseEvent(ctx, e.line, where);
      assert.equal(hex(event.payloadHash), e.payload_hash);
      assert.equal(hex(fromLine.payloadHash), e.payload_hash);
      assert.equal(hex(event.head), e.head);
      assert.equal(event.index, e.index);
      assert.equal(event.type, e.type);
      if (e.type === "ballot") assert.deepEqual(event.ballot.toJson(G), e.line.ballot);
      else assert.deepEqual(event.payload, e.line.payload);
    }
  });

  test("the whole file through the reader, in slices that cut frames anywhere: every event, every byte hashed", async () => {
    const bytes = whole();
    assert.equal(bytes.length, v.file_bytes);
    const { createHash } = await import("node:crypto");
    assert.equal(createHash("sha256").update(bytes).digest("hex"), v.file_sha256);
    for (const chunkBytes of [1, 7, 64, 1000, 1 << 20]) {
      const items = await read(bytes, chunkBytes);
      assert.deepEqual(items.map((i) => [i.where, i.error, i.event.type, hex(i.event.head)]),
        v.events.map((e, k) => [`board.bin:${k + 1}`, null, e.type, e.head]), `slices of ${chunkBytes}`);
      assert.equal(items.at(-1).offset, bytes.length);
    }
  });

  test("the rejected frames are refused at their position", async () => {
    for (const r of v.rejected) {
      const items = await read(new Uint8Array([...unhex(v.magic), ...unhex(r.frame)]), 5);
      assert.equal(items.length, 1, r.reason);
      assert.equal(items[0].where, "board.bin:1", r.reason);
      assert.equal(items[0].event, null, r.reason);
      assert.match(items[0].error.en, /^board\.bin:1/, r.reason);
    }
  });

  test("truncation anywhere, trailing bytes, bad lengths, a wrong magic: a clear problem where it is", async () => {
    const bytes = whole();
    const ends = [];
    let at = v.magic.length / 2;
    for (const e of v.events) ends.push((at += e.frame.length / 2));
    // Cut inside the last frame's length, inside its body, and inside the magic.
    const last = ends.at(-2);
    let items = await read(bytes.subarray(0, last + 2), 3);
    assert.deepEqual(items.at(-1).where, `board.bin:${v.events.length}`);
    assert.match(items.at(-1).error.en, /\.length: truncated data \(2 bytes missing\)/);
    items = await read(bytes.subarray(0, bytes.length - 10), 3);
    assert.equal(items.length, v.events.length);
    assert.match(items.at(-1).error.en, /^board\.bin:7: truncated event \(10 bytes missing\)/);
    assert.ok(items.slice(0, -1).every((i) => i.error === null));
    items = await read(bytes.subarray(0, 10));
    assert.deepEqual(items.map((i) => i.where), ["board.bin"]);
    assert.match(items[0].error.en, /not a SIVEI board in binary form/);
    // Trailing bytes after the last frame: a truncated frame at the next position.
    items = await read(new Uint8Array([...bytes, 0, 0, 0, 9, 1]));
    assert.match(items.at(-1).error.en, /^board\.bin:8: truncated event \(8 bytes missing\)/);
    // A length beyond the maximum ends the reading there (the rest is still hashed).
    const huge = new Uint8Array([...bytes.subarray(0, ends[0]), 0x7f, 0xff, 0xff, 0xff, ...bytes.subarray(ends[0] + 4)]);
    items = await read(huge, 100);
    assert.deepEqual(items.map((i) => i.where), ["board.bin:1", "board.bin:2"]);
    assert.match(items[1].error.en, /event of 2147483647 bytes, more than the maximum of 16777216/);
    // A length one byte short: the event's content is cut, and what follows is misframed — both located.
    const short = bytes.slice();
    new DataView(short.buffer).setUint32(ends[0], v.events[1].frame.length / 2 - 5);
    items = await read(short);
    assert.equal(items[1].where, "board.bin:2");
    assert.match(items[1].error.en, /^board\.bin:2\.ballot\.signature: truncated data/);
    assert.ok(items[2].error !== null);
    // A wrong magic.
    const magic = bytes.slice();
    magic[18] = 1;
    items = await read(magic);
    assert.deepEqual(items.map((i) => i.where), ["board.bin"]);
    // No board file at all.
    const none = R.boardReader(new R.RecordFiles("x", new Map()), { version: 2 });
    const missing = [];
    for await (const item of none.events({ ctx })) missing.push(item);
    assert.deepEqual(missing.map((i) => [i.where, i.error.en]), [["board.bin", "board.bin: file missing"]]);
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
    // A byte-order mark is kept (as Python reads it), so the JSON parse of that line fails.
    const bom = [];
    for await (const l of R.blobLines(new Blob([new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])]))) bom.push(l.text);
    assert.deepEqual(bom, ["\ufeff{}"]);
    assert.throws(() => R.parseStrictJson(bom[0], "x"), en(/invalid JSON/));
  });

  test("a .tar.gz of the record (as the server publishes it) reads as the folder does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "registro-"));
    const archive = join(dir, "registro.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", join(ROOT, "tests", "vectors"), "small-election-v2"]);
    const fromTar = await R.recordFromTarGz(new Blob([readFileSync(archive)]), "registro.tar.gz");
    const fromDir = recordFiles(SMALL_V2);
    assert.deepEqual(fromTar.names(), fromDir.names());
    for (const name of fromDir.names()) {
      assert.deepEqual(new Uint8Array(await fromTar.blob(name).arrayBuffer()), new Uint8Array(await fromDir.blob(name).arrayBuffer()));
    }
  });

  test("the board reader interface: one event at a time, with where it came from, in both formats alike", async () => {
    const manifest = Manifest.fromJson(JSON.parse(readFileSync(join(SMALL, "manifest.json"), "utf8")));
    const expect = vector("small-election.json");
    const key = JSON.parse(readFileSync(join(SMALL, "acts", "opening.json"), "utf8")).body.joint_key;
    const ctx = new ElectionContext(manifest, new ElectionKey(G, s(key)), unhex(expect.election_hash));
    const heads = {};
    for (const [dir, version, name] of [[SMALL, 1, "board.jsonl"], [SMALL_V2, 2, "board.bin"]]) {
      const files = recordFiles(dir);
      assert.equal(R.boardReader(files, { version: 3 }), null);
      assert.equal(R.boardReader(files, { version: "1" }), null);
      const reader = R.boardReader(files, { version }, { chunkBytes: 1000 });
      assert.equal(reader.name, name);
      const seen = [];
      let bytes = 0;
      for await (const item of reader.events({ ctx, onChunk: (b) => (bytes += b.length) })) {
        assert.equal(item.error, null);
        seen.push([item.where, item.event.type, hex(item.event.head), hex(item.event.payloadHash)]);
      }
      assert.equal(bytes, files.size(name));
      assert.deepEqual(seen[0].slice(0, 2), [`${name}:1`, "open"]);
      assert.equal(seen.at(-1)[1], "close");
      assert.equal(seen.at(-1)[2], expect.final_head);
      heads[version] = seen.map((x) => x.slice(1));
    }
    assert.deepEqual(heads[1], heads[2]);
  });
});

describe("the checker on the small election", () => {
  test("every check passes with the test group allowed, every ballot's proofs included, in both formats", async () => {
    const expect = vector("small-election.json");
    for (const [dir, version] of [[SMALL, 1], [SMALL_V2, 2]]) {
      const report = await R.checkRecord(recordFiles(dir), { allowTestGroup: true, proofs: "all",
        expectElection: [expect.election_fingerprint], expectHeads: [expect.final_head_read_aloud] });
      const json = report.toJson("en");
      assert.deepEqual(json.problems, []);
      assert.ok(json.ok);
      assert.equal(json.facts.record_version, version);
      assert.equal(json.fingerprints.election_hash, expect.election_fingerprint);
      assert.equal(json.facts.final_board_head_hash, expect.final_head);
      assert.equal(json.facts.ballots_proofs_checked, json.facts.ballots_on_board);
      assert.deepEqual(json.stages.map((st) => st.status), Array(json.stages.length).fill("ok"));
    }
  });

  test("the test group is refused unless asked for", async () => {
    const report = await R.checkRecord(recordFiles(SMALL_V2));
    assert.deepEqual(report.failedChecks(), { parameters: 1 });
    assert.match(report.toJson("es").problems[0].message, /grupo de prueba/);
  });

  test("chosen ballots: by tracking code and by index; one not on the board is said so", async () => {
    const progress = [];
    const report = await R.checkRecord(recordFiles(SMALL_V2), { allowTestGroup: true, chosen: ["#2", "00000-00000-00000-00000"],
      onProgress: (p) => progress.push(p.stage) });
    assert.ok(report.ok);
    assert.equal(report.toJson("en").facts.ballots_proofs_checked, 1);
    assert.ok(progress.includes("board"));
    assert.ok(report.toJson("en").notes.some((n) => /proofs, signature and subgroup membership of 1 of 4/.test(n)));
  });

  test("a stop request stops the check", async () => {
    const signal = { aborted: false };
    const pending = R.checkRecord(recordFiles(SMALL_V2), { allowTestGroup: true, proofs: "all", signal,
      onProgress: () => (signal.aborted = true) });
    await assert.rejects(pending, R.Cancelled);
  });
});
