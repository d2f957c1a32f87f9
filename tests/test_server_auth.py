"""Voter and operator authentication: activation (SMS and authenticator app), later logins, codes,
links, forgotten password, the help desk's lost-phone reset, lockout with backoff, the 30-minute
session, CSRF, no user enumeration, bad input and what reaches the logs."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient
from sqlalchemy import select

from servertools import make_app, opened_operator_totp, sealed_operator_totp
from sivei_server import models, sessions
from sivei_server.auth import accounts, codes, limits
from sivei_server.auth.settings import AuthSettings
from sivei_server.db import session_scope
from sivei_server.models import AuditLog, OneTimeCode, Operator, Voter, WebSession
from sivei_server.notify import read_mail_outbox, read_sms_outbox

FAST = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
PASSWORD = "una frase larga de prueba"
OP_PASSWORD = "operador-clave-larga"


# -- fixtures ------------------------------------------------------------------------------------------------

class Clock:
    """Moves the server's clock (``models.utcnow`` and the sessions module's copy)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kw: float) -> None:
        self.offset += timedelta(**kw)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(models, "utcnow", c.now)
    monkeypatch.setattr(sessions, "utcnow", c.now)
    return c


def build_app(tmp_path: Path, **extra: Any) -> Flask:
    app = make_app(tmp_path, extra={**FAST, **extra})

    @sessions.require_voter
    def whoami() -> Any:
        voter = sessions.current_voter()
        assert voter is not None
        return jsonify(voter=voter.voter_id, entity=voter.entity)

    app.add_url_rule("/api/t/yo", view_func=whoami)
    return app


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Flask:
    return build_app(tmp_path)


def engine(app: Flask) -> Any:
    return app.extensions["sivei_engine"]


def add_voter(app: Flask, voter_id: str = "V0001", phone: str = "+15550101234", entity: str = "JAL") -> None:
    with session_scope(engine(app)) as s:
        s.add(Voter(voter_id=voter_id, username=voter_id, entity=entity, email=f"{voter_id.lower()}@ejemplo.org",
                    phone=phone))


def add_operator(app: Flask, username: str, role: str) -> str:
    secret = codes.new_totp_secret()
    settings: AuthSettings = app.extensions["sivei_auth_settings"]
    with session_scope(engine(app)) as s:
        s.add(Operator(username=username, role=role, password_hash=codes.hash_password(settings, OP_PASSWORD),
                       totp_secret=sealed_operator_totp(app, username, secret)))
    return secret


def outbox(app: Flask) -> Path:
    return Path(app.extensions["sivei_config"].data_dir) / "buzon"


def sms_box(app: Flask) -> Path:
    return Path(app.extensions["sivei_config"].data_dir) / "sms"


def send_activation(app: Flask, voter_id: str = "V0001") -> str:
    """Email the activation link; return its path and query (as the voter would open it)."""
    before = len(read_mail_outbox(outbox(app)))
    accounts.send_activations(engine(app), app.extensions["sivei_notifier"], app.extensions["sivei_auth_settings"],
                              "http://localhost/", voter_ids=[voter_id], resend=True)
    mails = read_mail_outbox(outbox(app))
    assert len(mails) == before + 1
    mail = mails[-1]
    assert voter_id in mail.body
    return link_in(mail.body, "/cuenta/activar")


def link_in(body: str, path: str) -> str:
    match = re.search(r"https?://\S+" + re.escape(path) + r"\?t=\S+", body)
    assert match, body
    url = urlsplit(match.group(0))
    return f"{url.path}?{url.query}"


def last_sms_code(app: Flask) -> str:
    messages = read_sms_outbox(sms_box(app))
    assert messages
    match = re.search(r"\b(\d{6})\b", messages[-1].body)
    assert match
    return match.group(1)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TOKENS = re.compile(r'(name="csrf_token" value="|name="csrf-token" content=")[^"]+')


def without_tokens(html: str) -> str:
    return TOKENS.sub("", html)


class Browser:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.page = ""

    def get(self, path: str) -> Any:
        r = self.client.get(path)
        self.page = r.get_data(as_text=True)
        return r

    def submit(self, path: str, page: str | None = None, **fields: str) -> Any:
        """Open ``page`` (default: ``path``), take its CSRF token and post the form."""
        self.get(page or path)
        match = CSRF.search(self.page)
        assert match, self.page
        r = self.client.post(path, data={"csrf_token": match.group(1), **fields})
        self.page = r.get_data(as_text=True)
        return r


