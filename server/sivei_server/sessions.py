"""Server-side sessions for voters and operators, and the decorators routes use.

Authentication flows (``sivei_server.auth``) end by calling ``start_session(kind, subject_id)``;
routes protect themselves with ``@require_voter`` or ``@require_operator(role, …)`` and read
``current_voter()`` / ``current_operator()``.

* The cookie holds a random 256-bit token; the database keeps only its SHA-256.
* A session lasts at most ``ServerConfig.session_minutes`` (30) from its creation: an absolute
  limit, never extended by activity.
* Every session has its own CSRF token (``csrf_token()``), checked by ``sivei_server.security`` on
  every state-changing request. Starting a session replaces any previous one in this browser (and
  so its CSRF token): no session fixation.
* ``stage``: a flow may keep a partial session (``start_session(kind, id, stage="codigo")``);
  ``current_voter``/``current_operator`` and the decorators accept only ``STAGE_FULL``;
  ``current_session()`` returns any live session with its stage.

Unauthenticated requests get a JSON 401 under ``/api/`` (or when JSON is preferred) and a redirect to
the login page otherwise (``app.config["SIVEI_VOTER_LOGIN_ENDPOINT"]`` /
``["SIVEI_OPERATOR_LOGIN_ENDPOINT"]``, set by the authentication package; 401 page when unset).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, current_app, g, jsonify, redirect, request, url_for
from sqlalchemy import delete

from sivei_server.config import ServerConfig
from sivei_server.db import db
from sivei_server.models import (
    KIND_OPERATOR,
    KIND_VOTER,
    ROLE_CONSULATE,
    ROLES,
    SESSION_KINDS,
    STAGE_FULL,
    Operator,
    Voter,
    WebSession,
    utcnow,
)

F = TypeVar("F", bound=Callable[..., Any])

COOKIE_SECURE_NAME = "__Host-sivei-sesion"
COOKIE_PLAIN_NAME = "sivei-sesion"
ANON_CSRF_SECURE_NAME = "__Host-sivei-csrf"
ANON_CSRF_PLAIN_NAME = "sivei-csrf"


def _config() -> ServerConfig:
    cfg: ServerConfig = current_app.extensions["sivei_config"]
    return cfg


def cookie_name() -> str:
    return COOKIE_SECURE_NAME if _config().cookie_secure else COOKIE_PLAIN_NAME


def anon_csrf_cookie_name() -> str:
    return ANON_CSRF_SECURE_NAME if _config().cookie_secure else ANON_CSRF_PLAIN_NAME


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _load_session() -> WebSession | None:
    if "sivei_session" in g:
        return cast(WebSession | None, g.sivei_session)
    found: WebSession | None = None
    token = request.cookies.get(cookie_name())
    if token and len(token) <= 128:
        row = db().get(WebSession, token_hash(token))
        # A request that arrived before the session's end is served (a ballot may wait in the queue).
        now = utcnow()
        arrived: datetime | None = g.get("sivei_received_at")
        if row is not None and row.expires_at > (min(now, arrived) if arrived is not None else now):
            found = row
    g.sivei_session = found
    return found


def current_session() -> WebSession | None:
    """This request's live session at any stage, or None."""
    return _load_session()


def current_voter() -> Voter | None:
    s = _load_session()
    if s is None or s.kind != KIND_VOTER or s.stage != STAGE_FULL:
        return None
    return db().get(Voter, s.subject_id)


def current_operator() -> Operator | None:
    s = _load_session()
    if s is None or s.kind != KIND_OPERATOR or s.stage != STAGE_FULL:
        return None
    op = db().get(Operator, int(s.subject_id)) if s.subject_id.isdigit() else None
    return op if op is not None and op.active else None


def session_expires_at() -> datetime | None:
    s = _load_session()
    return s.expires_at if s is not None else None


def start_session(kind: str, subject_id: str | int, *, stage: str = STAGE_FULL,
                  flow: str | None = None) -> WebSession:
    """Start a session for a voter (``"voter"``, ``voter_id``) or an operator (``"operator"``,
    ``Operator.id``) and set its cookie on this request's response. Any session this browser had is
    ended. Commits. A partial session moves to the next stage by calling this again (a new token
    each time), and its absolute limit is that of the first stage."""
    if kind not in SESSION_KINDS:
        raise ValueError(f"unknown session kind {kind!r}")
    session = db()
    previous = _load_session()
    now = utcnow()
    expires = now + timedelta(minutes=_config().session_minutes)
    if previous is not None:
        if previous.kind == kind and previous.subject_id == str(subject_id) and previous.stage != STAGE_FULL:
            expires = min(expires, previous.expires_at)
        session.delete(previous)
    token = secrets.token_urlsafe(32)
    row = WebSession(token_hash=token_hash(token), kind=kind, subject_id=str(subject_id), stage=stage,
                     flow=flow, csrf_token=secrets.token_urlsafe(32), created_at=now, expires_at=expires)
    session.add(row)
    session.commit()
    g.sivei_session = row
    g.sivei_set_session_cookie = (token, expires)
    return row


