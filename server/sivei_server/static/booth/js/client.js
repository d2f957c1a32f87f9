// The page's side of the booth's cryptography: starts the worker, sends it requests, and keeps the
// voter's credential in the page's own memory.
//
//   import { BoothCrypto } from "/static/booth/js/client.js";
//   const booth = await BoothCrypto.start(contextJson);           // builds g and K tables at once
//   const cred = await booth.openCredential(text, voter);         // {canonical, seed, publicCredential, token}
//   const enc = await booth.encrypt(styleId, {contestId: optionId, …}, cred.publicCredential);
//   show(enc.trackingCode);                                       // before cast or challenge
//   const signed = await booth.sign(enc, cred.seed);              // cast: send signed.ballot, cred.token beside
//   const file = await booth.challenge(enc, choices);            // or challenge: never sent
//   booth.forgetCredential(cred);                                 // when done
//
// The private credential and its seed are never stored (no localStorage, cookie or URL), never
// posted to the worker and never sent to the server: signing happens here, in the page's thread
// (one Ed25519 signature, a few milliseconds). Only the public credential goes to the worker.

import { bytesToHex, hexToBytesLoose } from "./bytes.js";
import { signBallotHash } from "./ballot.js";
import { openCredential, unsealCredentialToken } from "./credentials.js";
import * as ed25519 from "./ed25519.js";
import { CredentialError, SiveiError, setLanguage } from "./errors.js";
import { createService } from "./service.js";

class WorkerError extends SiveiError {}

export class BoothCrypto {
  /**
   * Start the worker and load the election context ({group, election_key, election_hash,
   * manifest}). Without Web Worker support (never in the browsers the booth supports) the same
   * service runs in the page. The booth's page passes its bundle (scripts/bundle.mjs) as a classic
   * worker: `{workerUrl, workerType: "classic"}`.
   */
  static async start(context, options = {}) {
    const booth = BoothCrypto.create(context, options);
    await booth.ready;
    return booth;
  }

  /**
   * The same without waiting: the worker builds its tables while the page goes on; `ready` settles
   * with `info` once it has ({group, electionHash, electionFingerprint, manifestFingerprint, tablesMs}).
   */
  static create(context, { allowTestGroup = false, workerUrl = new URL("./worker.js", import.meta.url),
    workerType = "module" } = {}) {
    const booth = new BoothCrypto(context, workerUrl, workerType);
    booth.info = null;
    booth.ready = booth.call("init", { context, allowTestGroup }).then((info) => {
      booth.info = info;
      return info;
    });
    return booth;
  }

  constructor(context, workerUrl, workerType = "module") {
    this.context = context;
    this.electionId = context.manifest.election_id;
    this.electionHash = hexToBytesLoose(context.election_hash);
    this.pending = new Map();
    this.nextId = 1;
    if (typeof Worker === "function") {
      this.worker = new Worker(workerUrl, { type: workerType });
      this.worker.addEventListener("message", (event) => this.settle(event.data));
      this.worker.addEventListener("error", (event) => {
        for (const { reject } of this.pending.values()) reject(new Error(event.message || "worker error"));
        this.pending.clear();
      });
    } else {
      this.worker = null;
      this.service = createService();
    }
  }

  settle(reply) {
    const entry = this.pending.get(reply.id);
    if (entry === undefined) return;
    this.pending.delete(reply.id);
    if (reply.ok) {
      entry.resolve(reply.result);
    } else {
      const e = reply.error || {};
      const err = e.es ? new WorkerError(e.es, e.en) : new Error(e.message);
      err.remoteName = e.name;
      entry.reject(err);
    }
  }

  call(action, payload = {}) {
    const id = this.nextId++;
    const message = { ...payload, id, action };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.worker !== null) {
        this.worker.postMessage(message);
      } else {
        this.service.handle(message).then((reply) => this.settle(reply));
      }
    });
  }

  /**
   * Read the credential (typed, a scanned QR code or the link's fragment) and derive its seed and
   * public credential, here in the page. With the logged-in voter ({voter_id, ficha} from
   * /api/votante), also open their sealed credential token with it: a credential that is not this
   * voter's fails here, before the voter marks anything.
   */
  async openCredential(text, voter = null) {
    const credential = await openCredential(this.electionId, text);
    if (voter === null) return credential;
    try {
      if (!voter.ficha) {
        throw new CredentialError("el servidor no tiene la ficha de tu credencial: comunícate con la mesa de ayuda",
          "the server does not have your credential token: contact the help desk");
      }
      credential.token = await unsealCredentialToken(this.electionId, voter.voter_id, credential.canonical,
        voter.ficha);
    } catch (err) {
      this.forgetCredential(credential);
      throw err;
    }
    return credential;
  }

  /** Zero-fill the seed and token kept for a credential (call when the voter has cast or left). */
  forgetCredential(credential) {
    if (credential && credential.seed instanceof Uint8Array) credential.seed.fill(0);
    if (credential && credential.token instanceof Uint8Array) credential.token.fill(0);
  }

  /** Encrypt in the worker: {ballot, ballotHash, trackingCode, ballotNonce, encryptMs}. */
  encrypt(style, choices, publicCredential) {
    const credential = publicCredential instanceof Uint8Array ? bytesToHex(publicCredential) : publicCredential;
    return this.call("encrypt", { style, choices, publicCredential: credential });
  }

  /**
   * Cast: sign the encrypted ballot (the result of encrypt) with the credential's seed, in the
   * page's thread. Returns {ballot (JSON, signed), signature}.
   */
  async sign(encrypted, seed) {
    const publicKey = await ed25519.publicKeyFromSeed(seed);
    if (bytesToHex(publicKey) !== encrypted.ballot.credential) {
      throw new SiveiError("la credencial no corresponde a la boleta", "the credential does not match the ballot");
    }
    const signature = bytesToHex(await signBallotHash(this.electionHash, hexToBytesLoose(encrypted.ballotHash), seed));
    return { ballot: { ...encrypted.ballot, signature }, signature };
  }

  /** Challenge: the challenged-ballot file (never sent to the server). */
  async challenge(encrypted, choices) {
    const { challenged } = await this.call("challenge", {
      ballot: encrypted.ballot, choices, ballotNonce: encrypted.ballotNonce,
    });
    return challenged;
  }

  /** Check a challenged-ballot file: {trackingCode, problems}. */
  check(challenged) {
    return this.call("check", { challenged });
  }

  /** Language of messages, here in the page (credential errors) and in the worker. */
  setLanguage(language) {
    setLanguage(language);
    return this.call("language", { language });
  }

  terminate() {
    if (this.worker !== null) this.worker.terminate();
  }
}
