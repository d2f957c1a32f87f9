// What the page says about a record as soon as it is loaded, before any check: the election, its
// group, how many ballots the board holds, and how long checking every ballot's proofs would take on
// this device (measured: one exponentiation in the record's group, times the ~7 per option a proof
// check costs). Nothing here is a check: everything is checked again by checker.js.

import { GROUPS, modPow } from "../../booth/js/group.js";
import { BOARD_FILES } from "./board-reader.js";
import { parseStrictJson } from "./json.js";

/** Exponentiations per option of a ballot check: α and β membership, four in the 0/1 proof, a share of the sum proof. */
export const EXPONENTIATIONS_PER_OPTION = 7;

async function readJson(files, name) {
  try {
    return files.has(name) ? parseStrictJson(await files.text(name), name) : null;
  } catch {
    return null;
  }
}

/** Milliseconds of one exponentiation with a 256-bit exponent in `group`, measured here. */
export function measureExponentiation(group, rounds = 3) {
  let base = group.g + 12345n;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) base = modPow(base, group.q - 1n - BigInt(i), group.p) + 1n;
  return (performance.now() - started) / rounds;
}

/**
 * {electionId, name, group, testGroup, ballots, boardBytes, optionsPerBallot, secondsPerBallot,
 * secondsAllProofs} — every field null when unknown (a damaged record is reported by the check).
 */
export async function recordSummary(files) {
  const header = await readJson(files, "record.json");
  const params = await readJson(files, "parameters.json");
  const manifest = await readJson(files, "manifest.json");
  const closing = await readJson(files, "acts/closing.json");
  const list = await readJson(files, "credential-list.json");
  const groupName = params && typeof params.name === "string" ? params.name : header && header.group;
  const group = typeof groupName === "string" && Object.prototype.hasOwnProperty.call(GROUPS, groupName) ? GROUPS[groupName] : null;
  const ballots = closing && closing.body && Number.isInteger(closing.body.cast) ? closing.body.cast : null;
  let optionsPerBallot = null;
  try {
    const contests = new Map(manifest.contests.map((c) => [c.id, c.options.length]));
    const perStyle = new Map(manifest.ballot_styles.map((s) => [s.id, s.contests.reduce((n, id) => n + contests.get(id), 0)]));
    const counts = list && list.body && list.body.counts ? list.body.counts : null;
    let total = 0;
    let weight = 0;
    for (const [style, options] of perStyle) {
      const w = counts && Number.isInteger(counts[style]) ? counts[style] : 1;
      total += w * options;
      weight += w;
    }
    optionsPerBallot = weight > 0 ? total / weight : null;
  } catch {
    optionsPerBallot = null;
  }
  const msPerExp = group ? measureExponentiation(group) : null;
  const secondsPerBallot = msPerExp !== null && optionsPerBallot !== null
    ? (optionsPerBallot * EXPONENTIATIONS_PER_OPTION * msPerExp) / 1000 : null;
  return {
    electionId: manifest && typeof manifest.election_id === "string" ? manifest.election_id : null,
    name: manifest && typeof manifest.name === "string" ? manifest.name : null,
    group: groupName || null,
    testGroup: groupName === "sivei-test-512",
    ballots,
    boardBytes: header && Object.prototype.hasOwnProperty.call(BOARD_FILES, header.version)
      ? files.size(BOARD_FILES[header.version]) : null,
    optionsPerBallot,
    secondsPerBallot,
    secondsAllProofs: secondsPerBallot !== null && ballots !== null ? secondsPerBallot * ballots : null,
  };
}
