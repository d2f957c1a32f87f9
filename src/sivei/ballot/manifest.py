"""The election manifest: what is voted, where, when, and how a voter's marks become one vote.

Every other layer reads the election's structure from here: the ballot encoder (options in order),
the tally (one count per option, per entity), the actas and the verifier. Its hash binds every record
to one manifest, so the JSON form is canonical: ``Manifest.from_json(m.to_json()) == m`` and reading
is strict (unknown or missing keys, wrong types, dangling references are errors naming their path).

Counting rules (LGIPE arts. 288, 290): marks on two or more parties of the same coalition are one
valid vote, recorded under that combination; marks on parties that are not coalition partners, or no
mark at all, are a null vote. ``Contest.option_for_marks`` applies them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from importlib import resources
from itertools import combinations
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sivei.crypto.ecdsa import PUBLIC_KEY_BYTES, load_public_key
from sivei.crypto.encoding import canonical_json, tagged_hash
from sivei.errors import ManifestError, SignatureError
from sivei.i18n import tr

OptionKind = Literal["party", "independent", "combination", "write_in", "null", "answer"]
ContestKind = Literal["candidacy", "referendum"]
CountingPolicy = Literal["one-vote", "one-vote-per-person"]
"""``"one-vote"``: at most one ballot per listed credential (LGIPE: no re-voting).

``"one-vote-per-person"``: the same, across every channel — the internet and the kiosks of the
consulates named in ``in_person`` (docs/protocol.md §20): each registered voter holds one credential,
usable only in their registered channel; each unregistered voter is served once over all consulates
(the consulates' signed logs) and takes one credential from the consulate's pool, and the pool
credentials used never outnumber the unregistered voters served there. A manifest has ``in_person``
exactly when it names this policy."""
TieRule = Literal["party-order"]
"""How ties are broken when a coalition combination's remainder votes are handed out (LGIPE art. 311).

``"party-order"``: the remainder goes, one vote each, to the parties of the combination with the most
own votes; among parties with equal votes, the one listed earlier in the manifest's ``parties``
(the registration order) comes first."""

DEFAULT_DISPLAY_TIMEZONE = "America/Mexico_City"
TAG_MANIFEST = "sivei/manifest"
SAMPLE_MANIFEST_RESOURCE = "sivei/data/sample-manifest.json"

ELECTION_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")
# Party ids carry no underscore so that combination ids such as PAN_PRI read unambiguously.
PARTY_ID_RE = re.compile(r"[A-Z][A-Z0-9]{0,15}")
OPTION_ID_RE = re.compile(r"[A-Z0-9_]{1,64}")
COALITION_ID_RE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,63}")
ENTITY_CODE_RE = re.compile(r"[A-Z][A-Z0-9]{1,7}")
# Contest and ballot style ids.
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MAX_TEXT_CHARS = 1000
# Characters a label must not contain: controls, format characters (bidi overrides, zero-width),
# line/paragraph separators, surrogates and private use.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})

_T = TypeVar("_T")


# -- small helpers ------------------------------------------------------------------------------


def _fail(path: str, es: str, en: str) -> NoReturn:
    """Raise a ManifestError that starts with the JSON path of the problem."""
    where = path or "manifest"
    raise ManifestError(tr(f"{where}: {es}", f"{where}: {en}"))


def _q(value: object) -> str:
    """A value quoted for a message: JSON spelling, so ids read "PXX" and control characters show."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_text(value: object, path: str) -> None:
    """A label people read: non-empty, trimmed, NFC, bounded, no control or invisible characters."""
    if not isinstance(value, str):
        _fail(path, "se esperaba una cadena", "expected a string")
    if not value.strip():
        _fail(path, "no debe estar vacío", "must not be empty")
    if value != value.strip():
        _fail(path, "no debe empezar ni terminar con espacios", "must not start or end with spaces")
    if len(value) > MAX_TEXT_CHARS:
        _fail(path, f"más de {MAX_TEXT_CHARS} caracteres", f"more than {MAX_TEXT_CHARS} characters")
    for ch in value:
        if unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
            _fail(path, f"contiene un carácter de control o invisible (U+{ord(ch):04X})",
                  f"contains a control or invisible character (U+{ord(ch):04X})")
    if not unicodedata.is_normalized("NFC", value):
        _fail(path, "debe estar en forma Unicode NFC", "must be in Unicode NFC form")


def _check_id(value: object, path: str, pattern: re.Pattern[str]) -> None:
    if not isinstance(value, str):
        _fail(path, "se esperaba una cadena", "expected a string")
    if not pattern.fullmatch(value):
        _fail(path, f"identificador no válido {_q(value)} (debe cumplir {pattern.pattern})",
              f"invalid identifier {_q(value)} (must match {pattern.pattern})")


def _check_unique(values: Iterable[str], path: str, item: str, what_es: str, what_en: str) -> None:
    """``path`` is the list's path and ``item`` the key inside each element (e.g. ``"id"``)."""
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            _fail(_key(f"{path}[{i}]", item), f"{what_es} duplicado {_q(value)}",
                  f"duplicate {what_en} {_q(value)}")
        seen.add(value)


def _check_instant(value: object, path: str) -> None:
    """An aware UTC instant with whole seconds, so that its JSON form is exactly one string."""
    if not isinstance(value, datetime):
        _fail(path, "se esperaba una fecha y hora", "expected a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        _fail(path, "la fecha y hora no tiene zona horaria (debe estar en UTC)",
              "the datetime is naive (it must be in UTC)")
    if value.utcoffset() != timedelta(0):
        _fail(path, "la fecha y hora debe estar en UTC", "the datetime must be in UTC")
    if value.microsecond:
        _fail(path, "la fecha y hora debe tener segundos enteros", "the datetime must have whole seconds")


def _format_instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_TIME_FORMAT)


