"""Results as the actas show them: votes per option, candidate totals and the coalition vote split.

Input: the manifest and the decrypted counts, one count per option in option order, keyed by
(entity code, contest id). Everything here is a pure function of those two, so the verifier recomputes
the published results and compares them field by field (``first_difference``).

The acta lists each party, each coalition combination, independents, non-registered candidates,
null votes and the total (LGIPE arts. 288, 290). A coalition's candidate receives its parties' votes
plus all its combinations' votes. The distribution of combination votes among parties (art. 311)
is given for information only: the official one is made at the district or state count, together
with the votes cast in Mexico, so its remainders can fall differently.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from sivei import i18n
from sivei.ballot.manifest import Contest, Manifest
from sivei.crypto.fingerprint import fingerprint
from sivei.errors import ManifestError, SiveiError
from sivei.i18n import Language, tr

MAX_COUNT = 2**53 - 1  # what JSON carries exactly
RESULTS_VERSION = 2
"""The form of ``results.json`` written (the record format version): 2 names every count by its
option id; 1 (still read) gave the counts by position."""
_HASH_HEX = re.compile(r"[0-9a-f]{64}")


class ResultsError(SiveiError):
    """Counts or published results do not fit the manifest (missing, extra, malformed)."""


def _fail(path: str, es: str, en: str) -> NoReturn:
    raise ResultsError(tr(f"{path}: {es}", f"{path}: {en}"))


# -- the result of one contest in one entity ------------------------------------------------------


@dataclass(frozen=True)
class ContestResult:
    """One contest in one entity, as its acta reads.

    ``option_counts``: votes per option in option order (parties, combinations, independents, CNR,
    null; or answers and null). ``total``: all votes, null and CNR included. ``candidate_totals``:
    (coalition id or option id, votes) for each candidacy in order of first appearance on the ballot;
    a coalition's line adds its parties' options and all its combinations; CNR and null are not
    candidates; empty for a referendum. ``party_distribution``: (party id, votes) for each party with
    an option in the contest, its own votes plus its share of its combinations' votes (LGIPE art. 311,
    informative: see the module docstring)."""

    entity: str
    contest_id: str
    option_counts: tuple[int, ...]
    total: int
    candidate_totals: tuple[tuple[str, int], ...]
    party_distribution: tuple[tuple[str, int], ...]

    def to_json(self, manifest: Manifest, version: int = RESULTS_VERSION) -> dict[str, Any]:
        """Version 2 names each option's votes by the option's id (``options``); version 1 (records
        of format version 1) lists them by position (``option_counts``)."""
        if version == 1:
            votes: dict[str, Any] = {"option_counts": list(self.option_counts)}
        else:
            options = manifest.contest(self.contest_id).options
            votes = {"options": [{"id": o.id, "votes": v} for o, v in zip(options, self.option_counts, strict=True)]}
        return {
            "entity": self.entity,
            "contest_id": self.contest_id,
            **votes,
            "total": self.total,
            "candidate_totals": [{"id": k, "votes": v} for k, v in self.candidate_totals],
            "party_distribution": [{"party": k, "votes": v} for k, v in self.party_distribution],
        }


def candidate_totals(contest: Contest, option_counts: Sequence[int]) -> tuple[tuple[str, int], ...]:
    """Votes per candidacy: coalitions (by coalition id) sum their parties and combinations; parties
    running alone and independents stand alone (by option id); CNR, null and answers are left out."""
    totals: dict[str, int] = {}
    for option, votes in zip(contest.options, option_counts, strict=True):
        if option.kind in ("party", "combination"):
            coalition = contest.coalition_of(option.parties[0])
            key = option.id if coalition is None else coalition.id
        elif option.kind == "independent":
            key = option.id
        else:
            continue
        totals[key] = totals.get(key, 0) + votes
    return tuple(totals.items())


def party_distribution(manifest: Manifest, contest: Contest,
                       option_counts: Sequence[int]) -> tuple[tuple[str, int], ...]:
    """Each party's own votes plus its share of every combination it is part of (LGIPE art. 311).

    A combination's votes are split equally among its parties; the remainder goes, one vote each, to
    the parties of that combination with the most own votes (their party option in this contest and
    entity), ties broken by the manifest's ``tie_rule`` ("party-order": earlier in ``parties``)."""
    own: dict[str, int] = {}
    for option, votes in zip(contest.options, option_counts, strict=True):
        if option.kind == "party":
            own[option.parties[0]] = votes
    distributed = dict(own)
    rank = _tie_rank(manifest)
    for option, votes in zip(contest.options, option_counts, strict=True):
        if option.kind != "combination":
            continue
        share, remainder = divmod(votes, len(option.parties))
        for party in option.parties:
            distributed[party] += share
        ranked = sorted(option.parties, key=lambda p: (-own[p], rank(p)))
        for party in ranked[:remainder]:
            distributed[party] += 1
    return tuple(distributed.items())


