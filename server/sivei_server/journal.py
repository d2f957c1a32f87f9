"""The board journal: every board event as the server appended it, in an append-only file that
lives outside the database and its backups, so that a database restored from an older backup can
neither lose accepted ballots silently nor continue a different chain (docs/security.md, "Database
restore").

One line per event, written and fsync'd under the chain lock just before the event's transaction
commits (so the journal holds every committed event), with the fields needed to rebuild its rows::

    {"index":7,"type":"ballot","previous":"<64 hex>","head":"<64 hex>","at":"<ISO instant>",
     "ballot":{…the ballot as stored…},"receipt":{…the signed receipt…}}
    {"index":8,"type":"pause","previous":"…","head":"…","at":"…","payload":{…}}

and, once the transaction has committed and before any receipt is handed out, a confirmation::

    {"confirmed":7,"head":"<64 hex>"}

Reading rules (``effective_chain``): a later line with the same index and the same previous head
supersedes an earlier one (an attempt whose transaction rolled back: a worker killed between the
fsync and the commit); every event line followed by another event line was committed (its successor's
writer saw it in the database under the lock); so only the last event line can be uncommitted, and
it is taken as committed only when its confirmation is there — without one, no receipt for it was
ever handed out. A line without its final newline is a torn write (a crash mid-write) and is ignored.

Writes from several worker processes are serialised by the database's chain lock (events) or are
single small ``O_APPEND`` writes (confirmations); the file must be on a local filesystem (or a
replicated block device), never a network filesystem.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sivei.crypto.encoding import canonical_json
from sivei.errors import SiveiError
from sivei.i18n import tr

JOURNAL_NAME = "diario-tablero.jsonl"
_EVENT = re.compile(rb'\{"index":(\d{1,10}),"type":"([a-z]{1,16})","previous":"([0-9a-f]{64})",'
                    rb'"head":"([0-9a-f]{64})"')
_CONFIRMED = re.compile(rb'\{"confirmed":(\d{1,10}),"head":"([0-9a-f]{64})"\}')
_CHUNK = 1 << 20
_FIRST_CHUNK = 1 << 16


class JournalMismatchError(SiveiError):
    """The journal does not continue from the database's head: the event is refused."""

    def __init__(self, es: str, en: str) -> None:
        super().__init__(tr(es, en))
        self.es, self.en = es, en


@dataclass(frozen=True)
class EventHeader:
    """An event line's identity: where it sits in the chain and where in the file."""

    index: int
    type: str
    previous: str
    head: str
    offset: int = 0
    length: int = 0


def event_line(index: int, type_: str, previous: str, head: str, at: datetime, *,
               payload: dict[str, Any] | None = None, ballot_json: str | None = None,
               receipt_json: str | None = None) -> bytes:
    """One event line (fields in a fixed order, so that its header is read without parsing the ballot)."""
    start = (f'{{"index":{index},"type":"{type_}","previous":"{previous}","head":"{head}",'
             f'"at":{json.dumps(at.isoformat())}')
    if ballot_json is not None:
        assert receipt_json is not None
        body = f',"ballot":{ballot_json},"receipt":{receipt_json}}}\n'
    else:
        body = f',"payload":{canonical_json(dict(payload or {})).decode()}}}\n'
    line = (start + body).encode()
    if _EVENT.match(line) is None:
        raise ValueError("not an event header")
    return line


def confirmation_line(index: int, head: str) -> bytes:
    return f'{{"confirmed":{index},"head":"{head}"}}\n'.encode()


def parse_header(line: bytes, offset: int = 0) -> EventHeader | None:
    m = _EVENT.match(line)
    if m is None:
        return None
    return EventHeader(int(m.group(1)), m.group(2).decode(), m.group(3).decode(), m.group(4).decode(), offset,
                       len(line))


def parse_confirmation(line: bytes) -> tuple[int, str] | None:
    m = _CONFIRMED.fullmatch(line)
    return (int(m.group(1)), m.group(2).decode()) if m is not None else None


