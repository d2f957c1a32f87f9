#!/usr/bin/env node
// Builds the two committed bundles of the voter's pages, each ONE classic script:
//
// * server/sivei_server/static/booth/dist/cabina.js — the booth (static/booth/ui/cabina.js and
//   every module it imports) AND its encryption worker (static/booth/js/worker.js): one download on
//   a slow link instead of ~35 module requests in six round trips. The page runs it with <script
//   defer>; the worker is started from the same URL (the HTTP cache serves it) and runs the worker's
//   entry instead.
// * server/sivei_server/static/verificar/sivei-verificar.js — the booth's cryptography
//   (static/booth/js/index.js) for the static verification page, which must also work when opened
//   from a file (browsers refuse ES modules from file:// URLs) or from any mirror; its exports are
//   globalThis.SiveiVerificar.
//
//   node scripts/bundle.mjs            # write both
//   node scripts/bundle.mjs --check    # exit 1 if a committed bundle is not up to date
//
// No dependency and no network: a small, strict rewrite of the module syntax those files use,
// nothing else is touched. Each module becomes a function whose body is the module's own text, run
// once when first required, in import order (as the browser would: the booth's enlace.js, its first
// import, still runs before anything else), with
//   import { a, b as c } from "./x.js"  →  const { a, b: c } = __require("dir/x");
//   import * as ns from "../js/x.js"    →  const ns = __require("js/x");
//   export function|class|const|let f   →  function|class|const|let f   (f is exported)
//   export { a, b as c } [from "./x.js"], export * [as ns] from "./x.js"
//   import.meta.url                     →  the bundle's own URL
//   import {} from "./x.js"             →  __require("dir/x");   (run for its effects, in order)
// Specifiers may be in double or single quotes. Module names are paths under static/ without ".js"
// ("booth/js/index", "verificar/js/registro"). The vendored @noble/curves imports @noble/hashes
// through bare specifiers ("@noble/hashes/sha2.js"): BARE maps those prefixes to the vendored copy
// (as an import map would; tests/js/noble-resolve.mjs does the same for node).
// Any other use of import/export stops the build: the rewrite is kept exact rather than clever. The
// output is deterministic (same sources, same bytes) and names the SHA-256 of every source in it.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const STATIC = join(ROOT, "server", "sivei_server", "static");
const BOOTH = join(STATIC, "booth");

/** Bare specifier prefixes of vendored packages → module name prefixes under static/. */
export const BARE = Object.freeze({
  "@noble/hashes/": "booth/vendor/noble-hashes-2.4.0/",
});

const TARGETS = [
  {
    output: join(BOOTH, "dist", "cabina.js"),
    title: "The voting booth (static/booth/ui/cabina.js) and its encryption worker (static/booth/js/worker.js) as one classic script.",
    entries: ["booth/ui/cabina", "booth/js/worker"],
    // In a page: the booth; in a dedicated worker (no document): the worker's message loop.
    run: ['if (typeof document !== "undefined") __require("booth/ui/cabina");',
      'else if (typeof importScripts === "function") __require("booth/js/worker");'],
  },
  {
    output: join(ROOT, "server", "sivei_server", "static", "verificar", "sivei-verificar.js"),
    title: "The booth's cryptography (static/booth/js/) and the record checker (static/verificar/js/) as one " +
      "classic script for the static verification pages.",
    entries: ["booth/js/index", "verificar/js/index"],
    run: ['globalThis.SiveiVerificar = Object.freeze({ ...__require("booth/js/index"), ' +
      'registro: __require("verificar/js/index") });'],
  },
];

const IDENT = "[A-Za-z_$][\\w$]*";
// A module specifier in double or single quotes: relative ("./x.js", "../y/z.js") or a BARE prefix.
const SPEC = `(?:"([^"\\n]+)\\.js"|'([^'\\n]+)\\.js')`;

function fail(module, message) {
  throw new Error(`${module}.js: ${message}`);
}

function parseNames(list, module) {
  return list.split(",").map((s) => s.trim()).filter(Boolean).map((item) => {
    const m = new RegExp(`^(${IDENT})(?:\\s+as\\s+(${IDENT}))?$`).exec(item);
    if (!m) fail(module, `cannot read the name list item ${JSON.stringify(item)}`);
    return { name: m[1], as: m[2] || m[1] };
  });
}

