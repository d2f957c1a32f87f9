"""Static files with their content in the URL, cached for a year.

Every ``url_for`` of a static file (the application's and any blueprint's) gets ``?v=`` and the
first 16 hex digits of the file's SHA-256, and a static response for such a URL says
``Cache-Control: public, max-age=31536000, immutable``: a voter on a slow link downloads each
style sheet and the booth's script once, not once per page (each revalidation would cost a round
trip). A changed file gets a new URL. A request with a ``v`` that is not the file's current digest
(an old page) is still served, with the default revalidation, never cached for a year.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request

YEAR = 365 * 24 * 3600


def _folder(app: Flask, endpoint: str) -> str | None:
    if endpoint == "static":
        return app.static_folder
    if endpoint.endswith(".static"):
        bp = app.blueprints.get(endpoint.rsplit(".", 1)[0])
        return bp.static_folder if bp is not None else None
    return None


def digest(app: Flask, endpoint: str, filename: str) -> str | None:
    """The file's version (16 hex digits of its SHA-256), computed once per process."""
    cache: dict[tuple[str, str], str | None] = app.extensions.setdefault("sivei_static_digests", {})
    key = (endpoint, filename)
    if key not in cache:
        folder = _folder(app, endpoint)
        found = None
        if folder is not None:
            base = Path(folder).resolve()
            path = (base / filename).resolve()
            if path.is_file() and base in path.parents:
                found = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        cache[key] = found
    return cache[key]


def _add_version(endpoint: str, values: dict[str, Any]) -> None:
    if "filename" in values and "v" not in values and (endpoint == "static" or endpoint.endswith(".static")):
        version = digest(current_app, endpoint, str(values["filename"]))
        if version is not None:
            values["v"] = version


def _cache_headers(response: Response) -> Response:
    endpoint = request.endpoint or ""
    version = request.args.get("v")
    if (version and response.status_code == 200 and (endpoint == "static" or endpoint.endswith(".static"))
            and version == digest(current_app, endpoint, str((request.view_args or {}).get("filename", "")))):
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    return response


def init_app(app: Flask) -> None:
    app.url_defaults(_add_version)
    app.after_request(_cache_headers)
