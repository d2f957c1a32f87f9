"""The two ballot shapes the benchmarks measure, written as manifest JSON and read with
``Manifest.from_json`` (so they pass the same strict validation as a real manifest).

* ``eg-shape``: one entity, one ballot style, 3 candidacy contests of 4, 6 and 8 options
  (18 options): the ballot ElectionGuard's Python reference was measured on. Every candidacy
  contest must end with the "candidato no registrado" and "voto nulo" options, which are counted
  inside the 4/6/8.
* ``federal``: a realistic federal ballot from abroad: president and senate (one state), each with
  the 7 national parties, the 8 combinations of two coalitions (PAN-PRI-PRD: 4; PT-PVEM-MORENA: 4),
  CNR and nulo: 17 options each, 34 in all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from sivei.ballot.manifest import Manifest

PARTIES: tuple[tuple[str, str], ...] = (
    ("PAN", "Partido Acción Nacional"),
    ("PRI", "Partido Revolucionario Institucional"),
    ("PRD", "Partido de la Revolución Democrática"),
    ("PT", "Partido del Trabajo"),
    ("PVEM", "Partido Verde Ecologista de México"),
    ("MC", "Movimiento Ciudadano"),
    ("MORENA", "Morena"),
)

_WINDOW = {"voting_opens": "2027-05-23T02:00:00Z", "voting_closes": "2027-06-07T00:00:00Z"}


def _party(party: str, candidate: str) -> dict[str, Any]:
    return {"id": party, "label": f"{party}: {candidate}", "kind": "party", "parties": [party],
            "candidate": candidate}


def _combination(parties: Sequence[str], candidate: str) -> dict[str, Any]:
    return {"id": "_".join(parties), "label": f"{'-'.join(parties)}: {candidate}",
            "kind": "combination", "parties": list(parties), "candidate": candidate}


def _closing_options() -> list[dict[str, Any]]:
    """CNR and nulo, which every candidacy contest ends with."""
    return [
        {"id": "CNR", "label": "Candidato/a no registrado/a", "kind": "write_in", "parties": [],
         "candidate": None},
        {"id": "NULO", "label": "Voto nulo", "kind": "null", "parties": [], "candidate": None},
    ]


def _coalition(parties: Sequence[str], name: str, candidate: str) -> dict[str, Any]:
    return {"id": "-".join(parties), "name": name, "parties": list(parties), "candidate": candidate}


def _candidacy(contest_id: str, title: str, candidates: dict[str, str],
               coalitions: Sequence[tuple[Sequence[str], str]] = ()) -> dict[str, Any]:
    """A candidacy contest: one option per party in ``candidates`` (party → candidate), every
    combination of two or more partners of each coalition (parties, name), CNR and nulo."""
    options = [_party(p, c) for p, c in candidates.items()]
    coalition_objs = []
    for parties, name in coalitions:
        candidate = candidates[parties[0]]
        coalition_objs.append(_coalition(parties, name, candidate))
        for size in range(2, len(parties) + 1):
            options.extend(_combination(subset, candidate) for subset in combinations(parties, size))
    return {"id": contest_id, "title": title, "kind": "candidacy", "votes_allowed": 1,
            "options": options + _closing_options(), "coalitions": coalition_objs}


def _manifest(election_id: str, name: str, entity: tuple[str, str], style: str,
              contests: list[dict[str, Any]]) -> dict[str, Any]:
    code, entity_name = entity
    return {
        "election_id": election_id,
        "name": name,
        **_WINDOW,
        "display_timezone": "America/Mexico_City",
        "counting_policy": "one-vote",
        "tie_rule": "party-order",
        "parties": [{"id": p, "name": n} for p, n in PARTIES],
        "entities": [{"code": code, "name": entity_name, "ballot_style": style}],
        "contests": contests,
        "ballot_styles": [{"id": style, "entity": code, "contests": [c["id"] for c in contests]}],
    }


def eg_shape_json() -> dict[str, Any]:
    """3 contests of 4, 6 and 8 options (CNR and nulo included)."""
    return _manifest(
        "bench-eg-shape", "Benchmark: 3 contests of 4, 6 and 8 options", ("JAL", "Jalisco"), "eg-shape",
        [
            _candidacy("c4", "Presidencia municipal", {
                "PAN": "Laura Medina Ochoa", "MORENA": "Ramón Ibarra Cisneros"}),
            _candidacy("c6", "Diputación migrante", {
                "PAN": "Claudia Ruiz Aceves", "PRI": "Héctor Lozano Peña",
                "MC": "Sofía Navarro Gil", "MORENA": "Tomás Vega Arriaga"}),
            _candidacy("c8", "Gubernatura", {
                "PAN": "Adriana Solís Fierro", "PRI": "Mauricio Ortega Luna",
                "MC": "Beatriz Ríos Campos", "PT": "Ernesto Salas Durán",
                "MORENA": "Ernesto Salas Durán"},
                coalitions=[(("PT", "MORENA"), "Coalición Juntos Hacemos Historia")]),
        ],
    )


def federal_json() -> dict[str, Any]:
    """President and senate, 17 options each (7 parties, 8 combinations, CNR, nulo)."""
    pres = {"PAN": "Xóchitl Ramírez Cano", "PRI": "Xóchitl Ramírez Cano", "PRD": "Xóchitl Ramírez Cano",
            "PT": "Claudia Herrera Pardo", "PVEM": "Claudia Herrera Pardo",
            "MC": "Jorge Álvarez Mejía", "MORENA": "Claudia Herrera Pardo"}
    sen = {"PAN": "Fórmula 1: Gabriela Torres Luna", "PRI": "Fórmula 1: Gabriela Torres Luna",
           "PRD": "Fórmula 1: Gabriela Torres Luna", "PT": "Fórmula 1: Raúl Mendoza Ruiz",
           "PVEM": "Fórmula 1: Raúl Mendoza Ruiz", "MC": "Fórmula 1: Diana Castro Rivas",
           "MORENA": "Fórmula 1: Raúl Mendoza Ruiz"}
    coalitions = [(("PAN", "PRI", "PRD"), "Fuerza y Corazón por México"),
                  (("PT", "PVEM", "MORENA"), "Sigamos Haciendo Historia")]
    return _manifest(
        "bench-federal", "Benchmark: Presidencia y Senaduría, voto desde el extranjero",
        ("JAL", "Jalisco"), "federal-jal",
        [
            _candidacy("pres", "Presidencia de los Estados Unidos Mexicanos", pres, coalitions),
            _candidacy("sen-jal", "Senaduría por Jalisco", sen, coalitions),
        ],
    )


@dataclass(frozen=True)
class Shape:
    """A benchmarked ballot shape: its manifest, its one ballot style and a voter's choices."""

    name: str
    manifest: Manifest
    style: str
    choices: dict[str, str]

    @property
    def options(self) -> int:
        return sum(len(c.options) for _, c in self.manifest.style_contests(self.style))


def eg_shape() -> Shape:
    return Shape("eg-shape", Manifest.from_json(eg_shape_json()), "eg-shape",
                 {"c4": "PAN", "c6": "MC", "c8": "PT_MORENA"})


def federal() -> Shape:
    return Shape("federal", Manifest.from_json(federal_json()), "federal-jal",
                 {"pres": "PT_PVEM_MORENA", "sen-jal": "PAN"})


def shapes() -> tuple[Shape, ...]:
    return eg_shape(), federal()
