// The key-ceremony transcript (ceremony.json) and its public check (mirrors
// sivei/record/ceremony_io.py and check_transcript in sivei/crypto/dkg.py; docs/protocol.md §10).
//
// Every envelope of the five rounds is checked in order: sender, duplicates, order, election,
// ceremony, round and type, body, the announced signing key, the ECDSA signature, the chain of
// `previous` bundle hashes, Schnorr proofs, and K_i and K against the commitments; each problem has
// the code of §10.3 and names the round and guardian. One difference, stated: a complaint is judged
// here only when it is a "bad-share" complaint (public data: the dealer's signature and the
// commitments); a "bad-box" complaint needs the sealed box opened (X25519 + XSalsa20-Poly1305) and is
// reported as "complaint" without naming the culprit — any complaint means the ceremony aborted.

import { bytesToHex, equalBytes } from "./bytes.js";
import { envelopeContentHash } from "./context.js";
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, isValidPublicKey, verifyDigest } from "./ecdsa.js";
import { Encoder, canonicalJson, elementFromHex, hexToBytes, scalarFromHex, taggedHash } from "./encoding.js";
import { EncodingError, SiveiError, bi, errorText } from "./errors.js";
import { SchnorrProof, verifySchnorr } from "./proofs.js";

export const ROUND_TYPES = Object.freeze(["dkg-announce", "dkg-commitments", "dkg-shares", "dkg-verification",
  "dkg-finalize"]);
export const NUM_ROUNDS = ROUND_TYPES.length;
export const TAG_BUNDLE = "sivei/bundle";
export const TAG_TRANSCRIPT = "sivei/transcript";
export const TAG_SHARE = "sivei/dkg-share";
const TRANSPORT_KEY_BYTES = 32;
const BOX_BYTES = 144;
const SENDER = /^guardian-([1-9][0-9]{0,9})$/;
const ENVELOPE_FIELDS = ["type", "election_id", "ceremony_id", "round", "sender", "previous", "body", "signature"];

/** The X25519 public keys whose shared secret with any scalar is zero (libsodium refuses them): the
 * seven small-order u-coordinates, compared with bit 255 cleared (tests/test_js.py checks the table
 * against libsodium). */
const LOW_ORDER_X25519 = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

export function isLowOrderX25519(publicKey) {
  const masked = Uint8Array.from(publicKey);
  masked[31] &= 0x7f;
  return LOW_ORDER_X25519.includes(bytesToHex(masked));
}

