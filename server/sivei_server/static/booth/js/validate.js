// The checks of one cast ballot, each failure with the verifier's check id and location (mirrors
// sivei/ballot/validate.py; docs/protocol.md §12.7).
//
// Python checks many ballots in one random-weight batch (§8.5) and bisects a failing batch, so its
// findings are exactly those of checking every equation alone — which is what this module does, one
// ballot at a time: the membership of every α and β (x^q = 1), then the style, the credential's
// Ed25519 signature, the shape, every 0/1 proof and every contest's sum proof.

import { contestStatement, selectionStatement, signatureMessage } from "./ballot.js";
import * as ed25519 from "./ed25519.js";
import { bi } from "./errors.js";
import { verifyChaumPedersen, verifyZeroOne } from "./proofs.js";

/** The location of a ballot's problems: "board.jsonl:7 (boleta XXXXX-…)" / "(ballot …)". */
export function ballotLocation(where, trackingCode) {
  return bi(`${where} (boleta ${trackingCode})`, `${where} (ballot ${trackingCode})`);
}

function suffix(location, text) {
  return bi(`${location.es}${text}`, `${location.en}${text}`);
}

/** The message of an element outside the order-q subgroup (Python's Group.not_member_message). */
export function notMemberMessage(path) {
  return bi(`${path}: el elemento no pertenece al subgrupo de orden q`, `${path}: element is not in the order-q subgroup`);
}

/**
 * Check one ballot parsed with EncryptedBallot.fromJson(…, {membership: false}).
 *   what: the ballot's JSON path ("board.jsonl:7.ballot"), for the path of an element out of the subgroup;
 *   location: {es, en} (ballotLocation); ballotHash: its hash (the board's payload hash).
 * Returns {notMember: {es, en} | null, problems: [{check, location: {es, en}, message: {es, en}}]}: when
 * an α or β is not in the subgroup, notMember names the first one and nothing else is reported (the
 * verifier reports it as board.encoding, as a parse with the one-element test would).
 * onProgress(done, total) is called after each option's proof (long ballots in the production group).
 * verifySignature(publicKey, message, signature): the Ed25519 check (default: ed25519.js, WebCrypto first).
 */
export async function checkBallot(ctx, ballot, { what, location, ballotHash, requireSignature = true, onProgress,
  verifySignature = ed25519.verify }) {
  const { group, key, electionHash: hE, manifest } = ctx;
  for (const [ci, contest] of ballot.contests.entries()) {
    for (const [oi, sel] of contest.selections.entries()) {
      for (const component of ["alpha", "beta"]) {
        if (!group.isElement(sel.ciphertext[component])) {
          return {
            notMember: notMemberMessage(`${what}.contests[${ci}].selections[${oi}].ciphertext.${component}`),
            problems: [],
          };
        }
      }
    }
  }
  const problems = [];
  const report = (check, where, es, en) => problems.push({ check, location: where, message: bi(es, en) });
  let styleContests;
  try {
    styleContests = manifest.styleContests(ballot.style);
  } catch {
    report("ballot.style.unknown", location, `el tipo de boleta '${ballot.style}' no existe en el manifiesto`,
      `ballot style '${ballot.style}' does not exist in the manifest`);
    return { notMember: null, problems };
  }
  if (requireSignature) {
    if (ballot.signature.length === 0) {
      report("ballot.signature", location, "la boleta no está firmada con su credencial",
        "the ballot is not signed with its credential");
    } else if (!(await verifySignature(ballot.credential, signatureMessage(hE, ballotHash), ballot.signature))) {
      report("ballot.signature", location, "la firma de la credencial no es válida", "the credential's signature is invalid");
    }
  }
  const indices = ballot.contests.map((c) => c.index);
  if (indices.length !== styleContests.length || indices.some((index, i) => index !== styleContests[i][0])) {
    report("ballot.shape", location, "las contiendas de la boleta no son exactamente las de su tipo, en orden",
      "the ballot's contests are not exactly those of its style, in order");
    return { notMember: null, problems };
  }
  const total = ballot.contests.reduce((n, c) => n + c.selections.length, 0);
  let done = 0;
  const gTable = key.gTable;
  const kTable = key.kTable;
  for (const [ci, encrypted] of ballot.contests.entries()) {
    const [index, contest] = styleContests[ci];
    const where = suffix(location, `, contienda ${contest.id}`);
    if (encrypted.selections.length !== contest.options.length) {
      report("ballot.shape", where, `se esperaban ${contest.options.length} opciones, hay ${encrypted.selections.length}`,
        `expected ${contest.options.length} options, got ${encrypted.selections.length}`);
      continue;
    }
    let totalAlpha = 1n;
    let totalBeta = 1n;
    for (const [oi, sel] of encrypted.selections.entries()) {
      const ok = await verifyZeroOne(key, sel.ciphertext, sel.proof,
        { context: hE, statement: selectionStatement(ballot.credential, index, oi) });
      if (!ok) {
        report("ballot.proof.zero-one", suffix(where, `, opción ${contest.options[oi].id}`),
          "la prueba de que la opción cifra 0 o 1 no es válida", "the proof that the option encrypts 0 or 1 is invalid");
      }
      totalAlpha = (totalAlpha * sel.ciphertext.alpha) % group.p;
      totalBeta = (totalBeta * sel.ciphertext.beta) % group.p;
      done += 1;
      if (onProgress) await onProgress(done, total);
    }
    const votes = contest.votesAllowed;
    // Y = B / g^V = B · g^{q−V} (g has order q): no inverse.
    const y = group.mul(totalBeta, gTable.pow(group.q - BigInt(votes)));
    const ok = await verifyChaumPedersen(group, encrypted.sumProof, key.element, totalAlpha, y,
      { context: hE, statement: contestStatement(ballot.credential, index, votes), powH: (e) => kTable.pow(e) });
    if (!ok) {
      report("ballot.proof.sum", where, `la prueba de que las opciones suman ${votes} no es válida`,
        `the proof that the options sum to ${votes} is invalid`);
    }
  }
  return { notMember: null, problems };
}
