"""Notifications to voters: email (activation links, password-reset links, help-desk notices) and SMS
(one-time codes).

Backends
    * Email — ``archivo`` (default): a file outbox, one RFC 5322 ``.eml`` file per message in a folder
      (drills, tests, or a separate mail-merge process that picks them up); ``smtp``: real mail through
      a relay with ``smtplib`` (implicit TLS or STARTTLS, optional login).
    * SMS — ``archivo`` (default): one ``.txt`` file per message in a folder; ``consola``: the message
      printed on standard output (drills at a terminal); or ``paquete.modulo:Clase``, any class with a
      ``send(SmsMessage)`` method built as ``Clase(settings)`` — the interface a real SMS gateway
      implements.

Files of both outboxes are written atomically with mode 0600 in folders of mode 0700: they carry
activation links and codes. So the file and console backends are development tools: they run only
with the development flag ``buzon_desarrollo`` (``SIVEI_BUZON_DESARROLLO=1``), which production
refuses and which says so loudly at start-up (a warning in the log). Without it a server configured
with them does not start. Nothing here logs a message's body (it may hold a code or a link).

Settings (``ServerConfig.extra`` key, else environment variable):

==================  ==========================  ==========================================
extra               environment                 meaning
==================  ==========================  ==========================================
``correo``          ``SIVEI_CORREO``            ``archivo`` | ``smtp``
``buzon``           ``SIVEI_BUZON``             outbox folder (default ``<data>/buzon``)
``remitente``       ``SIVEI_CORREO_REMITENTE``  From: address
``smtp_host``       ``SIVEI_SMTP_HOST``         relay host
``smtp_port``       ``SIVEI_SMTP_PORT``         default 587 (465 with ``smtp_ssl``)
``smtp_starttls``   ``SIVEI_SMTP_STARTTLS``     ``1`` (default) upgrades with STARTTLS
``smtp_ssl``        ``SIVEI_SMTP_SSL``          ``1``: implicit TLS (SMTPS)
``smtp_usuario``    ``SIVEI_SMTP_USUARIO``      login (optional)
``smtp_clave``      ``SIVEI_SMTP_CLAVE``        password (optional; never logged)
``smtp_cafile``     ``SIVEI_SMTP_CAFILE``       extra CA bundle to trust (private relays)
``sms``             ``SIVEI_SMS``               ``archivo`` | ``consola`` | ``modulo:Clase``
``sms_dir``         ``SIVEI_SMS_DIR``           SMS outbox folder (default ``<data>/sms``)
``buzon_desarrollo`` ``SIVEI_BUZON_DESARROLLO`` ``1``: allow the file/console backends (development)
==================  ==========================  ==========================================
"""

from __future__ import annotations

import email.policy
import importlib
import itertools
import logging
import os
import smtplib
import ssl
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol, TextIO

from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei_server.config import ServerConfig

DEFAULT_SENDER = "SIVEI <no-responder@sivei.invalid>"
SMTP_TIMEOUT = 30.0


class NotifyError(SiveiError):
    """A notification could not be configured or handed to its backend."""


# -- messages -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MailMessage:
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str


class Mailer(Protocol):
    def send(self, message: MailMessage) -> None: ...


class SmsGateway(Protocol):
    def send(self, message: SmsMessage) -> None: ...


# -- settings ---------------------------------------------------------------------------------------

_ENV = {
    "correo": "SIVEI_CORREO", "buzon": "SIVEI_BUZON", "remitente": "SIVEI_CORREO_REMITENTE",
    "smtp_host": "SIVEI_SMTP_HOST", "smtp_port": "SIVEI_SMTP_PORT", "smtp_starttls": "SIVEI_SMTP_STARTTLS",
    "smtp_ssl": "SIVEI_SMTP_SSL", "smtp_usuario": "SIVEI_SMTP_USUARIO", "smtp_clave": "SIVEI_SMTP_CLAVE",
    "smtp_cafile": "SIVEI_SMTP_CAFILE", "sms": "SIVEI_SMS", "sms_dir": "SIVEI_SMS_DIR",
    "buzon_desarrollo": "SIVEI_BUZON_DESARROLLO",
}
DEV_WARNING = ("MODO DE DESARROLLO (SIVEI_BUZON_DESARROLLO): los enlaces de activación y los códigos SMS se "
               "escriben en archivos o en la consola. Nunca en una elección real. / DEVELOPMENT MODE: activation "
               "links and SMS codes are written to files or the console. Never in a real election.")


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "si", "sí", "on"}


