// The election manifest as the booth needs it: styles, contests in manifest order, options, and how
// a voter's party marks become one option (mirrors sivei/ballot/manifest.py).
//
// Reading checks the JSON shape exactly (every key present, no other key, types) and the references
// the booth relies on (styles → contests and entities, combinations within one coalition, one "null"
// option per contest). It does not repeat every rule of the Python validator (identifier patterns,
// NFC labels, time zones): the manifest reaches the booth from the server, and its hash is bound
// into H_E, which the voter compares as the election fingerprint.

import { canonicalJson, taggedHash } from "./encoding.js";
import { ManifestError } from "./errors.js";

export const TAG_MANIFEST = "sivei/manifest";

const MANIFEST_KEYS = ["election_id", "name", "voting_opens", "voting_closes", "display_timezone",
  "counting_policy", "tie_rule", "parties", "entities", "contests", "ballot_styles"];
const INSTANT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const OPTION_KINDS = ["party", "independent", "combination", "write_in", "null", "answer"];
const CONTEST_KINDS = ["candidacy", "referendum"];

function q(value) {
  return JSON.stringify(value);
}

function fail(path, es, en) {
  const where = path || "manifest";
  throw new ManifestError(`${where}: ${es}`, `${where}: ${en}`);
}

function key(path, k) {
  return path ? `${path}.${k}` : k;
}

function object(value, path, keys) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail(path, "se esperaba un objeto JSON", "expected a JSON object");
  }
  for (const k of Object.keys(value)) {
    if (!keys.includes(k)) fail(key(path, k), "clave desconocida", "unknown key");
  }
  for (const k of keys) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) fail(key(path, k), "falta esta clave", "missing key");
  }
  return value;
}

function string(value, path) {
  if (typeof value !== "string") fail(path, "se esperaba una cadena", "expected a string");
  return value;
}

/** A party's emblem: {file: "NAME.svg", sha256: 64 lowercase hex} (the bytes travel beside the manifest). */
function emblem(value, path) {
  const e = object(value, path, ["file", "sha256"]);
  const file = string(e.file, key(path, "file"));
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}\.svg$/.test(file)) {
    fail(key(path, "file"), "se esperaba el nombre de un archivo .svg (letras, dígitos, . _ -; sin carpetas)",
      "expected the name of an .svg file (letters, digits, . _ -; no folders)");
  }
  const sha256 = string(e.sha256, key(path, "sha256"));
  if (!/^[0-9a-f]{64}$/.test(sha256)) {
    fail(key(path, "sha256"), "se esperaban 64 dígitos hexadecimales en minúsculas",
      "expected 64 lowercase hexadecimal digits");
  }
  return Object.freeze({ file, sha256 });
}

function list(value, path) {
  if (!Array.isArray(value)) fail(path, "se esperaba una lista", "expected a list");
  return value;
}

function strings(value, path) {
  return list(value, path).map((item, i) => string(item, `${path}[${i}]`));
}

function literal(value, path, allowed) {
  if (typeof value === "string" && allowed.includes(value)) return value;
  const shown = allowed.map(q).join(", ");
  fail(path, `valor no válido ${q(value)} (se admite: ${shown})`, `invalid value ${q(value)} (allowed: ${shown})`);
}

function unique(values, path, item, whatEs, whatEn) {
  const seen = new Set();
  values.forEach((value, i) => {
    if (seen.has(value)) fail(key(`${path}[${i}]`, item), `${whatEs} duplicado ${q(value)}`, `duplicate ${whatEn} ${q(value)}`);
    seen.add(value);
  });
}

/**
 * The manifest's ``in_person`` (consulates, their caps and log keys, the unregistered voters' style),
 * kept as read: the booth only needs it for the manifest's hash. The log keys' curve membership is the
 * library's check (sivei/ballot/manifest.py); here their form (130 lowercase hex digits).
 */