def _tie_rank(manifest: Manifest) -> Callable[[str], int]:
    """Sort key among parties with equal votes, per the manifest's tie rule."""
    if manifest.tie_rule == "party-order":
        return manifest.party_index
    raise ResultsError(tr(f"regla de desempate desconocida {manifest.tie_rule!r}",
                          f"unknown tie rule {manifest.tie_rule!r}"))


def contest_result(manifest: Manifest, entity: str, contest: Contest,
                   option_counts: Sequence[int]) -> ContestResult:
    """The acta of one contest in one entity from its (already validated) option counts."""
    counts = tuple(option_counts)
    is_candidacy = contest.kind == "candidacy"
    return ContestResult(
        entity=entity,
        contest_id=contest.id,
        option_counts=counts,
        total=sum(counts),
        candidate_totals=candidate_totals(contest, counts) if is_candidacy else (),
        party_distribution=party_distribution(manifest, contest, counts) if is_candidacy else (),
    )


# -- the whole election -------------------------------------------------------------------------


@dataclass(frozen=True)
class ElectionResults:
    """Every (entity, contest) result, in manifest order: entities as listed, each entity's contests
    in its ballot style's order. ``manifest_hash`` binds the results to the manifest they count."""

    election_id: str
    manifest_hash: bytes
    contests: tuple[ContestResult, ...]

    def result(self, entity: str, contest_id: str) -> ContestResult:
        for r in self.contests:
            if r.entity == entity and r.contest_id == contest_id:
                return r
        raise ResultsError(tr(f"no hay resultados de {entity}/{contest_id}",
                              f"there are no results for {entity}/{contest_id}"))

    def to_json(self, manifest: Manifest, version: int = RESULTS_VERSION) -> dict[str, Any]:
        """``results.json`` in the form of record format ``version``."""
        return {"election_id": self.election_id, "manifest_hash": self.manifest_hash.hex(),
                "contests": [r.to_json(manifest, version) for r in self.contests]}

    @staticmethod
    def from_json(manifest: Manifest, obj: object, version: int | None = None) -> ElectionResults:
        """Read published results strictly against their manifest.

        Shape is checked here (keys, types, counts per option, every (entity, contest) known and
        listed once, the manifest's id and hash); the values themselves (totals, candidate totals,
        distribution, order) are what ``first_difference`` compares with a recomputation.
        ``version``: the record format version, which fixes the form of the counts (named
        ``options`` in 2, positional ``option_counts`` in 1); None accepts either."""
        o = _object(obj, "results", ("election_id", "manifest_hash", "contests"))
        if o["election_id"] != manifest.election_id:
            _fail("results.election_id", "los resultados son de otra elección",
                  "the results belong to another election")
        digest = o["manifest_hash"]
        if not isinstance(digest, str) or not _HASH_HEX.fullmatch(digest):
            _fail("results.manifest_hash", "se esperaban 64 dígitos hexadecimales en minúscula",
                  "expected 64 lowercase hex digits")
        if bytes.fromhex(digest) != manifest.hash:
            _fail("results.manifest_hash", "los resultados son de otro manifiesto",
                  "the results belong to another manifest")
        items = _list(o["contests"], "results.contests")
        expected = _expected_keys(manifest)
        seen: set[tuple[str, str]] = set()
        contests = []
        for i, item in enumerate(items):
            path = f"results.contests[{i}]"
            r = _parse_contest_result(manifest, item, path, version)
            key = (r.entity, r.contest_id)
            if key not in expected:
                _fail(path, f"{r.entity}/{r.contest_id} no está en ningún estilo de boleta del manifiesto",
                      f"{r.entity}/{r.contest_id} is in no ballot style of the manifest")
            if key in seen:
                _fail(path, f"{r.entity}/{r.contest_id} aparece dos veces",
                      f"{r.entity}/{r.contest_id} appears twice")
            seen.add(key)
            n_options = len(manifest.contest(r.contest_id).options)
            if len(r.option_counts) != n_options:
                got = len(r.option_counts)
                _fail(f"{path}.option_counts", f"se esperaban {n_options} conteos, hay {got}",
                      f"expected {n_options} counts, got {got}")
            contests.append(r)
        return ElectionResults(manifest.election_id, manifest.hash, tuple(contests))


