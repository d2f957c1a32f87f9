// The board behind one small interface, so that another record format plugs in without touching the
// checks: a board reader yields the board's events one at a time, in file order, each as the JSON
// object of docs/record.md §4.6 ({index, type, head, ballot | payload}) with where it came from.
//
//   reader = boardReader(files, header)          // null: no reader for this record format version
//   reader.name                                  // the file the locations name ("board.jsonl")
//   reader.size                                  // bytes, for progress
//   for await (const item of reader.events({ onChunk })) {
//     item.where    // "board.jsonl:7" — the location of every problem of this event
//     item.offset   // bytes read so far (progress, remaining time)
//     item.event    // the event's JSON object, or null when it could not be read …
//     item.error    // … then {es, en}: why (reported as board.encoding)
//   }
//   onChunk(bytes) sees every byte of the board file once (its SHA-256 for the record's index).
//
// Version 1 (JSON Lines) is below. A version-2 reader (the compact binary board) implements the same
// `events()` — decoding each record into the same event object — and is added to READERS.

import { errorText } from "../../booth/js/errors.js";
import { parseStrictJson } from "./json.js";
import { blobLines } from "./sources.js";

export const BOARD_FILE = "board.jsonl";

class JsonLinesBoard {
  constructor(blob) {
    this.name = BOARD_FILE;
    this.blob = blob;
    this.size = blob ? blob.size : 0;
  }

  async* events({ onChunk } = {}) {
    if (!this.blob) return;
    for await (const { lineno, text, offset } of blobLines(this.blob, { onChunk })) {
      const where = `${BOARD_FILE}:${lineno}`;
      if (text === null) {
        yield { where, lineno, offset, event: null, error: { es: `${BOARD_FILE}, línea ${lineno}: no está en UTF-8`,
          en: `${BOARD_FILE}, line ${lineno}: not UTF-8` } };
        continue;
      }
      try {
        const event = parseStrictJson(text, `${BOARD_FILE}, línea ${lineno}`, { compact: true });
        yield { where, lineno, offset, event, error: null };
      } catch (err) {
        const e = errorText(err);
        yield { where, lineno, offset, event: null,
          error: { es: e.es, en: e.en.replace(`${BOARD_FILE}, línea ${lineno}`, `${BOARD_FILE}, line ${lineno}`) } };
      }
    }
  }
}

/** Board readers by record format version (record.json "version"). */
export const READERS = Object.freeze({ 1: (files) => new JsonLinesBoard(files.blob(BOARD_FILE)) });

/** The board reader of this record's format version, or null when there is none. */
export function boardReader(files, header) {
  const make = READERS[header.version];
  return make ? make(files) : null;
}