function transform(module, source) {
  const deps = []; // in import order
  const exported = []; // [exportedName, localExpression]
  const reexports = []; // modules whose every export is re-exported
  // spec1 / spec2: the double- or single-quoted specifier without ".js" (one of them is undefined).
  const resolve = (spec1, spec2) => {
    const spec = spec1 === undefined ? spec2 : spec1;
    let name;
    if (spec.startsWith("./") || spec.startsWith("../")) {
      name = posix.normalize(posix.join(posix.dirname(module), spec));
    } else {
      const prefix = Object.keys(BARE).find((p) => spec.startsWith(p));
      if (prefix === undefined) fail(module, `bare specifier with no vendored copy: ${spec}`);
      name = BARE[prefix] + spec.slice(prefix.length);
    }
    if (name.startsWith("..") || !/^[\w./-]+$/.test(name)) fail(module, `import outside static/: ${spec}`);
    if (!deps.includes(name)) deps.push(name);
    return name;
  };
  const req = (name) => `__require("${name}")`;
  let text = source;

  text = text.replace(new RegExp(`^import\\s*\\{([^}]*)\\}\\s*from\\s*${SPEC};?`, "gm"), (_, list, s1, s2) => {
    const dep = resolve(s1, s2);
    const names = parseNames(list, module).map((n) => (n.name === n.as ? n.name : `${n.name}: ${n.as}`));
    return `const { ${names.join(", ")} } = ${req(dep)};`;
  });
  text = text.replace(new RegExp(`^import\\s*\\*\\s*as\\s+(${IDENT})\\s+from\\s*${SPEC};?`, "gm"), (_, ns, s1, s2) =>
    `const ${ns} = ${req(resolve(s1, s2))};`);
  text = text.replace(new RegExp(`^export\\s*\\*\\s*as\\s+(${IDENT})\\s+from\\s*${SPEC};?`, "gm"), (_, ns, s1, s2) => {
    exported.push([ns, req(resolve(s1, s2))]);
    return "";
  });
  text = text.replace(new RegExp(`^export\\s*\\*\\s*from\\s*${SPEC};?`, "gm"), (_, s1, s2) => {
    reexports.push(resolve(s1, s2));
    return "";
  });
  text = text.replace(new RegExp(`^export\\s*\\{([^}]*)\\}\\s*from\\s*${SPEC};?`, "gm"), (_, list, s1, s2) => {
    const dep = resolve(s1, s2);
    for (const n of parseNames(list, module)) exported.push([n.as, `${req(dep)}.${n.name}`]);
    return "";
  });
  text = text.replace(/^export\s*\{([^}]*)\};?/gm, (_, list) => {
    for (const n of parseNames(list, module)) exported.push([n.as, n.name]);
    return "";
  });
  text = text.replace(new RegExp(`^export\\s+((?:async\\s+)?function\\*?|class|const|let)\\s+(${IDENT})`, "gm"),
    (_, kind, name) => {
      exported.push([name, name]);
      return `${kind} ${name}`;
    });
  text = text.replace(/\bimport\.meta\.url\b/g, "__bundleUrl");

  // Anything left that looks like module syntax is not understood: stop.
  text.split("\n").forEach((line, i) => {
    if (/^\s*(import|export)\b/.test(line) || /\bimport\.meta\b/.test(line)) {
      fail(module, `line ${i + 1}: module syntax the bundler does not rewrite: ${line.trim()}`);
    }
  });
  return { module, deps, exported, reexports, text };
}

/** Every module reachable from the entries, in the order a module loader would first run them. */
function order(modules, entries) {
  const done = [];
  const state = new Map();
  const visit = (name, path) => {
    if (state.get(name) === "done") return;
    if (state.get(name) === "active") throw new Error(`import cycle: ${[...path, name].join(" → ")}`);
    state.set(name, "active");
    for (const dep of modules.get(name).deps) visit(dep, [...path, name]);
    state.set(name, "done");
    done.push(name);
  };
  for (const entry of entries) visit(entry, []);
  return done;
}

function load(entries) {
  const modules = new Map();
  const sources = new Map();
  const pending = [...entries];
  while (pending.length > 0) {
    const name = pending.pop();
    if (modules.has(name)) continue;
    const source = readFileSync(join(STATIC, `${name}.js`), "utf8");
    sources.set(name, source);
    const m = transform(name, source);
    modules.set(name, m);
    pending.push(...m.deps);
  }
  return { modules, sources };
}

export function build(target) {
  const { modules, sources } = load(target.entries);
  const names = order(modules, target.entries);
  const sha = (text) => createHash("sha256").update(text, "utf8").digest("hex");
  const rel = relative(ROOT, STATIC).split("\\").join("/");
  const out = [];
  out.push("// GENERATED by scripts/bundle.mjs — do not edit; run `node scripts/bundle.mjs`.");
  out.push(`// ${target.title}`);
  out.push("// Sources (SHA-256):");
  for (const name of [...names].sort()) out.push(`//   ${sha(sources.get(name))}  ${rel}/${name}.js`);
  out.push("(function () {");
  out.push('"use strict";');
  out.push("const __defined = Object.create(null);");
  out.push("const __loaded = Object.create(null);");
  out.push("const __require = (name) => {");
  out.push("  if (!(name in __loaded)) __loaded[name] = __defined[name]();");
  out.push("  return __loaded[name];");
  out.push("};");
  out.push("const __bundleUrl = (typeof document !== \"undefined\" && document.currentScript && document.currentScript.src)");
  out.push("  || (typeof location !== \"undefined\" ? String(location.href) : \"\");");
  for (const name of names) {
    const m = modules.get(name);
    out.push("");
    out.push(`// ---- ${rel}/${name}.js ----`);
    out.push(`__defined["${name}"] = function () {`);
    out.push(m.text.replace(/\s+$/, ""));
    const entries = [];
    for (const dep of m.reexports) entries.push(`...__require("${dep}")`);
    for (const [as, local] of m.exported) entries.push(as === local ? as : `${as}: ${local}`);
    out.push(`return Object.freeze({ ${entries.join(", ")} });`);
    out.push("};");
  }
  out.push("");
  out.push(...target.run);
  out.push("})();");
  return out.join("\n") + "\n";
}

function main(argv) {
  let stale = 0;
  for (const target of TARGETS) {
    const text = build(target);
    const name = relative(ROOT, target.output);
    if (argv.includes("--check")) {
      let current = "";
      try {
        current = readFileSync(target.output, "utf8");
      } catch {
        // missing: not up to date
      }
      if (current !== text) {
        process.stderr.write(`${name} is not up to date: run node scripts/bundle.mjs\n`);
        stale += 1;
      } else {
        process.stdout.write(`${name} is up to date\n`);
      }
    } else {
      mkdirSync(dirname(target.output), { recursive: true });
      writeFileSync(target.output, text);
      process.stdout.write(`wrote ${name} (${text.length} bytes)\n`);
    }
  }
  if (stale > 0) process.exit(1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
