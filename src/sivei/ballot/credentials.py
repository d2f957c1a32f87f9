"""Voters' private credentials and the authority's signed public list (eligibility verifiability).

A credential authority — the voter registry, not the server operator — gives each eligible voter a
private credential and publishes, signed with its own P-256 key, the list of matching public
credentials with their ballot styles. The server accepts a ballot only when it is signed with a
credential of that list, so it cannot add ballots of its own (ballot stuffing) without the authority,
and anyone can count the list against the roll.

Credential format
    26 Crockford base-32 data characters (130 bits from ``secrets``) followed by one check character,
    shown in groups of five: ``XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XC`` (the last group holds the 26th data
    character and the check character).

Check character (our choice, written down here)
    The 130-bit value ``V`` of the 26 data characters, taken mod 37, written in Crockford's check
    alphabet ``0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U`` (values 0–36). Since 37 is prime:
    a single substituted data character changes ``V`` by ``d·32^k`` with ``0 < |d| < 32``, never a
    multiple of 37; swapping adjacent data characters ``a, b`` changes ``V`` by ``(a−b)·31·32^k``,
    never a multiple of 37 unless ``a = b``; a wrong check character is simply a different value;
    and swapping the last data character with the check character ``c`` only goes unnoticed when
    ``2c ≡ 2d (mod 37)``, i.e. when they are equal. So every single-character typo and every adjacent
    transposition is caught.

Parsing forgives case, hyphens and spaces, and Crockford's look-alikes (O→0, I/L→1), and names the
group and position of a bad character, a wrong length, or a check character that does not match.

Signing key
    ``seed = tagged_hash("sivei/cred", Encoder().string(election_id).string(<26 data characters,
    canonical uppercase>))`` (32 bytes: browsers import it as a PKCS#8 Ed25519 key in WebCrypto);
    the public credential is the Ed25519 public key of that seed.

Public list
    An envelope (type ``credential-list``, ceremony ``credentials``, round 0, sender
    ``credential-authority``, previous = manifest hash) whose body is ``{"manifest_hash",
    "authority_key", "entries_hash", "count", "counts", "retains_credentials"}``, plus the entries
    file ``credentials.jsonl`` (one ``{"credential": hex, "style": id}`` per line, sorted by public
    key bytes, all distinct). ``counts`` has one key per ballot style of the manifest (zero included).
    ``entries_hash = H("sivei/credential-list", u32(n) ‖ for each entry: pk(32) ‖ string(style))``.
    The list's hash (the envelope's content hash) enters H_E and is frozen at opening.

Delivery and escrow
    Private credentials leave through the authority's own channel (mail-merge CSV, printable letters),
    never through the voting server. Unless the authority chooses to forget them, each voter's
    credential is kept sealed (libsodium SealedBox) to an escrow X25519 key whose private key is stored
    encrypted under a passphrase (Argon2id + SecretBox), so the same credential can be re-delivered on
    a verified request. Forgetting is stronger against ballot stuffing by the authority but leaves no
    recovery; the choice is published in the list (``retains_credentials``).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import random
import re
import secrets
import tempfile
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import nacl.exceptions
import nacl.public
import nacl.pwhash
import nacl.secret
import nacl.utils
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sivei import jsonstrict
from sivei.ballot.in_person import InPersonDeclaration
from sivei.crypto import ed25519
from sivei.crypto.ecdsa import PUBLIC_KEY_BYTES as P256_PUBLIC_KEY_BYTES
from sivei.crypto.ecdsa import Signer, SoftwareSigner, key_fingerprint_digest, load_public_key
from sivei.crypto.encoding import Encoder, canonical_json, hex_to_bytes, tagged_hash
from sivei.crypto.envelope import Envelope, seal
from sivei.crypto.fingerprint import CROCKFORD, fingerprint, group5
from sivei.errors import EncodingError, ManifestError, SignatureError, SiveiError
from sivei.i18n import tr

if TYPE_CHECKING:
    from sivei.ballot.manifest import Manifest


class CredentialError(SiveiError):
    """A credential, roll, credential list or escrow is malformed, inconsistent or refused."""


# -- credential format ---------------------------------------------------------------------------

DATA_CHARS = 26
DATA_BITS = DATA_CHARS * 5  # 130 bits of entropy
CHECK_ALPHABET = CROCKFORD + "*~$=U"
CHECK_MODULUS = 37
CREDENTIAL_CHARS = DATA_CHARS + 1
TAG_SEED = "sivei/cred"

_DATA_VALUE = {c: i for i, c in enumerate(CROCKFORD)}
_DATA_VALUE.update({"O": 0, "I": 1, "L": 1})
_CHECK_VALUE = {c: i for i, c in enumerate(CHECK_ALPHABET)}
_CHECK_VALUE.update({"O": 0, "I": 1, "L": 1})
_SEPARATORS = frozenset("- \t\r\n")
_CANONICAL = re.compile(f"[{CROCKFORD}]{{{DATA_CHARS}}}")


def _check_character(canonical: str) -> str:
    value = 0
    for ch in canonical:
        value = value * 32 + _DATA_VALUE[ch]
    return CHECK_ALPHABET[value % CHECK_MODULUS]


def format_credential(canonical: str) -> str:
    """The form printed for the voter: the 26 data characters, the check character, groups of 5."""
    if not _CANONICAL.fullmatch(canonical):
        raise CredentialError(tr(
            f"una credencial canónica tiene exactamente {DATA_CHARS} caracteres base 32 en mayúscula",
            f"a canonical credential has exactly {DATA_CHARS} uppercase base-32 characters"))
    return group5(canonical + _check_character(canonical))


def generate_credential() -> str:
    """A fresh credential (130 random bits from ``secrets``), formatted for printing."""
    value = secrets.randbits(DATA_BITS)
    chars = [CROCKFORD[(value >> (5 * (DATA_CHARS - 1 - i))) & 31] for i in range(DATA_CHARS)]
    return format_credential("".join(chars))


def _where(index: int) -> str:
    return tr(f"grupo {index // 5 + 1}, carácter {index % 5 + 1}",
              f"group {index // 5 + 1}, character {index % 5 + 1}")


def parse_credential(text: str) -> str:
    """The canonical 26 data characters of a typed credential; raise naming the mistake."""
    compact = "".join(ch for ch in text.upper() if ch not in _SEPARATORS)
    if not compact:
        raise CredentialError(tr("la credencial está vacía", "the credential is empty"))
    for i, ch in enumerate(compact):
        if ch not in _DATA_VALUE and ch not in _CHECK_VALUE:
            raise CredentialError(tr(f"carácter no válido {ch!r} en la credencial ({_where(i)})",
                                     f"invalid character {ch!r} in the credential ({_where(i)})"))
    if len(compact) != CREDENTIAL_CHARS:
        missing = CREDENTIAL_CHARS - len(compact)
        if missing > 0:
            raise CredentialError(tr(
                f"a la credencial le faltan {missing} caracteres: tiene {len(compact)} y debe tener "
                f"{CREDENTIAL_CHARS} (6 grupos: cinco de 5 y uno de 2)",
                f"the credential is missing {missing} characters: it has {len(compact)} and must have "
                f"{CREDENTIAL_CHARS} (6 groups: five of 5 and one of 2)"))
        raise CredentialError(tr(
            f"la credencial tiene {-missing} caracteres de más: tiene {len(compact)} y debe tener "
            f"{CREDENTIAL_CHARS} (6 grupos: cinco de 5 y uno de 2)",
            f"the credential has {-missing} extra characters: it has {len(compact)} and must have "
            f"{CREDENTIAL_CHARS} (6 groups: five of 5 and one of 2)"))
    for i, ch in enumerate(compact[:DATA_CHARS]):
        if ch not in _DATA_VALUE:
            raise CredentialError(tr(f"carácter no válido {ch!r} en la credencial ({_where(i)})",
                                     f"invalid character {ch!r} in the credential ({_where(i)})"))
    canonical = "".join(CROCKFORD[_DATA_VALUE[ch]] for ch in compact[:DATA_CHARS])
    typed_check = _CHECK_VALUE[compact[DATA_CHARS]]
    if CHECK_ALPHABET[typed_check] != _check_character(canonical):
        raise CredentialError(tr(
            "el carácter de verificación (el último) no coincide: hay un error al copiar la "
            "credencial; revise cada grupo",
            "the check character (the last one) does not match: the credential was mistyped; "
            "check each group"))
    return canonical


def canonical_credential(credential: str) -> str:
    """Accept a canonical 26-character credential as is; parse anything else (typed or formatted)."""
    return credential if _CANONICAL.fullmatch(credential) else parse_credential(credential)


def credential_seed(election_id: str, credential: str) -> bytes:
    """The 32-byte Ed25519 seed of a credential (canonical, or formatted with its check character).

    Text typed by a person must go through :func:`parse_credential` first."""
    data = Encoder().string(election_id).string(canonical_credential(credential)).to_bytes()
    return tagged_hash(TAG_SEED, data)


def credential_public_key(election_id: str, credential: str) -> bytes:
    """The public credential: the 32-byte Ed25519 public key of the credential's seed."""
    return ed25519.public_key_from_seed(credential_seed(election_id, credential))


