"""Voter authentication pages (blueprint ``auth``, under ``/cuenta``), as INE's voters know them.

First login (the activation link emailed with the username)
    ``GET /cuenta/activar?t=…`` → the last 4 digits of the phone (``POST /cuenta/activar``) →
    ``/cuenta/activar/factor``: SMS or authenticator app → ``/cuenta/codigo`` (6-digit SMS code, 5
    minutes, 5 tries) or ``/cuenta/activar/app`` (QR as inline SVG, then a TOTP code) →
    ``/cuenta/clave`` (choose the password) → logged in. The link works until the activation is
    completed (then never again) and expires after ``activation_days``.

Later logins
    ``/cuenta/entrar`` (user + password) → ``/cuenta/codigo`` (SMS or app code) → logged in.

Forgotten password
    ``/cuenta/olvide`` (username; the same answer whether or not it exists) → email link
    ``/cuenta/restablecer?t=…`` → ``/cuenta/codigo`` (second factor) → ``/cuenta/clave``.

Lost phone: never here — the help desk (``/ayuda``, role "soporte") resets the second factor.

Between steps the browser holds a PARTIAL server-side session (``stage`` names the step, ``flow``
holds the state); only the last step starts a full session, whose absolute 30-minute limit counts
from the first step. ``/cuenta/`` shows the logged-in voter and their session's end; ``POST
/cuenta/salir`` logs out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, request
from sqlalchemy import update
from sqlalchemy.orm import Session

from sivei_server.auth import accounts, codes, limits
from sivei_server.auth.clock import now
from sivei_server.auth.web import (
    Msg,
    advance,
    base_url,
    end_other_sessions,
    engine,
    field,
    flow,
    go,
    ip_limited,
    lang,
    notifier,
    page_message,
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
from sivei_server.models import KIND_VOTER, OneTimeCode, Voter
from sivei_server.roll import phone_digits
from sivei_server.secrets_key import enrolment_account, voter_account
from sivei_server.security import client_address
from sivei_server.sessions import current_voter, require_voter, session_expires_at
from sivei_server.usernames import normal_username, shown

bp = Blueprint("auth", __name__, url_prefix="/cuenta", static_folder="static", static_url_path="/estatico")
bp.after_request(remember_lang)

ST_FACTOR = "activar:factor"
ST_ACT_SMS = "activar:sms"
ST_ACT_APP = "activar:app"
ST_ACT_PASS = "activar:clave"  # noqa: S105 - a stage name
ST_LOGIN_CODE = "entrar:codigo"
ST_RESET_CODE = "restablecer:codigo"
ST_RESET_PASS = "restablecer:clave"  # noqa: S105 - a stage name
CODE_STAGES = (ST_ACT_SMS, ST_LOGIN_CODE, ST_RESET_CODE)
PASSWORD_STAGES = (ST_ACT_PASS, ST_RESET_PASS)

HOME = "/cuenta/"

_COMMON_PASSWORDS = frozenset({
    "1234567890", "0123456789", "contraseña", "contrasena", "password", "password1", "password123",
    "qwertyuiop", "1q2w3e4r5t", "123456789a", "mexico2024", "mexico2027", "votoextranjero", "ine1234567",
})

# -- messages ------------------------------------------------------------------------------------------------

M_BAD_LOGIN: Msg = ("Usuario o contraseña incorrectos.", "Incorrect username or password.")
M_SESSION: Msg = ("Tu sesión terminó o no es válida; vuelve a empezar.",
                  "Your session ended or is not valid; please start again.")
M_BAD_LINK: Msg = ("El enlace no es válido o ya se usó. Si ya activaste tu cuenta, entra con tu usuario y "
                   "contraseña; si no, comunícate con la mesa de ayuda.",
                   "The link is not valid or was already used. If you already activated your account, log in "
                   "with your username and password; otherwise contact the help desk.")
M_EXPIRED_LINK: Msg = ("El enlace venció. Comunícate con la mesa de ayuda para recibir uno nuevo.",
                       "The link has expired. Contact the help desk to receive a new one.")
M_EXPIRED_RESET: Msg = ("El enlace venció. Solicita uno nuevo.", "The link has expired. Request a new one.")


def _locked(until: Any) -> Msg:
    return (f"Por seguridad, tras varios intentos fallidos desde esta conexión hay que esperar para intentar de "
            f"nuevo: después de las {when(until)}.",
            f"For security, after several failed attempts from this connection you must wait before trying again: "
            f"after {when(until)}.")


def _session_over() -> Any:
    return go("auth.login", aviso="sesion")


def _voter_key(voter_id: str) -> str:
    """This voter's throttle from this client address (throttle, never lock: limits)."""
    return limits.guard_key(KIND_VOTER, voter_id, client_address())


