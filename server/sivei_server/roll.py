"""The voter roll (padrón) as the registry sends it: a CSV with one voter per line.

Header (Spanish or English names, any order; other columns such as a name are ignored):

* ``id_votante`` / ``voter_id`` — the voter's id in the registry (letters, digits, ``.``, ``_``,
  ``-``; up to 64; kept in capitals). It is NOT the login name: the server issues each voter a
  random username at import (``sivei_server.usernames``), emailed with the activation link, so a
  registry whose ids are sequential does not hand out a list of usernames;
* ``entidad`` / ``entity`` — the entity code, one of the manifest's;
* ``correo`` / ``email``;
* ``celular`` / ``movil`` / ``mobile`` / ``telefono`` / ``phone`` — the mobile number in
  international form (``+`` and 8 to 15 digits; spaces, dots, dashes and parentheses are ignored);
* optional: ``pais`` / ``país`` / ``country`` — the country of residence as an ISO 3166-1 alpha-2
  code (``US``, ``CA``, ``ES``…), for turnout per country on the console (``sivei_server.turnout``);
* optional, with in-person voting at consulates: ``consulado`` / ``consulate`` — the code of the
  consulate where the voter registered to vote in person (empty: by internet), and ``clave_elector``
  / ``voter_card`` — the number of the voter's ID card, kept only as its keyed hash (so that a
  registered voter is never served again at a consulate as an unregistered one).

Rules: an email and a phone belong to one voter only (and an id appears once); every entity is in
the manifest; and the roll's voters per ballot style must equal the signed credential list's counts
(the manifest maps entities to styles), so the credential list must be loaded first. Every problem
is reported with its line number, and on any problem nothing is imported. A roll can be replaced
while the election is not open and no voter has activated an account.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from sivei.ballot.credentials import CredentialList
from sivei.ballot.in_person import normal_voter_card
from sivei.ballot.manifest import Manifest
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei_server import election as el
from sivei_server.models import STATE_NEW, AuditLog, Voter, utcnow
from sivei_server.usernames import new_username

MAX_PROBLEMS = 50

COLUMNS: dict[str, tuple[str, ...]] = {
    "voter_id": ("id_votante", "voter_id", "id", "usuario"),
    "entity": ("entidad", "entity"),
    "email": ("correo", "email", "correo_electronico", "e-mail"),
    "phone": ("celular", "movil", "móvil", "mobile", "telefono", "teléfono", "phone"),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {"country": ("pais", "país", "country", "pais_residencia"),
                                                "consulate": ("consulado", "consulate"),
                                                "card": ("clave_elector", "voter_card", "clave")}
_NAMES_ES = {"voter_id": "id_votante", "entity": "entidad", "email": "correo", "phone": "celular",
             "country": "pais", "consulate": "consulado", "card": "clave_elector"}
_COUNTRY = re.compile(r"[A-Z]{2}")

_VOTER_ID = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,63}")
_EMAIL = re.compile(r"[^@\s<>(),;:\"\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
_PHONE_NOISE = re.compile(r"[\s.\-()\u00a0]")
_PHONE = re.compile(r"\+[1-9][0-9]{7,14}")


@dataclass(frozen=True)
class Problem:
    es: str
    en: str

    def text(self) -> str:
        return tr(self.es, self.en)


class RollError(SiveiError):
    """The roll was refused: an HTTP-like status, a code and every problem found (nothing imported)."""

    def __init__(self, status: int, code: str, problems: list[Problem], more: int = 0) -> None:
        self.status = status
        self.code = code
        self.problems = problems
        self.more = more
        lines = [p.text() for p in problems]
        if more:
            lines.append(tr(f"… y {more} problemas más", f"… and {more} more problems"))
        super().__init__("\n".join(lines))

    def to_json(self) -> dict[str, Any]:
        head_es = "El padrón no se importó (no se guardó nada)."
        head_en = "The roll was not imported (nothing was stored)."
        return {"error": self.code, "message": head_es + " " + " ".join(p.es for p in self.problems),
                "message_en": head_en + " " + " ".join(p.en for p in self.problems),
                "problems": [p.es for p in self.problems], "problems_en": [p.en for p in self.problems],
                "more": self.more}


@dataclass(frozen=True)
class RollRow:
    line: int
    voter_id: str
    entity: str
    email: str
    phone: str
    country: str | None = None
    consulate: str | None = None
    card: str | None = None  # the voter-ID number, normalised (only its keyed hash is stored)


@dataclass(frozen=True)
class RollSummary:
    voters: int
    by_entity: dict[str, int]
    by_style: dict[str, int]
    sha256: str
    replaced: int = 0


@dataclass
class _Collector:
    problems: list[Problem] = field(default_factory=list)
    more: int = 0

    def add(self, line: int | None, es: str, en: str) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.more += 1
            return
        if line is None:
            self.problems.append(Problem(es, en))
        else:
            self.problems.append(Problem(f"línea {line}: {es}", f"line {line}: {en}"))

    def raise_if_any(self, status: int = 422, code: str = "padron") -> None:
        if self.problems:
            raise RollError(status, code, self.problems, self.more)


def normal_phone(text: str) -> str | None:
    phone = _PHONE_NOISE.sub("", text)
    return phone if _PHONE.fullmatch(phone) else None


def phone_digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())


def normal_email(text: str) -> str | None:
    email = text.strip()
    if len(email) > 254 or not _EMAIL.fullmatch(email) or not email.isascii():
        return None
    return email.lower()


def normal_voter_id(text: str) -> str | None:
    voter_id = text.strip().upper()
    return voter_id if _VOTER_ID.fullmatch(voter_id) else None


def parse_roll(data: bytes, manifest: Manifest) -> list[RollRow]:
    """Every row of the roll, checked; raise ``RollError`` listing every problem (with line numbers)."""
    out = _Collector()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        out.add(line, f"el archivo no está en UTF-8 (byte {exc.start})", f"the file is not UTF-8 (byte {exc.start})")
        out.raise_if_any(400, "padron-codificacion")
    if not text.strip():
        out.add(None, "el padrón está vacío", "the roll is empty")
        out.raise_if_any(400, "padron-vacio")
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        out.add(reader.line_num, f"CSV mal formado ({exc})", f"malformed CSV ({exc})")
        out.raise_if_any(400, "padron-csv")
    names = [h.strip().lower() for h in header]
    index: dict[str, int] = {}
    for key, aliases in COLUMNS.items():
        found = [i for i, n in enumerate(names) if n in aliases]
        if not found:
            out.add(1, f"falta la columna «{_NAMES_ES[key]}» en el encabezado (se esperan id_votante, entidad, "
                    "correo, celular)",
                    f"the header lacks the column «{key}» (expected voter_id, entity, email, mobile)")
        elif len(found) > 1:
            out.add(1, f"la columna «{_NAMES_ES[key]}» aparece dos veces", f"the column «{key}» appears twice")
        else:
            index[key] = found[0]
    optional: dict[str, int] = {}
    for key, aliases in OPTIONAL_COLUMNS.items():
        found = [i for i, n in enumerate(names) if n in aliases]
        if len(found) > 1:
            out.add(1, f"la columna «{_NAMES_ES[key]}» aparece dos veces", f"the column «{key}» appears twice")
        elif found:
            optional[key] = found[0]
    out.raise_if_any(400, "padron-encabezado")
    width = max(index.values()) + 1
    entity_codes = {e.code for e in manifest.entities}
    rows: list[RollRow] = []
    seen: dict[str, dict[str, int]] = {"voter_id": {}, "email": {}, "phone": {}, "card": {}}
    what = {"voter_id": ("identificador de votante", "voter id"), "email": ("correo", "email"),
            "phone": ("celular", "mobile number"), "card": ("clave de elector", "voter ID number")}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            out.add(reader.line_num, f"CSV mal formado ({exc})", f"malformed CSV ({exc})")
            break
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < width:
            out.add(line, f"faltan campos: hay {len(row)}, se esperan {len(header)}",
                    f"missing fields: {len(row)} found, {len(header)} expected")
            continue
        raw = {k: row[i].strip() for k, i in index.items()}
        extra = {k: row[i].strip() if i < len(row) else "" for k, i in optional.items()}
        country_text = extra.get("country", "").upper()
        ok = True
        for key, value in raw.items():
            if not value:
                out.add(line, f"el campo «{_NAMES_ES[key]}» está vacío", f"the field «{key}» is empty")
                ok = False
        if not ok:
            continue
        voter_id = normal_voter_id(raw["voter_id"])
        if voter_id is None:
            out.add(line, f"identificador de votante no válido {raw['voter_id']!r} (letras, dígitos, «.», «_», "
                    "«-»; hasta 64)",
                    f"invalid voter id {raw['voter_id']!r} (letters, digits, «.», «_», «-»; up to 64)")
            ok = False
        entity = raw["entity"].upper()
        if entity not in entity_codes:
            out.add(line, f"entidad desconocida {raw['entity']!r} (no está en el manifiesto)",
                    f"unknown entity {raw['entity']!r} (not in the manifest)")
            ok = False
        email = normal_email(raw["email"])
        if email is None:
            out.add(line, f"correo no válido {raw['email']!r}", f"invalid email {raw['email']!r}")
            ok = False
        phone = normal_phone(raw["phone"])
        if phone is None:
            out.add(line, f"celular no válido {raw['phone']!r} (formato internacional: + y de 8 a 15 dígitos)",
                    f"invalid mobile number {raw['phone']!r} (international form: + and 8 to 15 digits)")
            ok = False
        if country_text and not _COUNTRY.fullmatch(country_text):
            out.add(line, f"país no válido {country_text!r} (código ISO de dos letras: US, CA, ES…)",
                    f"invalid country {country_text!r} (two-letter ISO code: US, CA, ES…)")
            ok = False
        consulate, card, fine = _in_person_fields(out, line, manifest, entity, extra)
        ok = ok and fine
        for column, unique in (("voter_id", voter_id), ("email", email), ("phone", phone), ("card", card)):
            if unique is None:
                continue
            first = seen[column].get(unique)
            if first is not None:
                es, en = what[column]
                out.add(line, f"{es} repetido {unique!r} (ya en la línea {first}): pertenece a un solo votante",
                        f"duplicate {en} {unique!r} (already on line {first}): it belongs to one voter only")
                ok = False
            else:
                seen[column][unique] = line
        if ok:
            assert voter_id and email and phone
            rows.append(RollRow(line, voter_id, entity, email, phone, country_text or None, consulate, card))
    if not rows and not out.problems:
        out.add(None, "el padrón no tiene votantes", "the roll has no voters")
    out.raise_if_any()
    return rows


def _in_person_fields(out: _Collector, line: int, manifest: Manifest, entity: str, extra: dict[str, str]
                      ) -> tuple[str | None, str | None, bool]:
    """The row's consulate (in-person modality) and voter-ID number, checked: (consulate, card, ok)."""
    ok = True
    ip = manifest.in_person
    consulate = extra.get("consulate", "").upper() or None
    if consulate is not None and (ip is None or consulate not in ip.codes):
        out.add(line, f"consulado desconocido {consulate!r} (no está en el manifiesto)",
                f"unknown consulate {consulate!r} (not in the manifest)")
        ok = False
    if ip is not None and entity in {e.code for e in manifest.entities} and \
            manifest.style_for_entity(entity).id == ip.unregistered_style:
        out.add(line, f"la entidad {entity!r} es la de las personas sin registro en los consulados",
                f"entity {entity!r} stands for unregistered voters at consulates")
        ok = False
    card = None
    if extra.get("card"):
        card = normal_voter_card(extra["card"])
        if card is None:
            out.add(line, "clave de elector no válida (18 caracteres, los seis primeros letras)",
                    "invalid voter ID number (18 characters, the first six letters)")
            ok = False
    return consulate, card, ok