@dataclass(frozen=True)
class NotifySettings:
    mail_backend: str = "archivo"
    outbox: Path = Path("sivei-servidor/buzon")
    sender: str = DEFAULT_SENDER
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_cafile: str | None = None
    sms_backend: str = "archivo"
    sms_outbox: Path = Path("sivei-servidor/sms")
    dev_outbox: bool = False

    @property
    def writes_secrets(self) -> bool:
        """True when a backend writes links or codes to files or the console."""
        return self.mail_backend == "archivo" or self.sms_backend in ("archivo", "file", "consola", "console")

    def __repr__(self) -> str:  # never print the SMTP password
        return f"NotifySettings(mail={self.mail_backend!r}, sms={self.sms_backend!r})"

    @staticmethod
    def from_config(config: ServerConfig, env: Mapping[str, str] | None = None) -> NotifySettings:
        env = os.environ if env is None else env

        def get(key: str) -> Any:
            if key in config.extra:
                return config.extra[key]
            value = env.get(_ENV[key])
            return value if value not in (None, "") else None

        mail = str(get("correo") or "archivo").strip().lower()
        if mail not in ("archivo", "file", "smtp"):
            raise NotifyError(tr(f"servicio de correo desconocido {mail!r} (archivo | smtp)",
                                 f"unknown mail backend {mail!r} (archivo | smtp)"))
        ssl_on = _flag(get("smtp_ssl") or False)
        starttls = get("smtp_starttls")
        port = get("smtp_port")
        settings = NotifySettings(
            mail_backend="smtp" if mail == "smtp" else "archivo",
            outbox=Path(get("buzon") or config.data_dir / "buzon"),
            sender=str(get("remitente") or DEFAULT_SENDER),
            smtp_host=get("smtp_host"),
            smtp_port=int(port) if port is not None else None,
            smtp_starttls=(not ssl_on) if starttls is None else _flag(starttls),
            smtp_ssl=ssl_on,
            smtp_user=get("smtp_usuario"),
            smtp_password=get("smtp_clave"),
            smtp_cafile=get("smtp_cafile"),
            sms_backend=str(get("sms") or "archivo").strip(),
            sms_outbox=Path(get("sms_dir") or config.data_dir / "sms"),
            dev_outbox=_flag(get("buzon_desarrollo") or False),
        )
        if settings.mail_backend == "smtp" and not settings.smtp_host:
            raise NotifyError(tr("el correo SMTP requiere smtp_host (SIVEI_SMTP_HOST)",
                                 "SMTP mail needs smtp_host (SIVEI_SMTP_HOST)"))
        return settings


# -- file outboxes ------------------------------------------------------------------------------------

_seq = itertools.count()
_seq_lock = threading.Lock()


def _stamp() -> str:
    with _seq_lock:
        n = next(_seq)
    now = datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond:06d}-{os.getpid()}-{n:06d}"


def _safe_part(address: str) -> str:
    return "".join(c if c.isalnum() or c in "@.+-_" else "_" for c in address)[:80]


