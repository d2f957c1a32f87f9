"""Helpers of the results tests: the rows a results page shows and the rows ``resultados.json`` says it
must show."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from sivei.ballot.manifest import Manifest

# Choices (contest → option) that give an election coalition combinations, non-registered candidates
# and null votes; other contests rotate through a combination, CNR, NULO and a party.
CHOICES = [
    {"gob-chih": "PAN_PRI", "sen-norte": "PVEM_MORENA", "rm-2027": "SIGA"},
    {"gob-chih": "CNR", "sen-norte": "NULO", "rm-2027": "REVOCA"},
    {"gob-chih": "NULO", "sen-norte": "PAN_PRI", "rm-2027": "NULO"},
    {"gob-chih": "PAN_PRI_PRD", "sen-norte": "MC", "rm-2027": "SIGA"},
    {"gob-chih": "MORENA", "sen-norte": "CNR", "rm-2027": "SIGA"},
]


def mixed_choices(manifest: Manifest, entity: str, k: int) -> dict[str, str]:
    """The k-th voter's choices on the ballot of ``entity``."""
    style = manifest.style_for_entity(entity).id
    wanted = CHOICES[k % len(CHOICES)]
    out = {}
    for _, contest in manifest.style_contests(style):
        ids = [o.id for o in contest.options]
        combination = next(o.id for o in contest.options if o.kind in ("combination", "answer"))
        choice = wanted.get(contest.id) or (combination, "CNR", "NULO", "MORENA")[k % 4]
        out[contest.id] = choice if choice in ids else "NULO"
    return out


class _Acta(HTMLParser):
    """(entity, contest, table, row id) → the row's cells as text, from the results page."""

    def __init__(self) -> None:
        super().__init__()
        self.where: dict[str, str] = {}
        self.rows: dict[tuple[str, str, str, str], list[str]] = {}
        self.row: list[str] | None = None
        self.key: tuple[str, str, str, str] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name, key in (("data-entity", "entity"), ("data-contest", "contest"), ("data-tabla", "table")):
            if a.get(name):
                self.where[key] = str(a[name])
        if tag == "tr" and a.get("data-id"):
            self.key = (self.where["entity"], self.where["contest"], self.where["table"], str(a["data-id"]))
            self.row = []
        if tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        if tag == "tr" and self.row is not None and self.key is not None:
            self.rows[self.key] = self.row
            self.row, self.key = None, None


def page_rows(html: str) -> dict[tuple[str, str, str, str], list[str]]:
    parser = _Acta()
    parser.feed(html)
    return parser.rows


def expected_rows(data: dict[str, Any]) -> dict[tuple[str, str, str, str], tuple[int, str]]:
    """What the page must show, from resultados.json: (votes, percent) per row."""
    out: dict[tuple[str, str, str, str], tuple[int, str]] = {}
    sections = [(e["code"], c) for e in data["entities"] for c in e["contests"]] + [("*", c) for c in data["totals"]]
    for entity, c in sections:
        key = (entity, c["contest"])
        for table in ("options", "candidacies"):
            for x in c[table]:
                out[(*key, table, x["id"])] = (x["votes"], x["percent"])
        if any(o["kind"] == "combination" for o in c["options"]):
            for x in c["parties_after_distribution"]:
                out[(*key, "parties_after_distribution", x["id"])] = (x["votes"], x["percent"])
        out[(*key, "options", "total_votes")] = (c["total_votes"], "100.0000" if c["total_votes"] else "0.0000")
        for name in ("valid_votes", "non_registered_candidates", "null_votes"):
            out[(*key, "summary", name)] = (c[name]["votes"], c[name]["percent"])
        out[(*key, "summary", "registered")] = (c["registered"], "")
        out[(*key, "summary", "turnout")] = (c["total_votes"], c["turnout_percent"])
    return out
