"""The voters' personal data after the election, on the console (administrators; LGPDPPSO):

* ``GET /operacion/datos`` — what the server holds, the deletion date, the export and the deletion.
* ``POST /operacion/datos/programar`` (field ``fecha``, AAAA-MM-DD) — set or move the date; confirmed.
* ``POST /operacion/datos/exportar`` (field ``frase``, asked on the confirmation page) — the archive
  copy, a tar.gz sealed under that passphrase (``sivei.passphrase_file``); confirmed.
* ``POST /operacion/datos/eliminar`` — delete now, if the date has come; confirmed.

The same under ``/api/operacion/datos/…`` (JSON). ``sivei servidor datos-personales --ejecutar``
runs a due deletion from a timer. See ``sivei_server.retention``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from sivei_server import election as el
from sivei_server import retention
from sivei_server.auth.web import remember_lang, t
from sivei_server.db import db
from sivei_server.models import ROLE_ADMIN
from sivei_server.sessions import current_operator, require_operator
from sivei_server.views.common import config, engine, json_response
from sivei_server.views.staff import (
    Confirmation,
    confirm_page,
    confirmed,
    local_time,
    page,
    respond,
    result_page,
)

bp = Blueprint("personal_data", __name__)
bp.after_request(remember_lang)

CONFIRMATIONS = {
    "datos-programar": Confirmation(
        ("¿Programar la eliminación de los datos personales?", "Schedule the deletion of the personal data?"),
        (("En esa fecha se eliminan el padrón, los datos de contacto, las cuentas, los códigos y las sesiones de "
          "los votantes; solo quedan las cifras de participación.",
          "On that date the roll, contact data, accounts, codes and sessions of the voters are deleted; only the "
          "turnout figures remain."),
         ("Exporte antes la copia para el archivo si el INE la requiere.",
          "Export the archive copy first if INE requires it.")),
        ("Sí, programar la eliminación", "Yes, schedule the deletion")),
    "datos-exportar": Confirmation(
        ("¿Exportar los datos personales?", "Export the personal data?"),
        (("El archivo contiene el padrón completo con correos y celulares; sale sellado con la frase de paso "
          "que escriba aquí (al menos 16 caracteres): sin ella no se abre. Entréguela por otro medio.",
          "The file holds the whole roll with emails and phones; it leaves sealed under the passphrase you "
          "type here (at least 16 characters): it does not open without it. Hand it over separately."),
         ("Se abre con «sivei servidor datos-personales --abrir ARCHIVO --salida DESTINO».",
          "It is opened with «sivei server personal-data --open FILE --output TARGET»."),
         ("La exportación queda en la bitácora con su huella SHA-256.",
          "The export is logged with its SHA-256 fingerprint.")),
        ("Sí, exportar", "Yes, export"),
        ("Frase de paso del archivo sellado", "Passphrase of the sealed file")),
    "datos-eliminar": Confirmation(
        ("¿Eliminar ahora los datos personales?", "Delete the personal data now?"),
        (("Se eliminan el padrón, los datos de contacto, las cuentas, los códigos, las sesiones y las "
          "direcciones de la bitácora; los votantes ya no podrán entrar.",
          "The roll, contact data, accounts, codes, sessions and logged addresses are deleted; voters can no "
          "longer log in."),
         ("No se puede deshacer.", "It cannot be undone.")),
        ("Sí, eliminar los datos personales", "Yes, delete the personal data")),
}


def _operator_id() -> int | None:
    op = current_operator()
    return op.id if op is not None else None


def _confirm(action: str, facts: list[tuple[str, str]]) -> Any | None:
    if confirmed(action):
        return None
    return confirm_page(action, CONFIRMATIONS[action], request.path, facts)


def _facts() -> list[tuple[str, str]]:
    st = retention.status(db())
    facts = [(t("Votantes en el padrón", "Voters on the roll"), str(st.voters))]
    if st.row is not None:
        facts.append((t("Eliminación programada", "Deletion scheduled"), local_time(st.row.delete_after)))
    if request.form.get("fecha"):
        facts.append((t("Nueva fecha", "New date"), request.form["fecha"]))
    return facts


@bp.get("/operacion/datos")
@require_operator()
def data_page() -> Any:
    op = current_operator()
    return page("operators/datos.html", st=retention.status(db()), is_admin=op is not None and op.role == ROLE_ADMIN)


@require_operator(ROLE_ADMIN)
def schedule() -> Any:
    refused = _confirm("datos-programar", _facts())
    if refused is not None:
        return refused

    def run() -> dict[str, Any]:
        fields = request.get_json(silent=True) if request.is_json else request.form
        day = retention.parse_day(str((fields or {}).get("fecha", "")))
        row = retention.schedule(engine(), day, _operator_id())
        return {"delete_after": el.utc_text(row.delete_after)}
    return respond(run)


@require_operator(ROLE_ADMIN)
def export() -> Any:
    refused = _confirm("datos-exportar", _facts())
    if refused is not None:
        return refused
    fields = request.get_json(silent=True) if request.is_json else request.form
    try:
        archive = retention.export(engine(), _operator_id(), str((fields or {}).get("frase", "")))
    except el.ElectionError as exc:
        return result_page(exc.to_json(), exc.status)
    return Response(archive, mimetype="application/octet-stream",
                    headers={"Content-Disposition": "attachment; filename=datos-personales.sellado",
                             "Cache-Control": "no-store"})


@require_operator(ROLE_ADMIN)
def delete_now() -> Any:
    refused = _confirm("datos-eliminar", _facts())
    if refused is not None:
        return refused

    def run() -> dict[str, Any]:
        counts = retention.delete_due(engine(), config(), _operator_id())
        if counts is None:
            raise el.ElectionError(409, "no-programada",
                                   "La eliminación no está programada o su fecha no ha llegado.",
                                   "The deletion is not scheduled or its date has not come.")
        return {"deleted": True, "counts": counts}
    return respond(run)


for _rule, _endpoint, _view in (("programar", "schedule", schedule), ("exportar", "export", export),
                                ("eliminar", "delete", delete_now)):
    bp.add_url_rule(f"/api/operacion/datos/{_rule}", f"api_{_endpoint}", _view, methods=["POST"])
    bp.add_url_rule(f"/operacion/datos/{_rule}", f"form_{_endpoint}", _view, methods=["POST"])


@bp.get("/api/operacion/datos")
@require_operator()
def data_status() -> Any:
    st = retention.status(db())
    row = st.row
    return json_response({"allowed": st.allowed, "voters": st.voters, "due": st.due,
                          "delete_after": el.utc_text(row.delete_after) if row else None,
                          "exported_at": el.utc_text(row.exported_at) if row and row.exported_at else None,
                          "deleted_at": el.utc_text(row.deleted_at) if row and row.deleted_at else None})
