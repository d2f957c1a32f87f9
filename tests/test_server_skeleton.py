"""The server's skeleton: factory, schema and migrations, sessions, CSRF, headers, roles."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask, jsonify
from sqlalchemy import inspect, select, update

from servertools import add_operator, add_voter, csrf, make_app
from sivei_server import sessions
from sivei_server.config import ConfigError, ServerConfig
from sivei_server.db import session_scope
from sivei_server.migrate import head_revision, is_current
from sivei_server.models import Base, WebSession, utcnow


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    app = make_app(tmp_path)

    def login(kind: str, sid: str) -> Any:
        sessions.start_session(kind, sid)
        return jsonify(csrf=sessions.csrf_token())

    @sessions.require_voter
    def voter_only() -> Any:
        v = sessions.current_voter()
        assert v is not None
        return jsonify(voter=v.voter_id)

    @sessions.require_operator("administrador")
    def admin_only() -> Any:
        return jsonify(ok=True)

    def logout() -> Any:
        sessions.end_session()
        return jsonify(ok=True)

    app.add_url_rule("/api/t/login/<kind>/<sid>", view_func=login, methods=["POST"])
    app.add_url_rule("/api/t/voter", view_func=voter_only)
    app.add_url_rule("/api/t/admin", view_func=admin_only)
    app.add_url_rule("/api/t/logout", view_func=logout, methods=["POST"])
    return app


def test_migrations_match_models(app: Flask) -> None:
    engine = app.extensions["sivei_engine"]
    assert is_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert {"voters", "operators", "web_sessions", "rate_limits", "one_time_codes", "audit_log", "election",
            "cast_ballots", "ballot_alphas", "board_events", "chain_head", "late_ballots"} <= tables


def test_privacy_of_the_schema() -> None:
    cast = {c.name for c in Base.metadata.tables["cast_ballots"].columns}
    assert not any("voter" in c or "session" in c or "addr" in c for c in cast)
    voters = {c.name for c in Base.metadata.tables["voters"].columns}
    assert not any("ballot" in c or "tracking" in c or "credential" in c or "receipt" in c for c in voters)
    assert {"voted", "voted_on"} <= voters


def test_security_headers_and_pages(app: Flask) -> None:
    client = app.test_client()
    r = client.get("/")
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "worker-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp and "unsafe" not in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/tablero").status_code == 200
    assert client.get("/api/nada").get_json()["error"]


def test_csrf_required_for_posts(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/api/t/login/voter/V1").status_code == 403  # no token
    token = csrf(client)
    assert client.post("/api/t/login/voter/V1", headers={"X-CSRF-Token": "x" * 43}).status_code == 403
    r = client.post("/api/t/login/voter/V1", headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    # The session has its own token; the anonymous one no longer works.
    assert client.post("/api/t/logout", headers={"X-CSRF-Token": token}).status_code == 403
    assert client.post("/api/t/logout", headers={"X-CSRF-Token": r.get_json()["csrf"]}).status_code == 200


def test_sessions_and_roles(app: Flask) -> None:
    add_voter(app, "V1", "BC")
    admin = add_operator(app, "ana", "administrador")
    observer = add_operator(app, "oscar", "observador")
    client = app.test_client()
    assert client.get("/api/t/voter").status_code == 401
    assert client.get("/api/t/voter").get_json()["error"] == "sesion"
    token = csrf(client)
    r = client.post("/api/t/login/voter/V1", headers={"X-CSRF-Token": token})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/api/t/voter").get_json() == {"voter": "V1"}
    assert client.get("/api/t/admin").status_code == 401  # a voter is no operator

    c2 = app.test_client()
    c2.post(f"/api/t/login/operator/{observer}", headers={"X-CSRF-Token": csrf(c2)})
    assert c2.get("/api/t/admin").status_code == 403
    assert c2.get("/operacion").status_code == 200
    c3 = app.test_client()
    c3.post(f"/api/t/login/operator/{admin}", headers={"X-CSRF-Token": csrf(c3)})
    assert c3.get("/api/t/admin").status_code == 200
    assert c3.get("/api/t/voter").status_code == 401


def test_session_absolute_limit(app: Flask) -> None:
    add_voter(app, "V1", "BC")
    client = app.test_client()
    client.post("/api/t/login/voter/V1", headers={"X-CSRF-Token": csrf(client)})
    assert client.get("/api/t/voter").status_code == 200
    with session_scope(app.extensions["sivei_engine"]) as s:
        row = s.scalars(select(WebSession)).one()
        assert timedelta(minutes=29) < row.expires_at - row.created_at <= timedelta(minutes=30)
        s.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/t/voter").status_code == 401


def test_secure_cookie_names(tmp_path: Path) -> None:
    app = make_app(tmp_path, cookie_secure=True)
    r = app.test_client().get("/")
    assert "__Host-sivei-csrf" in r.headers["Set-Cookie"] and "Secure" in r.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in r.headers


def test_config_refuses_test_login_in_production(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        ServerConfig(data_dir=tmp_path, production=True, test_login=True)
    with pytest.raises(ConfigError):
        ServerConfig(data_dir=tmp_path, production=True, cookie_secure=False)
    assert ServerConfig.from_env({"SIVEI_DATABASE_URL": "postgresql://u@h:5/db"}).sqlalchemy_url.startswith(
        "postgresql+psycopg://")
    assert ServerConfig.from_env({}).test_login is False


def test_cli_registers_server_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from sivei.cli.main import main

    monkeypatch.setenv("SIVEI_DATA_DIR", str(tmp_path))
    assert main(["servidor", "db-upgrade"]) == 0
    assert f"revisión {head_revision()}" in capsys.readouterr().out
    monkeypatch.setenv("SIVEI_OPERATOR_PASSWORD", "una contraseña larga")
    monkeypatch.setenv("SIVEI_ARGON2_FAST", "1")
    assert main(["server", "crear-operador", "ana", "--funcion", "observador"]) == 0
    assert "otpauth://" in capsys.readouterr().out
    assert main(["servidor", "crear-operador", "ana"]) == 2
