"""Operators' console (``/operacion``, server-rendered, Spanish and English) and the lifecycle API
(``/api/operacion/…``).

Every step is under ``require_operator``: the administrator runs the lifecycle; observers and
support staff see the state, the checklist, turnout and results. Each action is available twice,
with the same function: ``POST /api/operacion/<accion>`` answers JSON; ``POST /operacion/<accion>``
(the console's forms, with the ``csrf_token`` field) answers a page — after a confirmation page for
every irreversible action (``views.staff``).

Actions: ``manifiesto`` (file ``manifiesto``), ``credenciales`` (files ``lista`` =
credential-list.json, ``entradas`` = credentials.jsonl and ``fichas`` = sealed-tokens.jsonl, the
authority's sealed credential tokens), ``acta-inicio`` (files ``ceremonia`` = the key ceremony
transcript, ``acta`` = the signed opening act, optional ``constancia``), ``abrir`` (confirmed),
``evento`` (fields ``tipo`` = pause | resume | incident and ``descripcion``; confirmed: it goes on
the public board), ``cerrar`` (confirmed), ``exportar`` (the closed record as tar.gz), ``registro``
(file ``registro``: the completed record as tar.gz), ``verificar`` (``sivei verificar`` on it),
``publicar`` (fields ``lugar``, ``fecha``, ``firmas`` for the acta de cómputo; confirmed) and
``archivar`` (a practice election or drill; field ``eliminar_padron``; confirmed). Read-only:
``GET /api/operacion/estado``, ``GET /api/operacion/lista`` (the checklist), ``GET
/operacion/participacion`` (turnout per entity, country and day) and its SVGs, ``GET
/operacion/resultados`` (the imported or published results).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request, send_file, url_for
from sqlalchemy import func, select

from sivei.crypto.fingerprint import fingerprint
from sivei.election_kind import kind_of
from sivei.record.results_files import RecordResults
from sivei_server import charts, checklist, practice, publication, retention
from sivei_server import election as el
from sivei_server import turnout as turnout_mod
from sivei_server.auth.web import remember_lang, t
from sivei_server.db import db, session_scope
from sivei_server.models import ROLE_ADMIN, BoardEventRow, ChainHead, LateBallot, Voter
from sivei_server.sessions import current_operator, require_operator
from sivei_server.views.common import config, engine, json_response
from sivei_server.views.staff import (
    Confirmation,
    confirm_page,
    confirmed,
    is_api,
    local_time,
    page,
    respond,
    result_page,
    state_name,
)

bp = Blueprint("operators", __name__)
bp.after_request(remember_lang)


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


def _fields() -> dict[str, Any]:
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return {k: v for k, v in request.form.items()}


def _both(rule: str, endpoint: str, view: Callable[[], Any]) -> None:
    bp.add_url_rule(f"/api/operacion/{rule}", f"api_{endpoint}", view, methods=["POST"])
    bp.add_url_rule(f"/operacion/{rule}", f"form_{endpoint}", view, methods=["POST"])


def state_json() -> dict[str, Any]:
    s = db()
    row = el.election_row(s)
    out: dict[str, Any] = {"state": row.state if row else None}
    if row is not None:
        out.update(election_id=row.election_id, election_kind=kind_of(row.election_id),
                   manifest_hash=row.manifest_hash,
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


def _steps_json() -> list[dict[str, Any]]:
    return [{"step": x.key, "title": x.title[0], "title_en": x.title[1], "status": x.status,
             "by": x.by[0] if x.by else None, "at": el.utc_text(x.at) if x.at else None}
            for x in checklist.steps(db(), config())]


def operator_events() -> list[dict[str, Any]]:
    """The board's operator events (opening, pauses, incidents, close), newest first."""
    rows = db().scalars(select(BoardEventRow).where(BoardEventRow.type != "ballot")
                        .order_by(BoardEventRow.index.desc()).limit(200))
    return [{"index": r.index, "type": r.type, "at": r.at,
             "description": json.loads(r.payload_json or "{}").get("description", "")} for r in rows]


def late_by_reason() -> dict[str, int]:
    rows = db().execute(select(LateBallot.reason, func.count()).group_by(LateBallot.reason)).all()
    return {str(r): int(n) for r, n in rows}


def current_turnout() -> tuple[turnout_mod.Turnout, bool]:
    """The turnout now, or the one kept when the personal data was deleted (True)."""
    s = db()
    kept = retention.kept_turnout(s)
    if kept is not None:
        return kept, True
    return turnout_mod.compute(s, el.stored_manifest(s)), False


