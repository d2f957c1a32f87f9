// What every ballot operation needs about its election — manifest, joint key K, H_E — and the
// hashes that bind them (mirrors sivei/ballot/context.py and sivei/crypto/context.py).
//
// The booth receives its context from the voting server as JSON:
//   {"group": "eg2-baseline", "election_key": "<hex K>", "election_hash": "<64 hex H_E>",
//    "manifest": {…the manifest…}}
// The static verification page can instead rebuild it from the record's opening-time files
// (contextFromRecordFiles), recomputing H_B and H_E itself.

import { bigintToHex, bytesToHex, equalBytes } from "./bytes.js";
import { ElectionKey } from "./elgamal.js";
import { Encoder, canonicalJson, elementFromHex, elementToHex, hexToBytes, taggedHash } from "./encoding.js";
import { RecordError } from "./errors.js";
import { fingerprint } from "./fingerprint.js";
import { SCALAR_BYTES, groupByName } from "./group.js";
import { Manifest } from "./manifest.js";

export const TAG_BASE_HASH = "sivei/base-hash";
export const TAG_ELECTION_HASH = "sivei/election-hash";
export const TAG_ENVELOPE = "sivei/envelope";

export class ElectionContext {
  constructor(manifest, key, electionHash) {
    if (!(electionHash instanceof Uint8Array) || electionHash.length !== 32) {
      throw new TypeError("H_E must be 32 bytes");
    }
    this.manifest = manifest;
    this.key = key;
    this.electionHash = Uint8Array.from(electionHash);
    Object.freeze(this);
  }

  get group() {
    return this.key.group;
  }

  /** The election fingerprint people compare: the read-aloud form of H_E. */
  get electionFingerprint() {
    return fingerprint(this.electionHash);
  }

  /** Build the fixed-base tables of g and K now (instead of during the first encryption). */
  prepare() {
    this.key.prepare();
    return this;
  }

  toJson() {
    return {
      group: this.group.name,
      election_key: elementToHex(this.group, this.key.element),
      election_hash: bytesToHex(this.electionHash),
      manifest: this.manifest.toJson(),
    };
  }

  /**
   * The context from the server's JSON ({group, election_key, election_hash, manifest}).
   * K must be a subgroup element ≠ 1; the test group only with allowTestGroup.
   */
  static fromJson(obj, { allowTestGroup = false } = {}) {
    if (obj === null || typeof obj !== "object") throw new TypeError("context: expected an object");
    const group = groupByName(obj.group, { allowTestGroup });
    const k = elementFromHex(group, obj.election_key, "election_key", { nonidentity: true });
    const electionHash = hexToBytes(obj.election_hash, 32, "election_hash");
    const manifest = obj.manifest instanceof Manifest ? obj.manifest : Manifest.fromJson(obj.manifest);
    return new ElectionContext(manifest, new ElectionKey(group, k), electionHash);
  }
}

/** H_B = H("sivei/base-hash", group fingerprint ‖ manifest hash). */
export async function baseHash(group, manifestHash) {
  const data = new Encoder().fixed(await group.fingerprint(), 32).fixed(manifestHash, 32).toBytes();
  return taggedHash(TAG_BASE_HASH, data);
}

/** H_E = H("sivei/election-hash", H_B ‖ K ‖ u32(n) ‖ elements(C_j) for each guardian ‖ list hash). */
export async function electionHash(group, hB, jointKey, commitments, credentialListHash) {
  const enc = new Encoder(group).fixed(hB, 32).element(jointKey).u32(commitments.length);
  for (const row of commitments) enc.elements(row);
  enc.fixed(credentialListHash, 32);
  return taggedHash(TAG_ELECTION_HASH, enc.toBytes());
}

/** An envelope's content hash (what is signed; protocol section 9.1). */
export async function envelopeContentHash(env) {
  const data = new Encoder().string(env.type).string(env.election_id).string(env.ceremony_id)
    .u32(env.round).string(env.sender).fixed(hexToBytes(env.previous, 32, "previous"), 32)
    .blob(canonicalJson(env.body)).toBytes();
  return taggedHash(TAG_ENVELOPE, data);
}

