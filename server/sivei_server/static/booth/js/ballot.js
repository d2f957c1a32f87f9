// Encrypted ballots: nonces derived from one ballot nonce, encryption and proofs, the canonical
// encoding, ballot hash and tracking code, and the credential's signature (mirrors
// sivei/ballot/encrypt.py; docs/protocol.md section 12).
//
// Every nonce is H("sivei/nonce", H_E ‖ N ‖ u32(contest) ‖ u32(option) ‖ string(purpose)) mod q, so
// revealing the 32-byte ballot nonce N (a challenge) lets anyone rebuild the ballot byte for byte.

import { bytesToHex, randomBytes } from "./bytes.js";
import * as ed25519 from "./ed25519.js";
import { Ciphertext, isObjectWithKeys } from "./elgamal.js";
import { Encoder, hashToScalar, hexToBytes, taggedHash } from "./encoding.js";
import { BallotError, EncodingError } from "./errors.js";
import { fingerprint } from "./fingerprint.js";
import { ChaumPedersenProof, ZeroOneProof, proveChaumPedersen, proveZeroOne } from "./proofs.js";

export const TAG_NONCE = "sivei/nonce";
export const TAG_BALLOT = "sivei/ballot";
export const TAG_BALLOT_SIGNATURE = "sivei/ballot-signature";
export const BALLOT_NONCE_BYTES = 32;

export const PURPOSE_ENCRYPT = "encrypt";
export const PURPOSE_REAL_COMMIT = "zero-one/real-commitment";
export const PURPOSE_FAKE_CHALLENGE = "zero-one/fake-challenge";
export const PURPOSE_FAKE_COMMIT = "zero-one/fake-commitment";
export const PURPOSE_SUM_COMMIT = "sum/commitment";
/** Option index used for contest-level values (the sum proof's nonce). */
export const CONTEST_LEVEL = 0xffffffff;

/** The input hashed (after the tag) to derive one nonce. */
export function nonceInput(electionHash, ballotNonce, contest, option, purpose) {
  return new Encoder().fixed(electionHash, 32).fixed(ballotNonce, BALLOT_NONCE_BYTES).u32(contest)
    .u32(option).string(purpose).toBytes();
}

export async function deriveNonce(group, electionHash, ballotNonce, contest, option, purpose) {
  return hashToScalar(group, TAG_NONCE, nonceInput(electionHash, ballotNonce, contest, option, purpose));
}

/** Binding of a 0/1 proof: the ballot's public credential, contest and option index. */
export function selectionStatement(credential, contest, option) {
  return new Encoder().fixed(credential, 32).u32(contest).u32(option).toBytes();
}

/** Binding of a contest's sum proof: credential, contest index and the claimed sum. */
export function contestStatement(credential, contest, votesAllowed) {
  return new Encoder().fixed(credential, 32).u32(contest).u32(votesAllowed).toBytes();
}

function fields(obj, keys, what) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new EncodingError(`${what}: se esperaba un objeto JSON`, `${what}: expected a JSON object`);
  }
  if (!isObjectWithKeys(obj, keys)) {
    const missing = keys.filter((k) => !Object.prototype.hasOwnProperty.call(obj, k)).sort();
    const extra = Object.keys(obj).filter((k) => !keys.includes(k)).sort();
    throw new EncodingError(`${what}: campos faltantes [${missing}], sobrantes [${extra}]`,
      `${what}: missing fields [${missing}], unexpected [${extra}]`);
  }
  return obj;
}

/** A ballot as the booth produces it; `signature` is empty until the voter casts it. */
export class EncryptedBallot {
  /**
   * contests: [{index, selections: [{ciphertext: Ciphertext, proof: ZeroOneProof}], sumProof}].
   */
  constructor(style, credential, contests, signature = new Uint8Array(0)) {
    this.style = style;
    this.credential = Uint8Array.from(credential);
    this.contests = contests;
    this.signature = Uint8Array.from(signature);
    Object.freeze(this);
  }