@bp.get("/operacion")
@require_operator()
def console() -> Any:
    op = current_operator()
    s = db()
    steps = checklist.steps(s, config())
    turnout, kept = current_turnout()
    manifest = el.stored_manifest(s)
    return page("operators/console.html", state=state_json(), operator=op, steps=steps,
                next_step=checklist.next_step(steps), is_admin=op is not None and op.role == ROLE_ADMIN,
                events=operator_events(), late=late_by_reason(), turnout=turnout, turnout_kept=kept,
                manifest=manifest, state_name=state_name, results_ready=publication.published_results(config())
                is not None, archived=practice.archived(engine()),
                retention=retention.status(s))


@bp.get("/api/operacion/estado")
@require_operator()
def status() -> Any:
    return json_response(state_json())


@bp.get("/api/operacion/lista")
@require_operator()
def steps_api() -> Any:
    return json_response({"steps": _steps_json()})


# -- lifecycle actions ------------------------------------------------------------------------------------

CONFIRMATIONS: dict[str, Confirmation] = {
    "abrir": Confirmation(
        ("¿Abrir la votación?", "Open voting?"),
        (("Se agrega el evento de apertura al tablero público, con la cabeza inicial del acta de inicio.",
          "The opening event is appended to the public board, with the opening act's genesis head."),
         ("Desde ese momento los votantes pueden votar; el manifiesto, la lista y el acta ya no cambian.",
          "From then on voters can vote; the manifest, the list and the act no longer change."),
         ("No se puede deshacer.", "It cannot be undone.")),
        ("Sí, abrir la votación", "Yes, open voting")),
    "cerrar": Confirmation(
        ("¿Cerrar el tablero?", "Close the board?"),
        (("Se agrega el evento de cierre con los conteos de boletas y de boletas tardías.",
          "The close event is appended with the counts of ballots and late ballots."),
         ("Ninguna boleta más se acepta; la cabeza final se lee en voz alta y va al acta de cierre.",
          "No further ballot is accepted; the final head is read aloud and goes to the closing act."),
         ("No se puede deshacer.", "It cannot be undone.")),
        ("Sí, cerrar el tablero", "Yes, close the board")),
    "evento": Confirmation(
        ("¿Registrar este evento en el tablero público?", "Record this event on the public board?"),
        (("El texto queda en el tablero público y en el registro electoral para siempre: no escriba datos "
          "personales.",
          "The text stays on the public board and in the election record forever: do not write personal data."),
         ("Una pausa rechaza las boletas hasta reanudar.", "A pause refuses ballots until resumed.")),
        ("Sí, registrar el evento", "Yes, record the event")),
    "publicar": Confirmation(
        ("¿Publicar los resultados?", "Publish the results?"),
        (("Se publican el registro electoral completo, los resultados (JSON, CSV) y el acta de cómputo (PDF).",
          "The complete election record, the results (JSON, CSV) and the acta de cómputo (PDF) are published."),
         ("Solo si el registro pasa «sivei verificar» con la cabeza final del servidor.",
          "Only if the record passes «sivei verify» with the server's final head."),
         ("No se puede deshacer.", "It cannot be undone.")),
        ("Sí, publicar los resultados", "Yes, publish the results")),
    "archivar": Confirmation(
        ("¿Archivar esta elección y vaciar el tablero?", "Archive this election and empty the board?"),
        (("Su registro queda en el archivo público; el tablero, las boletas y los archivos de la elección se "
          "vacían para la siguiente elección.",
          "Its record stays in the public archive; the board, the ballots and the election's files are emptied "
          "for the next election."),
         ("Las cuentas de los votantes se conservan (salvo que elija eliminar el padrón); la marca «votó» se "
          "borra.",
          "Voters' accounts are kept (unless you choose to delete the roll); the «voted» mark is cleared."),
         ("No se puede deshacer. La elección real nunca se archiva.",
          "It cannot be undone. The real election is never archived.")),
        ("Sí, archivar y vaciar", "Yes, archive and empty")),
}


