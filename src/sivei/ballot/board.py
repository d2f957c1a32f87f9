"""The public bulletin board: a hash chain of events.

e_i = H("sivei/board", H_E ‖ e_{i−1} ‖ i ‖ type ‖ payload hash), with e_{−1} = 32 zero bytes. Event 0
opens the (empty) board; then come cast ballots (payload hash = the ballot hash, so the board shows
tracking codes) and operator events during voting (pause, resume, incident — never a voter's
identity); the last event closes the board with its counts. An observer who notes a head during
voting can later check that the published chain extends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sivei.ballot.context import ElectionContext
from sivei.ballot.encrypt import EncryptedBallot, UncheckedBallot, parse_unchecked_ballot
from sivei.ballot.validate import validate_ballot
from sivei.crypto.batch import DEFAULT_BITS
from sivei.crypto.encoding import Encoder, canonical_json, tagged_hash
from sivei.errors import BallotError
from sivei.i18n import tr

TAG_BOARD = "sivei/board"
TAG_PAYLOAD = "sivei/board-payload"
GENESIS_PREVIOUS = bytes(32)

EVENT_OPEN = "open"
EVENT_BALLOT = "ballot"
EVENT_CLOSE = "close"
OPERATOR_EVENTS = ("pause", "resume", "incident")
EVENT_TYPES = (EVENT_OPEN, EVENT_BALLOT, EVENT_CLOSE, *OPERATOR_EVENTS)


def event_hash(election_hash: bytes, previous: bytes, index: int, type_: str,
               payload_hash: bytes) -> bytes:
    data = (Encoder().fixed(election_hash, 32).fixed(previous, 32).u32(index).string(type_)
            .fixed(payload_hash, 32).to_bytes())
    return tagged_hash(TAG_BOARD, data)


def payload_hash(payload: Mapping[str, Any]) -> bytes:
    return tagged_hash(TAG_PAYLOAD, canonical_json(dict(payload)))


def genesis_head(election_hash: bytes) -> bytes:
    """e_0: the head of the empty board (the opening event with an empty payload)."""
    return event_hash(election_hash, GENESIS_PREVIOUS, 0, EVENT_OPEN, payload_hash({}))


def alpha_key(alpha: int) -> int:
    """Low 256 bits of α: the index key for the unique-α rule. Equal α always collide; two
    distinct α agreeing on 256 bits would take ~2^128 work to find (a birthday search over
    encryptions), so a key match is reported as a reused α. Keeping 32 bytes instead of 512 per α
    keeps the verifier's index small."""
    return alpha & ((1 << 256) - 1)


@dataclass(frozen=True)
class BoardEvent:
    index: int
    type: str
    head: bytes
    ballot: EncryptedBallot | None = None
    payload: Mapping[str, Any] | None = None
    unchecked_ballot: UncheckedBallot | None = None
    """A ballot event read with ``membership=False``: its ballot awaits the batched membership test
    (``sivei.ballot.validate.check_ballots``) and ``ballot`` is None."""


