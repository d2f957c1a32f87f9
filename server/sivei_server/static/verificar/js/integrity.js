// The software-integrity constancia (integrity.json) the opening act names (mirrors
// IntegrityConstancia.from_json in sivei/integrity.py): its digest is SHA3-256 over the canonical
// JSON of its file list.

import { sha3_256 } from "../../booth/vendor/noble-hashes-2.4.0/sha3.js";
import { bytesToHex } from "../../booth/js/bytes.js";
import { canonicalJson } from "../../booth/js/encoding.js";
import { EncodingError } from "../../booth/js/errors.js";

const SCHEMA = "sivei-integridad/1";
const PACKAGE = "sivei";
const FIELDS = ["schema", "package", "package_version", "python_version", "mode", "packages", "static_dirs", "lock_file",
  "files", "digest"];
const KINDS = ["package", "launcher", "static", "lock"];

function fail(es, en) {
  throw new EncodingError(`constancia: ${es}`, `constancia: ${en}`);
}

function checkPath(path, allowParent) {
  if (typeof path !== "string" || path === "") fail("ruta vacía o no textual", "empty or non-text path");
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f\\]/.test(path)) fail(`ruta con caracteres no permitidos: '${path}'`, `path with characters not allowed: '${path}'`);
  let parts = path.split("/");
  if (path.startsWith("/") || parts.some((p) => p === "" || p === ".")) fail(`ruta no canónica: '${path}'`, `non-canonical path: '${path}'`);
  if (allowParent) while (parts.length > 0 && parts[0] === "..") parts = parts.slice(1);
  if (parts.length === 0 || parts.includes("..")) fail(`ruta con '..': '${path}'`, `path with '..': '${path}'`);
}

/** SHA3-256 over the canonical JSON of the file list (Python's files_digest). */
export function filesDigest(files) {
  return sha3_256(canonicalJson(files.map((f) => ({ kind: f.kind, path: f.path, sha3_256: f.sha3_256 }))));
}

/** Strict parse of integrity.json; returns {digest (bytes), files}. Errors are EncodingError. */
export function parseConstancia(obj) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj) || Object.keys(obj).length !== FIELDS.length
    || !FIELDS.every((k) => Object.prototype.hasOwnProperty.call(obj, k))) {
    fail(`se esperaban exactamente los campos [${[...FIELDS].sort().map((k) => `'${k}'`).join(", ")}]`,
      `expected exactly the fields [${[...FIELDS].sort().map((k) => `'${k}'`).join(", ")}]`);
  }
  if (obj.schema !== SCHEMA || obj.package !== PACKAGE) {
    fail(`esquema o paquete desconocido (se esperaba ${SCHEMA}, ${PACKAGE})`, `unknown schema or package (expected ${SCHEMA}, ${PACKAGE})`);
  }
  for (const name of ["package_version", "python_version"]) {
    if (typeof obj[name] !== "string" || obj[name] === "" || obj[name].length > 100) fail(`${name} no válido`, `invalid ${name}`);
  }
  const packages = obj.packages;
  if (packages === null || typeof packages !== "object" || Array.isArray(packages)
    || !Object.values(packages).every((v) => v === "record" || v === "source-tree") || Object.keys(packages).length === 0) {
    fail("packages: se esperaba un objeto paquete → modo", "packages: expected an object package → mode");
  }
  const modes = new Set(Object.values(packages));
  const mode = modes.size === 1 ? [...modes][0] : "mixed";
  if (obj.mode !== mode) fail(`mode: '${obj.mode}' no corresponde a los paquetes (${mode})`, `mode: '${obj.mode}' does not match the packages (${mode})`);
  const dirs = obj.static_dirs;
  if (!Array.isArray(dirs) || !dirs.every((d) => typeof d === "string" && d !== "" && !/[/\\]/.test(d) && d !== "." && d !== "..")
    || dirs.some((d, i) => i > 0 && d <= dirs[i - 1])) {
    fail("static_dirs debe ser una lista de nombres ordenada y sin repetidos", "static_dirs must be a sorted list of names without repeats");
  }
  if (obj.lock_file !== null && typeof obj.lock_file !== "string") fail("lock_file: se esperaba un nombre o null", "lock_file: expected a name or null");
  if (!Array.isArray(obj.files)) fail("files: se esperaba una lista", "files: expected a list");
  const files = obj.files.map((f, i) => {
    if (f === null || typeof f !== "object" || Array.isArray(f) || Object.keys(f).length !== 3
      || !["kind", "path", "sha3_256"].every((k) => Object.prototype.hasOwnProperty.call(f, k))) {
      fail(`files[${i}]: se esperaban los campos kind, path, sha3_256`, `files[${i}]: expected the fields kind, path, sha3_256`);
    }
    if (!KINDS.includes(f.kind)) fail(`tipo de archivo desconocido: '${f.kind}'`, `unknown file kind: '${f.kind}'`);
    checkPath(f.path, f.kind === "launcher");
    if (typeof f.sha3_256 !== "string" || !/^[0-9a-f]{64}$/.test(f.sha3_256)) {
      fail(`${f.path}: se esperaban 64 dígitos hexadecimales en minúscula`, `${f.path}: expected 64 lowercase hex digits`);
    }
    if (f.kind === "static" && !dirs.includes(f.path.split("/")[0])) {
      fail(`${f.path} no pertenece a un directorio estático declarado`, `${f.path} is not in a declared static directory`);
    }
    return f;
  });
  const keys = files.map((f) => `${f.kind}\u0000${f.path}`);
  if (keys.some((k, i) => i > 0 && k <= keys[i - 1])) {
    fail("los archivos deben estar ordenados por tipo y ruta, sin repetidos", "files must be sorted by kind and path, without repeats");
  }
  const locks = files.filter((f) => f.kind === "lock").map((f) => f.path);
  if (locks.join("\n") !== (obj.lock_file === null ? "" : obj.lock_file)) {
    fail("lock_file no corresponde a los archivos de tipo lock", "lock_file does not match the files of kind lock");
  }
  const digest = filesDigest(files);
  if (obj.digest !== bytesToHex(digest)) fail("digest no corresponde a la lista de archivos", "digest does not match the file list");
  return { digest, files };
}
