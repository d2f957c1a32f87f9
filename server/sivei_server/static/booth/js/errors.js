// Errors and language selection for the booth's cryptography (mirrors sivei.errors and sivei.i18n).
//
// Every error carries both texts (`es`, `en`) so a page can show either; `message` is in the language
// selected with setLanguage() when the error was made (Spanish by default, as in the Python library).

let current = "es";

/** Select the language of every message produced from now on ("es" or "en"). */
export function setLanguage(language) {
  if (language !== "es" && language !== "en") {
    throw new TypeError(`unsupported language: ${language}`);
  }
  current = language;
}

export function language() {
  return current;
}

/** The message in the selected language. */
export function tr(es, en) {
  return current === "es" ? es : en;
}

export class SiveiError extends Error {
  constructor(es, en) {
    super(tr(es, en));
    this.es = es;
    this.en = en;
    this.name = new.target.name;
  }
}

/** A value does not have its one canonical encoding (wrong width, case, range). */
export class EncodingError extends SiveiError {}

/** A received group element is not in the order-q subgroup. */
export class GroupMembershipError extends EncodingError {}

/** The election manifest is malformed, or a look-up in it fails. */
export class ManifestError extends SiveiError {}

/** A ballot is malformed or cannot be made. */
export class BallotError extends SiveiError {}

/** A credential is mistyped or malformed. */
export class CredentialError extends SiveiError {}

/** An opening-time record file is malformed or inconsistent. */
export class RecordError extends SiveiError {}

/** A finding of a check (as sivei.problems.Problem): stable id, location, message. */
export function problem(check, location, es, en) {
  return { check, location, message: tr(es, en) };
}

/** A text in both languages, {es, en}: what the record checker keeps, so a report can be shown in
 * either language after a long check without running it again. */
export function bi(es, en = es) {
  return Object.freeze({ es, en });
}

/** The bilingual text of an error (a SiveiError carries both; anything else its message). */
export function errorText(err) {
  if (err && typeof err.es === "string") return bi(err.es, err.en);
  const message = String((err && err.message) || err);
  return bi(message, message);
}
