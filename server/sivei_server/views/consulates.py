"""Consulates: the official's page and the kiosks (``sivei_server.consulates`` does the work).

The official (role ``consulado``), on the consulate's own computer:

* ``GET /consulado`` — the consulate's page: look a person up, serve them on a free kiosk, the kiosks
  and their state, the counts, the log;
* ``POST /consulado/buscar`` (``texto``: the roll's id or the voter-ID number) — a registered voter
  and whether they may vote here, with the reason when not;
* ``POST /consulado/atender`` (``votante``, ``quiosco``) — serve a registered voter: a one-time
  session on that kiosk;
* ``POST /consulado/sin-registro`` (``clave``, ``identificacion`` = the official checked the voter ID,
  ``quiosco``) — serve an unregistered voter;
* ``POST /consulado/liberar`` (``quiosco``) — end a kiosk's session (a voter who walked away);
* ``POST /consulado/quiosco`` (``nombre``) — turn THIS browser into a kiosk of the consulate: it gets
  the kiosk's cookie, the official's session on it ends, and it opens ``/quiosco``;
* ``GET /consulado/bitacora.json`` — the unsigned log to review and sign offline
  (``sivei consulado firmar``); ``POST /consulado/bitacora`` (file ``bitacora``) — the signed log.

The kiosk (a browser in kiosk mode, full screen, no address bar; its cookie identifies it):

* ``GET /quiosco`` — the booth in kiosk mode: waits for a session, then one voter's journey, then
  starts again from a fresh page (nothing of the voter stays: no storage, no cache, the history
  entry replaced);
* ``GET /api/quiosco/estado`` — the kiosk and whether a session waits for it;
* ``GET /api/quiosco/votante`` — the session's voter as the booth needs it (as ``/api/votante``);
* ``POST /api/quiosco/tarjeta`` (``{"credential": <public credential hex>}``) — whether a card is of
  this consulate's pool (before the voter marks anything);
* ``POST /api/quiosco/votar`` — cast (as ``/api/votar``);
* ``POST /api/quiosco/terminar`` — the voter is done: the session ends.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, request, url_for

from sivei.ballot.credential_tokens import TOKEN_HEADER
from sivei.crypto.fingerprint import fingerprint
from sivei_server import casting, consulates, models
from sivei_server import election as el
from sivei_server.auth.web import field, remember_lang, t
from sivei_server.db import db, session_scope
from sivei_server.models import ROLE_CONSULATE, Kiosk, Operator
from sivei_server.security import client_address
from sivei_server.sessions import csrf_token, current_operator, end_session, require_operator
from sivei_server.views.common import config, engine, error_response, json_response
from sivei_server.views.staff import page
from sivei_server.views.voters import open_election

bp = Blueprint("consulates", __name__)
bp.after_request(remember_lang)


# -- the official's page -------------------------------------------------------------------------------


def _operator() -> Operator:
    op = current_operator()
    assert op is not None and op.role == ROLE_CONSULATE
    return op


def _official_page(status: int = 200, *, found: consulates.Found | None = None, looked_up: str | None = None,
                   message: tuple[str, str] | None = None, ok: bool = True) -> Any:
    db().rollback()  # a fresh snapshot: what an action just committed (another connection) is shown
    op = _operator()
    s = db()
    manifest = el.stored_manifest(s)
    summary = kiosks = None
    if manifest is not None and manifest.in_person is not None and op.consulate in manifest.in_person.codes:
        assert op.consulate is not None
        summary = consulates.summary(s, manifest, op.consulate)
        kiosks = consulates.kiosks_of(s, op.consulate)
    row = el.election_row(s)
    return page("consulates/official.html", status, operator=op, manifest=manifest, summary=summary,
                kiosks=kiosks or [], found=found, looked_up=looked_up, message=message, ok=ok,
                state=row.state if row is not None else None)


@bp.get("/consulado")
@require_operator(ROLE_CONSULATE)
def official_page() -> Any:
    return _official_page()


def _act(fn: Any) -> Any:
    """Run an official's action; answer the page with what was done or why it was refused."""
    try:
        done = fn()
    except el.ElectionError as exc:
        return _official_page(exc.status, message=(exc.es, exc.en), ok=False)
    return _official_page(message=done)