def _zone(name: object, path: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        _fail(path, "se esperaba el nombre de una zona horaria", "expected a time zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        _fail(path, f"zona horaria desconocida {_q(name)}", f"unknown time zone {_q(name)}")


# -- the manifest's parts -----------------------------------------------------------------------


EMBLEM_MAX_BYTES = 3072
_EMBLEM_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}\.svg")


@dataclass(frozen=True)
class Emblem:
    """A party's emblem as the manifest names it: an SVG file (a flat name such as ``PAN.svg``) and
    the SHA-256 of its bytes, so that the booth and the verifier show and accept only those bytes.
    The file itself travels beside the manifest (``sivei.ballot.emblems``)."""

    file: str
    sha256: bytes

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256.hex()}


@dataclass(frozen=True)
class Party:
    """A registered political party; its position in ``Manifest.parties`` is its registration order.
    ``emblem`` is optional: a manifest without emblems hashes as it always did."""

    id: str
    name: str
    emblem: Emblem | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.emblem is not None:
            out["emblem"] = self.emblem.to_json()
        return out


@dataclass(frozen=True)
class ContestOption:
    """One line of the ballot and of the acta, in the order both show it.

    ``parties``: one party for ``"party"``, two or more partners of one coalition for
    ``"combination"``, none otherwise. ``candidate``: the candidate's name when the option names one.
    """

    id: str
    label: str
    kind: OptionKind
    parties: tuple[str, ...]
    candidate: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "kind": self.kind, "parties": list(self.parties),
                "candidate": self.candidate}


@dataclass(frozen=True)
class Coalition:
    """Parties backing one candidate in a contest (a coalition or a "candidatura común").

    Every combination of two or more of its parties must be an option of the contest, so that any
    marks a voter can make on partners have a line in the acta."""

    id: str
    name: str
    parties: tuple[str, ...]
    candidate: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "parties": list(self.parties),
                "candidate": self.candidate}


@dataclass(frozen=True)
class Contest:
    """One question on the ballot: a candidacy (with parties, coalitions, CNR and null) or a referendum.

    A contest is validated as part of its ``Manifest`` (party references need the manifest)."""

    id: str
    title: str
    kind: ContestKind
    votes_allowed: int
    options: tuple[ContestOption, ...]
    coalitions: tuple[Coalition, ...]

    def option_index(self, option_id: str) -> int:
        """Position of an option; the ballot and the counts use positions."""
        index = self._positions.get(option_id)
        if index is None:
            raise ManifestError(tr(f"la elección {_q(self.id)} no tiene la opción {_q(option_id)}",
                                   f"contest {_q(self.id)} has no option {_q(option_id)}"))
        return index

    @property
    def null_option_index(self) -> int:
        """Position of the one "voto nulo" option."""
        for i, option in enumerate(self.options):
            if option.kind == "null":
                return i
        raise ManifestError(tr(f"la elección {_q(self.id)} no tiene opción de voto nulo",
                               f"contest {_q(self.id)} has no null option"))

    @property
    def write_in_option_index(self) -> int | None:
        """Position of the "candidato no registrado" option; None for a referendum."""
        for i, option in enumerate(self.options):
            if option.kind == "write_in":
                return i
        return None

    @property
    def party_ids(self) -> tuple[str, ...]:
        """Parties that have their own option in this contest, in option order."""
        return tuple(o.parties[0] for o in self.options if o.kind == "party")

    def coalition_of(self, party_id: str) -> Coalition | None:
        """The coalition (or candidatura común) a party belongs to in this contest, if any."""
        for coalition in self.coalitions:
            if party_id in coalition.parties:
                return coalition
        return None

    def option_for_marks(self, marked_party_ids: Collection[str]) -> int:
        """The option a paper-style set of party marks counts for (LGIPE arts. 288 and 290).

        One party: its option. Two or more parties of one coalition: the combination of exactly
        those parties. Parties that are not coalition partners, or no mark: the null option.
        A party without an option in this contest is an error, not a null vote: the ballot never
        offers it, so such a mark means the caller has the wrong contest."""
        if isinstance(marked_party_ids, str):
            raise TypeError("marked_party_ids must be a collection of party ids, not a string")
        marks = frozenset(marked_party_ids)
        unknown = sorted(marks - self._party_set)
        if unknown:
            raise ManifestError(tr(
                f"la elección {_q(self.id)} no tiene opción para el partido {_q(unknown[0])}",
                f"contest {_q(self.id)} has no option for party {_q(unknown[0])}"))
        index = self._marks_table.get(marks)
        return self.null_option_index if index is None else index

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "kind": self.kind,
                "votes_allowed": self.votes_allowed,
                "options": [o.to_json() for o in self.options],
                "coalitions": [c.to_json() for c in self.coalitions]}

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {o.id: i for i, o in enumerate(self.options)}

    @cached_property
    def _party_set(self) -> frozenset[str]:
        return frozenset(p for o in self.options for p in o.parties)

    @cached_property
    def _marks_table(self) -> dict[frozenset[str], int]:
        return {frozenset(o.parties): i for i, o in enumerate(self.options)
                if o.kind in ("party", "combination")}


@dataclass(frozen=True)
class Entity:
    """A state (entidad federativa) whose voters abroad take part; results are aggregated per entity."""

    code: str
    name: str
    ballot_style: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "ballot_style": self.ballot_style}


@dataclass(frozen=True)
class BallotStyle:
    """The contests one entity's voters receive, in manifest order (one style per entity)."""

    id: str
    entity: str
    contests: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "entity": self.entity, "contests": list(self.contests)}


CONSULATE_CODE_RE = re.compile(r"[A-Z][A-Z0-9]{1,7}")
MAX_UNREGISTERED_CAP = 100_000


