"""Database engine and sessions (SQLAlchemy 2).

One engine per application. SQLite runs in WAL mode with a busy timeout, and its transactions are
begun explicitly so that ``serialized()`` can take the write lock at the start (``BEGIN IMMEDIATE``);
on PostgreSQL ``serialized()`` is an ordinary transaction and the caller locks rows with
``SELECT … FOR UPDATE``.

In a request, ``db()`` returns the request's ORM session (closed at the end of the request). Code
outside requests uses ``session_scope(engine)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from sivei_server.config import ServerConfig

SQLITE_BUSY_MS = 30_000
_SQLITE_BEGIN = "sivei_sqlite_begin"


def make_engine(config: ServerConfig) -> Engine:
    url = config.sqlalchemy_url
    if url.startswith("sqlite"):
        config.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_MS / 1000,
                                                                       "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            mode = conn.get_execution_options().get(_SQLITE_BEGIN, "")
            conn.exec_driver_sql(f"BEGIN {mode}".strip())

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with session_factory(engine)() as session, session.begin():
        yield session


@contextmanager
def serialized(engine: Engine) -> Iterator[Session]:
    """A write transaction that other writers wait for: SQLite ``BEGIN IMMEDIATE`` (the database
    write lock from the start); on PostgreSQL a plain transaction whose caller locks the rows it
    serialises on (``with_for_update()``). Commits on success, rolls back on error."""
    conn = engine.connect()
    try:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
        with Session(bind=conn, expire_on_commit=False) as session, session.begin():
            yield session
    finally:
        conn.close()


def engine() -> Engine:
    eng: Engine = current_app.extensions["sivei_engine"]
    return eng


def db() -> Session:
    """The current request's ORM session."""
    if "sivei_db" not in g:
        factory: sessionmaker[Session] = current_app.extensions["sivei_sessionmaker"]
        g.sivei_db = factory()
    session: Session = g.sivei_db
    return session


def close_request_session(_exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("sivei_db", None)
    if session is not None:
        session.close()