def location(r: Any) -> str:
    return urlsplit(r.headers["Location"]).path


def activate_sms(b: Browser, link: str, password: str = PASSWORD) -> None:
    r = b.get(link)
    assert r.status_code == 200 and "V0001" in b.page
    token = link.split("t=", 1)[1]
    r = b.submit("/cuenta/activar", page=link, t=token, digitos="1234")
    assert r.status_code == 303 and location(r) == "/cuenta/activar/factor"
    r = b.submit("/cuenta/activar/factor", factor="sms")
    assert r.status_code == 303 and location(r) == "/cuenta/codigo"
    r = b.submit("/cuenta/codigo", codigo=last_sms_code(b.app))
    assert r.status_code == 303 and location(r) == "/cuenta/clave"
    r = b.submit("/cuenta/clave", clave=password, confirmacion=password)
    assert r.status_code == 303 and location(r) == "/cuenta/"


def login_sms(b: Browser, username: str = "V0001", password: str = PASSWORD) -> Any:
    r = b.submit("/cuenta/entrar", usuario=username, clave=password)
    assert r.status_code == 303 and location(r) == "/cuenta/codigo", b.page
    return b.submit("/cuenta/codigo", codigo=last_sms_code(b.app))


def voter_row(app: Flask, voter_id: str = "V0001") -> Voter:
    with session_scope(engine(app)) as s:
        v = s.get(Voter, voter_id)
        assert v is not None
        s.expunge(v)
        return v


# -- activation and later logins ------------------------------------------------------------------------------

def test_activation_with_sms_then_later_login(app: Flask) -> None:
    add_voter(app)
    link = send_activation(app)
    b = Browser(app)
    r = b.get(link)
    assert r.status_code == 200 and 'name="digitos"' in b.page
    token = link.split("t=", 1)[1]
    r = b.submit("/cuenta/activar", page=link, t=token, digitos="9999")
    assert r.status_code == 401 and "no corresponden" in b.page
    r = b.submit("/cuenta/activar", page=link, t=token, digitos="12a4")
    assert r.status_code == 400
    r = b.submit("/cuenta/activar", page=link, t=token, digitos="1234")
    assert r.status_code == 303 and location(r) == "/cuenta/activar/factor"
    assert b.client.get("/api/t/yo").status_code == 401  # a partial session is not a login
    r = b.submit("/cuenta/activar/factor", factor="sms")
    assert location(r) == "/cuenta/codigo"
    assert "1234" in b.get("/cuenta/codigo").get_data(as_text=True)  # the phone's last digits
    sms = read_sms_outbox(sms_box(app))
    assert len(sms) == 1 and sms[0].to == "+15550101234"
    code = last_sms_code(app)
    wrong = "000000" if code != "000000" else "111111"
    r = b.submit("/cuenta/codigo", codigo=wrong)
    assert r.status_code == 401 and "4 intentos" in b.page
    r = b.submit("/cuenta/codigo", codigo=code)
    assert location(r) == "/cuenta/clave"
    r = b.submit("/cuenta/clave", clave="corta", confirmacion="corta")
    assert r.status_code == 400
    r = b.submit("/cuenta/clave", clave=PASSWORD, confirmacion=PASSWORD + "x")
    assert r.status_code == 400 and "no coinciden" in b.page
    r = b.submit("/cuenta/clave", clave="v0001 y algo más", confirmacion="v0001 y algo más")
    assert r.status_code == 400  # contains the username
    r = b.submit("/cuenta/clave", clave=PASSWORD, confirmacion=PASSWORD)
    assert r.status_code == 303 and location(r) == "/cuenta/"
    # The hand-off: a full voter session, current_voter() is the voter.
    r = b.client.get("/api/t/yo")
    assert r.status_code == 200 and r.get_json() == {"voter": "V0001", "entity": "JAL"}
    assert "V0001" in b.get("/cuenta/").get_data(as_text=True)
    v = voter_row(app)
    assert v.activated_at is not None and v.second_factor == "sms" and v.activation_token_hash is None
    assert v.password_hash is not None and v.password_hash.startswith("$argon2id$")
    assert PASSWORD not in v.password_hash

    # The link is single use.
    assert b.get(link).status_code == 400
    assert Browser(app).submit("/cuenta/activar", page="/cuenta/entrar", t=token, digitos="1234").status_code == 400

    r = b.submit("/cuenta/salir", page="/cuenta/")
    assert r.status_code == 303
    assert b.client.get("/api/t/yo").status_code == 401

    # Later login: user + password + code (username case-insensitive).
    b2 = Browser(app)
    r = b2.submit("/cuenta/entrar", usuario="v0001", clave="otra contraseña")
    assert r.status_code == 401
    r = login_sms(b2, username="v0001")
    assert r.status_code == 303 and location(r) == "/cuenta/"
    assert b2.client.get("/api/t/yo").status_code == 200


