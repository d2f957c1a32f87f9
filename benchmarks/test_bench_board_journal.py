"""The board journal's cost per cast (``sivei_server.journal``): the tail check, the line written and
fsync'd under the chain lock, and the confirmation after the commit, for a production-group ballot
of each shape (its line is about the ballot's JSON size); and the start-up comparison of a journal
with the database's head."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from benchmarks import workloads as w
from sivei.ballot.encrypt import EncryptedBallot
from sivei_server.journal import BoardJournal, event_line

Run = Callable[..., Any]
RECEIPT = '{"format":"sivei-recibo","signature":"' + "ab" * 64 + '"}'


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[BoardJournal]:
    j = BoardJournal(tmp_path / "diario.jsonl")
    yield j
    j.close()


def _casts(journal: BoardJournal, ballot_json: str) -> Iterator[Callable[[], None]]:
    """One cast's journal work after another, each continuing the previous."""
    index, head = 0, "00" * 32
    journal.append_event(0, head, event_line(0, "open", head, "01" * 32, datetime.now(UTC), payload={}))
    index, head = 1, "01" * 32
    while True:
        new = f"{index:064x}"
        line = event_line(index, "ballot", head, new, datetime.now(UTC), ballot_json=ballot_json,
                          receipt_json=RECEIPT)

        def one(index: int = index, head: str = head, new: str = new, line: bytes = line) -> None:
            journal.append_event(index, head, line)
            journal.confirm(index, new)

        yield one
        index, head = index + 1, new


@pytest.mark.benchmark(group="server: board journal per cast (tail check, write + fsync, confirmation)")
def test_journal_per_cast(benchmark: Any, run: Run, election: w.Election, cast_ballot: EncryptedBallot,
                          journal: BoardJournal) -> None:
    ballot_json = w.ballot_json_bytes(election, cast_ballot).decode()
    benchmark.extra_info["line_bytes"] = len(ballot_json) + len(RECEIPT) + 300
    casts = _casts(journal, ballot_json)
    run(lambda: next(casts)(), rounds=100)
    assert journal.last_event() is not None


@pytest.mark.benchmark(group="server: board journal, start-up tail read (cold)")
def test_journal_tail_read(benchmark: Any, run: Run, election: w.Election, cast_ballot: EncryptedBallot,
                           journal: BoardJournal) -> None:
    casts = _casts(journal, w.ballot_json_bytes(election, cast_ballot).decode())
    for _ in range(200):
        next(casts)()

    def cold() -> Any:  # as a worker starting up: a new file object, nothing cached
        fresh = BoardJournal(journal.path)
        try:
            return fresh.last_event()
        finally:
            fresh.close()

    last = run(cold, rounds=200)
    assert last is not None and last.index == 200
