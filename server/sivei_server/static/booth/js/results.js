// Results as the actas show them — votes per option, candidacy totals, the informative coalition
// distribution — recomputed from the manifest and the decrypted counts (mirrors
// sivei/tally/results.py; docs/protocol.md §17), and the strict reading of results.json.

import { SiveiError } from "./errors.js";

export const MAX_COUNT = 2 ** 53 - 1;

export class ResultsError extends SiveiError {}

function fail(path, es, en) {
  throw new ResultsError(`${path}: ${es}`, `${path}: ${en}`);
}

function isCount(value) {
  return Number.isInteger(value) && value >= 0 && value <= MAX_COUNT;
}

/** Votes per candidacy: coalitions by coalition id (parties and combinations), parties alone and
 * independents by option id; write-in, null and answers left out. [[id, votes], …] in first-appearance order. */
export function candidateTotals(contest, optionCounts) {
  const totals = new Map();
  contest.options.forEach((option, i) => {
    let key;
    if (option.kind === "party" || option.kind === "combination") {
      const coalition = contest.coalitionOf(option.parties[0]);
      key = coalition === null ? option.id : coalition.id;
    } else if (option.kind === "independent") {
      key = option.id;
    } else {
      return;
    }
    totals.set(key, (totals.get(key) || 0) + optionCounts[i]);
  });
  return [...totals.entries()];
}

/** Each party's own votes plus its share of each combination it is in (LGIPE art. 311, informative):
 * equal split, the remainder one vote each to the combination's parties with most own votes, ties by
 * the manifest's party order ("party-order"). [[party, votes], …] in option order. */
export function partyDistribution(manifest, contest, optionCounts) {
  if (manifest.tieRule !== "party-order") {
    throw new ResultsError(`regla de desempate desconocida '${manifest.tieRule}'`, `unknown tie rule '${manifest.tieRule}'`);
  }
  const rank = new Map(manifest.parties.map((p, i) => [p.id, i]));
  const own = new Map();
  contest.options.forEach((option, i) => {
    if (option.kind === "party") own.set(option.parties[0], optionCounts[i]);
  });
  const distributed = new Map(own);
  contest.options.forEach((option, i) => {
    if (option.kind !== "combination") return;
    const votes = optionCounts[i];
    const k = option.parties.length;
    const share = Math.floor(votes / k);
    const remainder = votes % k;
    for (const party of option.parties) distributed.set(party, (distributed.get(party) || 0) + share);
    const ranked = [...option.parties].sort((a, b) => ((own.get(b) || 0) - (own.get(a) || 0)) || (rank.get(a) - rank.get(b)));
    for (const party of ranked.slice(0, remainder)) distributed.set(party, distributed.get(party) + 1);
  });
  return [...distributed.entries()];
}

/** Every (entity, contest) of the manifest's ballot styles, in manifest order: [[entity, contest], …]. */
export function expectedContests(manifest) {
  const out = [];
  for (const entity of manifest.entities) {
    for (const [, contest] of manifest.styleContests(entity.ballotStyle)) out.push([entity.code, contest]);
  }
  return out;
}

/** The result of one contest in one entity from its option counts. */
export function contestResult(manifest, entity, contest, optionCounts) {
  const counts = [...optionCounts];
  const candidacy = contest.kind === "candidacy";
  return {
    entity, contestId: contest.id, optionCounts: counts, total: counts.reduce((a, b) => a + b, 0),
    candidateTotals: candidacy ? candidateTotals(contest, counts) : [],
    partyDistribution: candidacy ? partyDistribution(manifest, contest, counts) : [],
  };
}

/** Results for every (entity, contest) from counts: Map "entity\0contest id" → [count per option]. */
export function computeResults(manifest, counts) {
  const expected = expectedContests(manifest);
  const known = new Set(expected.map(([e, c]) => `${e}\u0000${c.id}`));
  for (const key of counts.keys()) {
    if (!known.has(key)) {
      const [entity, contestId] = key.split("\u0000");
      throw new ResultsError(`conteos de ${entity}/${contestId}, que no está en ningún estilo de boleta del manifiesto`,
        `counts for ${entity}/${contestId}, which is in no ballot style of the manifest`);
    }
  }
  return expected.map(([entity, contest]) => {
    const where = `${entity}/${contest.id}`;
    const row = counts.get(`${entity}\u0000${contest.id}`);
    if (row === undefined) throw new ResultsError(`${where}: faltan los conteos`, `${where}: the counts are missing`);
    if (row.length !== contest.options.length) {
      throw new ResultsError(`${where}: se esperaban ${contest.options.length} conteos, hay ${row.length}`,
        `${where}: expected ${contest.options.length} counts, got ${row.length}`);
    }
    contest.options.forEach((option, i) => {
      if (!isCount(row[i])) {
        throw new ResultsError(`${where}/${option.id}: conteo no válido ${row[i]}`, `${where}/${option.id}: invalid count ${row[i]}`);
      }
    });
    return contestResult(manifest, entity, contest, row);
  });
}

function object(value, path, keys) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail(path, "se esperaba un objeto JSON", "expected a JSON object");
  for (const k of Object.keys(value)) if (!keys.includes(k)) fail(`${path}.${k}`, "clave desconocida", "unknown key");
  for (const k of keys) if (!Object.prototype.hasOwnProperty.call(value, k)) fail(`${path}.${k}`, "falta esta clave", "missing key");
  return value;
}