def _kiosk_field() -> int:
    value = field("quiosco", 16)
    if not value.isdigit():
        raise consulates.ConsulateError(400, "quiosco", "Elija un quiosco libre.", "Choose a free kiosk.")
    return int(value)


@bp.post("/consulado/buscar")
@require_operator(ROLE_CONSULATE)
def look_up() -> Any:
    text = field("texto", 64).strip()
    manifest = el.stored_manifest(db())
    if manifest is None or not text:
        return _official_page(400, message=("Escriba el identificador o la clave de elector.",
                                            "Type the roll id or the voter ID number."), ok=False)
    try:
        found = consulates.look_up(db(), manifest, config(), _operator(), text)
    except el.ElectionError as exc:
        return _official_page(exc.status, message=(exc.es, exc.en), ok=False)
    if found is None:
        return _official_page(404, looked_up=text, message=(
            "No está en el padrón del extranjero. Si muestra una credencial para votar vigente, atiéndala como "
            "persona sin registro previo.",
            "Not on the roll of voters abroad. If they show a valid voter ID, serve them as a voter without prior "
            "registration."), ok=False)
    return _official_page(found=found, looked_up=text)


@bp.post("/consulado/atender")
@require_operator(ROLE_CONSULATE)
def serve_registered() -> Any:
    def run() -> tuple[str, str]:
        election = open_election()
        ks = consulates.serve_registered(engine(), config(), election, _operator().id, field("votante", 64),
                                         _kiosk_field())
        name = _kiosk_name(ks.kiosk_id)
        return (f"Sesión emitida en el quiosco «{name}». Indique a la persona que pase a votar.",
                f"Session issued on kiosk «{name}». Ask the voter to go and vote.")
    return _act(run)


@bp.post("/consulado/sin-registro")
@require_operator(ROLE_CONSULATE)
def serve_unregistered() -> Any:
    def run() -> tuple[str, str]:
        if field("identificacion", 8) != "si":
            raise consulates.ConsulateError(400, "identificacion", "Confirme que revisó la credencial para votar "
                                            "(vigente, y de la persona que la presenta).",
                                            "Confirm that you checked the voter ID (valid, and of the person "
                                            "showing it).")
        election = open_election()
        ks = consulates.serve_unregistered(engine(), config(), election, _operator().id, field("clave", 64),
                                           _kiosk_field())
        name = _kiosk_name(ks.kiosk_id)
        return (f"Persona sin registro previo atendida. Entréguele una tarjeta de credencial del consulado y pida "
                f"que pase al quiosco «{name}».",
                f"Voter without prior registration served. Hand them one of the consulate's credential cards and "
                f"ask them to go to kiosk «{name}».")
    return _act(run)


def _kiosk_name(kiosk_id: int) -> str:
    with session_scope(engine()) as s:
        kiosk = s.get(Kiosk, kiosk_id)
        return kiosk.name if kiosk is not None else str(kiosk_id)


@bp.post("/consulado/liberar")
@require_operator(ROLE_CONSULATE)
def release() -> Any:
    def run() -> tuple[str, str]:
        kiosk_id = _kiosk_field()
        with session_scope(engine()) as s:
            op = s.get(Operator, _operator().id)
            assert op is not None
            consulates.release_kiosk(s, op, kiosk_id)
        return ("Quiosco liberado. Si la persona no votó, puede volver a ser atendida.",
                "Kiosk released. If the voter did not cast, they may be served again.")
    return _act(run)


