"""The public bulletin board: a hash chain of events.

e_i = H("sivei/board", H_E ‖ e_{i−1} ‖ i ‖ type ‖ payload hash), with e_{−1} = 32 zero bytes. Event 0
opens the (empty) board; then come cast ballots (payload hash = the ballot hash, so the board shows
tracking codes) and operator events during voting (pause, resume, incident — never a voter's
identity); the last event closes the board with its counts. An observer who notes a head during
voting can later check that the published chain extends it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sivei.ballot.board_index import BoardIndex
from sivei.ballot.context import ElectionContext
from sivei.ballot.encrypt import (
    EncryptedBallot,
    UncheckedBallot,
    ballot_hash_of_encoding,
    decode_unchecked_ballot,
    parse_unchecked_ballot,
)
from sivei.ballot.validate import validate_ballot
from sivei.crypto import ed25519
from sivei.crypto.batch import DEFAULT_BITS
from sivei.crypto.encoding import Decoder, Encoder, canonical_json, tagged_hash
from sivei.errors import BallotError, EncodingError
from sivei.i18n import tr
from sivei.problems import Problem

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


class BoardSink(Protocol):
    """Where a streamed board's events go (``sivei.record.board_file.BoardFileWriter``)."""

    def write(self, event: BoardEvent) -> None: ...

    def close(self) -> None: ...


class Board:
    """A board enforcing the one-vote policy and unique α (drills, rehearsals, tests); the server keeps
    the same rules in its database.

    Without ``sink`` the events stay in memory (``events``). With a ``sink`` every event is written as
    it is appended and only the last one is kept, and the indexes of credentials and α live on disk
    (``BoardIndex``), so a drill of any size runs in bounded memory. ``close`` appends the close event
    and releases the sink and the index."""

    def __init__(self, ctx: ElectionContext, credential_styles: Mapping[bytes, str], *,
                 lote_bits: int = DEFAULT_BITS, sink: BoardSink | None = None) -> None:
        self.ctx = ctx
        self.credential_styles = credential_styles
        self.lote_bits = lote_bits
        """λ of each cast ballot's batched proof check (protocol §8.5)."""
        self.sink = sink
        self.events: list[BoardEvent] = []
        """Every event, in memory (empty when streaming to a sink)."""
        self.last: BoardEvent | None = None
        self.length = 0
        self.ballots = 0
        self.closed = False
        self._index = BoardIndex(memory=sink is None)
        self._append(EVENT_OPEN, payload_hash({}), payload={})

    @property
    def head(self) -> bytes:
        assert self.last is not None
        return self.last.head

    def _append(self, type_: str, p_hash: bytes, *, ballot: EncryptedBallot | None = None,
                payload: Mapping[str, Any] | None = None) -> BoardEvent:
        previous = self.last.head if self.last is not None else GENESIS_PREVIOUS
        index = self.length
        event = BoardEvent(index, type_, event_hash(self.ctx.election_hash, previous, index, type_, p_hash),
                           ballot, payload)
        if self.sink is not None:
            self.sink.write(event)
        else:
            self.events.append(event)
        self.last = event
        self.length += 1
        return event

    def cast(self, ballot: EncryptedBallot) -> BoardEvent:
        """Validate and append a cast ballot; raise ``BallotError`` with the reason otherwise."""
        self._require_open()
        validate_ballot(self.ctx, ballot, self.credential_styles.get(ballot.credential), bits=self.lote_bits)
        return self._admit(ballot, ballot.ballot_hash(self.ctx))

    def cast_checked(self, ballot: EncryptedBallot, problems: Sequence[Problem], ballot_hash: bytes) -> BoardEvent:
        """Append a ballot checked elsewhere, in a batch with others (``check_ballots`` against the
        credential list's style, its α and β passing the batch's membership test): refused with the
        first of its ``problems``, if any, else the board's own rules apply as in ``cast``."""
        self._require_open()
        if problems:
            first = problems[0]
            raise BallotError(f"{first.message} ({first.location})")
        return self._admit(ballot, ballot_hash)

    def _require_open(self) -> None:
        if self.closed:
            raise BallotError(tr("la votación cerró", "voting is closed"))

    def _admit(self, ballot: EncryptedBallot, ballot_hash: bytes) -> BoardEvent:
        if self._index.credential_position(ballot.credential) is not None:
            raise BallotError(tr("esta credencial ya depositó una boleta (un voto por persona)",
                                 "this credential has already cast a ballot (one vote per person)"))
        keys = [alpha_key(s.ciphertext.alpha) for c in ballot.contests for s in c.selections]
        if len(set(keys)) != len(keys) or self._index.alpha_positions(keys):
            raise BallotError(tr("la boleta reutiliza un α ya presente en el tablero",
                                 "the ballot reuses an α already on the board"))
        self._index.add(ballot.credential, keys, self.length)
        self.ballots += 1
        return self._append(EVENT_BALLOT, ballot_hash, ballot=ballot)

    def operator_event(self, type_: str, payload: Mapping[str, Any]) -> BoardEvent:
        if type_ not in OPERATOR_EVENTS:
            raise BallotError(tr(f"tipo de evento no permitido: {type_}", f"event type not allowed: {type_}"))
        if self.closed:
            raise BallotError(tr("el tablero está cerrado", "the board is closed"))
        return self._append(type_, payload_hash(payload), payload=dict(payload))

    def close(self, late_ballots: int = 0) -> BoardEvent:
        payload = {"cast": self.ballots, "late": late_ballots}
        event = self._append(EVENT_CLOSE, payload_hash(payload), payload=payload)
        self.closed = True
        self.release()
        return event

    def release(self) -> None:
        """Close the sink and drop the index (also after an error, so no temporary file is left)."""
        self._index.close()
        if self.sink is not None:
            self.sink.close()


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


