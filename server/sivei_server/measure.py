"""CPU per request, split into cryptography, database and framework, for ``sivei servidor medir``.

Only with ``ServerConfig.measure`` (refused in production: it tells timings to clients). gunicorn's
gthread workers run one request per thread at a time, so the thread's CPU clock
(``time.thread_time``) measures exactly this request: the total from ``begin()`` to ``header()``;
``crypto()`` blocks add to the cryptography share; the SQLAlchemy cursor events add the time spent
executing statements (driver and round trips on this side) to the database share, and count the
statements. The rest is framework (Flask, werkzeug, SQLAlchemy's ORM, JSON). The database server's
own CPU is measured from outside (its backend processes) by the benchmark.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

_local = threading.local()


def begin() -> None:
    _local.active = True
    _local.t0 = time.thread_time()
    _local.crypto = 0.0
    _local.db = 0.0
    _local.sql = 0


def active() -> bool:
    return bool(getattr(_local, "active", False))


@contextmanager
def crypto() -> Iterator[None]:
    """Count the enclosed CPU time as cryptography (no-op unless measuring)."""
    if not active():
        yield
        return
    t0 = time.thread_time()
    try:
        yield
    finally:
        _local.crypto += time.thread_time() - t0


def header() -> str:
    """The ``Server-Timing`` value of this request (milliseconds of this thread's CPU)."""
    total = (time.thread_time() - _local.t0) * 1000
    crypto_ms, db_ms = _local.crypto * 1000, _local.db * 1000
    _local.active = False
    framework = max(0.0, total - crypto_ms - db_ms)
    return (f"cpu;dur={total:.2f}, crypto;dur={crypto_ms:.2f}, db;dur={db_ms:.2f}, "
            f"framework;dur={framework:.2f}, sql;desc={_local.sql}")


def parse_header(value: str) -> dict[str, float]:
    """The numbers of a ``Server-Timing`` header written by ``header()``."""
    out: dict[str, float] = {}
    for part in value.split(","):
        name, _, rest = part.strip().partition(";")
        key, _, number = rest.partition("=")
        if key in ("dur", "desc"):
            try:
                out[name] = float(number)
            except ValueError:
                continue
    return out


def instrument(engine: Engine) -> None:
    """Count statements and their execution time on ``engine`` (measuring requests only)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_args: Any) -> None:
        if active():
            _local.sql_t0 = time.thread_time()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(*_args: Any) -> None:
        if active():
            _local.db += time.thread_time() - getattr(_local, "sql_t0", time.thread_time())
            _local.sql += 1
