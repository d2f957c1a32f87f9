"""Turnout as electoral staff follow it: per entity (the roll against who activated and who voted), per
country of residence and per day.

Only aggregates, from the ``voters`` table's roll columns (entity, country), ``activated_at`` and the
``voted`` / ``voted_on`` flags, which say THAT and on which day a voter cast and never which ballot:
nothing here can link a voter to a ballot. The same aggregates are kept as JSON when the voters'
personal data is deleted after the election (``sivei_server.retention``) and when a practice
election or a drill is archived (``sivei_server.practice``), so the console still shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sivei.ballot.manifest import Manifest
from sivei_server.models import Voter

NO_COUNTRY = "--"

# Names of the countries where most voters from abroad live; any other shows its ISO code.
COUNTRY_NAMES: dict[str, tuple[str, str]] = {
    "US": ("Estados Unidos", "United States"), "CA": ("Canadá", "Canada"), "ES": ("España", "Spain"),
    "DE": ("Alemania", "Germany"), "FR": ("Francia", "France"), "GB": ("Reino Unido", "United Kingdom"),
    "IT": ("Italia", "Italy"), "NL": ("Países Bajos", "Netherlands"), "CH": ("Suiza", "Switzerland"),
    "AR": ("Argentina", "Argentina"), "CL": ("Chile", "Chile"), "CO": ("Colombia", "Colombia"),
    "BR": ("Brasil", "Brazil"), "GT": ("Guatemala", "Guatemala"), "AU": ("Australia", "Australia"),
    "JP": ("Japón", "Japan"), "CN": ("China", "China"), "SE": ("Suecia", "Sweden"),
    "BE": ("Bélgica", "Belgium"), "IE": ("Irlanda", "Ireland"), "PE": ("Perú", "Peru"),
    "CR": ("Costa Rica", "Costa Rica"), "PA": ("Panamá", "Panama"), "NZ": ("Nueva Zelanda", "New Zealand"),
}


def country_name(code: str, lang: str = "es") -> str:
    if code == NO_COUNTRY:
        return "Sin país en el padrón" if lang == "es" else "No country on the roll"
    names = COUNTRY_NAMES.get(code)
    if names is None:
        return code
    return f"{names[0] if lang == 'es' else names[1]} ({code})"


@dataclass(frozen=True)
class Row:
    """One line of a turnout table: ``registered`` voters on the roll, how many ``activated`` their
    account and how many ``voted``."""

    key: str
    registered: int
    activated: int
    voted: int

    @property
    def percent(self) -> float:
        return 100.0 * self.voted / self.registered if self.registered else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "registered": self.registered, "activated": self.activated, "voted": self.voted}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Row:
        return cls(str(obj["key"]), int(obj["registered"]), int(obj["activated"]), int(obj["voted"]))


@dataclass(frozen=True)
class Turnout:
    by_entity: tuple[Row, ...]
    by_country: tuple[Row, ...]
    by_day: tuple[tuple[str, int], ...]   # (UTC day, voters who cast that day)

    @property
    def total(self) -> Row:
        return Row("total", sum(r.registered for r in self.by_entity), sum(r.activated for r in self.by_entity),
                   sum(r.voted for r in self.by_entity))

    def to_json(self) -> dict[str, Any]:
        return {"by_entity": [r.to_json() for r in self.by_entity],
                "by_country": [r.to_json() for r in self.by_country],
                "by_day": [{"day": d, "voted": n} for d, n in self.by_day]}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Turnout:
        return cls(tuple(Row.from_json(r) for r in obj.get("by_entity", ())),
                   tuple(Row.from_json(r) for r in obj.get("by_country", ())),
                   tuple((str(d["day"]), int(d["voted"])) for d in obj.get("by_day", ())))


def _rows(s: Session, column: Any) -> list[Row]:
    voted = func.sum(case((Voter.voted.is_(True), 1), else_=0))
    activated = func.sum(case((Voter.activated_at.is_not(None), 1), else_=0))
    found = s.execute(select(column, func.count(), activated, voted).group_by(column).order_by(column)).all()
    return [Row(str(k) if k else NO_COUNTRY, int(n), int(a or 0), int(v or 0)) for k, n, a, v in found]


def compute(s: Session, manifest: Manifest | None = None) -> Turnout:
    """The current turnout; entities in the manifest's order when it is given."""
    by_entity = _rows(s, Voter.entity)
    if manifest is not None:
        order = {e.code: i for i, e in enumerate(manifest.entities)}
        by_entity.sort(key=lambda r: (order.get(r.key, len(order)), r.key))
    by_country = sorted(_rows(s, Voter.country), key=lambda r: (-r.registered, r.key))
    days = s.execute(select(Voter.voted_on, func.count()).where(Voter.voted_on.is_not(None))
                     .group_by(Voter.voted_on).order_by(Voter.voted_on)).all()
    return Turnout(tuple(by_entity), tuple(by_country), tuple((d.isoformat() if d else "?", int(n)) for d, n in days))
