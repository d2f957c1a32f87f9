// The browser side of bench.html: vectors through the real worker, then timings (see bench-core.mjs).
import { EG_SHAPE_CHOICES, SAMPLE_CHOICES, SAMPLE_STYLE, benchmark } from "./bench-core.mjs";
import { BoothCrypto } from "../../server/sivei_server/static/booth/js/client.js";
import { PRODUCTION_GROUP as P, elementToHex, bytesToHex, credentialPublicKey, formatCredential }
  from "../../server/sivei_server/static/booth/js/index.js";
import { implementation, setEd25519Mode } from "../../server/sivei_server/static/booth/js/ed25519.js";

const out = document.getElementById("out");
const log = (line) => { out.textContent += line + "\n"; console.log("BENCH " + line); };
const get = async (path) => (await fetch(path)).json();

try {
  log(navigator.userAgent);
  log(`Ed25519: ${await implementation()}`);
  const eg = await get("./fixtures/eg-shape-manifest.json");
  const sample = await get("../../src/sivei/data/sample-manifest.json");
  const cases = [
    { name: "eg-shape", manifest: eg, style: "eg-shape", choices: EG_SHAPE_CHOICES },
    { name: "sample chih", manifest: sample, style: SAMPLE_STYLE, choices: SAMPLE_CHOICES },
  ];

  // The shared vectors through the real worker and the page's signing (test group).
  {
    const v = await get("../vectors/ballot.json");
    const manifest = await get("../vectors/manifest.json");
    const booth = await BoothCrypto.start({ group: v.group, election_key: v.election_key,
      election_hash: v.election_hash, manifest }, { allowTestGroup: true });
    const cred = await booth.openCredential(v.credential);
    let ok = bytesToHex(cred.publicCredential) === v.public_credential;
    for (const b of v.ballots) {
      const enc = await booth.call("encrypt", { style: b.style, choices: b.choices,
        publicCredential: v.public_credential, ballotNonce: b.ballot_nonce });
      const signed = await booth.sign(enc, cred.seed);
      ok = ok && JSON.stringify(enc.ballot) === JSON.stringify(b.ballot) && enc.trackingCode === b.tracking_code
        && signed.signature === b.signature;
    }
    // The vendored fallback in this browser gives the same signatures.
    setEd25519Mode("fallback");
    for (const b of v.ballots) {
      const enc = await booth.call("encrypt", { style: b.style, choices: b.choices,
        publicCredential: v.public_credential, ballotNonce: b.ballot_nonce });
      ok = ok && (await booth.sign(enc, cred.seed)).signature === b.signature;
    }
    setEd25519Mode("auto");
    const challenge = await get("../vectors/challenge.json");
    const lying = await booth.check(challenge.lying_device.challenged);
    ok = ok && lying.problems.map((p) => p.check).join() === "challenge.mismatch";
    booth.terminate();
    log(`vectors through the worker: ${ok ? "ok" : "MISMATCH"}`);
  }

  // The booth's real path: a module worker started from the page, loading its modules, building the
  // g and K tables (init) and encrypting; the page stays responsive meanwhile.
  for (const c of cases) {
    const k = P.gPow(0x5eed5eed5eed5eedn + BigInt(c.name.length));
    const context = { group: P.name, election_key: elementToHex(P, k), election_hash: "07".repeat(32), manifest: c.manifest };
    const credential = formatCredential("0DJZF42J6A80F1BKXTDDC26VBS");
    const publicCredential = bytesToHex(await credentialPublicKey(c.manifest.election_id, credential));
    const t0 = performance.now();
    const booth = await BoothCrypto.start(context);
    const t1 = performance.now();
    const enc = await booth.encrypt(c.style, c.choices, publicCredential);
    const t2 = performance.now();
    const again = await booth.encrypt(c.style, c.choices, publicCredential);
    const t3 = performance.now();
    booth.terminate();
    log(`worker ${c.name}: start + tables ${(t1 - t0).toFixed(1)} ms (tables ${booth.info.tablesMs.toFixed(1)} ms) + ` +
      `encryption ${(t2 - t1).toFixed(1)} ms (in worker ${enc.encryptMs.toFixed(1)} ms) = ${(t2 - t0).toFixed(1)} ms; ` +
      `a second encryption ${(t3 - t2).toFixed(1)} ms`);
  }
  // The same measurement as node's bench.mjs, in the page's thread.
  await benchmark(cases, { runs: 5, log });
  log("DONE");
} catch (err) {
  log(`ERROR ${err && err.stack || err}`);
}
