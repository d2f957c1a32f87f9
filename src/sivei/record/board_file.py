"""The bulletin board on disk, in either record format version.

Version 1 stores it as JSON Lines (``board.jsonl``, one event a line); version 2 as the canonical
binary encoding (``board.bin``): a short magic, then one frame per event, ``u32(length) ‖ event``
(``sivei.ballot.board.event_to_bytes``), about half the size. Chain heads hash the canonical encoding
of each event, never the stored bytes, so converting a record between versions keeps every head and
every act valid (docs/record.md). Both forms are streamed: nothing here holds more than one event.

A *raw event* is what one stored event looks like before parsing — a JSON line (``str``) or a binary
frame (``bytes``, length included) — so a verifier can cut the file into chunks without parsing it
and parse each chunk in a worker. Its *position* counts events from 1 (the line number in version 1);
locations in reports are ``<file>:<position>`` in both versions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, TextIO

from sivei.ballot.board import BoardEvent, event_from_bytes, event_from_json, event_to_bytes, event_to_json
from sivei.ballot.context import ElectionContext
from sivei.crypto.encoding import Decoder, Encoder
from sivei.errors import EncodingError, RecordError
from sivei.i18n import tr
from sivei.record import layout

MAGIC = Encoder().string("sivei-board").u32(2).to_bytes()
"""The first bytes of ``board.bin``: string("sivei-board") ‖ u32(2)."""
MAX_EVENT_BYTES = 16 << 20
"""Largest stored event accepted (a 34-option ballot is about 110 KB): a larger length is damage."""

RawEvent = str | bytes


def iter_raw_events(path: Path, name: str) -> Iterator[tuple[int, RawEvent, int]]:
    """Yield (position, raw event, byte offset after it) of a board file, by its name's format.

    A truncated last frame is yielded as it is (its parse fails with "truncated"); a frame longer
    than ``MAX_EVENT_BYTES`` is yielded as its length alone and ends the file (nothing after it can
    be framed). A missing file or a wrong magic raises ``RecordError``."""
    if name == layout.BOARD_JSONL:
        yield from layout.iter_lines_with_offsets(path, name)
        return
    try:
        f = path.open("rb")
    except FileNotFoundError as exc:
        raise RecordError(tr(f"{name}: falta el archivo", f"{name}: file missing")) from exc
    with f:
        yield from _frames(f, name)


def _frames(f: BinaryIO, name: str) -> Iterator[tuple[int, RawEvent, int]]:
    if f.read(len(MAGIC)) != MAGIC:
        raise RecordError(tr(f"{name}: no es un tablero de SIVEI en formato binario (encabezado no válido)",
                             f"{name}: not a SIVEI board in binary form (invalid header)"))
    offset = len(MAGIC)
    position = 0
    while True:
        prefix = f.read(4)
        if not prefix:
            return
        position += 1
        if len(prefix) < 4:
            yield position, prefix, offset + len(prefix)
            return
        length = int.from_bytes(prefix, "big")
        if length > MAX_EVENT_BYTES:
            yield position, prefix, offset + 4
            return
        body = f.read(length)
        offset += 4 + len(body)
        yield position, prefix + body, offset
        if len(body) < length:
            return


def parse_event(ctx: ElectionContext, raw: RawEvent, name: str, position: int, *,
                membership: bool = True) -> tuple[BoardEvent, bytes]:
    """Parse the raw event at ``position`` of board file ``name`` (either form): the event with its
    stated head, and its payload hash. Raises ``EncodingError`` (``RecordError`` for JSON syntax)
    naming ``<name>:<position>``."""
    where = f"{name}:{position}"
    if isinstance(raw, str):
        obj = layout.parse_json_line(name, position, raw)
        return event_from_json(ctx, obj, where, membership=membership)
    dec = Decoder(raw, where)
    length = dec.u32(".length")
    if length > MAX_EVENT_BYTES:
        raise EncodingError(tr(f"{where}: evento de {length} bytes, más que el máximo de {MAX_EVENT_BYTES}",
                               f"{where}: event of {length} bytes, more than the maximum of {MAX_EVENT_BYTES}"))
    if dec.remaining() < length:
        raise EncodingError(tr(f"{where}: evento truncado (faltan {length - dec.remaining()} bytes)",
                               f"{where}: truncated event ({length - dec.remaining()} bytes missing)"))
    return event_from_bytes(ctx, memoryview(raw)[4:], where, membership=membership)


def event_header(raw: RawEvent) -> tuple[int, str, bytes] | None:
    """The index, type and stated head of a raw event, read without parsing its ballot (None when
    the event is too damaged to have them)."""
    try:
        if isinstance(raw, str):
            obj = json.loads(raw)
            index, type_, head = obj["index"], obj["type"], bytes.fromhex(obj["head"])
            if not isinstance(index, int) or not isinstance(type_, str) or len(head) != 32:
                return None
            return index, type_, head
        dec = Decoder(raw, "")
        dec.u32("")
        index = dec.u32("")
        type_ = dec.string("")
        return index, type_, dec.fixed(32, "")
    except (ValueError, KeyError, TypeError, EncodingError):
        return None


def iter_board(reader: layout.RecordReader, ctx: ElectionContext, *,
               membership: bool = True) -> Iterator[tuple[str, BoardEvent, bytes]]:
    """Every event of the record's board, parsed, as (location, event, payload hash); the first
    event that does not parse raises. For tools that need events, not a verification report."""
    name = reader.board_name
    for position, raw, _ in iter_raw_events(reader.root / name, name):
        event, p_hash = parse_event(ctx, raw, name, position, membership=membership)
        yield f"{name}:{position}", event, p_hash


def board_heads(reader: layout.RecordReader) -> list[tuple[int, str]]:
    """(index, stated head in hex) of every event of the record's board, in file order, read
    without parsing ballots; ``RecordError`` when an event is too damaged to have them."""
    out = []
    name = reader.board_name
    for position, raw, _ in iter_raw_events(reader.root / name, name):
        header = event_header(raw)
        if header is None:
            raise RecordError(tr(f"{name}:{position}: evento ilegible", f"{name}:{position}: unreadable event"))
        out.append((header[0], header[2].hex()))
    return out


def last_head(reader: layout.RecordReader) -> bytes | None:
    """The stated head of the board's last event (None for an empty or unreadable board)."""
    head = None
    name = reader.board_name
    for _, raw, _ in iter_raw_events(reader.root / name, name):
        header = event_header(raw)
        head = header[2] if header is not None else None
    return head


class BoardFileWriter:
    """Writes a board file event by event in the form of record ``version``."""

    def __init__(self, path: Path, ctx: ElectionContext, version: int = layout.VERSION) -> None:
        self.ctx = ctx
        self.version = version
        self.path = path
        self.count = 0
        self._text: TextIO | None = None
        self._binary: BinaryIO | None = None
        if version == 1:
            self._text = path.open("w", encoding="utf-8")
        else:
            self._binary = path.open("wb")
            self._binary.write(MAGIC)

    def write(self, event: BoardEvent) -> None:
        if self._text is not None:
            layout.write_jsonl_line(self._text, event_to_json(event, self.ctx))
        else:
            assert self._binary is not None
            body = event_to_bytes(event, self.ctx)
            self._binary.write(len(body).to_bytes(4, "big"))
            self._binary.write(body)
        self.count += 1

    def flush(self) -> None:
        f = self._text or self._binary
        if f is not None:
            f.flush()

    def close(self) -> None:
        for f in (self._text, self._binary):
            if f is not None:
                f.close()
        self._text = self._binary = None

    def __enter__(self) -> BoardFileWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
