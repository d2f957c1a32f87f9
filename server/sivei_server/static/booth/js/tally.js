// Homomorphic aggregation per (entity, contest, option), the encrypted tally and its hash (mirrors
// sivei/tally/aggregate.py; docs/protocol.md §15).

import { Ciphertext } from "./elgamal.js";
import { Encoder, taggedHash } from "./encoding.js";
import { EncodingError } from "./errors.js";

export const TAG_TALLY = "sivei/encrypted-tally";

export class EncryptedTally {
  /** entries: [{entity, contestIndex, ballots, ciphertexts: [Ciphertext]}] in manifest order. */
  constructor(entries) {
    this.entries = Object.freeze(entries.map((e) => Object.freeze({ ...e, ciphertexts: Object.freeze([...e.ciphertexts]) })));
    Object.freeze(this);
  }

  hashInput(ctx) {
    const enc = new Encoder(ctx.group).fixed(ctx.electionHash, 32).u32(this.entries.length);
    for (const e of this.entries) {
      enc.string(e.entity).u32(e.contestIndex).u32(e.ballots).u32(e.ciphertexts.length);
      for (const ct of e.ciphertexts) ct.encode(enc);
    }
    return enc.toBytes();
  }

  /** H("sivei/encrypted-tally", …): what the decryption envelopes and the closing act name. */
  async hash(ctx) {
    return taggedHash(TAG_TALLY, this.hashInput(ctx));
  }

  toJson(group) {
    return { entries: this.entries.map((e) => ({ entity: e.entity, contest_index: e.contestIndex, ballots: e.ballots,
      ciphertexts: e.ciphertexts.map((ct) => ct.toJson(group)) })) };
  }

  /**
   * Parse encrypted-tally.json. With membership: false, α and β are checked for range only (a
   * verifier that compares it with its own recomputed tally needs nothing more).
   */
  static fromJson(group, obj, { membership = true } = {}) {
    if (obj === null || typeof obj !== "object" || Array.isArray(obj) || Object.keys(obj).length !== 1
      || !Array.isArray(obj.entries)) {
      throw new EncodingError('recuento cifrado: se esperaba {"entries": [...]}', 'encrypted tally: expected {"entries": [...]}');
    }
    return new EncryptedTally(obj.entries.map((raw, i) => {
      const w = `entries[${i}]`;
      const keys = ["entity", "contest_index", "ballots", "ciphertexts"];
      if (raw === null || typeof raw !== "object" || Array.isArray(raw) || Object.keys(raw).length !== 4
        || !keys.every((k) => Object.prototype.hasOwnProperty.call(raw, k))) {
        throw new EncodingError(`${w}: campos no válidos`, `${w}: invalid fields`);
      }
      if (typeof raw.entity !== "string" || !Number.isInteger(raw.contest_index) || !Number.isInteger(raw.ballots)
        || !Array.isArray(raw.ciphertexts)) {
        throw new EncodingError(`${w}: tipos no válidos`, `${w}: invalid types`);
      }
      return { entity: raw.entity, contestIndex: raw.contest_index, ballots: raw.ballots,
        ciphertexts: raw.ciphertexts.map((c, j) => Ciphertext.fromJson(group, c, `${w}.ciphertexts[${j}]`, { membership })) };
    }));
  }
}

/** Whether two tally entries are equal (entity, contest, ballot count and every ciphertext). */
export function sameEntry(a, b) {
  return a.entity === b.entity && a.contestIndex === b.contestIndex && a.ballots === b.ballots
    && a.ciphertexts.length === b.ciphertexts.length
    && a.ciphertexts.every((ct, i) => ct.alpha === b.ciphertexts[i].alpha && ct.beta === b.ciphertexts[i].beta);
}

/** Running products per (entity, contest, option); memory bounded by the manifest, not the ballots. */
export class TallyAccumulator {
  constructor(ctx) {
    this.p = ctx.group.p;
    this.styleEntity = new Map(ctx.manifest.ballotStyles.map((s) => [s.id, s.entity]));
    this.rows = new Map();
    this.order = [];
    for (const entity of ctx.manifest.entities) {
      for (const [index, contest] of ctx.manifest.styleContests(entity.ballotStyle)) {
        const k = `${entity.code}\u0000${index}`;
        this.order.push([entity.code, index, k]);
        this.rows.set(k, { ballots: 0, alpha: contest.options.map(() => 1n), beta: contest.options.map(() => 1n) });
      }
    }
  }

  /** Add a ballot whose style and shape were checked (α and β need not be proven members yet). */
  add(ballot) {
    const entity = this.styleEntity.get(ballot.style);
    const p = this.p;
    for (const contest of ballot.contests) {
      const row = this.rows.get(`${entity}\u0000${contest.index}`);
      row.ballots += 1;
      contest.selections.forEach((sel, i) => {
        row.alpha[i] = (row.alpha[i] * sel.ciphertext.alpha) % p;
        row.beta[i] = (row.beta[i] * sel.ciphertext.beta) % p;
      });
    }
  }

  result() {
    return new EncryptedTally(this.order.map(([entity, contestIndex, k]) => {
      const row = this.rows.get(k);
      return { entity, contestIndex, ballots: row.ballots,
        ciphertexts: row.alpha.map((a, i) => new Ciphertext(a, row.beta[i])) };
    }));
  }
}