  /** Canonical encoding of everything but the signature (protocol 12.4). */
  encode(group) {
    const enc = new Encoder(group).string(this.style).fixed(this.credential, ed25519.PUBLIC_KEY_BYTES);
    enc.u32(this.contests.length);
    for (const contest of this.contests) {
      enc.u32(contest.index).u32(contest.selections.length);
      for (const sel of contest.selections) {
        const p = sel.proof;
        sel.ciphertext.encode(enc);
        enc.element(p.a0).element(p.b0).element(p.a1).element(p.b1);
        enc.scalar(p.c0).scalar(p.c1).scalar(p.v0).scalar(p.v1);
      }
      const sp = contest.sumProof;
      enc.element(sp.commitmentG).element(sp.commitmentH).scalar(sp.response);
    }
    return enc.toBytes();
  }

  /** H("sivei/ballot", H_E ‖ encode(ballot)): 32 bytes. */
  async ballotHash(ctx) {
    return taggedHash(TAG_BALLOT, new Encoder().fixed(ctx.electionHash, 32).raw(this.encode(ctx.group)).toBytes());
  }

  async trackingCode(ctx) {
    return fingerprint(await this.ballotHash(ctx));
  }

  withSignature(signature) {
    return new EncryptedBallot(this.style, this.credential, this.contests, signature);
  }

  /** The JSON object of protocol 12.6, in the key order of Python's EncryptedBallot.to_json. */
  toJson(group) {
    return {
      style: this.style,
      credential: bytesToHex(this.credential),
      contests: this.contests.map((c) => ({
        index: c.index,
        selections: c.selections.map((s) => ({ ciphertext: s.ciphertext.toJson(group), proof: s.proof.toJson(group) })),
        sum_proof: c.sumProof.toJson(group),
      })),
      signature: bytesToHex(this.signature),
    };
  }

  /**
   * Strict parse: exact fields, canonical hex, α and β in the subgroup — or, with membership: false,
   * only in [1, p) (a verifier establishes their membership before it uses them).
   */
  static fromJson(group, obj, what = "ballot", { membership = true } = {}) {
    const d = fields(obj, ["style", "credential", "contests", "signature"], what);
    if (typeof d.style !== "string") throw new EncodingError(`${what}.style: se esperaba texto`, `${what}.style: expected text`);
    const credential = hexToBytes(d.credential, ed25519.PUBLIC_KEY_BYTES, `${what}.credential`);
    const signature = d.signature === "" ? new Uint8Array(0)
      : hexToBytes(d.signature, ed25519.SIGNATURE_BYTES, `${what}.signature`);
    if (!Array.isArray(d.contests)) {
      throw new EncodingError(`${what}.contests: se esperaba una lista`, `${what}.contests: expected a list`);
    }
    const contests = d.contests.map((craw, ci) => {
      const cw = `${what}.contests[${ci}]`;
      const cd = fields(craw, ["index", "selections", "sum_proof"], cw);
      if (!Number.isInteger(cd.index) || cd.index < 0 || cd.index >= 2 ** 32) {
        throw new EncodingError(`${cw}.index: entero no válido`, `${cw}.index: invalid integer`);
      }
      if (!Array.isArray(cd.selections)) {
        throw new EncodingError(`${cw}.selections: se esperaba una lista`, `${cw}.selections: expected a list`);
      }
      const selections = cd.selections.map((sraw, si) => {
        const sw = `${cw}.selections[${si}]`;
        const sd = fields(sraw, ["ciphertext", "proof"], sw);
        return Object.freeze({
          ciphertext: Ciphertext.fromJson(group, sd.ciphertext, `${sw}.ciphertext`, { membership }),
          proof: ZeroOneProof.fromJson(group, sd.proof, `${sw}.proof`),
        });
      });
      return Object.freeze({
        index: cd.index,
        selections: Object.freeze(selections),
        sumProof: ChaumPedersenProof.fromJson(group, cd.sum_proof, `${cw}.sum_proof`),
      });
    });
    return new EncryptedBallot(d.style, credential, Object.freeze(contests), signature);
  }
}

