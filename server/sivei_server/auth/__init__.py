"""Voter and operator authentication, the help desk and the roll's console page.

Imported by ``sivei_server.app.create_app`` before the blueprints are registered: importing
``sivei_server.auth.helpdesk`` adds the help-desk routes to ``views.helpdesk.bp``; ``init_app``
registers the ``auth`` (voters, ``/cuenta``) and ``operator_auth`` (``/operacion/entrar``, …,
``/operacion/padron``) blueprints, the settings (``AuthSettings``), the notifier (``notify``) and
the login endpoints the session decorators redirect to.

Hand-off to the booth and casting: after the last step of a login a FULL voter session exists;
``sivei_server.sessions.current_voter()`` returns the ``Voter`` row and ``@require_voter`` guards a
route. The session's absolute end is ``session_expires_at()`` (30 minutes from the first login step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

# Nothing heavy at import time: ``sivei servidor``'s commands (``sivei_server.auth.cli``) are
# registered at every start of ``sivei``, and Flask/SQLAlchemy cost about half a second to import.


def prepare() -> None:
    """Add the help-desk routes to ``views.helpdesk.bp`` (before the app registers it)."""
    from sivei_server.auth import helpdesk  # noqa: F401 - importing it adds the /ayuda routes


def init_app(app: Flask) -> None:
    from sivei_server.auth import operator, voter
    from sivei_server.auth.settings import AuthSettings
    from sivei_server.config import ServerConfig
    from sivei_server.notify import Notifier

    config: ServerConfig = app.extensions["sivei_config"]
    app.extensions["sivei_auth_settings"] = AuthSettings.from_config(config)
    app.extensions["sivei_notifier"] = Notifier.from_config(config)
    app.register_blueprint(voter.bp)
    app.register_blueprint(operator.bp)
    app.config["SIVEI_VOTER_LOGIN_ENDPOINT"] = "auth.login"
    app.config["SIVEI_OPERATOR_LOGIN_ENDPOINT"] = "operator_auth.login"


__all__ = ["init_app", "prepare"]
