// The record checker (static/verificar/js) on records on disk, for tests/test_record_checker_js.py:
// stdin {"jobs": [{"path": DIR, "options": {…checkRecord options…}, "receipts": [FILE, …]}]};
// stdout one JSON report per job (the format of `sivei verificar --json`), in Spanish and English.
// Run with `node --import ./tests/js/noble-resolve.mjs` (the vendored @noble/curves' bare imports).

import { readFileSync, readdirSync, statSync } from "node:fs";
import { basename, join, relative } from "node:path";

const R = await import("../../server/sivei_server/static/verificar/js/index.js");

function walk(dir, root = dir, out = new Map()) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, root, out);
    else out.set(relative(root, p).split("\\").join("/"), new Blob([readFileSync(p)]));
  }
  return out;
}

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", async () => {
  const { jobs } = JSON.parse(input);
  const out = [];
  for (const job of jobs) {
    const files = new R.RecordFiles(job.path, walk(job.path));
    const receipts = (job.receipts || []).map((path) => ({ name: basename(path), text: readFileSync(path, "utf8") }));
    const started = performance.now();
    const report = await R.checkRecord(files, { ...job.options, receipts });
    out.push({ es: report.toJson("es"), en: report.toJson("en"), ms: performance.now() - started });
  }
  process.stdout.write(JSON.stringify(out));
});