# -- the voter roll ------------------------------------------------------------------------------

ROLL_COLUMNS = ("voter_id", "entity", "name", "email")
_VOTER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class RollEntry:
    """One eligible voter, as the registry knows them: the entity decides the ballot style."""

    voter_id: str
    entity: str
    name: str
    email: str
    consulate: str | None = None
    """The consulate where the voter registered to vote in person (None: by internet)."""


def _roll_error(path: Path | str, line: int, es: str, en: str) -> CredentialError:
    return CredentialError(tr(f"{path}, línea {line}: {es}", f"{path}, line {line}: {en}"))


def _decode_roll(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CredentialError(tr(f"no se puede leer el padrón {path}: {exc.strerror}",
                                 f"cannot read the roll {path}: {exc.strerror}")) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _roll_error(path, line, f"el archivo no está en UTF-8 (byte {exc.start})",
                          f"the file is not UTF-8 (byte {exc.start})") from exc


ROLL_CONSULATE_COLUMNS = ("consulate", "consulado")


def read_roll(path: Path | str, manifest: Manifest) -> list[RollEntry]:
    """Read the roll CSV (header ``voter_id,entity,name,email``; extra columns are ignored; with
    in-person voting, an optional ``consulate`` column names the consulate of each voter registered
    to vote there, empty for internet voters).

    Raises naming the line: bad encoding, missing column or field, unknown entity, bad or duplicate
    voter id, bad or duplicate email (case-insensitive). Fields that a spreadsheet would run as a
    formula (starting with ``= + - @``) are refused, since names and emails end up in mail-merge files."""
    path = Path(path)
    text = _decode_roll(path)
    if not text.strip():
        raise CredentialError(tr(f"{path}: el padrón está vacío", f"{path}: the roll is empty"))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise _roll_error(path, reader.line_num, f"CSV mal formado ({exc})",
                          f"malformed CSV ({exc})") from exc
    names = [h.strip().lower() for h in header]
    for column in ROLL_COLUMNS:
        if column not in names:
            raise _roll_error(path, 1, f"falta la columna «{column}» en el encabezado "
                              f"(se esperan {','.join(ROLL_COLUMNS)})",
                              f"the header lacks the column «{column}» "
                              f"(expected {','.join(ROLL_COLUMNS)})")
    dup = [n for n in ROLL_COLUMNS if names.count(n) > 1]
    if dup:
        raise _roll_error(path, 1, f"la columna «{dup[0]}» aparece dos veces",
                          f"the column «{dup[0]}» appears twice")
    index = {n: names.index(n) for n in ROLL_COLUMNS}
    width = max(index.values()) + 1
    found = [i for i, n in enumerate(names) if n in ROLL_CONSULATE_COLUMNS]
    if len(found) > 1:
        raise _roll_error(path, 1, "la columna «consulate» aparece dos veces", "the column «consulate» appears twice")
    consulate_at = found[0] if found else None
    roll: list[RollEntry] = []
    ids: dict[str, int] = {}
    emails: dict[str, int] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _roll_error(path, reader.line_num, f"CSV mal formado ({exc})",
                              f"malformed CSV ({exc})") from exc
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < width:
            raise _roll_error(path, line, f"faltan campos: hay {len(row)}, se esperan {len(header)}",
                              f"missing fields: {len(row)} found, {len(header)} expected")
        values = {n: row[i].strip() for n, i in index.items()}
        for column in ROLL_COLUMNS:
            if not values[column]:
                raise _roll_error(path, line, f"el campo «{column}» está vacío",
                                  f"the field «{column}» is empty")
        voter_id, entity, name, email = (values[c] for c in ROLL_COLUMNS)
        if not _VOTER_ID.fullmatch(voter_id):
            raise _roll_error(path, line, f"identificador de votante no válido {voter_id!r} (letras, "
                              "dígitos, «.», «_», «-»; hasta 64)",
                              f"invalid voter id {voter_id!r} (letters, digits, «.», «_», «-»; "
                              "up to 64)")
        if voter_id.upper() in ids:  # the voting server keeps ids in capitals
            first = ids[voter_id.upper()]
            raise _roll_error(path, line, f"identificador de votante repetido {voter_id!r} "
                              f"(ya en la línea {first}; no se distinguen mayúsculas)",
                              f"duplicate voter id {voter_id!r} (already on line {first}; case is ignored)")
        for column, value in (("name", name), ("email", email)):
            if value.startswith(_FORMULA_START):
                raise _roll_error(path, line, f"el campo «{column}» no puede empezar con {value[0]!r}",
                                  f"the field «{column}» cannot start with {value[0]!r}")
        if not _EMAIL.fullmatch(email):
            raise _roll_error(path, line, f"correo no válido {email!r}", f"invalid email {email!r}")
        key = email.casefold()
        if key in emails:
            raise _roll_error(path, line, f"correo repetido {email!r} (ya en la línea {emails[key]})",
                              f"duplicate email {email!r} (already on line {emails[key]})")
        try:
            manifest.entity(entity)
        except ManifestError as exc:
            raise _roll_error(path, line, f"entidad desconocida {entity!r} (no está en el manifiesto)",
                              f"unknown entity {entity!r} (not in the manifest)") from exc
        consulate = _roll_consulate(path, line, manifest, entity, row, consulate_at)
        ids[voter_id.upper()] = line
        emails[key] = line
        roll.append(RollEntry(voter_id, entity, name, email, consulate))
    if not roll:
        raise CredentialError(tr(f"{path}: el padrón no tiene votantes",
                                 f"{path}: the roll has no voters"))
    return roll


def _roll_consulate(path: Path, line: int, manifest: Manifest, entity: str, row: Sequence[str],
                    at: int | None) -> str | None:
    """The voter's consulate (in-person modality), or None; refuses a consulate the manifest does not
    name, and any registered voter of the entity that stands for unregistered voters at consulates."""
    value = row[at].strip().upper() if at is not None and at < len(row) else ""
    ip = manifest.in_person
    if ip is not None and manifest.entity(entity).ballot_style == ip.unregistered_style:
        raise _roll_error(path, line, f"la entidad {entity!r} es la de las personas sin registro en los consulados: "
                          "nadie del padrón la tiene",
                          f"entity {entity!r} stands for unregistered voters at consulates: nobody on the roll has it")
    if not value:
        return None
    if ip is None or value not in ip.codes:
        raise _roll_error(path, line, f"consulado desconocido {value!r} (no está en el manifiesto)",
                          f"unknown consulate {value!r} (not in the manifest)")
    return value


_GIVEN = ("María", "José", "Guadalupe", "Juan", "Ana", "Luis", "Rosa", "Carlos", "Sofía", "Miguel",
          "Fernanda", "Jorge", "Isabel", "Ricardo", "Verónica", "Alejandro", "Lucía", "Héctor")
_SURNAMES = ("Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez",
             "Ramírez", "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez", "Torres")


def synthetic_roll(manifest: Manifest, n: int, seed: int | str = 0) -> list[RollEntry]:
    """``n`` invented voters spread evenly over the manifest's entities (drills and load tests).

    The same seed gives the same roll; entity ``i mod k`` of a seeded shuffle keeps every entity (so
    every ballot style) populated as soon as ``n ≥ k``."""
    if n < 0:
        raise CredentialError(tr("el número de votantes no puede ser negativo",
                                 "the number of voters cannot be negative"))
    rng = random.Random(f"sivei/synthetic-roll/{seed}")  # noqa: S311 - invented data, not secrets
    unregistered = manifest.in_person.unregistered_style if manifest.in_person is not None else None
    codes = [e.code for e in manifest.entities if e.ballot_style != unregistered]
    if not codes:
        raise CredentialError(tr("el manifiesto no tiene entidades", "the manifest has no entities"))
    rng.shuffle(codes)
    roll = []
    for i in range(n):
        name = f"{rng.choice(_GIVEN)} {rng.choice(_SURNAMES)} {rng.choice(_SURNAMES)}"
        voter_id = f"V{i + 1:08d}"
        roll.append(RollEntry(voter_id, codes[i % len(codes)], name,
                              f"votante{i + 1:08d}@ejemplo.invalid"))
    return roll


# -- the public list -----------------------------------------------------------------------------

LIST_TYPE = "credential-list"
LIST_CEREMONY = "credentials"
LIST_ROUND = 0
LIST_SENDER = "credential-authority"
TAG_ENTRIES = "sivei/credential-list"
LIST_FILE = "credential-list.json"
ENTRIES_FILE = "credentials.jsonl"
DRAFT_FILE = "credential-list-draft.json"
DRAFT_TYPE = "credential-list-draft"
_BODY_FIELDS = frozenset({"manifest_hash", "authority_key", "entries_hash", "count", "counts",
                          "retains_credentials"})
IN_PERSON_FIELD = "in_person_hash"
"""The declaration's hash (``sivei.ballot.in_person``): in the body exactly when the manifest has
in-person voting at consulates, so a list without it hashes as it always did."""
_DRAFT_FIELDS = frozenset({"type", "election_id", "manifest_hash", "entries_hash", "count", "counts",
                           "retains_credentials"})
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class CredentialEntry:
    """One public credential and the ballot style its holder may vote."""

    public_key: bytes
    ballot_style: str

    def to_json(self) -> dict[str, str]:
        return {"credential": self.public_key.hex(), "style": self.ballot_style}


def entries_hash(entries: Iterable[CredentialEntry], count: int) -> bytes:
    """``H("sivei/credential-list", u32(n) ‖ per entry fixed(pk, 32) ‖ string(style))``, streamed.

    Equal to ``tagged_hash(TAG_ENTRIES, Encoder()…to_bytes())`` but without holding 10^6 entries'
    encoding in memory."""
    tag = TAG_ENTRIES.encode("ascii")
    h = hashlib.sha256(len(tag).to_bytes(4, "big") + tag)
    h.update(Encoder().u32(count).to_bytes())
    seen = 0
    for entry in entries:
        h.update(Encoder().fixed(entry.public_key, 32).string(entry.ballot_style).to_bytes())
        seen += 1
    if seen != count:
        raise ValueError("count does not match the entries")
    return h.digest()


def style_counts(manifest: Manifest, entries: Iterable[CredentialEntry]) -> dict[str, int]:
    """Entries per ballot style, with one key for every style of the manifest (zero included)."""
    counts = {style.id: 0 for style in manifest.ballot_styles}
    for entry in entries:
        if entry.ballot_style in counts:
            counts[entry.ballot_style] += 1
    return counts


def _line(i: int) -> str:
    return tr(f"{ENTRIES_FILE}, línea {i + 1}", f"{ENTRIES_FILE}, line {i + 1}")


def _entry_problems(manifest: Manifest, entries: Sequence[CredentialEntry]) -> list[str]:
    """Every problem of the entries themselves: point validity, known style, strict sort order."""
    styles = {style.id for style in manifest.ballot_styles}
    problems: list[str] = []
    previous: bytes | None = None
    for i, entry in enumerate(entries):
        if not ed25519.is_valid_public_key(entry.public_key):
            problems.append(tr(f"{_line(i)}: «credential» no es un punto Ed25519 válido",
                               f"{_line(i)}: «credential» is not a valid Ed25519 point"))
        if entry.ballot_style not in styles:
            problems.append(tr(f"{_line(i)}: «style» {entry.ballot_style!r} no existe en el manifiesto",
                               f"{_line(i)}: «style» {entry.ballot_style!r} is not in the manifest"))
        if previous is not None:
            if entry.public_key == previous:
                problems.append(tr(f"{_line(i)}: credencial repetida (igual a la línea {i})",
                                   f"{_line(i)}: duplicate credential (same as line {i})"))
            elif entry.public_key < previous:
                problems.append(tr(f"{_line(i)}: fuera de orden (menor que la línea {i}; la lista "
                                   "va ordenada por bytes de la credencial)",
                                   f"{_line(i)}: out of order (less than line {i}; the list is "
                                   "sorted by credential bytes)"))
        previous = entry.public_key
    return problems


def _summary_problems(manifest: Manifest, body: Mapping[str, Any], entries: Sequence[CredentialEntry],
                      fields: frozenset[str], what: str) -> list[str]:
    """Problems of the fields shared by the signed body and the draft (hashes and counts)."""
    problems: list[str] = []
    if manifest.in_person is not None:
        fields = fields | {IN_PERSON_FIELD}
        value = body.get(IN_PERSON_FIELD)
        if IN_PERSON_FIELD in body and (not isinstance(value, str) or not _HEX64.fullmatch(value)):
            problems.append(tr(f"{what}.{IN_PERSON_FIELD}: se esperaban 64 dígitos hexadecimales",
                               f"{what}.{IN_PERSON_FIELD}: expected 64 hex digits"))
    missing = sorted(fields - set(body))
    extra = sorted(set(body) - fields)
    if missing:
        problems.append(tr(f"{what}: faltan los campos {missing}", f"{what}: missing fields {missing}"))
    if extra:
        problems.append(tr(f"{what}: campos no previstos {extra}", f"{what}: unexpected fields {extra}"))
    if "manifest_hash" in body and body["manifest_hash"] != manifest.hash.hex():
        problems.append(tr(f"{what}.manifest_hash: la lista es de otro manifiesto (no coincide con el "
                           "hash del manifiesto dado)",
                           f"{what}.manifest_hash: the list belongs to another manifest (does not "
                           "match the given manifest's hash)"))
    count = body.get("count")
    if "count" in body:
        if not isinstance(count, int) or isinstance(count, bool):
            problems.append(tr(f"{what}.count: se esperaba un entero", f"{what}.count: expected an integer"))
        elif count != len(entries):
            problems.append(tr(f"{what}.count: dice {count} credenciales y {ENTRIES_FILE} tiene "
                               f"{len(entries)}",
                               f"{what}.count: says {count} credentials and {ENTRIES_FILE} has "
                               f"{len(entries)}"))
    if "counts" in body:
        counts = body["counts"]
        actual = style_counts(manifest, entries)
        if not isinstance(counts, dict):
            problems.append(tr(f"{what}.counts: se esperaba un objeto", f"{what}.counts: expected an object"))
        else:
            for style in sorted(set(counts) | set(actual)):
                if style not in actual:
                    problems.append(tr(f"{what}.counts: el estilo {style!r} no existe en el manifiesto",
                                       f"{what}.counts: style {style!r} is not in the manifest"))
                elif style not in counts:
                    problems.append(tr(f"{what}.counts: falta el estilo {style!r}",
                                       f"{what}.counts: style {style!r} is missing"))
                elif (not isinstance(counts[style], int) or isinstance(counts[style], bool)
                      or counts[style] != actual[style]):
                    problems.append(tr(f"{what}.counts[{style!r}]: dice {counts[style]!r} y "
                                       f"{ENTRIES_FILE} tiene {actual[style]}",
                                       f"{what}.counts[{style!r}]: says {counts[style]!r} and "
                                       f"{ENTRIES_FILE} has {actual[style]}"))
    if "entries_hash" in body:
        value = body["entries_hash"]
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            problems.append(tr(f"{what}.entries_hash: se esperaban 64 dígitos hexadecimales",
                               f"{what}.entries_hash: expected 64 hex digits"))
        elif value != entries_hash(entries, len(entries)).hex():
            problems.append(tr(f"{what}.entries_hash: no coincide con {ENTRIES_FILE} (se cambió, quitó "
                               "o agregó alguna entrada)",
                               f"{what}.entries_hash: does not match {ENTRIES_FILE} (an entry was "
                               "changed, removed or added)"))
    if "retains_credentials" in body and not isinstance(body["retains_credentials"], bool):
        problems.append(tr(f"{what}.retains_credentials: se esperaba true o false",
                           f"{what}.retains_credentials: expected true or false"))
    return problems


def check_credential_list(manifest: Manifest, envelope: Envelope, entries: Sequence[CredentialEntry],
                          *, authority_key: bytes | None = None) -> list[str]:
    """Every problem of a published list against the manifest, each naming its field or line.

    Checks the envelope header and signature (by the key in the body, and that key equals
    ``authority_key`` when given), the manifest hash, every entry (valid Ed25519 point, known style,
    strictly increasing), the count, the per-style counts and the entries hash. Empty means valid."""
    problems: list[str] = []
    header = {"type": (envelope.type, LIST_TYPE), "ceremony_id": (envelope.ceremony_id, LIST_CEREMONY),
              "round": (envelope.round, LIST_ROUND), "sender": (envelope.sender, LIST_SENDER),
              "election_id": (envelope.election_id, manifest.election_id)}
    for name, (got, want) in header.items():
        if got != want:
            problems.append(tr(f"{LIST_FILE}: «{name}» es {got!r}, se esperaba {want!r}",
                               f"{LIST_FILE}: «{name}» is {got!r}, expected {want!r}"))
    if envelope.previous != manifest.hash:
        problems.append(tr(f"{LIST_FILE}: «previous» no es el hash del manifiesto dado",
                           f"{LIST_FILE}: «previous» is not the given manifest's hash"))
    body = envelope.body
    key: bytes | None = None
    if "authority_key" in body:
        try:
            where = f"{LIST_FILE}: body.authority_key"
            key = hex_to_bytes(body["authority_key"], P256_PUBLIC_KEY_BYTES, where)
            load_public_key(key, where)
        except (EncodingError, SignatureError) as exc:
            problems.append(str(exc))
            key = None
    if key is not None:
        if authority_key is not None and key != authority_key:
            problems.append(tr(f"{LIST_FILE}: body.authority_key no es la llave de la autoridad esperada",
                               f"{LIST_FILE}: body.authority_key is not the expected authority key"))
        try:
            envelope.verify(key)
        except SignatureError as exc:
            problems.append(f"{LIST_FILE}: {exc}")
    problems.extend(_entry_problems(manifest, entries))
    problems.extend(_summary_problems(manifest, body, entries, _BODY_FIELDS, f"{LIST_FILE}: body"))
    return problems


@contextlib.contextmanager
def _atomic_writer(target: Path, *, mode: int = 0o644) -> Iterator[io.TextIOWrapper]:
    """Write a text file beside ``target`` and rename it into place only once complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(target: Path | str, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``target`` through a temporary file and a rename (never half-written)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(target: Path | str, text: str, *, mode: int = 0o644) -> None:
    """Write ``text`` to ``target`` through a temporary file and a rename (never half-written)."""
    with _atomic_writer(Path(target), mode=mode) as fh:
        fh.write(text)


def _json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _write_entries(directory: Path, entries: Sequence[CredentialEntry]) -> None:
    with _atomic_writer(directory / ENTRIES_FILE) as fh:
        for entry in entries:
            fh.write(canonical_json(entry.to_json()).decode("utf-8"))
            fh.write("\n")


def read_entries(path: Path | str) -> tuple[CredentialEntry, ...]:
    """Parse ``credentials.jsonl``; raise naming the line of the first malformed one.

    Only the shape is checked here (two fields, 64 lowercase hex digits, a style string); validity
    and order are checked by :func:`check_credential_list`, which reports every problem."""
    path = Path(path)
    entries: list[CredentialEntry] = []
    try:
        fh = path.open("r", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise CredentialError(tr(f"no se puede leer {path}: {exc.strerror}",
                                 f"cannot read {path}: {exc.strerror}")) from exc
    with fh:
        try:
            for number, line in enumerate(fh, start=1):
                entries.append(_parse_entry_line(path, number, line))
        except UnicodeDecodeError as exc:
            raise CredentialError(tr(f"{path}: el archivo no está en UTF-8",
                                     f"{path}: the file is not UTF-8")) from exc
    return tuple(entries)


def _parse_entry_line(path: Path, number: int, line: str) -> CredentialEntry:
    where = tr(f"{path.name}, línea {number}", f"{path.name}, line {number}")
    try:
        obj = jsonstrict.loads(line)
    except json.JSONDecodeError as exc:
        raise CredentialError(tr(f"{where}: JSON no válido ({exc.msg})",
                                 f"{where}: invalid JSON ({exc.msg})")) from exc
    if not isinstance(obj, dict) or set(obj) != {"credential", "style"}:
        raise CredentialError(tr(f"{where}: se esperaban exactamente los campos «credential» y «style»",
                                 f"{where}: expected exactly the fields «credential» and «style»"))
    try:
        key = hex_to_bytes(obj["credential"], 32, f"{where}: «credential»")
    except EncodingError as exc:
        raise CredentialError(str(exc)) from exc
    if not isinstance(obj["style"], str):
        raise CredentialError(tr(f"{where}: «style» debe ser texto", f"{where}: «style» must be text"))
    return CredentialEntry(key, obj["style"])


def _read_json(path: Path) -> object:
    try:
        return jsonstrict.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CredentialError(tr(f"no existe {path}", f"{path} does not exist")) from exc
    except OSError as exc:
        raise CredentialError(tr(f"no se puede leer {path}: {exc.strerror}",
                                 f"cannot read {path}: {exc.strerror}")) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CredentialError(tr(f"{path}: JSON no válido", f"{path}: invalid JSON")) from exc


@dataclass(frozen=True, eq=False)
class CredentialList:
    """The authority's signed list of public credentials (the envelope and its sorted entries)."""

    envelope: Envelope
    entries: tuple[CredentialEntry, ...]
    _index: dict[bytes, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {e.public_key: e.ballot_style for e in self.entries})

    @property
    def hash(self) -> bytes:
        """The list's hash (the envelope's content hash): it enters H_E, frozen at opening."""
        return self.envelope.content_hash

    @property
    def authority_key(self) -> bytes:
        """The authority's 65-byte P-256 public key, as stated in the signed body."""
        return bytes.fromhex(str(self.envelope.body["authority_key"]))

    @property
    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.envelope.body["counts"].items()}

    @property
    def retains_credentials(self) -> bool:
        return bool(self.envelope.body["retains_credentials"])

    @property
    def in_person_hash(self) -> str | None:
        """The hex hash of the consulates' declaration the list signs, if any."""
        value = self.envelope.body.get(IN_PERSON_FIELD)
        return value if isinstance(value, str) else None

    @property
    def styles(self) -> Mapping[bytes, str]:
        """Read-only public credential → ballot style mapping (what a board looks ballots up in)."""
        return MappingProxyType(self._index)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, public_key: object) -> bool:
        return public_key in self._index

    def style_of(self, public_key: bytes) -> str | None:
        """The ballot style of a public credential, or None when it is not on the list."""
        return self._index.get(bytes(public_key))

    def write(self, directory: Path | str) -> None:
        """Write ``credentials.jsonl`` then ``credential-list.json``, each through a rename."""
        directory = Path(directory)
        _write_entries(directory, self.entries)
        write_text_atomic(directory / LIST_FILE, _json_text(self.envelope.to_json()))

    @staticmethod
    def read(directory: Path | str, manifest: Manifest, *,
             authority_key: bytes | None = None) -> CredentialList:
        """Read and fully verify a published list; raise with the first problem found."""
        envelope, entries = load_credential_list_files(directory)
        problems = check_credential_list(manifest, envelope, entries, authority_key=authority_key)
        if problems:
            raise CredentialError(problems[0])
        return CredentialList(envelope, entries)


