"""TEST-ONLY voter login, for drills and tests until/without the real authentication flows.

Registered only when ``ServerConfig.test_login`` is on (off by default; the configuration refuses it
together with ``production``). ``POST /api/prueba/sesion`` with ``{"voter_id": "…"}`` starts that
voter's session, ``POST /api/prueba/sesion-operador`` with ``{"username": "…"}`` an operator's, without
any credential check.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from sqlalchemy import select

from sivei_server.db import db
from sivei_server.models import KIND_OPERATOR, KIND_VOTER, Operator, Voter
from sivei_server.sessions import csrf_token, start_session
from sivei_server.views.common import config, json_response

bp = Blueprint("testing", __name__)


@bp.post("/api/prueba/sesion")
def test_login() -> Any:
    assert config().test_login and not config().production
    data = request.get_json(silent=True)
    voter_id = data.get("voter_id") if isinstance(data, dict) else None
    if not isinstance(voter_id, str) or db().get(Voter, voter_id) is None:
        return json_response({"error": "votante", "message": "Votante desconocido.",
                              "message_en": "Unknown voter."}, 404)
    start_session(KIND_VOTER, voter_id)
    return json_response({"voter_id": voter_id, "csrf": csrf_token()})


@bp.post("/api/prueba/sesion-operador")
def test_operator_login() -> Any:
    assert config().test_login and not config().production
    data = request.get_json(silent=True)
    username = data.get("username") if isinstance(data, dict) else None
    op = db().scalar(select(Operator).where(Operator.username == username)) if isinstance(username, str) else None
    if op is None:
        return json_response({"error": "operador", "message": "Operador desconocido.",
                              "message_en": "Unknown operator."}, 404)
    start_session(KIND_OPERATOR, op.id)
    return json_response({"username": op.username, "role": op.role, "csrf": csrf_token()})