def end_session() -> None:
    """Log out: delete the session row and clear the cookie. Commits."""
    s = _load_session()
    if s is not None:
        db().delete(s)
        db().commit()
    g.sivei_session = None
    g.sivei_clear_session_cookie = True


def end_sessions_of(kind: str, subject_id: str | int) -> int:
    """End every session of a voter or operator (password change, help-desk reset). Commits."""
    result = db().execute(delete(WebSession).where(WebSession.kind == kind,
                                                   WebSession.subject_id == str(subject_id)))
    db().commit()
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired_sessions() -> None:
    db().execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
    db().commit()


def csrf_token() -> str:
    """The CSRF token for forms (hidden field ``csrf_token``) and scripts (header ``X-CSRF-Token``):
    the session's, or for anonymous pages a per-browser cookie value (double submit)."""
    s = _load_session()
    if s is not None:
        return s.csrf_token
    existing = request.cookies.get(anon_csrf_cookie_name())
    if existing and 20 <= len(existing) <= 128:
        return existing
    if "sivei_anon_csrf" not in g:
        g.sivei_anon_csrf = secrets.token_urlsafe(32)
    return cast(str, g.sivei_anon_csrf)


def apply_cookies(response: Response) -> Response:
    """Write the session and anonymous-CSRF cookies this request decided on (an after_request hook)."""
    cfg = _config()
    common: dict[str, Any] = {"secure": cfg.cookie_secure, "httponly": True, "samesite": "Strict", "path": "/"}
    set_cookie = g.pop("sivei_set_session_cookie", None)
    if set_cookie is not None:
        token, expires = set_cookie
        response.set_cookie(cookie_name(), token, expires=expires,
                            max_age=int((expires - utcnow()).total_seconds()), **common)
    elif g.pop("sivei_clear_session_cookie", False):
        response.delete_cookie(cookie_name(), path="/", secure=cfg.cookie_secure, httponly=True, samesite="Strict")
    anon = g.pop("sivei_anon_csrf", None)
    if anon is not None:
        response.set_cookie(anon_csrf_cookie_name(), anon, **common)
    return response


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def unauthorized(kind: str) -> Any:
    """JSON 401 for API calls; otherwise a redirect to the login page of ``kind``."""
    if wants_json():
        resp = jsonify(error="sesion", message="Inicia sesión para continuar.",
                       message_en="Please log in to continue.")
        resp.status_code = 401
        return resp
    endpoint = current_app.config.get("SIVEI_VOTER_LOGIN_ENDPOINT" if kind == KIND_VOTER
                                      else "SIVEI_OPERATOR_LOGIN_ENDPOINT")
    if endpoint:
        return redirect(url_for(endpoint, siguiente=request.path))
    return Response("Inicia sesión para continuar. / Please log in.", status=401, mimetype="text/plain")


def _forbidden() -> Any:
    if wants_json():
        resp = jsonify(error="permiso", message="Tu función no permite esta acción.",
                       message_en="Your role does not allow this action.")
        resp.status_code = 403
        return resp
    return Response("Tu función no permite esta acción. / Not allowed for your role.", status=403,
                    mimetype="text/plain")


def require_voter(view: F) -> F:
    """Route decorator: a fully authenticated voter session."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_voter() is None:
            return unauthorized(KIND_VOTER)
        return view(*args, **kwargs)
    return cast(F, wrapper)


def require_operator(*roles: str) -> Callable[[F], F]:
    """Route decorator factory: an operator session whose role is one of ``roles`` (when none is
    given, any role of the central staff: a consulate's staff see only their consulate's pages, and
    are sent there). ``@require_operator("administrador")``."""
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
    allowed = roles or tuple(r for r in ROLES if r != ROLE_CONSULATE)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            op = current_operator()
            if op is None:
                return unauthorized(KIND_OPERATOR)
            if op.role not in allowed:
                if op.role == ROLE_CONSULATE and request.method == "GET" and not wants_json():
                    return redirect(url_for("consulates.official_page"))
                return _forbidden()
            return view(*args, **kwargs)
        return cast(F, wrapper)
    return decorate


__all__ = [
    "KIND_OPERATOR",
    "KIND_VOTER",
    "STAGE_FULL",
    "csrf_token",
    "current_operator",
    "current_session",
    "current_voter",
    "end_session",
    "end_sessions_of",
    "require_operator",
    "require_voter",
    "start_session",
]
