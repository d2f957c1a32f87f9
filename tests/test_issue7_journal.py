"""Issue 7, database restore mid-election: the board journal (``sivei_server.journal``) and what the
server does with it after a restore (``sivei_server.recovery``), on a SQLite-file server. The same
on PostgreSQL with pg_dump / pg_restore behind nginx and gunicorn is in test_issue7_restore.py."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from servertools import Setup, election_setup, operator_browser, prepare, stored_counts, voter_browser
from sivei.cli.main import main
from sivei_server import create_app
from sivei_server.db import session_scope
from sivei_server.election import ElectionError
from sivei_server.journal import journal_at, parse_confirmation, parse_header
from sivei_server.models import BoardEventRow, CastBallot
from sivei_server.recovery import (
    ADELANTE,
    AL_DIA,
    DIVERGE,
    SIN_DIARIO,
    check,
    rebuild,
    replay,
    status,
)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    s = election_setup(tmp_path, voters=8)
    prepare(s)
    yield s  # type: ignore[misc]
    s.kit.close()


def _cast(setup: Setup, k: int) -> Any:
    vid = setup.kit.roll[k].voter_id
    return voter_browser(setup.app, vid).post_raw("/api/votar", setup.kit.ballot(vid))


def _head(setup: Setup) -> str:
    return str(setup.app.test_client().get("/api/tablero").get_json()["head"])


def _db(setup: Setup) -> Path:
    return setup.config.data_dir / "sivei.db"


def _backup(setup: Setup, to: Path) -> Path:
    """An online backup of the SQLite database (what a nightly backup would hold)."""
    src, dst = sqlite3.connect(_db(setup)), sqlite3.connect(to)
    src.backup(dst)
    src.close()
    dst.close()
    return to


def _restore(setup: Setup, backup: Path) -> None:
    src, dst = sqlite3.connect(backup), sqlite3.connect(_db(setup))
    src.backup(dst)
    src.close()
    dst.close()


def _journal_lines(setup: Setup) -> list[bytes]:
    return [line for line in setup.config.journal_path.read_bytes().split(b"\n") if line]


def test_every_board_event_is_in_the_journal_and_confirmed(setup: Setup) -> None:
    for k in range(3):
        assert _cast(setup, k).status_code == 201
    op = operator_browser(setup.app)
    assert op.post_json("/api/operacion/evento", {"tipo": "pause", "descripcion": "mantenimiento"}).status_code == 200
    assert op.post_json("/api/operacion/evento", {"tipo": "resume", "descripcion": "listo"}).status_code == 200
    lines = _journal_lines(setup)
    events = [h for h in (parse_header(x) for x in lines) if h is not None]
    confirmed = {c for c in (parse_confirmation(x) for x in lines) if c is not None}
    with session_scope(setup.engine) as s:
        board = [(r.index, r.type, r.head) for r in s.scalars(select(BoardEventRow).order_by(BoardEventRow.index))]
    assert [(e.index, e.type, e.head) for e in events] == board  # open, 3 ballots, pause, resume
    assert {(i, h) for i, _, h in board} == confirmed
    assert [e.previous for e in events[1:]] == [e.head for e in events[:-1]]
    assert status(setup.engine, setup.config).state == AL_DIA


def test_a_restored_database_is_replayed_from_the_journal(setup: Setup, tmp_path: Path) -> None:
    """Backup after one ballot; two more ballots (receipts handed out) and a pause; the database is
    restored from the backup under the running server: the next ballot is refused (503), not cast on
    a chain that forgot two receipts; the replay puts back every event, the board reaches the head an
    observer noted, and voting continues from it."""
    assert _cast(setup, 0).status_code == 201
    backup = _backup(setup, tmp_path / "respaldo.db")
    receipts = [_cast(setup, k).get_json()["receipt"] for k in (1, 2)]
    op = operator_browser(setup.app)
    assert op.post_json("/api/operacion/evento", {"tipo": "incident", "descripcion": "prueba"}).status_code == 200
    noted = _head(setup)
    _restore(setup, backup)
    assert _head(setup) != noted and stored_counts(setup)[0] == 1
    st = status(setup.engine, setup.config)
    assert st.state == ADELANTE and len(st.to_replay) == 3, st

    refused = _cast(setup, 3)
    assert refused.status_code == 503 and refused.get_json()["error"] == "tablero-diario"
    assert stored_counts(setup)[0] == 1  # nothing stored on the forgetful chain

    assert replay(setup.engine, setup.config) == 3
    assert _head(setup) == noted and status(setup.engine, setup.config).state == AL_DIA
    with session_scope(setup.engine) as s:
        stored = {r.chain_index: json.loads(r.receipt_json) for r in s.scalars(select(CastBallot))}
    for r in receipts:
        assert stored[r["index"]] == r  # the very receipt the voter holds, with its ballot
    assert _cast(setup, 3).status_code == 201  # voting continues from the noted head
    # A replayed voter lost their "voted" mark with the restore (the journal names no voter), but
    # their credential is on the board: casting again is refused and nothing is stored.
    before = stored_counts(setup)
    again = _cast(setup, 1)
    assert again.status_code == 409 and again.get_json()["error"] in ("boleta-repetida", "credencial-usada")
    assert stored_counts(setup) == before


def test_the_server_replays_at_start_up(setup: Setup, tmp_path: Path) -> None:
    backup = _backup(setup, tmp_path / "respaldo.db")
    assert _cast(setup, 0).status_code == 201
    noted = _head(setup)
    _restore(setup, backup)
    app = create_app(setup.config)  # a worker starting after the restore
    deadline = time.monotonic() + 30
    while app.test_client().get("/api/tablero").get_json()["head"] != noted:
        assert time.monotonic() < deadline, status(setup.engine, setup.config)
        time.sleep(0.1)
    assert status(setup.engine, setup.config).state == AL_DIA


def test_an_unconfirmed_or_torn_last_line_is_not_replayed(setup: Setup) -> None:
    """A worker killed after writing an event line but before its commit leaves a line without
    confirmation (and perhaps torn): it is no loss — no receipt was handed out — so it is not
    replayed, and the next event supersedes it."""
    assert _cast(setup, 0).status_code == 201
    path = setup.config.journal_path
    lines = _journal_lines(setup)
    ballot_line = next(x for x in lines if (h := parse_header(x)) is not None and h.type == "ballot")
    header = parse_header(ballot_line)
    assert header is not None
    # The same ballot line again at the next index, as if a transaction had died before committing.
    head = _head(setup)
    fake = ballot_line.replace(f'"index":{header.index}'.encode(), f'"index":{header.index + 1}'.encode(), 1)
    fake = fake.replace(header.previous.encode(), head.encode(), 1)
    with path.open("ab") as f:
        f.write(fake + b"\n" + fake[:100])  # and a torn write after it
    journal_at(path).close()
    assert status(setup.engine, setup.config).state == AL_DIA
    assert replay(setup.engine, setup.config) == 0
    assert _cast(setup, 1).status_code == 201  # supersedes the unconfirmed line
    assert status(setup.engine, setup.config).state == AL_DIA


def test_a_tampered_journal_is_not_replayed(setup: Setup, tmp_path: Path) -> None:
    backup = _backup(setup, tmp_path / "respaldo.db")
    assert _cast(setup, 0).status_code == 201
    _restore(setup, backup)
    path = setup.config.journal_path
    text = path.read_text()
    # Another ballot's receipt signature: the line no longer carries the server's signature.
    sig = json.loads(next(x for x in text.splitlines() if '"type":"ballot"' in x))["receipt"]["signature"]
    path.write_text(text.replace(sig, sig[:-2] + ("00" if sig[-2:] != "00" else "01")))
    journal_at(path).close()
    with pytest.raises(ElectionError) as err:
        replay(setup.engine, setup.config)
    assert err.value.code == "diario-invalido" and "recibo" in err.value.es
    assert stored_counts(setup)[0] == 0


def test_a_lost_journal_stops_the_board_until_observers_heads_are_checked(setup: Setup, tmp_path: Path) -> None:
    """The database restored AND its journal lost: the server cannot tell what it lost, so no ballot
    is taken; the rebuild needs the observers' noted heads, refuses when one is not on the board,
    and resumes only with a statement of the loss, which the board then shows."""
    assert _cast(setup, 0).status_code == 201
    early = _head(setup)
    backup = _backup(setup, tmp_path / "respaldo.db")
    lost = _cast(setup, 1).get_json()["receipt"]
    noted = _head(setup)
    _restore(setup, backup)
    setup.config.journal_path.rename(tmp_path / "diario-en-el-disco-perdido.jsonl")
    journal_at(setup.config.journal_path).close()
    assert status(setup.engine, setup.config).state == SIN_DIARIO
    refused = _cast(setup, 2)
    assert refused.status_code == 503 and refused.get_json()["error"] == "tablero-diario"

    _, missing = check(setup.engine, setup.config, [early, noted])
    assert missing == [noted]
    with pytest.raises(ElectionError) as err:
        rebuild(setup.engine, setup.config, [early, noted])
    assert err.value.code == "perdida" and noted in err.value.es
    assert _cast(setup, 2).status_code == 503  # still stopped
    assert main(["servidor", "diario", "comprobar", "--datos", str(setup.config.data_dir),
                 "--cabeza-observada", noted]) == 1

    done = rebuild(setup.engine, setup.config, [early, noted], "Se perdió el final del tablero; vote de nuevo.")
    assert done.missing == [noted]
    events = setup.app.test_client().get("/api/tablero/eventos").get_json()["events"]
    assert events[-1]["type"] == "incident" and "PÉRDIDA" in events[-1]["payload"]["description"]
    assert status(setup.engine, setup.config).state == AL_DIA
    assert _cast(setup, 2).status_code == 201
    # The voter whose ballot was lost is not marked as having voted any more: they can vote again.
    assert _cast(setup, 1).status_code == 201
    with session_scope(setup.engine) as s:
        assert s.scalar(select(func.count()).select_from(CastBallot).where(
            CastBallot.receipt_json.contains(lost["signature"]))) == 0


def test_a_journal_of_another_board_is_never_continued(setup: Setup) -> None:
    assert _cast(setup, 0).status_code == 201
    path = setup.config.journal_path
    forged = path.read_text().splitlines()
    i = next(k for k, x in enumerate(forged) if '"type":"ballot"' in x)
    h = json.loads(forged[i])["head"]
    forged[i] = forged[i].replace(h, "ab" * 32)
    path.write_text("\n".join(forged) + "\n")
    journal_at(path).close()
    assert status(setup.engine, setup.config).state == DIVERGE
    assert _cast(setup, 1).status_code == 503
    assert main(["servidor", "diario", "comprobar", "--datos", str(setup.config.data_dir)]) == 1


def test_a_journal_left_by_another_election_is_never_continued(setup: Setup, tmp_path: Path) -> None:
    """A new election on a server whose journal still holds another board (not set aside when that
    election was archived): the new board is not opened on top of it; once set aside, it opens."""
    assert _cast(setup, 0).status_code == 201
    other = election_setup(tmp_path / "otra", voters=2, board_journal=setup.config.journal_path)
    try:
        op = prepare(other, open_=False)
        assert status(other.engine, other.config).state == DIVERGE
        r = op.post_json("/api/operacion/abrir")
        assert r.status_code == 503 and r.get_json()["error"] == "tablero-diario"
        journal_at(setup.config.journal_path).set_aside(tmp_path / "diario-anterior.jsonl")
        assert op.post_json("/api/operacion/abrir").status_code == 200
        assert status(other.engine, other.config).state == AL_DIA
    finally:
        other.kit.close()