def _confirm_facts(action: str) -> list[tuple[str, str]]:
    s = db()
    row = el.election_row(s)
    facts: list[tuple[str, str]] = []
    if row is None:
        return facts
    head = s.get(ChainHead, 1)
    if action == "abrir":
        facts.append((t("Ventana de votación", "Voting window"),
                      f"{local_time(row.voting_opens)} → {local_time(row.voting_closes)}"))
        facts.append((t("Votantes en el padrón", "Voters on the roll"),
                      str(s.scalar(select(func.count()).select_from(Voter)) or 0)))
    if action == "cerrar" and head is not None:
        facts.append((t("Boletas recibidas", "Ballots received"), str(head.cast_count)))
        facts.append((t("Cierre", "Close"), local_time(row.voting_closes)))
    if action == "evento":
        kinds = {"pause": t("pausa", "pause"), "resume": t("reanudar", "resume"), "incident": t("incidente",
                                                                                                   "incident")}
        facts.append((t("Tipo", "Type"), kinds.get(request.form.get("tipo", ""), request.form.get("tipo", ""))))
        facts.append((t("Texto público", "Public text"), request.form.get("descripcion", "")))
    if action == "publicar":
        verified = publication.stored_verification(s)
        facts.append((t("Verificación", "Verification"),
                      t("exitosa", "passed") if verified and verified.get("ok") else
                      t("se hará ahora (puede tardar)", "will run now (it may take a while)")))
        facts.append((t("Lugar del acta", "Place of the acta"), request.form.get("lugar") or
                      publication.DEFAULT_PLACE))
        facts.append((t("Fecha del acta", "Date of the acta"), request.form.get("fecha") or t("hoy", "today")))
        signers = [x.strip() for x in request.form.get("firmas", "").splitlines() if x.strip()]
        facts.append((t("Firmas", "Signers"), "; ".join(signers) or t("líneas en blanco", "blank lines")))
    if action == "archivar":
        facts.append((t("Boletas en el tablero", "Ballots on the board"), str(head.cast_count if head else 0)))
        facts.append((t("Padrón", "Roll"), t("se ELIMINA", "is DELETED") if request.form.get("eliminar_padron")
                      else t("se conserva", "is kept")))
    return facts


