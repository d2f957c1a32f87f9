// The booth's cryptography in one import (for the verification page and tests); the booth page
// itself uses client.js, and the worker service.js.

export * from "./errors.js";
export * from "./bytes.js";
export { sha256, sha256Sync, hasWebCryptoDigest } from "./sha256.js";
export * from "./group.js";
export * from "./encoding.js";
export * from "./fingerprint.js";
export * from "./elgamal.js";
export * from "./proofs.js";
export * from "./manifest.js";
export * from "./context.js";
export * from "./ballot.js";
export * from "./challenge.js";
export * from "./credentials.js";
export * as ed25519 from "./ed25519.js";
