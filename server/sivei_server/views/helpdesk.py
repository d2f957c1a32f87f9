"""Help desk (role "soporte"): routes are added by the authentication package (``sivei_server.auth``),
which imports this blueprint before the application registers it. Every action is written to
``AuditLog`` with an ``helpdesk.*`` action name."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("helpdesk", __name__, url_prefix="/ayuda")