function readInPerson(value) {
  const o = object(value, "in_person", ["unregistered_style", "consulates"]);
  const consulates = list(o.consulates, "in_person.consulates").map((x, i) => {
    const path = `in_person.consulates[${i}]`;
    const c = object(x, path, ["code", "name", "unregistered_cap", "log_key"]);
    if (!/^[A-Z][A-Z0-9]{1,7}$/.test(string(c.code, `${path}.code`))) {
      fail(`${path}.code`, `identificador no válido ${q(c.code)}`, `invalid identifier ${q(c.code)}`);
    }
    if (!Number.isInteger(c.unregistered_cap) || c.unregistered_cap < 0 || c.unregistered_cap > 100000) {
      fail(`${path}.unregistered_cap`, "debe ser un entero de 0 a 100000", "must be an integer from 0 to 100000");
    }
    if (!/^04[0-9a-f]{128}$/.test(string(c.log_key, `${path}.log_key`))) {
      fail(`${path}.log_key`, "se esperaba una llave pública P-256 (130 dígitos hexadecimales)",
        "expected a P-256 public key (130 hexadecimal digits)");
    }
    return Object.freeze({ code: c.code, name: string(c.name, `${path}.name`), unregistered_cap: c.unregistered_cap,
      log_key: c.log_key });
  });
  if (consulates.length === 0) fail("in_person.consulates", "no hay consulados", "there are no consulates");
  unique(consulates.map((c) => c.code), "in_person.consulates", "code", "consulado", "consulate");
  unique(consulates.map((c) => c.log_key), "in_person.consulates", "log_key", "llave", "key");
  return Object.freeze({ unregistered_style: string(o.unregistered_style, "in_person.unregistered_style"),
    consulates: Object.freeze(consulates) });
}

function setKey(parties) {
  return [...new Set(parties)].sort().join("\u0000");
}

export class Contest {
  constructor(obj, path) {
    const o = object(obj, path, ["id", "title", "kind", "votes_allowed", "options", "coalitions"]);
    this.id = string(o.id, key(path, "id"));
    this.title = string(o.title, key(path, "title"));
    this.kind = literal(o.kind, key(path, "kind"), CONTEST_KINDS);
    if (!Number.isInteger(o.votes_allowed)) fail(key(path, "votes_allowed"), "se esperaba un entero", "expected an integer");
    if (o.votes_allowed !== 1) {
      fail(key(path, "votes_allowed"), `debe ser 1 (hay ${q(o.votes_allowed)})`, `must be 1 (got ${q(o.votes_allowed)})`);
    }
    this.votesAllowed = o.votes_allowed;
    this.options = Object.freeze(list(o.options, key(path, "options")).map((x, i) => {
      const opath = `${path}.options[${i}]`;
      const op = object(x, opath, ["id", "label", "kind", "parties", "candidate"]);
      return Object.freeze({
        id: string(op.id, key(opath, "id")),
        label: string(op.label, key(opath, "label")),
        kind: literal(op.kind, key(opath, "kind"), OPTION_KINDS),
        parties: Object.freeze(strings(op.parties, key(opath, "parties"))),
        candidate: op.candidate === null ? null : string(op.candidate, key(opath, "candidate")),
      });
    }));
    this.coalitions = Object.freeze(list(o.coalitions, key(path, "coalitions")).map((x, i) => {
      const kpath = `${path}.coalitions[${i}]`;
      const co = object(x, kpath, ["id", "name", "parties", "candidate"]);
      return Object.freeze({
        id: string(co.id, key(kpath, "id")),
        name: string(co.name, key(kpath, "name")),
        parties: Object.freeze(strings(co.parties, key(kpath, "parties"))),
        candidate: string(co.candidate, key(kpath, "candidate")),
      });
    }));
    if (this.options.length === 0) fail(`${path}.options`, "la elección no tiene opciones", "the contest has no options");
    unique(this.options.map((op) => op.id), `${path}.options`, "id", "id de opción", "option id");
    const nulls = this.options.filter((op) => op.kind === "null").length;
    if (nulls !== 1) {
      fail(`${path}.options`, `debe haber exactamente una opción 'null' (hay ${nulls})`,
        `there must be exactly one 'null' option (found ${nulls})`);
    }
    this._positions = new Map(this.options.map((op, i) => [op.id, i]));
    this._partySet = new Set(this.options.flatMap((op) => op.parties));
    this._marks = new Map();
    this.options.forEach((op, i) => {
      if (op.kind === "party" || op.kind === "combination") this._marks.set(setKey(op.parties), i);
    });
    Object.freeze(this);
  }

