// Where a record comes from, as a map of its files (path relative to the record, "/" separators) to
// Blobs: a folder chosen with <input type=file webkitdirectory>, a .tar.gz of the record (what the
// voting server publishes at /tablero/registro.tar.gz), or that archive fetched from the server.
// Nothing is read whole: files are Blobs (the browser keeps big ones on disk) and are read in slices.

import { EncodingError } from "../../booth/js/errors.js";

/** The files of one record. */
export class RecordFiles {
  /** files: Map path → Blob (File); label: what the observer chose, for the report. */
  constructor(label, files) {
    this.label = label;
    this.files = files;
  }

  names() {
    return [...this.files.keys()].sort();
  }

  has(name) {
    return this.files.has(name);
  }

  blob(name) {
    return this.files.get(name) ?? null;
  }

  size(name) {
    const b = this.files.get(name);
    return b ? b.size : 0;
  }

  /** A whole (small) file as text; UTF-8 errors are refused. */
  async text(name) {
    const blob = this.files.get(name);
    if (!blob) throw new EncodingError(`${name}: falta el archivo`, `${name}: file missing`);
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(await blob.arrayBuffer());
    } catch {
      throw new EncodingError(`${name}: el archivo no está en UTF-8`, `${name}: the file is not UTF-8`);
    }
  }
}

/**
 * The files under the record's own folder: the one holding record.json (the least deep, when a
 * parent folder or an archive with a top folder was chosen), paths made relative to it. Without a
 * record.json, the files as given. Returns [files, folder prefix].
 */
export function atRecordRoot(files) {
  const headers = [...files.keys()].filter((p) => p === "record.json" || p.endsWith("/record.json"))
    .sort((a, b) => a.split("/").length - b.split("/").length || (a < b ? -1 : 1));
  if (headers.length === 0) return [files, ""];
  const prefix = headers[0].slice(0, -"record.json".length);
  return [new Map([...files].filter(([p]) => p.startsWith(prefix)).map(([p, b]) => [p.slice(prefix.length), b])), prefix];
}

/** The files chosen with a folder picker (webkitRelativePath "folder/acts/opening.json"), relative
 * to the record's folder. */
export function recordFromFileList(fileList, label = "") {
  const chosen = new Map();
  for (const file of fileList) chosen.set(file.webkitRelativePath || file.name, file);
  const [files, prefix] = atRecordRoot(chosen);
  return new RecordFiles(label || prefix.replace(/\/$/, "") || "registro", files);
}

// -- .tar.gz ------------------------------------------------------------------------------------------

function octal(bytes) {
  const text = new TextDecoder().decode(bytes).replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new EncodingError("archivo tar dañado (tamaño no válido)", "damaged tar archive (invalid size)");
  return parseInt(text, 8);
}