def _code_keys(voter_id: str) -> tuple[str, str]:
    """The code step's throttles: this address, and the account's wrong codes from anywhere."""
    return _voter_key(voter_id), limits.code_key(KIND_VOTER, voter_id)


def _code_failure(voter_id: str) -> limits.Failure:
    pair, account = _code_keys(voter_id)
    first = limits.record_failure(engine(), pair, settings())
    second = limits.record_failure(engine(), account, settings(), free=settings().code_failures)
    return first if first.throttled_until is not None else second


def _new_flow(purpose: str, **extra: Any) -> dict[str, Any]:
    return {"p": purpose, "lang": lang(), **extra}


# -- logged in -----------------------------------------------------------------------------------------------

@bp.get("/")
@require_voter
def home() -> Any:
    voter = current_voter()
    return render("auth/cuenta.html", voter=voter, expires=session_expires_at())


@bp.post("/salir")
def logout() -> Any:
    web_logout()
    return go("auth.login", aviso="salida")


# -- login ---------------------------------------------------------------------------------------------------

def _login_page(status: int = 200, error: Msg | None = None, username: str = "") -> Any:
    notices = {"sesion": M_SESSION, "salida": ("Cerraste tu sesión.", "You logged out.")}
    notice = notices.get(request.args.get("aviso", ""))
    nxt = safe_next(request.values.get("siguiente"), "")
    return render("auth/entrar.html", status, error=error, notice=notice, username=username, siguiente=nxt)


@bp.get("/entrar")
def login() -> Any:
    return _login_page()


@bp.post("/entrar")
@ip_limited
def login_post() -> Any:
    cfg = settings()
    username = field("usuario", 100).strip()
    password = field("clave", 1024)
    voter = accounts.find_voter(db(), username) if username else None
    key = _voter_key(voter.voter_id if voter is not None else (normal_username(username) or "?"))
    until = limits.throttled_until(engine(), key)
    if until is not None:  # no password hash is computed for a throttled attempt
        return _login_page(429, _locked(until), username)
    active = accounts.is_active(voter)
    ok = codes.verify_password(cfg, voter.password_hash if voter is not None and active else None, password)
    if not ok or voter is None:
        failure = limits.record_failure(engine(), key, cfg)
        if failure.throttled_until is not None:
            return _login_page(429, _locked(failure.throttled_until), username)
        return _login_page(401, M_BAD_LOGIN, username)
    if voter.password_hash and codes.needs_rehash(cfg, voter.password_hash):
        with session_scope(engine()) as s:
            s.execute(update(Voter).where(Voter.voter_id == voter.voter_id)
                      .values(password_hash=codes.hash_password(cfg, password)))
    factor = voter.second_factor or "sms"
    state = _new_flow("entrar", f=factor, sig=safe_next(request.form.get("siguiente"), ""))
    advance(KIND_VOTER, voter.voter_id, ST_LOGIN_CODE, state)
    if factor == "sms":
        return _code_sent(accounts.send_sms_code(engine(), notifier(), cfg, secrets(), voter.voter_id, lang()))
    return go("auth.code")


def _code_sent(status: str) -> Any:
    return go("auth.code", **({} if status == accounts.SMS_SENT else {"aviso": status}))


# -- the code step (SMS or app) ------------------------------------------------------------------------------