def _write_private(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / name
    tmp = folder / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    return target


def build_email(message: MailMessage, sender: str) -> EmailMessage:
    em = EmailMessage(policy=email.policy.SMTP)
    em["From"] = sender
    em["To"] = message.to
    em["Subject"] = message.subject
    em["Date"] = formatdate(localtime=False, usegmt=True)
    em["Message-ID"] = make_msgid(domain="sivei.invalid")
    em["Auto-Submitted"] = "auto-generated"
    em.set_content(message.body, charset="utf-8")
    return em


class FileMailer:
    """One ``.eml`` file per message in ``folder`` (the default, for drills)."""

    def __init__(self, folder: Path, sender: str = DEFAULT_SENDER) -> None:
        self.folder = Path(folder)
        self.sender = sender

    def send(self, message: MailMessage) -> None:
        data = build_email(message, self.sender).as_bytes()
        _write_private(self.folder, f"{_stamp()}-{_safe_part(message.to)}.eml", data)


class SmtpMailer:
    """Real mail through an SMTP relay (``smtplib``): implicit TLS or STARTTLS, optional login. The
    server's certificate is always checked (system CAs plus ``cafile``)."""

    def __init__(self, host: str, port: int | None = None, *, starttls: bool = True, use_ssl: bool = False,
                 username: str | None = None, password: str | None = None, cafile: str | None = None,
                 sender: str = DEFAULT_SENDER, timeout: float = SMTP_TIMEOUT) -> None:
        self.host = host
        self.port = port if port is not None else (465 if use_ssl else 587)
        self.starttls = starttls and not use_ssl
        self.use_ssl = use_ssl
        self.username = username
        self._password = password
        self.cafile = cafile
        self.sender = sender
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SmtpMailer({self.host!r}, {self.port}, starttls={self.starttls}, ssl={self.use_ssl})"

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.cafile:
            ctx.load_verify_locations(cafile=self.cafile)
        return ctx

    def send(self, message: MailMessage) -> None:
        em = build_email(message, self.sender)
        try:
            smtp: smtplib.SMTP
            if self.use_ssl:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self._password or "")
                smtp.send_message(em)
        except (OSError, smtplib.SMTPException) as exc:
            # The exception text names the relay's answer, never the message body.
            raise NotifyError(tr(f"no se pudo entregar el correo al relevo {self.host}:{self.port}: "
                                 f"{type(exc).__name__}",
                                 f"could not hand the mail to the relay {self.host}:{self.port}: "
                                 f"{type(exc).__name__}")) from exc


class FileSmsGateway:
    """One ``.txt`` file per SMS in ``folder``: first line ``Para: <number>``, a blank line, the text."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def send(self, message: SmsMessage) -> None:
        data = f"Para: {message.to}\n\n{message.body}\n".encode()
        _write_private(self.folder, f"{_stamp()}-{_safe_part(message.to)}.txt", data)


class ConsoleSmsGateway:
    """Prints each SMS on a stream (standard output): drills at a terminal only."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def send(self, message: SmsMessage) -> None:
        stream = self.stream or sys.stdout
        with self._lock:
            print(f"[SMS a {message.to}] {message.body}", file=stream, flush=True)


def mailer_from_settings(settings: NotifySettings) -> Mailer:
    if settings.mail_backend == "smtp":
        assert settings.smtp_host
        return SmtpMailer(settings.smtp_host, settings.smtp_port, starttls=settings.smtp_starttls,
                          use_ssl=settings.smtp_ssl, username=settings.smtp_user, password=settings.smtp_password,
                          cafile=settings.smtp_cafile, sender=settings.sender)
    return FileMailer(settings.outbox, settings.sender)


def sms_from_settings(settings: NotifySettings) -> SmsGateway:
    backend = settings.sms_backend
    if backend in ("archivo", "file"):
        return FileSmsGateway(settings.sms_outbox)
    if backend in ("consola", "console"):
        return ConsoleSmsGateway()
    if ":" in backend:
        module_name, _, class_name = backend.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            raise NotifyError(tr(f"no se encontró la pasarela SMS {backend!r}",
                                 f"SMS gateway {backend!r} not found")) from exc
        gateway: SmsGateway = cls(settings)
        return gateway
    raise NotifyError(tr(f"pasarela SMS desconocida {backend!r} (archivo | consola | modulo:Clase)",
                         f"unknown SMS gateway {backend!r} (archivo | consola | module:Class)"))


@dataclass(frozen=True)
class Notifier:
    """The two channels together, as the authentication flows use them."""

    mailer: Mailer
    sms: SmsGateway

    @staticmethod
    def from_config(config: ServerConfig) -> Notifier:
        """The notifier of a server: refused when a backend would write links or codes to files or
        the console without the development flag (or with it, in production)."""
        settings = NotifySettings.from_config(config)
        if settings.writes_secrets:
            if config.production or not settings.dev_outbox:
                raise NotifyError(tr(
                    "el correo o los SMS se escribirían en archivos o en la consola (con enlaces y códigos): "
                    "configure SMTP (SIVEI_CORREO=smtp) y una pasarela SMS (SIVEI_SMS=modulo:Clase); sólo en "
                    "desarrollo, y nunca en producción, SIVEI_BUZON_DESARROLLO=1 lo permite",
                    "mail or SMS would be written to files or the console (with links and codes): configure SMTP "
                    "(SIVEI_CORREO=smtp) and an SMS gateway (SIVEI_SMS=module:Class); only in development, never "
                    "in production, SIVEI_BUZON_DESARROLLO=1 allows it"))
            logging.getLogger("sivei_server").warning(DEV_WARNING)
        return Notifier(mailer_from_settings(settings), sms_from_settings(settings))