def load_credential_list_files(directory: Path | str) -> tuple[Envelope, tuple[CredentialEntry, ...]]:
    """Parse the two files of a published list without judging them (for the verifier)."""
    directory = Path(directory)
    try:
        envelope = Envelope.from_json(_read_json(directory / LIST_FILE), LIST_FILE)
    except EncodingError as exc:
        raise CredentialError(str(exc)) from exc
    return envelope, read_entries(directory / ENTRIES_FILE)


@dataclass(frozen=True, eq=False)
class CredentialListDraft:
    """The list before the authority signs it (the ``generate`` step; ``publish`` signs it)."""

    election_id: str
    manifest_hash: bytes
    entries: tuple[CredentialEntry, ...]
    counts: Mapping[str, int]
    retains_credentials: bool
    in_person_hash: bytes | None = None
    """The hash of the authority's declaration of the consulates' credentials, when the manifest has
    in-person voting (``sivei.ballot.in_person``)."""

    @property
    def entries_hash(self) -> bytes:
        return entries_hash(self.entries, len(self.entries))

    def body(self, authority_key: bytes) -> dict[str, Any]:
        body = {"manifest_hash": self.manifest_hash.hex(), "authority_key": authority_key.hex(),
                "entries_hash": self.entries_hash.hex(), "count": len(self.entries),
                "counts": dict(self.counts), "retains_credentials": self.retains_credentials}
        if self.in_person_hash is not None:
            body[IN_PERSON_FIELD] = self.in_person_hash.hex()
        return body

    def to_json(self) -> dict[str, Any]:
        body = self.body(b"")
        del body["authority_key"]
        return {"type": DRAFT_TYPE, "election_id": self.election_id, **body}

    def write(self, directory: Path | str) -> None:
        """Write ``credentials.jsonl`` then ``credential-list-draft.json``, each through a rename."""
        directory = Path(directory)
        _write_entries(directory, self.entries)
        write_text_atomic(directory / DRAFT_FILE, _json_text(self.to_json()))

    @staticmethod
    def read(directory: Path | str, manifest: Manifest) -> CredentialListDraft:
        """Read a draft and check it against the manifest as fully as the signed list would be."""
        directory = Path(directory)
        obj = _read_json(directory / DRAFT_FILE)
        entries = read_entries(directory / ENTRIES_FILE)
        if not isinstance(obj, dict):
            raise CredentialError(tr(f"{DRAFT_FILE}: se esperaba un objeto",
                                     f"{DRAFT_FILE}: expected an object"))
        problems = []
        if obj.get("type") != DRAFT_TYPE:
            problems.append(tr(f"{DRAFT_FILE}: «type» debe ser {DRAFT_TYPE!r}",
                               f"{DRAFT_FILE}: «type» must be {DRAFT_TYPE!r}"))
        if obj.get("election_id") != manifest.election_id:
            problems.append(tr(f"{DRAFT_FILE}: «election_id» no es el del manifiesto",
                               f"{DRAFT_FILE}: «election_id» is not the manifest's"))
        summary = {k: v for k, v in obj.items() if k not in ("type", "election_id")}
        problems += _summary_problems(manifest, summary, entries, _DRAFT_FIELDS - {"type", "election_id"},
                                      DRAFT_FILE)
        problems += _entry_problems(manifest, entries)
        if problems:
            raise CredentialError(problems[0])
        in_person = obj.get(IN_PERSON_FIELD)
        return CredentialListDraft(manifest.election_id, manifest.hash, entries,
                                   style_counts(manifest, entries), bool(obj["retains_credentials"]),
                                   bytes.fromhex(in_person) if isinstance(in_person, str) else None)


