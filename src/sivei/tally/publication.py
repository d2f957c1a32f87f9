"""Results as INE publishes them: per entity and contest, and summed over entities, as files.

From the manifest, the verified results and the number of voters on the list of each entity:

- every line of the acta (each party, each coalition combination, independents, candidates not
  registered, null votes) with its votes and its percentage of the votes cast;
- votes per candidacy (a coalition's candidate adds its parties and all its combinations);
- votes per party after the distribution of combination votes (LGIPE art. 311, informative: the
  official one is made at the district or state count, with the votes cast in Mexico);
- valid votes, null votes, total, the list (credentials issued) and turnout.

``results_json`` names every value by key (never by position), ``results_csv`` is one row per
value with stable English column names, and ``acta_document`` is the printable acta de cómputo
(``sivei.printing``) with the names, roles, date, place and signature lines. Percentages are of
the total votes cast in that entity and contest, rounded half-up to four decimals.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sivei.ballot.manifest import Contest, Manifest
from sivei.crypto.fingerprint import fingerprint
from sivei.election_kind import banner, kind_of
from sivei.i18n import tr
from sivei.printing import (
    Align,
    Banner,
    Document,
    Field,
    Fields,
    Heading,
    PageBreak,
    Paragraph,
    Signatures,
    Table,
    number_words_es,
)
from sivei.tally.results import ElectionResults, contest_totals

FORMAT = "sivei-resultados"
VERSION = 1
CSV_COLUMNS = ("entity", "entity_name", "contest", "contest_title", "section", "id", "label", "votes", "percent")


def percent(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole`` with four decimals, half-up ("0.0000" when whole is 0)."""
    if whole <= 0:
        return "0.0000"
    return str((Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Line:
    id: str
    label: str
    kind: str
    votes: int
    parties: tuple[str, ...] = ()
    candidate: str | None = None


@dataclass(frozen=True)
class ContestActa:
    """One contest in one entity (``entity`` = None: summed over ``entities``)."""

    entity: str | None
    entity_name: str
    entities: tuple[str, ...]
    contest: Contest
    options: tuple[Line, ...]
    candidacies: tuple[Line, ...]
    parties: tuple[Line, ...]
    registered: int

    @property
    def total(self) -> int:
        return sum(o.votes for o in self.options)

    @property
    def null_votes(self) -> int:
        return sum(o.votes for o in self.options if o.kind == "null")

    @property
    def non_registered(self) -> int:
        return sum(o.votes for o in self.options if o.kind == "write_in")

    @property
    def valid(self) -> int:
        return self.total - self.null_votes

    def to_json(self) -> dict[str, Any]:
        total = self.total

        def line(x: Line) -> dict[str, Any]:
            out: dict[str, Any] = {"id": x.id, "label": x.label, "kind": x.kind}
            if x.parties:
                out["parties"] = list(x.parties)
            if x.candidate is not None:
                out["candidate"] = x.candidate
            out.update(votes=x.votes, percent=percent(x.votes, total))
            return out

        data: dict[str, Any] = {"contest": self.contest.id, "title": self.contest.title, "kind": self.contest.kind}
        if self.entity is None:
            data["entities"] = list(self.entities)
        data.update({
            "options": [line(o) for o in self.options],
            "candidacies": [line(c) for c in self.candidacies],
            "parties_after_distribution": [line(p) for p in self.parties],
            "non_registered_candidates": {"votes": self.non_registered, "percent": percent(self.non_registered, total)},
            "null_votes": {"votes": self.null_votes, "percent": percent(self.null_votes, total)},
            "valid_votes": {"votes": self.valid, "percent": percent(self.valid, total)},
            "total_votes": total,
            "registered": self.registered,
            "turnout_percent": percent(total, self.registered),
        })
        return data


def _option_label(contest: Contest, index: int) -> str:
    option = contest.options[index]
    if option.kind == "write_in":
        return tr("Candidaturas no registradas", "Non-registered candidates")
    if option.kind == "null":
        return tr("Votos nulos", "Null votes")
    return option.label


def _acta(manifest: Manifest, contest: Contest, entity: str | None, entity_name: str, entities: tuple[str, ...],
          counts: Sequence[int], candidacies: Sequence[tuple[str, int]], distribution: Sequence[tuple[str, int]],
          registered: int) -> ContestActa:
    options = tuple(Line(o.id, _option_label(contest, i), o.kind, counts[i], o.parties, o.candidate)
                    for i, o in enumerate(contest.options))
    cand = []
    for key, votes in candidacies:
        coalition = next((c for c in contest.coalitions if c.id == key), None)
        if coalition is not None:
            cand.append(Line(key, f"{coalition.candidate} ({coalition.name})", "coalition", votes, coalition.parties,
                             coalition.candidate))
        else:
            o = contest.options[contest.option_index(key)]
            who = o.candidate or o.label
            tag = tr("independiente", "independent") if o.kind == "independent" else manifest_party_name(manifest, o)
            cand.append(Line(key, f"{who} ({tag})", o.kind, votes, o.parties, o.candidate))
    parties = tuple(Line(p, manifest.party(p).name, "party", v, (p,)) for p, v in distribution)
    return ContestActa(entity, entity_name, entities, contest, options, tuple(cand), parties, registered)


def manifest_party_name(manifest: Manifest, option: Any) -> str:
    return manifest.party(option.parties[0]).name if option.parties else option.label


def published_results(manifest: Manifest, results: ElectionResults, registered: Mapping[str, int]
                      ) -> tuple[list[ContestActa], list[ContestActa]]:
    """Per-entity actas in manifest order, and each contest summed over its entities (no art. 311
    distribution there: remainders are handed out per count)."""
    per_entity = []
    for r in results.contests:
        entity = manifest.entity(r.entity)
        per_entity.append(_acta(manifest, manifest.contest(r.contest_id), r.entity, entity.name, (r.entity,),
                                r.option_counts, r.candidate_totals, r.party_distribution,
                                registered.get(r.entity, 0)))
    summed = []
    for t in contest_totals(manifest, results):
        contest = manifest.contest(t.contest_id)
        names = ", ".join(manifest.entity(e).name for e in t.entities)
        summed.append(_acta(manifest, contest, None, names, t.entities, t.option_counts, t.candidate_totals, (),
                            sum(registered.get(e, 0) for e in t.entities)))
    return per_entity, summed


def registered_per_entity(manifest: Manifest, style_counts: Mapping[str, int]) -> dict[str, int]:
    """The list per entity from the signed credential list's counts per ballot style."""
    return {e.code: int(style_counts.get(e.ballot_style, 0)) for e in manifest.entities}


# -- files ------------------------------------------------------------------------------------------


def results_json(manifest: Manifest, results: ElectionResults, registered: Mapping[str, int], *,
                 election_hash: bytes | None = None) -> dict[str, Any]:
    per_entity, summed = published_results(manifest, results, registered)
    entities = []
    for e in manifest.entities:
        rows = [a for a in per_entity if a.entity == e.code]
        if rows:
            entities.append({"code": e.code, "name": e.name, "registered": registered.get(e.code, 0),
                             "contests": [a.to_json() for a in rows]})
    return {
        "format": FORMAT, "version": VERSION,
        "election_id": manifest.election_id, "election_name": manifest.name,
        "election_kind": kind_of(manifest.election_id),
        "manifest_hash": manifest.hash.hex(),
        **({"election_hash": election_hash.hex()} if election_hash else {}),
        "entities": entities,
        "totals": [a.to_json() for a in summed],
    }


def results_csv(manifest: Manifest, results: ElectionResults, registered: Mapping[str, int]) -> str:
    """One row per value: section ``option``, ``candidacy``, ``party_after_distribution`` or ``summary``
    (ids ``non_registered_candidates``, ``null_votes``, ``valid_votes``, ``total_votes``,
    ``registered``, ``turnout``); entity ``*`` for the sums over entities."""
    per_entity, summed = published_results(manifest, results, registered)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for acta in (*per_entity, *summed):
        total = acta.total
        head = [acta.entity or "*", acta.entity_name, acta.contest.id, acta.contest.title]
        for section, lines in (("option", acta.options), ("candidacy", acta.candidacies),
                               ("party_after_distribution", acta.parties)):
            for x in lines:
                writer.writerow([*head, section, x.id, x.label, x.votes, percent(x.votes, total)])
        for key, label, votes in (
                ("non_registered_candidates", tr("Candidaturas no registradas", "Non-registered candidates"),
                 acta.non_registered),
                ("null_votes", tr("Votos nulos", "Null votes"), acta.null_votes),
                ("valid_votes", tr("Votación válida", "Valid votes"), acta.valid),
                ("total_votes", tr("Votación total", "Total votes"), total)):
            writer.writerow([*head, "summary", key, label, votes, percent(votes, total)])
        writer.writerow([*head, "summary", "registered", tr("Lista nominal (credenciales emitidas)",
                                                            "Voters on the list (credentials issued)"),
                         acta.registered, ""])
        writer.writerow([*head, "summary", "turnout", tr("Participación", "Turnout"), total,
                         percent(total, acta.registered)])
    return out.getvalue()


# -- the printable acta de cómputo -------------------------------------------------------------------


@dataclass(frozen=True)
class ActaSetting:
    """Where and when the count is signed, by whom, and what the record's fingerprints are."""

    place: str
    date: str
    signers: tuple[tuple[str, str], ...]
    election_hash: bytes | None = None
    final_head: bytes | None = None
    keyholders_present: tuple[int, ...] = ()


def _fmt(n: int) -> str:
    return f"{n:,}"


def _contest_tables(acta: ContestActa) -> list[Any]:
    total = acta.total
    spanish = tr("es", "en") == "es"
    header = (tr("Partido, coalición o candidatura", "Party, coalition or candidacy"), tr("Votos", "Votes"),
              *(("Con letra",) if spanish else ()), "%")
    widths = (70, 14, 50, 16) if spanish else (100, 18, 18)
    align: tuple[Align, ...] = ("L", "R", "L", "R") if spanish else ("L", "R", "R")

    def row(label: str, votes: int, pct: str) -> tuple[str, ...]:
        return (label, _fmt(votes), *((number_words_es(votes),) if spanish else ()), pct)

    rows = [row(o.label, o.votes, percent(o.votes, total)) for o in acta.options]
    rows.append(row(tr("VOTACIÓN TOTAL", "TOTAL VOTES"), total, percent(total, total) if total else "0.0000"))
    blocks: list[Any] = [Table(header, tuple(rows), widths, align, frozenset({len(rows) - 1}))]
    summary = [
        (tr("Votación válida", "Valid votes"), acta.valid, percent(acta.valid, total)),
        (tr("Candidaturas no registradas", "Non-registered candidates"), acta.non_registered,
         percent(acta.non_registered, total)),
        (tr("Votos nulos", "Null votes"), acta.null_votes, percent(acta.null_votes, total)),
        (tr("Lista nominal (credenciales emitidas)", "Voters on the list (credentials issued)"), acta.registered, ""),
        (tr("Participación (votación total / lista nominal)", "Turnout (total votes / list)"), total,
         percent(total, acta.registered)),
    ]
    blocks.append(Table((tr("Resumen", "Summary"), tr("Votos", "Votes"), "%"),
                        tuple((a, _fmt(b), c) for a, b, c in summary), (100, 18, 18), ("L", "R", "R")))
    if acta.candidacies:
        blocks.append(Paragraph(tr("Votos por candidatura", "Votes per candidacy"), bold=True))
        blocks.append(Table((tr("Candidatura", "Candidacy"), tr("Votos", "Votes"), "%"),
                            tuple((c.label, _fmt(c.votes), percent(c.votes, total)) for c in acta.candidacies),
                            (100, 18, 18), ("L", "R", "R")))
    if acta.parties and acta.contest.coalitions:
        blocks.append(Paragraph(tr("Votos por partido tras la distribución de los votos de coalición (LGIPE art. "
                                   "311; informativa: la oficial se hace en el cómputo distrital o estatal)",
                                   "Votes per party after distributing coalition votes (LGIPE art. 311; "
                                   "informative: the official one is made at the district or state count)"),
                                bold=True))
        blocks.append(Table((tr("Partido", "Party"), tr("Votos", "Votes"), "%"),
                            tuple((f"{p.id} — {p.label}", _fmt(p.votes), percent(p.votes, total))
                                  for p in acta.parties), (100, 18, 18), ("L", "R", "R")))
    return blocks


def acta_document(manifest: Manifest, results: ElectionResults, registered: Mapping[str, int],
                  setting: ActaSetting) -> Document:
    """The acta de cómputo: each entity's contests, then each contest over all entities, then the
    signatures."""
    per_entity, summed = published_results(manifest, results, registered)
    doc = Document(tr("Acta de cómputo de la votación electrónica por internet desde el extranjero",
                      "Count record (acta de cómputo) of the internet vote from abroad"),
                   footer=f"{manifest.election_id} · {tr('manifiesto', 'manifest')} {fingerprint(manifest.hash)}")
    kind = banner(manifest.election_id)
    if kind:
        doc.add(Banner(kind))
    fields = [Field(tr("Elección", "Election"), manifest.name), Field(tr("Identificador", "Id"), manifest.election_id),
              Field(tr("Lugar", "Place"), setting.place), Field(tr("Fecha", "Date"), setting.date),
              Field(tr("Huella del manifiesto", "Manifest fingerprint"), fingerprint(manifest.hash))]
    if setting.election_hash:
        fields.append(Field(tr("Huella de la elección (H_E)", "Election fingerprint (H_E)"),
                            fingerprint(setting.election_hash)))
    if setting.final_head:
        fields.append(Field(tr("Cabeza final del tablero", "Final board head"), fingerprint(setting.final_head)))
    if setting.keyholders_present:
        fields.append(Field(tr("Custodios que abrieron la bóveda", "Key-holders who opened the vault"),
                            ", ".join(str(i) for i in setting.keyholders_present)))
    doc.add(Fields(tuple(fields)))
    doc.add(Paragraph(tr("Los resultados de esta acta son los del registro electoral verificado: cualquiera puede "
                         "comprobarlos sin conexión con «sivei verificar». Los porcentajes son de la votación total "
                         "de cada elección y entidad.",
                         "The results in this record are those of the verified election record: anyone can check "
                         "them offline with «sivei verify». Percentages are of each contest's total votes in each "
                         "entity.")))
    for acta in per_entity:
        doc.add(Heading(f"{acta.entity_name} — {acta.contest.title}", 2), *_contest_tables(acta))
    if summed:
        doc.add(PageBreak(), Heading(tr("Totales por elección (todas las entidades)",
                                        "Totals per contest (all entities)")))
        for acta in summed:
            doc.add(Heading(f"{acta.contest.title} — {acta.entity_name}", 2), *_contest_tables(acta))
    doc.add(Heading(tr("Firmas", "Signatures")))
    doc.add(Paragraph(tr(f"Se levanta la presente acta en {setting.place}, el {setting.date}, y la firman:",
                         f"This record is drawn up in {setting.place} on {setting.date} and signed by:")))
    people = setting.signers or tuple(("", tr("Nombre, cargo y firma", "Name, role and signature")) for _ in range(4))
    doc.add(Signatures(people))
    return doc



def acta_date_today(zone: str) -> str:
    """Today's date in ``zone`` as an acta writes it ("2 de junio de 2030")."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sivei.ballot.manifest import _MONTHS

    now = datetime.now(ZoneInfo(zone))
    es, en = _MONTHS[now.month - 1]
    return tr(f"{now.day} de {es} de {now.year}", f"{en} {now.day}, {now.year}")
