"""The public bulletin board (no login, no identity on it).

* ``GET /tablero`` — head (to note during voting), counts, accepted ballots with their tracking codes
  (``?pagina=N``), operator events, search (``?codigo=`` 20-character code or full hash), and after
  the count the results and the full record.
* ``GET /api/tablero`` — summary; ``GET /api/tablero/eventos?desde=&limite=`` — events;
  ``GET /api/tablero/buscar?codigo=`` — one ballot by tracking code or ballot hash;
  ``GET /api/tablero/boleta?indice=`` — a ballot as cast (JSON).
* ``GET /tablero/registro.tar.gz`` — the published election record; ``GET /api/resultados``.

Codes travel in query strings, which the access log does not record.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, render_template, request, send_file
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sivei.crypto.fingerprint import CROCKFORD, FINGERPRINT_CHARS, crockford_decode, fingerprint, group5
from sivei.errors import EncodingError
from sivei_server import election as el
from sivei_server.db import db
from sivei_server.models import BoardEventRow, CastBallot, ChainHead, Election
from sivei_server.views.common import config, json_response, mexico_time, page_lang

bp = Blueprint("board", __name__)

# What each board event is, in words (the record's names are the protocol's: open, pause…).
EVENT_NAMES = {
    "open": ("Apertura de la votación", "Voting opened"),
    "pause": ("Pausa", "Paused"),
    "resume": ("Reanudación", "Resumed"),
    "incident": ("Incidente", "Incident"),
    "close": ("Cierre de la votación", "Voting closed"),
    "ballot": ("Boleta", "Ballot"),
}
STATE_NAMES = {
    "new": ("en preparación", "being prepared"),
    "open": ("abierta", "open"),
    "paused": ("en pausa", "paused"),
    "closed": ("cerrada", "closed"),
    "published": ("resultados publicados", "results published"),
}


def event_name(type_: str, lang: str) -> str:
    pair = EVENT_NAMES.get(type_)
    return type_ if pair is None else pair[1 if lang == "en" else 0]


def state_name(state: str | None, lang: str) -> str:
    pair = STATE_NAMES.get(state or "", ("sin elección", "no election"))
    return pair[1 if lang == "en" else 0]
PAGE = 100
MAX_INDEX = 2**31 - 1  # board indexes are 32-bit signed integers in the database (item 6: no 500 beyond)


def normalize_code(typed: str) -> tuple[str, str] | None:
    """("hash", hex) for a full ballot hash, ("code", canonical code) for a tracking code."""
    cleaned = typed.strip()
    if len(cleaned) == 64:
        try:
            return ("hash", bytes.fromhex(cleaned).hex())
        except ValueError:
            return None
    compact = "".join(ch for ch in cleaned if ch not in "- ")
    if len(compact) != FINGERPRINT_CHARS:
        return None
    try:
        value = crockford_decode(compact)
    except EncodingError:
        return None
    digits = []
    for _ in range(FINGERPRINT_CHARS):
        digits.append(CROCKFORD[value & 31])
        value >>= 5
    return ("code", group5("".join(reversed(digits))))


def find(s: Session, typed: str) -> list[CastBallot]:
    norm = normalize_code(typed)
    if norm is None:
        return []
    kind, value = norm
    column = CastBallot.ballot_hash if kind == "hash" else CastBallot.tracking_code
    return list(s.scalars(select(CastBallot).where(column == value)))


def summary(s: Session) -> dict[str, Any]:
    row = s.get(Election, 1)
    head = s.get(ChainHead, 1)
    out: dict[str, Any] = {"state": row.state if row else None, "election_id": row.election_id if row else None}
    if row is not None:
        out["voting_opens"] = el.utc_text(row.voting_opens)
        out["voting_closes"] = el.utc_text(row.voting_closes)
    if head is not None:
        out.update(head=head.head, head_fingerprint=fingerprint(bytes.fromhex(head.head)),
                   head_index=head.next_index - 1, cast=head.cast_count, closed=head.closed)
    act = el.get_artifact(s, el.OPENING_ACT)
    if act is not None:
        body = json.loads(act)["body"]
        out["election_hash"] = body["election_hash"]
        out["election_fingerprint"] = fingerprint(bytes.fromhex(body["election_hash"]))
    return out


def _event_json(row: BoardEventRow, ballot: CastBallot | None) -> dict[str, Any]:
    """An event as the public board shows it. Ballot events carry no time (item 8): a ballot's arrival
    time next to the server's login times could tell whose it is; operator events keep theirs."""
    out: dict[str, Any] = {"index": row.index, "type": row.type, "head": row.head}
    if row.type != "ballot":
        out["at"] = el.utc_text(row.at)
    if ballot is not None:
        out.update(tracking_code=ballot.tracking_code, ballot_hash=ballot.ballot_hash, style=ballot.style)
    else:
        out["payload"] = json.loads(row.payload_json or "{}")
    return out