def _expected_keys(manifest: Manifest) -> dict[tuple[str, str], Contest]:
    """Every (entity, contest) the manifest's ballot styles call for, in manifest order."""
    keys: dict[tuple[str, str], Contest] = {}
    for entity in manifest.entities:
        for _, contest in manifest.style_contests(entity.ballot_style):
            keys[(entity.code, contest.id)] = contest
    return keys


def compute_results(manifest: Manifest, counts: Mapping[tuple[str, str], Sequence[int]]) -> ElectionResults:
    """Results for every (entity, contest) of every ballot style, checking the counts first: all
    present, none extra, one non-negative integer per option."""
    expected = _expected_keys(manifest)
    for key in counts:
        if key not in expected:
            entity, contest_id = key if isinstance(key, tuple) and len(key) == 2 else (key, "?")
            raise ResultsError(tr(
                f"conteos de {entity}/{contest_id}, que no está en ningún estilo de boleta del manifiesto",
                f"counts for {entity}/{contest_id}, which is in no ballot style of the manifest"))
    results = []
    for (entity, contest_id), contest in expected.items():
        where = f"{entity}/{contest_id}"
        row = counts.get((entity, contest_id))
        if row is None:
            raise ResultsError(tr(f"{where}: faltan los conteos", f"{where}: the counts are missing"))
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise ResultsError(tr(f"{where}: se esperaba una lista de conteos",
                                  f"{where}: expected a list of counts"))
        if len(row) != len(contest.options):
            raise ResultsError(tr(f"{where}: se esperaban {len(contest.options)} conteos, hay {len(row)}",
                                  f"{where}: expected {len(contest.options)} counts, got {len(row)}"))
        for option, value in zip(contest.options, row, strict=True):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
                raise ResultsError(tr(f"{where}/{option.id}: conteo no válido {value!r}",
                                      f"{where}/{option.id}: invalid count {value!r}"))
        results.append(contest_result(manifest, entity, contest, row))
    return ElectionResults(manifest.election_id, manifest.hash, tuple(results))


# -- comparison (the verifier's view) ----------------------------------------------------------