/**
 * Read a ballot's canonical encoding (protocol 12.4, without the signature) from a Decoder, as
 * Python's decode_unchecked_ballot: every element in [1, p) and scalar in [0, q), α and β NOT yet
 * tested for membership (as fromJson with membership: false). Error paths are the JSON form's
 * (".contests[0].selections[1].ciphertext.alpha"), so a problem is named alike in both boards.
 */
export function decodeBallot(group, dec) {
  const style = dec.string(".style");
  const credential = dec.fixed(ed25519.PUBLIC_KEY_BYTES, ".credential");
  const contests = [];
  for (let ci = 0, n = dec.u32(".contests"); ci < n; ci++) {
    const cw = `.contests[${ci}]`;
    const index = dec.u32(`${cw}.index`);
    const selections = [];
    for (let si = 0, m = dec.u32(`${cw}.selections`); si < m; si++) {
      const sw = `${cw}.selections[${si}]`;
      const ciphertext = new Ciphertext(dec.element(`${sw}.ciphertext.alpha`), dec.element(`${sw}.ciphertext.beta`));
      const [a0, b0, a1, b1] = ["a0", "b0", "a1", "b1"].map((k) => dec.element(`${sw}.proof.${k}`));
      const [c0, c1, v0, v1] = ["c0", "c1", "v0", "v1"].map((k) => dec.scalar(`${sw}.proof.${k}`));
      selections.push(Object.freeze({ ciphertext, proof: new ZeroOneProof(a0, b0, a1, b1, c0, c1, v0, v1) }));
    }
    const sumProof = new ChaumPedersenProof(dec.element(`${cw}.sum_proof.commitment_g`),
      dec.element(`${cw}.sum_proof.commitment_h`), dec.scalar(`${cw}.sum_proof.response`));
    contests.push(Object.freeze({ index, selections: Object.freeze(selections), sumProof }));
  }
  return new EncryptedBallot(style, credential, Object.freeze(contests));
}

/** What the credential signs: string("sivei/ballot-signature") ‖ H_E ‖ ballot hash (90 bytes). */
export function signatureMessage(electionHash, ballotHash) {
  return new Encoder().string(TAG_BALLOT_SIGNATURE).fixed(electionHash, 32).fixed(ballotHash, 32).toBytes();
}

export function newBallotNonce() {
  return randomBytes(BALLOT_NONCE_BYTES);
}

/**
 * Map {contest id: option id} to [contest index, option index] over the style's contests.
 * A contest left unmarked is encoded as its "voto nulo" option (as the review screen shows).
 */
export function resolveChoices(ctx, style, choices) {
  if (choices === null || typeof choices !== "object" || Array.isArray(choices)) {
    throw new BallotError("las opciones deben ser un objeto contienda → opción",
      "choices must be an object contest → option");
  }
  const styleContests = ctx.manifest.styleContests(style);
  const known = new Set(styleContests.map(([, c]) => c.id));
  for (const cid of Object.keys(choices)) {
    if (!known.has(cid)) {
      throw new BallotError(`la contienda «${cid}» no pertenece al tipo de boleta ${style}`,
        `contest «${cid}» is not on ballot style ${style}`);
    }
  }
  return styleContests.map(([index, contest]) => {
    const has = Object.prototype.hasOwnProperty.call(choices, contest.id);
    return [index, has ? contest.optionIndex(choices[contest.id]) : contest.nullOptionIndex];
  });
}

/**
 * Encrypt one choice per contest of `style` (unsigned: sign it to cast, or challenge it).
 * credential: the 32-byte public credential; ballotNonce: 32 bytes (newBallotNonce()).
 */
