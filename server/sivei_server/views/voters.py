"""Voters: the booth page and the casting API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template

bp = Blueprint("voters", __name__)


@bp.get("/")
def index() -> Any:
    return render_template("index.html")


@bp.get("/api/salud")
def health() -> Any:
    return jsonify(ok=True)
