"""The authentication flows on PostgreSQL (a scratch database on the server that ``.ci/postgres.sh``
starts): activation and login, and the database-kept counters under concurrent workers — failures
counted exactly and a lock set once, rows created concurrently without losing a count.

Skips without a reachable server, except under CI, where it fails (like the casting tests)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from servertools import make_app
from sivei_server.auth import limits
from sivei_server.auth.settings import AuthSettings
from sivei_server.db import session_scope
from sivei_server.models import RateLimit, Voter
from sivei_server.simulacro import ScratchDatabase
from test_server_auth import FAST, Browser, activate_sms, add_voter, location, login_sms, send_activation

DEFAULT_URL = "postgresql://sivei@127.0.0.1:54329/postgres"


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


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    admin = _admin_url()
    if not _reachable(admin):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {admin} (.ci/postgres.sh starts it)")
        pytest.skip(f"PostgreSQL is not reachable at {admin}; run .ci/postgres.sh")
    scratch = ScratchDatabase(admin)
    url = scratch.create()
    app = make_app(tmp_path, database_url=url, extra=FAST)
    try:
        yield app
    finally:
        app.extensions["sivei_engine"].dispose()
        scratch.drop()


def _together(n: int, fn: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = fn()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_flows_on_postgresql(app: Flask) -> None:
    add_voter(app)
    b = Browser(app)
    activate_sms(b, send_activation(app))
    assert b.client.get("/cuenta/").status_code == 200
    with session_scope(app.extensions["sivei_engine"]) as s:
        v = s.get(Voter, "V0001")
        assert v is not None and v.activated_at is not None and v.activated_at.tzinfo is not None
    b2 = Browser(app)
    assert b2.submit("/cuenta/entrar", usuario="V0001", clave="mala contraseña").status_code == 401
    r = b2.submit("/cuenta/entrar", usuario="V0001", clave="una frase larga de prueba")
    assert location(r) == "/cuenta/codigo"
    r = login_sms(Browser(app))
    assert location(r) == "/cuenta/"


def test_counters_under_concurrent_workers(app: Flask) -> None:
    engine = app.extensions["sivei_engine"]
    settings = AuthSettings(**{**FAST, "throttle_free_failures": 8})
    key = limits.guard_key("voter", "V-CONCURRENTE", "203.0.113.8")
    results = _together(8, lambda: limits.record_failure(engine, key, settings))
    throttled = [r for r in results if r.throttled_until is not None]
    assert len(throttled) == 1  # exactly the 8th failure started the throttle, once
    with session_scope(engine) as s:
        row = s.get(RateLimit, key)
        assert row is not None and row.failures == 8
    hits = _together(8, lambda: limits.hit(engine, "ip:203.0.113.9", 5, 600))
    assert sum(1 for h in hits if h is None) == 5 and sum(1 for h in hits if h is not None) == 3
