"""Practice elections and drills on the voting server: one election at a time, in sequence.

INE's calendar runs them one after the other: drills with citizens months before, the practice
election (socialización) in the ~12 days before voting opens, then the real election. So the server
holds ONE election at a time — the same tables, login and booth — and each election that is not the
real one carries its kind in its id (``practica-…``, ``simulacro-…``; ``sivei.election_kind``) and
therefore in its manifest, key ceremony, credential list, acts, ballots, receipts and record: no file
of one can be taken for the other's, and every page shows a banner (``views.archive``).

When a practice election or a drill is over (board closed; a drill may also have been published),
``archive_and_reset`` makes room for the next election:

1. writes its record — the published one for a drill that was counted, else the record imported after
   the close (with the key-holders' closing act, if they signed one), else the closed record — as a
   file in ``archivo/`` of the data directory, public on ``/archivo`` like the board it came from;
2. keeps a row in ``archived_elections`` with its id, kind, window, final head, counts and turnout
   aggregates (never a voter);
3. empties the election tables (board, ballots, α, late ballots, sealed tokens, the election's files)
   and clears every voter's ``voted`` flag and voter sessions, and sets its board journal aside, so
   the next election starts from an empty board; the voters' accounts (login, password, second
   factor) stay — the practice is where voters first use them — unless the operator also drops the
   roll (a drill with volunteers).

The real election is never archived or reset: its board is only ever closed, exported and published.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from sivei.election_kind import kind_of
from sivei_server import election as el
from sivei_server import turnout
from sivei_server.config import ServerConfig
from sivei_server.db import serialized, session_scope
from sivei_server.journal import journal_at
from sivei_server.models import (
    STATE_CLOSED,
    STATE_PUBLISHED,
    ArchivedElection,
    Artifact,
    BallotAlpha,
    BoardEventRow,
    CastBallot,
    ChainHead,
    Election,
    KioskSession,
    LateBallot,
    OneTimeCode,
    SealedToken,
    ServedVoter,
    Voter,
    WebSession,
)

ARCHIVE_DIR = "archivo"
KINDS = {"practice": "practice", "drill": "drill"}


def archive_dir(config: ServerConfig) -> Path:
    return config.data_dir / ARCHIVE_DIR


def _refuse_real(election_id: str) -> str:
    kind = kind_of(election_id)
    if kind not in KINDS:
        raise el.ElectionError(409, "eleccion-real",
                               f"«{election_id}» es la elección real: nunca se archiva ni se reinicia; su tablero "
                               "solo se cierra, se exporta y se publica.",
                               f"«{election_id}» is the real election: it is never archived or reset; its board "
                               "is only closed, exported and published.")
    return kind


def archive_and_reset(engine: Engine, config: ServerConfig, operator_id: int | None, *,
                      drop_roll: bool = False) -> ArchivedElection:
    """Archive the practice election or drill in the server's slot and empty the slot (see above)."""
    with session_scope(engine) as s:
        row = el._require_state(s, STATE_CLOSED, STATE_PUBLISHED)
        kind = _refuse_real(row.election_id)
        election_id, published = row.election_id, row.state == STATE_PUBLISHED
    # The record: the published one (a counted drill); else the one the operator imported after the
    # close (the key-holders' closing act, perhaps a decryption); else the closed record exported now.
    source = config.data_dir / el.PUBLISHED_ARCHIVE if published else None
    if source is None or not source.is_file():
        imported = el.imported_record(config)
        source = el._tar(imported, config.data_dir / "registro-archivado.tar.gz") if imported is not None \
            else el.export_closed_record(engine, config, operator_id)
    target_dir = archive_dir(config)
    target_dir.mkdir(parents=True, exist_ok=True)
    with session_scope(engine) as s:
        number = (s.scalar(select(func.count()).select_from(ArchivedElection)) or 0) + 1
    name = f"{number:02d}-{election_id}.tar.gz"
    partial = target_dir / f".{name}.tmp"
    shutil.copyfile(source, partial)
    partial.replace(target_dir / name)
    digest = el._sha256((target_dir / name).read_bytes())
    with serialized(engine) as s:
        row2 = el._require_state(s, STATE_CLOSED, STATE_PUBLISHED)
        if row2.election_id != election_id:
            raise el.ElectionError(409, "cambio", "La elección cambió mientras se archivaba.",
                                   "The election changed while it was being archived.")
        head = s.get(ChainHead, 1)
        manifest = el.stored_manifest(s)
        act = el.get_artifact(s, el.OPENING_ACT)
        counts = turnout.compute(s, manifest)
        late = s.scalar(select(func.count()).select_from(LateBallot)) or 0
        archived = ArchivedElection(
            election_id=election_id, kind=KINDS[kind], name=manifest.name if manifest else election_id,
            manifest_hash=row2.manifest_hash,
            election_hash=json.loads(act)["body"]["election_hash"] if act is not None else None,
            voting_opens=row2.voting_opens, voting_closes=row2.voting_closes, opened_at=row2.opened_at,
            closed_at=row2.closed_at, final_head=head.head if head is not None else None,
            cast_count=head.cast_count if head is not None else 0, late_count=int(late), published=published,
            summary_json=json.dumps({"turnout": counts.to_json()}), record_file=name, record_sha256=digest,
            operator_id=operator_id)
        s.add(archived)
        voters = s.scalar(select(func.count()).select_from(Voter)) or 0
        s.execute(delete(BallotAlpha))
        s.execute(delete(CastBallot))
        s.execute(delete(BoardEventRow))
        s.execute(delete(ChainHead))
        s.execute(delete(LateBallot))
        s.execute(delete(SealedToken))
        s.execute(delete(KioskSession))
        s.execute(delete(ServedVoter))
        s.execute(delete(Artifact))
        s.execute(delete(WebSession).where(WebSession.kind == "voter"))
        if drop_roll:
            s.execute(delete(OneTimeCode).where(OneTimeCode.kind == "voter"))
            s.execute(delete(Voter))
        else:
            s.execute(update(Voter).values(voted=False, voted_on=None))
        s.execute(delete(Election))
        # Its board journal goes aside with it (before the commit: a journal left behind would be
        # taken for the next board's); the next election starts an empty one.
        journal = config.journal_path
        journal_at(journal).set_aside(journal.with_name(f"{journal.name}.{number:02d}-{election_id}"))
        el.audit(s, operator_id, "election.archive",
                 f"{election_id}: {archived.cast_count} boletas; registro {name} sha256 {digest}; "
                 + (f"padrón eliminado ({voters} votantes)" if drop_roll else f"cuentas conservadas ({voters})"))
        s.flush()
        s.expunge(archived)
    for leftover in (el.CLOSED_DIR, f"{el.CLOSED_DIR}.tar.gz", el.IMPORTED_DIR, el.PUBLISHED_DIR,
                     el.PUBLISHED_ARCHIVE, "resultados-publicados", "registro-archivado.tar.gz"):
        path = config.data_dir / leftover
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    return archived


def archived(engine: Engine) -> list[ArchivedElection]:
    with session_scope(engine) as s:
        rows = list(s.scalars(select(ArchivedElection).order_by(ArchivedElection.id)))
        for r in rows:
            s.expunge(r)
    return rows


def archived_file(config: ServerConfig, engine: Engine, number: int) -> tuple[ArchivedElection, Path] | None:
    with session_scope(engine) as s:
        row = s.get(ArchivedElection, number)
        if row is None or row.record_file is None:
            return None
        s.expunge(row)
    path = archive_dir(config) / row.record_file
    return (row, path) if path.is_file() else None


def current_kind(s: Session) -> str | None:
    """The kind of the election in the slot (``real``, ``practice``, ``drill``…), or None."""
    row = s.get(Election, 1)
    return kind_of(row.election_id) if row is not None else None
