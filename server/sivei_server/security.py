"""Security headers, CSRF checks and the client address.

* Content-Security-Policy: everything from this server only — no third-party source, no inline
  script or style; ``worker-src 'self'`` for the booth's encryption worker; no framing.
* CSRF: every POST/PUT/PATCH/DELETE must carry the token from ``sessions.csrf_token()`` in the form
  field ``csrf_token`` or the header ``X-CSRF-Token`` (constant-time comparison). A view that must
  accept posts without it (none today) is marked with ``@csrf_exempt``.
* ``client_address()``: the socket address, or (from the configured proxy only) the address
  ``trusted_proxies`` hops back in ``X-Forwarded-For`` (``sivei_server.proxy``).
* Host: with ``public_url`` set only its host is accepted; without it (development) only loopback
  names. Any other ``Host`` gets 400 before a view runs, so no link is ever built on a forged host.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, request

from sivei_server import proxy, sessions
from sivei_server.config import ServerConfig

F = TypeVar("F", bound=Callable[..., Any])

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_exempt(view: F) -> F:
    view.sivei_csrf_exempt = True  # type: ignore[attr-defined]
    return view


def client_address() -> str:
    cfg: ServerConfig = current_app.extensions["sivei_config"]
    return proxy.client_address(request, cfg)


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


def trusted_hosts(cfg: ServerConfig) -> list[str]:
    """The host names this server answers to (Flask's ``TRUSTED_HOSTS``)."""
    if cfg.public_url:
        host = urlsplit(cfg.public_url).hostname
        if not host:
            raise ValueError(f"SIVEI_PUBLIC_URL has no host: {cfg.public_url!r}")
        return [host]
    return list(LOOPBACK_HOSTS)


def _csrf_failure() -> Response:
    resp = jsonify(error="csrf", message="La solicitud no trae un código CSRF válido; recarga la página.",
                   message_en="The request lacks a valid CSRF token; reload the page.")
    resp.status_code = 403
    return resp


def check_csrf() -> Response | None:
    if request.method not in UNSAFE_METHODS:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "sivei_csrf_exempt", False):
        return None
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = request.form.get("csrf_token")
    expected = sessions.csrf_token()
    # A new anonymous token (no cookie yet) can never match: the form must come from this server.
    fresh_anonymous = sessions.current_session() is None and request.cookies.get(
        sessions.anon_csrf_cookie_name()) is None
    if not sent or fresh_anonymous or not hmac.compare_digest(sent.encode(), expected.encode()):
        if sessions.current_session() is None and request.cookies.get(sessions.cookie_name()):
            # The browser's session ended (absolute limit): say so rather than "CSRF", so that the
            # page asks the person to log in again. Nothing is executed either way. A form post
            # from a page goes back to the login page rather than showing raw JSON.
            if not sessions.wants_json():
                kind = sessions.KIND_OPERATOR if request.path.startswith(("/operacion", "/ayuda")) \
                    else sessions.KIND_VOTER
                answer: Response = sessions.unauthorized(kind)
                return answer
            resp = jsonify(error="sesion", message="Su sesión terminó; inicie sesión de nuevo.",
                           message_en="Your session has ended; please log in again.")
            resp.status_code = 401
            return resp
        return _csrf_failure()
    return None


def add_headers(response: Response) -> Response:
    cfg: ServerConfig = current_app.extensions["sivei_config"]
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=(), payment=()")
    if cfg.cookie_secure:
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.path.startswith("/api/") or response.mimetype == "text/html":
        h.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.before_request(check_csrf)
    app.after_request(sessions.apply_cookies)
    app.after_request(add_headers)
