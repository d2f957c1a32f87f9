// The resolve hook registered by noble-resolve.mjs (module hooks run in their own thread).

import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PREFIXES = {
  "@noble/hashes/": join(ROOT, "server", "sivei_server", "static", "booth", "vendor", "noble-hashes-2.4.0"),
};

export async function resolve(specifier, context, nextResolve) {
  for (const [prefix, dir] of Object.entries(PREFIXES)) {
    if (specifier.startsWith(prefix)) {
      return { url: pathToFileURL(join(dir, specifier.slice(prefix.length))).href, shortCircuit: true };
    }
  }
  return nextResolve(specifier, context);
}
