"""Vote scripts: the votes a drill or a rehearsal casts, so that its results can be reconciled.

A vote script is a CSV file with the header ``entity,contest,option,count`` and one row per option
that gets votes in an entity, e.g. ``JAL,rm-2027,REVOCA,3``. It is read strictly, because a drill
that passes on a misread script proves nothing: a row with more or fewer than four fields (a count
written ``1,915`` splits into two), a count that is not a plain decimal integer (``1.915``, ``+3``,
``3 ``, ``1e3``, ``07``), an unknown entity, contest or option, a contest that is not on that
entity's ballot, or the same option twice — each is refused with its line number, and nothing is
cast. Every contest of an entity's ballot must total the same number of votes, because each voter
votes every contest of their ballot (an unmarked contest is a null vote: script it as the null option).
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sivei.ballot.manifest import Manifest
from sivei.errors import SiveiError
from sivei.i18n import tr

HEADER = ("entity", "contest", "option", "count")
MAX_VOTES = 1_000_000
"""The most votes one script may cast (a drill casts every one of them)."""
MAX_PROBLEMS_SHOWN = 20
_PLAIN_COUNT = re.compile(r"0|[1-9][0-9]{0,6}")

Counts = dict[tuple[str, str], list[int]]


class VoteScriptError(SiveiError):
    """The vote script is malformed or does not fit the manifest; nothing was cast."""


@dataclass(frozen=True)
class VoteScript:
    """The votes per (entity, contest) and option id, and each entity's number of voters."""

    manifest: Manifest
    votes: Mapping[tuple[str, str], Mapping[str, int]]
    voters: Mapping[str, int]

    @property
    def total_voters(self) -> int:
        return sum(self.voters.values())

    def expected_counts(self) -> Counts:
        """Counts per option in option order for every (entity, contest) the manifest's styles call
        for: what the decrypted tally must equal."""
        counts: Counts = {}
        for entity in self.manifest.entities:
            for _, contest in self.manifest.style_contests(entity.ballot_style):
                row = [0] * len(contest.options)
                for option, n in self.votes.get((entity.code, contest.id), {}).items():
                    row[contest.option_index(option)] = n
                counts[(entity.code, contest.id)] = row
        return counts

    def ballots(self, seed: int = 0) -> dict[str, list[dict[str, str]]]:
        """One choice map per voter, per entity: the scripted options dealt to the entity's voters
        in a shuffled order (so that a voter's choices across contests are not correlated)."""
        rng = random.Random(seed)  # noqa: S311 - shuffles scripted votes, not a secret
        out: dict[str, list[dict[str, str]]] = {}
        for entity in self.manifest.entities:
            n = self.voters.get(entity.code, 0)
            if not n:
                continue
            ballots: list[dict[str, str]] = [{} for _ in range(n)]
            for contest_id in self.manifest.style(entity.ballot_style).contests:
                options = [opt for opt, c in sorted(self.votes.get((entity.code, contest_id), {}).items())
                           for _ in range(c)]
                rng.shuffle(options)
                for ballot, option in zip(ballots, options, strict=True):
                    ballot[contest_id] = option
            out[entity.code] = ballots
        return out


