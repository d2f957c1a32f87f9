// A small command for the Python round-trip tests (tests/test_js.py): reads a request as JSON on
// standard input, encrypts and signs one ballot with the booth's JavaScript, and writes the result
// as JSON on standard output.
//
// Request: {"context": {group, election_key, election_hash, manifest}, "allowTestGroup": bool,
//           "style": id, "choices": {contest: option}, "credential": "<typed private credential>",
//           "ballotNonce": "<64 hex>" (optional)}
// Result:  {"ballot" (signed), "challenged" (file of the same ballot), "trackingCode", "ballotHash",
//           "publicCredential", "ballotNonce", "tablesMs", "encryptMs", "ed25519"}

import { readFileSync } from "node:fs";

import { booth } from "./helpers.mjs";

const { createService } = await booth("service.js");
const { openCredential } = await booth("credentials.js");
const { signBallotHash } = await booth("ballot.js");
const ed25519 = await booth("ed25519.js");
const { bytesToHex, hexToBytesLoose } = await booth("bytes.js");

const request = JSON.parse(readFileSync(0, "utf8"));
if (request.ed25519) ed25519.setEd25519Mode(request.ed25519);
const service = createService();

async function call(action, payload) {
  const reply = await service.handle({ id: 1, action, ...payload });
  if (!reply.ok) throw new Error(`${action}: ${reply.error.en || reply.error.message}`);
  return reply.result;
}

const init = await call("init", { context: request.context, allowTestGroup: request.allowTestGroup === true });
const cred = await openCredential(request.context.manifest.election_id, request.credential);
const enc = await call("encrypt", {
  style: request.style, choices: request.choices, publicCredential: bytesToHex(cred.publicCredential),
  ballotNonce: request.ballotNonce,
});
const { challenged } = await call("challenge", { ballot: enc.ballot, choices: request.choices, ballotNonce: enc.ballotNonce });
const signature = bytesToHex(await signBallotHash(hexToBytesLoose(request.context.election_hash),
  hexToBytesLoose(enc.ballotHash), cred.seed));
process.stdout.write(JSON.stringify({
  ballot: { ...enc.ballot, signature },
  challenged,
  trackingCode: enc.trackingCode,
  ballotHash: enc.ballotHash,
  publicCredential: bytesToHex(cred.publicCredential),
  ballotNonce: enc.ballotNonce,
  tablesMs: init.tablesMs,
  encryptMs: enc.encryptMs,
  ed25519: await ed25519.implementation(),
}));
