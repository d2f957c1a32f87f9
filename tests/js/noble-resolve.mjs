// Node loader hook for the JavaScript tests (`node --import ./tests/js/noble-resolve.mjs --test …`):
// resolves the bare specifiers the vendored @noble/curves uses ("@noble/hashes/sha2.js") to the
// vendored @noble/hashes, as scripts/bundle.mjs does for the verification pages' bundle (its BARE).

import { register } from "node:module";

register("./noble-resolve-hooks.mjs", import.meta.url);
