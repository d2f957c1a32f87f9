// The record checker's consulates part (static/verificar/js/consulates.js) on the in-person vector
// (in-person.json): the declaration's hash, its problems against a list and the manifest, a consulate's
// signed log and what breaks it, the cells per channel and the 30-ballot rule. The whole stage against
// the Python verifier on records: tests/test_record_checker_js.py.
// Needs `node --import ./tests/js/noble-resolve.mjs` (tests/test_js.py passes it).

import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";

import { ROOT, booth, hex, unhex, vector } from "./helpers.mjs";

const { Manifest } = await booth("manifest.js");
const { parseEnvelope } = await booth("ceremony.js");
const { envelopeContentHash } = await booth("context.js");
const C = await import(new URL(`file://${join(ROOT, "server/sivei_server/static/verificar/js/consulates.js")}`).href);

const v = vector("in-person.json");
const manifest = Manifest.fromJson(v.manifest);
const LOG = { es: "bitácora", en: "log" };
const clone = (x) => JSON.parse(JSON.stringify(x));

/** A stand-in for the signed list's entries: credential (hex) → style. */
function entries(styles) {
  const perStyle = new Map(manifest.ballotStyles.map((s) => [s.id, 0]));
  for (const style of Object.values(styles)) perStyle.set(style, perStyle.get(style) + 1);
  return { perStyle, styleFor: (bytes) => styles[hex(bytes)] ?? null };
}

describe("the consulates' declaration", () => {
  const [pk0, pk1, pk2] = [v.declaration.consulates[0].registered[0], ...v.declaration.consulates[0].pool];
  const pk3 = v.declaration.consulates[1].pool[0];
  const listed = { [pk0]: "nte", [pk1]: "sre", [pk2]: "sre", [pk3]: "sre" };

  test("hashes as Python (the list's in_person_hash)", async () => {
    const d = C.parseDeclaration(v.declaration);
    assert.equal(hex(await C.declarationHash(d)), v.declaration_hash);
    assert.deepEqual([...C.inPersonSet(d)].sort(), [pk0, pk1, pk2, pk3].sort());
    const moved = clone(v.declaration);
    moved.consulates[1].pool.push(moved.consulates[0].pool.pop());
    assert.notEqual(hex(await C.declarationHash(C.parseDeclaration(moved))), v.declaration_hash);
  });

  test("a malformed declaration is refused", () => {
    for (const bad of [{ ...v.declaration, version: 2 }, { ...v.declaration, extra: 1 },
      { ...v.declaration, consulates: [{ code: "LAX", registered: ["AB"], pool: [] }] }]) {
      assert.throws(() => C.parseDeclaration(bad), (err) => /consulados\.json/.test(err.en));
    }
  });

  test("its problems against the manifest and the list", async () => {
    const d = C.parseDeclaration(v.declaration);
    const en = async (styles, stated = v.declaration_hash) =>
      (await C.declarationProblems(d, manifest, entries(styles), stated)).map((p) => p.en);
    // The vector's pools are smaller than the manifest's caps (1500 and 2).
    assert.deepEqual(await en(listed), [
      "consulados.json: LAX.pool has 2 credentials; the manifest's cap is 1500",
      "consulados.json: MAD.pool has 1 credentials; the manifest's cap is 2"]);
    const found = await en({ ...listed, [pk1]: "nte", [pk0]: "sre", ["ab".repeat(32)]: "sre" }, "00".repeat(32));
    assert.ok(found[0].includes("is not the «in_person_hash» the credential list signs"));
    assert.ok(found.some((p) => p.startsWith("consulados.json: LAX.registered: credential ") && p.includes("of style 'sre'")));
    assert.ok(found.some((p) => p.startsWith("consulados.json: LAX.pool: credential ") && p.includes("of style 'nte'")));
    assert.ok(found.at(-1).startsWith("consulados.json: 2 credentials of style 'sre' are in no pool"));
    const { [pk3]: _, ...without } = listed;
    assert.ok((await en(without)).some((p) => p === `consulados.json: MAD.pool: credential ${pk3.slice(0, 16)}… is not on the list`));
    const twice = clone(v.declaration);
    twice.consulates[1].pool = [pk1];
    const problems = (await C.declarationProblems(C.parseDeclaration(twice), manifest, entries(listed), null)).map((p) => p.en);
    assert.ok(problems.some((p) => p === `consulados.json: MAD.pool: credential ${pk1.slice(0, 16)}… is already in LAX.pool`));
  });
});

describe("a consulate's signed log", () => {
  const hE = unhex(v.election_hash);

  test("its content hash is Python's, and it verifies with the manifest's log key", async () => {
    assert.equal(hex(await envelopeContentHash({ ...v.log_draft, signature: "" })), v.log_content_hash);
    assert.equal(hex(await envelopeContentHash(v.log)), v.log_content_hash);
    const { log, problems } = await C.checkLog(manifest, hE, "LAX", parseEnvelope(v.log), LOG);
    assert.deepEqual(problems, []);
    assert.equal(log.registeredServed, 1);
    assert.deepEqual(log.unregistered, v.log.body.unregistered);
  });

  test("another key, an altered body or another election is refused", async () => {
    const en = async (obj, code = "LAX", h = hE) =>
      (await C.checkLog(manifest, h, code, parseEnvelope(obj), LOG)).problems.map((p) => p.en);
    const notBy = (code) => `log: the signature is not by consulate ${code}'s log key (manifest)`;
    assert.ok((await en(v.log, "MAD")).includes(notBy("MAD")));
    const altered = clone(v.log);
    altered.body.registered_served = 2;
    assert.deepEqual(await en(altered), [notBy("LAX")]);
    assert.deepEqual(await en(v.log, "LAX", new Uint8Array(32)), ["log: «previous» is not this election's hash (H_E)"]);
    const sig = clone(v.log);
    sig.signature = "00".repeat(64);
    assert.deepEqual(await en(sig), [notBy("LAX")]);
  });
});

describe("cells per channel and the 30-ballot rule", () => {
  test("a cell is split only with 30 ballots in each channel", () => {
    const tally = (counts) => ({ entries: counts.map((ballots, i) => ({ entity: "X", contestIndex: i, ballots })) });
    const cells = C.channelCells(tally([60, 59, 100, 30]), tally([30, 30, 71, 0]));
    assert.deepEqual(cells.map((c) => [c.internet, c.consulados]), [[30, 30], [29, 30], [29, 71], [30, 0]]);
    assert.deepEqual(cells.map((c) => Math.min(c.internet, c.consulados) >= C.CHANNEL_MINIMUM), [true, false, false, false]);
  });
});
