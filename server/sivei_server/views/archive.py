"""Practice elections and drills, in public: the banner every page shows while one is in the server,
and the archive of those already run.

* Every template gets ``aviso_eleccion`` (a context processor): None for the real election, else the
  kind of the election in the server and its banner in Spanish and English, which ``base.html``
  shows above every page — the voters' pages, the booth, the board, the console.
* ``GET /archivo`` — the archived practice elections and drills (id, window, ballots, final head)
  and ``GET /archivo/<n>/registro.tar.gz`` — each one's record, as its board was public.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, send_file
from sqlalchemy.exc import SQLAlchemyError

from sivei.election_kind import kind_of
from sivei_server import election as el
from sivei_server import practice
from sivei_server.auth.web import remember_lang
from sivei_server.db import db
from sivei_server.views.common import config, engine
from sivei_server.views.staff import page

bp = Blueprint("archive", __name__)
bp.after_request(remember_lang)

BANNERS: dict[str, tuple[str, str]] = {
    "practice": ("PRÁCTICA — NO ES LA ELECCIÓN REAL. Los votos de la práctica no cuentan y sus resultados nunca "
                 "se publican.",
                 "PRACTICE — NOT THE REAL ELECTION. Practice votes do not count and their results are never "
                 "published."),
    "drill": ("SIMULACRO — NO ES LA ELECCIÓN REAL. Los votos del simulacro no cuentan.",
              "DRILL — NOT THE REAL ELECTION. Drill votes do not count."),
    "rehearsal": ("ENSAYO — NO ES LA ELECCIÓN REAL.", "REHEARSAL — NOT THE REAL ELECTION."),
}


@bp.app_context_processor
def election_banner() -> dict[str, Any]:
    try:
        row = el.election_row(db())
    except (SQLAlchemyError, RuntimeError):  # no database (an error page) or outside a request
        return {"aviso_eleccion": None}
    if row is None:
        return {"aviso_eleccion": None}
    kind = kind_of(row.election_id)
    if kind == "real":
        return {"aviso_eleccion": None}
    es, en = BANNERS[kind]
    return {"aviso_eleccion": {"kind": kind, "id": row.election_id, "es": es, "en": en}}


@bp.get("/archivo")
def archive_page() -> Any:
    return page("archive.html", rows=practice.archived(engine()))


@bp.get("/archivo/<int:number>/registro.tar.gz")
def archived_record(number: int) -> Any:
    found = practice.archived_file(config(), engine(), number)
    if found is None:
        abort(404)
    row, path = found
    return send_file(path.resolve(), mimetype="application/gzip", as_attachment=True,
                     download_name=f"registro-{row.election_id}.tar.gz")