def sign_credential_list(draft: CredentialListDraft, authority: Signer) -> CredentialList:
    """The ``publish`` step: the authority signs the draft into the public list's envelope."""
    envelope = seal(authority, type=LIST_TYPE, election_id=draft.election_id, ceremony_id=LIST_CEREMONY,
                    round=LIST_ROUND, sender=LIST_SENDER, previous=draft.manifest_hash,
                    body=draft.body(authority.public_key))
    return CredentialList(envelope, draft.entries)


# -- issuing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """What one voter receives, privately, through the authority's channel (never the server)."""

    voter_id: str
    name: str
    email: str
    entity: str
    credential: str  # formatted, with its check character

    def to_json(self) -> dict[str, str]:
        return {"voter_id": self.voter_id, "name": self.name, "email": self.email,
                "entity": self.entity, "credential": self.credential}


@dataclass(frozen=True, eq=False)
class GeneratedCredentials:
    """The ``generate`` step's result: the unsigned list and the private deliveries (roll order);
    with in-person voting, each consulate's pool of credentials (formatted, private: printed on
    cards for the consulate) and the public declaration of the consulates' credentials."""

    draft: CredentialListDraft
    deliveries: tuple[Delivery, ...]
    pools: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    declaration: InPersonDeclaration | None = None


