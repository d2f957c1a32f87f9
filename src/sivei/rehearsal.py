"""The key-holders' rehearsal of election night (ensayo), on their own tokens.

The real election's key — its H_B, its sealed shares, its acts — is bound to the real election and
must never decrypt test ballots. A rehearsal is therefore a second, complete key ceremony by the same
key-holders with the same tokens, under a rehearsal election (``ensayo-…``, ``rehearsal_manifest``)
whose ids every envelope, seal and act carries. Then, in order:

1. ``rehearsal_roll``: one invented voter per scripted ballot (plus abstainers, for turnout), the
   roll the credential authority rehearses with (``sivei credenciales generar`` / ``publicar``);
2. the opening act of the rehearsal, drafted and signed by all n key-holders with their tokens;
3. ``cast_rehearsal``: the scripted ballots encrypted against the rehearsal's joint key and signed
   with the voters' credentials, cast on a board that is closed at once (the rehearsal's window is
   short, so the board closes "within the hour" instead of after two weeks) and written as a closed
   record — exactly what the voting server exports after the close;
4. the closing act, the vault opening by any t key-holders with their tokens and PINs, and the
   combination, with the real ceremony commands;
5. ``reconcile``: the published results against the script, to the vote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import (
    CredentialList,
    Delivery,
    RollEntry,
    credential_public_key,
    parse_credential,
)
from sivei.ballot.manifest import Manifest, parse_manifest_bytes
from sivei.crypto.fingerprint import fingerprint
from sivei.crypto.group import GROUPS, TEST_GROUP, Group
from sivei.drill import Say, context_from_ceremony, run_voting
from sivei.election_kind import check_kind, derived_manifest
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei.integrity import IntegrityConstancia, installation_constancia
from sivei.record import layout
from sivei.record.acts import OPENING, SignedAct, guardian_keys_by_name, opening_act
from sivei.record.ceremony_io import parse_ceremony
from sivei.record.writer import write_closed_record
from sivei.tally.aggregate import aggregate
from sivei.tally.results import ElectionResults
from sivei.vote_script import VoteScript

DEFAULT_MINUTES = 60
SETUP_FILE = "ceremonia.json"
"""The key ceremony's setup in its exchange folder (written by ``sivei ceremonia llaves preparar``)."""


class RehearsalError(SiveiError):
    """The rehearsal's inputs are missing, inconsistent or not a rehearsal's; nothing was written."""


def rehearsal_manifest(real: Manifest, *, opens: datetime | None = None,
                       minutes: int = DEFAULT_MINUTES) -> Manifest:
    """The rehearsal of ``real``: the same contests and ballots, under ``ensayo-<id>`` and «ENSAYO — …»,
    with a voting window of ``minutes`` from ``opens`` (now, by default)."""
    if not 1 <= minutes <= 24 * 60:
        raise RehearsalError(tr("la ventana del ensayo debe durar entre 1 minuto y 24 horas",
                                "the rehearsal's window must last between 1 minute and 24 hours"))
    start = (opens or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0)
    return derived_manifest(real, "rehearsal", opens=start, closes=start + timedelta(minutes=minutes))


def rehearsal_roll(script: VoteScript, *, abstaining: int = 0) -> list[RollEntry]:
    """One invented voter per scripted ballot of each entity, plus ``abstaining`` per entity with
    votes who will not vote (so that turnout is below 100 %)."""
    if abstaining < 0:
        raise RehearsalError(tr("las abstenciones no pueden ser negativas", "abstentions cannot be negative"))
    roll = []
    for entity in script.manifest.entities:
        n = script.voters.get(entity.code, 0)
        if not n:
            continue
        for k in range(1, n + abstaining + 1):
            voter_id = f"ENSAYO-{entity.code}-{k:06d}"
            roll.append(RollEntry(voter_id, entity.code, f"Votante de ensayo {entity.code} {k}",
                                  f"ensayo.{entity.code.lower()}.{k}@ensayo.invalid"))
    return roll


def roll_csv(roll: Sequence[RollEntry]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["voter_id", "entity", "name", "email"])
    for v in roll:
        writer.writerow([v.voter_id, v.entity, v.name, v.email])
    return out.getvalue()


# -- the ceremony's outcome -------------------------------------------------------------------------


@dataclass(frozen=True)
class RehearsalElection:
    """A verified rehearsal key ceremony with its credential list and signed opening act."""

    ctx: ElectionContext
    ceremony_id: str
    n: int
    t: int
    rounds: tuple[tuple[Any, ...], ...]
    credential_list: CredentialList
    opening: SignedAct
    constancia: IntegrityConstancia


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RehearsalError(tr(f"no se puede leer {path}: {exc.strerror or exc}",
                                f"cannot read {path}: {exc.strerror or exc}")) from None


