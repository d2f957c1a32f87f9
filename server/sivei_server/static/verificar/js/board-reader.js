// The board behind one small interface, so that the checks do not depend on how the board is stored:
// a board reader yields the board's events one at a time, in file order, each parsed (strictly, α and
// β for range only) with where it came from.
//
//   reader = boardReader(files, header)          // null: no reader for this record format version
//   reader.name                                  // the file the locations name ("board.bin")
//   reader.size                                  // bytes, for progress
//   for await (const item of reader.events({ ctx, onChunk })) {
//     item.where    // "board.bin:7" — the location of every problem of this event
//     item.lineno   // its position in the file, from 1 (the line of board.jsonl); 0 for the whole file
//     item.offset   // bytes read so far (progress, remaining time)
//     item.event    // {index, type, head, ballot | null, payload | null, payloadHash} (board.js), or
//                   // null when it could not be read …
//     item.error    // … then {es, en}: why (reported as board.encoding)
//   }
//   onChunk(bytes) sees every byte of the board file once, even after damage that ends the reading
//   (its SHA-256 for the record's index).
//
// Version 1 stores the board as JSON Lines (board.jsonl), version 2 in the canonical binary encoding
// (board.bin: a magic, then one frame u32(length) ‖ event per event; docs/record.md §4.6). Both are
// read in slices of the Blob — a board can be gigabytes — and never held whole. The chain heads hash
// each event's canonical encoding, not the stored bytes, so both forms of one board have the same heads.

import { eventFromBytes, parseEvent } from "../../booth/js/board.js";
import { Encoder } from "../../booth/js/encoding.js";
import { bi, errorText } from "../../booth/js/errors.js";
import { parseStrictJson } from "./json.js";
import { blobLines } from "./sources.js";

export const BOARD_JSONL = "board.jsonl";
export const BOARD_BIN = "board.bin";
/** The board's file name by record format version (record.json "version"). */
export const BOARD_FILES = Object.freeze({ 1: BOARD_JSONL, 2: BOARD_BIN });
/** The first bytes of board.bin: string("sivei-board") ‖ u32(2). */
export const MAGIC = new Encoder().string("sivei-board").u32(2).toBytes();
/** Largest stored event accepted (a 34-option ballot is about 110 KB): a larger length is damage. */
export const MAX_EVENT_BYTES = 16 << 20;
const SLICE_BYTES = 4 << 20;

function missing(name) {
  return { where: name, lineno: 0, offset: 0, event: null, error: bi(`${name}: falta el archivo`, `${name}: file missing`) };
}

class JsonLinesBoard {
  constructor(blob, { chunkBytes = SLICE_BYTES } = {}) {
    this.name = BOARD_JSONL;
    this.blob = blob;
    this.size = blob ? blob.size : 0;
    this.chunkBytes = chunkBytes;
  }

  async* events({ ctx, onChunk } = {}) {
    const name = this.name;
    if (!this.blob) {
      yield missing(name);
      return;
    }
    for await (const { lineno, text, offset } of blobLines(this.blob, { onChunk, chunkBytes: this.chunkBytes })) {
      const where = `${name}:${lineno}`;
      if (text === null) {
        yield { where, lineno, offset, event: null, error: bi(`${name}, línea ${lineno}: no está en UTF-8`,
          `${name}, line ${lineno}: not UTF-8`) };
        continue;
      }
      let item;
      try {
        const obj = parseStrictJson(text, `${name}, línea ${lineno}`, { compact: true });
        item = { where, lineno, offset, event: await parseEvent(ctx, obj, where), error: null };
      } catch (err) {
        const e = errorText(err);
        item = { where, lineno, offset, event: null,
          error: bi(e.es, e.en.replace(`${name}, línea ${lineno}`, `${name}, line ${lineno}`)) };
      }
      yield item;
    }
  }
}

/**
 * A Blob read forward in slices: read(n) gives the next n bytes (fewer at the end of the Blob),
 * without copying when they lie in one slice; every slice goes to onChunk once, as it is read.
 */
class BlobCursor {
  constructor(blob, chunkBytes, onChunk) {
    this.blob = blob;
    this.chunkBytes = chunkBytes;
    this.onChunk = onChunk;
    this.next = 0; // where the next slice starts in the Blob
    this.slice = new Uint8Array(0);
    this.at = 0; // position in the current slice
    this.offset = 0; // bytes handed out so far
  }

