"""The public bulletin board."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

bp = Blueprint("board", __name__)


@bp.get("/tablero")
def board_page() -> Any:
    return render_template("board.html")
