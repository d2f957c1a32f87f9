// Booth encryption timings in node on the production group (not a test: run it by hand).
//
//   node tests/js/bench.mjs [--runs N] [--shapes 8x4,8x2,...]
//
// Cases: the benchmarks' "eg-shape" manifest (3 contests of 4, 6 and 8 options: 18) and the sample
// manifest's "chih" style (28 options). The same measurement runs in a browser from bench.html.

import { readFileSync } from "node:fs";
import { join } from "node:path";

import { EG_SHAPE_CHOICES, SAMPLE_CHOICES, SAMPLE_STYLE, benchmark } from "./bench-core.mjs";
import { ROOT } from "./helpers.mjs";

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const runs = Number(arg("--runs", "5"));
const shapes = arg("--shapes", "")
  .split(",").filter(Boolean).map((s) => { const [teeth, columns] = s.split("x").map(Number); return { teeth, columns }; });

const cases = [
  { name: "eg-shape", manifest: JSON.parse(readFileSync(join(ROOT, "tests/js/fixtures/eg-shape-manifest.json"), "utf8")),
    style: "eg-shape", choices: EG_SHAPE_CHOICES },
  { name: "sample chih", manifest: JSON.parse(readFileSync(join(ROOT, "src/sivei/data/sample-manifest.json"), "utf8")),
    style: SAMPLE_STYLE, choices: SAMPLE_CHOICES },
];
console.log(`node ${process.version}, production group (eg2-baseline)`);
await benchmark(cases, { runs, shapes: shapes.length ? shapes : [undefined] });