def _code_page(state: dict[str, Any], voter: Voter, status: int = 200, error: Msg | None = None) -> Any:
    notices = {"reenviado": ("Te enviamos un código nuevo.", "We sent you a new code."),
               "espera": ("Ya te enviamos un código hace poco: usa ese o espera un momento para pedir otro.",
                          "We sent you a code a moment ago: use it, or wait a little before asking for another."),
               "limite": ("Llegaste al número de códigos por hora: usa el último que recibiste o inténtalo más tarde.",
                          "You reached the number of codes per hour: use the last one you received or try later."),
               "fallo": ("No pudimos enviar el SMS en este momento; inténtalo en unos minutos.",
                         "We could not send the SMS right now; try again in a few minutes.")}
    notice = notices.get(request.args.get("aviso", "")) if request.method == "GET" else None
    return render("auth/codigo.html", status, factor=state.get("f", "sms"), phone_tail=voter.phone[-4:],
                  minutes=settings().code_minutes, tries=settings().code_tries, error=error, notice=notice,
                  purpose=state.get("p"))


def _code_flow() -> tuple[Any, dict[str, Any], Voter] | None:
    found = flow(KIND_VOTER, *CODE_STAGES)
    if found is None:
        return None
    session, state = found
    voter = db().get(Voter, session.subject_id)
    return (session, state, voter) if voter is not None else None


@bp.get("/codigo")
def code() -> Any:
    found = _code_flow()
    if found is None:
        return _session_over()
    _, state, voter = found
    return _code_page(state, voter)


@bp.post("/codigo/reenviar")
@ip_limited
def code_resend() -> Any:
    found = _code_flow()
    if found is None:
        return _session_over()
    _, state, voter = found
    if state.get("f") != "sms":
        return go("auth.code")
    status = accounts.send_sms_code(engine(), notifier(), settings(), secrets(), voter.voter_id,
                                    state.get("lang", "es"), resend=True)
    return go("auth.code", aviso="reenviado" if status == accounts.SMS_SENT else status)


@bp.post("/codigo")
@ip_limited
def code_post() -> Any:
    found = _code_flow()
    if found is None:
        return _session_over()
    _, state, voter = found
    until = limits.throttled_until(engine(), *_code_keys(voter.voter_id))
    if until is not None:
        return _code_page(state, voter, 429, _locked(until))
    typed = codes.normal_code(field("codigo", 32))
    if typed is None:
        return _code_page(state, voter, 400, ("Escribe los 6 dígitos del código.", "Type the code's 6 digits."))
    factor = state.get("f", "sms")
    error: Msg = ("Código incorrecto.", "Incorrect code.")
    if factor == "totp":
        sealed = voter.totp_secret
        secret = secrets().open(voter_account(voter.voter_id), sealed) if sealed is not None else None
        ok = secret is not None and accounts.check_totp(engine(), KIND_VOTER, voter.voter_id, secret, typed)
    else:
        check = accounts.check_sms_code(engine(), secrets(), voter.voter_id, typed)
        ok = check.ok
        if check.expired:
            error = ("El código venció o ya no tiene intentos: pide uno nuevo.",
                     "The code has expired or has no tries left: ask for a new one.")
        elif not ok:
            error = (f"Código incorrecto. Te quedan {check.tries_left} intentos.",
                     f"Incorrect code. You have {check.tries_left} tries left.")
    if not ok:
        failure = _code_failure(voter.voter_id)
        if failure.throttled_until is not None:
            return _code_page(state, voter, 429, _locked(failure.throttled_until))
        return _code_page(state, voter, 401, error)

    purpose = state.get("p")
    if purpose == "entrar":
        limits.record_success(engine(), *_code_keys(voter.voter_id))
        with session_scope(engine()) as s:
            s.execute(update(Voter).where(Voter.voter_id == voter.voter_id).values(last_login_at=now()))
        web_login(KIND_VOTER, voter.voter_id)
        return go_next(state)
    if purpose == "activar":
        if state.get("then") == "app":
            state.update(f="totp", totp=secrets().seal(enrolment_account(voter.voter_id), codes.new_totp_secret()))
            state.pop("then", None)
            advance(KIND_VOTER, voter.voter_id, ST_ACT_APP, state)
            return go("auth.activate_app")
        advance(KIND_VOTER, voter.voter_id, ST_ACT_PASS, state)
        return go("auth.password")
    if purpose == "restablecer":
        advance(KIND_VOTER, voter.voter_id, ST_RESET_PASS, state)
        return go("auth.password")
    return _session_over()