def first_difference(manifest: Manifest, expected: ElectionResults, published: ElectionResults) -> str | None:
    """The first field where published results differ from recomputed ones, named by its
    entity/contest/option (or candidacy, or party); None when they agree exactly."""
    if published.election_id != expected.election_id:
        return tr(f"election_id: publicado {published.election_id!r}, esperado {expected.election_id!r}",
                  f"election_id: published {published.election_id!r}, expected {expected.election_id!r}")
    if published.manifest_hash != expected.manifest_hash:
        return tr("manifest_hash: los resultados publicados son de otro manifiesto",
                  "manifest_hash: the published results belong to another manifest")
    for i, (mine, theirs) in enumerate(zip(expected.contests, published.contests, strict=False)):
        if (mine.entity, mine.contest_id) != (theirs.entity, theirs.contest_id):
            return tr(f"contests[{i}]: publicado {theirs.entity}/{theirs.contest_id}, "
                      f"esperado {mine.entity}/{mine.contest_id}",
                      f"contests[{i}]: published {theirs.entity}/{theirs.contest_id}, "
                      f"expected {mine.entity}/{mine.contest_id}")
        where = f"{mine.entity}/{mine.contest_id}"
        options = manifest.contest(mine.contest_id).options
        if len(mine.option_counts) != len(theirs.option_counts):
            return tr(f"{where}: {len(theirs.option_counts)} conteos publicados, se esperaban "
                      f"{len(mine.option_counts)}",
                      f"{where}: {len(theirs.option_counts)} counts published, expected "
                      f"{len(mine.option_counts)}")
        for option, a, b in zip(options, mine.option_counts, theirs.option_counts, strict=False):
            if a != b:
                return _differs(f"{where}/{option.id}", b, a)
        if mine.total != theirs.total:
            return _differs(f"{where}/total", theirs.total, mine.total)
        for (what_es, what_en), ours, published_pairs in (
                (("la candidatura", "candidacy"), mine.candidate_totals, theirs.candidate_totals),
                (("el partido", "party"), mine.party_distribution, theirs.party_distribution)):
            for j, (key, votes) in enumerate(ours):
                if j >= len(published_pairs):
                    return tr(f"{where}: falta {what_es} {key}", f"{where}: {what_en} {key} is missing")
                their_key, their_votes = published_pairs[j]
                if their_key != key:
                    return tr(f"{where}: en la posición {j} se publicó {their_key}, se esperaba {key}",
                              f"{where}: position {j} has {their_key} published, expected {key}")
                if their_votes != votes:
                    return _differs(f"{where}/{key}", their_votes, votes)
            if len(published_pairs) > len(ours):
                extra = published_pairs[len(ours)][0]
                return tr(f"{where}: sobra {what_es} {extra}", f"{where}: unexpected {what_en} {extra}")
    if len(expected.contests) != len(published.contests):
        n_published, n_expected = len(published.contests), len(expected.contests)
        return tr(f"se publicaron {n_published} resultados, se esperaban {n_expected}",
                  f"{n_published} results published, expected {n_expected}")
    return None


def _differs(where: str, published: int, expected: int) -> str:
    return tr(f"{where}: publicado {published}, recalculado {expected}",
              f"{where}: published {published}, recomputed {expected}")


# -- totals across entities ---------------------------------------------------------------------


@dataclass(frozen=True)
class ContestTotal:
    """One contest summed over every entity whose ballot carries it (e.g. the referendum).

    No party distribution here: the art. 311 remainders are handed out per count, not nationally."""

    contest_id: str
    entities: tuple[str, ...]
    option_counts: tuple[int, ...]
    total: int
    candidate_totals: tuple[tuple[str, int], ...]


def contest_totals(manifest: Manifest, results: ElectionResults) -> tuple[ContestTotal, ...]:
    """Per-contest sums over entities, in manifest contest order."""
    out = []
    for contest in manifest.contests:
        rows = [r for r in results.contests if r.contest_id == contest.id]
        if not rows:
            continue
        summed = tuple(sum(col) for col in zip(*(r.option_counts for r in rows), strict=True))
        out.append(ContestTotal(
            contest_id=contest.id,
            entities=tuple(r.entity for r in rows),
            option_counts=summed,
            total=sum(summed),
            candidate_totals=candidate_totals(contest, summed) if contest.kind == "candidacy" else (),
        ))
    return tuple(out)


