#!/usr/bin/env node
// Builds server/sivei_server/static/verificar/sivei-verificar.js: the booth's cryptography
// (static/booth/js/index.js and every module it imports) as ONE classic script, so that the
// static verification page also works when opened from a file (browsers refuse ES modules from
// file:// URLs) or from any mirror. No dependency and no network: a small, strict rewrite of the
// module syntax those files use, nothing else is touched.
//
//   node scripts/bundle-verify.mjs            # write the bundle
//   node scripts/bundle-verify.mjs --check    # exit 1 if the committed bundle is not up to date
//   node scripts/bundle-verify.mjs --stdout   # print it
//
// Each module becomes a function whose body is the module's own text, with
//   import { a, b as c } from "./x.js"  →  const { a, b: c } = __modules["x"];
//   import * as ns from "./x.js"        →  const ns = __modules["x"];
//   export function|class|const|let f   →  function|class|const|let f   (f is exported)
//   export { a, b as c } [from "./x.js"], export * [as ns] from "./x.js"
//   import.meta.url                     →  the bundle's own URL
// The modules run in dependency order (ties by name) and the result is globalThis.SiveiVerificar
// (the exports of index.js). Any other use of import/export stops the build: the rewrite is kept
// exact rather than clever. The output is deterministic (same sources, same bytes) and names the
// SHA-256 of every source file it contains.

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SOURCE_DIR = join(ROOT, "server", "sivei_server", "static", "booth", "js");
const OUTPUT = join(ROOT, "server", "sivei_server", "static", "verificar", "sivei-verificar.js");
const ENTRY = "index";

const IDENT = "[A-Za-z_$][\\w$]*";
const SPEC = '"\\./([\\w-]+)\\.js"';

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
  const deps = new Set();
  const exported = []; // [exportedName, localExpression]
  const reexports = []; // modules whose every export is re-exported
  let text = source;

  text = text.replace(new RegExp(`^import\\s*\\{([^}]*)\\}\\s*from\\s*${SPEC};?`, "gm"), (_, list, dep) => {
    deps.add(dep);
    const names = parseNames(list, module).map((n) => (n.name === n.as ? n.name : `${n.name}: ${n.as}`));
    return `const { ${names.join(", ")} } = __modules["${dep}"];`;
  });
  text = text.replace(new RegExp(`^import\\s*\\*\\s*as\\s+(${IDENT})\\s+from\\s*${SPEC};?`, "gm"), (_, ns, dep) => {
    deps.add(dep);
    return `const ${ns} = __modules["${dep}"];`;
  });
  text = text.replace(new RegExp(`^export\\s*\\*\\s*as\\s+(${IDENT})\\s+from\\s*${SPEC};?`, "gm"), (_, ns, dep) => {
    deps.add(dep);
    exported.push([ns, `__modules["${dep}"]`]);
    return "";
  });
  text = text.replace(new RegExp(`^export\\s*\\*\\s*from\\s*${SPEC};?`, "gm"), (_, dep) => {
    deps.add(dep);
    reexports.push(dep);
    return "";
  });
  text = text.replace(new RegExp(`^export\\s*\\{([^}]*)\\}\\s*from\\s*${SPEC};?`, "gm"), (_, list, dep) => {
    deps.add(dep);
    for (const n of parseNames(list, module)) exported.push([n.as, `__modules["${dep}"].${n.name}`]);
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
  return { module, deps: [...deps].sort(), exported, reexports, text };
}

function order(modules) {
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
  visit(ENTRY, []);
  return done;
}

function load() {
  const modules = new Map();
  const sources = new Map();
  const pending = [ENTRY];
  while (pending.length > 0) {
    const name = pending.pop();
    if (modules.has(name)) continue;
    const source = readFileSync(join(SOURCE_DIR, `${name}.js`), "utf8");
    sources.set(name, source);
    const m = transform(name, source);
    modules.set(name, m);
    pending.push(...m.deps);
  }
  return { modules, sources };
}

export function build() {
  const { modules, sources } = load();
  const names = order(modules);
  const sha = (text) => createHash("sha256").update(text, "utf8").digest("hex");
  const rel = relative(ROOT, SOURCE_DIR).split("\\").join("/");
  const out = [];
  out.push("// GENERATED by scripts/bundle-verify.mjs — do not edit; run `node scripts/bundle-verify.mjs`.");
  out.push(`// The booth's cryptography (${rel}/) as one classic script for the static verification page.`);
  out.push("// Sources (SHA-256):");
  for (const name of [...names].sort()) out.push(`//   ${sha(sources.get(name))}  ${rel}/${name}.js`);
  out.push("(function () {");
  out.push('"use strict";');
  out.push("const __modules = Object.create(null);");
  out.push("const __bundleUrl = (typeof document !== \"undefined\" && document.currentScript && document.currentScript.src)");
  out.push("  || (typeof location !== \"undefined\" ? String(location.href) : \"\");");
  for (const name of names) {
    const m = modules.get(name);
    out.push("");
    out.push(`// ---- ${rel}/${name}.js ----`);
    out.push(`__modules["${name}"] = (function () {`);
    out.push(m.text.replace(/\s+$/, ""));
    const entries = [];
    for (const dep of m.reexports) entries.push(`...__modules["${dep}"]`);
    for (const [as, local] of m.exported) entries.push(as === local ? as : `${as}: ${local}`);
    out.push(`return Object.freeze({ ${entries.join(", ")} });`);
    out.push("})();");
  }
  out.push("");
  out.push(`globalThis.SiveiVerificar = __modules["${ENTRY}"];`);
  out.push("})();");
  return out.join("\n") + "\n";
}

function main(argv) {
  const text = build();
  if (argv.includes("--stdout")) {
    process.stdout.write(text);
  } else if (argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(OUTPUT, "utf8");
    } catch {
      // missing: not up to date
    }
    if (current !== text) {
      process.stderr.write(`${relative(ROOT, OUTPUT)} is not up to date: run node scripts/bundle-verify.mjs\n`);
      process.exit(1);
    }
    process.stdout.write(`${relative(ROOT, OUTPUT)} is up to date\n`);
  } else {
    writeFileSync(OUTPUT, text);
    process.stdout.write(`wrote ${relative(ROOT, OUTPUT)} (${text.length} bytes)\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