function recordFail(es, en) {
  throw new RecordError(es, en);
}

/**
 * Rebuild the context from the record's opening-time files (parsed JSON): parameters.json,
 * manifest.json, ceremony.json and credential-list.json. It checks the group constants byte for
 * byte, takes each guardian's commitments from round 1 (K = Π C_{j,0}, which must equal every
 * round-4 joint_key) and recomputes H_B and H_E.
 *
 * It does NOT re-verify the ceremony's or the credential authority's signatures and proofs, nor
 * the credential entries (`sivei verificar` and `sivei impugnada` do): what it returns is only as
 * good as the election fingerprint the voter compares it with, which binds all of these files.
 */
export async function contextFromRecordFiles({ parameters, manifest, ceremony, credentialList },
  { allowTestGroup = false } = {}) {
  const group = groupByName(parameters && parameters.name, { allowTestGroup });
  const width = group.elementBytes;
  const expected = {
    name: group.name, p: bigintToHex(group.p, width), q: bigintToHex(group.q, SCALAR_BYTES),
    g: bigintToHex(group.g, width),
  };
  const keys = Object.keys(parameters).sort();
  if (keys.join(",") !== "g,name,p,q" || keys.some((k) => parameters[k] !== expected[k])) {
    recordFail("parameters.json: no son los parámetros de un grupo conocido",
      "parameters.json: not the parameters of a known group");
  }
  const m = manifest instanceof Manifest ? manifest : Manifest.fromJson(manifest);
  const hB = await baseHash(group, await m.hash());

  if (!ceremony || !Array.isArray(ceremony.rounds) || !Number.isInteger(ceremony.n) || !Number.isInteger(ceremony.t)
    || !(ceremony.t >= 1 && ceremony.t <= ceremony.n && ceremony.n <= 255) || ceremony.rounds.length !== 5) {
    recordFail("ceremony.json: formato no válido", "ceremony.json: invalid format");
  }
  const { n, t } = ceremony;
  const commitments = new Array(n).fill(null);
  for (const env of ceremony.rounds[1]) {
    const match = /^guardian-([1-9][0-9]*)$/.exec(env && env.sender);
    const j = match ? Number(match[1]) : 0;
    if (!(j >= 1 && j <= n) || commitments[j - 1] !== null || env.type !== "dkg-commitments" || env.round !== 1
      || !env.body || !Array.isArray(env.body.commitments) || env.body.commitments.length !== t) {
      recordFail("ceremony.json: compromisos de la ronda 1 no válidos", "ceremony.json: invalid round-1 commitments");
    }
    commitments[j - 1] = env.body.commitments.map((hex, k) =>
      elementFromHex(group, hex, `ceremony.json: C_${j},${k}`, { nonidentity: true }));
  }
  if (commitments.some((row) => row === null)) {
    recordFail("ceremony.json: faltan compromisos de algún custodio", "ceremony.json: a guardian's commitments are missing");
  }
  const jointKey = group.mul(...commitments.map((row) => row[0]));
  for (const env of ceremony.rounds[4]) {
    if (!env || !env.body || env.body.joint_key !== elementToHex(group, jointKey)) {
      recordFail("ceremony.json: la llave conjunta de la ronda 4 no es el producto de los compromisos",
        "ceremony.json: the round-4 joint key is not the product of the commitments");
    }
  }
  const listHash = await envelopeContentHash(credentialList);
  if (credentialList.type !== "credential-list" || credentialList.election_id !== m.electionId
    || !equalBytes(hexToBytes(credentialList.previous, 32, "previous"), await m.hash())) {
    recordFail("credential-list.json: no es la lista de credenciales de esta elección",
      "credential-list.json: not this election's credential list");
  }
  const hE = await electionHash(group, hB, jointKey, commitments, listHash);
  return new ElectionContext(m, new ElectionKey(group, jointKey), hE);
}