def events(s: Session, start: int, limit: int, *, only_ballots: bool = False,
           only_operator: bool = False) -> list[dict[str, Any]]:
    q = select(BoardEventRow, CastBallot).outerjoin(CastBallot, CastBallot.chain_index == BoardEventRow.index)
    if only_ballots:
        q = q.where(BoardEventRow.type == "ballot")
    if only_operator:
        q = q.where(BoardEventRow.type != "ballot")
    q = q.where(BoardEventRow.index >= start).order_by(BoardEventRow.index).limit(limit)
    return [_event_json(r, b) for r, b in s.execute(q).all()]


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 12:
        abort(400)
    value = int(raw)
    return max(lo, min(hi, value))


@bp.get("/tablero")
def board_page() -> Any:
    s = db()
    page = _int_arg("pagina", 0, 0, MAX_INDEX // PAGE)
    typed = request.args.get("codigo", "")[:100]
    found = find(s, typed) if typed else []
    ballots = _ballot_page(s, page)
    total = s.scalar(select(func.count()).select_from(CastBallot)) or 0
    results = el.published_results(config())
    return render_template("board.html", lang=page_lang(), event_name=event_name, state_name=state_name,
                           mexico=mexico_time, summary=summary(s), ballots=ballots, page=page,
                           pages=(total + PAGE - 1) // PAGE, operator_events=events(s, 0, 1000, only_operator=True),
                           typed=typed, found=found, results=results)


def _ballot_page(s: Session, page: int) -> list[dict[str, Any]]:
    rows = s.execute(select(BoardEventRow, CastBallot).join(CastBallot, CastBallot.chain_index == BoardEventRow.index)
                     .order_by(BoardEventRow.index).offset(page * PAGE).limit(PAGE)).all()
    return [_event_json(r, b) for r, b in rows]


@bp.get("/api/tablero")
def board_summary() -> Any:
    return json_response(summary(db()))


@bp.get("/api/tablero/eventos")
def board_events() -> Any:
    start = _int_arg("desde", 0, 0, MAX_INDEX)
    limit = _int_arg("limite", 100, 1, 1000)
    return json_response({"events": events(db(), start, limit)})


@bp.get("/api/tablero/buscar")
def board_search() -> Any:
    typed = request.args.get("codigo", "")[:100]
    if normalize_code(typed) is None:
        return json_response({"error": "codigo", "message": "Escriba el código de rastreo (20 caracteres) o el hash.",
                              "message_en": "Type the tracking code (20 characters) or the hash."}, 400)
    rows = find(db(), typed)
    s = db()
    out = []
    for b in rows:
        ev = s.get(BoardEventRow, b.chain_index)
        assert ev is not None
        out.append(_event_json(ev, b))
    return json_response({"found": bool(out), "ballots": out})


@bp.get("/api/tablero/boleta")
def board_ballot() -> Any:
    index = _int_arg("indice", -1, -1, MAX_INDEX)
    row = db().get(CastBallot, index)
    if row is None:
        return json_response({"error": "no-encontrada", "message": "No hay boleta en ese índice.",
                              "message_en": "No ballot at that index."}, 404)
    return json_response({"index": row.chain_index, "tracking_code": row.tracking_code,
                          "ballot": json.loads(row.ballot_json)})


@bp.get("/tablero/registro.tar.gz")
def record_download() -> Any:
    path = config().data_dir / el.PUBLISHED_ARCHIVE
    if not path.is_file():
        abort(404)
    return send_file(path.resolve(), mimetype="application/gzip", as_attachment=True,
                     download_name="registro-electoral.tar.gz")


@bp.get("/api/resultados")
def results() -> Any:
    data = el.published_results(config())
    if data is None:
        return json_response({"error": "sin-resultados", "message": "Los resultados aún no se publican.",
                              "message_en": "The results are not published yet."}, 404)
    return json_response(data)
