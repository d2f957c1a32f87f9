"""Helpers shared by the blueprints."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify
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