@dataclass(frozen=True, eq=False)
class IssuedCredentials:
    """The signed public list and the private deliveries (roll order), the pools and the declaration."""

    credential_list: CredentialList
    deliveries: tuple[Delivery, ...]
    pools: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    declaration: InPersonDeclaration | None = None


def generate_credentials(manifest: Manifest, roll: Sequence[RollEntry], *,
                         retain: bool) -> GeneratedCredentials:
    """A fresh credential per voter and the unsigned list (sorted, distinct, counted per style)."""
    if not roll:
        raise CredentialError(tr("el padrón no tiene votantes", "the roll has no voters"))
    seen_ids: set[str] = set()
    deliveries: list[Delivery] = []
    entries: list[CredentialEntry] = []
    keys: set[bytes] = set()
    for voter in roll:
        if voter.voter_id in seen_ids:
            raise CredentialError(tr(f"identificador de votante repetido {voter.voter_id!r}",
                                     f"duplicate voter id {voter.voter_id!r}"))
        seen_ids.add(voter.voter_id)
        try:
            style = manifest.style_for_entity(voter.entity).id
        except ManifestError as exc:
            raise CredentialError(tr(f"votante {voter.voter_id!r}: {exc}",
                                     f"voter {voter.voter_id!r}: {exc}")) from exc
        _check_in_person_voter(manifest, voter, style)
        while True:  # a collision of 130-bit values is not expected, but distinctness is a rule
            credential = generate_credential()
            public_key = credential_public_key(manifest.election_id, credential)
            if public_key not in keys:
                break
        keys.add(public_key)
        entries.append(CredentialEntry(public_key, style))
        deliveries.append(Delivery(voter.voter_id, voter.name, voter.email, voter.entity, credential))
    pools, pool_keys = _pools(manifest, keys)
    entries += [CredentialEntry(k, style) for style, k in pool_keys]
    entries.sort(key=lambda e: e.public_key)
    declaration = in_person_declaration(manifest, deliveries, roll, pools)
    draft = CredentialListDraft(manifest.election_id, manifest.hash, tuple(entries),
                                style_counts(manifest, entries), retain,
                                declaration.hash if declaration is not None else None)
    return GeneratedCredentials(draft, tuple(deliveries), pools, declaration)


def _check_in_person_voter(manifest: Manifest, voter: RollEntry, style: str) -> None:
    """A roll voter never has the unregistered voters' ballot, and votes in person only at a consulate
    of the manifest."""
    ip = manifest.in_person
    if ip is not None and style == ip.unregistered_style:
        raise CredentialError(tr(f"votante {voter.voter_id!r}: su entidad es la de las personas sin registro",
                                 f"voter {voter.voter_id!r}: their entity is that of unregistered voters"))
    if voter.consulate is not None and (ip is None or voter.consulate not in ip.codes):
        raise CredentialError(tr(f"votante {voter.voter_id!r}: consulado desconocido {voter.consulate!r}",
                                 f"voter {voter.voter_id!r}: unknown consulate {voter.consulate!r}"))


