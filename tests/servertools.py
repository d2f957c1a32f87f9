"""Helpers for the server's tests: a migrated SQLite-file application, operators, sessions."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from sivei.ballot.credential_tokens import TOKEN_HEADER
from sivei.crypto.group import TEST_GROUP
from sivei_server import create_app
from sivei_server.config import ServerConfig
from sivei_server.db import make_engine, session_scope
from sivei_server.migrate import upgrade
from sivei_server.models import BallotAlpha, BoardEventRow, CastBallot, Operator, Voter
from sivei_server.passwords import hash_password
from sivei_server.receipt_key import create_key_file
from sivei_server.simulacro import ElectionKit, build_kit

TEST_KIT = "sivei_test_kit"


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    settings: dict[str, Any] = {"data_dir": tmp_path / "datos", "cookie_secure": False, "closer_thread": False,
                                "allow_test_group": True}
    settings.update(overrides)
    # The file outboxes (mail and SMS) are development tools: tests read them.
    settings["extra"] = {"buzon_desarrollo": True, **settings.get("extra", {})}
    config = ServerConfig(**settings)
    upgrade(make_engine(config))
    return create_app(config)


def add_operator(app: Flask, username: str, role: str) -> int:
    with session_scope(app.extensions["sivei_engine"]) as s:
        op = Operator(username=username, role=role, password_hash=hash_password("x" * 16))
        s.add(op)
        s.flush()
        return op.id


def sealed_operator_totp(app: Flask, username: str, secret: str) -> str:
    """An operator's TOTP seed as the database keeps it (sealed with the server's secrets key)."""
    from sivei_server.secrets_key import operator_account, secrets_key

    return secrets_key(app.extensions["sivei_config"]).seal(operator_account(username), secret)


def opened_operator_totp(app: Flask, username: str, stored: str) -> str:
    from sivei_server.secrets_key import operator_account, secrets_key

    return secrets_key(app.extensions["sivei_config"]).open(operator_account(username), stored)


def add_voter(app: Flask, voter_id: str, entity: str, n: int = 0) -> None:
    with session_scope(app.extensions["sivei_engine"]) as s:
        s.add(Voter(voter_id=voter_id, username=voter_id, entity=entity, email=f"{voter_id}@example.org",
                    phone=f"+1555000{n:04d}"))


def csrf(client: FlaskClient) -> str:
    """The anonymous or session CSRF token, as a page would embed it."""
    html = client.get("/").get_data(as_text=True)
    marker = 'name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


# -- an election around the server ------------------------------------------------------------------

class Browser:
    """A Flask test client with its CSRF token (one browser). A voter's browser also holds the
    voter's opened credential token (``credential_token``), sent beside every ballot it posts, as the
    booth does."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()
        self.token = csrf(self.client)
        self.credential_token: str | None = None

    def post_json(self, path: str, obj: Any = None, **kw: Any) -> Any:
        return self.client.post(path, json=obj, headers={"X-CSRF-Token": self.token}, **kw)

    def post_raw(self, path: str, body: bytes, content_type: str = "application/json") -> Any:
        headers = {"X-CSRF-Token": self.token}
        if path == "/api/votar" and self.credential_token is not None:
            headers[TOKEN_HEADER] = self.credential_token
        return self.client.post(path, data=body, content_type=content_type, headers=headers)

    def upload(self, path: str, files: dict[str, bytes], **fields: str) -> Any:
        data: dict[str, Any] = {k: (io.BytesIO(v), k) for k, v in files.items()}
        data.update(fields)
        return self.client.post(path, data=data, content_type="multipart/form-data",
                                headers={"X-CSRF-Token": self.token})

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)


def voter_browser(app: Flask, voter_id: str) -> Browser:
    """A browser logged in as this voter (test-only session); with the election kit of
    ``election_setup``, it holds the voter's credential token as the booth would have opened it."""
    b = Browser(app)
    r = b.post_json("/api/prueba/sesion", {"voter_id": voter_id})
    assert r.status_code == 200, r.get_data(as_text=True)
    b.token = r.get_json()["csrf"]
    kit = app.extensions.get(TEST_KIT)
    if kit is not None and voter_id in kit.deliveries:
        b.credential_token = kit.token(voter_id)
    return b