  /** Position of an option (the ballot and the counts use positions). */
  optionIndex(optionId) {
    const index = this._positions.get(optionId);
    if (index === undefined) {
      throw new ManifestError(`la elección ${q(this.id)} no tiene la opción ${q(optionId)}`,
        `contest ${q(this.id)} has no option ${q(optionId)}`);
    }
    return index;
  }

  /** Position of the one "voto nulo" option. */
  get nullOptionIndex() {
    return this.options.findIndex((op) => op.kind === "null");
  }

  /** Position of the "candidato no registrado" option; null for a referendum. */
  get writeInOptionIndex() {
    const i = this.options.findIndex((op) => op.kind === "write_in");
    return i < 0 ? null : i;
  }

  /** Parties that have their own option in this contest, in option order. */
  get partyIds() {
    return this.options.filter((op) => op.kind === "party").map((op) => op.parties[0]);
  }

  /** The coalition (or candidatura común) a party belongs to in this contest, or null. */
  coalitionOf(partyId) {
    return this.coalitions.find((c) => c.parties.includes(partyId)) ?? null;
  }

  /**
   * The option a paper-style set of party marks counts for (LGIPE arts. 288 and 290): one party,
   * its option; two or more partners of one coalition, the combination of exactly those parties;
   * parties that are not partners, or no mark, the null option. A party without an option in this
   * contest is an error (the ballot never offers it).
   */
  optionForMarks(markedPartyIds) {
    if (typeof markedPartyIds === "string") {
      throw new TypeError("markedPartyIds must be a collection of party ids, not a string");
    }
    const marks = [...new Set(markedPartyIds)];
    const unknown = marks.filter((p) => !this._partySet.has(p)).sort();
    if (unknown.length > 0) {
      throw new ManifestError(`la elección ${q(this.id)} no tiene opción para el partido ${q(unknown[0])}`,
        `contest ${q(this.id)} has no option for party ${q(unknown[0])}`);
    }
    const index = this._marks.get(setKey(marks));
    return index === undefined ? this.nullOptionIndex : index;
  }

  /** True when these party marks make a valid vote (a party's or a combination's option). */
  isValidMarkSet(markedPartyIds) {
    const marks = [...new Set(markedPartyIds)];
    return marks.length > 0 && this._marks.has(setKey(marks));
  }

  toJson() {
    return {
      id: this.id, title: this.title, kind: this.kind, votes_allowed: this.votesAllowed,
      options: this.options.map((op) => ({ id: op.id, label: op.label, kind: op.kind,
        parties: [...op.parties], candidate: op.candidate })),
      coalitions: this.coalitions.map((c) => ({ id: c.id, name: c.name, parties: [...c.parties],
        candidate: c.candidate })),
    };
  }
}

export class Manifest {
  /** Read a manifest's JSON object (strict shape; see the module comment for what is checked). */
  static fromJson(obj) {
    return new Manifest(obj);
  }