def go_next(state: dict[str, Any]) -> Any:
    from flask import redirect

    return redirect(safe_next(state.get("sig"), HOME), code=303)


# -- activation ----------------------------------------------------------------------------------------------

def _activation_voter(token: str) -> tuple[Voter | None, Any]:
    voter, expired = accounts.voter_by_activation(db(), token)
    if voter is None:
        return None, page_message(("Enlace no válido", "Invalid link"), M_BAD_LINK, 400,
                                  link=("auth.login", ("Entrar", "Log in")))
    if expired:
        return None, page_message(("Enlace vencido", "Expired link"), M_EXPIRED_LINK, 410)
    return voter, None


@bp.get("/activar")
def activate() -> Any:
    token = request.args.get("t", "")[:128]
    voter, refusal = _activation_voter(token)
    if voter is None:
        return refusal
    return render("auth/activar.html", token=token, username=shown(voter.username), error=None)


@bp.post("/activar")
@ip_limited
def activate_post() -> Any:
    token = field("t", 128)
    voter, refusal = _activation_voter(token)
    if voter is None:
        return refusal
    key = _voter_key(voter.voter_id)

    def again(status: int, error: Msg) -> Any:
        return render("auth/activar.html", status, token=token, username=shown(voter.username), error=error)

    until = limits.throttled_until(engine(), key)
    if until is not None:
        return again(429, _locked(until))
    digits = "".join(field("digitos", 16).split())
    if len(digits) != 4 or not digits.isascii() or not digits.isdigit():
        return again(400, ("Escribe los últimos 4 dígitos de tu celular.", "Type the last 4 digits of your mobile."))
    if not codes.same(digits, phone_digits(voter.phone)[-4:]):
        failure = limits.record_failure(engine(), key, settings())
        if failure.throttled_until is not None:
            return again(429, _locked(failure.throttled_until))
        return again(401, ("Los dígitos no corresponden al celular registrado.",
                           "The digits do not match the registered mobile number."))
    voter_id, digest = voter.voter_id, codes.token_digest(token)
    end_other_sessions(KIND_VOTER, voter_id)  # one activation at a time
    advance(KIND_VOTER, voter_id, ST_FACTOR, _new_flow("activar", th=digest))
    return go("auth.activate_factor")


@bp.get("/activar/factor")
def activate_factor() -> Any:
    if flow(KIND_VOTER, ST_FACTOR) is None:
        return _session_over()
    return render("auth/factor.html", error=None)


@bp.post("/activar/factor")
@ip_limited
def activate_factor_post() -> Any:
    found = flow(KIND_VOTER, ST_FACTOR)
    if found is None:
        return _session_over()
    session, state = found
    choice = field("factor", 8)
    cfg = settings()
    if choice not in ("sms", "app"):
        return render("auth/factor.html", 400, error=("Elige cómo recibir tu código.", "Choose how to get your code."))
    state.update(f="sms")
    if choice == "app":
        state["then"] = "app"  # enrolling an app needs the registered phone first (item 3)
    advance(KIND_VOTER, session.subject_id, ST_ACT_SMS, state)
    return _code_sent(accounts.send_sms_code(engine(), notifier(), cfg, secrets(), session.subject_id,
                                             state.get("lang", "es")))


def _app_page(voter_id: str, secret: str, status: int = 200, error: Msg | None = None) -> Any:
    voter = db().get(Voter, voter_id)
    account = shown(voter.username) if voter is not None else "SIVEI"
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render("auth/app.html", status, qr_svg=codes.totp_qr_svg(secret, account), secret=grouped, error=error)


@bp.get("/activar/app")
def activate_app() -> Any:
    found = flow(KIND_VOTER, ST_ACT_APP)
    if found is None or not found[1].get("totp"):
        return _session_over()
    session, state = found
    return _app_page(session.subject_id, secrets().open(enrolment_account(session.subject_id), str(state["totp"])))