# -- the binary form of an event (record format version 2, docs/record.md) -----------------------


def event_to_bytes(event: BoardEvent, ctx: ElectionContext) -> bytes:
    """An event as the board file of record version 2 stores it (without the frame's length):
    u32(index) ‖ string(type) ‖ fixed(head, 32) ‖ content, where the content of a ballot is its
    canonical encoding (protocol §12.4) ‖ blob(signature), and of any other event
    blob(canonical_json(payload)). The head hashes the canonical encoding, never these bytes."""
    enc = Encoder(ctx.group).u32(event.index).string(event.type).fixed(event.head, 32)
    if event.ballot is not None:
        enc.raw(event.ballot.encode(ctx.group)).blob(event.ballot.signature)
    else:
        enc.blob(canonical_json(dict(event.payload or {})))
    return enc.to_bytes()


def event_from_bytes(ctx: ElectionContext, data: bytes | memoryview, where: str, *,
                     membership: bool = True) -> tuple[BoardEvent, bytes]:
    """Parse one stored event (``event_to_bytes``); returns the event with its *stated* head and its
    payload hash, exactly as ``event_from_json`` does for the JSON form. Strict: every value in range,
    canonical JSON payloads, no byte left over; error paths are those of the JSON form."""
    from sivei import jsonstrict

    dec = Decoder(data, where, ctx.group)
    index = dec.u32(".index")
    type_ = dec.string(".type")
    if type_ not in EVENT_TYPES:
        raise EncodingError(tr(f"{where}: tipo de evento desconocido {type_!r}",
                               f"{where}: unknown event type {type_!r}"))
    head = dec.fixed(32, ".head")
    if type_ == EVENT_BALLOT:
        start = dec.position
        ballot_dec = Decoder(data, f"{where}.ballot", ctx.group, start=start)
        unchecked = decode_unchecked_ballot(ctx.group, ballot_dec)
        encoded = memoryview(data)[start:ballot_dec.position]
        signature = ballot_dec.blob(".signature")
        ballot_dec.end()
        if len(signature) not in (0, ed25519.SIGNATURE_BYTES):
            raise EncodingError(tr(f"{where}.ballot.signature: se esperaban {ed25519.SIGNATURE_BYTES} bytes",
                                   f"{where}.ballot.signature: expected {ed25519.SIGNATURE_BYTES} bytes"))
        unchecked = UncheckedBallot(replace(unchecked.unchecked, signature=signature), unchecked.what)
        p_hash = ballot_hash_of_encoding(ctx, encoded)
        if not membership:
            return BoardEvent(index, type_, head, unchecked_ballot=unchecked), p_hash
        return BoardEvent(index, type_, head, ballot=unchecked.require_members(ctx.group)), p_hash
    raw = dec.blob(".payload")
    dec.end()
    try:
        payload = jsonstrict.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EncodingError(tr(f"{where}.payload: JSON no válido", f"{where}.payload: invalid JSON")) from exc
    if not isinstance(payload, dict):
        raise EncodingError(tr(f"{where}.payload: se esperaba un objeto", f"{where}.payload: expected an object"))
    if canonical_json(payload) != raw:
        raise EncodingError(tr(f"{where}.payload: el JSON no está en forma canónica",
                               f"{where}.payload: the JSON is not in canonical form"))
    return BoardEvent(index, type_, head, payload=payload), tagged_hash(TAG_PAYLOAD, raw)
