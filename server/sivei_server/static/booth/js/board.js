// The public bulletin board: a hash chain of events (mirrors sivei/ballot/board.py;
// docs/protocol.md §14).
//
// e_i = H("sivei/board", H_E ‖ e_{i−1} ‖ u32(i) ‖ string(type) ‖ payload hash), e_{−1} = 32 zero bytes;
// the payload hash is the ballot hash for "ballot" events and H("sivei/board-payload",
// canonical_json(payload)) for every other event.

import { EncryptedBallot, TAG_BALLOT, decodeBallot } from "./ballot.js";
import { equalBytes, hexInto, utf8 } from "./bytes.js";
import * as ed25519 from "./ed25519.js";
import { Decoder, Encoder, canonicalJson, hexToBytes, taggedHash } from "./encoding.js";
import { EncodingError } from "./errors.js";

export const TAG_BOARD = "sivei/board";
export const TAG_PAYLOAD = "sivei/board-payload";
export const GENESIS_PREVIOUS = new Uint8Array(32);

export const EVENT_OPEN = "open";
export const EVENT_BALLOT = "ballot";
export const EVENT_CLOSE = "close";
export const OPERATOR_EVENTS = Object.freeze(["pause", "resume", "incident"]);
export const EVENT_TYPES = Object.freeze([EVENT_OPEN, EVENT_BALLOT, EVENT_CLOSE, ...OPERATOR_EVENTS]);

/** The hash input of e_i (after the tag). */
export function eventHashInput(electionHash, previous, index, type, payloadHash) {
  return new Encoder().fixed(electionHash, 32).fixed(previous, 32).u32(index).string(type)
    .fixed(payloadHash, 32).toBytes();
}

/** e_i: the head after event i (32 bytes). */
export async function eventHash(electionHash, previous, index, type, payloadHash) {
  return taggedHash(TAG_BOARD, eventHashInput(electionHash, previous, index, type, payloadHash));
}

/** The payload hash of a non-ballot event. */
export async function payloadHash(payload) {
  return taggedHash(TAG_PAYLOAD, canonicalJson(payload));
}

/** e_0: the head of the empty board (the opening event with an empty payload). */
export async function genesisHead(electionHash) {
  return eventHash(electionHash, GENESIS_PREVIOUS, 0, EVENT_OPEN, await payloadHash({}));
}

/**
 * Parse one board event (a line of board.jsonl, already JSON-parsed) as Python's event_from_json
 * with membership=False: exact fields, a known type, an index in [0, 2^32), the stated head; a
 * ballot parsed strictly with α and β checked for range only (the caller establishes membership
 * before it relies on them). Returns {index, type, head, ballot | null, payload | null, payloadHash}.
 * Errors are EncodingError naming `where`.
 */
export async function parseEvent(ctx, obj, where) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj) || typeof obj.type !== "string") {
    throw new EncodingError(`${where}: evento no válido`, `${where}: invalid event`);
  }
  const type = obj.type;
  if (!EVENT_TYPES.includes(type)) {
    throw new EncodingError(`${where}: tipo de evento desconocido ${JSON.stringify(type)}`,
      `${where}: unknown event type ${JSON.stringify(type)}`);
  }
  const bodyKey = type === EVENT_BALLOT ? "ballot" : "payload";
  const keys = Object.keys(obj);
  if (keys.length !== 4 || !["index", "type", "head", bodyKey].every((k) => Object.prototype.hasOwnProperty.call(obj, k))) {
    throw new EncodingError(`${where}: campos no válidos en el evento`, `${where}: invalid fields in the event`);
  }
  const index = obj.index;
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** 32) {
    throw new EncodingError(`${where}: índice no válido`, `${where}: invalid index`);
  }
  const head = hexToBytes(obj.head, 32, `${where}.head`);
  if (type === EVENT_BALLOT) {
    const ballot = EncryptedBallot.fromJson(ctx.group, obj.ballot, `${where}.ballot`, { membership: false });
    // The hash straight from the JSON just checked: no re-encoding of a thousand big integers.
    const hashed = ballotHashInputFromJson(ctx.group, ctx.electionHash, obj.ballot);
    return { index, type, head, ballot, payload: null, payloadHash: await taggedHash(TAG_BALLOT, hashed) };
  }
  const payload = obj.payload;
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new EncodingError(`${where}.payload: se esperaba un objeto`, `${where}.payload: expected an object`);
  }
  return { index, type, head, ballot: null, payload, payloadHash: await payloadHash(payload) };
}