@bp.post("/activar/app")
@ip_limited
def activate_app_post() -> Any:
    found = flow(KIND_VOTER, ST_ACT_APP)
    if found is None or not found[1].get("totp"):
        return _session_over()
    session, state = found
    voter_id = session.subject_id
    secret = secrets().open(enrolment_account(voter_id), str(state["totp"]))
    until = limits.throttled_until(engine(), *_code_keys(voter_id))
    if until is not None:
        return _app_page(voter_id, secret, 429, _locked(until))
    typed = codes.normal_code(field("codigo", 32))
    if typed is None:
        return _app_page(voter_id, secret, 400, ("Escribe los 6 dígitos del código.", "Type the code's 6 digits."))
    if not accounts.check_totp(engine(), KIND_VOTER, voter_id, secret, typed):
        failure = _code_failure(voter_id)
        if failure.throttled_until is not None:
            return _app_page(voter_id, secret, 429, _locked(failure.throttled_until))
        return _app_page(voter_id, secret, 401, ("Código incorrecto: revisa la hora de tu teléfono y escribe el código "
                                                 "que muestra ahora la aplicación.",
                                                 "Incorrect code: check your phone's clock and type the code the app "
                                                 "shows now."))
    advance(KIND_VOTER, voter_id, ST_ACT_PASS, state)
    return go("auth.password")


# -- choosing a password (activation and reset) --------------------------------------------------------------

def password_problems(password: str, confirm: str, names: tuple[str, ...], minimum: int) -> Msg | None:
    if len(password) < minimum:
        return (f"La contraseña debe tener al menos {minimum} caracteres.",
                f"The password must have at least {minimum} characters.")
    if len(password) > 128:
        return ("La contraseña debe tener a lo más 128 caracteres.", "The password must have at most 128 characters.")
    if password != confirm:
        return ("Las dos contraseñas no coinciden.", "The two passwords do not match.")
    folded = password.casefold()
    if any(n.casefold() in folded for n in names if n) or len(set(password)) < 4 or folded in _COMMON_PASSWORDS:
        return ("Esa contraseña es demasiado fácil de adivinar; elige otra.",
                "That password is too easy to guess; choose another.")
    return None


@bp.get("/clave")
def password() -> Any:
    if flow(KIND_VOTER, *PASSWORD_STAGES) is None:
        return _session_over()
    return render("auth/clave.html", error=None, minimum=settings().password_min_length)


@bp.post("/clave")
@ip_limited
def password_post() -> Any:
    found = flow(KIND_VOTER, *PASSWORD_STAGES)
    if found is None:
        return _session_over()
    session, state = found
    cfg = settings()
    voter_id = session.subject_id
    new, confirm = field("clave", 1024), field("confirmacion", 1024)
    voter = db().get(Voter, voter_id)
    names = (voter_id, voter.username) if voter is not None else (voter_id,)
    problem = password_problems(new, confirm, names, cfg.password_min_length)
    if problem is not None:
        return render("auth/clave.html", 400, error=problem, minimum=cfg.password_min_length)
    hashed = codes.hash_password(cfg, new)
    at = now()
    if state.get("p") not in ("activar", "restablecer"):
        return _session_over()
    with session_scope(engine()) as s:
        done = _store_password(s, state, voter_id, hashed, at)
    if not done:
        web_logout()
        return page_message(("Enlace ya usado", "Link already used"), M_BAD_LINK, 409,
                            link=("auth.login", ("Entrar", "Log in")))
    limits.record_success(engine(), *_code_keys(voter_id))
    end_other_sessions(KIND_VOTER, voter_id)
    web_login(KIND_VOTER, voter_id)
    return go_next(state)


def _account_seed(voter_id: str, state: dict[str, Any]) -> str:
    """The enrolled seed, sealed again for the account itself."""
    key = secrets()
    return key.seal(voter_account(voter_id), key.open(enrolment_account(voter_id), str(state["totp"])))