def _json(path: Path) -> Any:
    import json

    try:
        return json.loads(_read(path).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RehearsalError(tr(f"{path}: JSON no válido ({exc})", f"{path}: invalid JSON ({exc})")) from None


def load_ceremony_folder(folder: Path, *, allow_test_group: bool) -> tuple[Group, Manifest]:
    """The group and manifest of a key ceremony's exchange folder, refused at once unless it is a
    rehearsal's: this module never casts ballots under the real election's key."""
    setup = _json(folder / SETUP_FILE)
    if not isinstance(setup, dict) or not isinstance(setup.get("election_id"), str):
        raise RehearsalError(tr(f"{folder / SETUP_FILE}: no es la preparación de una ceremonia de llaves",
                                f"{folder / SETUP_FILE}: not the setup of a key ceremony"))
    check_kind(setup["election_id"], "rehearsal", str(folder / SETUP_FILE))
    try:
        manifest = parse_manifest_bytes(_read(folder / layout.MANIFEST), str(folder / layout.MANIFEST))
    except SiveiError as exc:
        raise RehearsalError(str(exc)) from None
    check_kind(manifest.election_id, "rehearsal", str(folder / layout.MANIFEST))
    if manifest.election_id != setup["election_id"] or setup.get("manifest_hash") != manifest.hash.hex():
        raise RehearsalError(tr(f"{folder}: {SETUP_FILE} y {layout.MANIFEST} no son de la misma elección",
                                f"{folder}: {SETUP_FILE} and {layout.MANIFEST} are not of the same election"))
    group_name = setup.get("group")
    group = GROUPS.get(group_name) if isinstance(group_name, str) else None
    if group is None:
        raise RehearsalError(tr(f"{folder / SETUP_FILE}: grupo desconocido", f"{folder / SETUP_FILE}: unknown group"))
    if group is TEST_GROUP and not allow_test_group:
        raise RehearsalError(tr("la ceremonia usa el grupo de prueba; solo se acepta con --test-group",
                                "the ceremony uses the test group; it is accepted only with --test-group"))
    return group, manifest


def load_rehearsal(folder: Path, credentials: Path, opening_path: Path, *, constancia: Path | None = None,
                   allow_test_group: bool) -> RehearsalElection:
    """Verify the rehearsal ceremony's transcript, its credential list and its opening act (signed by
    all n key-holders, every value recomputed) before anything is cast."""
    group, manifest = load_ceremony_folder(folder, allow_test_group=allow_test_group)
    try:
        ceremony_id, n, t, rounds = parse_ceremony(_json(folder / layout.CEREMONY))
        credential_list = CredentialList.read(credentials, manifest)
        ctx, outcome = context_from_ceremony(group, manifest, ceremony_id, n, t, rounds, credential_list)
        opening = SignedAct.from_json(_json(opening_path), str(opening_path))
    except SiveiError as exc:
        raise RehearsalError(str(exc)) from None
    check_kind(opening.election_id, "rehearsal", str(opening_path))
    if opening.type != OPENING:
        raise RehearsalError(tr(f"{opening_path}: no es un acta de inicio", f"{opening_path}: not an opening act"))
    body = opening.body
    try:
        receipt_key = bytes.fromhex(str(body.get("receipt_key")))
        digest = bytes.fromhex(str(body.get("integrity_digest")))
    except ValueError:
        raise RehearsalError(tr(f"{opening_path}: llave de recibos o constancia ilegible",
                                f"{opening_path}: unreadable receipt key or constancia")) from None
    mine = opening_act(ctx, credential_list=credential_list, ceremony_id=ceremony_id, n=n, t=t, rounds=rounds,
                       signing_keys=outcome.signing_keys, receipt_key=receipt_key, integrity_digest=digest)
    differing = sorted(k for k in set(mine.body) | set(body) if mine.body.get(k) != body.get(k))
    if differing:
        raise RehearsalError(tr(f"{opening_path}: el acta de inicio no corresponde a la ceremonia y a la lista de "
                                f"credenciales; campos distintos: {', '.join(differing)}",
                                f"{opening_path}: the opening act does not match the ceremony and the credential "
                                f"list; differing fields: {', '.join(differing)}"))
    problems = opening.signature_problems(guardian_keys_by_name(outcome.signing_keys), required=n,
                                          what=opening_path.name)
    if problems:
        raise RehearsalError(tr("el acta de inicio no tiene las firmas de todos los custodios:\n  ",
                                "the opening act lacks the signatures of every key-holder:\n  ")
                             + "\n  ".join(problems))
    installed = IntegrityConstancia.load(constancia) if constancia is not None else installation_constancia()
    if installed.digest != digest:
        raise RehearsalError(tr(
            f"la constancia de integridad ({installed.fingerprint}) no es la que nombra el acta de inicio "
            f"({fingerprint(digest)}): indique con --constancia la que se usó al redactarla",
            f"the integrity constancia ({installed.fingerprint}) is not the one the opening act names "
            f"({fingerprint(digest)}): give the one used to draft it with --constancia"))
    return RehearsalElection(ctx, ceremony_id, n, t, rounds, credential_list, opening, installed)


def read_deliveries(path: Path, election: RehearsalElection) -> list[Delivery]:
    """The credential authority's mail-merge file (``voter_id,name,email,entity,credential``), each
    credential checked against the rehearsal's signed list."""
    try:
        text = _read(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RehearsalError(tr(f"{path}: no es UTF-8", f"{path}: not UTF-8")) from None
    reader = csv.DictReader(text.splitlines())
    columns = ("voter_id", "name", "email", "entity", "credential")
    if reader.fieldnames is None or not set(columns) <= set(reader.fieldnames):
        raise RehearsalError(tr(f"{path}, línea 1: el encabezado debe tener las columnas {','.join(columns)}",
                                f"{path}, line 1: the header must have the columns {','.join(columns)}"))
    manifest = election.ctx.manifest
    out = []
    for lineno, row in enumerate(reader, start=2):
        if any(row.get(c) is None for c in columns):
            raise RehearsalError(tr(f"{path}, línea {lineno}: faltan campos", f"{path}, line {lineno}: missing fields"))
        voter_id, name, email, entity, credential = (row[c] for c in columns)
        try:
            key = credential_public_key(manifest.election_id, parse_credential(credential))
            style = manifest.style_for_entity(entity).id
        except SiveiError as exc:
            raise RehearsalError(f"{path}, línea {lineno}: {exc}") from None
        if election.credential_list.style_of(key) != style:
            raise RehearsalError(tr(f"{path}, línea {lineno}: la credencial de {voter_id} no está en la lista firmada "
                                    f"del ensayo con el estilo de {entity}",
                                    f"{path}, line {lineno}: {voter_id}'s credential is not on the rehearsal's signed "
                                    f"list with {entity}'s style"))
        out.append(Delivery(voter_id, name, email, entity, credential))
    return out


@dataclass(frozen=True)
class CastOutcome:
    record: Path
    ballots: int
    registered: int
    head: bytes
    noted_head: bytes | None


def cast_rehearsal(election: RehearsalElection, deliveries: Sequence[Delivery], script: VoteScript,
                   output: Path, say: Say) -> CastOutcome:
    """Cast the script's ballots with the rehearsal voters' credentials, close the board and write
    the closed record (no closing act yet: the key-holders sign it next)."""
    ctx = election.ctx
    if script.manifest.hash != ctx.manifest.hash:
        raise RehearsalError(tr("el guion se leyó con otro manifiesto", "the script was read with another manifest"))
    if output.exists():
        raise RehearsalError(tr(f"{output} ya existe: no se sobrescribe", f"{output} already exists: not overwritten"))
    ballots = script.ballots()
    by_entity: dict[str, list[Delivery]] = {}
    for d in deliveries:
        by_entity.setdefault(d.entity, []).append(d)
    roll: list[RollEntry] = []
    choices: list[dict[str, str]] = []
    for entity, entity_ballots in ballots.items():
        available = by_entity.get(entity, [])
        if len(available) < len(entity_ballots):
            raise RehearsalError(tr(f"el guion tiene {len(entity_ballots)} votantes en {entity} y las entregas solo "
                                    f"{len(available)} credenciales",
                                    f"the script has {len(entity_ballots)} voters in {entity} and the deliveries only "
                                    f"{len(available)} credentials"))
        for d, choice in zip(available, entity_ballots, strict=False):
            roll.append(RollEntry(d.voter_id, d.entity, d.name, d.email))
            choices.append(choice)
    say(tr(f"Ensayo «{ctx.manifest.name}»: {len(roll)} boletas del guion, {len(election.credential_list)} "
           "credenciales en la lista",
           f"Rehearsal «{ctx.manifest.name}»: {len(roll)} scripted ballots, {len(election.credential_list)} "
           "credentials on the list"))
    board, noted = run_voting(ctx, election.credential_list, deliveries, roll, choices, challenges=0, say=say,
                              incident=False)
    tally = aggregate(ctx, (e.ballot for e in board.events if e.ballot is not None))
    path = write_closed_record(output, ctx, ceremony_id=election.ceremony_id, n=election.n, t=election.t,
                               rounds=election.rounds, credential_list=election.credential_list,
                               events=board.events, tally=tally, opening=election.opening, closing=None,
                               constancia=election.constancia)
    return CastOutcome(path, len(roll), len(election.credential_list), board.events[-1].head,
                       noted[0] if noted else None)


# -- reconciliation ---------------------------------------------------------------------------------


def reconcile(results: ElectionResults, script: VoteScript) -> list[str]:
    """Every (entity, contest, option) whose published count differs from the script's."""
    manifest = script.manifest
    if results.manifest_hash != manifest.hash:
        return [tr("los resultados son de otro manifiesto que el guion", "the results are of another manifest")]
    expected = script.expected_counts()
    out = []
    for r in results.contests:
        want = expected.get((r.entity, r.contest_id))
        if want is None:
            continue
        contest = manifest.contest(r.contest_id)
        for option, a, b in zip(contest.options, want, r.option_counts, strict=True):
            if a != b:
                out.append(tr(f"{r.entity}/{r.contest_id}/{option.id}: guion {a}, resultados {b}",
                              f"{r.entity}/{r.contest_id}/{option.id}: script {a}, results {b}"))
    return out
