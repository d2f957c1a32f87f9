"""What kind of election an id names: the real one, a rehearsal, a practice election or a drill.

The real election's key, acts and record must never be mixed up with those of a rehearsal by the
same key-holders (``ensayo-…``), of the practice election voters try before voting
(``practica-…``) or of a drill (``simulacro-…``). So every election that is not the real one
carries its kind in its election id — which every act, envelope, sealed share, ballot and record
names and hashes — and in its name, which every screen and printout shows. The real election's
tools refuse the files of another kind at once, from the id in the file's first bytes, before any
long check; the rehearsal's tools refuse the real election's files the same way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Literal

from sivei.ballot.manifest import ELECTION_ID_RE, Manifest
from sivei.errors import SiveiError
from sivei.i18n import tr

ElectionKind = Literal["real", "rehearsal", "practice", "drill"]

PREFIXES: dict[ElectionKind, str] = {"rehearsal": "ensayo-", "practice": "practica-", "drill": "simulacro-"}
FLAGS: dict[ElectionKind, str] = {"rehearsal": "--ensayo", "practice": "--practica", "drill": "--simulacro"}
"""The option of the ceremony tools (and ``sivei resultados``) that works on files of that kind."""


class ElectionKindError(SiveiError):
    """A file of one kind of election was given to the tools of another."""


def kind_of(election_id: str) -> ElectionKind:
    for kind, prefix in PREFIXES.items():
        if election_id.startswith(prefix):
            return kind
    return "real"


def kind_name(kind: ElectionKind) -> str:
    return {
        "real": tr("la elección real", "the real election"),
        "rehearsal": tr("un ENSAYO", "a REHEARSAL"),
        "practice": tr("la elección de PRÁCTICA", "the PRACTICE election"),
        "drill": tr("un SIMULACRO", "a DRILL"),
    }[kind]


def banner(election_id: str) -> str | None:
    """The line every screen, act and report of a non-real election carries; None for the real one."""
    kind = kind_of(election_id)
    if kind == "real":
        return None
    word = {"rehearsal": tr("ENSAYO", "REHEARSAL"), "practice": tr("PRÁCTICA", "PRACTICE"),
            "drill": tr("SIMULACRO", "DRILL")}[kind]
    return tr(f"*** {word} — NO ES LA ELECCIÓN REAL ({election_id}); sus resultados no son oficiales ***",
              f"*** {word} — NOT THE REAL ELECTION ({election_id}); its results are not official ***")


def check_kind(election_id: str, expected: ElectionKind, where: str) -> None:
    """Refuse a file of another kind of election than ``expected``, naming both."""
    found = kind_of(election_id)
    if found == expected:
        return
    if expected == "real":
        flag = FLAGS.get(found, "--ensayo")
        hint = tr(f"use las herramientas con {flag} con los archivos de {kind_name(found)}",
                  f"use the tools with {flag} with the files of {kind_name(found)}")
    else:
        hint = tr(f"con {FLAGS[expected]} solo se aceptan archivos cuyo identificador empieza por "
                  f"«{PREFIXES[expected]}»",
                  f"with {FLAGS[expected]} only files whose id starts with «{PREFIXES[expected]}» are accepted")
    raise ElectionKindError(tr(
        f"{where}: es de {kind_name(found)} («{election_id}»), no de {kind_name(expected)}; se rehúsa sin "
        f"revisar nada más: {hint}",
        f"{where}: belongs to {kind_name(found)} («{election_id}»), not {kind_name(expected)}; refused without "
        f"checking anything else: {hint}"))


def derived_manifest(manifest: Manifest, kind: ElectionKind, *, opens: datetime | None = None,
                     closes: datetime | None = None) -> Manifest:
    """The manifest of a rehearsal, practice election or drill of ``manifest``: the same contests and
    ballots under an id and a name that say what it is, and its own voting window if given."""
    if kind == "real":
        raise ElectionKindError(tr("un manifiesto derivado no puede ser el de la elección real",
                                   "a derived manifest cannot be the real election's"))
    if kind_of(manifest.election_id) != "real":
        raise ElectionKindError(tr(f"el manifiesto ya es de {kind_name(kind_of(manifest.election_id))} "
                                   f"(«{manifest.election_id}»): derive del manifiesto de la elección real",
                                   f"the manifest already belongs to {kind_name(kind_of(manifest.election_id))} "
                                   f"(«{manifest.election_id}»): derive from the real election's manifest"))
    election_id = PREFIXES[kind] + manifest.election_id
    if not ELECTION_ID_RE.fullmatch(election_id):
        raise ElectionKindError(tr(
            f"el identificador «{election_id}» es demasiado largo: acorte el de la elección real",
            f"the id «{election_id}» is too long: shorten the real election's"))
    word = {"rehearsal": "ENSAYO", "practice": "PRÁCTICA", "drill": "SIMULACRO"}[kind]
    return replace(manifest, election_id=election_id, name=f"{word} — {manifest.name}",
                   voting_opens=opens or manifest.voting_opens, voting_closes=closes or manifest.voting_closes)