def _pools(manifest: Manifest, keys: set[bytes]) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, bytes]]]:
    """Each consulate's pool: exactly its cap of fresh credentials, of the unregistered style, all
    distinct from ``keys`` (which grows); and the (style, public credential) of each."""
    ip = manifest.in_person
    pools: dict[str, tuple[str, ...]] = {}
    out: list[tuple[str, bytes]] = []
    if ip is None:
        return pools, out
    for consulate in ip.consulates:
        creds: list[str] = []
        while len(creds) < consulate.unregistered_cap:
            credential = generate_credential()
            public_key = credential_public_key(manifest.election_id, credential)
            if public_key in keys:
                continue
            keys.add(public_key)
            creds.append(credential)
            out.append((ip.unregistered_style, public_key))
        pools[consulate.code] = tuple(creds)
    return pools, out


def draft_for_same_credentials(manifest: Manifest, deliveries: Sequence[Delivery], *,
                               retain: bool, roll: Sequence[RollEntry] = (),
                               pools: Mapping[str, Sequence[str]] | None = None) -> CredentialListDraft:
    """The unsigned list of another election with the same entities and ballots — the practice election
    voters try before the real one — from the SAME private credentials: each voter's one letter and
    link work in both. The public credentials differ (each is derived with its election's id), so
    the two lists cannot be linked to each other without the private credentials."""
    entries = []
    for d in deliveries:
        try:
            style = manifest.style_for_entity(d.entity).id
        except ManifestError as exc:
            raise CredentialError(tr(f"votante {d.voter_id!r}: {exc}", f"voter {d.voter_id!r}: {exc}")) from exc
        entries.append(CredentialEntry(credential_public_key(manifest.election_id, d.credential), style))
    declaration = in_person_declaration(manifest, deliveries, roll, pools or {})
    if declaration is not None:
        assert manifest.in_person is not None
        entries += [CredentialEntry(k, manifest.in_person.unregistered_style)
                    for c in declaration.consulates for k in c.pool]
    entries.sort(key=lambda e: e.public_key)
    if len({e.public_key for e in entries}) != len(entries):
        raise CredentialError(tr("credenciales repetidas", "repeated credentials"))
    return CredentialListDraft(manifest.election_id, manifest.hash, tuple(entries), style_counts(manifest, entries),
                               retain, declaration.hash if declaration is not None else None)


def in_person_declaration(manifest: Manifest, deliveries: Sequence[Delivery], roll: Sequence[RollEntry],
                          pools: Mapping[str, Sequence[str]]) -> InPersonDeclaration | None:
    """The declaration of the consulates' credentials of ``manifest``'s election (public credentials
    derived with its id): the registered in-person voters' (by the roll's consulate) and the pools'."""
    if manifest.in_person is None:
        return None
    consulate_of = {v.voter_id: v.consulate for v in roll}
    registered: dict[str, list[bytes]] = {}
    for d in deliveries:
        code = consulate_of.get(d.voter_id)
        if code is not None:
            registered.setdefault(code, []).append(credential_public_key(manifest.election_id, d.credential))
    pool_keys = {code: [credential_public_key(manifest.election_id, c) for c in creds] for code, creds in pools.items()}
    return InPersonDeclaration.build(manifest.election_id, registered, pool_keys, manifest.in_person.codes)


def issue_credentials(manifest: Manifest, roll: Sequence[RollEntry], authority: Signer, *,
                      retain: bool) -> IssuedCredentials:
    """Generate and sign in one go (the drill's in-memory path)."""
    generated = generate_credentials(manifest, roll, retain=retain)
    return IssuedCredentials(sign_credential_list(generated.draft, authority), generated.deliveries,
                             generated.pools, generated.declaration)


# -- delivery files ------------------------------------------------------------------------------

MAIL_MERGE_FILE = "mail-merge.csv"
LETTERS_DIR = "cartas"
QR_DIR = "qr"
DELIVERY_FIELDS = ("voter_id", "name", "email", "entity", "credential")  # what the escrow seals
MAIL_MERGE_COLUMNS = (*DELIVERY_FIELDS, "link", "qr")
LINK_PATH = "/votar"
LINK_KEY = "credencial"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
_SITE = re.compile(r"(https?)://([A-Za-z0-9.-]+|\[::1\])(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?")


def site_url(text: str) -> str:
    """The voting site's address as links start with it: ``https://host[:port][/path]`` without a
    trailing slash, query or fragment (plain ``http://`` only for loopback, in drills and tests)."""
    value = text.strip().rstrip("/")
    match = _SITE.fullmatch(value)
    if match is None or (match.group(1) == "http" and match.group(2).lower() not in _LOOPBACK_HOSTS):
        raise CredentialError(tr(
            f"dirección del sitio de votación no válida {text!r}: se espera https://servidor[/ruta], sin «?» ni «#»",
            f"invalid voting site address {text!r}: expected https://host[/path], without «?» or «#»"))
    return value


def voting_link(site: str, credential: str) -> str:
    """``<site>/votar#credencial=<26 canonical characters>``: what the authority's message links to.

    The credential rides in the fragment, which browsers never send to the server; the booth reads it,
    removes it from the address bar and keeps it in the page's memory only. Only letters and digits
    after ``#``, so that no mail program cuts the link short."""
    return f"{site_url(site)}{LINK_PATH}#{LINK_KEY}={canonical_credential(credential)}"


def credential_from_link(text: str) -> str | None:
    """The canonical credential that a voting link, or its fragment ``credencial=…``, carries; None
    when ``text`` is no such link (it may be a typed credential). A damaged link is an error."""
    fragment = text.strip()
    if "#" in fragment:
        fragment = fragment.split("#", 1)[1]
    if not fragment.startswith(f"{LINK_KEY}="):
        return None
    value = fragment[len(LINK_KEY) + 1:].upper()
    if not _CANONICAL.fullmatch(value):
        raise CredentialError(tr(
            "el enlace está incompleto o dañado: ábralo de nuevo desde su mensaje o escriba su credencial",
            "the link is incomplete or damaged: open it again from your message or type your credential"))
    return value


def qr_png(link: str) -> bytes:
    """A QR code of the voting link as PNG (error correction M, 8 pixels a module, quiet zone 4)."""
    import segno  # imported here: only the authority's delivery step draws QR codes

    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def _file_stem(voter_id: str) -> str:
    if not _VOTER_ID.fullmatch(voter_id):
        raise CredentialError(tr(f"identificador de votante no válido para un archivo: {voter_id!r}",
                                 f"voter id not valid as a file name: {voter_id!r}"))
    return voter_id


def qr_file(voter_id: str) -> str:
    """Where a voter's QR code is written, relative to the deliveries directory."""
    return f"{QR_DIR}/{_file_stem(voter_id)}.png"


