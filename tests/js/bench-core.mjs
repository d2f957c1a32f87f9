// Encryption timings of the booth's JavaScript on the production group, shared by the node command
// (bench.mjs) and the browser page (bench.html). Each run uses a fresh Group object, so it pays
// for building the g and K tables, as a booth page does once.

import { ElectionContext, ElectionKey, Group, Manifest, PRODUCTION_GROUP as P, encryptBallot, signBallot,
  credentialSeed, credentialPublicKey, formatCredential } from "../../server/sivei_server/static/booth/js/index.js";

const now = () => performance.now();

function freshGroup() {
  return new Group(P.name, P.p, P.q, P.g);
}

/**
 * One measurement: {tablesMs, encryptMs, signMs, totalMs, options}.
 * shape: {teeth, columns} of the comb tables (default: the library's).
 */
export async function measure(manifestJson, style, choices, { shape, jointKey, electionHash } = {}) {
  const group = freshGroup();
  const manifest = Manifest.fromJson(manifestJson);
  const k = jointKey ?? P.gPow(0x5eed5eed5eed5eedn);
  const ctx = new ElectionContext(manifest, new ElectionKey(group, k), electionHash ?? new Uint8Array(32).fill(7));
  const credential = formatCredential("0DJZF42J6A80F1BKXTDDC26VBS");
  const seed = await credentialSeed(manifest.electionId, credential);
  const publicCredential = await credentialPublicKey(manifest.electionId, credential);
  const nonce = crypto.getRandomValues(new Uint8Array(32));

  const t0 = now();
  group.fixedBase(group.g, shape);
  group.fixedBase(k, shape);
  const t1 = now();
  const ballot = await encryptBallot(ctx, style, choices, publicCredential, nonce);
  await ballot.trackingCode(ctx);
  const t2 = now();
  await signBallot(ctx, ballot, seed);
  const t3 = now();
  const options = manifest.styleContests(style).reduce((n, [, c]) => n + c.options.length, 0);
  return { tablesMs: t1 - t0, encryptMs: t2 - t1, signMs: t3 - t2, totalMs: t3 - t0, options };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The first (cold) run and the median of `runs` further runs, for each case. */
export async function benchmark(cases, { runs = 5, shapes = [undefined], log = console.log } = {}) {
  const results = [];
  for (const c of cases) {
    for (const shape of shapes) {
      const label = `${c.name}${shape ? ` comb ${shape.teeth}x${shape.columns}` : ""}`;
      const first = await measure(c.manifest, c.style, c.choices, { shape });
      const warm = [];
      for (let i = 0; i < runs; i++) warm.push(await measure(c.manifest, c.style, c.choices, { shape }));
      const summary = {
        case: label,
        options: first.options,
        first: round(first),
        median: {
          tablesMs: median(warm.map((r) => r.tablesMs)),
          encryptMs: median(warm.map((r) => r.encryptMs)),
          signMs: median(warm.map((r) => r.signMs)),
          totalMs: median(warm.map((r) => r.totalMs)),
        },
      };
      summary.median = round(summary.median);
      results.push(summary);
      log(`${label} (${first.options} options): first run ${fmt(summary.first)}; median of ${runs}: ${fmt(summary.median)}`);
    }
  }
  return results;
}

function round(r) {
  const out = {};
  for (const [k, v] of Object.entries(r)) out[k] = typeof v === "number" && k.endsWith("Ms") ? Math.round(v * 10) / 10 : v;
  return out;
}

function fmt(r) {
  return `tables ${r.tablesMs} ms + encryption ${r.encryptMs} ms = ${(r.tablesMs + r.encryptMs).toFixed(1)} ms ` +
    `(signature ${r.signMs} ms)`;
}

export const EG_SHAPE_CHOICES = { c4: "PAN", c6: "MC", c8: "PT_MORENA" };
export const SAMPLE_STYLE = "chih";
export const SAMPLE_CHOICES = { "gob-chih": "PAN_PRI", "sen-norte": "MORENA", "rm-2027": "SIGA" };