def pooled_counts(manifest: Manifest) -> dict[str, int]:
    """Per ballot style, the credentials of the consulates' pools (no voter of the roll has them)."""
    ip = manifest.in_person
    return {ip.unregistered_style: sum(c.unregistered_cap for c in ip.consulates)} if ip is not None else {}


def stored_credential_counts(s: Session, manifest: Manifest) -> dict[str, int]:
    """Per ballot style, the credentials on the signed list the server holds (verified again here)."""
    list_bytes, entries_bytes = el.get_artifact(s, el.CREDENTIAL_LIST), el.get_artifact(s, el.CREDENTIALS)
    if list_bytes is None or entries_bytes is None:
        raise RollError(409, "sin-credenciales", [Problem(
            "La lista de credenciales firmada no está cargada todavía: impórtela antes del padrón (los conteos "
            "por entidad deben coincidir con ella).",
            "The signed credential list is not loaded yet: import it before the roll (the per-entity counts "
            "must match it).")])
    with tempfile.TemporaryDirectory(prefix="sivei-padron-") as tmp:
        Path(tmp, "credential-list.json").write_bytes(list_bytes)
        Path(tmp, "credentials.jsonl").write_bytes(entries_bytes)
        try:
            counts = CredentialList.read(tmp, manifest).counts
        except SiveiError as exc:
            raise RollError(409, "credenciales", [Problem(f"La lista de credenciales guardada no se verifica: {exc}",
                                                          f"The stored credential list does not verify: {exc}")]
                            ) from exc
    for style, n in pooled_counts(manifest).items():
        counts[style] = counts.get(style, 0) - n
    return counts