  constructor(obj) {
    // Optional key, present only with voting at consulates (docs/protocol.md §20).
    let inPerson = null;
    if (obj !== null && typeof obj === "object" && !Array.isArray(obj)
        && Object.prototype.hasOwnProperty.call(obj, "in_person")) {
      inPerson = readInPerson(obj.in_person);
      obj = Object.fromEntries(Object.entries(obj).filter(([k]) => k !== "in_person"));
    }
    // Optional key, present only when non-zero (docs/protocol.md §14.4).
    let finish = 0;
    if (obj !== null && typeof obj === "object" && !Array.isArray(obj)
        && Object.prototype.hasOwnProperty.call(obj, "logged_in_finish_minutes")) {
      finish = obj.logged_in_finish_minutes;
      if (!Number.isInteger(finish) || finish < 1 || finish > 30) {
        fail("logged_in_finish_minutes", "se esperaba un entero de 1 a 30 (omita la clave para 0)",
          "expected an integer from 1 to 30 (omit the key for 0)");
      }
      obj = Object.fromEntries(Object.entries(obj).filter(([k]) => k !== "logged_in_finish_minutes"));
    }
    const o = object(obj, "", MANIFEST_KEYS);
    this.loggedInFinishMinutes = finish;
    this.electionId = string(o.election_id, "election_id");
    this.name = string(o.name, "name");
    for (const k of ["voting_opens", "voting_closes"]) {
      if (typeof o[k] !== "string" || !INSTANT_RE.test(o[k])) {
        fail(k, 'se esperaba un instante UTC como "2027-05-23T02:00:00Z"',
          'expected a UTC instant like "2027-05-23T02:00:00Z"');
      }
    }
    this.votingOpens = o.voting_opens;
    this.votingCloses = o.voting_closes;
    this.displayTimezone = string(o.display_timezone, "display_timezone");
    this.countingPolicy = literal(o.counting_policy, "counting_policy", ["one-vote", "one-vote-per-person"]);
    this.inPerson = inPerson;
    this.tieRule = literal(o.tie_rule, "tie_rule", ["party-order"]);
    this.parties = Object.freeze(list(o.parties, "parties").map((x, i) => {
      const withEmblem = x !== null && typeof x === "object" && Object.prototype.hasOwnProperty.call(x, "emblem");
      const p = object(x, `parties[${i}]`, withEmblem ? ["id", "name", "emblem"] : ["id", "name"]);
      const party = { id: string(p.id, `parties[${i}].id`), name: string(p.name, `parties[${i}].name`) };
      if (withEmblem) party.emblem = emblem(p.emblem, `parties[${i}].emblem`);
      return Object.freeze(party);
    }));
    const emblemFiles = new Set();
    this.parties.forEach((p, i) => {
      if (!p.emblem) return;
      if (emblemFiles.has(p.emblem.file)) {
        fail(`parties[${i}].emblem.file`, `emblema duplicado "${p.emblem.file}"`, `duplicate emblem "${p.emblem.file}"`);
      }
      emblemFiles.add(p.emblem.file);
    });
    this.entities = Object.freeze(list(o.entities, "entities").map((x, i) => {
      const e = object(x, `entities[${i}]`, ["code", "name", "ballot_style"]);
      return Object.freeze({
        code: string(e.code, `entities[${i}].code`),
        name: string(e.name, `entities[${i}].name`),
        ballotStyle: string(e.ballot_style, `entities[${i}].ballot_style`),
      });
    }));
    this.contests = Object.freeze(list(o.contests, "contests").map((x, i) => new Contest(x, `contests[${i}]`)));
    this.ballotStyles = Object.freeze(list(o.ballot_styles, "ballot_styles").map((x, i) => {
      const s = object(x, `ballot_styles[${i}]`, ["id", "entity", "contests"]);
      return Object.freeze({
        id: string(s.id, `ballot_styles[${i}].id`),
        entity: string(s.entity, `ballot_styles[${i}].entity`),
        contests: Object.freeze(strings(s.contests, `ballot_styles[${i}].contests`)),
      });
    }));
    this._validate();
    this._contestPositions = new Map(this.contests.map((c, i) => [c.id, i]));
    Object.freeze(this);
  }