class BoardJournal:
    """The journal file of one server (one instance per path and process: ``journal_at``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._tail_cache: tuple[int, EventHeader | None, bool] | None = None

    # -- file -------------------------------------------------------------------------------------

    def _open(self) -> int:
        """The open file, reopened when the path now names another file (the journal was rebuilt
        by another process, or moved away: then a new, empty one is created, which stops the board)."""
        if self._fd is not None and self._pid == os.getpid():
            try:
                on_disk, held = os.stat(self.path), os.fstat(self._fd)
                if (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino):
                    return self._fd
            except FileNotFoundError:
                pass
            os.close(self._fd)
        self._tail_cache = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        self._pid = os.getpid()
        if created:
            _fsync_dir(self.path.parent)
        return self._fd

    def close(self) -> None:
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None
            self._tail_cache = None

    def exists(self) -> bool:
        return self.path.is_file() and self.path.stat().st_size > 0

    def _size(self, fd: int) -> int:
        return os.fstat(fd).st_size

    def _reverse_lines(self, fd: int) -> Iterator[tuple[int, bytes, bool]]:
        """(offset, line without its newline, complete) from the end of the file backwards, empty
        lines skipped; the last piece is incomplete when the file does not end with a newline (a
        torn write)."""
        start = self._size(fd)
        carry = b""
        last_part = True  # the next piece out is what follows the file's last newline
        chunk = _FIRST_CHUNK  # most reads want only the last line or two: grow as needed
        while start > 0:
            new_start = max(0, start - chunk)
            chunk = min(2 * chunk, _CHUNK)
            parts = (os.pread(fd, start - new_start, new_start) + carry).split(b"\n")
            carry = parts[0]
            offsets = [new_start + len(parts[0]) + 1]
            for p in parts[1:-1]:
                offsets.append(offsets[-1] + len(p) + 1)
            for k in range(len(parts) - 1, 0, -1):
                complete = not last_part
                last_part = False
                if parts[k]:
                    yield offsets[k - 1], parts[k], complete
            start = new_start
        if carry:
            yield 0, carry, not last_part

    # -- reading ------------------------------------------------------------------------------------

    def last_event(self) -> EventHeader | None:
        """The last complete event line's header (None for an empty or missing journal)."""
        if not self.path.exists():
            return None
        with self._lock:
            return self._tail(self._open())[0]

    def _tail(self, fd: int) -> tuple[EventHeader | None, bool]:
        """(the last complete event line's header, whether the file ends with a torn write). Kept
        for as long as the file keeps its size: another process's append changes it."""
        size = self._size(fd)
        if self._tail_cache is not None and self._tail_cache[0] == size:
            return self._tail_cache[1], self._tail_cache[2]
        last: EventHeader | None = None
        torn = False
        for offset, raw, complete in self._reverse_lines(fd):
            if not complete:
                torn = True
                continue
            last = parse_header(raw, offset)
            if last is not None:
                break
        self._tail_cache = (size, last, torn)
        return last, torn

    def lines_back_to(self, index: int) -> tuple[EventHeader | None, list[EventHeader], set[tuple[int, str]]]:
        """Scan back to the latest event line at ``index``: (that line or None when the journal has
        none at or before it, the event lines after it in file order, the confirmations seen)."""
        after: list[EventHeader] = []
        confirmed: set[tuple[int, str]] = set()
        if not self.path.exists():
            return None, [], confirmed
        with self._lock:
            fd = self._open()
            for offset, line, complete in self._reverse_lines(fd):
                if not complete:
                    continue
                c = parse_confirmation(line)
                if c is not None:
                    confirmed.add(c)
                    continue
                header = parse_header(line, offset)
                if header is None:
                    continue
                if header.index <= index:
                    after.reverse()
                    return (header if header.index == index else None), after, confirmed
                after.append(header)
        after.reverse()
        return None, after, confirmed

    def read(self, header: EventHeader) -> bytes:
        with self._lock:
            fd = self._open()
            return os.pread(fd, header.length, header.offset)

    def event_lines(self) -> Iterator[tuple[EventHeader, bytes]]:
        """Every complete event line in file order (rebuilding, tests)."""
        with self.path.open("rb") as f:
            offset = 0
            for raw in f:
                if raw.endswith(b"\n"):
                    header = parse_header(raw[:-1], offset)
                    if header is not None:
                        yield header, raw[:-1]
                offset += len(raw)

    # -- writing ------------------------------------------------------------------------------------

    def append_event(self, index: int, previous: str, line: bytes) -> None:
        """Write an event line and fsync it, after checking that it continues the journal: its
        previous head is the last event's head (or it supersedes a last event with the same index
        and previous head, whose transaction rolled back). The caller holds the chain lock."""
        with self._lock:
            fd = self._open()
            last, torn = self._tail(fd)
            ok = ((last is None and index == 0)
                  or (last is not None and last.index == index - 1 and last.head == previous)
                  or (last is not None and last.index == index and last.previous == previous))
            if not ok:
                where = "vacío" if last is None else f"evento {last.index}, cabeza {last.head[:16]}…"
                where_en = "empty" if last is None else f"event {last.index}, head {last.head[:16]}…"
                raise JournalMismatchError(
                    f"el diario del tablero ({self.path}) no continúa en el evento {index} desde la cabeza "
                    f"{previous[:16]}… de la base de datos; el diario termina en: {where}",
                    f"the board journal ({self.path}) does not continue at event {index} from the database's "
                    f"head {previous[:16]}…; the journal ends at: {where_en}")
            data = (b"\n" if torn else b"") + line
            start = self._size(fd)
            _write_all(fd, data)
            os.fdatasync(fd)
            header = parse_header(line.rstrip(b"\n"), start + (1 if torn else 0))
            self._tail_cache = (start + len(data), header, False) if self._size(fd) == start + len(data) else None

    def confirm(self, index: int, head: str) -> None:
        """Record that the event's transaction committed (before its receipt is handed out)."""
        with self._lock:
            fd = self._open()
            _write_all(fd, b"\n" + confirmation_line(index, head))
            os.fdatasync(fd)
            self._tail_cache = None

    def set_aside(self, target: Path) -> None:
        """Move the whole journal to ``target`` (an election archived to make room for the next:
        the next board starts an empty journal)."""
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None
            self._tail_cache = None
            if self.path.exists():
                os.replace(self.path, target)
                _fsync_dir(self.path.parent)

    def replace(self, lines: Iterator[bytes], set_aside: Path | None) -> None:
        """Write a whole new journal (temporary file, fsync, rename); the old one, if any, is kept
        under ``set_aside``, never deleted."""
        tmp = self.path.with_name(f".{self.path.name}.nuevo")
        with tmp.open("wb") as f:
            for line in lines:
                f.write(line)
            f.flush()
            os.fsync(f.fileno())
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None
            self._tail_cache = None
            if set_aside is not None and self.path.exists():
                os.replace(self.path, set_aside)
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_journals: dict[Path, BoardJournal] = {}
_journals_lock = threading.Lock()


def journal_at(path: Path) -> BoardJournal:
    """The process's journal object for ``path``."""
    key = path.resolve()
    with _journals_lock:
        found = _journals.get(key)
        if found is None:
            found = _journals[key] = BoardJournal(key)
        return found