# -- plain-text tables ----------------------------------------------------------------------------


def format_results(manifest: Manifest, results: ElectionResults, language: Language | None = None) -> str:
    """Plain-text tables for a terminal: each entity's actas, then each contest summed over entities.

    ``language``: "es" or "en"; by default the language selected with ``sivei.i18n.set_language``
    (Spanish unless chosen otherwise)."""
    lang = language if language is not None else i18n.language()

    def t(es: str, en: str) -> str:
        return es if lang == "es" else en

    out: list[str] = []
    title = t("Resultados del voto desde el extranjero", "Results of the vote from abroad")
    out += [title, "=" * len(title), manifest.name,
            t(f"Elección {manifest.election_id} · manifiesto {fingerprint(manifest.hash)}",
              f"Election {manifest.election_id} · manifest {fingerprint(manifest.hash)}"), ""]
    for entity in manifest.entities:
        rows = [r for r in results.contests if r.entity == entity.code]
        if not rows:
            continue
        heading = t(f"Entidad: {entity.name} ({entity.code})", f"Entity: {entity.name} ({entity.code})")
        out += [heading, "-" * len(heading), ""]
        for r in rows:
            contest = manifest.contest(r.contest_id)
            out += _contest_block(manifest, contest, r.option_counts, r.total, r.candidate_totals, t)
            if contest.coalitions:
                out += ["", "  " + t("Distribución de votos de coalición (informativa)",
                                     "Coalition vote distribution (informative)")]
                out += _table([(_party_label(manifest, p), v) for p, v in r.party_distribution],
                              (t("Partido", "Party"), t("Votos", "Votes")), None)
            out.append("")
    totals = contest_totals(manifest, results)
    if totals:
        heading = t("Totales por elección (todas las entidades)", "Totals per contest (all entities)")
        out += [heading, "-" * len(heading), ""]
        for total in totals:
            contest = manifest.contest(total.contest_id)
            out += _contest_block(manifest, contest, total.option_counts, total.total,
                                  total.candidate_totals, t,
                                  t(f"Entidades: {', '.join(total.entities)}",
                                    f"Entities: {', '.join(total.entities)}"))
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _contest_block(manifest: Manifest, contest: Contest, counts: Sequence[int], total: int,
                   cand: Sequence[tuple[str, int]], t: Callable[[str, str], str],
                   subtitle: str | None = None) -> list[str]:
    lines = textwrap.wrap(contest.title, width=100, subsequent_indent="  ") or [contest.id]
    if subtitle:
        lines.append("  " + subtitle)
    rows: list[tuple[str, int]] = []
    for option, votes in zip(contest.options, counts, strict=True):
        if option.kind == "write_in":
            label = t("Candidato no registrado", "Non-registered candidate")
        elif option.kind == "null":
            label = t("Votos nulos", "Null votes")
        else:
            label = option.label
        rows.append((label, votes))
    lines += _table(rows, (t("Opción", "Option"), t("Votos", "Votes")), (t("Total", "Total"), total))
    if cand:
        lines += ["", "  " + t("Votos por candidatura", "Votes per candidacy")]
        lines += _table([(_candidacy_label(contest, key, t), v) for key, v in cand],
                        (t("Candidatura", "Candidacy"), t("Votos", "Votes")), None)
    return lines


def _candidacy_label(contest: Contest, key: str, t: Callable[[str, str], str]) -> str:
    for coalition in contest.coalitions:
        if coalition.id == key:
            return f"{coalition.candidate} ({coalition.name})"
    option = contest.options[contest.option_index(key)]
    if option.kind == "independent" and option.candidate:
        return f"{option.candidate} ({t('independiente', 'independent')})"
    if option.candidate:
        return f"{option.candidate} ({key})"
    return option.label