def mail_merge_csv(deliveries: Iterable[Delivery], site: str) -> str:
    """The mail-merge file: ``voter_id,name,email,entity,credential,link,qr``, one row per voter
    (``qr`` is the PNG file of the link's QR code, relative to this file)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MAIL_MERGE_COLUMNS)
    for d in deliveries:
        writer.writerow([d.voter_id, d.name, d.email, d.entity, d.credential, voting_link(site, d.credential),
                         qr_file(d.voter_id)])
    return out.getvalue()

def _items(*texts: str) -> list[str]:
    return [textwrap.fill(t, width=92, initial_indent="- ", subsequent_indent="  ") for t in texts]


def letter(manifest: Manifest, delivery: Delivery, *, retained: bool, site: str) -> str:
    """A printable plain-text letter, Spanish then English, with the voting link (the printing house
    places the QR code of ``qr/<voter_id>.png`` beside it).

    It carries the manifest's fingerprint, not H_E's: letters are printed before the key ceremony,
    so the voting site must show ``fingerprint(manifest.hash)`` labelled «huella del manifiesto»."""
    try:
        entity_name = manifest.entity(delivery.entity).name
    except ManifestError:
        entity_name = delivery.entity
    fp = fingerprint(manifest.hash)
    link = voting_link(site, delivery.credential)
    if retained:
        lost_es = ("Si pierde este mensaje, solicite a la autoridad de credenciales que se lo vuelva a "
                   "enviar: tras verificar su identidad, recibirá la misma credencial y el mismo enlace.")
        lost_en = ("If you lose this message, ask the credential authority to send it again: after "
                   "verifying your identity, you will receive the same credential and the same link.")
    else:
        lost_es = ("Esta credencial no se guarda en ningún lugar: si la pierde, no podrá recuperarse. "
                   "Consérvela en un lugar seguro.")
        lost_en = ("This credential is not kept anywhere: if you lose it, it cannot be recovered. "
                   "Keep it in a safe place.")

    how_es = "\n".join(_items(
        "Abra el enlace (o escanee el código QR) en su teléfono o computadora e inicie sesión con su "
        "usuario y contraseña. La credencial se lee sola del enlace: no tiene que escribirla.",
        "Si prefiere escribirla, después de iniciar sesión la cabina se la pedirá. No importan "
        "mayúsculas, minúsculas, espacios ni guiones. El último carácter es de verificación: si se "
        "equivoca en un carácter, el sistema se lo dirá.",
        "Su navegador usa la credencial para firmar su boleta; la credencial no se envía al servidor "
        "(en el enlace va después del signo «#», parte que los navegadores no envían).",
        "Antes de votar, compruebe que la «huella del manifiesto» que muestra el sitio es exactamente "
        "la de esta carta: así sabe que vota en la elección correcta. Si no coincide, no vote y repórtelo."))
    share_es = "\n".join(_items(
        "Quien tenga esta credencial y su cuenta puede votar en su lugar. No comparta el enlace, el "
        "código QR ni la credencial con nadie.",
        "Nadie del INE, de un partido ni del sistema de votación le pedirá esta credencial por "
        "teléfono, correo o mensaje.",
        lost_es))
    how_en = "\n".join(_items(
        "Open the link (or scan the QR code) on your phone or computer and log in with your username "
        "and password. The credential is read from the link: you do not have to type it.",
        "If you prefer to type it, the booth asks for it after you log in. Upper or lower case, "
        "spaces and hyphens do not matter. The last character is a check character: if you mistype a "
        "character, the system will tell you.",
        "Your browser uses the credential to sign your ballot; the credential is not sent to the "
        "server (in the link it comes after the «#» sign, the part browsers never send).",
        "Before voting, check that the «manifest fingerprint» shown by the site is exactly the one in "
        "this letter: it tells you that you are voting in the right election. If it does not match, "
        "do not vote and report it."))
    share_en = "\n".join(_items(
        "Whoever has this credential and your account can vote in your place. Do not share the link, "
        "the QR code or the credential with anyone.",
        "Nobody from INE, a party or the voting system will ask you for this credential by phone, "
        "email or message.",
        lost_en))
    return f"""\
AUTORIDAD DE CREDENCIALES — VOTO POR INTERNET DESDE EL EXTRANJERO
Credencial de votación personal y confidencial

Elección:               {manifest.election_id}
Huella del manifiesto:  {fp}
Votante:                {delivery.name} ({delivery.voter_id})
Entidad:                {entity_name} ({delivery.entity})

Su enlace para votar (o escanee el código QR de esta carta):

        {link}

Su credencial de votación (por si prefiere escribirla):

        {delivery.credential}

Cómo votar
{how_es}

No la comparta
{share_es}

------------------------------------------------------------------------------------------

CREDENTIAL AUTHORITY — INTERNET VOTE FROM ABROAD
Personal and confidential voting credential

Election:               {manifest.election_id}
Manifest fingerprint:   {fp}
Voter:                  {delivery.name} ({delivery.voter_id})
Entity:                 {entity_name} ({delivery.entity})

Your voting link (or scan the QR code of this letter):

        {link}

Your voting credential (should you prefer to type it):

        {delivery.credential}

How to vote
{how_en}

Do not share it
{share_en}
"""


def write_deliveries(directory: Path | str, manifest: Manifest, deliveries: Sequence[Delivery], *,
                     retained: bool, site: str, letters: bool = True) -> None:
    """Write ``mail-merge.csv``, ``qr/<voter_id>.png`` and, unless told not to,
    ``cartas/<voter_id>.txt`` (all mode 0600: they hold private credentials)."""
    directory = Path(directory)
    site = site_url(site)
    write_text_atomic(directory / MAIL_MERGE_FILE, mail_merge_csv(deliveries, site), mode=0o600)
    for d in deliveries:
        write_bytes_atomic(directory / qr_file(d.voter_id), qr_png(voting_link(site, d.credential)), mode=0o600)
        if letters:
            write_text_atomic(directory / LETTERS_DIR / f"{_file_stem(d.voter_id)}.txt",
                              letter(manifest, d, retained=retained, site=site), mode=0o600)


POOL_DIR = "consulados"
POOL_CARDS_FILE = "tarjetas.csv"
POOL_SHEET_FILE = "tarjetas.txt"


def pool_card_name(code: str, number: int) -> str:
    """A pool card's file stem: the consulate and its number in the pool (``LAX-0001``)."""
    return f"{code}-{number:04d}"


def write_pool_cards(directory: Path | str, manifest: Manifest, pools: Mapping[str, Sequence[str]], *,
                     site: str) -> None:
    """Each consulate's pool as cards to print and seal for the consulate: ``consulados/<C>/tarjetas.csv``
    (``card,credential,link,qr``), the QR code of each card's voting link (``qr/<C>-<n>.png``) and a
    printable ``tarjetas.txt`` (Spanish, then English). Private (mode 0600): each card casts one ballot
    in that consulate's kiosks, for a voter the consulate served without registration."""
    directory = Path(directory)
    site = site_url(site)
    assert manifest.in_person is not None or not pools
    for code, creds in pools.items():
        assert manifest.in_person is not None
        name = manifest.in_person.consulate(code).name
        folder = directory / POOL_DIR / code
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("card", "credential", "link", "qr"))
        sheet = [f"TARJETAS DE CREDENCIAL PARA PERSONAS SIN REGISTRO PREVIO — {name} ({code})",
                 f"CREDENTIAL CARDS FOR VOTERS WITHOUT PRIOR REGISTRATION — {name} ({code})",
                 f"Elección / Election: {manifest.election_id}", ""]
        for n, credential in enumerate(creds, start=1):
            card = pool_card_name(code, n)
            link = voting_link(site, credential)
            writer.writerow((card, credential, link, f"qr/{card}.png"))
            write_bytes_atomic(folder / "qr" / f"{card}.png", qr_png(link), mode=0o600)
            sheet += [f"[{card}]  {credential}",
                      "  Escanee este código en el quiosco del consulado. Sirve para un solo voto.",
                      "  Scan this code at the consulate's kiosk. It is good for one vote only.", ""]
        write_text_atomic(folder / POOL_CARDS_FILE, out.getvalue(), mode=0o600)
        write_text_atomic(folder / POOL_SHEET_FILE, "\n".join(sheet), mode=0o600)


# -- escrow for re-delivery ----------------------------------------------------------------------

ESCROW_KEY_FILE = "escrow-key.json"
ESCROW_FILE = "escrow.jsonl"
ESCROW_KDF = "argon2id"
DEFAULT_OPSLIMIT: int = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
DEFAULT_MEMLIMIT: int = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
_SALT_BYTES: int = nacl.pwhash.argon2id.SALTBYTES


