"""Helpers shared by the authentication pages: settings and notifier of the application, the page
language (Spanish first; ``?lang=en`` switches and is remembered in a cookie), rendering, the flows'
partial sessions, safe redirects and the per-address rate limit."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from flask import Response, current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError

from sivei_server.auth import limits
from sivei_server.auth.settings import AuthSettings
from sivei_server.db import db, session_scope
from sivei_server.models import WebSession
from sivei_server.notify import Notifier
from sivei_server.secrets_key import SecretsKey, secrets_key
from sivei_server.security import client_address
from sivei_server.sessions import current_session, end_session, start_session
from sivei_server.views.common import MEXICO_CITY
from sivei_server.views.common import config as config  # one accessor for the app's config
from sivei_server.views.common import engine as engine  # and for its database engine

F = TypeVar("F", bound=Callable[..., Any])

LOG = logging.getLogger("sivei_server.auth")
LANG_COOKIE = "sivei-idioma"
LANGS = ("es", "en")
Msg = tuple[str, str]


def settings() -> AuthSettings:
    found: AuthSettings = current_app.extensions["sivei_auth_settings"]
    return found


def notifier() -> Notifier:
    found: Notifier = current_app.extensions["sivei_notifier"]
    return found


def secrets() -> SecretsKey:
    """The server's secrets key (TOTP seeds, SMS-code MACs)."""
    return secrets_key(config())


def base_url() -> str:
    return config().public_url or request.url_root


# -- language ---------------------------------------------------------------------------------------

def lang() -> str:
    if "sivei_lang" in g:
        return cast(str, g.sivei_lang)
    chosen = request.args.get("lang")
    if chosen in LANGS:
        g.sivei_lang_set = chosen
    else:
        chosen = request.cookies.get(LANG_COOKIE)
        if chosen not in LANGS:
            chosen = "es"
    g.sivei_lang = chosen
    return chosen


def t(es: str, en: str) -> str:
    return en if lang() == "en" else es


def remember_lang(response: Response) -> Response:
    chosen = g.pop("sivei_lang_set", None)
    if chosen is not None:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 24 * 3600, secure=config().cookie_secure,
                            httponly=True, samesite="Lax", path="/")
    return response


def switch_url() -> str:
    """This page in the other language (same path and query, ``lang`` replaced)."""
    other = "en" if lang() == "es" else "es"
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"] + [("lang", other)]
    return f"{request.path}?{urlencode(args)}"


# An instant inside a message: when() marks it, the templates' `horas` filter turns the mark into
# <time datetime=… data-hora="hora">Mexico City's time, zone named</time>, and the page's horas.js
# adds the voter's own time and zone. Never bare UTC.
_TIME_MARK = "\u2063"
_MARKED = re.compile(f"{_TIME_MARK}([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}Z){_TIME_MARK}")


def when(instant: datetime | None) -> str:
    if instant is None:
        return ""
    at = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    return f"{_TIME_MARK}{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}{_TIME_MARK}"


def times_filter(text: str) -> Markup:
    """Escape a message and turn its marked instants into <time> elements (Mexico City's clock)."""

    def element(m: re.Match[str]) -> str:
        iso = m.group(1)
        at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(MEXICO_CITY)
        zone = "Mexico City time" if lang() == "en" else "hora de la Ciudad de México"
        return f'<time datetime="{iso}" data-hora="hora">{at:%H:%M} ({zone})</time>'

    return Markup(_MARKED.sub(element, str(escape(text))))  # noqa: S704 - escaped above, our own markup added


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, lang=lang(), t=t, switch_url=switch_url(), when=when, horas=times_filter,
                           **context), status


def page_message(title: Msg, text: Msg, status: int = 200, *, link: tuple[str, Msg] | None = None) -> tuple[str, int]:
    return render("auth/mensaje.html", status, title=title, text=text, link=link)


# -- form input ---------------------------------------------------------------------------------------------

def field(name: str, limit: int = 256) -> str:
    """A form field, at most ``limit`` characters (longer input is cut: never a 500). A field with a
    NUL character is read as empty: no text field has one, and PostgreSQL refuses it (item 6)."""
    value = request.form.get(name, "")
    if not isinstance(value, str) or "\x00" in value:
        return ""
    return value[:limit]


def safe_next(target: str | None, default: str) -> str:
    """A local path to go to after logging in, or ``default`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or len(target) > 300:
        return default
    if any(ord(c) < 0x20 for c in target):
        return default
    return target


def go(endpoint: str, **values: Any) -> Any:
    return redirect(url_for(endpoint, **values), code=303)


# -- flows ---------------------------------------------------------------------------------------------------

def flow(kind: str, *stages: str) -> tuple[WebSession, dict[str, Any]] | None:
    """This browser's partial session of ``kind`` at one of ``stages`` and its flow state."""
    s = current_session()
    if s is None or s.kind != kind or s.stage not in stages:
        return None
    try:
        state = json.loads(s.flow or "{}")
    except ValueError:
        return None
    return (s, state) if isinstance(state, dict) else None


def sync() -> None:
    """End the request session's read transaction. The flows write through their own short
    transactions (rate limits, codes, accounts); on SQLite in WAL mode a read snapshot taken before
    such a write could not write afterwards (SQLITE_BUSY_SNAPSHOT), so the request session starts
    afresh before it writes (sessions)."""
    db().commit()


def advance(kind: str, subject: str | int, stage: str, state: dict[str, Any]) -> None:
    sync()
    start_session(kind, subject, stage=stage, flow=json.dumps(state, separators=(",", ":")))


def login(kind: str, subject: str | int) -> None:
    """The flow's last step: a full session (its absolute limit is the first step's)."""
    sync()
    start_session(kind, subject)


def logout() -> None:
    sync()
    end_session()


def end_other_sessions(kind: str, subject: str | int) -> None:
    """End every session of this subject except this browser's own."""
    mine = current_session()
    query = delete(WebSession).where(WebSession.kind == kind, WebSession.subject_id == str(subject))
    if mine is not None:
        query = query.where(WebSession.token_hash != mine.token_hash)
    with session_scope(engine()) as s:
        s.execute(query)


# -- per-address limit ---------------------------------------------------------------------------------------

def too_many(until: datetime | None) -> tuple[str, int]:
    return page_message(("Demasiadas solicitudes", "Too many requests"),
                        (f"Espera un momento e inténtalo de nuevo después de las {when(until)}.",
                         f"Wait a moment and try again after {when(until)}."), 429)


HOUSEKEEPING_SECONDS = 600
_housekeeping = {"next": 0.0}
_housekeeping_lock = threading.Lock()


def _maybe_housekeeping() -> None:
    """At most every 10 minutes per process, on an authentication post: purge stale counters,
    codes and sessions (``limits.housekeeping``)."""
    with _housekeeping_lock:
        if time.monotonic() < _housekeeping["next"]:
            return
        _housekeeping["next"] = time.monotonic() + HOUSEKEEPING_SECONDS
    try:
        limits.housekeeping(engine())
    except SQLAlchemyError:  # never fail a login for it; the next round retries
        LOG.warning("limpieza de contadores y sesiones vencidas no terminó", exc_info=True)


def ip_limited(view: F) -> F:
    """Count this post against the client address's limit; 429 beyond it."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _maybe_housekeeping()
        cfg = settings()
        over = limits.hit(engine(), limits.ip_key(client_address()), cfg.ip_limit, cfg.ip_window_seconds)
        sync()
        if over is not None:
            return too_many(over)
        return view(*args, **kwargs)
    return cast(F, wrapper)
