"""Operators: login with password + TOTP (blueprint ``operator_auth``), and the roll in the console.

* ``GET/POST /operacion/entrar`` — username and password; ``GET/POST /operacion/codigo`` — the TOTP
  code of the operator's authenticator app (enrolled with ``sivei servidor crear-operador`` or
  ``sivei servidor operador-totp``). Then a full session; ``POST /operacion/salir`` logs out. Each
  login is written to the audit log.
* ``GET /operacion/padron`` — the roll page; ``POST /operacion/padron`` (form) or
  ``POST /api/operacion/padron`` (JSON): import the roll (file field ``padron``, optional
  ``reemplazar=1``), administrators only; ``POST /operacion/padron/notificar`` or
  ``/api/operacion/padron/notificar``: email the activation links (``reenviar=1`` also to voters whose
  link is still valid).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request
from sqlalchemy import func, select, update

from sivei_server.auth import accounts, codes, limits
from sivei_server.auth.clock import now
from sivei_server.auth.web import (
    Msg,
    advance,
    base_url,
    engine,
    field,
    flow,
    go,
    ip_limited,
    notifier,
    remember_lang,
    render,
    safe_next,
    secrets,
    settings,
    when,
)
from sivei_server.auth.web import (
    login as web_login,
)
from sivei_server.auth.web import (
    logout as web_logout,
)
from sivei_server.db import db, session_scope
from sivei_server.models import KIND_OPERATOR, ROLE_ADMIN, ROLE_CONSULATE, ROLE_SUPPORT, AuditLog, Operator, Voter
from sivei_server.notify import NotifyError
from sivei_server.roll import RollError, import_roll
from sivei_server.secrets_key import operator_account
from sivei_server.security import client_address
from sivei_server.sessions import current_operator, require_operator
from sivei_server.views.common import json_response

bp = Blueprint("operator_auth", __name__)
bp.after_request(remember_lang)

ST_CODE = "entrar:codigo"
M_BAD: Msg = ("Usuario o contraseña incorrectos.", "Incorrect username or password.")


def _locked(until: Any) -> Msg:
    return (f"Demasiados intentos fallidos desde esta conexión; inténtalo después de las {when(until)}.",
            f"Too many failed attempts from this connection; try again after {when(until)}.")


def _login_page(status: int = 200, error: Msg | None = None, username: str = "") -> Any:
    notice = {"sesion": ("Tu sesión terminó; vuelve a entrar.", "Your session ended; log in again."),
              "salida": ("Cerraste tu sesión.", "You logged out.")}.get(request.args.get("aviso", ""))
    return render("auth/operador_entrar.html", status, error=error, notice=notice, username=username,
                  siguiente=safe_next(request.values.get("siguiente"), ""))


@bp.get("/operacion/entrar")
def login() -> Any:
    return _login_page()


@bp.post("/operacion/entrar")
@ip_limited
def login_post() -> Any:
    cfg = settings()
    username = field("usuario", 100).strip()
    password = field("clave", 1024)
    key = limits.guard_key(KIND_OPERATOR, username, client_address())
    until = limits.throttled_until(engine(), key)
    if until is not None:
        return _login_page(429, _locked(until), username)
    op = db().scalar(select(Operator).where(Operator.username == username)) if username else None
    usable = op is not None and op.active and op.totp_secret is not None
    ok = codes.verify_password(cfg, op.password_hash if op is not None and usable else None, password)
    if not ok or op is None:
        failure = limits.record_failure(engine(), key, cfg)
        if failure.throttled_until is not None:
            return _login_page(429, _locked(failure.throttled_until), username)
        return _login_page(401, M_BAD, username)
    advance(KIND_OPERATOR, op.id, ST_CODE, {"p": "entrar", "sig": safe_next(request.form.get("siguiente"), "")})
    return go("operator_auth.code")


def _code_flow() -> tuple[Operator, dict[str, Any]] | None:
    found = flow(KIND_OPERATOR, ST_CODE)
    if found is None or not found[0].subject_id.isdigit():
        return None
    op = db().get(Operator, int(found[0].subject_id))
    if op is None or not op.active or op.totp_secret is None:
        return None
    return op, found[1]


@bp.get("/operacion/codigo")
def code() -> Any:
    if _code_flow() is None:
        return go("operator_auth.login", aviso="sesion")
    return render("auth/operador_codigo.html", error=None)


@bp.post("/operacion/codigo")
@ip_limited
def code_post() -> Any:
    found = _code_flow()
    if found is None:
        return go("operator_auth.login", aviso="sesion")
    op, state = found
    keys = (limits.guard_key(KIND_OPERATOR, op.username, client_address()),
            limits.code_key(KIND_OPERATOR, str(op.id)))
    until = limits.throttled_until(engine(), *keys)
    if until is not None:
        return render("auth/operador_codigo.html", 429, error=_locked(until))
    typed = codes.normal_code(field("codigo", 32))
    assert op.totp_secret is not None
    secret = secrets().open(operator_account(op.username), op.totp_secret)
    if typed is None or not accounts.check_totp(engine(), KIND_OPERATOR, str(op.id), secret, typed):
        failure = limits.record_failure(engine(), keys[0], settings())
        account = limits.record_failure(engine(), keys[1], settings(), free=settings().code_failures)
        until = failure.throttled_until or account.throttled_until
        if until is not None:
            return render("auth/operador_codigo.html", 429, error=_locked(until))
        return render("auth/operador_codigo.html", 401, error=("Código incorrecto.", "Incorrect code."))
    limits.record_success(engine(), *keys)
    with session_scope(engine()) as s:
        s.execute(update(Operator).where(Operator.id == op.id).values(last_login_at=now()))
        s.add(AuditLog(operator_id=op.id, action="operador.entrar", address=client_address()))
    web_login(KIND_OPERATOR, op.id)
    default = "/ayuda/" if op.role == ROLE_SUPPORT else "/consulado" if op.role == ROLE_CONSULATE else "/operacion"
    return redirect(safe_next(state.get("sig"), default), code=303)


@bp.post("/operacion/salir")
def logout() -> Any:
    web_logout()
    return go("operator_auth.login", aviso="salida")


# -- the roll ---------------------------------------------------------------------------------------------

def _roll_state() -> dict[str, Any]:
    s = db()
    total = s.scalar(select(func.count()).select_from(Voter)) or 0
    activated = s.scalar(select(func.count()).select_from(Voter).where(Voter.activated_at.is_not(None))) or 0
    by_entity = dict(s.execute(select(Voter.entity, func.count()).group_by(Voter.entity).order_by(Voter.entity)).all())
    return {"voters": total, "activated": activated, "by_entity": {str(k): int(v) for k, v in by_entity.items()}}


def _wants_api() -> bool:
    return request.path.startswith("/api/")


@bp.get("/operacion/padron")
@require_operator()
def roll_page() -> Any:
    op = current_operator()
    return render("auth/padron.html", state=_roll_state(), result=None, error=None,
                  is_admin=op is not None and op.role == ROLE_ADMIN)


@require_operator(ROLE_ADMIN)
def roll_import() -> Any:
    upload = request.files.get("padron")
    replace = request.form.get("reemplazar") in ("1", "on", "si", "sí", "true")
    op = current_operator()
    op_id = op.id if op is not None else None
    if upload is None:
        error = RollError(400, "archivo", [])
        error.problems.append(_problem("Falta el archivo «padron».", "The file «padron» is missing."))
        return _roll_answer(None, error)
    data = upload.read()
    try:
        with session_scope(engine()) as s:
            summary = import_roll(s, data, op_id, replace=replace, address=client_address())
    except RollError as exc:
        return _roll_answer(None, exc)
    result = {"voters": summary.voters, "by_entity": summary.by_entity, "by_style": summary.by_style,
              "sha256": summary.sha256, "replaced": summary.replaced}
    return _roll_answer(result, None)


def _problem(es: str, en: str) -> Any:
    from sivei_server.roll import Problem

    return Problem(es, en)


def _roll_answer(result: dict[str, Any] | None, error: RollError | None) -> Any:
    if _wants_api():
        if error is not None:
            return json_response(error.to_json(), error.status)
        return json_response(result)
    op = current_operator()
    return render("auth/padron.html", error.status if error is not None else 200, state=_roll_state(),
                  result=result, error=error, is_admin=op is not None and op.role == ROLE_ADMIN)


@require_operator(ROLE_ADMIN)
def roll_notify() -> Any:
    resend = request.form.get("reenviar") in ("1", "on", "si", "sí", "true") or (
        request.is_json and bool((request.get_json(silent=True) or {}).get("reenviar")))
    op = current_operator()
    try:
        report = accounts.send_activations(engine(), notifier(), settings(), base_url(), resend=resend,
                                           operator_id=op.id if op is not None else None)
    except NotifyError as exc:
        error = RollError(502, "correo", [_problem(f"No se pudo enviar el correo: {exc}",
                                                   f"The mail could not be sent: {exc}")])
        return _roll_answer(None, error)
    return _roll_answer({"sent": report.sent, "skipped": report.skipped}, None)


bp.add_url_rule("/operacion/padron", "roll_import_form", roll_import, methods=["POST"])
bp.add_url_rule("/api/operacion/padron", "roll_import_api", roll_import, methods=["POST"])
bp.add_url_rule("/operacion/padron/notificar", "roll_notify_form", roll_notify, methods=["POST"])
bp.add_url_rule("/api/operacion/padron/notificar", "roll_notify_api", roll_notify, methods=["POST"])
