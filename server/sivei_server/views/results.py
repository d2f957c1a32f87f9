"""The public results, as INE publishes them (no login):

* ``GET /resultados`` — per entity and contest: votes per party, per coalition combination and per
  candidacy, the art. 311 distribution among parties, candidates not registered, null votes, valid
  votes, total, percentages and turnout against the list; then each contest over all entities.
  Phone-first (no horizontal scroll at 390 px), Spanish and English (``?lang=en``).
* ``GET /resultados/<archivo>`` — ``resultados.json`` (named keys), ``resultados.csv``,
  ``acta-computo.pdf`` (the printable acta de cómputo) and ``acta-computo.txt``, written by the
  library at the publication (``sivei_server.publication``).

The page is rendered from ``resultados.json`` itself, so what it shows is what the files say.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, send_file

from sivei_server import publication
from sivei_server.auth.web import remember_lang
from sivei_server.views.common import config
from sivei_server.views.staff import page

bp = Blueprint("results", __name__)
bp.after_request(remember_lang)

MIME = {"resultados.json": "application/json", "resultados.csv": "text/csv",
        "acta-computo.pdf": "application/pdf", "acta-computo.txt": "text/plain"}


@bp.get("/resultados")
def results_public() -> Any:
    data = publication.published_results(config())
    return page("results/public.html", 200 if data is not None else 404, data=data)


@bp.get("/resultados/<name>")
def results_file(name: str) -> Any:
    path = publication.results_file(config(), name)
    if path is None:
        abort(404)
    mimetype = MIME[name] + ("; charset=utf-8" if MIME[name].startswith("text/") else "")
    return send_file(path.resolve(), mimetype=mimetype, as_attachment=name.endswith((".pdf", ".csv")),
                     download_name=name, max_age=60)