@dataclass(frozen=True)
class Consulate:
    """A consulate where people vote in person on the kiosks (INE 2024: 23 consulates).

    ``unregistered_cap``: how many voters not on the list abroad, with a valid voter ID, it may serve
    (INE 2024: 1,500); the credential authority makes a pool of exactly that many credentials for it.
    ``log_key``: the P-256 public key that signs the consulate's log of voters served (kept by the
    consulate in a PKCS#11 token or an encrypted key file; ``sivei consulado llave``)."""

    code: str
    name: str
    unregistered_cap: int
    log_key: bytes

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "unregistered_cap": self.unregistered_cap,
                "log_key": self.log_key.hex()}


@dataclass(frozen=True)
class InPerson:
    """In-person electronic voting at consulates, on the same system (docs/protocol.md §20).

    ``unregistered_style``: the ballot style of voters served without being on the list abroad (INE
    2024: the presidential contest only); its entity stands for them in the results."""

    unregistered_style: str
    consulates: tuple[Consulate, ...]

    def to_json(self) -> dict[str, Any]:
        return {"unregistered_style": self.unregistered_style, "consulates": [c.to_json() for c in self.consulates]}

    def consulate(self, code: str) -> Consulate:
        for c in self.consulates:
            if c.code == code:
                return c
        raise ManifestError(tr(f"no existe el consulado {_q(code)}", f"unknown consulate {_q(code)}"))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.consulates)


# -- the manifest -------------------------------------------------------------------------------

_ZONE_LABELS: dict[str, tuple[str, str]] = {
    "America/Mexico_City": ("hora del centro de México", "central Mexico time"),
    "America/Cancun": ("hora del sureste de México", "southeast Mexico time"),
    "America/Mazatlan": ("hora del Pacífico de México", "Mexican Pacific time"),
    "America/Hermosillo": ("hora de Sonora", "Sonora time"),
    "America/Tijuana": ("hora del noroeste de México", "northwest Mexico time"),
    "UTC": ("tiempo universal coordinado", "Coordinated Universal Time"),
}
_WEEKDAYS = (("lunes", "Monday"), ("martes", "Tuesday"), ("miércoles", "Wednesday"),
             ("jueves", "Thursday"), ("viernes", "Friday"), ("sábado", "Saturday"),
             ("domingo", "Sunday"))
_MONTHS = (("enero", "January"), ("febrero", "February"), ("marzo", "March"), ("abril", "April"),
           ("mayo", "May"), ("junio", "June"), ("julio", "July"), ("agosto", "August"),
           ("septiembre", "September"), ("octubre", "October"), ("noviembre", "November"),
           ("diciembre", "December"))


