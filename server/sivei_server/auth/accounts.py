"""Account operations shared by the web flows, the help desk and the command line: activation links,
password-reset links, SMS codes and the help desk's reset of a lost second factor.

Links are built on ``base_url`` (``ServerConfig.public_url`` or the request's root) and carry their
token in the QUERY STRING (``/cuenta/activar?t=…``): the access log records paths only, so tokens
never reach it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from sivei_server.auth import codes, limits
from sivei_server.auth.clock import now
from sivei_server.auth.settings import AuthSettings
from sivei_server.db import serialized, session_scope
from sivei_server.models import KIND_VOTER, AuditLog, OneTimeCode, Voter, WebSession
from sivei_server.notify import Notifier, activation_email, factor_reset_email, reset_email, sms_code
from sivei_server.secrets_key import SecretsKey
from sivei_server.usernames import normal_username, shown

PURPOSE_SMS = "sms"
PURPOSE_RESET = "restablecer"
ACTIVATION_PATH = "/cuenta/activar"
RESET_PATH = "/cuenta/restablecer"
LOG = logging.getLogger("sivei_server.auth")


def _link(base_url: str, path: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{path}?t={token}"


def find_voter(s: Session, username: str) -> Voter | None:
    """The voter whose issued username is ``username`` as typed (``usernames.normal_username``: case,
    spaces and dashes ignored; anything else that cannot be a username never reaches the database)."""
    name = normal_username(username)
    if name is None:
        return None
    return s.scalar(select(Voter).where(Voter.username == name))


def is_active(voter: Voter | None) -> bool:
    return (voter is not None and voter.activated_at is not None and voter.password_hash is not None
            and voter.second_factor in ("sms", "totp"))


# -- activation -----------------------------------------------------------------------------------------

def new_activation(voter: Voter, settings: AuthSettings, base_url: str) -> tuple[str, datetime]:
    """Give the voter a fresh activation token (the old one stops working); return the link and its
    expiry. The caller commits, then sends."""
    token, digest = codes.new_token()
    expires = now() + timedelta(days=settings.activation_days)
    voter.activation_token_hash, voter.activation_expires_at = digest, expires
    return _link(base_url, ACTIVATION_PATH, token), expires


@dataclass(frozen=True)
class SendReport:
    sent: int
    skipped: int


def send_activations(engine: Engine, notifier: Notifier, settings: AuthSettings, base_url: str, *,
                     voter_ids: Iterable[str] | None = None, resend: bool = False,
                     operator_id: int | None = None) -> SendReport:
    """Email each voter not yet activated their username and a fresh activation link. Without
    ``resend`` a voter whose link is still valid is skipped. Each voter is committed before their
    mail is sent; a delivery error stops the batch (what was sent stays sent)."""
    with session_scope(engine) as s:
        query = select(Voter.voter_id).where(Voter.activated_at.is_(None)).order_by(Voter.voter_id)
        ids = list(s.scalars(query))
    if voter_ids is not None:
        wanted = set(voter_ids)
        ids = [i for i in ids if i in wanted]
    sent = skipped = 0
    try:
        for voter_id in ids:
            with session_scope(engine) as s:
                voter = s.get(Voter, voter_id)
                if voter is None or voter.activated_at is not None:
                    continue
                if (not resend and voter.activation_token_hash is not None
                        and voter.activation_expires_at is not None and voter.activation_expires_at > now()):
                    skipped += 1
                    continue
                link, expires = new_activation(voter, settings, base_url)
                message = activation_email(voter.email, shown(voter.username), link, expires)
            notifier.mailer.send(message)
            sent += 1
    finally:
        with session_scope(engine) as s:
            s.add(AuditLog(operator_id=operator_id, action="padron.notificar",
                           detail=f"{sent} enlaces de activación enviados; {skipped} vigentes omitidos"))
    return SendReport(sent, skipped)


def voter_by_activation(s: Session, token: str) -> tuple[Voter | None, bool]:
    """(voter, expired) for an activation token; (None, False) when unknown or already used."""
    if not token or len(token) > 128:
        return None, False
    voter = s.scalar(select(Voter).where(Voter.activation_token_hash == codes.token_digest(token)))
    if voter is None or voter.activated_at is not None:
        return None, False
    if voter.activation_expires_at is None or voter.activation_expires_at <= now():
        return voter, True
    return voter, False


# -- password reset -------------------------------------------------------------------------------------

def new_reset(s: Session, voter: Voter, settings: AuthSettings, base_url: str) -> tuple[str, datetime]:
    """A fresh password-reset link (earlier unused ones stop working). The caller commits, then sends."""
    at = now()
    s.execute(update(OneTimeCode).where(OneTimeCode.kind == KIND_VOTER, OneTimeCode.subject_id == voter.voter_id,
                                        OneTimeCode.purpose == PURPOSE_RESET, OneTimeCode.used_at.is_(None))
              .values(used_at=at))
    secret, digest = codes.new_token()
    expires = at + timedelta(minutes=settings.reset_minutes)
    row = OneTimeCode(kind=KIND_VOTER, subject_id=voter.voter_id, purpose=PURPOSE_RESET, code_hash=digest,
                      created_at=at, expires_at=expires, tries_left=1)
    s.add(row)
    s.flush()
    return _link(base_url, RESET_PATH, f"{row.id}.{secret}"), expires


def reset_row(s: Session, token: str) -> tuple[OneTimeCode | None, bool]:
    """(row, expired) for a reset token; (None, False) when unknown or used."""
    ident, _, secret = token.partition(".")
    if not ident.isdigit() or len(ident) > 18 or not secret or len(secret) > 128:
        return None, False
    row = s.get(OneTimeCode, int(ident))
    if (row is None or row.purpose != PURPOSE_RESET or row.kind != KIND_VOTER or row.used_at is not None
            or not codes.same(row.code_hash, codes.token_digest(secret))):
        return None, False
    return row, row.expires_at <= now()


_RESETS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sivei-restablecer")


def send_reset_later(engine: Engine, notifier: Notifier, settings: AuthSettings, base_url: str,
                     voter_id: str | None) -> None:
    """Queue a reset mail (``voter_id`` None: queue nothing that shows; the caller's work was the same)."""
    _RESETS.submit(_send_reset_quietly, engine, notifier, settings, base_url, voter_id)


def flush_resets() -> None:
    """Wait until every queued reset mail was handed over (tests, drills)."""
    _RESETS.submit(lambda: None).result(timeout=60)


def _send_reset_quietly(engine: Engine, notifier: Notifier, settings: AuthSettings, base_url: str,
                        voter_id: str | None) -> None:
    if voter_id is None:
        return
    try:
        send_reset(engine, notifier, settings, base_url, voter_id)
    except Exception:  # logged without the message (it holds the link)
        LOG.exception("no se pudo enviar el correo de restablecimiento")


def send_reset(engine: Engine, notifier: Notifier, settings: AuthSettings, base_url: str, voter_id: str) -> None:
    with serialized(engine) as s:  # a write transaction from the start (it runs beside requests)
        voter = s.get(Voter, voter_id)
        if voter is None:
            return
        link, expires = new_reset(s, voter, settings, base_url)
        message = reset_email(voter.email, shown(voter.username), link, expires)
    notifier.mailer.send(message)


# -- SMS codes ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CodeCheck:
    ok: bool
    expired: bool = False
    tries_left: int = 0


SMS_SENT = "enviado"
SMS_WAIT = "espera"
SMS_LIMIT = "limite"
SMS_FAILED = "fallo"


def send_sms_code(engine: Engine, notifier: Notifier, settings: AuthSettings, key: SecretsKey, voter_id: str,
                  language: str = "es", *, resend: bool = False) -> str:
    """Send a new SMS code (earlier ones stop working). Returns ``SMS_SENT``; ``SMS_LIMIT`` when the
    hourly limit is reached; ``SMS_WAIT`` for a ``resend`` while the last code is younger than
    ``code_resend_seconds``; ``SMS_FAILED`` when the gateway refused it (logged without the text)."""
    with session_scope(engine) as s:
        last = s.scalar(select(OneTimeCode.created_at).where(
            OneTimeCode.kind == KIND_VOTER, OneTimeCode.subject_id == voter_id, OneTimeCode.purpose == PURPOSE_SMS)
            .order_by(OneTimeCode.id.desc()).limit(1))
    at = now()
    if resend and last is not None and at - last < timedelta(seconds=settings.code_resend_seconds):
        return SMS_WAIT
    if limits.hit(engine, f"sms:{voter_id}", settings.codes_per_hour, 3600) is not None:
        return SMS_LIMIT
    code = codes.new_code()
    with session_scope(engine) as s:
        voter = s.get(Voter, voter_id)
        if voter is None:
            return SMS_FAILED
        s.execute(update(OneTimeCode).where(OneTimeCode.kind == KIND_VOTER, OneTimeCode.subject_id == voter_id,
                                            OneTimeCode.purpose == PURPOSE_SMS, OneTimeCode.used_at.is_(None))
                  .values(used_at=at))
        s.add(OneTimeCode(kind=KIND_VOTER, subject_id=voter_id, purpose=PURPOSE_SMS, code_hash=key.code_mac(code),
                          created_at=at, expires_at=at + timedelta(minutes=settings.code_minutes),
                          tries_left=settings.code_tries))
        message = sms_code(voter.phone, code, settings.code_minutes, language)
    try:
        notifier.sms.send(message)
    except Exception:  # any gateway failure; the message (with its code) is not logged
        LOG.exception("la pasarela SMS no aceptó el mensaje para el votante %s", voter_id)
        return SMS_FAILED
    return SMS_SENT


def check_sms_code(engine: Engine, key: SecretsKey, voter_id: str, code: str) -> CodeCheck:
    """Spend one try of the voter's current SMS code; on a match the code is used up."""
    with session_scope(engine) as s:
        row = s.scalar(select(OneTimeCode).where(
            OneTimeCode.kind == KIND_VOTER, OneTimeCode.subject_id == voter_id, OneTimeCode.purpose == PURPOSE_SMS,
            OneTimeCode.used_at.is_(None)).order_by(OneTimeCode.id.desc()).limit(1))
        if row is None or row.tries_left <= 0:
            return CodeCheck(False, expired=True)
        if row.expires_at <= now():
            return CodeCheck(False, expired=True)
        left, stored, row_id = row.tries_left - 1, row.code_hash, row.id
        spent = s.execute(update(OneTimeCode).where(OneTimeCode.id == row_id, OneTimeCode.tries_left > 0,
                                                    OneTimeCode.used_at.is_(None))
                          .values(tries_left=OneTimeCode.tries_left - 1))
        if getattr(spent, "rowcount", 0) != 1:
            return CodeCheck(False, expired=True)
        if key.code_matches(stored, code):
            used = s.execute(update(OneTimeCode).where(OneTimeCode.id == row_id, OneTimeCode.used_at.is_(None))
                             .values(used_at=now()))
            return CodeCheck(getattr(used, "rowcount", 0) == 1)
        return CodeCheck(False, expired=left <= 0, tries_left=left)


def check_totp(engine: Engine, kind: str, subject: str, secret: str, code: str) -> bool:
    with session_scope(engine) as s:
        last = limits.last_totp_step(s, kind, subject)
    step = codes.totp_step(secret, code, now(), last)
    return step is not None and limits.accept_totp_step(engine, kind, subject, step)


# -- help desk: lost phone --------------------------------------------------------------------------------------

def end_voter_sessions(s: Session, voter_id: str) -> None:
    s.execute(delete(WebSession).where(WebSession.kind == KIND_VOTER, WebSession.subject_id == voter_id))


def reset_second_factor(engine: Engine, notifier: Notifier, settings: AuthSettings, base_url: str, voter_id: str,
                        operator_id: int, reason: str, address: str | None, new_phone: str | None = None) -> datetime:
    """The help desk's answer to a lost phone (never self-service): the voter's second factor and
    password are cleared, their sessions and codes end, the phone number may be replaced, and a new
    activation link is emailed — the voter then redoes the first login. One audit-log row."""
    at = now()
    with session_scope(engine) as s:
        voter = s.get(Voter, voter_id)
        if voter is None:
            raise LookupError(voter_id)
        old_tail = voter.phone[-4:]
        voter.password_hash = None
        voter.totp_secret = None
        voter.second_factor = None
        voter.activated_at = None
        if new_phone is not None:
            voter.phone = new_phone
        link, expires = new_activation(voter, settings, base_url)
        s.execute(update(OneTimeCode).where(OneTimeCode.kind == KIND_VOTER, OneTimeCode.subject_id == voter_id,
                                            OneTimeCode.used_at.is_(None)).values(used_at=at))
        end_voter_sessions(s, voter_id)
        detail = f"motivo: {reason}"
        if new_phone is not None:
            detail += f"; celular …{old_tail} → …{new_phone[-4:]}"
        s.add(AuditLog(at=at, operator_id=operator_id, action="helpdesk.segundo-factor", voter_id=voter_id,
                       detail=detail[:2000], address=address))
        message = factor_reset_email(voter.email, shown(voter.username), link, expires)
    limits.clear_prefix(engine, limits.code_key(KIND_VOTER, voter_id))
    notifier.mailer.send(message)
    return expires
