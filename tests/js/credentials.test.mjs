// Credentials (credentials.json) and Ed25519 through WebCrypto and the vendored fallback.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";

import { ROOT, booth, hex, unhex, vector } from "./helpers.mjs";

const cred = await booth("credentials.js");
const ed25519 = await booth("ed25519.js");
const { Encoder, taggedHash } = await booth("encoding.js");
const { CredentialError } = await booth("errors.js");

const V = vector("credentials.json");

describe("credential format (credentials.json)", () => {
  test("check characters and the printed form", () => {
    assert.equal(cred.CHECK_ALPHABET, V.check_alphabet);
    for (const c of V.format_examples) {
      assert.equal(cred.formatCredential(c.canonical), c.formatted);
      assert.equal(cred.checkCharacter(c.canonical), V.check_alphabet[c.check_value]);
    }
    assert.throws(() => cred.formatCredential("98w7b7pc4wrqc80rk65q12g0r0"), CredentialError);
    assert.throws(() => cred.formatCredential("ABC"), CredentialError);
  });

  test("lenient parsing", () => {
    for (const c of V.parse) assert.equal(cred.parseCredential(c.typed), c.canonical);
    for (const c of V.format_examples) assert.equal(cred.parseCredential(c.formatted), c.canonical);
    for (const c of V.format_examples) assert.equal(cred.parseCredential(c.formatted.toLowerCase()), c.canonical);
  });

  test("mistakes are named", () => {
    for (const c of V.parse_errors) assert.throws(() => cred.parseCredential(c.typed), CredentialError, c.why);
    assert.throws(() => cred.parseCredential("0DJZF-42J6A-80F1B-KXTDD-C26VB-"), /faltan 2 caracteres/);
    assert.throws(() => cred.parseCredential("0DJZF-42J6A-80F1B-KXTDD-C26VB-S70"), /1 caracteres de más/);
    assert.throws(() => cred.parseCredential("0DJZU-42J6A-80F1B-KXTDD-C26VB-S7"), /'U'.*grupo 1, carácter 5/);
    assert.throws(() => cred.parseCredential("0DJZF-42J6A-80F1B-KXTDD-C26VB-S8"), /verificación/);
    assert.throws(() => cred.parseCredential("0DJZF-42J6A-80F1B-KXTDD-C26VB-S!"), /'!'.*grupo 6, carácter 2/);
  });

  test("every single substitution and adjacent transposition is caught", () => {
    const formatted = V.format_examples[1].formatted;
    const compact = formatted.replace(/-/g, "");
    for (let i = 0; i < compact.length; i++) {
      for (const ch of cred.CHECK_ALPHABET) {
        if (ch === compact[i] || (i < 26 && !"0123456789ABCDEFGHJKMNPQRSTVWXYZ".includes(ch))) continue;
        const typo = compact.slice(0, i) + ch + compact.slice(i + 1);
        assert.throws(() => cred.parseCredential(typo), CredentialError, typo);
      }
      if (i + 1 < compact.length && compact[i] !== compact[i + 1] && i + 1 < 26) {
        const swapped = compact.slice(0, i) + compact[i + 1] + compact[i] + compact.slice(i + 2);
        assert.throws(() => cred.parseCredential(swapped), CredentialError, swapped);
      }
    }
  });

  test("generated credentials parse back", () => {
    for (let i = 0; i < 50; i++) {
      const c = cred.generateCredential();
      assert.match(c, /^([0-9A-HJKMNP-TV-Z]{5}-){5}[0-9A-HJKMNP-TV-Z][0-9A-HJKMNP-TV-Z*~$=U]$/);
      assert.equal(cred.formatCredential(cred.parseCredential(c)), c);
    }
  });
});

describe("seeds and public credentials (credentials.json)", () => {
  for (const mode of ["webcrypto", "fallback"]) {
    test(`seed and public credential (${mode})`, async () => {
      ed25519.setEd25519Mode(mode);
      try {
        for (const c of V.seed) {
          assert.equal(hex(cred.seedInput(c.election_id, c.credential)), c.seed_input);
          assert.equal(hex(await cred.credentialSeed(c.election_id, c.credential)), c.seed);
          assert.equal(hex(await cred.credentialSeed(c.election_id, c.canonical)), c.seed);
          assert.equal(hex(await cred.credentialPublicKey(c.election_id, c.credential)), c.public_credential);
          const opened = await cred.openCredential(c.election_id, c.credential.toLowerCase());
          assert.equal(opened.canonical, c.canonical);
          assert.equal(hex(opened.seed), c.seed);
          assert.equal(hex(opened.publicCredential), c.public_credential);
        }
        const list = V.credential_list;
        const pubs = await Promise.all(list.credentials.map((c) => cred.credentialPublicKey(list.envelope.election_id, c)));
        assert.deepEqual(pubs.map(hex).sort(), list.entries.map((e) => e.credential));
      } finally {
        ed25519.setEd25519Mode("auto");
      }
    });
  }

  test("entries hash input, as a check of the encoder", async () => {
    const list = V.credential_list;
    const enc = new Encoder().u32(list.entries.length);
    for (const e of list.entries) enc.fixed(unhex(e.credential), 32).string(e.style);
    assert.equal(hex(enc.toBytes()), list.entries_hash_input);
    assert.equal(hex(await taggedHash("sivei/credential-list", enc.toBytes())), list.entries_hash);
  });
});