function cString(bytes) {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** pax extended header records "LEN key=value\n" → {key: value}. */
function paxRecords(bytes) {
  const out = {};
  const text = new TextDecoder().decode(bytes);
  let i = 0;
  while (i < text.length) {
    const space = text.indexOf(" ", i);
    if (space < 0) break;
    const length = parseInt(text.slice(i, space), 10);
    if (!(length > 0)) break;
    const record = text.slice(space + 1, i + length - 1);
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += length;
  }
  return out;
}

/**
 * Read a tar stream (ustar, with pax or GNU long names) into Map path → Blob, regular files only,
 * relative to the record's folder ("registro/…" in the server's archive).
 * onBytes(n): called with the number of archive bytes read so far.
 */
export async function readTar(stream, { onBytes } = {}) {
  const reader = stream.getReader();
  let buffer = new Uint8Array(0);
  let total = 0;
  let done = false;
  const fill = async (need) => {
    while (buffer.length < need && !done) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        break;
      }
      const chunk = r.value;
      total += chunk.length;
      if (onBytes) onBytes(total);
      const next = new Uint8Array(buffer.length + chunk.length);
      next.set(buffer);
      next.set(chunk, buffer.length);
      buffer = next;
    }
    return buffer.length >= need;
  };
  const take = (n) => {
    const out = buffer.subarray(0, n);
    buffer = buffer.subarray(n);
    return out;
  };
  const files = new Map();
  let longName = null;
  let pax = {};
  for (;;) {
    if (!(await fill(512))) break;
    const header = take(512).slice();
    if (header.every((b) => b === 0)) break;
    const name = cString(header.subarray(0, 100));
    const size = octal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] || 48);
    const prefix = cString(header.subarray(345, 500));
    const dataSize = pax.size !== undefined ? parseInt(pax.size, 10) : size;
    // The file's data, in pieces (a big board never sits in one buffer), then the padding to 512.
    const parts = [];
    let left = Math.ceil(dataSize / 512) * 512;
    let keep = dataSize;
    while (left > 0) {
      if (!(await fill(Math.min(left, 1 << 20)))) {
        throw new EncodingError("archivo tar truncado", "truncated tar archive");
      }
      const n = Math.min(left, buffer.length);
      const piece = take(n);
      if (keep > 0) parts.push(piece.slice(0, Math.min(keep, n)));
      keep -= Math.min(keep, n);
      left -= n;
    }
    if (type === "x") {
      pax = paxRecords(concat(parts));
      continue;
    }
    if (type === "g") continue;
    if (type === "L") {
      longName = cString(concat(parts));
      continue;
    }
    const path = pax.path || longName || (prefix ? `${prefix}/${name}` : name);
    pax = {};
    longName = null;
    if (type === "0" || type === "\0" || type === "7") files.set(path.replace(/^\.\//, ""), new Blob(parts));
  }
  reader.releaseLock();
  return atRecordRoot(files)[0];
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A .tar.gz (a File, a Blob or a byte stream) → RecordFiles. onBytes(n, total): progress. */
export async function recordFromTarGz(source, label, { onBytes, totalBytes } = {}) {
  if (typeof DecompressionStream !== "function") {
    throw new EncodingError("este navegador no puede descomprimir .tar.gz: elija la carpeta del registro",
      "this browser cannot decompress .tar.gz: choose the record's folder");
  }
  let compressed = 0;
  const stream = source instanceof Blob ? source.stream() : source;
  const counted = stream.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      compressed += chunk.length;
      if (onBytes) onBytes(compressed, totalBytes ?? (source instanceof Blob ? source.size : 0));
      controller.enqueue(chunk);
    },
  }));
  let files;
  try {
    files = await readTar(counted.pipeThrough(new DecompressionStream("gzip")));
  } catch (err) {
    if (err instanceof EncodingError) throw err;
    throw new EncodingError(`no es un .tar.gz legible: ${err.message}`, `not a readable .tar.gz: ${err.message}`);
  }
  return new RecordFiles(label, files);
}

/** Fetch a published .tar.gz (the voting server's /tablero/registro.tar.gz) and read it. */
export async function recordFromUrl(url, { onBytes } = {}) {
  const response = await fetch(url, { credentials: "omit" });
  if (!response.ok || response.body === null) {
    throw new EncodingError(`no se pudo descargar ${url} (${response.status})`, `could not download ${url} (${response.status})`);
  }
  const total = Number(response.headers.get("Content-Length")) || 0;
  return recordFromTarGz(response.body, new URL(url, globalThis.location ? globalThis.location.href : undefined).href,
    { onBytes, totalBytes: total });
}

// -- lines ------------------------------------------------------------------------------------------

const NEWLINE = 10;

/**
 * The lines of a JSON Lines Blob, read in slices of `chunkBytes`: yields {lineno, text | null, offset}
 * with the byte offset after the line (progress) — text null when the line is not valid UTF-8 (the
 * caller reports it at that line). onChunk(bytes): every slice as read (to hash the whole file in the
 * same pass).
 */
export async function* blobLines(blob, { chunkBytes = 4 << 20, onChunk } = {}) {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let carry = new Uint8Array(0);
  let lineno = 0;
  let offset = 0;
  for (let start = 0; start < blob.size; start += chunkBytes) {
    const chunk = new Uint8Array(await blob.slice(start, Math.min(blob.size, start + chunkBytes)).arrayBuffer());
    if (onChunk) onChunk(chunk);
    let from = 0;
    let nl = chunk.indexOf(NEWLINE, from);
    while (nl >= 0) {
      let bytes = chunk.subarray(from, nl + 1);
      if (carry.length > 0) {
        bytes = concat([carry, bytes]);
        carry = new Uint8Array(0);
      }
      offset += bytes.length;
      lineno += 1;
      yield { lineno, text: decodeLine(decoder, bytes), offset };
      from = nl + 1;
      nl = chunk.indexOf(NEWLINE, from);
    }
    if (from < chunk.length) carry = concat([carry, chunk.subarray(from)]);
  }
  if (carry.length > 0) {
    offset += carry.length;
    lineno += 1;
    yield { lineno, text: decodeLine(decoder, carry), offset };
  }
}

function decodeLine(decoder, bytes) {
  try {
    const text = decoder.decode(bytes);
    return text.endsWith("\n") ? text.slice(0, -1) : text;
  } catch {
    return null;
  }
}
