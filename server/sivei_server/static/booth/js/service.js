// The booth's cryptographic service: the message handler that worker.js runs in a Web Worker, so
// that the page's thread never blocks. Kept apart from worker.js so that node's tests drive it
// directly.
//
// Requests are {id, action, ...}; replies {id, ok: true, result} or {id, ok: false, error: {name,
// message, es, en}}. Any request may carry `context` (and `allowTestGroup`): the worker then loads
// that context first unless it already holds the same one. Actions:
//   init      {context: {group, election_key, election_hash, manifest}, allowTestGroup?}
//             → {group, electionHash, electionFingerprint, manifestFingerprint, tablesMs}
//   encrypt   {style, choices: {contest id: option id}, publicCredential: hex | seed, ballotNonce?: hex}
//             (with `seed` instead of `publicCredential`, the public credential is derived here and
//             the seed's copy zero-filled)
//             → {ballot (JSON, unsigned), ballotHash, trackingCode, ballotNonce, encryptMs}
//   sign      {ballot (JSON), seed: Uint8Array(32) | hex} → {ballot (JSON, signed), signature}
//   challenge {ballot (JSON, unsigned), choices, ballotNonce: hex} → {challenged (JSON file)}
//   check     {challenged (JSON file)} → {trackingCode, problems: [{check, location, message}]}
//   language  {language: "es" | "en"} → {}
//
// Privacy: the worker never receives the private credential. The page parses it and derives the
// seed and the public credential (credentials.openCredential); `encrypt` needs the public
// credential only. `sign` is there for pages that prefer to sign in the worker: the seed is used
// once and its copy zero-filled; the booth's client (client.js) signs in the page's own thread
// instead, so the seed never leaves it.

import { bytesToHex, hexToBytesLoose } from "./bytes.js";
import { EncryptedBallot, encryptBallot, newBallotNonce, signBallot } from "./ballot.js";
import { ChallengedBallot, checkChallenge } from "./challenge.js";
import { ElectionContext } from "./context.js";
import * as ed25519 from "./ed25519.js";
import { elementToHex, hexToBytes } from "./encoding.js";
import { setLanguage } from "./errors.js";
import { fingerprint } from "./fingerprint.js";

function now() {
  return globalThis.performance ? globalThis.performance.now() : Date.now();
}

function bytesOf(value, n, what) {
  if (value instanceof Uint8Array) {
    if (value.length !== n) throw new TypeError(`${what}: expected ${n} bytes`);
    return value;
  }
  return hexToBytes(value, n, what);
}

export function createService() {
  let ctx = null;

  function context() {
    if (ctx === null) throw new Error("the booth's context is not loaded (send 'init' first)");
    return ctx;
  }

  function sameContext(json) {
    return ctx !== null && json && json.group === ctx.group.name && json.election_hash === bytesToHex(ctx.electionHash)
      && json.election_key === elementToHex(ctx.group, ctx.key.element)
      && json.manifest && json.manifest.election_id === ctx.manifest.electionId;
  }

  const actions = {
    async init(msg) {
      const start = now();
      ctx = ElectionContext.fromJson(msg.context, { allowTestGroup: msg.allowTestGroup === true });
      ctx.prepare();
      const tablesMs = now() - start;
      return {
        group: ctx.group.name,
        electionHash: bytesToHex(ctx.electionHash),
        electionFingerprint: ctx.electionFingerprint,
        manifestFingerprint: fingerprint(await ctx.manifest.hash()),
        tablesMs,
      };
    },

    async encrypt(msg) {
      const c = context();
      const start = now();
      const nonce = msg.ballotNonce === undefined || msg.ballotNonce === null
        ? newBallotNonce() : bytesOf(msg.ballotNonce, 32, "ballotNonce");
      let credential;
      if (msg.publicCredential === undefined && msg.seed !== undefined) {
        const seed = msg.seed instanceof Uint8Array ? msg.seed : hexToBytesLoose(msg.seed);
        try {
          credential = await ed25519.publicKeyFromSeed(seed);
        } finally {
          seed.fill(0);
        }
      } else {
        credential = bytesOf(msg.publicCredential, 32, "publicCredential");
      }
      const ballot = await encryptBallot(c, msg.style, msg.choices, credential, nonce);
      const ballotHash = await ballot.ballotHash(c);
      return {
        ballot: ballot.toJson(c.group),
        ballotHash: bytesToHex(ballotHash),
        trackingCode: fingerprint(ballotHash),
        ballotNonce: bytesToHex(nonce),
        encryptMs: now() - start,
      };
    },

    async sign(msg) {
      const c = context();
      const seed = msg.seed instanceof Uint8Array ? msg.seed : hexToBytesLoose(msg.seed);
      try {
        const ballot = EncryptedBallot.fromJson(c.group, msg.ballot);
        const signed = await signBallot(c, ballot, seed);
        return { ballot: signed.toJson(c.group), signature: bytesToHex(signed.signature) };
      } finally {
        seed.fill(0);
      }
    },

    async challenge(msg) {
      const c = context();
      const ballot = EncryptedBallot.fromJson(c.group, msg.ballot);
      const challenged = new ChallengedBallot(ballot, msg.choices, bytesOf(msg.ballotNonce, 32, "ballotNonce"));
      if (ballot.signature.length !== 0) throw new Error("a signed ballot cannot be challenged");
      return { challenged: await challenged.toJson(c) };
    },

    async check(msg) {
      return checkChallenge(context(), msg.challenged);
    },

    async language(msg) {
      setLanguage(msg.language);
      return {};
    },
  };

  return {
    /** Handle one request; never throws (errors become {ok: false, error}). */
    async handle(msg) {
      const id = msg && msg.id;
      try {
        const action = msg && Object.prototype.hasOwnProperty.call(actions, msg.action) ? actions[msg.action] : null;
        if (action === null) throw new Error(`unknown action: ${msg && msg.action}`);
        if (msg.action !== "init" && msg.context !== undefined && !sameContext(msg.context)) {
          await actions.init(msg);
        }
        return { id, ok: true, result: await action(msg) };
      } catch (err) {
        return {
          id,
          ok: false,
          error: { name: err && err.name, message: String(err && err.message), es: err && err.es, en: err && err.en },
        };
      }
    },
    get context() {
      return ctx;
    },
  };
}