export async function encryptBallot(ctx, style, choices, credential, ballotNonce) {
  if (!(ballotNonce instanceof Uint8Array) || ballotNonce.length !== BALLOT_NONCE_BYTES) {
    throw new BallotError("el nonce de la boleta debe tener 32 bytes", "the ballot nonce must be 32 bytes");
  }
  if (!(credential instanceof Uint8Array) || credential.length !== ed25519.PUBLIC_KEY_BYTES) {
    throw new BallotError("la credencial pública debe tener 32 bytes", "the public credential must be 32 bytes");
  }
  const { group, key, electionHash: hE } = ctx;
  const q = group.q;
  const contests = [];
  for (const [index, chosen] of resolveChoices(ctx, style, choices)) {
    const contest = ctx.manifest.contests[index];
    const count = contest.options.length;
    // All of the contest's nonces at once (independent hashes).
    const purposes = [PURPOSE_ENCRYPT, PURPOSE_REAL_COMMIT, PURPOSE_FAKE_CHALLENGE, PURPOSE_FAKE_COMMIT];
    const pending = [];
    for (let oi = 0; oi < count; oi++) {
      for (const purpose of purposes) pending.push(deriveNonce(group, hE, ballotNonce, index, oi, purpose));
    }
    pending.push(deriveNonce(group, hE, ballotNonce, index, CONTEST_LEVEL, PURPOSE_SUM_COMMIT));
    const nonces = await Promise.all(pending);

    const selections = [];
    let totalNonce = 0n;
    let totalAlpha = 1n;
    let totalBeta = 1n;
    for (let oi = 0; oi < count; oi++) {
      const m = oi === chosen ? 1 : 0;
      const [xi, u, ck, uk] = nonces.slice(4 * oi, 4 * oi + 4);
      const ct = key.encrypt(m, xi);
      const proof = await proveZeroOne(key, ct, m, xi,
        { realCommitment: u, fakeChallenge: ck, fakeCommitment: uk },
        { context: hE, statement: selectionStatement(credential, index, oi) });
      selections.push(Object.freeze({ ciphertext: ct, proof }));
      totalNonce = (totalNonce + xi) % q;
      totalAlpha = (totalAlpha * ct.alpha) % group.p;
      totalBeta = (totalBeta * ct.beta) % group.p;
    }
    const votes = contest.votesAllowed;
    const gTable = key.gTable;
    const kTable = key.kTable;
    // Y = B / g^V = B · g^{q−V} (g has order q).
    const y = group.mul(totalBeta, gTable.pow(q - BigInt(votes)));
    const sumProof = await proveChaumPedersen(group, totalNonce, key.element, totalAlpha, y, {
      context: hE,
      statement: contestStatement(credential, index, votes),
      nonce: nonces[4 * count],
      powG: (e) => gTable.pow(e),
      powH: (e) => kTable.pow(e),
    });
    contests.push(Object.freeze({ index, selections: Object.freeze(selections), sumProof }));
  }
  return new EncryptedBallot(style, credential, Object.freeze(contests));
}

/** The signature of a ballot hash by a credential seed (for a page that signs in its own thread). */
export async function signBallotHash(electionHash, ballotHash, credentialSeed) {
  return ed25519.sign(credentialSeed, signatureMessage(electionHash, ballotHash));
}

/** Cast: sign the ballot hash with the credential's Ed25519 key (the seed must match the ballot). */
export async function signBallot(ctx, ballot, credentialSeed) {
  const publicKey = await ed25519.publicKeyFromSeed(credentialSeed);
  if (bytesToHex(publicKey) !== bytesToHex(ballot.credential)) {
    throw new BallotError("la credencial no corresponde a la boleta", "the credential does not match the ballot");
  }
  const signature = await signBallotHash(ctx.electionHash, await ballot.ballotHash(ctx), credentialSeed);
  return ballot.withSignature(signature);
}