def _party_label(manifest: Manifest, party_id: str) -> str:
    return f"{party_id} ({manifest.party(party_id).name})"


def _table(rows: Sequence[tuple[str, int]], header: tuple[str, str],
           footer: tuple[str, int] | None) -> list[str]:
    cells = [(label, f"{votes:,}") for label, votes in rows]
    foot = (footer[0], f"{footer[1]:,}") if footer else None
    everything = [header, *cells, *([foot] if foot else [])]
    wl = max(len(a) for a, _ in everything)
    wn = max(len(b) for _, b in everything)
    rule = f"  {'-' * wl}  {'-' * wn}"
    lines = [f"  {header[0]:<{wl}}  {header[1]:>{wn}}", rule]
    lines += [f"  {a:<{wl}}  {b:>{wn}}" for a, b in cells]
    if foot:
        lines += [rule, f"  {foot[0]:<{wl}}  {foot[1]:>{wn}}"]
    return lines


# -- strict JSON helpers ------------------------------------------------------------------------


def _object(value: object, path: str, keys: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        _fail(path, "se esperaba un objeto JSON", "expected a JSON object")
    for k in value:
        if k not in keys:
            _fail(f"{path}.{k}", "clave desconocida", "unknown key")
    for k in keys:
        if k not in value:
            _fail(f"{path}.{k}", "falta esta clave", "missing key")
    return value


def _list(value: object, path: str) -> list[object]:
    if not isinstance(value, list):
        _fail(path, "se esperaba una lista", "expected a list")
    return value


def _string(value: object, path: str) -> str:
    if not isinstance(value, str) or not value:
        _fail(path, "se esperaba una cadena no vacía", "expected a non-empty string")
    return value


def _count(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        _fail(path, "se esperaba un entero no negativo", "expected a non-negative integer")
    return value


def _pairs(value: object, path: str, key: str) -> tuple[tuple[str, int], ...]:
    out = []
    for i, item in enumerate(_list(value, path)):
        o = _object(item, f"{path}[{i}]", (key, "votes"))
        out.append((_string(o[key], f"{path}[{i}].{key}"), _count(o["votes"], f"{path}[{i}].votes")))
    return tuple(out)


def _parse_contest_result(manifest: Manifest, value: object, path: str, version: int | None) -> ContestResult:
    if version is None:
        version = 1 if isinstance(value, dict) and "option_counts" in value else RESULTS_VERSION
    votes_key = "option_counts" if version == 1 else "options"
    o = _object(value, path, ("entity", "contest_id", votes_key, "total", "candidate_totals",
                              "party_distribution"))
    entity = _string(o["entity"], f"{path}.entity")
    contest_id = _string(o["contest_id"], f"{path}.contest_id")
    if version == 1:
        counts = _list(o["option_counts"], f"{path}.option_counts")
        option_counts = tuple(_count(c, f"{path}.option_counts[{i}]") for i, c in enumerate(counts))
    else:
        named = _pairs(o["options"], f"{path}.options", "id")
        try:
            ids: tuple[str, ...] | None = tuple(option.id for option in manifest.contest(contest_id).options)
        except ManifestError:
            ids = None  # an unknown contest: from_json names it
        if ids is not None and tuple(k for k, _ in named) != ids:
            _fail(f"{path}.options", f"se esperaban las opciones {list(ids)}, en ese orden",
                  f"expected the options {list(ids)}, in that order")
        option_counts = tuple(v for _, v in named)
    return ContestResult(
        entity=entity,
        contest_id=contest_id,
        option_counts=option_counts,
        total=_count(o["total"], f"{path}.total"),
        candidate_totals=_pairs(o["candidate_totals"], f"{path}.candidate_totals", "id"),
        party_distribution=_pairs(o["party_distribution"], f"{path}.party_distribution", "party"),
    )