def test_activation_with_authenticator_app(app: Flask, clock: Clock) -> None:
    add_voter(app)
    link = send_activation(app)
    b = Browser(app)
    b.get(link)
    token = link.split("t=", 1)[1]
    b.submit("/cuenta/activar", page=link, t=token, digitos="1234")
    r = b.submit("/cuenta/activar/factor", factor="app")
    assert location(r) == "/cuenta/codigo"  # the registered phone first (issue 7, item 3)
    r = b.submit("/cuenta/codigo", codigo=last_sms_code(app))
    assert location(r) == "/cuenta/activar/app"
    page = b.get("/cuenta/activar/app").get_data(as_text=True)
    assert "<svg" in page and 'role="img"' in page and "<script" not in page and "style=" not in page
    match = re.search(r'id="clave-totp">([A-Z2-7 ]+)<', page)
    assert match
    secret = match.group(1).replace(" ", "")
    assert len(read_sms_outbox(sms_box(app))) == 1  # only the enrolment's
    r = b.submit("/cuenta/activar/app", codigo="000000" if codes.totp_now(secret, clock.now()) != "000000" else "1")
    assert r.status_code in (400, 401)
    r = b.submit("/cuenta/activar/app", codigo=codes.totp_now(secret, clock.now()))
    assert location(r) == "/cuenta/clave"
    r = b.submit("/cuenta/clave", clave=PASSWORD, confirmacion=PASSWORD)
    assert location(r) == "/cuenta/"
    v = voter_row(app)
    assert v.second_factor == "totp" and v.totp_secret is not None and secret not in v.totp_secret

    # Later login with the app's code; the same code cannot be used twice.
    clock.advance(seconds=31)
    b2 = Browser(app)
    b2.submit("/cuenta/entrar", usuario="V0001", clave=PASSWORD)
    assert "aplicación autenticadora" in b2.get("/cuenta/codigo").get_data(as_text=True)
    now_code = codes.totp_now(secret, clock.now())
    r = b2.submit("/cuenta/codigo", codigo=now_code)
    assert location(r) == "/cuenta/"
    b3 = Browser(app)
    b3.submit("/cuenta/entrar", usuario="V0001", clave=PASSWORD)
    r = b3.submit("/cuenta/codigo", codigo=now_code)
    assert r.status_code == 401  # replayed
    clock.advance(seconds=30)
    r = b3.submit("/cuenta/codigo", codigo=codes.totp_now(secret, clock.now()))
    assert location(r) == "/cuenta/"
    assert len(read_sms_outbox(sms_box(app))) == 1  # later logins with the app send no SMS


def test_sms_code_tries_and_expiry(tmp_path: Path, clock: Clock) -> None:
    app = build_app(tmp_path, throttle_free_failures=20, code_failures=20)
    add_voter(app)
    b = Browser(app)
    activate_sms(b, send_activation(app))
    b = Browser(app)
    b.submit("/cuenta/entrar", usuario="V0001", clave=PASSWORD)
    code = last_sms_code(app)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        r = b.submit("/cuenta/codigo", codigo=wrong)
        assert r.status_code == 401 and f"{left} intentos" in b.page
    r = b.submit("/cuenta/codigo", codigo=wrong)
    assert r.status_code == 401 and "pide uno nuevo" in b.page
    r = b.submit("/cuenta/codigo", codigo=code)  # the right code, but its 5 tries are spent
    assert r.status_code == 401 and "pide uno nuevo" in b.page
    # A new code right away is refused (resend interval), then sent.
    r = b.submit("/cuenta/codigo/reenviar", page="/cuenta/codigo")
    assert "aviso=espera" in r.headers["Location"]
    clock.advance(seconds=61)
    r = b.submit("/cuenta/codigo/reenviar", page="/cuenta/codigo")
    assert "aviso=reenviado" in r.headers["Location"]
    code2 = last_sms_code(app)
    # Expired after 5 minutes.
    clock.advance(minutes=5, seconds=1)
    r = b.submit("/cuenta/codigo", codigo=code2)
    assert r.status_code == 401 and "venció" in b.page
    clock.advance(seconds=61)  # a fourth SMS within the hour is refused (at most 3 per voter per hour)
    r = b.submit("/cuenta/codigo/reenviar", page="/cuenta/codigo")
    assert "aviso=limite" in r.headers["Location"]
    clock.advance(hours=1)
    b = Browser(app)
    b.submit("/cuenta/entrar", usuario="V0001", clave=PASSWORD)
    r = b.submit("/cuenta/codigo", codigo=last_sms_code(app))
    assert location(r) == "/cuenta/"
    # Codes are stored hashed.
    with session_scope(engine(app)) as s:
        stored = list(s.scalars(select(OneTimeCode.code_hash)))
    assert stored and all(h.startswith("hmac$") and code not in h for h in stored)