def operator_browser(app: Flask, username: str = "admin") -> Browser:
    b = Browser(app)
    r = b.post_json("/api/prueba/sesion-operador", {"username": username})
    assert r.status_code == 200, r.get_data(as_text=True)
    b.token = r.get_json()["csrf"]
    return b


@dataclass
class Setup:
    app: Flask
    kit: ElectionKit
    config: ServerConfig
    receipt_key: bytes

    @property
    def engine(self) -> Any:
        return self.app.extensions["sivei_engine"]


def election_setup(tmp_path: Path, *, voters: int = 6, opens_in: float = -300, closes_in: float = 3600,
                   grace: float = 0.2, roll: bool = True, manifest: Any = None,
                   consulates: dict[str, tuple[int, int]] | None = None, **overrides: Any) -> Setup:
    """A server (SQLite file, test group, test login) with its receipt key, an election kit whose
    opening act names that key, the roll's voters and an administrator ``admin``; with
    ``consulates`` (code → (cap, roll voters registered there)), in-person voting at them (the roll
    with each voter's consulate and voter-ID number)."""
    data_dir = tmp_path / "datos"
    key_path = data_dir / "llave-recibos.pem"
    receipt_key = create_key_file(key_path)
    now = datetime.now(UTC)
    kit = build_kit(TEST_GROUP, voters, receipt_key, opens=now + timedelta(seconds=opens_in),
                    closes=now + timedelta(seconds=closes_in), manifest=manifest, consulates=consulates)
    app = make_app(tmp_path, test_login=True, receipt_key_file=key_path, close_grace_seconds=grace, **overrides)
    app.extensions[TEST_KIT] = kit  # for voter_browser: the voters' credential tokens
    add_operator(app, "admin", "administrador")
    add_operator(app, "obs", "observador")
    if roll:
        from sivei_server.secrets_key import secrets_key

        key = secrets_key(app.extensions["sivei_config"])
        with session_scope(app.extensions["sivei_engine"]) as s:
            for v in kit.roll:
                s.add(Voter(voter_id=v.voter_id, entity=v.entity, email=v.email, phone=kit.phones[v.voter_id],
                            consulate=v.consulate,
                            card_hash=key.card_hash(kit.cards[v.voter_id]) if consulates else None))
    return Setup(app, kit, app.extensions["sivei_config"], receipt_key)


def prepare(setup: Setup, *, open_: bool = True) -> Browser:
    op = operator_browser(setup.app)
    kit = setup.kit
    r = op.upload("/api/operacion/manifiesto", {"manifiesto": kit.manifest_bytes})
    assert r.status_code == 200, r.get_json()
    files = {"lista": kit.list_bytes, "entradas": kit.entries_bytes, "fichas": kit.sealed_bytes}
    if kit.declaration_bytes is not None:
        files["consulados"] = kit.declaration_bytes
    r = op.upload("/api/operacion/credenciales", files)
    assert r.status_code == 200, r.get_json()
    r = op.upload("/api/operacion/acta-inicio", {"ceremonia": kit.ceremony_bytes, "acta": kit.act_bytes,
                                                 "constancia": kit.constancia.dumps().encode()})
    assert r.status_code == 200, r.get_json()
    if open_:
        r = op.post_json("/api/operacion/abrir")
        assert r.status_code == 200, r.get_json()
    return op


def stored_counts(setup: Setup) -> tuple[int, int, int, int]:
    """(cast ballots, α rows, board events, voters flagged)."""
    with session_scope(setup.engine) as s:
        return (s.scalar(select(func.count()).select_from(CastBallot)) or 0,
                s.scalar(select(func.count()).select_from(BallotAlpha)) or 0,
                s.scalar(select(func.count()).select_from(BoardEventRow)) or 0,
                s.scalar(select(func.count()).select_from(Voter).where(Voter.voted.is_(True))) or 0)
