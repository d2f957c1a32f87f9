"""Helpers shared by the blueprints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, jsonify, request
from sqlalchemy import Engine

from sivei_server.config import ServerConfig
from sivei_server.election import ElectionError


def config() -> ServerConfig:
    cfg: ServerConfig = current_app.extensions["sivei_config"]
    return cfg


def engine() -> Engine:
    eng: Engine = current_app.extensions["sivei_engine"]
    return eng


def error_response(exc: ElectionError) -> Response:
    resp = jsonify(exc.to_json())
    resp.status_code = exc.status
    return resp


def json_response(obj: Any, status: int = 200) -> Response:
    resp = jsonify(obj)
    resp.status_code = status
    return resp


def page_lang() -> str:
    """The page's language: ``?lang=`` or the language cookie, Spanish by default."""
    lang = request.args.get("lang") or request.cookies.get("sivei-idioma")
    return lang if lang in ("es", "en") else "es"


MEXICO_CITY = ZoneInfo("America/Mexico_City")
_MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre")


def mexico_time(iso: str | None, lang: str = "es") -> str:
    """An instant (ISO 8601, UTC) as Mexico City's time with the zone named: what a page says
    before its script (static/booth/ui/horas.js) adds the reader's own time."""
    if not iso:
        return ""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(MEXICO_CITY)
    if lang == "en":
        return f"{at.strftime('%B')} {at.day}, {at.year}, {at:%H:%M} Mexico City time"
    return f"{at.day} de {_MONTHS_ES[at.month - 1]} de {at.year}, {at:%H:%M}, hora de la Ciudad de México"