@bp.post("/consulado/quiosco")
@require_operator(ROLE_CONSULATE)
def enroll() -> Any:
    """This browser becomes a kiosk: the kiosk's cookie, and the official's session here ends."""
    name = " ".join(field("nombre", 64).split())
    if not name:
        return _official_page(400, message=("Escriba un nombre para el quiosco (por ejemplo «Quiosco 2»).",
                                            "Type a name for the kiosk (for example «Kiosk 2»)."), ok=False)
    operator_id = _operator().id
    end_session()  # commits the request's session: the enrolment below is another transaction
    with session_scope(engine()) as s:
        op = s.get(Operator, operator_id)
        assert op is not None
        kiosk, token = consulates.enroll_kiosk(s, op, name)
        name = kiosk.name
    response = redirect(url_for("consulates.kiosk_page"), code=303)
    cfg = config()
    response.set_cookie(consulates.kiosk_cookie_name(cfg), token, max_age=int(timedelta(
        days=consulates.KIOSK_COOKIE_DAYS).total_seconds()), secure=cfg.cookie_secure, httponly=True,
        samesite="Strict", path="/")
    current_app.logger.info("quiosco registrado: %s", name)
    return response


@bp.get("/consulado/bitacora.json")
@require_operator(ROLE_CONSULATE)
def log_draft() -> Any:
    op = _operator()
    try:
        election = open_election()
        assert op.consulate is not None
        draft = consulates.log_draft(db(), election, op.consulate)
    except el.ElectionError as exc:
        return _official_page(exc.status, message=(exc.es, exc.en), ok=False)
    return Response(json.dumps(draft, indent=1) + "\n", mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="bitacora-{op.consulate}-sin-firmar.json"'})


@bp.post("/consulado/bitacora")
@require_operator(ROLE_CONSULATE)
def upload_log() -> Any:
    def run() -> tuple[str, str]:
        upload = request.files.get("bitacora")
        data = upload.read() if upload is not None else b""
        if not data:
            raise consulates.ConsulateError(400, "bitacora", "Elija el archivo de la bitácora firmada.",
                                            "Choose the signed log file.")
        election = open_election()
        with session_scope(engine()) as s:
            op = s.get(Operator, _operator().id)
            assert op is not None
            envelope = consulates.store_signed_log(s, election, op, data)
        fp = fingerprint(envelope.content_hash)
        return (f"Bitácora firmada recibida (huella {fp}). El consulado queda cerrado: no atiende a nadie más.",
                f"Signed log received (fingerprint {fp}). The consulate is closed: it serves nobody else.")
    return _act(run)


# -- the kiosk ------------------------------------------------------------------------------------------------


def _kiosk() -> Kiosk | None:
    if "sivei_kiosk" not in g:
        g.sivei_kiosk = consulates.kiosk_by_token(db(), request.cookies.get(consulates.kiosk_cookie_name(config())))
    kiosk: Kiosk | None = g.sivei_kiosk
    return kiosk


def _no_kiosk() -> Any:
    return json_response({"error": "quiosco", "message": "Este equipo no es un quiosco registrado de un consulado.",
                          "message_en": "This device is not an enrolled consulate kiosk."}, 403)


def _no_session() -> Any:
    return json_response({"error": "sin-sesion", "message": "No hay una sesión de votación en este quiosco.",
                          "message_en": "There is no voting session on this kiosk."}, 409)


@bp.get("/quiosco")
def kiosk_page() -> Any:
    kiosk = _kiosk()
    if kiosk is None:
        return page("consulates/no_kiosk.html", 403)
    from flask import render_template

    from sivei_server.views.common import page_lang

    manifest = el.stored_manifest(db())
    name = manifest.in_person.consulate(kiosk.consulate).name if manifest and manifest.in_person and \
        kiosk.consulate in manifest.in_person.codes else kiosk.consulate
    return render_template("booth/cabina.html", lang=page_lang(), allow_test_group=config().allow_test_group,
                           kiosk=kiosk, consulate_name=name)


@bp.get("/api/quiosco/estado")
def kiosk_state() -> Any:
    kiosk = _kiosk()
    if kiosk is None:
        return _no_kiosk()
    found = consulates.kiosk_voter(db(), kiosk)
    db().commit()  # an expired session is ended
    return json_response({"kiosk": kiosk.name, "consulate": kiosk.consulate,
                         "session": None if found is None else {"unregistered": found.voter is None}})


@bp.get("/api/quiosco/votante")
def kiosk_voter() -> Any:
    kiosk = _kiosk()
    if kiosk is None:
        return _no_kiosk()
    found = consulates.kiosk_voter(db(), kiosk)
    if found is None:
        db().commit()
        return _no_session()
    try:
        election = open_election()
        manifest = election.manifest
        assert manifest.in_person is not None
        style = (casting.voter_style(election, found.voter.entity) if found.voter is not None
                 else manifest.in_person.unregistered_style)
    except el.ElectionError as exc:
        return error_response(exc)
    sealed = el.sealed_token_of(db(), found.voter.voter_id) if found.voter is not None else None
    ks = found.session
    return json_response({
        "kiosk": kiosk.name, "consulate": kiosk.consulate, "unregistered": found.voter is None,
        "voter_id": found.voter.voter_id if found.voter is not None else None, "entity": None,
        "style": style, "voted": found.served.voted, "ficha": sealed.hex() if sealed is not None else None,
        "csrf": csrf_token(), "election_fingerprint": fingerprint(election.ctx.election_hash),
        "session_expires_at": ks.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "session_seconds_left": consulates.seconds_left(ks)})


@bp.post("/api/quiosco/tarjeta")
def kiosk_card() -> Any:
    """Is this card (its public credential) one of this consulate's pool, for an unregistered voter's
    session? Answered before the voter marks anything; the cast checks it again."""
    kiosk = _kiosk()
    if kiosk is None:
        return _no_kiosk()
    found = consulates.kiosk_voter(db(), kiosk)
    if found is None or found.voter is not None:
        return _no_session()
    data = request.get_json(silent=True)
    text = data.get("credential") if isinstance(data, dict) else None
    try:
        credential = bytes.fromhex(text) if isinstance(text, str) and len(text) == 64 else b""
    except ValueError:
        credential = b""
    try:
        manifest = open_election().manifest
        casting.check_pool_credential(consulates.pool_of(db(), manifest, kiosk.consulate), credential)
    except el.ElectionError as exc:
        return error_response(exc)
    return json_response({"ok": True})


@bp.post("/api/quiosco/votar")
def kiosk_cast() -> Any:
    received_at = g.get("sivei_received_at") or models.utcnow()
    kiosk = _kiosk()
    if kiosk is None:
        return _no_kiosk()
    found = consulates.kiosk_voter(db(), kiosk)
    if found is None:
        return _no_session()
    eng, cfg = engine(), config()
    try:
        election = open_election()
        manifest = election.manifest
        assert manifest.in_person is not None
        if found.voter is not None:
            style = casting.voter_style(election, found.voter.entity)
            pool = None
        else:
            style = manifest.in_person.unregistered_style
            pool = consulates.pool_of(db(), manifest, kiosk.consulate)
        ks = found.session
        caster = casting.Caster(found.voter.voter_id if found.voter is not None else "", style, found.served.voted,
                                "", consulates.session_started(ks), client_address(),
                                kiosk=casting.KioskCast(ks.id, found.served.id, pool))
        casting.check_window(eng, casting.Window.of(election), received_at, caster)
        if request.mimetype != "application/json":
            raise el.ElectionError(415, "tipo", "Envíe la boleta como application/json.",
                                   "Send the ballot as application/json.")
        limit = casting.max_ballot_bytes(election, style, cfg)
        if request.content_length is None or request.content_length > limit:
            raise el.ElectionError(413, "boleta-demasiado-grande", "La boleta excede el tamaño de una boleta válida.",
                                   "The ballot exceeds the size of a valid ballot.")
        body = request.get_data(cache=False)
        db().close()
        result = casting.cast(eng, cfg, election, caster, body, received_at, request.headers.get(TOKEN_HEADER))
    except el.ElectionError as exc:
        return error_response(exc)
    return json_response({"receipt": result.receipt, "retry": result.status == 200}, result.status)


@bp.post("/api/quiosco/terminar")
def kiosk_done() -> Any:
    kiosk = _kiosk()
    if kiosk is None:
        return _no_kiosk()
    with session_scope(engine()) as s:
        found = s.get(Kiosk, kiosk.id)
        if found is not None:
            consulates.end_kiosk_session(s, found)
    return json_response({"ok": True})


def kiosk_of_request() -> Kiosk | None:
    """For the booth's template: the kiosk this browser is, if any."""
    return _kiosk()


__all__ = ["bp", "kiosk_of_request", "t"]
