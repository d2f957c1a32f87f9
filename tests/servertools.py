"""Helpers for the server's tests: a migrated SQLite-file application, operators, sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from sivei_server import create_app
from sivei_server.config import ServerConfig
from sivei_server.db import make_engine, session_scope
from sivei_server.migrate import upgrade
from sivei_server.models import Operator, Voter
from sivei_server.passwords import hash_password


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    settings: dict[str, Any] = {"data_dir": tmp_path / "datos", "cookie_secure": False}
    settings.update(overrides)
    config = ServerConfig(**settings)
    upgrade(make_engine(config))
    return create_app(config)


def add_operator(app: Flask, username: str, role: str) -> int:
    with session_scope(app.extensions["sivei_engine"]) as s:
        op = Operator(username=username, role=role, password_hash=hash_password("x" * 16))
        s.add(op)
        s.flush()
        return op.id


def add_voter(app: Flask, voter_id: str, entity: str, n: int = 0) -> None:
    with session_scope(app.extensions["sivei_engine"]) as s:
        s.add(Voter(voter_id=voter_id, entity=entity, email=f"{voter_id}@example.org",
                    phone=f"+1555000{n:04d}"))


def csrf(client: FlaskClient) -> str:
    """The anonymous or session CSRF token, as a page would embed it."""
    html = client.get("/").get_data(as_text=True)
    marker = 'name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]
