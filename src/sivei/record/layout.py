"""The election record on disk: a directory of small JSON headers plus JSON Lines files.

See docs/record.md. Large parts (the board, the credential list) are JSON Lines, one object a line,
so a verifier streams them with bounded memory. ``record.json`` names the format version, the
election, the group and the counting policy, and lists every file with its SHA-256 so a truncated or
missing file is reported as such.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from sivei import jsonstrict
from sivei.crypto.group import Group
from sivei.errors import RecordError
from sivei.i18n import tr

FORMAT = "sivei-record"
VERSION = 2
"""The version written. Version 2 stores the board in binary (``board.bin``) and names every count
of ``results.json`` by its option id; version 1 (``board.jsonl``, counts by position) is still read."""
VERSIONS = (1, 2)

HEADER = "record.json"
PARAMETERS = "parameters.json"
MANIFEST = "manifest.json"
CEREMONY = "ceremony.json"
CREDENTIAL_LIST = "credential-list.json"
CREDENTIALS = "credentials.jsonl"
BOARD_JSONL = "board.jsonl"
BOARD_BIN = "board.bin"
BOARD_FILES = {1: BOARD_JSONL, 2: BOARD_BIN}
ENCRYPTED_TALLY = "encrypted-tally.json"
DECRYPTION = "decryption.json"
RESULTS = "results.json"
# The signed acts and the software-integrity constancia the opening act names.
OPENING_ACT = "acts/opening.json"
CLOSING_ACT = "acts/closing.json"
INTEGRITY = "integrity.json"



def board_name(version: int) -> str:
    """The board's file name in a record of ``version``."""
    return BOARD_FILES[version]


def closed_files(version: int = VERSION) -> tuple[str, ...]:
    """A closed record: what exists at the close, before the guardians decrypt."""
    return (PARAMETERS, MANIFEST, CEREMONY, CREDENTIAL_LIST, CREDENTIALS, board_name(version),
            ENCRYPTED_TALLY, OPENING_ACT, CLOSING_ACT, INTEGRITY)


def required_files(version: int = VERSION) -> tuple[str, ...]:
    """A complete record."""
    return (*closed_files(version), DECRYPTION, RESULTS)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dump_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


class RecordWriter:
    """Writes a record into a temporary directory and moves it into place at ``finish`` (a crash
    never leaves a half-written record under the final name)."""

    def __init__(self, directory: Path) -> None:
        self.final = directory
        directory.parent.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))

    def path(self, name: str) -> Path:
        p = self.root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_json(self, name: str, obj: Any) -> None:
        self.path(name).write_text(dump_json(obj), encoding="utf-8")

    def open_jsonl(self, name: str) -> TextIO:
        return self.path(name).open("w", encoding="utf-8")

    def finish(self, header: dict[str, Any], version: int = VERSION) -> Path:
        files = {}
        for p in sorted(self.root.rglob("*")):
            if p.is_file():
                rel = p.relative_to(self.root).as_posix()
                files[rel] = file_sha256(p)
        self.write_json(HEADER, {**header, "format": FORMAT, "version": version, "files": files})
        self.root.chmod(0o755)  # mkdtemp makes it private; a record is published
        if self.final.exists():
            shutil.rmtree(self.final)
        os.replace(self.root, self.final)
        return self.final


def write_jsonl_line(f: TextIO, obj: Any) -> None:
    f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
    f.write("\n")


class RecordReader:
    """Reads record files with errors that name the file, line and column."""

    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise RecordError(tr(f"no existe el directorio del registro: {directory}",
                                 f"record directory does not exist: {directory}"))
        self.root = directory
        self._version: int | None = None

    @property
    def version(self) -> int:
        """The format version ``record.json`` names (``RecordError`` if unreadable or unknown)."""
        if self._version is None:
            header = self.read_json(HEADER)
            version = header.get("version") if isinstance(header, dict) else None
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise RecordError(tr(f"{HEADER}: no es un registro electoral de SIVEI",
                                     f"{HEADER}: not a SIVEI election record"))
            if version not in VERSIONS or isinstance(version, bool):
                raise RecordError(tr(f"{HEADER}: versión de formato no soportada: {version!r}",
                                     f"{HEADER}: unsupported format version: {version!r}"))
            self._version = int(version)
        return self._version

    @property
    def board_name(self) -> str:
        """The board's file name in this record (``board.jsonl`` or ``board.bin``)."""
        return board_name(self.version)

    def exists(self, name: str) -> bool:
        return (self.root / name).is_file()

    def read_json(self, name: str) -> Any:
        path = self.root / name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise RecordError(tr(f"{name}: falta el archivo", f"{name}: file missing")) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise RecordError(tr(f"{name}: no se puede leer ({exc})", f"{name}: cannot be read ({exc})")) from exc
        try:
            return jsonstrict.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordError(tr(
                f"{name}: JSON no válido en la línea {exc.lineno}, columna {exc.colno} ({exc.msg})",
                f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})")) from exc

    def iter_jsonl(self, name: str) -> Iterator[tuple[int, str]]:
        """Yield (line number, raw line) of a JSON Lines file; parsing is the caller's job so that it
        can happen in worker processes."""
        path = self.root / name
        try:
            f = path.open("r", encoding="utf-8")
        except FileNotFoundError as exc:
            raise RecordError(tr(f"{name}: falta el archivo", f"{name}: file missing")) from exc
        with f:
            yield from enumerate(f, start=1)

    def iter_jsonl_offsets(self, name: str) -> Iterator[tuple[int, str, int]]:
        """``iter_jsonl`` with the byte offset after each line (see ``iter_lines_with_offsets``)."""
        return iter_lines_with_offsets(self.root / name, name)

    def size(self, name: str) -> int:
        """The file's size in bytes (0 when it is missing)."""
        path = self.root / name
        return path.stat().st_size if path.is_file() else 0


def iter_lines_with_offsets(path: Path, name: str) -> Iterator[tuple[int, str, int]]:
    """Yield (line number, line, byte offset after the line) of a JSON Lines file, for progress
    reports from the file offset. Bytes that are not UTF-8 become lone surrogates, which every
    parser of the record then refuses at that line."""
    try:
        f = path.open("rb")
    except FileNotFoundError as exc:
        raise RecordError(tr(f"{name}: falta el archivo", f"{name}: file missing")) from exc
    offset = 0
    with f:
        for lineno, raw in enumerate(f, start=1):
            offset += len(raw)
            yield lineno, raw.decode("utf-8", "surrogateescape"), offset


def parse_json_line(name: str, lineno: int, line: str) -> Any:
    try:
        return jsonstrict.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(tr(f"{name}, línea {lineno}: JSON no válido ({exc.msg}, columna {exc.colno})",
                             f"{name}, line {lineno}: invalid JSON ({exc.msg}, column {exc.colno})")) from exc


def parameters_json(group: Group) -> dict[str, str]:
    """``parameters.json``: the group's name and constants as fixed-width hex."""
    width = group.element_bytes
    return {"name": group.name, "p": group.p.to_bytes(width, "big").hex(),
            "q": group.q.to_bytes(32, "big").hex(), "g": group.g.to_bytes(width, "big").hex()}
