"""Casting a ballot: checks in order of cost, one transaction, then the signed receipt.

1. Window and state (cheap): before the opening → 409; after the close instant (server clock, taken
   when the request arrived) → 409 "la votación cerró", the sender and time logged in
   ``late_ballots`` and nothing else kept; paused → 503.
2. Size cap from the voter's ballot style (the exact compact size of a valid ballot of that style
   plus ``ballot_size_margin``), before reading or parsing anything.
3. Strict JSON parse (no duplicate keys, no NaN) and the library's strict ballot parse.
   The credential token (header ``X-Credential-Token``): the authority's signature binding the
   ballot's public credential to the logged-in voter, or 403 — a credential taken from another
   voter's letter is refused (``check_credential_token``). The token is checked, never stored.
4. Idempotent retry (cheap): a voter who already cast and sends the ballot that is on the board
   gets that ballot's receipt again; any other ballot from them → 409. (Since the token names them,
   the ballot on the board under their own credential is the only one whose receipt they get.)
5. Full validation by the library (``validate_ballot`` against the credential list) before the
   transaction.
6. One transaction: ``UPDATE voters SET voted … WHERE NOT voted``, then the chain-head row locked
   (PostgreSQL ``FOR UPDATE``; SQLite ``BEGIN IMMEDIATE``), the state and the close re-checked under
   the lock, the board event, the ballot row (UNIQUE credential: one vote per person) and one row per
   α (UNIQUE ``alpha_key``), the head advanced.
7. After the commit: the receipt, signed with the receipt key, stored once (``receipt_json IS NULL``
   guard) so that every retry gets the same bytes.

The ballot row has no voter, session or address; the voter row only ``voted`` and ``voted_on``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sivei.ballot.board import EVENT_BALLOT, alpha_key
from sivei.ballot.credential_tokens import parse_token_hex, verify_token
from sivei.ballot.encrypt import EncryptedBallot, encrypt_ballot
from sivei.ballot.validate import validate_ballot
from sivei.crypto.fingerprint import fingerprint
from sivei.errors import SiveiError
from sivei.record.receipts import Receipt
from sivei_server.config import ServerConfig
from sivei_server.db import serialized, session_scope
from sivei_server.election import (
    ElectionError,
    LoadedElection,
    append_event,
    election_row,
    loaded,
    lock_head,
    utc_text,
)
from sivei_server.models import (
    STATE_NEW,
    STATE_OPEN,
    STATE_PAUSED,
    BallotAlpha,
    CastBallot,
    LateBallot,
    Voter,
)
from sivei_server.receipt_key import receipt_signer

CLOSED_MESSAGE = ("la votación cerró", "voting is closed")

_size_lock = threading.Lock()
_sizes: dict[tuple[str, str], int] = {}


def valid_ballot_size(election: LoadedElection, style: str) -> int:
    """The exact size in bytes of a valid ballot of ``style`` as compact JSON (every element and
    scalar has a fixed hex width), measured once per process on a ballot the library encrypts."""
    key = (election.key, style)
    with _size_lock:
        if key in _sizes:
            return _sizes[key]
    sample = encrypt_ballot(election.ctx, style, {}, bytes(32), bytes(32))
    obj = sample.to_json(election.ctx.group)
    obj["signature"] = "0" * 128
    size = len(json.dumps(obj, separators=(",", ":")).encode())
    with _size_lock:
        _sizes[key] = size
    return size


def max_ballot_bytes(election: LoadedElection, style: str, config: ServerConfig) -> int:
    return valid_ballot_size(election, style) + config.ballot_size_margin


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKeyError(k)
        out[k] = v
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def parse_ballot(election: LoadedElection, body: bytes) -> EncryptedBallot:
    try:
        obj = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ElectionError(400, "boleta-malformada", "La boleta no es JSON válido.",
                            "The ballot is not valid JSON.") from exc
    try:
        return EncryptedBallot.from_json(election.ctx.group, obj, "boleta")
    except SiveiError as exc:
        raise ElectionError(400, "boleta-malformada", f"Boleta malformada: {exc}", f"Malformed ballot: {exc}") from exc


@dataclass(frozen=True)
class CastResult:
    status: int  # 201 new, 200 idempotent retry
    receipt: dict[str, Any]


def _late(engine: Engine, received_at: datetime, sender: str) -> ElectionError:
    with session_scope(engine) as s:
        s.add(LateBallot(received_at=received_at, sender=sender[:64]))
    return ElectionError(409, "votacion-cerrada", "La votación cerró.", "Voting is closed.")


def check_window(engine: Engine, received_at: datetime, sender: str, *, voted: bool | None = None) -> None:
    """Refuse (and, after the close, log) a ballot outside the voting window. A voter who has
    already cast (``voted``; by default the logged-in voter's flag) is let through: their request can
    only be a retry, answered by ``cast`` with the receipt of the ballot on the board, or 409."""
    if voted is None and has_request_context():
        from sivei_server.sessions import current_voter

        voter = current_voter()
        voted = bool(voter is not None and voter.voted)
    if voted:
        return
    with session_scope(engine) as s:
        row = election_row(s)
        if row is None or row.state == STATE_NEW:
            raise ElectionError(409, "no-abierta", "La votación no está abierta.", "Voting is not open.")
        closes, opens, state = row.voting_closes, row.voting_opens, row.state
    if received_at >= closes or state not in (STATE_OPEN, STATE_PAUSED):
        raise _late(engine, received_at, sender)
    if received_at < opens:
        raise ElectionError(409, "no-abierta", "La votación aún no comienza.", "Voting has not started yet.")
    if state == STATE_PAUSED:
        raise ElectionError(503, "pausa", "La votación está en pausa; intente más tarde.",
                            "Voting is paused; try again later.")


def voter_style(election: LoadedElection, voter: Voter) -> str:
    try:
        return election.manifest.style_for_entity(voter.entity).id
    except SiveiError as exc:
        raise ElectionError(409, "entidad", "Su entidad no tiene boleta en esta elección.",
                            "Your entity has no ballot in this election.") from exc


def _receipt_of(s: Session, engine: Engine, config: ServerConfig, election: LoadedElection,
                row: CastBallot) -> dict[str, Any]:
    """The stored receipt of a cast ballot, signing and storing it first when missing (once: a
    concurrent writer's receipt wins and is returned)."""
    if row.receipt_json is None:
        head_after = s.scalar(select_head_after(row.chain_index))
        assert head_after is not None
        receipt = Receipt(election.manifest.election_id, election.ctx.election_hash, bytes.fromhex(row.ballot_hash),
                          row.tracking_code, row.chain_index, bytes.fromhex(head_after),
                          utc_text(row.received_at)).signed_by(receipt_signer(config))
        with session_scope(engine) as w:
            w.execute(update(CastBallot).where(CastBallot.chain_index == row.chain_index,
                                               CastBallot.receipt_json.is_(None))
                      .values(receipt_json=json.dumps(receipt.to_json(), ensure_ascii=False)))
        with session_scope(engine) as r:
            stored = r.scalar(select(CastBallot.receipt_json).where(CastBallot.chain_index == row.chain_index))
        assert stored is not None
        return dict(json.loads(stored))
    return dict(json.loads(row.receipt_json))


def select_head_after(index: int) -> Any:
    from sivei_server.models import BoardEventRow

    return select(BoardEventRow.head).where(BoardEventRow.index == index)


def _already_cast(engine: Engine, config: ServerConfig, election: LoadedElection, ballot_hash: str) -> CastResult:
    """This voter has cast: the same ballot → its receipt again (200); another → 409."""
    with session_scope(engine) as s:
        row = s.scalar(select(CastBallot).where(CastBallot.ballot_hash == ballot_hash))
        if row is None:
            raise ElectionError(409, "ya-voto", "Usted ya votó; sólo se permite un voto.",
                                "You have already voted; only one vote is allowed.")
        return CastResult(200, _receipt_of(s, engine, config, election, row))


def check_credential_token(election: LoadedElection, voter_id: str, credential: bytes, token: str | None) -> None:
    """Refuse a ballot whose credential token is not the authority's signature of (this election,
    the logged-in voter's roll id, the ballot's public credential): 400 when missing or malformed,
    403 when it names another voter or credential (issue 7 item 7: a stolen credential)."""
    raw = parse_token_hex(token)
    if raw is None:
        raise ElectionError(400, "ficha", "Falta la ficha de su credencial (128 dígitos hexadecimales) junto a la "
                            "boleta; vuelva a abrir la cabina.",
                            "The credential token (128 hex digits) is missing beside the ballot; reopen the booth.")
    if not verify_token(election.credential_list.authority_key, election.manifest.election_id, voter_id,
                        credential, raw):
        raise ElectionError(403, "credencial-ajena", "La credencial de esta boleta no es la suya: la autoridad de "
                            "credenciales no la emitió para la cuenta con la que inició sesión.",
                            "This ballot's credential is not yours: the credential authority did not issue it "
                            "for the account you are logged in with.")


def cast(engine: Engine, config: ServerConfig, voter_id: str, body: bytes, received_at: datetime,
         sender: str, token: str | None) -> CastResult:
    """Steps 3–7 above (the caller did the window check, the session and the size cap)."""
    with session_scope(engine) as s:
        election = loaded(s, config)
        voter = s.get(Voter, voter_id)
        if voter is None:
            raise ElectionError(401, "sesion", "Inicie sesión para votar.", "Log in to vote.")
        style, voted = voter_style(election, voter), voter.voted
    ballot = parse_ballot(election, body)
    check_credential_token(election, voter_id, ballot.credential, token)
    ctx = election.ctx
    b_hash = ballot.ballot_hash(ctx)
    if voted:
        return _already_cast(engine, config, election, b_hash.hex())
    with session_scope(engine) as s:
        conflict = (s.scalar(select(CastBallot.chain_index).where(CastBallot.ballot_hash == b_hash.hex())) is not None
                    or s.scalar(select(CastBallot.chain_index)
                                .where(CastBallot.credential == ballot.credential.hex())) is not None)
    if conflict:
        return _after_conflict(engine, config, election, voter_id, b_hash.hex(), ballot.credential.hex())
    if ballot.style != style:
        raise ElectionError(422, "otro-tipo", f"La boleta es del tipo {ballot.style}; la suya es {style}.",
                            f"The ballot is of style {ballot.style}; yours is {style}.")
    try:
        validate_ballot(ctx, ballot, election.credential_list.style_of(ballot.credential))
    except SiveiError as exc:
        raise ElectionError(422, "boleta-invalida", f"Boleta no válida: {exc}", f"Invalid ballot: {exc}") from exc
    keys = [alpha_key(sel.ciphertext.alpha).to_bytes(32, "big") for c in ballot.contests for sel in c.selections]
    if len(set(keys)) != len(keys):
        raise ElectionError(409, "alfa-repetida", "La boleta repite un α.", "The ballot repeats an α.")
    ballot_json = json.dumps(ballot.to_json(ctx.group), separators=(",", ":"))
    try:
        with serialized(engine) as s:
            flagged = s.execute(update(Voter).where(Voter.voter_id == voter_id, Voter.voted.is_(False))
                                .values(voted=True, voted_on=received_at.date()))
            if getattr(flagged, "rowcount", 0) != 1:
                raise _VotedMeanwhileError
            head = lock_head(s)
            row = election_row(s)
            assert row is not None
            if head.closed or received_at >= row.voting_closes:
                raise _ClosedMeanwhileError
            if row.state != STATE_OPEN:
                raise ElectionError(503, "pausa", "La votación está en pausa; intente más tarde.",
                                    "Voting is paused; try again later.")
            event = append_event(s, ctx, head, EVENT_BALLOT, b_hash, None, received_at)
            s.flush()
            s.add(CastBallot(chain_index=event.index, credential=ballot.credential.hex(), ballot_hash=b_hash.hex(),
                             tracking_code=fingerprint(b_hash), style=ballot.style, ballot_json=ballot_json,
                             received_at=received_at))
            s.flush()
            s.add_all(BallotAlpha(alpha_key=k, chain_index=event.index) for k in keys)
            head.cast_count += 1
            s.flush()
            index = event.index
    except _VotedMeanwhileError:
        return _already_cast(engine, config, election, b_hash.hex())
    except _ClosedMeanwhileError:
        raise _late(engine, received_at, sender) from None
    except IntegrityError:
        return _after_conflict(engine, config, election, voter_id, b_hash.hex(), ballot.credential.hex())
    with session_scope(engine) as s:
        stored = s.get(CastBallot, index)
        assert stored is not None
        return CastResult(201, _receipt_of(s, engine, config, election, stored))


class _VotedMeanwhileError(Exception):
    pass


class _ClosedMeanwhileError(Exception):
    pass


def _after_conflict(engine: Engine, config: ServerConfig, election: LoadedElection, voter_id: str,
                    ballot_hash: str, credential: str) -> CastResult:
    """The ballot or its credential is already on the board. If this voter has cast meanwhile (a
    concurrent retry of the same request committed first), answer as for a retry; otherwise 409."""
    with session_scope(engine) as s:
        voted = s.scalar(select(Voter.voted).where(Voter.voter_id == voter_id))
    if voted:
        return _already_cast(engine, config, election, ballot_hash)
    raise _conflict(engine, ballot_hash, credential)


def _conflict(engine: Engine, ballot_hash: str, credential: str) -> ElectionError:
    with session_scope(engine) as s:
        if s.scalar(select(CastBallot.chain_index).where(CastBallot.ballot_hash == ballot_hash)) is not None:
            return ElectionError(409, "boleta-repetida", "Esta boleta ya está en el tablero.",
                                 "This ballot is already on the board.")
        if s.scalar(select(CastBallot.chain_index).where(CastBallot.credential == credential)) is not None:
            return ElectionError(409, "credencial-usada", "Esta credencial ya depositó una boleta.",
                                 "This credential has already cast a ballot.")
    return ElectionError(409, "alfa-repetida", "La boleta reutiliza un α que ya está en el tablero.",
                         "The ballot reuses an α already on the board.")
