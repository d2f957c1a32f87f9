"""Casting a ballot: checks in order of cost, one short transaction, the signed receipt inside it.

1. Window (no database): before the opening → 409; a ballot that does not meet the close rule
   (``Window.on_time``: it ARRIVED before the close instant — the proxy's stamp, not when a worker
   picked it up — or within ``logged_in_finish_minutes`` of it in a session that began before the
   close; docs/protocol.md §14.4) → 409 "la votación cerró", with the sender and arrival time logged
   in ``late_ballots`` and nothing else kept.
2. Size cap from the voter's ballot style (the exact compact size of a valid ballot of that style
   plus ``ballot_size_margin``), before reading or parsing anything (the view).
3. Strict JSON parse (no duplicate keys, no NaN) and the library's strict ballot parse (ranges;
   the membership of α and β is tested in step 5, in one batch with the proofs).
   The credential token (header ``X-Credential-Token``): the authority's signature binding the
   ballot's public credential to the logged-in voter, or 403 — a credential taken from another
   voter's letter is refused (``check_credential_token``). The token is checked, never stored.
4. Retry of a voter who already cast: the receipt again (200) only to the session that cast that
   ballot (``web_sessions.cast_ballot``); anyone else gets 409 — a voter never obtains the signed
   receipt (with its arrival time) of another person's ballot.
5. Full validation by the library (``validate_ballot`` against the credential list), before the
   transaction.
6. Per-voter checks before storing: ``_check_voter`` — the single place for checks that bind a
   ballot to the voter casting it.
7. One transaction, about seven statements: ``UPDATE voters SET voted … WHERE NOT voted``; the
   chain-head row locked with the election's state (PostgreSQL ``FOR UPDATE``; SQLite ``BEGIN
   IMMEDIATE``) and the state and close rule re-checked under the lock; the board event; the ballot
   row with its receipt (signed here, so every retry gets the same bytes); all its α rows in one
   statement (UNIQUE ``alpha_key``); the head advanced; the session marked as the one that cast it.
   UNIQUE constraints catch a reused credential, ballot or α (then the conflict is named). Last,
   still under the lock, the event goes to the board journal (fsync'd); after the commit it is
   confirmed there, and only then is the receipt handed out (``sivei_server.journal``).

The ballot row has no voter, session or address; the voter row only ``voted`` and ``voted_on``;
the session row (which ends within 30 minutes) the hash of the ballot it cast, for step 4.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from sivei.ballot.board import EVENT_BALLOT, alpha_key, event_hash
from sivei.ballot.credential_tokens import parse_token_hex, verify_token
from sivei.ballot.encrypt import EncryptedBallot, UncheckedBallot, encrypt_ballot, parse_unchecked_ballot
from sivei.ballot.validate import validate_ballot
from sivei.crypto.fingerprint import fingerprint
from sivei.errors import GroupMembershipError, SiveiError
from sivei.record.receipts import Receipt
from sivei_server import consulates, measure
from sivei_server.config import ServerConfig
from sivei_server.db import serialized, session_scope
from sivei_server.election import ElectionError, LoadedElection, journal_confirm, journal_event, utc_text
from sivei_server.models import (
    STATE_OPEN,
    BallotAlpha,
    BoardEventRow,
    CastBallot,
    ChainHead,
    Election,
    KioskSession,
    LateBallot,
    Voter,
    WebSession,
)
from sivei_server.receipt_key import receipt_signer

CLOSED_MESSAGE = ("la votación cerró", "voting is closed")
LATE_AFTER_CLOSE = "tarde"     # arrived after the close rule allowed
LATE_IN_QUEUE = "cola"         # arrived in time, but reached a worker after the board was sealed
LOG = logging.getLogger("sivei_server.votos")

_size_lock = threading.Lock()
_sizes: dict[tuple[str, str], int] = {}


@dataclass(frozen=True)
class Window:
    """The voting window and the close rule (docs/protocol.md §14.4), from the manifest."""

    opens: datetime
    closes: datetime
    finish: timedelta  # logged_in_finish_minutes

    @staticmethod
    def of(election: LoadedElection) -> Window:
        m = election.manifest
        return Window(m.voting_opens, m.voting_closes, timedelta(minutes=m.logged_in_finish_minutes))

    @property
    def last_instant(self) -> datetime:
        """No ballot that arrives at or after this instant is on time."""
        return self.closes + self.finish

    def on_time(self, arrived: datetime, session_started: datetime | None) -> bool:
        if arrived < self.closes:
            return True
        return (self.finish > timedelta(0) and session_started is not None and session_started < self.closes
                and arrived < self.closes + self.finish)


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


def parse_ballot(election: LoadedElection, body: bytes) -> UncheckedBallot:
    """The strict parse, every value range-checked; the membership of α and β is tested with the
    proofs, in one batch, by ``validate_ballot``."""
    try:
        obj = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ElectionError(400, "boleta-malformada", "La boleta no es JSON válido.",
                            "The ballot is not valid JSON.") from exc
    try:
        return parse_unchecked_ballot(election.ctx.group, obj, "boleta")
    except SiveiError as exc:
        raise _malformed(exc) from exc


def _malformed(exc: SiveiError) -> ElectionError:
    return ElectionError(400, "boleta-malformada", f"Boleta malformada: {exc}", f"Malformed ballot: {exc}")


@dataclass(frozen=True)
class CastResult:
    status: int  # 201 new, 200 idempotent retry
    receipt: dict[str, Any]


@dataclass(frozen=True)
class KioskCast:
    """A cast from a consulate's kiosk (``sivei_server.consulates``): the one-time kiosk session, the
    person served, and for an unregistered voter the consulate's pool (their credential must be one
    of it) instead of a credential token."""

    session_id: int
    served_id: int
    pool: frozenset[bytes] | None


@dataclass(frozen=True)
class Caster:
    """Who is casting: the voter, their style and whether they voted, the session (its token hash
    and when it began) and the sender's address; ``kiosk`` for a vote at a consulate (then
    ``voter_id`` is empty for an unregistered voter)."""

    voter_id: str
    style: str
    voted: bool
    session_hash: str
    session_started: datetime | None
    sender: str
    kiosk: KioskCast | None = None

    @property
    def unregistered(self) -> bool:
        return self.kiosk is not None and self.kiosk.pool is not None


def late(engine: Engine, received_at: datetime, sender: str, reason: str = LATE_AFTER_CLOSE) -> ElectionError:
    """Log a late ballot (LGIPE art. 345: who and when, never what) and return the refusal."""
    with session_scope(engine) as s:
        s.add(LateBallot(received_at=received_at, sender=sender[:64], reason=reason))
    if reason == LATE_IN_QUEUE:
        LOG.error("boleta llegada a tiempo (%s) pero atendida tras el cierre del tablero: la gracia del cierre "
                  "fue insuficiente; remitente %s", received_at.isoformat(), sender)
    else:
        LOG.info("boleta tardía: remitente %s, recibida %s", sender, received_at.isoformat())
    return ElectionError(409, "votacion-cerrada", "La votación cerró.", "Voting is closed.")


def check_window(engine: Engine, window: Window, received_at: datetime, caster: Caster) -> None:
    """Refuse (and, after the close, log) a ballot outside the window. A voter who has already
    cast is let through: their request can only be a retry (answered by ``cast``)."""
    if caster.voted:
        return
    if received_at < window.opens:
        raise ElectionError(409, "no-abierta", "La votación aún no comienza.", "Voting has not started yet.")
    if not window.on_time(received_at, caster.session_started):
        raise late(engine, received_at, caster.sender)


def voter_style(election: LoadedElection, entity: str) -> str:
    try:
        return election.manifest.style_for_entity(entity).id
    except SiveiError as exc:
        raise ElectionError(409, "entidad", "Su entidad no tiene boleta en esta elección.",
                            "Your entity has no ballot in this election.") from exc


def _retry(engine: Engine, config: ServerConfig, caster: Caster, ballot_hash: str) -> CastResult:
    """A voter who has cast sends a ballot again: the stored receipt if this session cast this very
    ballot (a lost answer); otherwise 409. The event is confirmed in the board journal again first
    (the first answer may have been lost before its confirmation was written)."""
    with session_scope(engine) as s:
        if caster.kiosk is not None:
            mine = s.scalar(select(KioskSession.cast_ballot).where(KioskSession.id == caster.kiosk.session_id))
        else:
            mine = s.scalar(select(WebSession.cast_ballot).where(WebSession.token_hash == caster.session_hash))
        stored = s.scalar(select(CastBallot.receipt_json).where(CastBallot.ballot_hash == ballot_hash)) \
            if mine == ballot_hash else None
    if stored is None:
        raise ElectionError(409, "ya-voto", "Usted ya votó; sólo se permite un voto.",
                            "You have already voted; only one vote is allowed.")
    receipt = dict(json.loads(stored))
    journal_confirm(config, int(receipt["index"]), str(receipt["head"]))
    return CastResult(200, receipt)


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


def check_pool_credential(pool: frozenset[bytes], credential: bytes) -> None:
    """An unregistered voter's session at a consulate casts only with a credential of that consulate's
    pool (the authority's declaration): the pool's binding, in place of a voter's credential token."""
    if credential not in pool:
        raise ElectionError(403, "tarjeta-ajena", "La credencial de esta boleta no es una tarjeta de este consulado "
                            "para personas sin registro previo.",
                            "This ballot's credential is not one of this consulate's cards for voters without "
                            "prior registration.")


def _check_binding(election: LoadedElection, caster: Caster, credential: bytes, token: str | None) -> None:
    """The ballot's credential is the caster's: their token (a registered voter, by internet or at a
    kiosk) or, for an unregistered voter at a kiosk, their consulate's pool."""
    if caster.kiosk is not None and caster.kiosk.pool is not None:
        check_pool_credential(caster.kiosk.pool, credential)
    else:
        check_credential_token(election, caster.voter_id, credential, token)


def _check_voter(engine: Engine, election: LoadedElection, caster: Caster, ballot: EncryptedBallot,
                 ballot_hash: bytes) -> None:
    """Per-voter checks before anything is stored: the ballot is of the voter's own style (a ballot
    already on the board is named as such). Checks that bind the ballot's credential to this voter
    (the credential token) are checked before, right after parsing."""
    if ballot.style != caster.style:
        conflict = _conflict(engine, ballot_hash.hex(), ballot.credential.hex())
        if conflict.code != "alfa-repetida":
            raise conflict
        raise ElectionError(422, "otro-tipo", f"La boleta es del tipo {ballot.style}; la suya es {caster.style}.",
                            f"The ballot is of style {ballot.style}; yours is {caster.style}.")


def cast(engine: Engine, config: ServerConfig, election: LoadedElection, caster: Caster, body: bytes,
         received_at: datetime, token: str | None) -> CastResult:
    """Steps 3–7 above (the caller did the window check, the session and the size cap)."""
    ctx = election.ctx
    received = parse_ballot(election, body)
    ballot = received.unchecked  # its α and β are members only once validate_ballot says so, below
    with measure.crypto():
        _check_binding(election, caster, ballot.credential, token)
    with measure.crypto():
        b_hash = ballot.ballot_hash(ctx)
    if caster.voted:
        return _retry(engine, config, caster, b_hash.hex())
    _check_voter(engine, election, caster, ballot, b_hash)
    try:
        with measure.crypto():  # membership of every α and β and every proof, in one batch
            ballot = validate_ballot(ctx, received, election.credential_list.style_of(ballot.credential))
    except GroupMembershipError as exc:
        raise _malformed(exc) from exc
    except SiveiError as exc:
        raise ElectionError(422, "boleta-invalida", f"Boleta no válida: {exc}", f"Invalid ballot: {exc}") from exc
    keys = [alpha_key(sel.ciphertext.alpha).to_bytes(32, "big") for c in ballot.contests for sel in c.selections]
    if len(set(keys)) != len(keys):
        raise ElectionError(409, "alfa-repetida", "La boleta repite un α.", "The ballot repeats an α.")
    ballot_json = json.dumps(ballot.to_json(ctx.group), separators=(",", ":"))
    window = Window.of(election)
    try:
        with serialized(engine) as s:
            if caster.kiosk is not None and consulates.mark_cast(s, caster.kiosk.served_id, caster.kiosk.session_id,
                                                                 b_hash.hex()) != 1:
                raise _VotedMeanwhileError
            if not caster.unregistered:
                flagged = s.execute(update(Voter).where(Voter.voter_id == caster.voter_id, Voter.voted.is_(False))
                                    .values(voted=True, voted_on=received_at.date()))
                if getattr(flagged, "rowcount", 0) != 1:
                    raise _VotedMeanwhileError
            found = s.execute(select(ChainHead.next_index, ChainHead.head, ChainHead.closed, Election.state)
                              .join(Election, Election.id == ChainHead.id).where(ChainHead.id == 1)
                              .with_for_update(of=ChainHead)).one_or_none()
            if found is None:
                raise ElectionError(409, "no-abierta", "La votación no está abierta.", "Voting is not open.")
            index, head, closed, state = found
            if closed or not window.on_time(received_at, caster.session_started):
                raise _ClosedMeanwhileError
            if state != STATE_OPEN:
                raise ElectionError(503, "pausa", "La votación está en pausa; intente más tarde.",
                                    "Voting is paused; try again later.")
            with measure.crypto():
                new_head = event_hash(ctx.election_hash, bytes.fromhex(head), index, EVENT_BALLOT, b_hash)
                receipt = Receipt(election.manifest.election_id, ctx.election_hash, b_hash, fingerprint(b_hash),
                                  index, new_head, utc_text(received_at)).signed_by(receipt_signer(config))
            receipt_json = json.dumps(receipt.to_json(), ensure_ascii=False)
            s.execute(insert(BoardEventRow).values(index=index, type=EVENT_BALLOT, head=new_head.hex(),
                                                   at=received_at, payload_json=None))
            s.execute(insert(CastBallot).values(
                chain_index=index, credential=ballot.credential.hex(), ballot_hash=b_hash.hex(),
                tracking_code=receipt.tracking_code, style=ballot.style, ballot_json=ballot_json,
                received_at=received_at, receipt_json=receipt_json))
            s.execute(insert(BallotAlpha), [{"alpha_key": k, "chain_index": index} for k in keys])
            s.execute(update(ChainHead).where(ChainHead.id == 1).values(
                next_index=index + 1, head=new_head.hex(), cast_count=ChainHead.cast_count + 1,
                updated_at=received_at))
            if caster.kiosk is None:
                s.execute(update(WebSession).where(WebSession.token_hash == caster.session_hash)
                          .values(cast_ballot=b_hash.hex()))
            journal_event(config, index, EVENT_BALLOT, head, new_head.hex(), received_at, ballot_json=ballot_json,
                          receipt_json=receipt_json)
        journal_confirm(config, index, new_head.hex())
    except _VotedMeanwhileError:
        return _retry(engine, config, caster, b_hash.hex())
    except _ClosedMeanwhileError:
        in_queue = window.on_time(received_at, caster.session_started)
        raise late(engine, received_at, caster.sender, LATE_IN_QUEUE if in_queue else LATE_AFTER_CLOSE) from None
    except IntegrityError:
        raise _conflict(engine, b_hash.hex(), ballot.credential.hex()) from None
    return CastResult(201, receipt.to_json())


class _VotedMeanwhileError(Exception):
    pass


class _ClosedMeanwhileError(Exception):
    pass


def _conflict(engine: Engine, ballot_hash: str, credential: str) -> ElectionError:
    """The ballot, its credential or (else) one of its α is already on the board: name which."""
    with session_scope(engine) as s:
        if s.scalar(select(CastBallot.chain_index).where(CastBallot.ballot_hash == ballot_hash)) is not None:
            return ElectionError(409, "boleta-repetida", "Esta boleta ya está en el tablero.",
                                 "This ballot is already on the board.")
        if s.scalar(select(CastBallot.chain_index).where(CastBallot.credential == credential)) is not None:
            return ElectionError(409, "credencial-usada", "Esta credencial ya depositó una boleta.",
                                 "This credential has already cast a ballot.")
    return ElectionError(409, "alfa-repetida", "La boleta reutiliza un α que ya está en el tablero.",
                         "The ballot reuses an α already on the board.")