@dataclass
class Board:
    """An in-memory board enforcing the one-vote policy and unique α (drills, tests); the server
    keeps the same rules in its database."""

    ctx: ElectionContext
    credential_styles: Mapping[bytes, str]
    events: list[BoardEvent] = field(default_factory=list)
    _cast: set[bytes] = field(default_factory=set)
    _alphas: set[int] = field(default_factory=set)
    closed: bool = False
    lote_bits: int = DEFAULT_BITS
    """λ of each cast ballot's batched proof check (protocol §8.5)."""

    def __post_init__(self) -> None:
        if not self.events:
            self._append(EVENT_OPEN, payload_hash({}), payload={})

    @property
    def head(self) -> bytes:
        return self.events[-1].head

    def _append(self, type_: str, p_hash: bytes, *, ballot: EncryptedBallot | None = None,
                payload: Mapping[str, Any] | None = None) -> BoardEvent:
        previous = self.events[-1].head if self.events else GENESIS_PREVIOUS
        index = len(self.events)
        event = BoardEvent(index, type_, event_hash(self.ctx.election_hash, previous, index, type_, p_hash),
                           ballot, payload)
        self.events.append(event)
        return event

    def cast(self, ballot: EncryptedBallot) -> BoardEvent:
        """Validate and append a cast ballot; raise ``BallotError`` with the reason otherwise."""
        if self.closed:
            raise BallotError(tr("la votación cerró", "voting is closed"))
        validate_ballot(self.ctx, ballot, self.credential_styles.get(ballot.credential), bits=self.lote_bits)
        if ballot.credential in self._cast:
            raise BallotError(tr("esta credencial ya depositó una boleta (un voto por persona)",
                                 "this credential has already cast a ballot (one vote per person)"))
        keys = [alpha_key(s.ciphertext.alpha) for c in ballot.contests for s in c.selections]
        if len(set(keys)) != len(keys) or any(k in self._alphas for k in keys):
            raise BallotError(tr("la boleta reutiliza un α ya presente en el tablero",
                                 "the ballot reuses an α already on the board"))
        self._cast.add(ballot.credential)
        self._alphas.update(keys)
        return self._append(EVENT_BALLOT, ballot.ballot_hash(self.ctx), ballot=ballot)

    def operator_event(self, type_: str, payload: Mapping[str, Any]) -> BoardEvent:
        if type_ not in OPERATOR_EVENTS:
            raise BallotError(tr(f"tipo de evento no permitido: {type_}", f"event type not allowed: {type_}"))
        if self.closed:
            raise BallotError(tr("el tablero está cerrado", "the board is closed"))
        return self._append(type_, payload_hash(payload), payload=dict(payload))

    def close(self, late_ballots: int = 0) -> BoardEvent:
        payload = {"cast": len(self._cast), "late": late_ballots}
        event = self._append(EVENT_CLOSE, payload_hash(payload), payload=payload)
        self.closed = True
        return event


def event_to_json(event: BoardEvent, ctx: ElectionContext) -> dict[str, Any]:
    out: dict[str, Any] = {"index": event.index, "type": event.type, "head": event.head.hex()}
    if event.ballot is not None:
        out["ballot"] = event.ballot.to_json(ctx.group)
    else:
        out["payload"] = dict(event.payload or {})
    return out


def event_from_json(ctx: ElectionContext, obj: object, where: str, *,
                    membership: bool = True) -> tuple[BoardEvent, bytes]:
    """Parse one board line; returns the event (with its *stated* head) and its payload hash.

    With ``membership=False`` a ballot's α and β are range-checked only and the event carries an
    ``UncheckedBallot`` (for verifiers that batch the membership test of many ballots)."""
    from sivei.crypto.encoding import hex_to_bytes
    from sivei.errors import EncodingError

    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise EncodingError(tr(f"{where}: evento no válido", f"{where}: invalid event"))
    type_ = obj["type"]
    if type_ not in EVENT_TYPES:
        raise EncodingError(tr(f"{where}: tipo de evento desconocido {type_!r}",
                               f"{where}: unknown event type {type_!r}"))
    body_key = "ballot" if type_ == EVENT_BALLOT else "payload"
    if set(obj) != {"index", "type", "head", body_key}:
        raise EncodingError(tr(f"{where}: campos no válidos en el evento",
                               f"{where}: invalid fields in the event"))
    index = obj["index"]
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 2**32:
        raise EncodingError(tr(f"{where}: índice no válido", f"{where}: invalid index"))
    head = hex_to_bytes(obj["head"], 32, f"{where}.head")
    if type_ == EVENT_BALLOT:
        unchecked = parse_unchecked_ballot(ctx.group, obj["ballot"], f"{where}.ballot")
        if not membership:
            return BoardEvent(index, type_, head, unchecked_ballot=unchecked), unchecked.ballot_hash(ctx)
        ballot = unchecked.require_members(ctx.group)
        return BoardEvent(index, type_, head, ballot=ballot), ballot.ballot_hash(ctx)
    payload = obj["payload"]
    if not isinstance(payload, dict):
        raise EncodingError(tr(f"{where}.payload: se esperaba un objeto", f"{where}.payload: expected an object"))
    return BoardEvent(index, type_, head, payload=payload), payload_hash(payload)
