// Voters' private credentials as the booth reads them (mirrors parse_credential, format_credential,
// credential_seed, credential_public_key and credential_from_link of sivei/ballot/credentials.py, and
// unseal_token of sivei/ballot/credential_tokens.py; protocol section 11).
//
// A credential is 26 Crockford base-32 data characters and one check character (value mod 37 in
// "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U"), printed XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XC. The private
// credential and its seed must stay in the page's memory: never in storage, a cookie or a URL, and
// never sent to the server (only the public credential and the signature are).

import { randomBytes, bytesToBigint } from "./bytes.js";
import * as ed25519 from "./ed25519.js";
import { Encoder, hexToBytes, taggedHash } from "./encoding.js";
import { CredentialError } from "./errors.js";
import { CROCKFORD, group5 } from "./fingerprint.js";

export const DATA_CHARS = 26;
export const DATA_BITS = DATA_CHARS * 5;
export const CHECK_ALPHABET = CROCKFORD + "*~$=U";
export const CHECK_MODULUS = 37;
export const CREDENTIAL_CHARS = DATA_CHARS + 1;
export const TAG_SEED = "sivei/cred";

const DATA_VALUE = new Map([...CROCKFORD].map((c, i) => [c, i]));
DATA_VALUE.set("O", 0).set("I", 1).set("L", 1);
const CHECK_VALUE = new Map([...CHECK_ALPHABET].map((c, i) => [c, i]));
CHECK_VALUE.set("O", 0).set("I", 1).set("L", 1);
const SEPARATORS = new Set(["-", " ", "\t", "\r", "\n"]);
const CANONICAL_RE = new RegExp(`^[${CROCKFORD}]{${DATA_CHARS}}$`);

function checkCharacter(canonical) {
  let value = 0n;
  for (const ch of canonical) value = value * 32n + BigInt(DATA_VALUE.get(ch));
  return CHECK_ALPHABET[Number(value % BigInt(CHECK_MODULUS))];
}

/** The check character of 26 canonical data characters. */
export { checkCharacter };

/** The printed form: the 26 data characters and the check character, in groups of 5. */
export function formatCredential(canonical) {
  if (!CANONICAL_RE.test(canonical)) {
    throw new CredentialError(
      `una credencial canónica tiene exactamente ${DATA_CHARS} caracteres base 32 en mayúscula`,
      `a canonical credential has exactly ${DATA_CHARS} uppercase base-32 characters`,
    );
  }
  return group5(canonical + checkCharacter(canonical));
}

/** A fresh credential (130 random bits), formatted for printing (drills and tests). */
export function generateCredential() {
  const value = bytesToBigint(randomBytes(17)) & ((1n << BigInt(DATA_BITS)) - 1n);
  let chars = "";
  for (let i = 0; i < DATA_CHARS; i++) {
    chars += CROCKFORD[Number((value >> BigInt(5 * (DATA_CHARS - 1 - i))) & 31n)];
  }
  return formatCredential(chars);
}

function where(index) {
  return [
    `grupo ${Math.floor(index / 5) + 1}, carácter ${(index % 5) + 1}`,
    `group ${Math.floor(index / 5) + 1}, character ${(index % 5) + 1}`,
  ];
}

function quoteChar(ch) {
  return ch === "'" ? `"'"` : `'${ch}'`;
}

/**
 * The canonical 26 data characters of a typed credential, or a CredentialError naming the
 * mistake: a bad character (its group and position), characters missing or extra, or a check
 * character that does not match. Case, hyphens, spaces and O→0, I/L→1 are forgiven.
 */
export function parseCredential(text) {
  const compact = [...text.toUpperCase()].filter((ch) => !SEPARATORS.has(ch));
  if (compact.length === 0) throw new CredentialError("la credencial está vacía", "the credential is empty");
  compact.forEach((ch, i) => {
    if (!DATA_VALUE.has(ch) && !CHECK_VALUE.has(ch)) {
      const [es, en] = where(i);
      throw new CredentialError(`carácter no válido ${quoteChar(ch)} en la credencial (${es})`,
        `invalid character ${quoteChar(ch)} in the credential (${en})`);
    }
  });
  if (compact.length !== CREDENTIAL_CHARS) {
    const missing = CREDENTIAL_CHARS - compact.length;
    if (missing > 0) {
      throw new CredentialError(
        `a la credencial le faltan ${missing} caracteres: tiene ${compact.length} y debe tener ` +
          `${CREDENTIAL_CHARS} (6 grupos: cinco de 5 y uno de 2)`,
        `the credential is missing ${missing} characters: it has ${compact.length} and must have ` +
          `${CREDENTIAL_CHARS} (6 groups: five of 5 and one of 2)`,
      );
    }
    throw new CredentialError(
      `la credencial tiene ${-missing} caracteres de más: tiene ${compact.length} y debe tener ` +
        `${CREDENTIAL_CHARS} (6 grupos: cinco de 5 y uno de 2)`,
      `the credential has ${-missing} extra characters: it has ${compact.length} and must have ` +
        `${CREDENTIAL_CHARS} (6 groups: five of 5 and one of 2)`,
    );
  }
  compact.slice(0, DATA_CHARS).forEach((ch, i) => {
    if (!DATA_VALUE.has(ch)) {
      const [es, en] = where(i);
      throw new CredentialError(`carácter no válido ${quoteChar(ch)} en la credencial (${es})`,
        `invalid character ${quoteChar(ch)} in the credential (${en})`);
    }
  });
  const canonical = compact.slice(0, DATA_CHARS).map((ch) => CROCKFORD[DATA_VALUE.get(ch)]).join("");
  const typedCheck = CHECK_VALUE.get(compact[DATA_CHARS]);
  if (CHECK_ALPHABET[typedCheck] !== checkCharacter(canonical)) {
    throw new CredentialError(
      "el carácter de verificación (el último) no coincide: hay un error al copiar la " +
        "credencial; revise cada grupo",
      "the check character (the last one) does not match: the credential was mistyped; " +
        "check each group",
    );
  }
  return canonical;
}