function list(value, path) {
  if (!Array.isArray(value)) fail(path, "se esperaba una lista", "expected a list");
  return value;
}

function nonEmptyString(value, path) {
  if (typeof value !== "string" || value === "") fail(path, "se esperaba una cadena no vacía", "expected a non-empty string");
  return value;
}

function count(value, path) {
  if (!isCount(value)) fail(path, "se esperaba un entero no negativo", "expected a non-negative integer");
  return value;
}

function pairs(value, path, key) {
  return list(value, path).map((item, i) => {
    const o = object(item, `${path}[${i}]`, [key, "votes"]);
    return [nonEmptyString(o[key], `${path}[${i}].${key}`), count(o.votes, `${path}[${i}].votes`)];
  });
}

/** The form of results.json written by record format 2: every count named by its option id. Version
 * 1 (still read) gave the counts by position ("option_counts"). */
export const RESULTS_VERSION = 2;

/**
 * Read results.json strictly against its manifest (Python's ElectionResults.from_json): shape, every
 * (entity, contest) known and listed once, the manifest's id and hash (manifestHashHex). `version` is
 * the record format version, which fixes the form of the counts: named "options" [{id, votes}] in the
 * manifest's order in 2, positional "option_counts" in 1; null accepts either.
 */
export function parseResults(manifest, manifestHashHex, obj, version = null) {
  const o = object(obj, "results", ["election_id", "manifest_hash", "contests"]);
  if (o.election_id !== manifest.electionId) {
    fail("results.election_id", "los resultados son de otra elección", "the results belong to another election");
  }
  if (typeof o.manifest_hash !== "string" || !/^[0-9a-f]{64}$/.test(o.manifest_hash)) {
    fail("results.manifest_hash", "se esperaban 64 dígitos hexadecimales en minúscula", "expected 64 lowercase hex digits");
  }
  if (o.manifest_hash !== manifestHashHex) {
    fail("results.manifest_hash", "los resultados son de otro manifiesto", "the results belong to another manifest");
  }
  const expected = new Map(expectedContests(manifest).map(([e, c]) => [`${e}\u0000${c.id}`, c]));
  const seen = new Set();
  return list(o.contests, "results.contests").map((item, i) => {
    const path = `results.contests[${i}]`;
    const form = version ?? (item !== null && typeof item === "object" && "option_counts" in item ? 1 : RESULTS_VERSION);
    const votesKey = form === 1 ? "option_counts" : "options";
    const r = object(item, path, ["entity", "contest_id", votesKey, "total", "candidate_totals", "party_distribution"]);
    const entity = nonEmptyString(r.entity, `${path}.entity`);
    const contestId = nonEmptyString(r.contest_id, `${path}.contest_id`);
    let optionCounts;
    if (form === 1) {
      optionCounts = list(r.option_counts, `${path}.option_counts`).map((c, j) => count(c, `${path}.option_counts[${j}]`));
    } else {
      const named = pairs(r.options, `${path}.options`, "id");
      const known = manifest.contests.find((c) => c.id === contestId);
      const ids = known ? known.options.map((o) => o.id) : null; // an unknown contest is named below
      if (ids !== null && (named.length !== ids.length || named.some(([id], j) => id !== ids[j]))) {
        fail(`${path}.options`, `se esperaban las opciones ${JSON.stringify(ids)}, en ese orden`,
          `expected the options ${JSON.stringify(ids)}, in that order`);
      }
      optionCounts = named.map(([, votes]) => votes);
    }
    const result = {
      entity, contestId, optionCounts, total: count(r.total, `${path}.total`),
      candidateTotals: pairs(r.candidate_totals, `${path}.candidate_totals`, "id"),
      partyDistribution: pairs(r.party_distribution, `${path}.party_distribution`, "party"),
    };
    const key = `${result.entity}\u0000${result.contestId}`;
    const contest = expected.get(key);
    if (contest === undefined) {
      fail(path, `${result.entity}/${result.contestId} no está en ningún estilo de boleta del manifiesto`,
        `${result.entity}/${result.contestId} is in no ballot style of the manifest`);
    }
    if (seen.has(key)) fail(path, `${result.entity}/${result.contestId} aparece dos veces`, `${result.entity}/${result.contestId} appears twice`);
    seen.add(key);
    if (optionCounts.length !== contest.options.length) {
      fail(`${path}.option_counts`, `se esperaban ${contest.options.length} conteos, hay ${optionCounts.length}`,
        `expected ${contest.options.length} counts, got ${optionCounts.length}`);
    }
    return result;
  });
}

/** Whether two lists of [key, votes] pairs are equal. */
export function samePairs(a, b) {
  return a.length === b.length && a.every(([k, v], i) => b[i][0] === k && b[i][1] === v);
}

/** The JSON of one contest result in results.json of record format `version` (Python's
 * ContestResult.to_json): version 2 names each option's votes by the option's id. */
export function contestResultJson(manifest, r, version = RESULTS_VERSION) {
  const votes = version === 1 ? { option_counts: [...r.optionCounts] }
    : { options: manifest.contest(r.contestId).options.map((o, i) => ({ id: o.id, votes: r.optionCounts[i] })) };
  return {
    entity: r.entity, contest_id: r.contestId, ...votes, total: r.total,
    candidate_totals: r.candidateTotals.map(([id, votes]) => ({ id, votes })),
    party_distribution: r.partyDistribution.map(([party, votes]) => ({ party, votes })),
  };
}