  async load() {
    if (this.next >= this.blob.size) return false;
    const end = Math.min(this.blob.size, this.next + this.chunkBytes);
    this.slice = new Uint8Array(await this.blob.slice(this.next, end).arrayBuffer());
    this.next = end;
    this.at = 0;
    if (this.onChunk) this.onChunk(this.slice);
    return true;
  }

  async read(n) {
    if (this.slice.length - this.at >= n) {
      const out = this.slice.subarray(this.at, this.at + n);
      this.at += n;
      this.offset += n;
      return out;
    }
    // Across slices (or at the end): gather, then copy once.
    const parts = [];
    let have = 0;
    while (have < n) {
      if (this.at >= this.slice.length && !(await this.load())) break;
      const take = Math.min(n - have, this.slice.length - this.at);
      parts.push(this.slice.subarray(this.at, this.at + take));
      this.at += take;
      have += take;
    }
    const out = new Uint8Array(have);
    let k = 0;
    for (const p of parts) {
      out.set(p, k);
      k += p.length;
    }
    this.offset += have;
    return out;
  }

  /** The rest of the Blob through onChunk, unread (the reading ended at damage). */
  async drain() {
    this.at = this.slice.length;
    while (await this.load()) this.at = this.slice.length;
  }
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

class BinaryBoard {
  constructor(blob, { chunkBytes = SLICE_BYTES } = {}) {
    this.name = BOARD_BIN;
    this.blob = blob;
    this.size = blob ? blob.size : 0;
    this.chunkBytes = chunkBytes;
  }

  /** As Python's iter_raw_events and parse_event: a wrong magic ends the reading (nothing can be
   * framed); a short length, a length above MAX_EVENT_BYTES or a truncated last frame is a problem
   * at that position and ends it; anything else is parsed frame by frame. */
  async* events({ ctx, onChunk } = {}) {
    const name = this.name;
    if (!this.blob) {
      yield missing(name);
      return;
    }
    const cursor = new BlobCursor(this.blob, this.chunkBytes, onChunk);
    const fail = (where, lineno, es, en) => ({ where, lineno, offset: cursor.offset, event: null, error: bi(es, en) });
    if (!sameBytes(await cursor.read(MAGIC.length), MAGIC)) {
      yield fail(name, 0, `${name}: no es un tablero de SIVEI en formato binario (encabezado no válido)`,
        `${name}: not a SIVEI board in binary form (invalid header)`);
      await cursor.drain();
      return;
    }
    for (let position = 1; ; position++) {
      const prefix = await cursor.read(4);
      if (prefix.length === 0) return;
      const where = `${name}:${position}`;
      if (prefix.length < 4) {
        yield fail(where, position, `${where}.length: datos truncados (faltan ${4 - prefix.length} bytes)`,
          `${where}.length: truncated data (${4 - prefix.length} bytes missing)`);
        return;
      }
      const length = prefix[0] * 0x1000000 + ((prefix[1] << 16) | (prefix[2] << 8) | prefix[3]);
      if (length > MAX_EVENT_BYTES) {
        yield fail(where, position, `${where}: evento de ${length} bytes, más que el máximo de ${MAX_EVENT_BYTES}`,
          `${where}: event of ${length} bytes, more than the maximum of ${MAX_EVENT_BYTES}`);
        await cursor.drain();
        return;
      }
      const body = await cursor.read(length);
      if (body.length < length) {
        yield fail(where, position, `${where}: evento truncado (faltan ${length - body.length} bytes)`,
          `${where}: truncated event (${length - body.length} bytes missing)`);
        return;
      }
      let item;
      try {
        item = { where, lineno: position, offset: cursor.offset, event: await eventFromBytes(ctx, body, where), error: null };
      } catch (err) {
        item = { where, lineno: position, offset: cursor.offset, event: null, error: errorText(err) };
      }
      yield item;
    }
  }
}

/** Board readers by record format version (record.json "version"); options: {chunkBytes}. */
export const READERS = Object.freeze({
  1: (files, options) => new JsonLinesBoard(files.blob(BOARD_JSONL), options),
  2: (files, options) => new BinaryBoard(files.blob(BOARD_BIN), options),
});

/** The board reader of this record's format version, or null when there is none. */
export function boardReader(files, header, options = {}) {
  const v = header.version;
  const make = Number.isInteger(v) && Object.prototype.hasOwnProperty.call(READERS, v) ? READERS[v] : null;
  return make ? make(files, options) : null;
}
