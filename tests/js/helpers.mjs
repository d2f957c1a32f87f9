// Shared helpers of the booth's JavaScript tests: paths, the JSON test vectors, hex.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BOOTH_JS = join(ROOT, "server", "sivei_server", "static", "booth", "js");
export const VECTORS = join(ROOT, "tests", "vectors");

/** import() of a booth module by file name, e.g. await booth("ballot.js"). */
export function booth(name) {
  return import(new URL(`file://${join(BOOTH_JS, name)}`).href);
}

export function vector(name) {
  return JSON.parse(readFileSync(join(VECTORS, name), "utf8"));
}

export function readJson(...parts) {
  return JSON.parse(readFileSync(join(ROOT, ...parts), "utf8"));
}

export function hex(bytes) {
  return Buffer.from(bytes).toString("hex");
}

export function unhex(text) {
  return new Uint8Array(Buffer.from(text, "hex"));
}