def test_sms_hourly_limit(tmp_path: Path, clock: Clock) -> None:
    app = build_app(tmp_path, codes_per_hour=2)
    add_voter(app)
    activate_sms(Browser(app), send_activation(app))  # 1 code
    b = Browser(app)
    b.submit("/cuenta/entrar", usuario="V0001", clave=PASSWORD)  # 2 codes
    clock.advance(seconds=61)
    r = b.submit("/cuenta/codigo/reenviar", page="/cuenta/codigo")
    assert "aviso=limite" in r.headers["Location"]
    assert len(read_sms_outbox(sms_box(app))) == 2
    clock.advance(hours=1)
    b = Browser(app)
    b.submit("/cuenta/entrar", usuario="V0001", clave=PASSWORD)  # a new hour, a new code
    assert len(read_sms_outbox(sms_box(app))) == 3
    clock.advance(seconds=61)
    r = b.submit("/cuenta/codigo/reenviar", page="/cuenta/codigo")
    assert "aviso=reenviado" in r.headers["Location"]


def test_expired_and_replaced_activation_links(app: Flask, clock: Clock) -> None:
    add_voter(app)
    first = send_activation(app)
    second = send_activation(app)  # a new link replaces the old one
    b = Browser(app)
    assert b.get(first).status_code == 400
    assert b.get(second).status_code == 200
    clock.advance(days=14, seconds=1)
    r = b.get(second)
    assert r.status_code == 410 and "venció" in b.page
    r = b.submit("/cuenta/activar", page="/cuenta/entrar", t=second.split("t=", 1)[1], digitos="1234")
    assert r.status_code == 410
    assert b.get("/cuenta/activar").status_code == 400
    assert b.get("/cuenta/activar?t=" + "x" * 5000).status_code == 400
    # Only a hash is stored.
    v = voter_row(app)
    assert v.activation_token_hash == codes.token_digest(second.split("t=", 1)[1])


def test_forgotten_password(app: Flask, clock: Clock) -> None:
    add_voter(app)
    add_voter(app, "V0002", "+15550102222")
    activate_sms(Browser(app), send_activation(app))
    mails_before = len(read_mail_outbox(outbox(app)))
    answers = []
    for name in ("V0001", "NADIE", "V0002"):  # active, unknown, not activated
        b = Browser(app)
        r = b.submit("/cuenta/olvide", usuario=name)
        answers.append((r.status_code, without_tokens(b.page)))
    assert answers[0] == answers[1] == answers[2]
    accounts.flush_resets()  # the mail leaves after the answer, for every name alike
    mails = read_mail_outbox(outbox(app))
    assert len(mails) == mails_before + 1 and mails[-1].to == "v0001@ejemplo.org"
    link = link_in(mails[-1].body, "/cuenta/restablecer")

    b = Browser(app)
    assert b.get(link).status_code == 200
    r = b.submit("/cuenta/restablecer", page=link, t=link.split("t=", 1)[1])
    assert location(r) == "/cuenta/codigo"
    assert b.client.get("/api/t/yo").status_code == 401
    r = b.submit("/cuenta/codigo", codigo=last_sms_code(app))
    assert location(r) == "/cuenta/clave"
    new = "otra frase nueva y larga"
    r = b.submit("/cuenta/clave", clave=new, confirmacion=new)
    assert location(r) == "/cuenta/"
    assert b.client.get("/api/t/yo").status_code == 200
    assert Browser(app).get(link).status_code == 400  # used
    r = Browser(app).submit("/cuenta/entrar", usuario="V0001", clave=PASSWORD)
    assert r.status_code == 401
    clock.advance(seconds=61)
    assert location(login_sms(Browser(app), password=new)) == "/cuenta/"

    # An expired reset link.
    clock.advance(hours=2)
    Browser(app).submit("/cuenta/olvide", usuario="V0001")
    accounts.flush_resets()
    link2 = link_in(read_mail_outbox(outbox(app))[-1].body, "/cuenta/restablecer")
    clock.advance(minutes=31)
    assert Browser(app).get(link2).status_code == 410
    assert Browser(app).get("/cuenta/restablecer?t=12.nada").status_code == 400
    assert Browser(app).get("/cuenta/restablecer?t=abc").status_code == 400


