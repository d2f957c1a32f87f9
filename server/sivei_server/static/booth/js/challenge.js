// Benaloh cast-or-challenge (mirrors sivei/ballot/challenge.py; docs/protocol.md section 13).
//
// A challenged ballot reveals its choices and its ballot nonce; anyone rebuilds it from
// (style, choices, public credential, nonce) and compares the encodings byte for byte. It is never
// signed (so it can never be cast) and never sent to the server: it carries the voter's public
// credential and usually their real choices.

import { bytesToHex, equalBytes } from "./bytes.js";
import { BALLOT_NONCE_BYTES, EncryptedBallot, encryptBallot } from "./ballot.js";
import { hexToBytes } from "./encoding.js";
import { EncodingError, SiveiError, problem, tr } from "./errors.js";
import { matchesFingerprint } from "./fingerprint.js";

const KEYS = ["election_hash", "tracking_code", "ballot", "choices", "ballot_nonce"];

export class ChallengedBallot {
  /** statedTrackingCode: the code the file states (checked, never trusted); null when made here. */
  constructor(ballot, choices, ballotNonce, statedTrackingCode = null) {
    this.ballot = ballot;
    this.choices = { ...choices };
    this.ballotNonce = Uint8Array.from(ballotNonce);
    this.statedTrackingCode = statedTrackingCode;
    Object.freeze(this);
  }

  /** The challenged-ballot file (Python's ChallengedBallot.to_json), ballot unsigned. */
  async toJson(ctx) {
    return {
      election_hash: bytesToHex(ctx.electionHash),
      tracking_code: await this.ballot.trackingCode(ctx),
      ballot: this.ballot.toJson(ctx.group),
      choices: { ...this.choices },
      ballot_nonce: bytesToHex(this.ballotNonce),
    };
  }

  static fromJson(ctx, obj) {
    const ok = obj !== null && typeof obj === "object" && !Array.isArray(obj)
      && Object.keys(obj).length === KEYS.length && KEYS.every((k) => Object.prototype.hasOwnProperty.call(obj, k));
    if (!ok) {
      const sorted = [...KEYS].sort().map((k) => `'${k}'`).join(", ");
      throw new EncodingError(`boleta impugnada: se esperaban los campos [${sorted}]`,
        `challenged ballot: expected the fields [${sorted}]`);
    }
    if (!equalBytes(hexToBytes(obj.election_hash, 32, "election_hash"), ctx.electionHash)) {
      throw new EncodingError("la boleta impugnada es de otra elección", "the challenged ballot belongs to another election");
    }
    const choices = obj.choices;
    if (choices === null || typeof choices !== "object" || Array.isArray(choices)
      || !Object.entries(choices).every(([, v]) => typeof v === "string")) {
      throw new EncodingError("choices: se esperaba un objeto contienda → opción", "choices: expected an object contest → option");
    }
    if (typeof obj.tracking_code !== "string") {
      throw new EncodingError("tracking_code: se esperaba texto", "tracking_code: expected text");
    }
    return new ChallengedBallot(
      EncryptedBallot.fromJson(ctx.group, obj.ballot),
      choices,
      hexToBytes(obj.ballot_nonce, BALLOT_NONCE_BYTES, "ballot_nonce"),
      obj.tracking_code,
    );
  }
}

/** The challenged-ballot JSON for an (unsigned) ballot, its choices and its nonce. */
export async function challengeReveal(ctx, ballot, choices, ballotNonce) {
  if (ballot.signature.length !== 0) {
    throw new SiveiError("una boleta firmada no se puede impugnar", "a signed ballot cannot be challenged");
  }
  return new ChallengedBallot(ballot, choices, ballotNonce).toJson(ctx);
}

/**
 * Rebuild the ballot from its revealed choices and nonce. Returns {trackingCode (recomputed from
 * the file's ballot), problems: [{check, location, message}]}; no problems means the device
 * encrypted exactly the revealed choices. Checks: challenge.signed, challenge.tracking-code,
 * challenge.choices, challenge.mismatch (as the Python checker).
 */
export async function checkChallenge(ctx, challenged) {
  const c = challenged instanceof ChallengedBallot ? challenged : ChallengedBallot.fromJson(ctx, challenged);
  const ballotHash = await c.ballot.ballotHash(ctx);
  const trackingCode = await c.ballot.trackingCode(ctx);
  const where = tr(`boleta impugnada ${trackingCode}`, `challenged ballot ${trackingCode}`);
  const problems = [];
  if (c.ballot.signature.length !== 0) {
    problems.push(problem("challenge.signed", where,
      "una boleta impugnada no debe estar firmada (podría haberse depositado)",
      "a challenged ballot must not be signed (it could have been cast)"));
  }
  const stated = c.statedTrackingCode;
  if (stated !== null && !matchesFingerprint(stated, ballotHash)) {
    problems.push(problem("challenge.tracking-code", where,
      `el código de seguimiento del archivo (${stated}) no es el de la boleta: compare con el que ` +
        "le mostró su dispositivo",
      `the file's tracking code (${stated}) is not the ballot's: compare with the one your device showed`));
  }
  let rebuilt;
  try {
    rebuilt = await encryptBallot(ctx, c.ballot.style, c.choices, c.ballot.credential, c.ballotNonce);
  } catch (err) {
    if (!(err instanceof SiveiError)) throw err;
    problems.push({ check: "challenge.choices", location: where, message: err.message });
    return { trackingCode, problems };
  }
  if (!equalBytes(rebuilt.encode(ctx.group), c.ballot.encode(ctx.group))) {
    problems.push(problem("challenge.mismatch", where,
      "el cifrado NO corresponde a las opciones reveladas: el dispositivo que cifró no es confiable",
      "the encryption does NOT match the revealed choices: the encrypting device is not trustworthy"));
  }
  return { trackingCode, problems };
}
