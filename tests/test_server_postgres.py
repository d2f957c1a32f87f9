"""Concurrency on PostgreSQL with gunicorn at 2 workers, over real HTTP on loopback.

PostgreSQL comes from ``.ci/postgres.sh`` (started by ``.ci/run``; locally run it yourself): the URL
is ``SIVEI_TEST_POSTGRES_URL`` or the script's default. Without a reachable server the tests skip,
except under CI, where they fail.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from sivei.crypto.group import TEST_GROUP
from sivei.record.receipts import Receipt
from sivei_server.config import ServerConfig
from sivei_server.db import make_engine, session_scope
from sivei_server.migrate import upgrade
from sivei_server.models import BallotAlpha, CastBallot, Voter
from sivei_server.receipt_key import create_key_file
from sivei_server.simulacro import (
    ElectionKit,
    GunicornServer,
    ScratchDatabase,
    build_kit,
    login_operator,
    login_voter,
    operator_prepare,
    seed_roll,
)

DEFAULT_URL = "postgresql://sivei@127.0.0.1:54329/postgres"
VOTERS = 40


def _admin_url() -> str:
    return os.environ.get("SIVEI_TEST_POSTGRES_URL", DEFAULT_URL)


def _reachable(url: str) -> bool:
    try:
        eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                            connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return True
    except Exception:
        return False


@dataclass
class Running:
    base: str
    kit: ElectionKit
    engine: object
    config: ServerConfig


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    admin = _admin_url()
    if not _reachable(admin):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {admin} (.ci/postgres.sh starts it)")
        pytest.skip(f"PostgreSQL is not reachable at {admin}; run .ci/postgres.sh")
    scratch = ScratchDatabase(admin)
    url = scratch.create()
    tmp = tmp_path_factory.mktemp("pg")
    key_path = tmp / "llave-recibos.pem"
    receipt_key = create_key_file(key_path)
    config = ServerConfig(data_dir=tmp / "datos", database_url=url, cookie_secure=False, test_login=True,
                          allow_test_group=True, receipt_key_file=key_path, extra={"buzon_desarrollo": True})
    engine = make_engine(config)
    try:
        upgrade(engine)
        now = datetime.now(UTC)
        kit = build_kit(TEST_GROUP, VOTERS, receipt_key, opens=now - timedelta(minutes=5),
                        closes=now + timedelta(hours=1))
        try:
            seed_roll(engine, kit, admin="admin")
            with GunicornServer(config, workers=2, threads=4) as server:
                operator_prepare(login_operator(server.base, "admin"), kit)
                yield Running(server.base, kit, engine, config)
        finally:
            kit.close()
    finally:
        engine.dispose()
        scratch.drop()


def _concurrently(*calls: object) -> list[tuple[int, object]]:
    barrier = threading.Barrier(len(calls))
    results: list[tuple[int, object] | None] = [None] * len(calls)

    def run(i: int, call: object) -> None:
        client, body, headers = call  # type: ignore[misc]
        barrier.wait()
        results[i] = client.post_raw("/api/votar", body, headers=headers)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def _count(running: Running, model: type, **where: str) -> int:
    with session_scope(running.engine) as s:  # type: ignore[arg-type]
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(s.scalar(q) or 0)


def test_two_different_ballots_for_one_voter(running: Running) -> None:
    kit = running.kit
    for voter in kit.roll[:4]:
        vid = voter.voter_id
        a, b = login_voter(running.base, vid), login_voter(running.base, vid)  # two devices
        token = kit.cast_headers(vid)
        results = _concurrently((a, kit.ballot(vid), token), (b, kit.ballot(vid), token))
        statuses = sorted(status for status, _ in results)
        assert statuses == [201, 409], results
        refused = next(body for status, body in results if status == 409)
        assert refused["error"] == "ya-voto"  # type: ignore[index]
        with session_scope(running.engine) as s:  # type: ignore[arg-type]
            assert s.scalar(select(Voter.voted).where(Voter.voter_id == vid)) is True
        public = Receipt.from_json(next(body for status, body in results if status == 201)["receipt"])  # type: ignore[index]
        assert _count(running, CastBallot, ballot_hash=public.ballot_hash.hex()) == 1


def test_identical_ballot_twice(running: Running) -> None:
    kit = running.kit
    for voter in kit.roll[4:7]:
        vid = voter.voter_id
        body = kit.ballot(vid)
        a = login_voter(running.base, vid)
        before = _count(running, CastBallot)
        # One device sends the same ballot twice at once (a retry racing the first try): one 201, one 200,
        # the same receipt, stored once.
        results = _concurrently((a, body, kit.cast_headers(vid)), (a, body, kit.cast_headers(vid)))
        assert sorted(status for status, _ in results) == [200, 201], results
        receipts = [r["receipt"] for _, r in results]  # type: ignore[index]
        assert receipts[0] == receipts[1]
        assert _count(running, CastBallot) == before + 1
        assert _count(running, CastBallot, ballot_hash=receipts[0]["ballot_hash"]) == 1
        # Another session of the same voter gets no receipt for it (only the session that cast it).
        status, answer = login_voter(running.base, vid).post_raw("/api/votar", body, headers=kit.cast_headers(vid))
        assert status == 409 and "receipt" not in answer  # type: ignore[operator]


def test_bounded_load(running: Running, capsys: pytest.CaptureFixture[str]) -> None:
    """Every remaining voter casts through 4 concurrent client threads; all accepted, the chain has
    one event per ballot, one α row per ciphertext. Prints ballots accepted per second."""
    kit = running.kit
    voters = [v.voter_id for v in kit.roll[7:]]
    sessions = {vid: login_voter(running.base, vid) for vid in voters}
    bodies = {vid: kit.ballot(vid) for vid in voters}
    headers = {vid: kit.cast_headers(vid) for vid in voters}
    before = _count(running, CastBallot)
    statuses: list[int] = []
    lock = threading.Lock()
    queue = list(voters)

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                vid = queue.pop()
            status, _ = sessions[vid].post_raw("/api/votar", bodies[vid], headers=headers[vid])
            with lock:
                statuses.append(status)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    elapsed = time.monotonic() - started
    assert statuses == [201] * len(voters)
    assert _count(running, CastBallot) == before + len(voters)
    with session_scope(running.engine) as s:  # type: ignore[arg-type]
        cast = s.scalar(select(func.count()).select_from(CastBallot)) or 0
        alphas = s.scalar(select(func.count()).select_from(BallotAlpha)) or 0
        assert alphas >= cast
    with capsys.disabled():
        print(f"\n  PostgreSQL + gunicorn (2 workers), test group: {len(voters)} ballots in {elapsed:.2f} s "
              f"= {len(voters) / elapsed:.1f} ballots/s accepted with full validation")