def test_lost_phone_through_the_help_desk(app: Flask, clock: Clock) -> None:
    add_voter(app)
    soporte_secret = add_operator(app, "ana", "soporte")
    add_operator(app, "obs", "observador")
    b = Browser(app)
    activate_sms(b, send_activation(app))
    assert b.client.get("/api/t/yo").status_code == 200

    # No self-service: the help desk needs an operator with the role "soporte".
    assert Browser(app).get("/ayuda/").status_code == 302
    obs = operator_login(app, "obs", None)
    assert obs.get("/ayuda/").status_code == 403

    desk = operator_login(app, "ana", soporte_secret)
    assert desk.get("/ayuda/").status_code == 200
    r = desk.submit("/ayuda/buscar", page="/ayuda/", q="v0001@ejemplo.org")
    assert r.status_code == 200 and "V0001" in desk.page and "<dd>v••••@ejemplo.org</dd>" in desk.page  # masked
    assert "1234" in desk.page
    r = desk.submit("/ayuda/segundo-factor", page="/ayuda/", votante="V0001", motivo="corto", identidad="1")
    assert r.status_code == 400  # a reason is required
    r = desk.submit("/ayuda/segundo-factor", page="/ayuda/", votante="V0001",
                    motivo="Perdió su teléfono; identidad verificada por videollamada", identidad="1",
                    nuevo_celular="+1 555 010 9876")
    assert r.status_code == 200, desk.page

    with session_scope(engine(app)) as s:
        rows = list(s.scalars(select(AuditLog).where(AuditLog.action == "helpdesk.segundo-factor")))
        assert len(rows) == 1 and rows[0].voter_id == "V0001" and rows[0].operator_id is not None
        assert "videollamada" in (rows[0].detail or "")
        assert s.scalar(select(AuditLog).where(AuditLog.action == "helpdesk.consulta")) is not None
        assert s.scalar(select(AuditLog).where(AuditLog.action == "operador.entrar")) is not None
    v = voter_row(app)
    assert v.password_hash is None and v.second_factor is None and v.activated_at is None
    assert v.phone == "+15550109876"
    assert b.client.get("/api/t/yo").status_code == 401  # the voter's sessions ended
    r = Browser(app).submit("/cuenta/entrar", usuario="V0001", clave=PASSWORD)
    assert r.status_code == 401

    # The voter activates again from the new link, with the new phone's digits.
    link = link_in(read_mail_outbox(outbox(app))[-1].body, "/cuenta/activar")
    assert "restablec" in read_mail_outbox(outbox(app))[-1].body
    b = Browser(app)
    b.get(link)
    token = link.split("t=", 1)[1]
    assert b.submit("/cuenta/activar", page=link, t=token, digitos="1234").status_code == 401
    assert location(b.submit("/cuenta/activar", page=link, t=token, digitos="9876")) == "/cuenta/activar/factor"
    clock.advance(seconds=61)
    b.submit("/cuenta/activar/factor", factor="sms")
    assert read_sms_outbox(sms_box(app))[-1].to == "+15550109876"


def operator_login(app: Flask, username: str, secret: str | None) -> Browser:
    b = Browser(app)
    if secret is None:
        with session_scope(engine(app)) as s:
            op = s.scalar(select(Operator).where(Operator.username == username))
            assert op is not None and op.totp_secret is not None
            secret = opened_operator_totp(app, username, op.totp_secret)
    r = b.submit("/operacion/entrar", usuario=username, clave=OP_PASSWORD)
    assert location(r) == "/operacion/codigo", b.page
    r = b.submit("/operacion/codigo", codigo=codes.totp_now(secret, models.utcnow()))
    assert r.status_code == 303, b.page
    return b


