"""What the electoral staff's pages share: Spanish first with English on request (``?lang=en``, the same
cookie as the voters' pages), the page that answers an action, and the confirmation of every
irreversible action.

Confirmation is a second page, not a browser ``confirm()``: the console's form for an irreversible
action (open, close, publish, a public event, archive, the deletion of personal data…) first gets a
page that names the election and the consequence, with the same fields and a ``confirmo`` field
bound to the action and the election's id; only a post carrying it acts. So a confirmation given
for one election never acts on another (a practice election archived meanwhile). The JSON API
(``/api/operacion/…``, scripts and drills) is not asked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, request
from markupsafe import Markup

from sivei.election_kind import kind_of
from sivei_server import election as el
from sivei_server.auth.web import lang, render, t
from sivei_server.db import db
from sivei_server.views.common import json_response

Text = tuple[str, str]
CONFIRM_FIELD = "confirmo"
NOT_SENT = ("csrf_token", CONFIRM_FIELD, "frase")


def is_api() -> bool:
    return request.path.startswith("/api/")


def zone_name() -> str:
    """The election's time zone (read once per request)."""
    if "sivei_zone" not in g:
        manifest = el.stored_manifest(db())
        g.sivei_zone = manifest.display_timezone if manifest is not None else "America/Mexico_City"
    zone: str = g.sivei_zone
    return zone


def local_time(instant: datetime | None) -> str:
    """An instant as staff read it: local time of the election (Mexico City) and UTC."""
    if instant is None:
        return ""
    zone = ZoneInfo(zone_name())
    local = instant.astimezone(zone)
    city = "CDMX" if zone.key == "America/Mexico_City" else zone.key
    return f"{local:%Y-%m-%d %H:%M:%S} {city} · {el.utc_text(instant)}"


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """A staff page: ``t``, ``lang``, the language switch and ``local_time`` available."""
    return render(template, status, local_time=local_time, pretty_json=pretty_json, **context)


def pretty_json(obj: Any) -> Markup:
    """JSON for people: accents as written, indented (escaped for HTML)."""
    return Markup.escape(json.dumps(obj, ensure_ascii=False, indent=1))


RESULT_LABELS: dict[str, Text] = {
    "election_id": ("Elección", "Election"), "manifest_fingerprint": ("Huella del manifiesto", "Manifest fingerprint"),
    "manifest_hash": ("Hash del manifiesto", "Manifest hash"), "credentials": ("Credenciales", "Credentials"),
    "list_fingerprint": ("Huella de la lista", "List fingerprint"), "list_hash": ("Hash de la lista", "List hash"),
    "opening_act_fingerprint": ("Huella del acta de inicio", "Opening act fingerprint"),
    "election_hash": ("Hash de la elección (H_E)", "Election hash (H_E)"),
    "election_fingerprint": ("Huella de la elección", "Election fingerprint"),
    "guardians": ("Custodios", "Key-holders"), "threshold": ("Umbral", "Threshold"), "state": ("Estado", "State"),
    "head": ("Cabeza del tablero", "Board head"), "head_fingerprint": ("Huella de la cabeza", "Head fingerprint"),
    "index": ("Evento", "Event"), "type": ("Tipo", "Type"), "imported": ("Importado", "Imported"),
    "files": ("Archivos", "Files"), "ok": ("Verificación exitosa", "Verification passed"),
    "archived": ("Archivada", "Archived"), "record_file": ("Registro archivado", "Archived record"),
    "cast": ("Boletas", "Ballots"), "delete_after": ("Eliminar a partir de", "Delete from"),
    "deleted": ("Eliminado", "Deleted"),
}
STATE_NAMES: dict[str, Text] = {
    "new": ("en preparación", "in preparation"), "open": ("abierta", "open"), "paused": ("en pausa", "paused"),
    "closed": ("cerrada", "closed"), "published": ("resultados publicados", "results published"),
}


def state_name(state: str | None) -> str:
    if state is None:
        return t("sin elección cargada", "no election loaded")
    return t(*STATE_NAMES.get(state, (state, state)))


def result_page(result: Mapping[str, Any], status: int = 200) -> Any:
    """The answer to a console action: what was done, or the refusal and why, in the page's language."""
    if is_api():
        return json_response(dict(result), status)
    message = None
    if "message" in result:
        message = result["message_en"] if lang() == "en" and result.get("message_en") else result["message"]
    shown = [(t(*RESULT_LABELS[k]), v) for k, v in result.items()
             if k in RESULT_LABELS and not isinstance(v, (dict, list))]
    extra = {k: v for k, v in result.items() if k not in RESULT_LABELS and k not in ("message", "message_en",
                                                                                     "error")}
    return page("operators/result.html", status, result=result, message=message, shown=shown, extra=extra,
                ok=status < 400)


def respond(fn: Callable[[], dict[str, Any]]) -> Any:
    try:
        return result_page(fn())
    except el.ElectionError as exc:
        return result_page(exc.to_json(), exc.status)


# -- confirmation -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    """The second step of an irreversible action: its question, its consequences, its button."""

    question: Text
    consequences: tuple[Text, ...]
    button: Text
    passphrase: Text | None = None
    """A passphrase asked on the confirmation page itself (field ``frase``; never sent back in a page)."""


def confirmation_token(action: str) -> str:
    row = el.election_row(db())
    return f"{action}:{row.election_id if row is not None else '-'}"


def confirmed(action: str) -> bool:
    return is_api() or request.form.get(CONFIRM_FIELD) == confirmation_token(action)


def confirm_page(action: str, confirmation: Confirmation, endpoint_url: str,
                 facts: Sequence[tuple[str, str]] = ()) -> Any:
    """The confirmation page: the election, the consequences, the facts; the form re-posts the same
    fields with ``confirmo``."""
    row = el.election_row(db())
    fields = [(k, v) for k, v in request.form.items(multi=True) if k not in NOT_SENT]
    return page("operators/confirm.html", confirmation=confirmation, action_url=endpoint_url, fields=fields,
                token=confirmation_token(action), election=row,
                kind=kind_of(row.election_id) if row is not None else None, facts=facts)
