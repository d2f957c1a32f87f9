"""The Flask application factory.

``create_app(config)`` builds the application: database engine, server-side sessions, CSRF checks,
security headers, the access log (path without query string, never a ballot hash, tracking code or
credential: those travel in request bodies or query strings only), JSON errors under ``/api/``, and
the blueprints — ``voters`` (the booth and casting), ``board`` (the public bulletin board),
``operators`` (the console) and ``helpdesk``.

Plug-in: when the package ``sivei_server.auth`` exists it is imported before the blueprints are
registered (so it may add routes to them) and, if it defines ``init_app(app)``, that is called after
(to register its own blueprints, set ``SIVEI_VOTER_LOGIN_ENDPOINT`` / ``SIVEI_OPERATOR_LOGIN_ENDPOINT``…).
"""

from __future__ import annotations

import importlib
import logging
import time
from types import ModuleType
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, SecurityError

from sivei_server import measure, models, proxy, security, sessions, static_files
from sivei_server.config import ServerConfig
from sivei_server.db import close_request_session, make_engine, session_factory
from sivei_server.election import Closer, ElectionError
from sivei_server.usernames import shown

ACCESS_LOG = logging.getLogger("sivei_server.access")
STATE_NAMES = {"new": "en preparación", "open": "abierta", "paused": "en pausa", "closed": "cerrada",
               "published": "resultados publicados"}
LOG = logging.getLogger("sivei_server")


def _optional_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def create_app(config: ServerConfig | None = None) -> Flask:
    config = config or ServerConfig.from_env()
    app = Flask("sivei_server", static_folder="static", static_url_path="/static",
                template_folder="templates")
    app.config.update(
        MAX_CONTENT_LENGTH=config.max_upload_bytes,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_SECURE=config.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        TEMPLATES_AUTO_RELOAD=False,
        TRUSTED_HOSTS=security.trusted_hosts(config),
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    engine = make_engine(config)
    if config.measure:
        measure.instrument(engine)
    app.extensions["sivei_config"] = config
    app.extensions["sivei_engine"] = engine
    app.extensions["sivei_sessionmaker"] = session_factory(engine)
    app.teardown_appcontext(close_request_session)
    app.jinja_env.globals["csrf_token"] = sessions.csrf_token
    app.jinja_env.globals["current_operator"] = sessions.current_operator
    app.jinja_env.globals["current_voter"] = sessions.current_voter
    app.jinja_env.globals["shown_username"] = shown
    app.jinja_env.filters["estado"] = lambda s: STATE_NAMES.get(s, s or "sin elección")

    app.before_request(_start_timer)
    security.init_app(app)
    static_files.init_app(app)
    app.after_request(_access_log)
    _register_errors(app)

    auth = _optional_module("sivei_server.auth")
    prepare_auth = getattr(auth, "prepare", None) if auth is not None else None
    if callable(prepare_auth):
        prepare_auth()  # adds its routes to the blueprints below before they are registered
    from sivei_server.views import archive, board, consulates, helpdesk, operators, personal_data, results, voters

    app.register_blueprint(voters.bp)
    app.register_blueprint(board.bp)
    app.register_blueprint(operators.bp)
    app.register_blueprint(helpdesk.bp)
    # Operations (issue 9): public results, the archive of practice elections and drills (and the
    # banner of a non-real election on every page), personal data after the election.
    app.register_blueprint(results.bp)
    app.register_blueprint(archive.bp)
    app.register_blueprint(personal_data.bp)
    # In-person voting at consulates (issue 10 item 3): the officials' page and the kiosks.
    app.register_blueprint(consulates.bp)
    if config.test_login:
        from sivei_server.views import testing

        app.register_blueprint(testing.bp)
    init_auth = getattr(auth, "init_app", None) if auth is not None else None
    if callable(init_auth):
        init_auth(app)
    from sivei_server.recovery import start_up

    start_up(engine, config)  # the board journal: a restored database is replayed or the board stops
    if config.closer_thread:
        closer = Closer(engine, config)
        app.extensions["sivei_closer"] = closer
        closer.start()
    return app


def _start_timer() -> None:
    config: ServerConfig = current_app.extensions["sivei_config"]
    if config.measure:
        measure.begin()
    g.sivei_t0 = time.perf_counter()
    # A ballot counts by when its request arrived: the proxy's stamp (sivei_server.proxy).
    g.sivei_received_at = proxy.arrival(request, config, models.utcnow())
    _ = request.host  # refuses (400) a Host outside TRUSTED_HOSTS before any view runs


def _access_log(response: Response) -> Response:
    # Path only: ballot hashes, tracking codes and credentials never appear in a path by design,
    # and the query string is not logged.
    elapsed = (time.perf_counter() - g.get("sivei_t0", time.perf_counter())) * 1000
    ACCESS_LOG.info("%s %s %s %d %.0fms", security.client_address(), request.method, request.path,
                    response.status_code, elapsed)
    if measure.active():
        response.headers["Server-Timing"] = measure.header()
    return response


def json_error(status: int, code: str, message: str, message_en: str, **extra: Any) -> Response:
    resp = jsonify(error=code, message=message, message_en=message_en, **extra)
    resp.status_code = status
    return resp


def _register_errors(app: Flask) -> None:
    @app.errorhandler(SecurityError)
    def _untrusted_host(_exc: SecurityError) -> Any:
        # A Host outside TRUSTED_HOSTS: plain text, since no URL can be built for a foreign host.
        return Response("Host no permitido. / Host not allowed.\n", status=400, mimetype="text/plain")

    @app.errorhandler(ElectionError)
    def _election_error(exc: ElectionError) -> Any:
        if sessions.wants_json():
            resp = jsonify(exc.to_json())
            resp.status_code = exc.status
            return resp
        return render_template("error.html", status=exc.status, message=exc.es, message_en=exc.en), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        if sessions.wants_json():
            return json_error(status, (exc.name or "error").lower().replace(" ", "-"),
                              _SPANISH.get(status, exc.name or "error"), exc.description or exc.name or "error")
        return render_template("error.html", status=status, message=_SPANISH.get(status, exc.name),
                               message_en=exc.name), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        LOG.exception("error interno")
        if sessions.wants_json():
            return json_error(500, "interno", "Error interno del servidor.", "Internal server error.")
        return render_template("error.html", status=500, message="Error interno del servidor.",
                               message_en="Internal server error."), 500


_SPANISH = {
    400: "Solicitud no válida.",
    401: "Inicia sesión para continuar.",
    403: "No permitido.",
    404: "No encontrado.",
    405: "Método no permitido.",
    409: "Conflicto.",
    413: "La solicitud es demasiado grande.",
    415: "Tipo de contenido no admitido.",
    429: "Demasiadas solicitudes; espera un momento.",
    503: "Servicio no disponible por el momento.",
}