/**
 * Parse one stored event of a version-2 board (board.bin), without its frame's length: u32(index) ‖
 * string(type) ‖ fixed(head, 32) ‖ content, where a ballot's content is its canonical encoding ‖
 * blob(signature) and any other event's blob(canonical_json(payload)) — as Python's
 * event_from_bytes, strictly (every value in range, a canonical payload, no byte left over), α and β
 * for range only. Returns what parseEvent returns; the ballot hash is taken over the stored encoding
 * itself (after a strict decode it is the re-encoding). Errors are EncodingError naming `where`.
 */
export async function eventFromBytes(ctx, data, where) {
  const dec = new Decoder(data, where, ctx.group);
  const index = dec.u32(".index");
  const type = dec.string(".type");
  if (!EVENT_TYPES.includes(type)) {
    throw new EncodingError(`${where}: tipo de evento desconocido ${JSON.stringify(type)}`,
      `${where}: unknown event type ${JSON.stringify(type)}`);
  }
  const head = dec.fixed(32, ".head");
  if (type === EVENT_BALLOT) {
    const start = dec.position;
    const ballotDec = new Decoder(data, `${where}.ballot`, ctx.group, start);
    const unsigned = decodeBallot(ctx.group, ballotDec);
    const encoded = data.subarray(start, ballotDec.position);
    const signature = ballotDec.blob(".signature");
    ballotDec.end();
    if (signature.length !== 0 && signature.length !== ed25519.SIGNATURE_BYTES) {
      throw new EncodingError(`${where}.ballot.signature: se esperaban ${ed25519.SIGNATURE_BYTES} bytes`,
        `${where}.ballot.signature: expected ${ed25519.SIGNATURE_BYTES} bytes`);
    }
    const hashed = new Uint8Array(32 + encoded.length);
    hashed.set(ctx.electionHash, 0);
    hashed.set(encoded, 32);
    return { index, type, head, ballot: unsigned.withSignature(signature), payload: null,
      payloadHash: await taggedHash(TAG_BALLOT, hashed) };
  }
  const raw = dec.blob(".payload");
  dec.end();
  let payload;
  try {
    payload = JSON.parse(PAYLOAD_UTF8.decode(raw));
  } catch {
    throw new EncodingError(`${where}.payload: JSON no válido`, `${where}.payload: invalid JSON`);
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new EncodingError(`${where}.payload: se esperaba un objeto`, `${where}.payload: expected an object`);
  }
  // Byte for byte its canonical form: no whitespace, sorted keys, no fraction, no repeated key (a
  // repeated key or "1.0" would not survive JSON.parse and re-serialisation unchanged).
  let canonical = null;
  try {
    canonical = canonicalJson(payload);
  } catch {
    // not representable canonically: refused below
  }
  if (canonical === null || !equalBytes(canonical, raw)) {
    throw new EncodingError(`${where}.payload: el JSON no está en forma canónica`,
      `${where}.payload: the JSON is not in canonical form`);
  }
  return { index, type, head, ballot: null, payload, payloadHash: await taggedHash(TAG_PAYLOAD, raw) };
}

const PAYLOAD_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Low 256 bits of α as 64 hex digits: the index key of the unique-α rule (Python's alpha_key). */
export function alphaKey(alpha) {
  return BigInt.asUintN(256, alpha).toString(16).padStart(64, "0");
}

/**
 * H_E ‖ the canonical encoding of a ballot (protocol §12.4), written straight from its JSON: after a
 * strict parse (EncryptedBallot.fromJson) every element and scalar is fixed-width lowercase hex,
 * which is exactly its encoding. The same bytes as H_E ‖ ballot.encode(group), without turning each
 * big integer back into bytes.
 */
export function ballotHashInputFromJson(group, electionHash, json) {
  const w = group.elementBytes;
  const style = utf8(json.style, "style");
  let size = 32 + 4 + style.length + 32 + 4;
  for (const c of json.contests) size += 8 + c.selections.length * (6 * w + 4 * 32) + 2 * w + 32;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(electionHash, 0);
  let at = 32;
  view.setUint32(at, style.length);
  out.set(style, at + 4);
  at += 4 + style.length;
  at = hexInto(json.credential, out, at);
  view.setUint32(at, json.contests.length);
  at += 4;
  for (const c of json.contests) {
    view.setUint32(at, c.index);
    view.setUint32(at + 4, c.selections.length);
    at += 8;
    for (const sel of c.selections) {
      const p = sel.proof;
      for (const hex of [sel.ciphertext.alpha, sel.ciphertext.beta, p.a0, p.b0, p.a1, p.b1, p.c0, p.c1, p.v0, p.v1]) {
        at = hexInto(hex, out, at);
      }
    }
    const sp = c.sum_proof;
    at = hexInto(sp.commitment_g, out, at);
    at = hexInto(sp.commitment_h, out, at);
    at = hexInto(sp.response, out, at);
  }
  return out;
}
