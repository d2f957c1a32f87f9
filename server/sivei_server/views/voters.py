"""Voters: the booth page, the election's public context for the booth, and casting.

* ``GET /votar`` — the booth page. Served without a session: the credential authority's link
  (``/votar#credencial=…``) opens it, the booth takes the credential from the fragment (which never
  reaches the server) and asks the voter to log in when needed, keeping the credential in memory.
* ``GET /votar/sesion`` — where a login opened from the booth ends: tells the voter to go back to
  the booth (and closes itself when the booth opened it).
* ``GET /api/eleccion/contexto`` — what the booth encrypts with: ``{group, election_key,
  election_hash, manifest}`` (public).
* ``GET /api/votante`` — the logged-in voter's roll id, ballot style, whether they voted, the
  session's end (and the seconds left by the server's clock), their sealed credential token
  (``ficha``, hex; only their credential opens it) and the session's CSRF token (the booth page
  may have been loaded before the voter logged in).
* ``POST /api/votar`` — cast: the body is the signed ballot as JSON (``Content-Type:
  application/json``, header ``X-CSRF-Token``), the header ``X-Credential-Token`` the opened token.
  201 with the receipt; 200 with the same receipt for an idempotent retry; JSON 4xx otherwise (see
  ``sivei_server.casting``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, render_template, request, url_for

from sivei.ballot.credential_tokens import TOKEN_HEADER
from sivei.ballot.emblems import EMBLEM_FOLDER, available_emblems, emblem_json, sample_emblem_folder
from sivei.crypto.encoding import element_to_hex
from sivei.crypto.fingerprint import fingerprint
from sivei_server import casting, consulates
from sivei_server.db import db
from sivei_server.election import (
    ElectionError,
    LoadedElection,
    election_row,
    loaded,
    sealed_token_of,
    stored_manifest,
)
from sivei_server.models import STATE_NEW, utcnow
from sivei_server.security import client_address
from sivei_server.sessions import csrf_token, current_session, current_voter, require_voter, session_expires_at
from sivei_server.views.common import config, engine, error_response, json_response, page_lang

bp = Blueprint("voters", __name__)


@bp.get("/")
def index() -> Any:
    """The home page: "Entrar a votar" (the login, then the booth), the board, the help desk."""
    cfg = config()
    login = current_app.config.get("SIVEI_VOTER_LOGIN_ENDPOINT")
    lang = page_lang()
    login_url = (url_for(login, siguiente=url_for("voters.booth"), lang="en" if lang == "en" else None) if login
                 else url_for("voters.booth"))
    manifest = stored_manifest(db())
    name = manifest.name if manifest is not None else None
    return render_template("index.html", lang=lang, login_url=login_url, election_name=name,
                           help={"phone": cfg.help_phone, "email": cfg.help_email, "hours": cfg.help_hours})


@bp.get("/api/salud")
def health() -> Any:
    return json_response({"ok": True})


@bp.get("/votar")
def booth() -> Any:
    return render_template("booth/cabina.html", lang=page_lang(), allow_test_group=config().allow_test_group)


@bp.get("/votar/sesion")
@require_voter
def booth_login_done() -> Any:
    return render_template("booth/sesion.html", lang=page_lang())


def election_context_json() -> dict[str, Any]:
    """The booth's context; with ``emblems`` (file name → SVG text) when the manifest names emblems:
    read from the data directory's ``emblemas/`` (the operator puts the election's files there) or,
    for the sample manifest's placeholders, the library's; each one only if it is the file the
    manifest names (the booth checks the hash again before showing it)."""
    election = loaded(db(), config())
    ctx = election.ctx
    out: dict[str, Any] = {"group": ctx.group.name, "election_key": element_to_hex(ctx.group, ctx.key.element),
                           "election_hash": ctx.election_hash.hex(), "manifest": election.manifest.to_json()}
    if any(p.emblem is not None for p in election.manifest.parties):
        found = available_emblems(election.manifest, [config().data_dir / EMBLEM_FOLDER, sample_emblem_folder()])
        out["emblems"] = emblem_json(found)
    return out


@bp.get("/api/eleccion/contexto")
def election_context() -> Any:
    try:
        return json_response(election_context_json())
    except ElectionError as exc:
        return error_response(exc)


@bp.get("/api/votante")
@require_voter
def voter_info() -> Any:
    voter = current_voter()
    assert voter is not None
    try:
        refusal = consulates.internet_refusal(voter)
        if refusal is not None:
            raise refusal
        election = loaded(db(), config())
        style = casting.voter_style(election, voter.entity)
    except ElectionError as exc:
        return error_response(exc)
    expires = session_expires_at()
    left = max(0, int((expires - utcnow()).total_seconds())) if expires else None
    sealed = sealed_token_of(db(), voter.voter_id)
    return json_response({"voter_id": voter.voter_id, "entity": voter.entity, "style": style, "voted": voter.voted,
                          "ficha": sealed.hex() if sealed is not None else None, "csrf": csrf_token(),
                          "election_fingerprint": fingerprint(election.ctx.election_hash),
                          "session_expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ") if expires else None,
                          # by the server's clock: the booth times its warnings from this, not from the
                          # device's clock, which may be off
                          "session_seconds_left": left})


@bp.post("/api/votar")
@require_voter
def cast() -> Any:
    received_at = g.get("sivei_received_at") or utcnow()
    voter, session = current_voter(), current_session()
    assert voter is not None and session is not None
    eng, cfg = engine(), config()
    try:
        refusal = consulates.internet_refusal(voter)
        if refusal is not None:
            raise refusal
        election = open_election()
        caster = casting.Caster(voter.voter_id, casting.voter_style(election, voter.entity), voter.voted,
                                session.token_hash, session.created_at, client_address())
        casting.check_window(eng, casting.Window.of(election), received_at, caster)
        if request.mimetype != "application/json":
            raise ElectionError(415, "tipo", "Envíe la boleta como application/json.",
                                "Send the ballot as application/json.")
        limit = casting.max_ballot_bytes(election, caster.style, cfg)
        length = request.content_length
        if length is None:
            raise ElectionError(411, "longitud", "Falta Content-Length.", "Content-Length is required.")
        if length > limit:
            raise ElectionError(413, "boleta-demasiado-grande",
                                f"La boleta excede el tamaño de una boleta válida de su tipo ({limit} bytes).",
                                f"The ballot exceeds the size of a valid ballot of your style ({limit} bytes).")
        body = request.get_data(cache=False)
        if len(body) > limit:
            raise ElectionError(413, "boleta-demasiado-grande", "La boleta es demasiado grande.",
                                "The ballot is too large.")
        db().close()  # nothing held while validating
        result = casting.cast(eng, cfg, election, caster, body, received_at, request.headers.get(TOKEN_HEADER))
    except ElectionError as exc:
        return error_response(exc)
    return json_response({"receipt": result.receipt, "retry": result.status == 200}, result.status)


def open_election() -> LoadedElection:
    """The verified election, kept by the application once voting has opened (its opening act can
    no longer change): no database read per ballot."""
    found: LoadedElection | None = current_app.extensions.get("sivei_open_election")
    if found is not None:
        return found
    election = loaded(db(), config())
    row = election_row(db())
    if row is not None and row.state != STATE_NEW:
        current_app.extensions["sivei_open_election"] = election
    return election