function canonicalOf(credential) {
  return CANONICAL_RE.test(credential) ? credential : parseCredential(credential);
}

/** The input of the seed hash: string(election_id) ‖ string(canonical credential). */
export function seedInput(electionId, credential) {
  return new Encoder().string(electionId).string(canonicalOf(credential)).toBytes();
}

/** The 32-byte Ed25519 seed H("sivei/cred", string(election id) ‖ string(canonical credential)). */
export async function credentialSeed(electionId, credential) {
  return taggedHash(TAG_SEED, seedInput(electionId, credential));
}

/** The public credential: the Ed25519 public key of the credential's seed (32 bytes). */
export async function credentialPublicKey(electionId, credential) {
  return ed25519.publicKeyFromSeed(await credentialSeed(electionId, credential));
}

// -- the voting link ----------------------------------------------------------------------------------

export const LINK_KEY = "credencial";

/**
 * The canonical credential carried by a voting link (…/votar#credencial=<26 characters>) or by
 * its fragment; null when the text is no such link (it may be a typed credential). A damaged
 * link (wrong length or character) is a CredentialError.
 */
export function credentialFromLink(text) {
  let fragment = String(text).trim();
  const at = fragment.indexOf("#");
  if (at >= 0) fragment = fragment.slice(at + 1);
  if (!fragment.startsWith(`${LINK_KEY}=`)) return null;
  const value = fragment.slice(LINK_KEY.length + 1).toUpperCase();
  if (!CANONICAL_RE.test(value)) {
    throw new CredentialError(
      "el enlace está incompleto o dañado: ábralo de nuevo desde su mensaje o escriba su credencial",
      "the link is incomplete or damaged: open it again from your message or type your credential",
    );
  }
  return value;
}

/** The canonical credential of a link, a scanned QR code (the link) or a typed credential. */
export function credentialFromText(text) {
  return credentialFromLink(text) ?? parseCredential(text);
}

/**
 * What the page keeps once it has the credential (typed, scanned or from the link): the seed (for
 * signing) and the public credential (sent with the ballot). Throws CredentialError on a mistyped
 * credential or a damaged link.
 */
export async function openCredential(electionId, text) {
  const canonical = credentialFromText(text);
  const seed = await credentialSeed(electionId, canonical);
  const publicCredential = await ed25519.publicKeyFromSeed(seed);
  return { canonical, seed, publicCredential };
}

// -- the credential token, sealed under the credential (protocol 11.6) ----------------------------

export const TAG_SEAL_KEY = "sivei/credential-token-key";
export const TOKEN_BYTES = 64;
export const NONCE_BYTES = 12;
export const SEALED_BYTES = NONCE_BYTES + TOKEN_BYTES + 16;

/** The voter id as tokens bind it: the roll's id in ASCII capitals. */
export function tokenVoterId(voterId) {
  return String(voterId).trim().toUpperCase();
}

/** The AES-256-GCM key that seals this credential's token: H("sivei/credential-token-key", …). */
export async function sealKey(electionId, credential) {
  return taggedHash(TAG_SEAL_KEY, seedInput(electionId, credential));
}

/** Associated data of the seal: string(election id) ‖ string(VOTER_ID). */
export function sealAad(electionId, voterId) {
  return new Encoder().string(electionId).string(tokenVoterId(voterId)).toBytes();
}

/**
 * Open the voter's sealed credential token (hex, as the server serves it) with the credential:
 * the 64-byte token the booth sends beside the ballot. Fails with a CredentialError when the
 * credential is not this voter's (or not of this election). Needs WebCrypto (a secure context).
 */
export async function unsealCredentialToken(electionId, voterId, credential, sealedHex) {
  const sealed = hexToBytes(sealedHex, SEALED_BYTES, "ficha");
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) {
    throw new CredentialError("esta página necesita una conexión segura (https) para abrir tu ficha de credencial",
      "this page needs a secure connection (https) to open your credential token");
  }
  const raw = await sealKey(electionId, credential);
  let plain;
  try {
    const key = await subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["decrypt"]);
    plain = await subtle.decrypt({ name: "AES-GCM", iv: sealed.slice(0, NONCE_BYTES),
      additionalData: sealAad(electionId, voterId), tagLength: 128 }, key, sealed.slice(NONCE_BYTES));
  } catch {
    throw new CredentialError(
      "esta credencial no corresponde a la cuenta con la que iniciaste sesión (o es de otra elección): " +
        "revisa que sea la de tu carta o tu enlace, y que la sesión sea la tuya",
      "this credential does not belong to the account you are logged in with (or is from another election): " +
        "check that it is the one in your letter or link, and that the session is yours",
    );
  } finally {
    raw.fill(0);
  }
  return new Uint8Array(plain);
}