@dataclass(frozen=True)
class Manifest:
    """The whole election as configured at the opening ceremony; every record names its hash.

    Constructing one validates it completely, so code holding a ``Manifest`` can rely on every
    reference resolving and every counting rule being satisfiable. The trailing fields have
    defaults only so that ``display_timezone`` can have one; an empty list is still rejected."""

    election_id: str
    name: str
    voting_opens: datetime
    voting_closes: datetime
    display_timezone: str = DEFAULT_DISPLAY_TIMEZONE
    counting_policy: CountingPolicy = "one-vote"
    tie_rule: TieRule = "party-order"
    parties: tuple[Party, ...] = ()
    entities: tuple[Entity, ...] = ()
    contests: tuple[Contest, ...] = ()
    ballot_styles: tuple[BallotStyle, ...] = ()
    # Minutes after ``voting_closes`` during which a voter whose session began before the close may
    # still cast within that session (INE 2024: 30). 0: the close instant is final. The JSON key
    # ``logged_in_finish_minutes`` appears only when non-zero (docs/protocol.md §14.4).
    logged_in_finish_minutes: int = 0
    # In-person voting at consulates (docs/protocol.md §20); the JSON key ``in_person`` appears only
    # when set, so a manifest without it hashes as it always did.
    in_person: InPerson | None = None

    def __post_init__(self) -> None:
        _validate_manifest(self)

    # -- look-ups --

    def contest_index(self, contest_id: str) -> int:
        """Global position of a contest in ``contests`` (its manifest order)."""
        index = self._contest_positions.get(contest_id)
        if index is None:
            raise ManifestError(tr(f"no existe la elección {_q(contest_id)}",
                                   f"unknown contest {_q(contest_id)}"))
        return index

    def contest(self, contest_id: str) -> Contest:
        return self.contests[self.contest_index(contest_id)]

    def party_index(self, party_id: str) -> int:
        """Registration order of a party: the tie-breaking order of ``tie_rule == "party-order"``."""
        index = self._party_positions.get(party_id)
        if index is None:
            raise ManifestError(tr(f"no existe el partido {_q(party_id)}", f"unknown party {_q(party_id)}"))
        return index

    def party(self, party_id: str) -> Party:
        return self.parties[self.party_index(party_id)]

    def style(self, style_id: str) -> BallotStyle:
        for style in self.ballot_styles:
            if style.id == style_id:
                return style
        raise ManifestError(tr(f"no existe el estilo de boleta {_q(style_id)}",
                               f"unknown ballot style {_q(style_id)}"))

    def entity(self, code: str) -> Entity:
        for entity in self.entities:
            if entity.code == code:
                return entity
        raise ManifestError(tr(f"no existe la entidad {_q(code)}", f"unknown entity {_q(code)}"))

    def style_for_entity(self, code: str) -> BallotStyle:
        return self.style(self.entity(code).ballot_style)

    def style_contests(self, style_id: str) -> tuple[tuple[int, Contest], ...]:
        """The contests of a style as (global contest index, contest), in manifest order."""
        style = self.style(style_id)
        return tuple((self.contest_index(c), self.contest(c)) for c in style.contests)

    # -- people's view of the window --

    def local_window(self) -> tuple[str, str]:
        """Opening and closing instants as people read them, in ``display_timezone``.

        E.g. ("sábado 22 de mayo de 2027, 20:00 (hora del centro de México)", "domingo 6 de junio de
        2027, 18:00 (hora del centro de México)"); English when the language is English."""
        zone = ZoneInfo(self.display_timezone)
        es_zone, en_zone = _ZONE_LABELS.get(
            self.display_timezone, (f"hora de {self.display_timezone}", f"{self.display_timezone} time"))

        def fmt(instant: datetime) -> str:
            local = instant.astimezone(zone)
            day_es, day_en = _WEEKDAYS[local.weekday()]
            month_es, month_en = _MONTHS[local.month - 1]
            clock = f"{local.hour:02d}:{local.minute:02d}"
            return tr(f"{day_es} {local.day} de {month_es} de {local.year}, {clock} ({es_zone})",
                      f"{day_en} {local.day} {month_en} {local.year}, {clock} ({en_zone})")

        return fmt(self.voting_opens), fmt(self.voting_closes)

    # -- JSON and hash --

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON object: ``from_json`` of it gives back an equal manifest."""
        return {
            "election_id": self.election_id,
            "name": self.name,
            "voting_opens": _format_instant(self.voting_opens),
            "voting_closes": _format_instant(self.voting_closes),
            **({"logged_in_finish_minutes": self.logged_in_finish_minutes} if self.logged_in_finish_minutes else {}),
            "display_timezone": self.display_timezone,
            "counting_policy": self.counting_policy,
            "tie_rule": self.tie_rule,
            "parties": [p.to_json() for p in self.parties],
            "entities": [e.to_json() for e in self.entities],
            "contests": [c.to_json() for c in self.contests],
            "ballot_styles": [s.to_json() for s in self.ballot_styles],
            **({"in_person": self.in_person.to_json()} if self.in_person is not None else {}),
        }

    @staticmethod
    def from_json(obj: object) -> Manifest:
        """Read a manifest strictly: every key present, no other key, types checked, then validated."""
        return _parse_manifest(obj)

    @cached_property
    def hash(self) -> bytes:
        """H("sivei/manifest", canonical JSON): the 32 bytes every record and proof is bound to."""
        return tagged_hash(TAG_MANIFEST, canonical_json(self.to_json()))

    @cached_property
    def _contest_positions(self) -> dict[str, int]:
        return {c.id: i for i, c in enumerate(self.contests)}

    @cached_property
    def _party_positions(self) -> dict[str, int]:
        return {p.id: i for i, p in enumerate(self.parties)}


# -- validation (paths mirror the JSON form) ----------------------------------------------------


def _validate_manifest(m: Manifest) -> None:
    _check_id(m.election_id, "election_id", ELECTION_ID_RE)
    _check_text(m.name, "name")
    _check_instant(m.voting_opens, "voting_opens")
    _check_instant(m.voting_closes, "voting_closes")
    if not m.voting_opens < m.voting_closes:
        _fail("voting_closes", "el cierre de la votación debe ser posterior a su apertura",
              "voting must close after it opens")
    finish = m.logged_in_finish_minutes
    if isinstance(finish, bool) or not isinstance(finish, int) or not 0 <= finish <= MAX_FINISH_MINUTES:
        _fail("logged_in_finish_minutes", f"debe ser un entero de 0 a {MAX_FINISH_MINUTES} (una sesión dura a lo más "
              f"{MAX_FINISH_MINUTES} minutos)",
              f"must be an integer from 0 to {MAX_FINISH_MINUTES} "
              f"(a session lasts at most {MAX_FINISH_MINUTES} minutes)")
    _zone(m.display_timezone, "display_timezone")
    if m.counting_policy not in get_args(CountingPolicy):
        _fail("counting_policy", f"política de cómputo desconocida {_q(m.counting_policy)}",
              f"unknown counting policy {_q(m.counting_policy)}")
    if m.tie_rule not in get_args(TieRule):
        _fail("tie_rule", f"regla de desempate desconocida {_q(m.tie_rule)}",
              f"unknown tie rule {_q(m.tie_rule)}")

    # No parties at all is allowed: a referendum-only manifest (a candidacy still needs a party or an
    # independent, checked per contest).
    for i, party in enumerate(m.parties):
        _check_id(party.id, f"parties[{i}].id", PARTY_ID_RE)
        _check_text(party.name, f"parties[{i}].name")
    _check_unique((p.id for p in m.parties), "parties", "id", "partido", "party")
    emblem_files: set[str] = set()
    for i, p in enumerate(m.parties):
        if p.emblem is not None:
            if p.emblem.file in emblem_files:
                _fail(f"parties[{i}].emblem.file", f"emblema duplicado {_q(p.emblem.file)}",
                      f"duplicate emblem {_q(p.emblem.file)}")
            emblem_files.add(p.emblem.file)
    party_ids = frozenset(p.id for p in m.parties)

    if not m.contests:
        _fail("contests", "no hay elecciones", "there are no contests")
    for i, contest in enumerate(m.contests):
        _validate_contest(contest, f"contests[{i}]", party_ids)
    _check_unique((c.id for c in m.contests), "contests", "id", "elección", "contest")
    contest_pos = {c.id: i for i, c in enumerate(m.contests)}

    if not m.entities:
        _fail("entities", "no hay entidades", "there are no entities")
    for i, entity in enumerate(m.entities):
        _check_id(entity.code, f"entities[{i}].code", ENTITY_CODE_RE)
        _check_text(entity.name, f"entities[{i}].name")
        _check_id(entity.ballot_style, f"entities[{i}].ballot_style", ID_RE)
    _check_unique((e.code for e in m.entities), "entities", "code", "código de entidad", "entity code")
    entities = {e.code: e for e in m.entities}

    if not m.ballot_styles:
        _fail("ballot_styles", "no hay estilos de boleta", "there are no ballot styles")
    used: set[str] = set()
    for i, style in enumerate(m.ballot_styles):
        path = f"ballot_styles[{i}]"
        _check_id(style.id, f"{path}.id", ID_RE)
        _check_id(style.entity, f"{path}.entity", ENTITY_CODE_RE)
        owner = entities.get(style.entity)
        if owner is None:
            _fail(f"{path}.entity", f"la entidad {_q(style.entity)} no está declarada",
                  f"entity {_q(style.entity)} is not declared")
        if owner.ballot_style != style.id:
            _fail(f"{path}.entity",
                  f"la entidad {_q(style.entity)} usa el estilo {_q(owner.ballot_style)}, no {_q(style.id)}",
                  f"entity {_q(style.entity)} uses ballot style {_q(owner.ballot_style)}, not {_q(style.id)}")
        if not style.contests:
            _fail(f"{path}.contests", "el estilo no tiene elecciones", "the style has no contests")
        previous = -1
        for j, contest_id in enumerate(style.contests):
            cpath = f"{path}.contests[{j}]"
            position = contest_pos.get(contest_id)
            if position is None:
                _fail(cpath, f"la elección {_q(contest_id)} no está declarada",
                      f"contest {_q(contest_id)} is not declared")
            if position <= previous:
                _fail(cpath, f"la elección {_q(contest_id)} está repetida o fuera del orden del manifiesto",
                      f"contest {_q(contest_id)} is repeated or out of manifest order")
            previous = position
            used.add(contest_id)
    _check_unique((s.id for s in m.ballot_styles), "ballot_styles", "id", "estilo de boleta",
                  "ballot style")
    _check_unique((s.entity for s in m.ballot_styles), "ballot_styles", "entity",
                  "estilo para la entidad", "style for entity")
    style_ids = frozenset(s.id for s in m.ballot_styles)
    for i, entity in enumerate(m.entities):
        if entity.ballot_style not in style_ids:
            _fail(f"entities[{i}].ballot_style",
                  f"el estilo de boleta {_q(entity.ballot_style)} no está declarado",
                  f"ballot style {_q(entity.ballot_style)} is not declared")
    for i, contest in enumerate(m.contests):
        if contest.id not in used:
            _fail(f"contests[{i}]", f"la elección {_q(contest.id)} no aparece en ningún estilo de boleta",
                  f"contest {_q(contest.id)} is in no ballot style")
    _validate_in_person(m, style_ids)


def _validate_in_person(m: Manifest, style_ids: frozenset[str]) -> None:
    """``in_person`` is there exactly with the policy that counts one vote per person across channels."""
    ip = m.in_person
    if ip is None:
        if m.counting_policy == "one-vote-per-person":
            _fail("in_person", "la política «one-vote-per-person» necesita los consulados (clave «in_person»)",
                  "the «one-vote-per-person» policy needs the consulates (key «in_person»)")
        return
    if m.counting_policy != "one-vote-per-person":
        _fail("counting_policy", "con voto presencial en consulados la política es «one-vote-per-person» (un voto "
              "por persona en todos los canales)",
              "with in-person voting at consulates the policy is «one-vote-per-person» (one vote per person "
              "across channels)")
    if ip.unregistered_style not in style_ids:
        _fail("in_person.unregistered_style", f"el estilo de boleta {_q(ip.unregistered_style)} no está declarado",
              f"ballot style {_q(ip.unregistered_style)} is not declared")
    if not ip.consulates:
        _fail("in_person.consulates", "no hay consulados", "there are no consulates")
    keys: set[bytes] = set()
    for i, c in enumerate(ip.consulates):
        path = f"in_person.consulates[{i}]"
        _check_id(c.code, f"{path}.code", CONSULATE_CODE_RE)
        _check_text(c.name, f"{path}.name")
        cap = c.unregistered_cap
        if isinstance(cap, bool) or not isinstance(cap, int) or not 0 <= cap <= MAX_UNREGISTERED_CAP:
            _fail(f"{path}.unregistered_cap", f"debe ser un entero de 0 a {MAX_UNREGISTERED_CAP}",
                  f"must be an integer from 0 to {MAX_UNREGISTERED_CAP}")
        if not isinstance(c.log_key, bytes) or len(c.log_key) != PUBLIC_KEY_BYTES:
            _fail(f"{path}.log_key", "se esperaba una llave pública P-256 (130 dígitos hexadecimales)",
                  "expected a P-256 public key (130 hexadecimal digits)")
        try:
            load_public_key(c.log_key, f"{path}.log_key")
        except SignatureError as exc:
            raise ManifestError(str(exc)) from None
        if c.log_key in keys:
            _fail(f"{path}.log_key", "cada consulado firma su bitácora con su propia llave",
                  "each consulate signs its log with its own key")
        keys.add(c.log_key)
    _check_unique((c.code for c in ip.consulates), "in_person.consulates", "code", "consulado", "consulate")


_NO_PARTY_KINDS: frozenset[str] = frozenset({"independent", "write_in", "null", "answer"})
_CANDIDACY_KINDS: frozenset[str] = frozenset({"party", "independent", "combination", "write_in", "null"})
_REFERENDUM_KINDS: frozenset[str] = frozenset({"answer", "null"})


def _validate_contest(c: Contest, path: str, party_ids: frozenset[str]) -> None:
    _check_id(c.id, f"{path}.id", ID_RE)
    _check_text(c.title, f"{path}.title")
    if c.kind not in get_args(ContestKind):
        _fail(f"{path}.kind", f"tipo de elección desconocido {_q(c.kind)}",
              f"unknown contest kind {_q(c.kind)}")
    if isinstance(c.votes_allowed, bool) or c.votes_allowed != 1:
        _fail(f"{path}.votes_allowed", f"debe ser 1 (hay {_q(c.votes_allowed)})",
              f"must be 1 (got {_q(c.votes_allowed)})")
    if not c.options:
        _fail(f"{path}.options", "la elección no tiene opciones", "the contest has no options")
    option_ids = {o.id for o in c.options}

    # Coalitions first: combination options are checked against them.
    party_coalition: dict[str, int] = {}
    for k, coalition in enumerate(c.coalitions):
        kpath = f"{path}.coalitions[{k}]"
        if c.kind != "candidacy":
            _fail(kpath, "una consulta no tiene coaliciones", "a referendum has no coalitions")
        _check_id(coalition.id, f"{kpath}.id", COALITION_ID_RE)
        if coalition.id in option_ids:
            _fail(f"{kpath}.id", f"el id {_q(coalition.id)} ya es el de una opción",
                  f"id {_q(coalition.id)} is already an option's id")
        _check_text(coalition.name, f"{kpath}.name")
        _check_text(coalition.candidate, f"{kpath}.candidate")
        if len(coalition.parties) < 2:
            _fail(f"{kpath}.parties", "una coalición necesita al menos dos partidos",
                  "a coalition needs at least two parties")
        for party in coalition.parties:
            if party not in party_ids:
                _fail(f"{kpath}.parties", f"el partido {_q(party)} no está declarado",
                      f"party {_q(party)} is not declared")
            if party in party_coalition:
                other = party_coalition[party]
                _fail(f"{kpath}.parties",
                      f"el partido {_q(party)} ya está en la coalición coalitions[{other}]",
                      f"party {_q(party)} is already in coalition coalitions[{other}]")
            party_coalition[party] = k
    _check_unique((k.id for k in c.coalitions), f"{path}.coalitions", "id", "coalición", "coalition")

    kinds_allowed = _CANDIDACY_KINDS if c.kind == "candidacy" else _REFERENDUM_KINDS
    party_option: dict[str, int] = {}
    combination_sets: dict[frozenset[str], int] = {}
    for j, option in enumerate(c.options):
        opath = f"{path}.options[{j}]"
        _check_id(option.id, f"{opath}.id", OPTION_ID_RE)
        _check_text(option.label, f"{opath}.label")
        if option.kind not in get_args(OptionKind):
            _fail(f"{opath}.kind", f"tipo de opción desconocido {_q(option.kind)}",
                  f"unknown option kind {_q(option.kind)}")
        if option.kind not in kinds_allowed:
            _fail(f"{opath}.kind", f"una elección de tipo {_q(c.kind)} no admite opciones {_q(option.kind)}",
                  f"a {_q(c.kind)} contest does not allow {_q(option.kind)} options")
        if option.candidate is not None:
            _check_text(option.candidate, f"{opath}.candidate")
        for party in option.parties:
            if party not in party_ids:
                _fail(f"{opath}.parties", f"el partido {_q(party)} no está declarado",
                      f"party {_q(party)} is not declared")
        if len(set(option.parties)) != len(option.parties):
            _fail(f"{opath}.parties", "partido repetido", "repeated party")

        if option.kind in _NO_PARTY_KINDS and option.parties:
            _fail(f"{opath}.parties", f"una opción {_q(option.kind)} no lleva partidos",
                  f"a {_q(option.kind)} option has no parties")
        if option.kind == "independent" and option.candidate is None:
            _fail(f"{opath}.candidate", "una candidatura independiente necesita el nombre de la persona",
                  "an independent candidacy needs the candidate's name")
        if option.kind in ("write_in", "null", "answer") and option.candidate is not None:
            _fail(f"{opath}.candidate", f"una opción {_q(option.kind)} no nombra candidato",
                  f"a {_q(option.kind)} option names no candidate")
        if option.kind == "party":
            if len(option.parties) != 1:
                _fail(f"{opath}.parties", "una opción de partido lleva exactamente un partido",
                      "a party option has exactly one party")
            party = option.parties[0]
            if party in party_option:
                _fail(f"{opath}.parties",
                      f"el partido {_q(party)} ya tiene la opción options[{party_option[party]}]",
                      f"party {_q(party)} already has option options[{party_option[party]}]")
            party_option[party] = j
            coalition_index = party_coalition.get(party)
            if coalition_index is not None:
                _check_coalition_candidate(option, c.coalitions[coalition_index], opath)
        elif option.kind == "combination":
            if len(option.parties) < 2:
                _fail(f"{opath}.parties", "una combinación lleva al menos dos partidos",
                      "a combination has at least two parties")
            owners = {party_coalition.get(p) for p in option.parties}
            if len(owners) != 1 or None in owners:
                _fail(f"{opath}.parties",
                      "la combinación no está dentro de una sola coalición de esta elección",
                      "the combination is not within one coalition of this contest")
            key = frozenset(option.parties)
            if key in combination_sets:
                _fail(f"{opath}.parties",
                      f"la misma combinación que options[{combination_sets[key]}]",
                      f"the same combination as options[{combination_sets[key]}]")
            combination_sets[key] = j
            _check_coalition_candidate(option, c.coalitions[party_coalition[option.parties[0]]], opath)
    _check_unique((o.id for o in c.options), f"{path}.options", "id", "id de opción", "option id")

    kinds = [o.kind for o in c.options]
    if kinds.count("null") != 1:
        _fail(f"{path}.options", f"debe haber exactamente una opción 'null' (hay {kinds.count('null')})",
              f"there must be exactly one 'null' option (found {kinds.count('null')})")
    if c.kind == "candidacy":
        if kinds.count("write_in") != 1:
            _fail(f"{path}.options",
                  f"debe haber exactamente una opción 'write_in' (hay {kinds.count('write_in')})",
                  f"there must be exactly one 'write_in' option (found {kinds.count('write_in')})")
        if not any(k in ("party", "independent") for k in kinds):
            _fail(f"{path}.options", "no hay ningún partido ni candidatura independiente",
                  "there is no party and no independent candidacy")
    elif kinds.count("answer") < 2:
        _fail(f"{path}.options", "una consulta necesita al menos dos respuestas",
              "a referendum needs at least two answers")

    for k, coalition in enumerate(c.coalitions):
        kpath = f"{path}.coalitions[{k}]"
        for party in coalition.parties:
            if party not in party_option:
                _fail(f"{kpath}.parties", f"el partido {_q(party)} no tiene su propia opción en la elección",
                      f"party {_q(party)} has no option of its own in the contest")
        # Every subset of two or more partners must have its line; stop at the first missing one
        # (bounded by the number of options present, whatever the coalition's size).
        for size in range(2, len(coalition.parties) + 1):
            for subset in combinations(coalition.parties, size):
                if frozenset(subset) not in combination_sets:
                    names = "+".join(subset)
                    _fail(kpath, f"falta la opción de combinación para {names}",
                          f"missing the combination option for {names}")


def _check_coalition_candidate(option: ContestOption, coalition: Coalition, path: str) -> None:
    """A coalition has one candidate: its parties' and combinations' options must not name another."""
    if option.candidate is not None and option.candidate != coalition.candidate:
        running, named = _q(coalition.candidate), _q(option.candidate)
        _fail(f"{path}.candidate", f"la coalición {_q(coalition.id)} postula a {running}, no a {named}",
              f"coalition {_q(coalition.id)} runs {running}, not {named}")


# -- strict JSON reading ------------------------------------------------------------------------


def _object(value: object, path: str, keys: tuple[str, ...]) -> Mapping[str, object]:
    if not isinstance(value, dict):
        _fail(path, "se esperaba un objeto JSON", "expected a JSON object")
    for k in value:
        if k not in keys:
            _fail(_key(path, str(k)), "clave desconocida", "unknown key")
    for k in keys:
        if k not in value:
            _fail(_key(path, k), "falta esta clave", "missing key")
    return value


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        _fail(path, "se esperaba una cadena", "expected a string")
    return value


def _list(value: object, path: str) -> list[object]:
    if not isinstance(value, list):
        _fail(path, "se esperaba una lista", "expected a list")
    return value


def _strings(value: object, path: str) -> tuple[str, ...]:
    return tuple(_string(item, f"{path}[{i}]") for i, item in enumerate(_list(value, path)))


def _literal(value: object, path: str, allowed: tuple[_T, ...]) -> _T:
    for candidate in allowed:
        if value == candidate and isinstance(value, str):
            return candidate
    shown = ", ".join(_q(a) for a in allowed)
    _fail(path, f"valor no válido {_q(value)} (se admite: {shown})",
          f"invalid value {_q(value)} (allowed: {shown})")


def _instant(value: object, path: str) -> datetime:
    if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
        _fail(path, "se esperaba un instante UTC como \"2027-05-23T02:00:00Z\"",
              "expected a UTC instant like \"2027-05-23T02:00:00Z\"")
    try:
        return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        _fail(path, f"fecha u hora imposible {_q(value)}", f"impossible date or time {_q(value)}")


def _parse_emblem(value: object, path: str) -> Emblem:
    o = _object(value, path, ("file", "sha256"))
    name = _string(o["file"], _key(path, "file"))
    if not _EMBLEM_FILE.fullmatch(name):
        _fail(_key(path, "file"), "se esperaba el nombre de un archivo .svg (letras, dígitos, . _ -; sin carpetas)",
              "expected the name of an .svg file (letters, digits, . _ -; no folders)")
    digest = _string(o["sha256"], _key(path, "sha256"))
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        _fail(_key(path, "sha256"), "se esperaban 64 dígitos hexadecimales en minúsculas",
              "expected 64 lowercase hexadecimal digits")
    return Emblem(file=name, sha256=bytes.fromhex(digest))


def _parse_option(value: object, path: str) -> ContestOption:
    o = _object(value, path, ("id", "label", "kind", "parties", "candidate"))
    candidate = o["candidate"]
    return ContestOption(
        id=_string(o["id"], _key(path, "id")),
        label=_string(o["label"], _key(path, "label")),
        kind=_literal(o["kind"], _key(path, "kind"), get_args(OptionKind)),
        parties=_strings(o["parties"], _key(path, "parties")),
        candidate=None if candidate is None else _string(candidate, _key(path, "candidate")),
    )


def _parse_coalition(value: object, path: str) -> Coalition:
    o = _object(value, path, ("id", "name", "parties", "candidate"))
    return Coalition(id=_string(o["id"], _key(path, "id")), name=_string(o["name"], _key(path, "name")),
                     parties=_strings(o["parties"], _key(path, "parties")),
                     candidate=_string(o["candidate"], _key(path, "candidate")))


def _parse_contest(value: object, path: str) -> Contest:
    o = _object(value, path, ("id", "title", "kind", "votes_allowed", "options", "coalitions"))
    votes = o["votes_allowed"]
    if not isinstance(votes, int) or isinstance(votes, bool):
        _fail(_key(path, "votes_allowed"), "se esperaba un entero", "expected an integer")
    options = _list(o["options"], _key(path, "options"))
    coalitions = _list(o["coalitions"], _key(path, "coalitions"))
    return Contest(
        id=_string(o["id"], _key(path, "id")),
        title=_string(o["title"], _key(path, "title")),
        kind=_literal(o["kind"], _key(path, "kind"), get_args(ContestKind)),
        votes_allowed=votes,
        options=tuple(_parse_option(x, f"{path}.options[{i}]") for i, x in enumerate(options)),
        coalitions=tuple(_parse_coalition(x, f"{path}.coalitions[{i}]") for i, x in enumerate(coalitions)),
    )


_MANIFEST_KEYS = ("election_id", "name", "voting_opens", "voting_closes", "display_timezone",
                  "counting_policy", "tie_rule", "parties", "entities", "contests", "ballot_styles")
_OPTIONAL_MANIFEST_KEYS = ("logged_in_finish_minutes", "in_person")
MAX_FINISH_MINUTES = 30


def _parse_manifest(obj: object) -> Manifest:
    optional = {k: obj[k] for k in _OPTIONAL_MANIFEST_KEYS if isinstance(obj, dict) and k in obj}
    o = _object({k: v for k, v in obj.items() if k not in optional} if isinstance(obj, dict) else obj, "",
                _MANIFEST_KEYS)
    finish = optional.get("logged_in_finish_minutes", 0)
    if isinstance(finish, bool) or not isinstance(finish, int) or (
            finish == 0 and "logged_in_finish_minutes" in optional):
        _fail("logged_in_finish_minutes", "se esperaba un entero positivo (omita la clave para 0)",
              "expected a positive integer (omit the key for 0)")
    parties = []
    for i, x in enumerate(_list(o["parties"], "parties")):
        has_emblem = isinstance(x, dict) and "emblem" in x
        p = _object(x, f"parties[{i}]", ("id", "name", "emblem") if has_emblem else ("id", "name"))
        parties.append(Party(id=_string(p["id"], f"parties[{i}].id"),
                             name=_string(p["name"], f"parties[{i}].name"),
                             emblem=_parse_emblem(p["emblem"], f"parties[{i}].emblem") if has_emblem else None))
    entities = []
    for i, x in enumerate(_list(o["entities"], "entities")):
        e = _object(x, f"entities[{i}]", ("code", "name", "ballot_style"))
        entities.append(Entity(code=_string(e["code"], f"entities[{i}].code"),
                               name=_string(e["name"], f"entities[{i}].name"),
                               ballot_style=_string(e["ballot_style"], f"entities[{i}].ballot_style")))
    styles = []
    for i, x in enumerate(_list(o["ballot_styles"], "ballot_styles")):
        s = _object(x, f"ballot_styles[{i}]", ("id", "entity", "contests"))
        styles.append(BallotStyle(id=_string(s["id"], f"ballot_styles[{i}].id"),
                                  entity=_string(s["entity"], f"ballot_styles[{i}].entity"),
                                  contests=_strings(s["contests"], f"ballot_styles[{i}].contests")))
    contests = tuple(_parse_contest(x, f"contests[{i}]")
                     for i, x in enumerate(_list(o["contests"], "contests")))
    return Manifest(
        election_id=_string(o["election_id"], "election_id"),
        name=_string(o["name"], "name"),
        voting_opens=_instant(o["voting_opens"], "voting_opens"),
        voting_closes=_instant(o["voting_closes"], "voting_closes"),
        display_timezone=_string(o["display_timezone"], "display_timezone"),
        counting_policy=_literal(o["counting_policy"], "counting_policy", get_args(CountingPolicy)),
        tie_rule=_literal(o["tie_rule"], "tie_rule", get_args(TieRule)),
        parties=tuple(parties),
        entities=tuple(entities),
        contests=contests,
        ballot_styles=tuple(styles),
        logged_in_finish_minutes=finish,
        in_person=_parse_in_person(optional["in_person"]) if "in_person" in optional else None,
    )


def _parse_in_person(value: object) -> InPerson:
    o = _object(value, "in_person", ("unregistered_style", "consulates"))
    consulates = []
    for i, x in enumerate(_list(o["consulates"], "in_person.consulates")):
        path = f"in_person.consulates[{i}]"
        c = _object(x, path, ("code", "name", "unregistered_cap", "log_key"))
        cap = c["unregistered_cap"]
        if not isinstance(cap, int) or isinstance(cap, bool):
            _fail(f"{path}.unregistered_cap", "se esperaba un entero", "expected an integer")
        key = _string(c["log_key"], f"{path}.log_key")
        if not re.fullmatch(r"[0-9a-f]{130}", key):
            _fail(f"{path}.log_key", "se esperaban 130 dígitos hexadecimales en minúsculas",
                  "expected 130 lowercase hexadecimal digits")
        consulates.append(Consulate(code=_string(c["code"], f"{path}.code"), name=_string(c["name"], f"{path}.name"),
                                    unregistered_cap=cap, log_key=bytes.fromhex(key)))
    return InPerson(unregistered_style=_string(o["unregistered_style"], "in_person.unregistered_style"),
                    consulates=tuple(consulates))


# -- files --------------------------------------------------------------------------------------


class _RejectedJsonError(ValueError):
    """Raised by the JSON hooks for input the standard parser accepts but a manifest must not."""


def _pairs_without_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _RejectedJsonError(tr(f"clave repetida {_q(key)}", f"duplicate key {_q(key)}"))
        result[key] = value
    return result


def _reject_constant(name: str) -> NoReturn:
    raise _RejectedJsonError(tr(f"{name} no es JSON válido", f"{name} is not valid JSON"))


def parse_manifest_bytes(data: bytes, source: str) -> Manifest:
    """Parse a manifest file's bytes; ``source`` names the file in error messages."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(tr(f"{source}: no es UTF-8 válido (byte {exc.start})",
                               f"{source}: not valid UTF-8 (byte {exc.start})")) from None
    try:
        obj = json.loads(text, object_pairs_hook=_pairs_without_duplicates,
                         parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ManifestError(tr(
            f"{source}: JSON no válido en la línea {exc.lineno}, columna {exc.colno}: {exc.msg}",
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")) from None
    except _RejectedJsonError as exc:
        raise ManifestError(f"{source}: {exc}") from None
    except RecursionError:
        raise ManifestError(tr(f"{source}: JSON anidado demasiado profundo",
                               f"{source}: JSON nested too deeply")) from None
    try:
        return Manifest.from_json(obj)
    except ManifestError as exc:
        raise ManifestError(f"{source}: {exc}") from None


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest file; every failure is a ManifestError, never a traceback."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ManifestError(tr(f"no se puede leer el manifiesto {path}: {reason}",
                               f"cannot read the manifest {path}: {reason}")) from None
    return parse_manifest_bytes(data, str(path))


@lru_cache(maxsize=1)
def sample_manifest() -> Manifest:
    """The packaged sample election (2027 local elections, vote from abroad) for drills and tests."""
    data = (resources.files("sivei") / "data" / "sample-manifest.json").read_bytes()
    return parse_manifest_bytes(data, SAMPLE_MANIFEST_RESOURCE)