# -- reading the file outboxes (drills and tests) ---------------------------------------------------------

@dataclass(frozen=True)
class OutboxItem:
    path: Path
    to: str
    subject: str
    body: str


def read_mail_outbox(folder: Path) -> list[OutboxItem]:
    """The messages in a file outbox, oldest first."""
    items = []
    for path in sorted(Path(folder).glob("*.eml")):
        msg = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
        body_part = msg.get_body(preferencelist=("plain",))
        body = body_part.get_content() if body_part is not None else ""
        items.append(OutboxItem(path, str(msg["To"]), str(msg["Subject"]), str(body)))
    return items


def read_sms_outbox(folder: Path) -> list[OutboxItem]:
    items = []
    for path in sorted(Path(folder).glob("*.txt")):
        head, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        items.append(OutboxItem(path, head.removeprefix("Para: ").strip(), "", body.strip()))
    return items


# -- message texts --------------------------------------------------------------------------------------

def _when(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def activation_email(to: str, username: str, link: str, expires_at: datetime) -> MailMessage:
    body = (
        "Voto de las mexicanas y los mexicanos residentes en el extranjero\n\n"
        "Tu registro para votar por internet está listo.\n\n"
        f"Tu usuario: {username}\n\n"
        "Para activar tu cuenta abre este enlace (sirve una sola vez y vence el "
        f"{_when(expires_at)}):\n\n{link}\n\n"
        "Te pediremos los últimos 4 dígitos de tu teléfono celular, un código de verificación (por SMS o "
        "con una aplicación autenticadora) y que elijas una contraseña.\n"
        "Nadie del INE te pedirá nunca tu contraseña ni tus códigos. Si no solicitaste votar por internet, "
        "ignora este mensaje y comunícate con la mesa de ayuda.\n\n"
        "---\n"
        "Vote of Mexicans living abroad — your internet-voting account is ready.\n"
        f"Your username: {username}\n"
        f"Open the link above to activate it (single use; it expires on {_when(expires_at)}). You will be "
        "asked for the last 4 digits of your mobile phone, a verification code (SMS or authenticator app) "
        "and to choose a password. Nobody will ever ask you for your password or codes.\n"
    )
    return MailMessage(to, "Activa tu cuenta para votar por internet / Activate your voting account", body)


def reset_email(to: str, username: str, link: str, expires_at: datetime) -> MailMessage:
    body = (
        f"Recibimos una solicitud para restablecer la contraseña del usuario {username}.\n\n"
        f"Abre este enlace (sirve una sola vez y vence el {_when(expires_at)}):\n\n{link}\n\n"
        "Además del enlace te pediremos tu código de verificación (SMS o aplicación autenticadora).\n"
        "Si no lo solicitaste, ignora este mensaje: tu contraseña no cambia.\n\n"
        "---\n"
        f"We received a request to reset the password of the user {username}. Open the link above "
        f"(single use; it expires on {_when(expires_at)}); you will also need your verification code. "
        "If you did not ask for this, ignore this message: your password does not change.\n"
    )
    return MailMessage(to, "Restablecer tu contraseña / Reset your password", body)


def factor_reset_email(to: str, username: str, link: str, expires_at: datetime) -> MailMessage:
    body = (
        f"La mesa de ayuda restableció el segundo factor de tu cuenta {username} a tu solicitud.\n\n"
        "Para volver a entrar activa de nuevo tu cuenta con este enlace (sirve una sola vez y vence el "
        f"{_when(expires_at)}):\n\n{link}\n\n"
        "Si tú no lo solicitaste, comunícate de inmediato con la mesa de ayuda.\n\n"
        "---\n"
        f"The help desk reset the second factor of your account {username} at your request. Activate your "
        f"account again with the link above (single use; it expires on {_when(expires_at)}). If you did not "
        "ask for this, contact the help desk at once.\n"
    )
    return MailMessage(to, "Tu cuenta fue restablecida / Your account was reset", body)


def sms_code(to: str, code: str, minutes: int, language: str = "es") -> SmsMessage:
    if language == "en":
        text = f"SIVEI: your verification code is {code}. It expires in {minutes} minutes. Never share it."
    else:
        text = f"SIVEI: tu código de verificación es {code}. Vence en {minutes} minutos. No lo compartas."
    return SmsMessage(to, text)