def _kdf(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    key: bytes = nacl.pwhash.argon2id.kdf(nacl.secret.SecretBox.KEY_SIZE, passphrase, salt,
                                          opslimit=opslimit, memlimit=memlimit)
    return key


def _as_bytes(passphrase: bytes | str) -> bytes:
    data = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
    if not data:
        raise CredentialError(tr("la frase de paso está vacía", "the passphrase is empty"))
    return data


class Escrow:
    """Sealed store of delivered credentials, for re-delivering the same credential on request.

    ``escrow-key.json`` holds the X25519 public key and its private key encrypted with a SecretBox
    key derived from a passphrase (Argon2id; limits stored in the file). ``escrow.jsonl`` holds one
    ``{"voter_id", "sealed"}`` line per voter (sorted by voter id); ``sealed`` is a SealedBox of the
    canonical JSON of the delivery plus the election id, so lines cannot be swapped unnoticed."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    @staticmethod
    def create(directory: Path | str, election_id: str, deliveries: Iterable[Delivery],
               passphrase: bytes | str, *, opslimit: int = DEFAULT_OPSLIMIT,
               memlimit: int = DEFAULT_MEMLIMIT) -> Escrow:
        """Make a new escrow key under ``passphrase`` and seal every delivery to it."""
        directory = Path(directory)
        secret = _as_bytes(passphrase)
        private = nacl.public.PrivateKey.generate()
        salt = nacl.utils.random(_SALT_BYTES)
        box = nacl.secret.SecretBox(_kdf(secret, salt, opslimit, memlimit))
        key_file = {"version": 1, "kdf": ESCROW_KDF, "opslimit": opslimit, "memlimit": memlimit,
                    "salt": salt.hex(), "public_key": bytes(private.public_key).hex(),
                    "encrypted_private_key": bytes(box.encrypt(bytes(private))).hex(),
                    "election_id": election_id}
        sealer = nacl.public.SealedBox(private.public_key)
        with _atomic_writer(directory / ESCROW_FILE, mode=0o600) as fh:
            for d in sorted(deliveries, key=lambda d: d.voter_id):
                plain = canonical_json({"election_id": election_id, **d.to_json()})
                line = {"voter_id": d.voter_id, "sealed": bytes(sealer.encrypt(plain)).hex()}
                fh.write(canonical_json(line).decode("utf-8") + "\n")
        write_text_atomic(directory / ESCROW_KEY_FILE, _json_text(key_file), mode=0o600)
        return Escrow(directory)

    def _private_key(self, passphrase: bytes | str) -> tuple[nacl.public.PrivateKey, str]:
        obj = _read_json(self.directory / ESCROW_KEY_FILE)
        fields = {"version", "kdf", "opslimit", "memlimit", "salt", "public_key",
                  "encrypted_private_key", "election_id"}
        if not isinstance(obj, dict) or set(obj) != fields or obj["kdf"] != ESCROW_KDF:
            raise CredentialError(tr(f"{ESCROW_KEY_FILE}: formato no reconocido",
                                     f"{ESCROW_KEY_FILE}: unrecognised format"))
        try:
            salt = bytes.fromhex(obj["salt"])
            encrypted = bytes.fromhex(obj["encrypted_private_key"])
            public = bytes.fromhex(obj["public_key"])
            key = _kdf(_as_bytes(passphrase), salt, int(obj["opslimit"]), int(obj["memlimit"]))
        except (TypeError, ValueError, nacl.exceptions.CryptoError) as exc:
            raise CredentialError(tr(f"{ESCROW_KEY_FILE}: campos mal formados",
                                     f"{ESCROW_KEY_FILE}: malformed fields")) from exc
        try:
            private = nacl.public.PrivateKey(nacl.secret.SecretBox(key).decrypt(encrypted))
        except nacl.exceptions.CryptoError as exc:
            raise CredentialError(tr("frase de paso incorrecta para la llave de custodia",
                                     "wrong passphrase for the escrow key")) from exc
        if bytes(private.public_key) != public:
            raise CredentialError(tr(f"{ESCROW_KEY_FILE}: la llave privada no corresponde a la pública",
                                     f"{ESCROW_KEY_FILE}: the private key does not match the public one"))
        return private, str(obj["election_id"])

    def redeliver(self, voter_id: str, passphrase: bytes | str, *,
                  credential_list: CredentialList | None = None) -> Delivery:
        """The same delivery again for one voter; refuses a wrong passphrase.

        With ``credential_list``, also checks that the credential is on the published list with the
        voter's style (a sealed box proves nothing about who sealed it)."""
        private, election_id = self._private_key(passphrase)
        unsealer = nacl.public.SealedBox(private)
        path = self.directory / ESCROW_FILE
        try:
            fh = path.open("r", encoding="utf-8")
        except OSError as exc:
            raise CredentialError(tr(f"no se puede leer {path}: {exc.strerror}",
                                     f"cannot read {path}: {exc.strerror}")) from exc
        with fh:
            for number, line in enumerate(fh, start=1):
                try:
                    obj = json.loads(line)
                    if obj["voter_id"] != voter_id:
                        continue
                    plain = json.loads(unsealer.decrypt(bytes.fromhex(obj["sealed"])))
                except (ValueError, KeyError, TypeError, nacl.exceptions.CryptoError) as exc:
                    raise CredentialError(tr(f"{ESCROW_FILE}, línea {number}: registro ilegible",
                                             f"{ESCROW_FILE}, line {number}: unreadable record")) from exc
                return self._check_record(plain, voter_id, election_id, number, credential_list)
        raise CredentialError(tr(f"el votante {voter_id!r} no está en la custodia",
                                 f"voter {voter_id!r} is not in the escrow"))

    @staticmethod
    def _check_record(plain: object, voter_id: str, election_id: str, number: int,
                      credential_list: CredentialList | None) -> Delivery:
        where = tr(f"{ESCROW_FILE}, línea {number}", f"{ESCROW_FILE}, line {number}")
        keys = {"election_id", *DELIVERY_FIELDS}
        if (not isinstance(plain, dict) or set(plain) != keys
                or not all(isinstance(v, str) for v in plain.values())):
            raise CredentialError(tr(f"{where}: registro mal formado", f"{where}: malformed record"))
        if plain["voter_id"] != voter_id or plain["election_id"] != election_id:
            raise CredentialError(tr(f"{where}: el registro sellado es de otro votante o elección",
                                     f"{where}: the sealed record belongs to another voter or election"))
        delivery = Delivery(plain["voter_id"], plain["name"], plain["email"], plain["entity"],
                            plain["credential"])
        if credential_list is not None:
            public_key = credential_public_key(election_id, delivery.credential)
            if public_key not in credential_list:
                raise CredentialError(tr(f"{where}: la credencial guardada no está en la lista publicada",
                                         f"{where}: the escrowed credential is not on the published list"))
        return delivery


def redeliver(directory: Path | str, voter_id: str, passphrase: bytes | str, *,
              credential_list: CredentialList | None = None) -> Delivery:
    """Shortcut for ``Escrow(directory).redeliver(voter_id, passphrase)``."""
    return Escrow(directory).redeliver(voter_id, passphrase, credential_list=credential_list)


# -- the authority's signing key -----------------------------------------------------------------


def create_authority_key(path: Path | str, passphrase: bytes | str) -> SoftwareSigner:
    """A new software P-256 key saved as an encrypted PKCS#8 PEM (mode 0600); refuses to overwrite.

    The ceremony will move this key into a PKCS#11 token; callers only see the ``Signer``."""
    path = Path(path)
    if path.exists():
        raise CredentialError(tr(f"{path} ya existe: no se sobrescribe una llave",
                                 f"{path} already exists: a key is never overwritten"))
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(_as_bytes(passphrase)))
    write_text_atomic(path, pem.decode("ascii"), mode=0o600)
    return SoftwareSigner(private)


def load_authority_key(path: Path | str, passphrase: bytes | str) -> SoftwareSigner:
    """Open the encrypted PEM; a wrong passphrase or another kind of key is a clear error."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CredentialError(tr(f"no se puede leer la llave {path}: {exc.strerror}",
                                 f"cannot read the key {path}: {exc.strerror}")) from exc
    try:
        private = serialization.load_pem_private_key(data, password=_as_bytes(passphrase))
    except (ValueError, TypeError) as exc:
        raise CredentialError(tr(f"{path}: frase de paso incorrecta o archivo de llave no válido",
                                 f"{path}: wrong passphrase or invalid key file")) from exc
    if not isinstance(private, ec.EllipticCurvePrivateKey) or not isinstance(private.curve, ec.SECP256R1):
        raise CredentialError(tr(f"{path}: no es una llave P-256", f"{path}: not a P-256 key"))
    return SoftwareSigner(private)


def authority_fingerprint(public_key: bytes) -> str:
    """Read-aloud fingerprint of the authority's key (what the ceremony pins and compares)."""
    return fingerprint(key_fingerprint_digest(public_key))