function sortedFields(keys) {
  return `[${[...keys].sort().map((k) => `'${k}'`).join(", ")}]`;
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function checkFields(obj, keys, what) {
  if (!isPlainObject(obj) || Object.keys(obj).length !== keys.length
    || !keys.every((k) => Object.prototype.hasOwnProperty.call(obj, k))) {
    throw new EncodingError(`${what}: se esperaban exactamente los campos ${sortedFields(keys)}`,
      `${what}: expected exactly the fields ${sortedFields(keys)}`);
  }
  return obj;
}

/** Strict parse of a signed envelope (Python's Envelope.from_json); previous and signature as bytes. */
export function parseEnvelope(obj, what = "envelope") {
  checkFields(obj, ENVELOPE_FIELDS, what);
  for (const key of ["type", "election_id", "ceremony_id", "sender"]) {
    if (typeof obj[key] !== "string") {
      throw new EncodingError(`${what}.${key}: se esperaba texto`, `${what}.${key}: expected a string`);
    }
  }
  if (!Number.isInteger(obj.round) || obj.round < 0 || obj.round >= 2 ** 32) {
    throw new EncodingError(`${what}.round: entero no válido`, `${what}.round: invalid integer`);
  }
  if (!isPlainObject(obj.body)) {
    throw new EncodingError(`${what}.body: se esperaba un objeto`, `${what}.body: expected an object`);
  }
  canonicalJson(obj.body);
  return Object.freeze({
    type: obj.type, electionId: obj.election_id, ceremonyId: obj.ceremony_id, round: obj.round, sender: obj.sender,
    previous: hexToBytes(obj.previous, 32, `${what}.previous`), body: obj.body,
    signature: hexToBytes(obj.signature, SIGNATURE_BYTES, `${what}.signature`), json: obj,
  });
}

/** An envelope's content hash (what is signed; §9.1). */
export function contentHash(env) {
  return envelopeContentHash(env.json);
}

/** H("sivei/bundle", election ‖ ceremony ‖ round ‖ count ‖ content hashes). */
export async function bundleHash(electionId, ceremonyId, round, envelopes) {
  const enc = new Encoder().string(electionId).string(ceremonyId).u32(round).u32(envelopes.length);
  for (const env of envelopes) enc.fixed(await contentHash(env), 32);
  return taggedHash(TAG_BUNDLE, enc.toBytes());
}

/** H("sivei/transcript", election ‖ ceremony ‖ u32(rounds) ‖ each round's bundle hash): what the opening act names. */
export async function transcriptHash(electionId, ceremonyId, rounds) {
  const enc = new Encoder().string(electionId).string(ceremonyId).u32(rounds.length);
  for (const [r, bundle] of rounds.entries()) enc.fixed(await bundleHash(electionId, ceremonyId, r, bundle), 32);
  return taggedHash(TAG_TRANSCRIPT, enc.toBytes());
}

/** ceremony.json → {ceremonyId, n, t, rounds: [[envelope]]} (Python's parse_ceremony). */
export function parseCeremony(data) {
  if (!isPlainObject(data) || Object.keys(data).length !== 4
    || !["ceremony_id", "n", "t", "rounds"].every((k) => Object.prototype.hasOwnProperty.call(data, k))) {
    throw new SiveiError("ceremony.json: se esperaban los campos ceremony_id, n, t, rounds",
      "ceremony.json: expected the fields ceremony_id, n, t, rounds");
  }
  const { ceremony_id: ceremonyId, n, t, rounds } = data;
  if (typeof ceremonyId !== "string" || !Number.isInteger(n) || !Number.isInteger(t) || !(t >= 1 && t <= n && n <= 255)) {
    throw new SiveiError("ceremony.json: ceremony_id, n o t no válidos", "ceremony.json: invalid ceremony_id, n or t");
  }
  if (!Array.isArray(rounds) || !rounds.every((r) => Array.isArray(r))) {
    throw new SiveiError("ceremony.json: rounds debe ser una lista de listas", "ceremony.json: rounds must be a list of lists");
  }
  return { ceremonyId, n, t, rounds: rounds.map((bundle, r) => bundle.map((env, i) => parseEnvelope(env, `rounds[${r}][${i}]`))) };
}

export function commitmentStatement(dealer, k) {
  return new Encoder().u32(dealer).u32(k).toBytes();
}

export function guardianKeyStatement(index) {
  return new Encoder().u32(index).toBytes();
}

/** Π_k C_k^{(i^k mod q)}: what g^{P(i)} must equal. */
export function expectedShareImage(group, commitments, recipient) {
  let acc = 1n;
  let power = 1n;
  for (const c of commitments) {
    acc = (acc * group.pow(c, power)) % group.p;
    power = (power * BigInt(recipient)) % group.q;
  }
  return acc;
}

/** What a dealer signs for each share: H("sivei/dkg-share", H_B ‖ ceremony ‖ dealer ‖ recipient ‖ share). */
export async function shareDigest(group, hB, ceremonyId, dealer, recipient, share) {
  return taggedHash(TAG_SHARE, new Encoder(group).fixed(hB, 32).string(ceremonyId).u32(dealer).u32(recipient)
    .scalar(share).toBytes());
}

class ProofFailed extends SiveiError {}
class Unverifiable extends SiveiError {}

/**
 * Every publicly checkable failure of a transcript, and its outcome when there is none:
 * {problems: [{round, guardian, code, message: {es, en}}], outcome: {jointKey, commitments,
 * guardianKeys, signingKeys} | null}.
 */
export async function checkTranscript(group, electionId, ceremonyId, hB, n, t, rounds) {
  const view = { previous: hB, signingKeys: new Map(), transportKeys: new Map(), commitments: new Map(),
    guardianKeys: new Map(), jointKey: null, aggregate: null };
  const problems = [];
  const problem = (rnd, j, code, text) => {
    const rtype = rnd >= 0 && rnd < NUM_ROUNDS ? ROUND_TYPES[rnd] : "?";
    const who = j === null ? bi("remitente desconocido", "unknown sender") : bi(`custodio ${j}`, `guardian ${j}`);
    problems.push({ round: rnd, guardian: j, code, message: bi(
      `ceremonia abortada: ronda ${rnd} («${rtype}»), ${who.es}: ${text.es}`,
      `ceremony aborted: round ${rnd} («${rtype}»), ${who.en}: ${text.en}`) });
  };
  const aggregate = () => {
    if (view.commitments.size !== n) return null;
    if (view.aggregate === null) {
      view.aggregate = [];
      for (let k = 0; k < t; k++) {
        let acc = 1n;
        for (let j = 1; j <= n; j++) acc = (acc * view.commitments.get(j)[k]) % group.p;
        view.aggregate.push(acc);
      }
    }
    return view.aggregate;
  };

  const parsers = [
    (j, body) => {
      const d = checkFields(body, ["signing_key", "transport_key"], "body");
      const signing = hexToBytes(d.signing_key, PUBLIC_KEY_BYTES, "signing_key");
      if (!isValidPublicKey(signing)) {
        throw new EncodingError("signing_key: el punto no está en la curva P-256", "signing_key: point is not on the P-256 curve");
      }
      const transport = hexToBytes(d.transport_key, TRANSPORT_KEY_BYTES, "transport_key");
      if (isLowOrderX25519(transport)) {
        throw new EncodingError("transport_key: punto X25519 de orden pequeño", "transport_key: X25519 point of small order");
      }
      return [signing, transport];
    },
    async (j, body) => {
      const d = checkFields(body, ["commitments", "proofs"], "body");
      if (!Array.isArray(d.commitments) || !Array.isArray(d.proofs) || d.commitments.length !== t || d.proofs.length !== t) {
        throw new EncodingError(`se esperaban ${t} compromisos y ${t} pruebas`, `expected ${t} commitments and ${t} proofs`);
      }
      const commitments = d.commitments.map((c, k) => elementFromHex(group, c, `commitments[${k}]`, { nonidentity: true }));
      for (const [k, c] of commitments.entries()) {
        const proof = SchnorrProof.fromJson(group, d.proofs[k], `proofs[${k}]`);
        if (!(await verifySchnorr(group, proof, c, { context: hB, statement: commitmentStatement(j, k) }))) {
          throw new ProofFailed(`prueba de Schnorr inválida para el compromiso ${k}`, `invalid Schnorr proof for commitment ${k}`);
        }
      }
      return commitments;
    },
    (j, body) => {
      const d = checkFields(body, ["boxes"], "body");
      const others = [];
      for (let i = 1; i <= n; i++) if (i !== j) others.push(i);
      if (!Array.isArray(d.boxes) || d.boxes.length !== others.length) {
        throw new EncodingError(`se esperaban ${others.length} cajas`, `expected ${others.length} boxes`);
      }
      d.boxes.forEach((item, pos) => {
        const e = checkFields(item, ["recipient", "box"], `boxes[${pos}]`);
        if (e.recipient !== others[pos]) {
          throw new EncodingError(`boxes[${pos}]: se esperaba el destinatario ${others[pos]}`,
            `boxes[${pos}]: expected recipient ${others[pos]}`);
        }
        hexToBytes(e.box, BOX_BYTES, `boxes[${pos}].box`);
      });
      return null;
    },
    (j, body) => {
      const d = checkFields(body, ["accepted", "complaints"], "body");
      if (!Array.isArray(d.accepted) || !Array.isArray(d.complaints)) {
        throw new EncodingError("accepted y complaints deben ser listas", "accepted and complaints must be lists");
      }
      const index = (x, what) => {
        if (!Number.isInteger(x) || x < 1 || x > n) {
          throw new EncodingError(`${what}: índice de custodio no válido`, `${what}: invalid guardian index`);
        }
        return x;
      };
      const accepted = d.accepted.map((x, k) => index(x, `accepted[${k}]`));
      if (accepted.some((x, k) => k > 0 && x <= accepted[k - 1])) {
        throw new EncodingError("accepted: la lista debe ser creciente y sin repeticiones",
          "accepted: the list must be increasing without repetitions");
      }
      const complaints = d.complaints.map((c, k) => {
        const what = `complaints[${k}]`;
        if (!isPlainObject(c)) throw new EncodingError(`${what}: se esperaba un objeto`, `${what}: expected an object`);
        if (c.kind === "bad-share") {
          checkFields(c, ["kind", "dealer", "share", "signature"], what);
          return { kind: c.kind, dealer: index(c.dealer, `${what}.dealer`), share: scalarFromHex(group, c.share, `${what}.share`),
            signature: hexToBytes(c.signature, SIGNATURE_BYTES, `${what}.signature`) };
        }
        if (c.kind === "bad-box") {
          checkFields(c, ["kind", "dealer", "transport_private_key"], what);
          hexToBytes(c.transport_private_key, TRANSPORT_KEY_BYTES, `${what}.transport_private_key`);
          return { kind: c.kind, dealer: index(c.dealer, `${what}.dealer`) };
        }
        throw new EncodingError(`${what}.kind: tipo de queja desconocido`, `${what}.kind: unknown complaint kind`);
      });
      const dealers = complaints.map((c) => c.dealer);
      const all = new Set([...dealers, ...accepted]);
      const expected = [];
      for (let i = 1; i <= n; i++) if (i !== j) expected.push(i);
      if (new Set(dealers).size !== dealers.length || dealers.some((x) => accepted.includes(x))
        || all.size !== expected.length || !expected.every((i) => all.has(i))) {
        throw new EncodingError(
          "cada uno de los demás custodios debe aparecer exactamente una vez, aceptado o con una queja",
          "every other guardian must appear exactly once, accepted or with a complaint");
      }
      return complaints;
    },
    async (j, body) => {
      const d = checkFields(body, ["guardian_key", "proof", "joint_key"], "body");
      const key = elementFromHex(group, d.guardian_key, "guardian_key", { nonidentity: true });
      const proof = SchnorrProof.fromJson(group, d.proof, "proof");
      const joint = elementFromHex(group, d.joint_key, "joint_key", { nonidentity: true });
      if (!(await verifySchnorr(group, proof, key, { context: hB, statement: guardianKeyStatement(j) }))) {
        throw new ProofFailed("prueba de Schnorr inválida para la llave de verificación",
          "invalid Schnorr proof for the verification key");
      }
      const agg = aggregate();
      if (agg === null) {
        throw new Unverifiable("faltan compromisos de otros custodios para comprobar las llaves",
          "commitments of other guardians are missing to check the keys");
      }
      if (joint !== agg[0]) {
        throw new ProofFailed("la llave conjunta no es el producto de los C_{j,0}", "the joint key is not the product of the C_{j,0}");
      }
      if (key !== expectedShareImage(group, agg, j)) {
        throw new ProofFailed("la llave de verificación no concuerda con los compromisos",
          "the verification key does not match the commitments");
      }
      return [key, joint];
    },
  ];

  const judge = async (rnd, complainer, complaint) => {
    const dealer = complaint.dealer;
    const dealerKey = view.signingKeys.get(dealer);
    const commitments = view.commitments.get(dealer);
    if (dealerKey === undefined || commitments === undefined || !view.transportKeys.has(complainer)) return;
    if (complaint.kind === "bad-box") {
      problem(rnd, complainer, "complaint", bi(
        `queja por caja ilegible contra el custodio ${dealer}: la ceremonia se abortó (esta página no abre cajas selladas; ` +
          "sivei verificar nombra al culpable)",
        `unreadable-box complaint against guardian ${dealer}: the ceremony aborted (this page does not open sealed ` +
          "boxes; sivei verificar names the culprit)"));
      return;
    }
    const digest = await shareDigest(group, hB, ceremonyId, dealer, complainer, complaint.share);
    const fault = (culprit, fair, code, es, en) => {
      const lead = fair
        ? bi(`queja fundada del custodio ${complainer} contra el custodio ${dealer}: `,
          `justified complaint of guardian ${complainer} against guardian ${dealer}: `)
        : bi(`queja infundada del custodio ${complainer} contra el custodio ${dealer}: `,
          `unfounded complaint of guardian ${complainer} against guardian ${dealer}: `);
      problem(rnd, culprit, code, bi(lead.es + es, lead.en + en));
    };
    if (!verifyDigest(dealerKey, digest, complaint.signature)) {
      fault(complainer, false, "false-complaint-signature", "la parte publicada no lleva una firma válida del repartidor",
        "the published share does not carry a valid signature of the dealer");
    } else if (group.gPow(complaint.share) !== expectedShareImage(group, commitments, complainer)) {
      fault(dealer, true, "bad-share", "la parte firmada no concuerda con sus compromisos",
        "the signed share does not match the dealer's commitments");
    } else {
      fault(complainer, false, "false-complaint-share", "la parte sí concuerda con los compromisos",
        "the share does match the commitments");
    }
  };

  for (let rnd = 0; rnd < NUM_ROUNDS; rnd++) {
    const bundle = rnd < rounds.length ? rounds[rnd] : [];
    const parsed = new Map();
    const seen = new Set();
    let last = 0;
    for (const env of bundle) {
      const m = SENDER.exec(env.sender);
      const j = m && Number(m[1]) <= n ? Number(m[1]) : null;
      if (j === null) {
        problem(rnd, null, "sender", bi(`remitente no válido «${env.sender.slice(0, 40)}»`, `invalid sender «${env.sender.slice(0, 40)}»`));
        continue;
      }
      if (seen.has(j)) {
        problem(rnd, j, "duplicate", bi("más de un mensaje en la ronda", "more than one message in the round"));
        continue;
      }
      seen.add(j);
      if (j < last) {
        problem(rnd, j, "order", bi("el paquete no está ordenado por índice de custodio", "the bundle is not ordered by guardian index"));
      }
      last = Math.max(last, j);
      if (env.electionId !== electionId) {
        problem(rnd, j, "election", bi("el mensaje es de otra elección", "the message belongs to another election"));
        continue;
      }
      if (env.ceremonyId !== ceremonyId) {
        problem(rnd, j, "ceremony", bi("el mensaje es de otra ceremonia", "the message belongs to another ceremony"));
        continue;
      }
      if (env.round !== rnd || env.type !== ROUND_TYPES[rnd]) {
        problem(rnd, j, "type", bi(`se esperaba un mensaje «${ROUND_TYPES[rnd]}» de la ronda ${rnd}`,
          `expected a «${ROUND_TYPES[rnd]}» message of round ${rnd}`));
        continue;
      }
      let result = null;
      let key;
      if (rnd === 0) {
        try {
          result = parsers[0](j, env.body);
        } catch (err) {
          const e = errorText(err);
          problem(rnd, j, "body", bi(`mensaje mal formado: ${e.es}`, `malformed message: ${e.en}`));
          continue;
        }
        key = result[0];
      } else {
        key = view.signingKeys.get(j);
      }
      if (key === undefined) {
        problem(rnd, j, "no-key", bi("no hay una llave de firma anunciada válida para este custodio",
          "there is no valid announced signing key for this guardian"));
        continue;
      }
      if (!verifyDigest(key, await contentHash(env), env.signature)) {
        problem(rnd, j, "signature", bi("firma inválida", "invalid signature"));
        continue;
      }
      if (!equalBytes(env.previous, view.previous)) {
        problem(rnd, j, "previous", bi(
          "el hash del paquete anterior no coincide: este custodio vio otro paquete (el coordinador mostró paquetes " +
            "distintos o el custodio miente)",
          "the previous-bundle hash does not match: this guardian saw a different bundle (the coordinator showed " +
            "different bundles or the guardian lies)"));
        continue;
      }
      if (rnd !== 0) {
        try {
          result = await parsers[rnd](j, env.body);
        } catch (err) {
          const e = errorText(err);
          if (err instanceof ProofFailed) problem(rnd, j, "proof", e);
          else if (err instanceof Unverifiable) problem(rnd, j, "unverifiable", e);
          else problem(rnd, j, "body", bi(`mensaje mal formado: ${e.es}`, `malformed message: ${e.en}`));
          continue;
        }
      }
      parsed.set(j, result);
    }
    for (let j = 1; j <= n; j++) {
      if (!seen.has(j)) problem(rnd, j, "missing", bi("falta el mensaje del custodio", "the guardian's message is missing"));
    }
    if (rnd === 0) {
      const seenKeys = new Map();
      for (const j of [...parsed.keys()].sort((a, b) => a - b)) {
        for (const [pos, announced] of parsed.get(j).entries()) {
          const k = `${pos}:${bytesToHex(announced)}`;
          if (seenKeys.has(k)) {
            problem(rnd, j, "duplicate-key", bi(`reutiliza una llave anunciada por el custodio ${seenKeys.get(k)}`,
              `reuses a key announced by guardian ${seenKeys.get(k)}`));
            parsed.delete(j);
            break;
          }
          seenKeys.set(k, j);
        }
      }
    } else if (rnd === 3) {
      for (const j of [...parsed.keys()].sort((a, b) => a - b)) {
        for (const c of parsed.get(j)) await judge(rnd, j, c);
      }
    }
    // Apply what passed to the public view.
    for (const [j, result] of parsed) {
      if (rnd === 0) {
        view.signingKeys.set(j, result[0]);
        view.transportKeys.set(j, result[1]);
      } else if (rnd === 1) {
        view.commitments.set(j, result);
        view.aggregate = null;
      } else if (rnd === 4) {
        view.guardianKeys.set(j, result[0]);
        view.jointKey = result[1];
      }
    }
    view.previous = await bundleHash(electionId, ceremonyId, rnd, bundle);
  }
  if (rounds.length > NUM_ROUNDS) {
    problems.push({ round: NUM_ROUNDS, guardian: null, code: "extra-rounds", message: bi(
      `la transcripción tiene ${rounds.length} rondas; se esperaban ${NUM_ROUNDS}`,
      `the transcript has ${rounds.length} rounds; ${NUM_ROUNDS} were expected`) });
  }
  if (problems.length > 0 || view.jointKey === null) return { problems, outcome: null };
  const range = Array.from({ length: n }, (_, i) => i + 1);
  return { problems, outcome: {
    jointKey: view.jointKey,
    commitments: range.map((j) => view.commitments.get(j)),
    guardianKeys: range.map((j) => view.guardianKeys.get(j)),
    signingKeys: range.map((j) => view.signingKeys.get(j)),
  } };
}