describe("voting links (credentials.json)", () => {
  test("the link's fragment gives the canonical credential; damaged links are named", async () => {
    for (const c of V.links) {
      assert.equal(cred.credentialFromLink(c.link), c.canonical);
      assert.equal(cred.credentialFromText(c.link), c.canonical);
      assert.equal(cred.credentialFromText(c.credential), c.canonical); // typed
    }
    for (const c of V.link_fragments) assert.equal(cred.credentialFromLink(c.text), c.canonical);
    for (const c of V.damaged_links) {
      assert.throws(() => cred.credentialFromLink(c.text), /enlace está incompleto o dañado/, c.why);
    }
    const c = V.seed[0];
    const link = `https://voto.ejemplo.mx/votar#credencial=${c.canonical}`;
    const opened = await cred.openCredential(c.election_id, link);
    assert.equal(hex(opened.publicCredential), c.public_credential);
  });
});

describe("credential tokens sealed under the credential (credentials.json)", () => {
  const T = V.credential_tokens;

  test("seal key, associated data, and the token opened", async () => {
    for (const c of T.tokens) {
      assert.equal(hex(await cred.sealKey(c.election_id, c.credential)), c.seal_key);
      assert.equal(hex(cred.sealAad(c.election_id, c.voter_id)), c.aad);
      assert.equal(cred.tokenVoterId(c.voter_id), c.token_voter_id);
      const token = await cred.unsealCredentialToken(c.election_id, c.voter_id, c.credential, c.sealed);
      assert.equal(hex(token), c.token);
      const lower = await cred.unsealCredentialToken(c.election_id, c.voter_id.toLowerCase(),
        cred.parseCredential(c.credential), c.sealed);
      assert.equal(hex(lower), c.token);
    }
  });

  test("another voter's credential, another voter, another election or a changed byte: refused", async () => {
    const c = T.tokens[0];
    const refused = /no corresponde a la cuenta/;
    await assert.rejects(cred.unsealCredentialToken(c.election_id, c.voter_id, T.wrong_credential, c.sealed), refused);
    await assert.rejects(cred.unsealCredentialToken(c.election_id, "V00000002", c.credential, c.sealed), refused);
    await assert.rejects(cred.unsealCredentialToken("otra-eleccion", c.voter_id, c.credential, c.sealed), refused);
    for (const i of [0, 12, 50, 91]) {
      const bytes = unhex(c.sealed);
      bytes[i] ^= 1;
      await assert.rejects(cred.unsealCredentialToken(c.election_id, c.voter_id, c.credential, hex(bytes)), refused);
    }
    await assert.rejects(cred.unsealCredentialToken(c.election_id, c.voter_id, c.credential, c.sealed.slice(2)));
  });

  test("the booth's client opens the token with the logged-in voter's ficha", async () => {
    const { BoothCrypto } = await booth("client.js");
    const c = T.tokens[1];
    const client = Object.create(BoothCrypto.prototype);
    client.electionId = c.election_id;
    const opened = await client.openCredential(`x/votar#credencial=${cred.parseCredential(c.credential)}`,
      { voter_id: c.voter_id, ficha: c.sealed });
    assert.equal(hex(opened.token), c.token);
    assert.equal(hex(opened.publicCredential), c.public_credential);
    await assert.rejects(client.openCredential(T.wrong_credential, { voter_id: c.voter_id, ficha: c.sealed }),
      /no corresponde a la cuenta/);
    await assert.rejects(client.openCredential(c.credential, { voter_id: c.voter_id, ficha: null }),
      /mesa de ayuda/);
    client.forgetCredential(opened);
    assert.ok(opened.seed.every((b) => b === 0) && opened.token.every((b) => b === 0));
  });
});

describe("Ed25519: WebCrypto and the vendored fallback", () => {
  test("node's WebCrypto has Ed25519 (and passes the RFC 8032 probe)", async () => {
    assert.equal(await ed25519.webCryptoEd25519Available(), true);
    assert.equal(await ed25519.implementation(), "webcrypto");
  });

  test("both give the same public keys and signatures; each verifies the other's", async () => {
    for (let i = 0; i < 20; i++) {
      const seed = new Uint8Array(randomBytes(32));
      const message = new Uint8Array(randomBytes(i * 7));
      const out = {};
      for (const mode of ["webcrypto", "fallback"]) {
        ed25519.setEd25519Mode(mode);
        out[mode] = { pub: hex(await ed25519.publicKeyFromSeed(seed)), sig: hex(await ed25519.sign(seed, message)) };
      }
      assert.deepEqual(out.webcrypto, out.fallback);
      for (const mode of ["webcrypto", "fallback"]) {
        ed25519.setEd25519Mode(mode);
        assert.ok(await ed25519.verify(unhex(out.webcrypto.pub), message, unhex(out.webcrypto.sig)));
        const bad = unhex(out.webcrypto.sig);
        bad[0] ^= 1;
        assert.ok(!(await ed25519.verify(unhex(out.webcrypto.pub), message, bad)));
      }
    }
    ed25519.setEd25519Mode("auto");
    await assert.rejects(ed25519.sign(new Uint8Array(31), new Uint8Array(0)), TypeError);
    assert.throws(() => ed25519.setEd25519Mode("other"), TypeError);
  });

  test("the PKCS#8 prefix is the protocol's", () => {
    assert.equal(hex(ed25519.PKCS8_PREFIX), "302e020100300506032b657004220420");
  });

  test("the vendored file is the pinned npm release", () => {
    const dir = join(ROOT, "server", "sivei_server", "static", "booth", "vendor");
    const readme = readFileSync(join(dir, "README.md"), "utf8");
    const file = readFileSync(join(dir, "noble-ed25519-3.2.0", "index.js"));
    const sha256 = createHash("sha256").update(file).digest("hex");
    assert.ok(readme.includes(sha256), "vendor/README.md names the file's SHA-256");
    assert.ok(readme.includes("@noble/ed25519") && readme.includes("3.2.0"));
  });
});
