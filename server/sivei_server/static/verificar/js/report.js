// The checker's report (mirrors sivei/record/report.py): every failing check with its stable id and
// location, what was checked (facts), the read-aloud fingerprints, and notes — every text kept in
// Spanish and English, so the page can switch language after a long check. toJson(lang) is the
// format of `sivei verificar --json`.

import { bi } from "../../booth/js/errors.js";

export const REPORT_FORMAT = "sivei-verification-report";
export const REPORT_VERSION = 1;
/** Problems listed per check; the rest are counted (a broken chain would otherwise list every line). */
export const MAX_LISTED_PER_CHECK = 50;

function text(value) {
  if (typeof value === "string") return bi(value, value);
  return value;
}

export class Report {
  constructor(record) {
    this.record = record;
    this.problems = [];
    this.notes = [];
    this.facts = new Map(); // key → {label: {es, en}, value}
    this.fingerprints = new Map(); // key → {label, value}
    this.counts = new Map();
    this.heading = null;
    /** The stages run, in order: {id, label: {es, en}, status: "ok" | "failed" | "skipped" | "partial", detail}. */
    this.stages = [];
  }

  get ok() {
    return this.counts.size === 0;
  }

  /** Add a problem: check id, location and message as strings or {es, en}. */
  add(check, location, message) {
    const n = (this.counts.get(check) || 0) + 1;
    this.counts.set(check, n);
    if (n <= MAX_LISTED_PER_CHECK) this.problems.push({ check, location: text(location), message: text(message) });
  }

  has(check) {
    return this.counts.has(check);
  }

  failedChecks() {
    return Object.fromEntries(this.counts);
  }

  /** How many problems were found since `mark` (a count taken with total()). */
  total() {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  addFact(key, label, value) {
    this.facts.set(key, { label: text(label), value });
  }

  addFingerprint(key, label, value, { first = false } = {}) {
    const entry = { label: text(label), value };
    if (first) this.fingerprints = new Map([[key, entry], ...[...this.fingerprints].filter(([k]) => k !== key)]);
    else this.fingerprints.set(key, entry);
  }

  note(es, en) {
    this.notes.push(bi(es, en));
  }

  /** A stage run: its id, label, status ("ok", "failed", "partial", "skipped"), detail and seconds. */
  stage(id, label, status, detail = null, seconds = null) {
    this.stages.push({ id, label: text(label), status, detail: detail === null ? null : text(detail), seconds });
  }

  toJson(lang = "es") {
    const pick = (t) => (lang === "en" ? t.en : t.es);
    const labels = {};
    for (const [k, v] of this.facts) labels[k] = pick(v.label);
    for (const [k, v] of this.fingerprints) labels[k] = pick(v.label);
    return {
      format: REPORT_FORMAT,
      version: REPORT_VERSION,
      record: this.record,
      ok: this.ok,
      language: lang,
      facts: Object.fromEntries([...this.facts].map(([k, v]) => [k, v.value])),
      fingerprints: Object.fromEntries([...this.fingerprints].map(([k, v]) => [k, v.value])),
      labels,
      failed_checks: this.failedChecks(),
      problems: this.problems.map((p) => ({ check: p.check, location: pick(p.location), message: pick(p.message) })),
      notes: this.notes.map(pick),
      stages: this.stages.map((s) => ({ id: s.id, status: s.status, label: pick(s.label),
        ...(s.detail ? { detail: pick(s.detail) } : {}), ...(s.seconds !== null ? { seconds: s.seconds } : {}) })),
    };
  }
}
