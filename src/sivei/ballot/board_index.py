"""The board's two uniqueness rules — one ballot per credential, no α used twice — indexed on disk.

A national board holds millions of α (one per option of every ballot): kept in memory, their index
would grow with the election. ``BoardIndex`` keeps both indexes in SQLite in a private temporary
file, with a bounded page cache, so the verifier's and a drill's memory stay flat whatever the size
of the board. Each entry remembers the position (board line or event) where it was first seen, for
the report. Keys: the public credential (32 bytes) and ``alpha_key(α)`` (the low 256 bits of α,
protocol §14.3).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

CACHE_KIB = 64 * 1024
"""SQLite's page cache for the index (the rest stays in the file and the OS cache)."""
_IN_CHUNK = 500
"""Keys per ``IN (…)`` query (SQLite allows at least 999 parameters)."""


def _key_bytes(key: int) -> bytes:
    return key.to_bytes(32, "big")


class BoardIndex:
    """Credentials and α keys already on the board, with the position where each was first seen."""

    def __init__(self, directory: Path | None = None, *, memory: bool = False) -> None:
        """On disk in a private folder under ``directory`` (default: the system's temporary folder);
        ``memory=True`` keeps it in memory, for small boards (tests)."""
        self._folder: Path | None = None
        if memory:
            self._db = sqlite3.connect(":memory:", isolation_level="DEFERRED")
        else:
            self._folder = Path(tempfile.mkdtemp(prefix="sivei-indice-", dir=directory))
            self._db = sqlite3.connect(self._folder / "indice.sqlite3", isolation_level="DEFERRED")
        self._db.executescript(f"""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            PRAGMA temp_store = FILE;
            PRAGMA cache_size = -{CACHE_KIB};
            CREATE TABLE credential (key BLOB PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE alpha (key BLOB PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
        """)
        self._pending = 0

    # -- look-ups -----------------------------------------------------------------------------------

    def credential_position(self, credential: bytes) -> int | None:
        """Where this credential's ballot is, if it already has one."""
        row = self._db.execute("SELECT position FROM credential WHERE key = ?", (credential,)).fetchone()
        return None if row is None else int(row[0])

    def alpha_positions(self, keys: Sequence[int]) -> dict[int, int]:
        """The keys among ``keys`` already on the board, with where each was first seen."""
        found: dict[int, int] = {}
        blobs = [_key_bytes(k) for k in keys]
        for start in range(0, len(blobs), _IN_CHUNK):
            part = blobs[start:start + _IN_CHUNK]
            marks = ",".join("?" * len(part))
            for key, position in self._db.execute(f"SELECT key, position FROM alpha WHERE key IN ({marks})",  # noqa: S608 - only "?" marks
                                                  part):
                found[int.from_bytes(key, "big")] = int(position)
        return found

    # -- recording ----------------------------------------------------------------------------------

    def add(self, credential: bytes | None, keys: Sequence[int], position: int) -> None:
        """Record a ballot's credential (unless None: an earlier ballot already holds it) and its α
        keys (those already present keep their first position)."""
        if credential is not None:
            self._db.execute("INSERT OR IGNORE INTO credential VALUES (?, ?)", (credential, position))
        self._db.executemany("INSERT OR IGNORE INTO alpha VALUES (?, ?)",
                             [(_key_bytes(k), position) for k in keys])
        self._pending += 1
        if self._pending >= 5000:
            self._db.commit()
            self._pending = 0

    def close(self) -> None:
        try:
            self._db.close()
        finally:
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> BoardIndex:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
