"""Operators' console and the election-lifecycle API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from sivei_server.sessions import require_operator

bp = Blueprint("operators", __name__)


@bp.get("/operacion")
@require_operator()
def console() -> Any:
    return render_template("operators/console.html")
