// Voters' receipts: what the voting server signs after a ballot is on the board (mirrors
// sivei/record/receipts.py).
//
// {"format": "sivei-recibo", "version": 1, "election_id", "election_hash", "ballot_hash",
//  "tracking_code", "index", "head", "received_at", "signature"}; the signature (ECDSA P-256, r‖s, low
// s) covers H("sivei/receipt", canonical_json(every field but signature)) and is made with the
// server's receipt key, which the opening act names (receipt_key).

import { bytesToHex, equalBytes } from "./bytes.js";
import { SIGNATURE_BYTES, verifyDigest } from "./ecdsa.js";
import { canonicalJson, hexToBytes, taggedHash } from "./encoding.js";
import { EncodingError, bi } from "./errors.js";
import { fingerprint } from "./fingerprint.js";

export const RECEIPT_FORMAT = "sivei-recibo";
export const RECEIPT_VERSION = 1;
export const TAG_RECEIPT = "sivei/receipt";
export const MAX_RECEIPT_BYTES = 16 * 1024;

const BODY_FIELDS = ["format", "version", "election_id", "election_hash", "ballot_hash", "tracking_code", "index",
  "head", "received_at"];
const ALL_FIELDS = [...BODY_FIELDS, "signature"];
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export class Receipt {
  constructor({ electionId, electionHash, ballotHash, trackingCode, index, head, receivedAt, signature }) {
    Object.assign(this, { electionId, electionHash, ballotHash, trackingCode, index, head, receivedAt, signature });
    Object.freeze(this);
  }

  body() {
    return {
      format: RECEIPT_FORMAT, version: RECEIPT_VERSION, election_id: this.electionId,
      election_hash: bytesToHex(this.electionHash), ballot_hash: bytesToHex(this.ballotHash),
      tracking_code: this.trackingCode, index: this.index, head: bytesToHex(this.head), received_at: this.receivedAt,
    };
  }

  async digest() {
    return taggedHash(TAG_RECEIPT, canonicalJson(this.body()));
  }

  async signatureValid(receiptKey) {
    return verifyDigest(receiptKey, await this.digest(), this.signature);
  }

  /** Strict parse (Python's Receipt.from_json): exact fields, canonical hex, consistent tracking code. */
  static fromJson(obj, what = "recibo") {
    const sorted = `[${[...ALL_FIELDS].sort().map((k) => `'${k}'`).join(", ")}]`;
    if (obj === null || typeof obj !== "object" || Array.isArray(obj) || Object.keys(obj).length !== ALL_FIELDS.length
      || !ALL_FIELDS.every((k) => Object.prototype.hasOwnProperty.call(obj, k))) {
      throw new EncodingError(`${what}: campos no válidos (se esperaban ${sorted})`,
        `${what}: invalid fields (expected ${sorted})`);
    }
    if (obj.format !== RECEIPT_FORMAT || obj.version !== RECEIPT_VERSION) {
      throw new EncodingError(`${what}: no es un recibo de SIVEI (formato o versión)`,
        `${what}: not a SIVEI receipt (format or version)`);
    }
    if (typeof obj.election_id !== "string" || typeof obj.tracking_code !== "string" || typeof obj.received_at !== "string") {
      throw new EncodingError(`${what}: election_id, tracking_code y received_at deben ser texto`,
        `${what}: election_id, tracking_code and received_at must be text`);
    }
    if (!TIME.test(obj.received_at)) {
      throw new EncodingError(`${what}.received_at: se esperaba AAAA-MM-DDTHH:MM:SSZ`,
        `${what}.received_at: expected YYYY-MM-DDTHH:MM:SSZ`);
    }
    if (!Number.isInteger(obj.index) || obj.index < 0 || obj.index >= 2 ** 32) {
      throw new EncodingError(`${what}.index: entero no válido`, `${what}.index: invalid integer`);
    }
    const ballotHash = hexToBytes(obj.ballot_hash, 32, `${what}.ballot_hash`);
    if (obj.tracking_code !== fingerprint(ballotHash)) {
      throw new EncodingError(`${what}.tracking_code: no corresponde al hash de la boleta`,
        `${what}.tracking_code: does not match the ballot hash`);
    }
    return new Receipt({
      electionId: obj.election_id, electionHash: hexToBytes(obj.election_hash, 32, `${what}.election_hash`), ballotHash,
      trackingCode: obj.tracking_code, index: obj.index, head: hexToBytes(obj.head, 32, `${what}.head`),
      receivedAt: obj.received_at, signature: hexToBytes(obj.signature, SIGNATURE_BYTES, `${what}.signature`),
    });
  }
}

/**
 * Each {check, message: {es, en}} problem of one receipt against what a record says about the event
 * at the receipt's index (Python's receipt_problems). event: {type, head (hex)} or null when the
 * board has no such index; ballotHash: the hash of its ballot (bytes) or null.
 */
export async function receiptProblems(receipt, { electionId, electionHash, receiptKey, event, ballotHash,
  closedAfter, counted }) {
  const out = [];
  const add = (check, es, en) => out.push({ check, message: bi(es, en) });
  if (!(await receipt.signatureValid(receiptKey))) {
    add("receipt.signature", "la firma del recibo no es de la llave de recibos del acta de inicio",
      "the receipt's signature is not by the opening act's receipt key");
  }
  if (receipt.electionId !== electionId || !equalBytes(receipt.electionHash, electionHash)) {
    add("receipt.election", "el recibo es de otra elección", "the receipt is for another election");
    return out;
  }
  const i = receipt.index;
  if (event === null) {
    add("receipt.chain", `el tablero no tiene el evento ${i}`, `the board has no event ${i}`);
    return out;
  }
  if (event.type !== "ballot" || ballotHash === null || !equalBytes(ballotHash, receipt.ballotHash)) {
    add("receipt.chain", `el evento ${i} del tablero no es esta boleta`, `board event ${i} is not this ballot`);
  } else if (event.head !== bytesToHex(receipt.head)) {
    add("receipt.chain", `la cabeza del tablero tras el evento ${i} no es la del recibo`,
      `the board head after event ${i} is not the receipt's`);
  } else if (!closedAfter) {
    add("receipt.counted", "el tablero no se cerró después de esta boleta", "the board was not closed after this ballot");
  } else if (!counted) {
    add("receipt.counted", "la boleta del recibo no se cuenta (el verificador reporta problemas en ella)",
      "the receipt's ballot is not counted (the verifier reports problems on it)");
  }
  return out;
}
