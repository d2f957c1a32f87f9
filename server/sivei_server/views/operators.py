"""Operators' console (``/operacion``, server-rendered) and the lifecycle API (``/api/operacion/…``).

Every step is under ``require_operator``: the administrator runs the lifecycle; observers and
support staff see the state and turnout. Each action is available twice, with the same function:
``POST /api/operacion/<accion>`` answers JSON; ``POST /operacion/<accion>`` (the console's forms,
with the ``csrf_token`` field) answers a page.

Actions: ``manifiesto`` (file ``manifiesto``), ``credenciales`` (files ``lista`` =
credential-list.json, ``entradas`` = credentials.jsonl and ``fichas`` = sealed-tokens.jsonl, the
authority's sealed credential tokens), ``acta-inicio`` (files ``ceremonia`` =
the key ceremony transcript, ``acta`` = the signed opening act, optional ``constancia``), ``abrir``,
``evento`` (fields ``tipo`` = pause | resume | incident and ``descripcion``), ``cerrar``,
``exportar`` (the closed record as tar.gz), ``registro`` (file ``registro``: the completed record as
tar.gz), ``publicar``. Read-only: ``GET /api/operacion/estado``, ``GET /operacion/participacion``
(turnout as SVG charts by entity and by day) and the SVGs themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, render_template, request, send_file
from sqlalchemy import case, func, select

from sivei.crypto.fingerprint import fingerprint
from sivei_server import charts
from sivei_server import election as el
from sivei_server.db import db, session_scope
from sivei_server.models import ROLE_ADMIN, ChainHead, LateBallot, Voter
from sivei_server.sessions import current_operator, require_operator
from sivei_server.views.common import config, engine, json_response

bp = Blueprint("operators", __name__)


def _operator_id() -> int | None:
    op = current_operator()
    return op.id if op is not None else None


def _file(name: str, *, required: bool = True) -> bytes | None:
    f = request.files.get(name)
    if f is None:
        if required:
            raise el.ElectionError(400, "archivo", f"Falta el archivo «{name}».", f"The file «{name}» is missing.")
        return None
    data: bytes = f.read()
    return data


def _respond(result: dict[str, Any], status: int = 200) -> Any:
    if request.path.startswith("/api/"):
        return json_response(result, status)
    return render_template("operators/result.html", result=result, status=status), status


def _action(fn: Callable[[], dict[str, Any]]) -> Any:
    try:
        return _respond(fn())
    except el.ElectionError as exc:
        return _respond(exc.to_json(), exc.status)


def _both(rule: str, endpoint: str, view: Callable[[], Any]) -> None:
    bp.add_url_rule(f"/api/operacion/{rule}", f"api_{endpoint}", view, methods=["POST"])
    bp.add_url_rule(f"/operacion/{rule}", f"form_{endpoint}", view, methods=["POST"])


def state_json() -> dict[str, Any]:
    s = db()
    row = el.election_row(s)
    out: dict[str, Any] = {"state": row.state if row else None}
    if row is not None:
        out.update(election_id=row.election_id, manifest_hash=row.manifest_hash,
                   voting_opens=el.utc_text(row.voting_opens), voting_closes=el.utc_text(row.voting_closes))
    out["artifacts"] = {n: el.get_artifact(s, n) is not None for n in
                        (el.MANIFEST, el.CREDENTIAL_LIST, el.CREDENTIALS, el.CEREMONY, el.OPENING_ACT, el.INTEGRITY)}
    head = s.get(ChainHead, 1)
    if head is not None:
        out.update(head=head.head, head_fingerprint=fingerprint(bytes.fromhex(head.head)),
                   head_index=head.next_index - 1, cast=head.cast_count, closed=head.closed)
    out["late"] = s.scalar(select(func.count()).select_from(LateBallot)) or 0
    out["record_imported"] = el.imported_record(config()) is not None
    return out


@bp.get("/operacion")
@require_operator()
def console() -> Any:
    op = current_operator()
    return render_template("operators/console.html", state=state_json(), operator=op,
                           is_admin=op is not None and op.role == ROLE_ADMIN)


@bp.get("/api/operacion/estado")
@require_operator()
def status() -> Any:
    return json_response(state_json())


@require_operator(ROLE_ADMIN)
def load_manifest() -> Any:
    def run() -> dict[str, Any]:
        data = _file("manifiesto")
        assert data is not None
        with session_scope(engine()) as s:
            m = el.load_manifest(s, data, _operator_id())
        return {"election_id": m.election_id, "manifest_hash": m.hash.hex(),
                "manifest_fingerprint": fingerprint(m.hash)}
    return _action(run)


@require_operator(ROLE_ADMIN)
def import_credentials() -> Any:
    def run() -> dict[str, Any]:
        lista, entradas, fichas = _file("lista"), _file("entradas"), _file("fichas")
        assert lista is not None and entradas is not None and fichas is not None
        with session_scope(engine()) as s:
            cl = el.import_credentials(s, lista, entradas, fichas, _operator_id())
        return {"credentials": len(cl), "counts": cl.counts, "list_hash": cl.hash.hex(),
                "list_fingerprint": fingerprint(cl.hash)}
    return _action(run)


@require_operator(ROLE_ADMIN)
def register_opening() -> Any:
    def run() -> dict[str, Any]:
        ceremonia, acta = _file("ceremonia"), _file("acta")
        assert ceremonia is not None and acta is not None
        constancia = _file("constancia", required=False)
        with session_scope(engine()) as s:
            e = el.register_opening(s, config(), ceremonia, acta, constancia, _operator_id())
        return {"opening_act_fingerprint": fingerprint(e.opening.content_hash),
                "election_hash": e.ctx.election_hash.hex(), "election_fingerprint": fingerprint(e.ctx.election_hash),
                "guardians": e.n, "threshold": e.t}
    return _action(run)


@require_operator(ROLE_ADMIN)
def open_election() -> Any:
    def run() -> dict[str, Any]:
        event = el.open_election(engine(), config(), _operator_id())
        return {"state": "open", "head": event.head.hex(), "head_fingerprint": fingerprint(event.head)}
    return _action(run)


@require_operator(ROLE_ADMIN)
def operator_event() -> Any:
    def run() -> dict[str, Any]:
        data = request.get_json(silent=True) if request.is_json else request.form
        data = data if data is not None else {}
        kind, text = str(data.get("tipo", "")), str(data.get("descripcion", ""))
        event = el.operator_event(engine(), config(), kind, text, _operator_id())
        return {"index": event.index, "type": event.type, "head": event.head}
    return _action(run)


@require_operator(ROLE_ADMIN)
def close() -> Any:
    def run() -> dict[str, Any]:
        event = el.close_board(engine(), config(), _operator_id())
        return {"state": "closed", "index": event.index, "head": event.head,
                "head_fingerprint": fingerprint(bytes.fromhex(event.head)), "payload": event.payload_json}
    return _action(run)


@require_operator(ROLE_ADMIN)
def export() -> Any:
    try:
        archive = el.export_closed_record(engine(), config(), _operator_id())
    except el.ElectionError as exc:
        return _respond(exc.to_json(), exc.status)
    return send_file(archive.resolve(), mimetype="application/gzip", as_attachment=True,
                     download_name="registro-cerrado.tar.gz")


@require_operator(ROLE_ADMIN)
def import_record() -> Any:
    def run() -> dict[str, Any]:
        data = _file("registro")
        assert data is not None
        path = el.import_record(engine(), config(), data, _operator_id())
        return {"imported": True, "files": sorted(p.name for p in path.iterdir())}
    return _action(run)


@require_operator(ROLE_ADMIN)
def publish() -> Any:
    def run() -> dict[str, Any]:
        report = el.publish(engine(), config(), _operator_id())
        return {"state": "published", "verification": report}
    return _action(run)


for _rule, _view in (("manifiesto", load_manifest), ("credenciales", import_credentials),
                     ("acta-inicio", register_opening), ("abrir", open_election), ("evento", operator_event),
                     ("cerrar", close), ("exportar", export), ("registro", import_record), ("publicar", publish)):
    _both(_rule, _rule.replace("-", "_"), _view)


# -- turnout ------------------------------------------------------------------------------------------

def turnout() -> tuple[list[charts.Bar], list[charts.Bar]]:
    s = db()
    by_entity = s.execute(select(Voter.entity, func.count(), func.sum(case((Voter.voted.is_(True), 1), else_=0)))
                          .group_by(Voter.entity).order_by(Voter.entity)).all()
    entity_bars = [charts.Bar(str(e), int(v or 0), int(n)) for e, n, v in by_entity]
    by_day = s.execute(select(Voter.voted_on, func.count()).where(Voter.voted_on.is_not(None))
                       .group_by(Voter.voted_on).order_by(Voter.voted_on)).all()
    day_bars = [charts.Bar(d.isoformat() if d else "?", int(n)) for d, n in by_day]
    return entity_bars, day_bars


def _svg(text: str) -> Response:
    return Response(text, mimetype="image/svg+xml")


@bp.get("/operacion/participacion")
@require_operator()
def turnout_page() -> Any:
    entity_bars, day_bars = turnout()
    return render_template("operators/turnout.html",
                           entity_svg=charts.bar_chart("Participación por entidad", entity_bars),
                           day_svg=charts.bar_chart("Votos por día (UTC)", day_bars, unit=" votos"))


@bp.get("/operacion/participacion/entidad.svg")
@require_operator()
def turnout_entity_svg() -> Any:
    return _svg(charts.bar_chart("Participación por entidad", turnout()[0]))


@bp.get("/operacion/participacion/dia.svg")
@require_operator()
def turnout_day_svg() -> Any:
    return _svg(charts.bar_chart("Votos por día (UTC)", turnout()[1], unit=" votos"))
