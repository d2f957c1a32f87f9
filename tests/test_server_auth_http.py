"""Notification backends against real outside-world stand-ins — a local SMTP relay (aiosmtpd, plain,
STARTTLS with login) and file/console/plug-in SMS gateways — and the whole voter journey over real
HTTP on loopback: an operator logs in (password + TOTP) and sends the activation links through the
SMTP relay; the voter activates (phone digits, SMS code, password), logs out and logs in again."""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import io
import ipaddress
import re
import socket
import ssl
import stat
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from servertools import make_app, sealed_operator_totp
from sivei_server import models
from sivei_server.auth import codes
from sivei_server.auth.settings import AuthSettings
from sivei_server.config import ServerConfig
from sivei_server.db import session_scope
from sivei_server.models import Operator, Voter
from sivei_server.notify import (
    ConsoleSmsGateway,
    FileMailer,
    FileSmsGateway,
    MailMessage,
    Notifier,
    NotifyError,
    NotifySettings,
    SmsMessage,
    SmtpMailer,
    activation_email,
    read_mail_outbox,
    read_sms_outbox,
    sms_from_settings,
)

FAST = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


# -- a local SMTP relay --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "relay.pem", tmp / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def relay() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def tls_relay(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == b"sivei" and data.password == b"clave-del-relevo"
        if ok:
            inbox.logins.append(data.login.decode())
        return AuthResult(success=ok)

    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=authenticate, auth_require_tls=True)
    controller.start()
    try:
        yield inbox, port, cert
    finally:
        controller.stop()


def parsed(raw: bytes) -> Any:
    return message_from_bytes(raw, policy=policy.default)


# -- backends ------------------------------------------------------------------------------------------------

def test_smtp_plain(relay: tuple[Inbox, int]) -> None:
    inbox, port = relay
    mailer = SmtpMailer("127.0.0.1", port, starttls=False, sender="SIVEI <sivei@ejemplo.org>")
    expires = dt.datetime(2027, 5, 1, tzinfo=dt.UTC)
    mailer.send(activation_email("maria@ejemplo.org", "V0001", "https://votar.example/cuenta/activar?t=abc", expires))
    assert len(inbox.messages) == 1
    sender, rcpts, raw = inbox.messages[0]
    msg = parsed(raw)
    assert rcpts == ["maria@ejemplo.org"] and sender == "sivei@ejemplo.org"
    body = msg.get_body(("plain",)).get_content()
    assert "Activa tu cuenta" in msg["Subject"] and "Tu usuario: V0001" in body and "?t=abc" in body
    assert "últimos 4 dígitos" in body and msg["Auto-Submitted"] == "auto-generated"


def test_smtp_starttls_with_login(tls_relay: tuple[Inbox, int, Path]) -> None:
    inbox, port, cert = tls_relay
    mailer = SmtpMailer("127.0.0.1", port, starttls=True, username="sivei", password="clave-del-relevo",
                        cafile=str(cert))
    assert "clave-del-relevo" not in repr(mailer)
    mailer.send(MailMessage("ana@ejemplo.org", "Prueba", "Hola"))
    assert inbox.logins == ["sivei"] and len(inbox.messages) == 1
    # Without STARTTLS the relay refuses; an untrusted certificate is refused by the client.
    with pytest.raises(NotifyError):
        SmtpMailer("127.0.0.1", port, starttls=False, username="sivei", password="clave-del-relevo").send(
            MailMessage("ana@ejemplo.org", "x", "y"))
    with pytest.raises(NotifyError):
        SmtpMailer("127.0.0.1", port, starttls=True).send(MailMessage("ana@ejemplo.org", "x", "y"))
    with pytest.raises(NotifyError):
        SmtpMailer("127.0.0.1", free_port(), starttls=False, timeout=2).send(MailMessage("a@b.org", "x", "y"))
    assert len(inbox.messages) == 1


