// Strict JSON for every file of the record (as sivei.jsonstrict): a duplicate key anywhere is refused
// (JSON.parse keeps the last of two equal keys, so two parsers could read two different ballots from
// one line), and so is any number with a fraction or an exponent (the record has integers only).

import { EncodingError } from "../../booth/js/errors.js";

/** The first duplicate key or non-integer number in `text` (valid JSON), or null. */
function findStrictnessProblem(text) {
  const stack = []; // a Set of keys per open object, null per open array
  let expectKey = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = text[j];
        if (escaped) escaped = false;
        else if (d === "\\") escaped = true;
        else if (d === '"') break;
        j++;
      }
      if (expectKey) {
        const raw = text.slice(i, j + 1);
        const key = raw.includes("\\") ? JSON.parse(raw) : raw.slice(1, -1);
        const keys = stack[stack.length - 1];
        if (keys.has(key)) return { es: `clave repetida '${key}'`, en: `duplicate key '${key}'` };
        keys.add(key);
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === "{") {
      stack.push(new Set());
      expectKey = true;
    } else if (c === "[") {
      stack.push(null);
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      expectKey = stack.length > 0 && stack[stack.length - 1] !== null;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      let j = i + 1;
      while (j < n && /[0-9.eE+-]/.test(text[j])) j++;
      if (/[.eE]/.test(text.slice(i, j))) return { es: "número no entero", en: "non-integer number" };
      i = j;
      continue;
    }
    i++;
  }
  return null;
}

/**
 * JSON.parse refusing duplicate keys and non-integer numbers; errors are EncodingError naming `what`.
 * compact: when true and `text` is exactly JSON.stringify of the value (no whitespace: what the
 * record's JSON Lines are), the character scan is skipped — a duplicate key (JSON.parse keeps one) or
 * a fraction ("1.0" reads as 1) could not survive re-serialisation unchanged.
 */
export function parseStrictJson(text, what, { compact = false } = {}) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new EncodingError(`${what}: JSON no válido (${err.message})`, `${what}: invalid JSON (${err.message})`);
  }
  if (compact && JSON.stringify(value) === text) return value;
  const problem = findStrictnessProblem(text);
  if (problem !== null) {
    throw new EncodingError(`${what}: JSON no válido (${problem.es})`, `${what}: invalid JSON (${problem.en})`);
  }
  return value;
}