def test_operator_login_password_and_totp(app: Flask) -> None:
    secret = add_operator(app, "admin", "administrador")
    b = Browser(app)
    assert b.get("/operacion").status_code == 302
    r = b.submit("/operacion/entrar", usuario="admin", clave="incorrecta-larga")
    assert r.status_code == 401
    r = b.submit("/operacion/entrar", usuario="admin", clave=OP_PASSWORD)
    assert location(r) == "/operacion/codigo"
    assert b.get("/operacion").status_code == 302  # not yet
    r = b.submit("/operacion/codigo", codigo="12345x")
    assert r.status_code == 401
    r = b.submit("/operacion/codigo", codigo=codes.totp_now(secret, models.utcnow()))
    assert location(r) == "/operacion"
    assert b.get("/operacion").status_code == 200
    r = b.submit("/operacion/salir", page="/operacion/padron")
    assert b.get("/operacion").status_code == 302


# -- lockout, sessions, CSRF, enumeration, bad input, logs ------------------------------------------------------

def test_throttle_with_backoff_never_a_lock(app: Flask, clock: Clock) -> None:
    add_voter(app)
    activate_sms(Browser(app), send_activation(app))
    b = Browser(app)
    b.client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    for _ in range(4):
        assert b.submit("/cuenta/entrar", usuario="V0001", clave="mala contraseña").status_code == 401
    r = b.submit("/cuenta/entrar", usuario="V0001", clave="mala contraseña")
    assert r.status_code == 429 and "esperar" in b.page
    # From this address even the right password waits (no password hash computed meanwhile)…
    assert b.submit("/cuenta/entrar", usuario="V0001", clave=PASSWORD).status_code == 429
    # …but the voter from another address is not slowed at all: throttle, never lock.
    other = Browser(app)
    other.client.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert location(other.submit("/cuenta/entrar", usuario="V0001", clave=PASSWORD)) == "/cuenta/codigo"
    settings: AuthSettings = app.extensions["sivei_auth_settings"]
    key = limits.guard_key("voter", "V0001", "203.0.113.7")
    first = limits.throttled_until(engine(app), key)
    assert first is not None and first - clock.now() <= timedelta(seconds=settings.throttle_base_seconds)
    clock.advance(seconds=settings.throttle_base_seconds + 1)
    r = b.submit("/cuenta/entrar", usuario="V0001", clave="mala contraseña")  # the wait doubles
    second = limits.throttled_until(engine(app), key)
    assert r.status_code == 429 and second is not None
    assert second - clock.now() > timedelta(seconds=settings.throttle_base_seconds)
    for _ in range(12):  # …up to the cap
        clock.advance(seconds=settings.throttle_max_seconds + 1)
        limits.record_failure(engine(app), key, settings)
    until = limits.throttled_until(engine(app), key)
    assert until is not None and until - clock.now() <= timedelta(seconds=settings.throttle_max_seconds)
    clock.advance(seconds=settings.throttle_max_seconds + 1)
    assert location(b.submit("/cuenta/entrar", usuario="V0001", clave=PASSWORD)) == "/cuenta/codigo"
    # Unknown users are throttled the same way (a throttle reveals nothing).
    b2 = Browser(app)
    statuses = [b2.submit("/cuenta/entrar", usuario="NADIE", clave="x").status_code for _ in range(6)]
    assert statuses == [401, 401, 401, 401, 429, 429]