def import_roll(s: Session, data: bytes, operator_id: int | None, *, replace: bool = False,
                address: str | None = None, card_hash: Callable[[str], str] | None = None) -> RollSummary:
    """Check and import the roll in the caller's transaction (``session_scope``): on any problem raise
    ``RollError`` before anything is written. ``card_hash``: the keyed hash of voter-ID numbers (the
    server's secrets key), needed when the roll has them."""
    manifest = el.stored_manifest(s)
    row = el.election_row(s)
    if manifest is None or row is None:
        raise RollError(409, "sin-manifiesto", [Problem("Primero cargue el manifiesto de la elección.",
                                                        "Load the election manifest first.")])
    if row.state != STATE_NEW:
        raise RollError(409, "estado", [Problem(
            f"La elección está en estado «{row.state}»: el padrón ya no se puede cambiar.",
            f"The election is in state «{row.state}»: the roll can no longer change.")])
    counts = stored_credential_counts(s, manifest)
    rows = parse_roll(data, manifest)

    by_entity = Counter(r.entity for r in rows)
    by_style: Counter[str] = Counter()
    for entity, n in by_entity.items():
        by_style[manifest.style_for_entity(entity).id] += n
    mismatch = _Collector()
    for style in sorted(set(by_style) | set(counts)):
        have, want = by_style.get(style, 0), counts.get(style, 0)
        if have != want:
            entities = ", ".join(e.code for e in manifest.entities if e.ballot_style == style) or "?"
            mismatch.add(None, f"estilo «{style}» (entidades {entities}): el padrón tiene {have} votantes y la lista "
                         f"de credenciales {want}",
                         f"style «{style}» (entities {entities}): the roll has {have} voters and the credential "
                         f"list {want}")
    mismatch.raise_if_any(422, "padron-conteos")
    _check_consulates(s, manifest, rows)
    if any(r.card for r in rows) and card_hash is None:
        raise RollError(500, "clave", [Problem("Falta la llave para las claves de elector.",
                                               "The key for voter ID numbers is missing.")])

    existing = s.scalar(select(func.count()).select_from(Voter)) or 0
    if existing and not replace:
        raise RollError(409, "padron-existente", [Problem(
            f"Ya hay un padrón con {existing} votantes; para sustituirlo elija «reemplazar».",
            f"A roll with {existing} voters is already loaded; choose «replace» to substitute it.")])
    if existing:
        active = s.scalar(select(func.count()).select_from(Voter).where(
            (Voter.activated_at.is_not(None)) | (Voter.password_hash.is_not(None)) | Voter.voted.is_(True))) or 0
        if active:
            raise RollError(409, "padron-en-uso", [Problem(
                f"{active} votantes ya activaron su cuenta: el padrón no se puede reemplazar.",
                f"{active} voters have already activated their accounts: the roll cannot be replaced.")])
        s.execute(delete(Voter))
    at = utcnow()
    if rows:
        s.execute(insert(Voter), [
            {"voter_id": r.voter_id, "username": new_username(), "entity": r.entity, "email": r.email,
             "phone": r.phone, "country": r.country, "consulate": r.consulate,
             "card_hash": card_hash(r.card) if r.card and card_hash is not None else None, "failed_attempts": 0,
             "lockout_level": 0, "created_at": at, "voted": False} for r in rows])
    digest = hashlib.sha256(data).hexdigest()
    s.add(AuditLog(operator_id=operator_id, action="padron.importar", address=address,
                   detail=f"{len(rows)} votantes; sha256 {digest}" + (f"; reemplaza {existing}" if existing else "")))
    return RollSummary(len(rows), dict(sorted(by_entity.items())), dict(sorted(by_style.items())), digest, existing)


def _check_consulates(s: Session, manifest: Manifest, rows: list[RollRow]) -> None:
    """The roll's in-person voters per consulate must be the authority's declaration's (the list's
    ``consulados.json``, imported with it)."""
    if manifest.in_person is None:
        return
    from sivei_server.consulates import stored_declaration

    declaration = stored_declaration(s, manifest)
    if declaration is None:
        raise RollError(409, "sin-declaracion", [Problem(
            "La declaración de consulados de la autoridad de credenciales no está cargada: impórtela con la lista.",
            "The credential authority's declaration of consulates is not loaded: import it with the list.")])
    mismatch = _Collector()
    by_consulate = Counter(r.consulate for r in rows if r.consulate is not None)
    for c in declaration.consulates:
        have, want = by_consulate.get(c.code, 0), len(c.registered)
        if have != want:
            mismatch.add(None, f"consulado {c.code}: el padrón tiene {have} votantes presenciales y la declaración "
                         f"de la autoridad {want}",
                         f"consulate {c.code}: the roll has {have} in-person voters and the authority's declaration "
                         f"{want}")
    mismatch.raise_if_any(422, "padron-consulados")