  _validate() {
    // No parties at all is allowed: a referendum-only manifest.
    unique(this.parties.map((p) => p.id), "parties", "id", "partido", "party");
    const partyIds = new Set(this.parties.map((p) => p.id));
    if (this.contests.length === 0) fail("contests", "no hay elecciones", "there are no contests");
    unique(this.contests.map((c) => c.id), "contests", "id", "elección", "contest");
    this.contests.forEach((c, i) => {
      const owner = new Map();
      c.coalitions.forEach((co, k) => {
        for (const p of co.parties) {
          if (!partyIds.has(p)) fail(`contests[${i}].coalitions[${k}].parties`, `el partido ${q(p)} no está declarado`, `party ${q(p)} is not declared`);
          if (owner.has(p)) fail(`contests[${i}].coalitions[${k}].parties`, `el partido ${q(p)} ya está en otra coalición`, `party ${q(p)} is already in another coalition`);
          owner.set(p, k);
        }
      });
      c.options.forEach((op, j) => {
        const opath = `contests[${i}].options[${j}].parties`;
        for (const p of op.parties) {
          if (!partyIds.has(p)) fail(opath, `el partido ${q(p)} no está declarado`, `party ${q(p)} is not declared`);
        }
        if (op.kind === "party" && op.parties.length !== 1) {
          fail(opath, "una opción de partido lleva exactamente un partido", "a party option has exactly one party");
        }
        if (op.kind === "combination") {
          const owners = new Set(op.parties.map((p) => owner.get(p)));
          if (op.parties.length < 2 || owners.size !== 1 || owners.has(undefined)) {
            fail(opath, "la combinación no está dentro de una sola coalición de esta elección",
              "the combination is not within one coalition of this contest");
          }
        }
        if (op.kind !== "party" && op.kind !== "combination" && op.parties.length > 0) {
          fail(opath, `una opción ${q(op.kind)} no lleva partidos`, `a ${q(op.kind)} option has no parties`);
        }
      });
      const seen = new Set();
      c.options.forEach((op, j) => {
        if (op.kind !== "party" && op.kind !== "combination") return;
        const k = setKey(op.parties);
        if (seen.has(k)) fail(`contests[${i}].options[${j}].parties`, "partidos repetidos en otra opción", "the same parties as another option");
        seen.add(k);
      });
    });
    if (this.entities.length === 0) fail("entities", "no hay entidades", "there are no entities");
    unique(this.entities.map((e) => e.code), "entities", "code", "código de entidad", "entity code");
    if (this.ballotStyles.length === 0) fail("ballot_styles", "no hay estilos de boleta", "there are no ballot styles");
    unique(this.ballotStyles.map((s) => s.id), "ballot_styles", "id", "estilo de boleta", "ballot style");
    const contestPos = new Map(this.contests.map((c, i) => [c.id, i]));
    const entityCodes = new Map(this.entities.map((e) => [e.code, e]));
    this.ballotStyles.forEach((s, i) => {
      const owner = entityCodes.get(s.entity);
      if (owner === undefined || owner.ballotStyle !== s.id) {
        fail(`ballot_styles[${i}].entity`, `la entidad ${q(s.entity)} no usa este estilo`, `entity ${q(s.entity)} does not use this style`);
      }
      if (s.contests.length === 0) fail(`ballot_styles[${i}].contests`, "el estilo no tiene elecciones", "the style has no contests");
      let previous = -1;
      s.contests.forEach((cid, j) => {
        const position = contestPos.get(cid);
        if (position === undefined || position <= previous) {
          fail(`ballot_styles[${i}].contests[${j}]`,
            `la elección ${q(cid)} no está declarada, está repetida o fuera del orden del manifiesto`,
            `contest ${q(cid)} is undeclared, repeated or out of manifest order`);
        }
        previous = position;
      });
    });
    const styleIds = new Set(this.ballotStyles.map((s) => s.id));
    this.entities.forEach((e, i) => {
      if (!styleIds.has(e.ballotStyle)) {
        fail(`entities[${i}].ballot_style`, `el estilo de boleta ${q(e.ballotStyle)} no está declarado`,
          `ballot style ${q(e.ballotStyle)} is not declared`);
      }
    });
    // Voting at consulates goes with the policy that counts one vote per person across channels.
    if ((this.inPerson === null) !== (this.countingPolicy === "one-vote")) {
      fail("in_person", "el voto en consulados va con la política «one-vote-per-person» y solo con ella",
        "voting at consulates goes with the «one-vote-per-person» policy, and only with it");
    }
    if (this.inPerson !== null && !styleIds.has(this.inPerson.unregistered_style)) {
      fail("in_person.unregistered_style", `el estilo de boleta ${q(this.inPerson.unregistered_style)} no está declarado`,
        `ballot style ${q(this.inPerson.unregistered_style)} is not declared`);
    }
  }

