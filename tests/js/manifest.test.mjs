// The manifest as the booth reads it: shape, look-ups and coalition marks (as Contest.option_for_marks).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { booth, readJson, vector } from "./helpers.mjs";

const { Manifest } = await booth("manifest.js");
const { ManifestError } = await booth("errors.js");

const small = vector("manifest.json");
const sample = readJson("src/sivei/data/sample-manifest.json");

describe("manifest with voting at consulates (in-person.json)", () => {
  test("reads in_person, gives it back, and hashes as Python", async () => {
    const { createHash } = await import("node:crypto");
    const { canonicalJson } = await booth("encoding.js");
    const v = vector("in-person.json");
    const m = Manifest.fromJson(v.manifest);
    assert.deepEqual(m.toJson(), v.manifest);
    const hex = (b) => Buffer.from(b).toString("hex");
    assert.equal(hex(createHash("sha256").update(canonicalJson(m.toJson())).digest()), v.canonical_json_sha256);
    assert.equal(hex(await m.hash()), v.manifest_hash);
    assert.throws(() => Manifest.fromJson({ ...v.manifest, counting_policy: "one-vote" }), ManifestError);
    const { in_person: _, ...plain } = v.manifest;
    assert.throws(() => Manifest.fromJson(plain), ManifestError);
    const bad = JSON.parse(JSON.stringify(v.manifest));
    bad.in_person.consulates[1].log_key = bad.in_person.consulates[0].log_key;
    assert.throws(() => Manifest.fromJson(bad), ManifestError);
  });
});

describe("manifest", () => {
  test("reads the vectors' and the sample manifests; toJson gives them back", () => {
    for (const json of [small, sample]) {
      const m = Manifest.fromJson(json);
      assert.deepEqual(m.toJson(), json);
      assert.equal(JSON.stringify(Object.keys(m.toJson())), JSON.stringify(Object.keys(json)));
    }
  });

  test("styles and contests in manifest order", () => {
    const m = Manifest.fromJson(small);
    assert.deepEqual(m.styleContests("nte").map(([i, c]) => [i, c.id]), [[0, "gob-nte"], [1, "consulta"]]);
    assert.deepEqual(m.styleContests("sur").map(([i, c]) => [i, c.id]), [[1, "consulta"]]);
    assert.equal(m.styleForEntity("SUR").id, "sur");
    assert.throws(() => m.style("oeste"), ManifestError);
    assert.throws(() => m.entity("OES"), ManifestError);
    assert.throws(() => m.contest("x"), ManifestError);
    const gob = m.contest("gob-nte");
    assert.equal(gob.optionIndex("CNR"), 4);
    assert.equal(gob.writeInOptionIndex, 4);
    assert.equal(gob.nullOptionIndex, 5);
    assert.deepEqual(gob.partyIds, ["PRA", "PRB", "PRC"]);
    assert.equal(gob.coalitionOf("PRB").id, "PRA-PRB");
    assert.equal(gob.coalitionOf("PRC"), null);
    assert.equal(m.contest("consulta").writeInOptionIndex, null);
    assert.throws(() => gob.optionIndex("NADA"), ManifestError);
  });

  test("marks on coalition partners count for their combination (LGIPE arts. 288, 290)", () => {
    const gob = Manifest.fromJson(small).contest("gob-nte");
    assert.equal(gob.optionForMarks(["PRA"]), 0);
    assert.equal(gob.optionForMarks(new Set(["PRB"])), 1);
    assert.equal(gob.optionForMarks(["PRB", "PRA"]), 3);
    assert.equal(gob.optionForMarks(["PRA", "PRA", "PRB"]), 3);
    assert.equal(gob.optionForMarks(["PRA", "PRC"]), 5); // not partners: null
    assert.equal(gob.optionForMarks([]), 5); // no mark: null
    assert.throws(() => gob.optionForMarks(["XYZ"]), ManifestError);
    assert.throws(() => gob.optionForMarks("PRA"), TypeError);
    assert.ok(gob.isValidMarkSet(["PRA", "PRB"]));
    assert.ok(!gob.isValidMarkSet(["PRA", "PRC"]));
    assert.ok(!gob.isValidMarkSet([]));
  });

  test("every party and combination option of the sample manifest is reached by its marks", () => {
    const m = Manifest.fromJson(sample);
    let combinations = 0;
    for (const contest of m.contests) {
      contest.options.forEach((op, i) => {
        if (op.kind === "party" || op.kind === "combination") {
          assert.equal(contest.optionForMarks([...op.parties].reverse()), i, `${contest.id} ${op.id}`);
          combinations += op.kind === "combination";
        }
      });
    }
    assert.ok(combinations > 0);
  });

  test("strict shape", () => {
    const bad = (mutate, pattern) => {
      const copy = structuredClone(small);
      mutate(copy);
      assert.throws(() => Manifest.fromJson(copy), pattern ?? ManifestError);
    };
    bad((m) => { m.extra = 1; }, /extra: clave desconocida/);
    bad((m) => { delete m.tie_rule; }, /tie_rule: falta esta clave/);
    bad((m) => { m.voting_opens = "2027-05-23 02:00"; });
    bad((m) => { m.contests[0].votes_allowed = 2; }, /votes_allowed/);
    bad((m) => { m.contests[0].options[5].kind = "answer"; }, /null/);
    bad((m) => { m.contests[0].options[1].id = "PRA"; }, /duplicado/);
    bad((m) => { m.ballot_styles[0].contests = ["consulta", "gob-nte"]; }, /orden/);
    bad((m) => { m.ballot_styles[0].contests = ["nada"]; });
    bad((m) => { m.entities[0].ballot_style = "sur"; });
    bad((m) => { m.contests[0].options[3].parties = ["PRA", "PRC"]; }, /coalición/);
    bad((m) => { m.contests[0].options[0].parties = ["XYZ"]; }, /no está declarado/);
    bad((m) => { m.parties = []; });
    bad((m) => { m.contests[0].kind = "other"; });
    bad((m) => { m.contests[0].options[0].candidate = 5; });
  });
});
