"""Help desk pages (role "soporte"), added to the ``helpdesk`` blueprint (``/ayuda``).

* ``GET /ayuda/`` — search form; ``POST /ayuda/buscar`` (``q``: voter id, email or mobile, exact) —
  the voter's account state (email masked, phone's last 4 digits; never whether they voted).
* ``POST /ayuda/segundo-factor`` — LOST PHONE: after checking the caller's identity, reset the second
  factor (optionally with a new mobile number): password and factor cleared, sessions and codes ended,
  a new activation link emailed. Never self-service.
* ``POST /ayuda/reenviar-activacion`` — a new activation link for a voter not yet activated.
* ``POST /ayuda/desbloquear`` — lift a temporary lock.

Everything is a POST (no voter data in URLs) and writes one ``audit_log`` row (``helpdesk.*``) with the
operator, the voter id, the stated reason and the address — never a code, token or link.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sivei_server.auth import accounts, limits
from sivei_server.auth.clock import now
from sivei_server.auth.web import Msg, base_url, engine, field, notifier, render, settings
from sivei_server.db import db, session_scope
from sivei_server.models import KIND_VOTER, ROLE_SUPPORT, AuditLog, Voter
from sivei_server.notify import NotifyError
from sivei_server.roll import normal_email, normal_phone, normal_voter_id
from sivei_server.security import client_address
from sivei_server.sessions import current_operator, require_operator
from sivei_server.usernames import normal_username, shown
from sivei_server.views.helpdesk import bp

MIN_REASON = 10


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'•' * max(1, min(len(local) - 1, 6))}@{domain}"


def _operator_id() -> int:
    op = current_operator()
    assert op is not None
    return op.id


def _audit(action: str, voter_id: str | None, detail: str) -> None:
    with session_scope(engine()) as s:
        s.add(AuditLog(operator_id=_operator_id(), action=action, voter_id=voter_id, detail=detail[:2000],
                       address=client_address()))


def _view(voter: Voter) -> dict[str, Any]:
    lock = limits.account_throttled_until(engine(), KIND_VOTER, voter.voter_id)
    expires = voter.activation_expires_at
    return {"voter_id": voter.voter_id, "username": shown(voter.username), "entity": voter.entity,
            "email": mask_email(voter.email),
            "phone_tail": voter.phone[-4:], "activated": voter.activated_at is not None,
            "factor": voter.second_factor, "locked_until": lock,
            "link_valid": voter.activation_token_hash is not None and expires is not None and expires > now(),
            "link_expires": expires, "last_login": voter.last_login_at}


def _page(status: int = 200, *, voter: Voter | None = None, error: Msg | None = None, done: Msg | None = None,
          query: str = "") -> Any:
    return render("auth/ayuda.html", status, voter=_view(voter) if voter is not None else None, error=error,
                  done=done, query=query)


@bp.get("/")
@require_operator(ROLE_SUPPORT)
def home() -> Any:
    return _page()


@bp.post("/buscar")
@require_operator(ROLE_SUPPORT)
def search() -> Any:
    query = field("q", 300).strip()
    s = db()
    voter: Voter | None = None
    how = "id"
    if "@" in query:
        email = normal_email(query)
        how = "correo"
        voter = s.scalar(select(Voter).where(Voter.email == email)) if email else None
    elif query.startswith("+") or (query.replace(" ", "").replace("-", "").isdigit() and len(query) >= 8):
        phone = normal_phone(query if query.startswith("+") else "+" + query)
        how = "celular"
        voter = s.scalar(select(Voter).where(Voter.phone == phone)) if phone else None
    elif query:
        voter_id, username = normal_voter_id(query), normal_username(query)
        voter = (s.get(Voter, voter_id) if voter_id else None) or (
            s.scalar(select(Voter).where(Voter.username == username)) if username else None)
    _audit("helpdesk.consulta", voter.voter_id if voter is not None else None,
           f"búsqueda por {how}; {'encontrado' if voter is not None else 'sin resultado'}")
    if voter is None:
        return _page(404, error=("No hay ningún votante con ese dato.", "No voter has that detail."), query=query)
    return _page(voter=voter, query=query)


def _target() -> tuple[Voter | None, str]:
    voter = db().get(Voter, field("votante", 64))
    reason = " ".join(field("motivo", 1000).split())
    return voter, reason


def _reason_error(voter: Voter) -> Any:
    return _page(400, voter=voter, error=(f"Escribe el motivo (al menos {MIN_REASON} caracteres): queda en la "
                                          "bitácora.",
                                          f"Write the reason (at least {MIN_REASON} characters): it goes into the "
                                          "audit log."))


@bp.post("/segundo-factor")
@require_operator(ROLE_SUPPORT)
def reset_factor() -> Any:
    voter, reason = _target()
    if voter is None:
        return _page(404, error=("Votante no encontrado.", "Voter not found."))
    if len(reason) < MIN_REASON:
        return _reason_error(voter)
    if field("identidad", 8) not in ("1", "on"):
        return _page(400, voter=voter, error=("Confirma que verificaste la identidad de la persona.",
                                              "Confirm that you verified the person's identity."))
    new_phone: str | None = None
    typed = field("nuevo_celular", 40).strip()
    if typed:
        new_phone = normal_phone(typed)
        if new_phone is None:
            return _page(400, voter=voter, error=("Celular no válido (formato internacional: + y de 8 a 15 dígitos).",
                                                  "Invalid mobile number (international form: + and 8 to 15 "
                                                  "digits)."))
        other = db().scalar(select(Voter.voter_id).where(Voter.phone == new_phone, Voter.voter_id != voter.voter_id))
        if other is not None:
            return _page(409, voter=voter, error=("Ese celular pertenece a otro votante: un celular es de un solo "
                                                  "votante.",
                                                  "That mobile number belongs to another voter: a phone belongs to "
                                                  "one voter only."))
        if new_phone == voter.phone:
            new_phone = None
    voter_id = voter.voter_id
    db().close()
    try:
        accounts.reset_second_factor(engine(), notifier(), settings(), base_url(), voter_id, _operator_id(), reason,
                                     client_address(), new_phone)
    except NotifyError:
        return _page(502, voter=db().get(Voter, voter_id),
                     error=("Se restableció la cuenta, pero el correo no salió; reenvía el enlace.",
                            "The account was reset but the mail did not go out; resend the link."))
    return _page(voter=db().get(Voter, voter_id),
                 done=("Segundo factor restablecido; enviamos un nuevo enlace de activación al correo registrado.",
                       "Second factor reset; a new activation link was sent to the registered email."))


@bp.post("/reenviar-activacion")
@require_operator(ROLE_SUPPORT)
def resend_activation() -> Any:
    voter, reason = _target()
    if voter is None:
        return _page(404, error=("Votante no encontrado.", "Voter not found."))
    if len(reason) < MIN_REASON:
        return _reason_error(voter)
    if voter.activated_at is not None:
        return _page(409, voter=voter, error=("La cuenta ya está activada; si perdió su teléfono, restablece el "
                                              "segundo factor.",
                                              "The account is already activated; if the phone was lost, reset the "
                                              "second factor."))
    voter_id = voter.voter_id
    _audit("helpdesk.reenviar-activacion", voter_id, f"motivo: {reason}")
    db().close()
    try:
        accounts.send_activations(engine(), notifier(), settings(), base_url(), voter_ids=[voter_id], resend=True,
                                  operator_id=_operator_id())
    except NotifyError:
        return _page(502, voter=db().get(Voter, voter_id), error=("El correo no salió; inténtalo más tarde.",
                                                                  "The mail did not go out; try again later."))
    return _page(voter=db().get(Voter, voter_id), done=("Enviamos un nuevo enlace de activación.",
                                                        "A new activation link was sent."))


@bp.post("/desbloquear")
@require_operator(ROLE_SUPPORT)
def unlock() -> Any:
    voter, reason = _target()
    if voter is None:
        return _page(404, error=("Votante no encontrado.", "Voter not found."))
    if len(reason) < MIN_REASON:
        return _reason_error(voter)
    was = sum(limits.clear_prefix(engine(), prefix)
              for prefix in limits.account_prefixes(KIND_VOTER, voter.voter_id)) > 0
    _audit("helpdesk.desbloquear", voter.voter_id, f"motivo: {reason}; {'bloqueada' if was else 'sin bloqueo'}")
    return _page(voter=voter, done=("Cuenta desbloqueada.", "Account unlocked.") if was else
                 ("La cuenta no estaba bloqueada.", "The account was not locked."))