def test_file_outboxes_are_private(tmp_path: Path) -> None:
    FileMailer(tmp_path / "buzon").send(MailMessage("a@ejemplo.org", "Asunto ñ", "Cuerpo con acentos: áéí"))
    FileSmsGateway(tmp_path / "sms").send(SmsMessage("+15550100000", "SIVEI: tu código es 123456."))
    mails, sms = read_mail_outbox(tmp_path / "buzon"), read_sms_outbox(tmp_path / "sms")
    assert mails[0].subject == "Asunto ñ" and "áéí" in mails[0].body and sms[0].to == "+15550100000"
    for path in (mails[0].path, sms[0].path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


class RecordingGateway:
    sent: list[SmsMessage] = []  # noqa: RUF012 - a test double

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    def send(self, message: SmsMessage) -> None:
        RecordingGateway.sent.append(message)


class BrokenGateway:
    def __init__(self, settings: NotifySettings) -> None:
        pass

    def send(self, message: SmsMessage) -> None:
        raise OSError("pasarela caída")


def test_sms_gateways_from_settings(tmp_path: Path) -> None:
    out = io.StringIO()
    ConsoleSmsGateway(out).send(SmsMessage("+15550100000", "hola"))
    assert out.getvalue() == "[SMS a +15550100000] hola\n"
    cfg = ServerConfig(data_dir=tmp_path, extra={"sms": f"{__name__}:RecordingGateway"})
    gateway = sms_from_settings(NotifySettings.from_config(cfg, env={}))
    gateway.send(SmsMessage("+15550100001", "x"))
    assert RecordingGateway.sent[-1].to == "+15550100001"
    assert isinstance(sms_from_settings(NotifySettings.from_config(
        ServerConfig(data_dir=tmp_path, extra={"sms": "consola"}), env={})), ConsoleSmsGateway)
    for bad in ("nada", "no.existe:Clase"):
        with pytest.raises(NotifyError):
            sms_from_settings(NotifySettings.from_config(ServerConfig(data_dir=tmp_path, extra={"sms": bad}), env={}))
    with pytest.raises(NotifyError):
        NotifySettings.from_config(ServerConfig(data_dir=tmp_path), env={"SIVEI_CORREO": "smtp"})
    smtp = NotifySettings.from_config(ServerConfig(data_dir=tmp_path), env={
        "SIVEI_CORREO": "smtp", "SIVEI_SMTP_HOST": "relevo", "SIVEI_SMTP_CLAVE": "secreta"})
    assert smtp.smtp_starttls and smtp.smtp_port is None and "secreta" not in repr(smtp)
    # File outboxes write links and codes: only with the development flag, never in production.
    with pytest.raises(NotifyError):
        Notifier.from_config(ServerConfig(data_dir=tmp_path))
    dev = ServerConfig(data_dir=tmp_path, extra={"buzon_desarrollo": True})
    assert isinstance(Notifier.from_config(dev).mailer, FileMailer)
    with pytest.raises(NotifyError):
        Notifier.from_config(ServerConfig(data_dir=tmp_path, production=True, public_url="https://votar.example",
                                          proxy_addresses=("127.0.0.1",), board_journal=tmp_path / "diario.jsonl",
                                          extra={"buzon_desarrollo": True}))


def test_sms_gateway_failure_is_a_clear_answer(tmp_path: Path) -> None:
    app = make_app(tmp_path, extra={**FAST, "sms": f"{__name__}:BrokenGateway"})
    from test_server_auth import Browser, add_voter, location, send_activation

    add_voter(app)
    link = send_activation(app)
    b = Browser(app)
    b.get(link)
    b.submit("/cuenta/activar", page=link, t=link.split("t=", 1)[1], digitos="1234")
    r = b.submit("/cuenta/activar/factor", factor="sms")
    assert r.status_code == 303 and "aviso=fallo" in r.headers["Location"]
    assert location(r) == "/cuenta/codigo"
    assert "No pudimos enviar el SMS" in b.get(r.headers["Location"]).get_data(as_text=True)


def test_secure_cookie_flags(tmp_path: Path) -> None:
    app = make_app(tmp_path, cookie_secure=True, extra=FAST)
    client = app.test_client()
    r = client.get("/cuenta/entrar?lang=en", base_url="https://localhost")
    cookies = r.headers.getlist("Set-Cookie")
    anon = next(c for c in cookies if c.startswith("__Host-sivei-csrf="))
    assert "Secure" in anon and "HttpOnly" in anon and "SameSite=Strict" in anon and "Path=/" in anon
    lang = next(c for c in cookies if c.startswith("sivei-idioma="))
    assert "Secure" in lang and "HttpOnly" in lang
    assert "max-age=31536000" in r.headers["Strict-Transport-Security"]


# -- the whole journey over real HTTP --------------------------------------------------------------------------

class Web:
    """A browser stand-in: cookies, redirects followed, forms posted with their CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.page = ""
        self.url = ""
        self.headers: Any = None

    def open(self, path: str, data: dict[str, str] | None = None) -> int:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)
        try:
            with self.opener.open(request, timeout=10) as r:
                status, self.headers, raw, self.url = r.status, r.headers, r.read(), r.url
        except urllib.error.HTTPError as exc:
            status, self.headers, raw, self.url = exc.code, exc.headers, exc.read(), exc.url
        self.page = raw.decode("utf-8", "replace")
        return int(status)

    def submit(self, path: str, page: str | None = None, **fields: str) -> int:
        self.open(page or path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', self.page)
        assert match, self.page
        return self.open(path, {"csrf_token": match.group(1), **fields})

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path


@pytest.fixture
def served(tmp_path: Path, relay: tuple[Inbox, int]) -> Iterator[tuple[Any, str, Inbox]]:
    inbox, port = relay
    app = make_app(tmp_path, extra={**FAST, "correo": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port,
                                    "smtp_starttls": False, "remitente": "INE <voto@ejemplo.org>"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", inbox
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_voter_journey_over_http(served: tuple[Any, str, Inbox]) -> None:
    app, base, inbox = served
    engine = app.extensions["sivei_engine"]
    settings: AuthSettings = app.extensions["sivei_auth_settings"]
    secret = codes.new_totp_secret()
    with session_scope(engine) as s:
        s.add(Voter(voter_id="V0001", username="V0001", entity="JAL", email="maria@ejemplo.org",
                    phone="+15550104321"))
        s.add(Operator(username="admin", role="administrador", totp_secret=sealed_operator_totp(app, "admin", secret),
                       password_hash=codes.hash_password(settings, "operador-clave-larga")))

    # The administrator logs in (password + TOTP) and sends the activation links through SMTP.
    op = Web(base)
    assert op.open("/operacion") == 200 and op.path == "/operacion/entrar"
    assert op.submit("/operacion/entrar", usuario="admin", clave="operador-clave-larga") == 200
    assert op.path == "/operacion/codigo"
    assert op.submit("/operacion/codigo", codigo=codes.totp_now(secret, models.utcnow())) == 200
    assert op.path == "/operacion"
    assert op.submit("/operacion/padron/notificar", page="/operacion/padron") == 200
    assert "Enlaces de activación enviados: 1" in op.page
    assert len(inbox.messages) == 1
    _, rcpts, raw = inbox.messages[0]
    body = parsed(raw).get_body(("plain",)).get_content()
    assert rcpts == ["maria@ejemplo.org"] and "Tu usuario: V0001" in body
    match = re.search(r"(http://127\.0\.0\.1:\d+)(/cuenta/activar\?t=\S+)", body)
    assert match and match.group(1) == base
    link = match.group(2)

    # The voter: activation link → phone digits → SMS code → password → logged in.
    voter = Web(base)
    assert voter.open(link) == 200 and "V0001" in voter.page
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["t"][0]
    assert voter.submit("/cuenta/activar", page=link, t=token, digitos="4321") == 200
    assert voter.path == "/cuenta/activar/factor"
    assert voter.submit("/cuenta/activar/factor", factor="sms") == 200 and voter.path == "/cuenta/codigo"
    sms = read_sms_outbox(app.extensions["sivei_config"].data_dir / "sms")
    code = re.search(r"\b(\d{6})\b", sms[-1].body)
    assert code and sms[-1].to == "+15550104321"
    assert voter.submit("/cuenta/codigo", codigo=code.group(1)) == 200 and voter.path == "/cuenta/clave"
    assert voter.submit("/cuenta/clave", clave="mi frase secreta larga", confirmacion="mi frase secreta larga") == 200
    assert voter.path == "/cuenta/" and "Sesión iniciada" in voter.page and "V0001" in voter.page
    assert voter.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert voter.open(link) == 400  # single use

    assert voter.submit("/cuenta/salir", page="/cuenta/") == 200 and voter.path == "/cuenta/entrar"
    assert voter.open("/cuenta/") == 200 and voter.path == "/cuenta/entrar"

    # Later: user + password + code.
    assert voter.submit("/cuenta/entrar", usuario="V0001", clave="mi frase secreta larga") == 200
    sms = read_sms_outbox(app.extensions["sivei_config"].data_dir / "sms")
    code = re.search(r"\b(\d{6})\b", sms[-1].body)
    assert code
    assert voter.submit("/cuenta/codigo", codigo=code.group(1)) == 200 and voter.path == "/cuenta/"
    # A page that requires a voter sends an anonymous browser to the login page, and back after it.
    anon = Web(base)
    assert anon.open("/votar/sesion") == 200 and anon.path == "/cuenta/entrar"
    assert 'name="siguiente" value="/votar/sesion"' in anon.page
    # The booth itself loads without a session (the credential authority's link opens it) and sends
    # the voter to log in: in this tab and back (no link), or in another tab that ends on /votar/sesion.
    assert anon.open("/votar") == 200 and anon.path == "/votar"
    assert 'data-entrar="/cuenta/entrar?siguiente=/votar"' in anon.page
    assert 'data-entrar-pestana="/cuenta/entrar?siguiente=/votar/sesion"' in anon.page