  /** Global position of a contest (its manifest order). */
  contestIndex(contestId) {
    const index = this._contestPositions.get(contestId);
    if (index === undefined) {
      throw new ManifestError(`no existe la elección ${q(contestId)}`, `unknown contest ${q(contestId)}`);
    }
    return index;
  }

  contest(contestId) {
    return this.contests[this.contestIndex(contestId)];
  }

  style(styleId) {
    const style = this.ballotStyles.find((s) => s.id === styleId);
    if (style === undefined) {
      throw new ManifestError(`no existe el estilo de boleta ${q(styleId)}`, `unknown ballot style ${q(styleId)}`);
    }
    return style;
  }

  entity(code) {
    const entity = this.entities.find((e) => e.code === code);
    if (entity === undefined) throw new ManifestError(`no existe la entidad ${q(code)}`, `unknown entity ${q(code)}`);
    return entity;
  }

  styleForEntity(code) {
    return this.style(this.entity(code).ballotStyle);
  }

  /** The contests of a style as [global contest index, Contest] pairs, in manifest order. */
  styleContests(styleId) {
    return this.style(styleId).contests.map((cid) => [this.contestIndex(cid), this.contest(cid)]);
  }

  /** The canonical JSON object, in the key order of Python's Manifest.to_json. */
  toJson() {
    return {
      election_id: this.electionId,
      name: this.name,
      voting_opens: this.votingOpens,
      voting_closes: this.votingCloses,
      ...(this.loggedInFinishMinutes ? { logged_in_finish_minutes: this.loggedInFinishMinutes } : {}),
      display_timezone: this.displayTimezone,
      counting_policy: this.countingPolicy,
      tie_rule: this.tieRule,
      parties: this.parties.map((p) => (p.emblem ? { id: p.id, name: p.name, emblem: { ...p.emblem } }
        : { id: p.id, name: p.name })),
      entities: this.entities.map((e) => ({ code: e.code, name: e.name, ballot_style: e.ballotStyle })),
      contests: this.contests.map((c) => c.toJson()),
      ballot_styles: this.ballotStyles.map((s) => ({ id: s.id, entity: s.entity, contests: [...s.contests] })),
      ...(this.inPerson !== null ? { in_person: {
        unregistered_style: this.inPerson.unregistered_style,
        consulates: this.inPerson.consulates.map((c) => ({ ...c })),
      } } : {}),
    };
  }

  /** H("sivei/manifest", canonical JSON): 32 bytes (async; cached). */
  async hash() {
    // The instance is frozen: the pending hash is kept in a side table.
    if (!HASHES.has(this)) HASHES.set(this, taggedHash(TAG_MANIFEST, canonicalJson(this.toJson())));
    return (await HASHES.get(this)).slice();
  }
}

const HASHES = new WeakMap();