def test_per_address_rate_limit(tmp_path: Path, clock: Clock) -> None:
    app = build_app(tmp_path, ip_limit=3, ip_window_seconds=60)
    b = Browser(app)
    statuses = [b.submit("/cuenta/olvide", usuario=f"X{i}").status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    clock.advance(seconds=61)
    assert b.submit("/cuenta/olvide", usuario="X9").status_code == 200


def test_session_ends_at_30_minutes_no_matter_what(app: Flask, clock: Clock) -> None:
    add_voter(app)
    activate_sms(Browser(app), send_activation(app))
    clock.advance(seconds=61)
    b = Browser(app)
    b.submit("/cuenta/entrar", usuario="V0001", clave=PASSWORD)
    clock.advance(minutes=4)  # the code step comes later: the limit counts from the password step
    code = last_sms_code(app)
    r = b.submit("/cuenta/codigo", codigo=code)
    assert location(r) == "/cuenta/"
    with session_scope(engine(app)) as s:
        row = s.scalar(select(WebSession).where(WebSession.subject_id == "V0001"))
        assert row is not None and row.expires_at - row.created_at <= timedelta(minutes=30)
    for _ in range(5):  # activity does not extend it
        clock.advance(minutes=5)
        assert b.client.get("/api/t/yo").status_code == 200
    clock.advance(minutes=0, seconds=59)
    assert b.client.get("/api/t/yo").status_code == 200  # 29:59 after the password
    clock.advance(seconds=2)
    assert b.client.get("/api/t/yo").status_code == 401
    r = b.client.get("/cuenta/")
    assert r.status_code == 302 and "/cuenta/entrar" in r.headers["Location"]


def test_partial_session_expires_too(app: Flask, clock: Clock) -> None:
    add_voter(app)
    link = send_activation(app)
    b = Browser(app)
    b.get(link)
    b.submit("/cuenta/activar", page=link, t=link.split("t=", 1)[1], digitos="1234")
    clock.advance(minutes=31)
    r = b.client.get("/cuenta/activar/factor")
    assert r.status_code == 303 and "aviso=sesion" in r.headers["Location"]


def test_csrf_is_required_on_every_form(app: Flask) -> None:
    add_voter(app)
    c = app.test_client()
    assert c.post("/cuenta/entrar", data={"usuario": "V0001", "clave": "x"}).status_code == 403
    c.get("/cuenta/entrar")  # now the browser has its anonymous CSRF cookie
    for path in ("/cuenta/entrar", "/cuenta/activar", "/cuenta/olvide", "/cuenta/codigo", "/cuenta/clave",
                 "/cuenta/restablecer", "/cuenta/salir", "/operacion/entrar", "/operacion/codigo", "/ayuda/buscar",
                 "/operacion/padron"):
        assert c.post(path, data={"usuario": "V0001"}).status_code == 403, path
        assert c.post(path, data={"csrf_token": "x" * 43}).status_code == 403, path
    # A token from another browser does not work either.
    other = Browser(app)
    other.get("/cuenta/entrar")
    token = CSRF.search(other.page)
    assert token
    assert c.post("/cuenta/entrar", data={"csrf_token": token.group(1), "usuario": "V0001"}).status_code == 403


def test_no_user_enumeration_on_login(app: Flask) -> None:
    add_voter(app)
    add_voter(app, "V0002", "+15550102222")  # on the roll, not activated
    activate_sms(Browser(app), send_activation(app))
    answers = set()
    for name in ("V0001", "V0002", "NADIE"):
        b = Browser(app)
        r = b.submit("/cuenta/entrar", usuario=name, clave="mala contraseña")
        answers.add((r.status_code, without_tokens(b.page).replace(name, "USUARIO")))
    assert len(answers) == 1


def test_bad_input_never_500(app: Flask) -> None:
    add_voter(app)
    b = Browser(app)
    junk = ["", "\x00", "💥" * 300, "x" * 20000, "' OR 1=1 --", "<script>", "../../etc/passwd"]
    for value in junk:
        for path, field in (("/cuenta/entrar", "usuario"), ("/cuenta/activar", "t"), ("/cuenta/olvide", "usuario"),
                            ("/cuenta/restablecer", "t"), ("/operacion/entrar", "usuario")):
            r = b.submit(path, page="/cuenta/entrar", **{field: value, "clave": value, "digitos": value})
            assert r.status_code < 500 and (r.status_code >= 300 or path == "/cuenta/olvide"), (path, value[:20])
        for path in ("/cuenta/activar?t=", "/cuenta/restablecer?t=", "/cuenta/entrar?siguiente="):
            r = b.client.get(path + value[:2000])
            assert r.status_code < 500
    for path in ("/cuenta/codigo", "/cuenta/clave", "/cuenta/activar/factor", "/cuenta/activar/app"):
        r = b.submit(path, page="/cuenta/entrar", codigo="123456", clave="x", factor="zzz")
        assert r.status_code == 303 and "aviso=sesion" in r.headers["Location"]
        assert b.client.get(path).status_code == 303
    # A redirect never leaves the site.
    add_voter(app, "V0003", "+15550103333")
    r = b.submit("/cuenta/entrar", page="/cuenta/entrar?siguiente=//malo.example", usuario="X", clave="y",
                 siguiente="//malo.example")
    assert "malo.example" not in b.page


def test_secrets_never_reach_the_logs(app: Flask, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    add_voter(app)
    link = send_activation(app)
    b = Browser(app)
    activate_sms(b, link)
    clock.advance(seconds=61)
    login_sms(Browser(app))
    Browser(app).submit("/cuenta/olvide", usuario="V0001")
    accounts.flush_resets()
    reset = link_in(read_mail_outbox(outbox(app))[-1].body, "/cuenta/restablecer")
    Browser(app).get(reset)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /cuenta/activar" in text  # the access log ran…
    secrets_seen = [link.split("t=", 1)[1], reset.split("t=", 1)[1], PASSWORD, "t=", *(
        re.findall(r"\b\d{6}\b", "\n".join(m.body for m in read_sms_outbox(sms_box(app)))))]
    for secret in secrets_seen:
        assert secret not in text, secret  # …without tokens, links, passwords or codes


def test_language_switch(app: Flask) -> None:
    b = Browser(app)
    r = b.get("/cuenta/entrar?lang=en")
    assert r.status_code == 200 and "Log in to vote" in b.page and '<html lang="en">' in b.page
    assert "sivei-idioma=en" in r.headers.get("Set-Cookie", "")
    b.get("/cuenta/olvide")
    assert "I forgot my password" in b.page and 'href="/cuenta/olvide?lang=es"' in b.page
    b.get("/cuenta/entrar?lang=es")
    assert "Entrar a votar" in b.page


def test_pages_are_accessible_basics(app: Flask) -> None:
    """Every auth page: a language, one h1, labelled inputs, no inline script or style, no third party."""
    add_voter(app)
    link = send_activation(app)
    b = Browser(app)
    pages = ["/cuenta/entrar", "/cuenta/olvide", link, "/operacion/entrar"]
    for path in pages:
        r = b.get(path)
        html = b.page
        assert r.status_code == 200 and "Content-Security-Policy" in r.headers
        assert html.count("<h1>") == 1 and '<html lang="es">' in html
        # No inline script (only this server's files: the times script on some pages), no inline style.
        assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", html)
        assert "style=" not in html and "http://" not in html.replace("http://localhost", "")
        for input_id in re.findall(r'<input id="([^"]+)"', html):
            assert f'<label for="{input_id}"' in html, (path, input_id)
    css = b.client.get("/cuenta/estatico/auth.css")
    assert css.status_code == 200 and b"outline" in css.data


def test_settings_refuse_weak_argon2_in_production(tmp_path: Path) -> None:
    from sivei_server.config import ConfigError, ServerConfig

    prod = {"production": True, "public_url": "https://votar.example", "proxy_addresses": ("127.0.0.1",),
            "board_journal": tmp_path / "diario.jsonl"}
    cfg = ServerConfig(data_dir=tmp_path, extra=FAST, **prod)
    with pytest.raises(ConfigError):
        AuthSettings.from_config(cfg, env={})
    assert AuthSettings.from_config(ServerConfig(data_dir=tmp_path, **prod), env={}).argon2_time_cost >= 2


def test_housekeeping_purges_stale_rows(app: Flask, clock: Clock) -> None:
    from sivei_server.models import RateLimit

    add_voter(app)
    activate_sms(Browser(app), send_activation(app))
    Browser(app).submit("/cuenta/entrar", usuario="NADIE", clave="x")
    settings: AuthSettings = app.extensions["sivei_auth_settings"]
    key = limits.guard_key("voter", "otro", "203.0.113.5")
    for _ in range(5):
        limits.record_failure(engine(app), key, settings)
    with session_scope(engine(app)) as s:
        s.add(RateLimit(key="totp:voter:V0001", count=123, window_start=clock.now(), updated_at=clock.now(),
                        failures=0, lockout_level=0))
    clock.advance(days=3)
    limits.housekeeping(engine(app))
    with session_scope(engine(app)) as s:
        keys = set(s.scalars(select(RateLimit.key)))
        assert keys == {"totp:voter:V0001"}
        assert not list(s.scalars(select(OneTimeCode.id)))
        assert not list(s.scalars(select(WebSession.token_hash)))



def test_form_post_after_the_session_ended_goes_back_to_login(app: Flask, clock: Clock) -> None:
    """A page's form posted after the 30-minute limit returns to the login page, not raw JSON."""
    add_voter(app)
    b = Browser(app)
    activate_sms(b, send_activation(app))
    b.get("/cuenta/")
    match = CSRF.search(b.page)
    assert match, b.page
    clock.advance(minutes=31)
    r = b.client.post("/cuenta/salir", data={"csrf_token": match.group(1)}, headers={"Accept": "text/html"})
    assert r.status_code in (302, 303) and "/cuenta/entrar" in r.headers["Location"], r.get_data(as_text=True)
    api = b.client.post("/api/votar", json={}, headers={"X-CSRF-Token": match.group(1)})
    assert api.status_code == 401 and api.get_json()["error"] == "sesion"
