"""Issue 7, a database restored from backup mid-election, on the production stack (nginx + gunicorn
+ PostgreSQL on loopback, ``pg_dump`` / ``pg_restore``), in this order on one election:

1. with the board journal: dump, more ballots, restore, restart → the workers replay the journal,
   the board reaches the head an observer noted, every receipt is on it, voting continues;
2. with the journal lost too: dump, more ballots, restore, restart → every ballot is refused, the
   rebuild is refused because the observer's head is missing, and only a statement of the loss —
   published on the board — resumes voting;
3. after the close, the invariants and ``sivei verificar`` on the record: every kept receipt and
   noted head checks; the lost receipts and the lost head fail, each of them.

PostgreSQL from ``.ci/postgres.sh``; without it the tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from sivei_server import carga
from test_issue7_stack import _admin_url, _reachable

BEFORE, AFTER, THEN, LOST, LATER = 6, 5, 3, 3, 2
CLOSES_IN = 75.0


@dataclass
class Election:
    st: carga.Stack
    groups: dict[str, list[str]]
    receipts: list[dict[str, Any]] = field(default_factory=list)
    noted: list[str] = field(default_factory=list)
    replayed: int = 0
    lost: carga.LossFigures | None = None


@pytest.fixture(scope="module")
def election() -> Iterator[Election]:
    admin = _admin_url()
    if not _reachable(admin):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {admin} (.ci/postgres.sh starts it)")
        pytest.skip(f"PostgreSQL is not reachable at {admin}; run .ci/postgres.sh")
    total = BEFORE + AFTER + THEN + LOST + LATER
    with carga.stack(admin, total, closes_in=CLOSES_IN, grace=2.0, say=lambda _: None) as st:
        ids = [v.voter_id for v in st.kit.roll]
        groups, k = {}, 0
        for name, n in (("before", BEFORE), ("after", AFTER), ("then", THEN), ("lost", LOST), ("later", LATER)):
            groups[name], k = ids[k:k + n], k + n
        first = carga.load(st, groups["before"], clients=3, say=lambda _: None)
        assert len(first.receipts) == BEFORE
        yield Election(st, groups, list(first.receipts))


def test_issue7_restore_replays_the_board_journal(election: Election) -> None:
    st = election.st
    figures = carga.restore_with_journal(st, election.groups["after"], election.groups["then"], clients=3,
                                         say=lambda _: None)
    assert figures.after_dump == AFTER and figures.restored_at == BEFORE  # the restored database forgot them
    assert figures.head_after_restart == figures.noted  # the same chain, up to the observer's head
    assert figures.continued == THEN
    election.receipts += figures.receipts
    election.noted.append(figures.noted)
    election.replayed = AFTER
    inv = carga.invariants(st, election.receipts, verify=False)
    assert not inv.missing and inv.duplicates == 0 and inv.rows == inv.events == BEFORE + AFTER + THEN
    # The journal names no voter: the replayed ballots' voters lost their "voted" mark with the
    # restore (their credentials, on the board, still allow no second ballot).
    assert inv.voted == inv.rows - AFTER


def test_issue7_restore_without_the_journal_is_never_silent(election: Election) -> None:
    st = election.st
    figures = carga.restore_without_journal(st, election.groups["lost"], election.groups["later"], clients=3,
                                            say=lambda _: None)
    assert figures.after_dump == LOST
    assert (figures.refused_status, figures.refused_code) == (503, "tablero-diario")
    assert figures.missing == [figures.noted] and figures.rebuild_refused == "perdida"
    events = carga.Client(st.base).json("GET", f"/api/tablero/eventos?desde={figures.incident_index}")["events"]
    assert events[0]["type"] == "incident" and "PÉRDIDA" in events[0]["payload"]["description"]
    assert figures.continued == LATER + LOST  # the voters whose ballots were lost voted again
    election.receipts += figures.receipts
    election.lost = figures


def test_issue7_restore_invariants_and_the_verifier(election: Election) -> None:
    st, lost = election.st, election.lost
    assert lost is not None
    carga.wait_sealed(st)
    inv = carga.invariants(st, election.receipts, noted_heads=tuple(election.noted),
                           lost_receipts=lost.lost_receipts, lost_heads=(lost.noted,))
    n = BEFORE + AFTER + THEN + LATER + LOST
    assert inv.receipts == n and inv.rows == inv.events == n and inv.duplicates == 0 and not inv.missing, inv
    assert inv.voted == n - election.replayed
    assert inv.verified, inv.problems
    # Each lost receipt fails (its index now holds another ballot), and so does the lost noted head.
    assert inv.lost_detected.get("receipt.chain") == LOST and inv.lost_detected.get("board.expected-head") == 1, \
        inv.lost_detected