def confirm_first(action: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """A form post of this action shows its confirmation page unless it carries the confirmation."""
    def decorate(view: Callable[[], Any]) -> Callable[[], Any]:
        def wrapper() -> Any:
            if not confirmed(action):
                return confirm_page(action, CONFIRMATIONS[action], request.path, _confirm_facts(action))
            return view()
        wrapper.__name__ = view.__name__
        wrapper.__doc__ = view.__doc__
        return wrapper
    return decorate


@require_operator(ROLE_ADMIN)
def load_manifest() -> Any:
    def run() -> dict[str, Any]:
        data = _file("manifiesto")
        assert data is not None
        with session_scope(engine()) as s:
            m = el.load_manifest(s, data, _operator_id())
        return {"election_id": m.election_id, "manifest_hash": m.hash.hex(),
                "manifest_fingerprint": fingerprint(m.hash)}
    return respond(run)


@require_operator(ROLE_ADMIN)
def import_credentials() -> Any:
    def run() -> dict[str, Any]:
        lista, entradas, fichas = _file("lista"), _file("entradas"), _file("fichas")
        consulados = _file("consulados", required=False)
        assert lista is not None and entradas is not None and fichas is not None
        with session_scope(engine()) as s:
            cl = el.import_credentials(s, lista, entradas, fichas, _operator_id(), consulados)
        return {"credentials": len(cl), "counts": cl.counts, "list_hash": cl.hash.hex(),
                "list_fingerprint": fingerprint(cl.hash)}
    return respond(run)


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
    return respond(run)


@require_operator(ROLE_ADMIN)
@confirm_first("abrir")
def open_election() -> Any:
    def run() -> dict[str, Any]:
        event = el.open_election(engine(), config(), _operator_id())
        return {"state": "open", "head": event.head.hex(), "head_fingerprint": fingerprint(event.head)}
    return respond(run)


@require_operator(ROLE_ADMIN)
@confirm_first("evento")
def operator_event() -> Any:
    def run() -> dict[str, Any]:
        data = _fields()
        kind, text = str(data.get("tipo", "")), str(data.get("descripcion", ""))
        event = el.operator_event(engine(), config(), kind, text, _operator_id())
        return {"index": event.index, "type": event.type, "head": event.head}
    return respond(run)


@require_operator(ROLE_ADMIN)
@confirm_first("cerrar")
def close() -> Any:
    def run() -> dict[str, Any]:
        event = el.close_board(engine(), config(), _operator_id())
        return {"state": "closed", "index": event.index, "head": event.head,
                "head_fingerprint": fingerprint(bytes.fromhex(event.head)), "payload": event.payload_json}
    return respond(run)


@require_operator(ROLE_ADMIN)
def export() -> Any:
    try:
        archive = el.export_closed_record(engine(), config(), _operator_id())
    except el.ElectionError as exc:
        return result_page(exc.to_json(), exc.status)
    return send_file(archive.resolve(), mimetype="application/gzip", as_attachment=True,
                     download_name="registro-cerrado.tar.gz")


@require_operator(ROLE_ADMIN)
def import_record() -> Any:
    def run() -> dict[str, Any]:
        data = _file("registro")
        assert data is not None
        path = el.import_record(engine(), config(), data, _operator_id())
        return {"imported": True, "files": sorted(p.name for p in path.iterdir())}
    return respond(run)


@require_operator(ROLE_ADMIN)
def verify() -> Any:
    def run() -> dict[str, Any]:
        report = publication.verify(engine(), config(), _operator_id())
        if not report["ok"]:
            raise el.ElectionError(422, "verificacion", "El registro NO pasa la verificación; no se puede publicar.",
                                   "The record does NOT pass verification; it cannot be published.",
                                   problems=report["problems"])
        return {"ok": True, "verification": report}
    return respond(run)


@require_operator(ROLE_ADMIN)
@confirm_first("publicar")
def publish() -> Any:
    def run() -> dict[str, Any]:
        form = publication.ActaForm.from_fields(_fields())
        report = publication.publish(engine(), config(), _operator_id(), form)
        return {"state": "published", "verification": report}
    return respond(run)


@require_operator(ROLE_ADMIN)
@confirm_first("archivar")
def archive() -> Any:
    def run() -> dict[str, Any]:
        drop = str(_fields().get("eliminar_padron", "")).lower() in ("1", "true", "si", "sí", "on")
        row = practice.archive_and_reset(engine(), config(), _operator_id(), drop_roll=drop)
        return {"archived": row.election_id, "record_file": row.record_file, "cast": row.cast_count}
    return respond(run)


for _rule, _view in (("manifiesto", load_manifest), ("credenciales", import_credentials),
                     ("acta-inicio", register_opening), ("abrir", open_election), ("evento", operator_event),
                     ("cerrar", close), ("exportar", export), ("registro", import_record), ("verificar", verify),
                     ("publicar", publish), ("archivar", archive)):
    _both(_rule, _rule.replace("-", "_"), _view)


# -- turnout ------------------------------------------------------------------------------------------

def _entity_names() -> dict[str, str]:
    manifest = el.stored_manifest(db())
    return {e.code: e.name for e in manifest.entities} if manifest is not None else {}


def _entity_bars(data: turnout_mod.Turnout) -> list[charts.Bar]:
    names = _entity_names()
    return [charts.Bar(names.get(r.key, r.key), r.voted, r.registered) for r in data.by_entity]


def _day_bars(data: turnout_mod.Turnout) -> list[charts.Bar]:
    return [charts.Bar(d, n) for d, n in data.by_day]


def _svg(text: str) -> Response:
    return Response(text, mimetype="image/svg+xml")


@bp.get("/operacion/participacion")
@require_operator()
def turnout_page() -> Any:
    data, kept = current_turnout()
    from sivei_server.auth.web import lang

    return page("operators/turnout.html", turnout=data, kept=kept, names=_entity_names(),
                country_name=lambda c: turnout_mod.country_name(c, lang()),
                entity_svg=charts.bar_chart(t("Participación por entidad", "Turnout by entity"), _entity_bars(data)),
                day_svg=charts.bar_chart(t("Votos por día (UTC)", "Votes per day (UTC)"), _day_bars(data),
                                         unit=t(" votos", " votes")))


@bp.get("/operacion/participacion/entidad.svg")
@require_operator()
def turnout_entity_svg() -> Any:
    return _svg(charts.bar_chart(t("Participación por entidad", "Turnout by entity"),
                                 _entity_bars(current_turnout()[0])))


@bp.get("/operacion/participacion/dia.svg")
@require_operator()
def turnout_day_svg() -> Any:
    return _svg(charts.bar_chart(t("Votos por día (UTC)", "Votes per day (UTC)"), _day_bars(current_turnout()[0]),
                                 unit=t(" votos", " votes")))


# -- results on the console ------------------------------------------------------------------------------

@bp.get("/operacion/resultados")
@require_operator()
def results_page() -> Any:
    """The published results, or before the publication those of the imported record (to review)."""
    published = publication.published_results(config())
    data, verified = published, None
    if data is None:
        record = el.imported_record(config())
        row = el.election_row(db())
        if record is not None and row is not None and row.state == "closed":
            try:
                data = RecordResults.read(record, allow_test_group=config().allow_test_group,
                                          board_head=False).json()
            except Exception:
                data = None
            stored = publication.stored_verification(db())
            verified = None if stored is None else bool(stored.get("ok"))
    if is_api():
        return json_response({"published": published is not None, "verified": verified, "results": data})
    return page("operators/results.html", data=data, published=published is not None, verified=verified,
                files_url=url_for("results.results_file", name="resultados.json") if published else None)