def read_vote_script(path: Path, manifest: Manifest) -> VoteScript:
    """Read and check a vote script against ``manifest``; every problem is reported with its line."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise VoteScriptError(tr(f"no se puede leer el guion de votos {path}: {exc.strerror or exc}",
                                 f"cannot read the vote script {path}: {exc.strerror or exc}")) from None
    except UnicodeDecodeError as exc:
        raise VoteScriptError(tr(f"{path}: no es texto UTF-8 (byte {exc.start}); guárdelo como CSV UTF-8",
                                 f"{path}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8")) from None
    return parse_vote_script(text, manifest, path.name)


def parse_vote_script(text: str, manifest: Manifest, source: str = "guion") -> VoteScript:
    problems: list[str] = []

    def problem(lineno: int, es: str, en: str) -> None:
        problems.append(tr(f"{source}, línea {lineno}: {es}", f"{source}, line {lineno}: {en}"))

    try:
        rows = list(csv.reader(text.splitlines(), strict=True))
    except csv.Error as exc:
        raise VoteScriptError(tr(f"{source}: CSV mal formado: {exc}", f"{source}: malformed CSV: {exc}")) from None
    if not rows or tuple(f.strip() for f in rows[0]) != HEADER:
        raise VoteScriptError(tr(f"{source}, línea 1: el encabezado debe ser exactamente {','.join(HEADER)}",
                                 f"{source}, line 1: the header must be exactly {','.join(HEADER)}"))
    votes: dict[tuple[str, str], dict[str, int]] = {}
    first_line: dict[tuple[str, str, str], int] = {}
    total = 0
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        if len(row) != len(HEADER):
            hint_es = hint_en = ""
            if len(row) > len(HEADER):
                hint_es = " (¿un conteo con separador de miles, como «1,915»? escríbalo 1915)"
                hint_en = " (a count with a thousands separator, such as «1,915»? write it 1915)"
            problem(lineno, f"tiene {len(row)} campos y se esperan 4 ({','.join(HEADER)}){hint_es}",
                    f"has {len(row)} fields and 4 are expected ({','.join(HEADER)}){hint_en}")
            continue
        entity, contest_id, option, count_text = (f.strip() for f in row)
        if not _PLAIN_COUNT.fullmatch(count_text):
            problem(lineno, f"el conteo {count_text!r} no es un entero simple (solo dígitos, sin separadores, "
                            "signos, decimales ni ceros a la izquierda)",
                    f"the count {count_text!r} is not a plain integer (digits only, no separators, signs, "
                    "decimals or leading zeros)")
            continue
        try:
            style = manifest.style_for_entity(entity)
            contest = manifest.contest(contest_id)
            contest.option_index(option)
        except SiveiError as exc:
            problem(lineno, str(exc), str(exc))
            continue
        if contest_id not in style.contests:
            problem(lineno, f"la contienda {contest_id} no está en la boleta de {entity}",
                    f"contest {contest_id} is not on {entity}'s ballot")
            continue
        key = (entity, contest_id, option)
        if key in first_line:
            problem(lineno, f"{entity},{contest_id},{option} ya está en la línea {first_line[key]}",
                    f"{entity},{contest_id},{option} is already on line {first_line[key]}")
            continue
        first_line[key] = lineno
        count = int(count_text)
        total += count
        votes.setdefault((entity, contest_id), {})[option] = count
    if total > MAX_VOTES:
        problems.append(tr(f"{source}: {total} votos; un guion admite hasta {MAX_VOTES}",
                           f"{source}: {total} votes; a script allows up to {MAX_VOTES}"))
    voters: dict[str, int] = {}
    if not problems:
        for ent in manifest.entities:
            style = manifest.style(ent.ballot_style)
            totals = {cid: sum(votes.get((ent.code, cid), {}).values()) for cid in style.contests}
            if not any(totals.values()):
                continue
            if len(set(totals.values())) != 1:
                detail = ", ".join(f"{cid}={n}" for cid, n in totals.items())
                problems.append(tr(
                    f"{source}: en {ent.code} cada contienda de la boleta debe sumar los mismos votos "
                    f"(cada votante vota todas; un voto en blanco es NULO): {detail}",
                    f"{source}: in {ent.code} every contest on the ballot must total the same votes (each "
                    f"voter votes them all; a blank vote is the null option): {detail}"))
                continue
            voters[ent.code] = next(iter(totals.values()))
        if not problems and not voters:
            problems.append(tr(f"{source}: el guion no tiene votos", f"{source}: the script has no votes"))
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        if len(problems) > len(shown):
            shown.append(tr(f"… y {len(problems) - len(shown)} problemas más",
                            f"… and {len(problems) - len(shown)} more problems"))
        raise VoteScriptError(tr("el guion de votos no es válido; no se emitió ningún voto:\n  ",
                                 "the vote script is not valid; no vote was cast:\n  ") + "\n  ".join(shown))
    return VoteScript(manifest, votes, voters)