def _store_password(s: Session, state: dict[str, Any], voter_id: str, hashed: str, at: datetime) -> bool:
    """Activation: set password and factor, consuming the activation link (only if it is still this
    voter's unused link). Reset: consume the reset link, then set the password. False when the link
    was used meanwhile (another browser)."""
    if state.get("p") == "activar":
        factor = "totp" if state.get("f") == "totp" else "sms"
        done = s.execute(update(Voter).where(Voter.voter_id == voter_id, Voter.activated_at.is_(None),
                                             Voter.activation_token_hash == str(state.get("th", "")))
                         .values(password_hash=hashed, second_factor=factor,
                                 totp_secret=_account_seed(voter_id, state) if factor == "totp" else None,
                                 activated_at=at, activation_token_hash=None, activation_expires_at=None,
                                 last_login_at=at))
        return getattr(done, "rowcount", 0) == 1
    rid = state.get("rid")
    done = s.execute(update(OneTimeCode).where(OneTimeCode.id == (rid if isinstance(rid, int) else -1),
                                               OneTimeCode.subject_id == voter_id,
                                               OneTimeCode.used_at.is_(None)).values(used_at=at))
    if getattr(done, "rowcount", 0) != 1:
        return False
    s.execute(update(Voter).where(Voter.voter_id == voter_id).values(password_hash=hashed, last_login_at=at))
    return True


# -- forgotten password --------------------------------------------------------------------------------------

@bp.get("/olvide")
def forgot() -> Any:
    return render("auth/olvide.html", sent=False)


@bp.post("/olvide")
@ip_limited
def forgot_post() -> Any:
    """The same answer, the same database work and no mail sent in the request, whether or not the
    username exists (item 6: an answer that came back faster for unknown users told them apart)."""
    username = field("usuario", 100).strip()
    voter = accounts.find_voter(db(), username) if username else None
    name = voter.voter_id if voter is not None else (normal_username(username) or "?")
    over = limits.hit(engine(), f"restablecer:{limits.account_digest(KIND_VOTER, name)}", 3, 3600)
    target = voter.voter_id if voter is not None and accounts.is_active(voter) and over is None else None
    accounts.send_reset_later(engine(), notifier(), settings(), base_url(), target)
    return render("auth/olvide.html", sent=True)


def _reset_target(token: str) -> tuple[Voter | None, OneTimeCode | None, Any]:
    row, expired = accounts.reset_row(db(), token)
    if row is None:
        return None, None, page_message(("Enlace no válido", "Invalid link"), M_BAD_LINK, 400,
                                        link=("auth.forgot", ("Pedir otro enlace", "Request another link")))
    if expired:
        return None, None, page_message(("Enlace vencido", "Expired link"), M_EXPIRED_RESET, 410,
                                        link=("auth.forgot", ("Pedir otro enlace", "Request another link")))
    voter = db().get(Voter, row.subject_id)
    if voter is None or not accounts.is_active(voter):
        return None, None, page_message(("Enlace no válido", "Invalid link"), M_BAD_LINK, 400)
    return voter, row, None


@bp.get("/restablecer")
def reset() -> Any:
    token = request.args.get("t", "")[:200]
    voter, _, refusal = _reset_target(token)
    if voter is None:
        return refusal
    return render("auth/restablecer.html", token=token, username=shown(voter.username))


@bp.post("/restablecer")
@ip_limited
def reset_post() -> Any:
    token = field("t", 200)
    voter, row, refusal = _reset_target(token)
    if voter is None or row is None:
        return refusal
    factor = voter.second_factor or "sms"
    advance(KIND_VOTER, voter.voter_id, ST_RESET_CODE, _new_flow("restablecer", rid=row.id, f=factor))
    if factor == "sms":
        return _code_sent(accounts.send_sms_code(engine(), notifier(), settings(), secrets(), voter.voter_id, lang()))
    return go("auth.code")


# -- language switch for pages outside this blueprint --------------------------------------------------------

@bp.get("/idioma/<code>")
def language(code: str) -> Any:
    from flask import g, redirect

    if code in ("es", "en"):
        g.sivei_lang_set = code
    return redirect(safe_next(request.args.get("siguiente"), HOME), code=303)
