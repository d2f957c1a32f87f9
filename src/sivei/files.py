"""New output files for people's commands: written whole or not at all, never over another file.

A command that refuses, crashes or is interrupted leaves no half-written file behind, and an output
path that already exists is refused before anything is computed (``refuse_existing``), so a second
run never silently replaces an earlier result.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sivei.errors import SiveiError
from sivei.i18n import tr


class OutputExistsError(SiveiError):
    """The output already exists; it is not overwritten."""


def refuse_existing(path: Path) -> None:
    if path.exists():
        raise OutputExistsError(tr(f"{path} ya existe: no se sobrescribe (muévalo o elija otra salida)",
                                   f"{path} already exists: it is not overwritten (move it or choose another output)"))


def write_new_bytes(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write through a temporary file in the same folder, fsync, then link into place (refused if
    ``path`` appeared meanwhile)."""
    refuse_existing(path)
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        try:
            os.link(tmp, path)  # fails if the target exists: no race replaces another file
        except FileExistsError:
            refuse_existing(path)
            raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_new_text(path: Path, text: str, *, mode: int = 0o644) -> None:
    write_new_bytes(path, text.encode("utf-8"), mode=mode)


def json_text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1) + "\n"


def write_new_json(path: Path, obj: Any) -> None:
    write_new_text(path, json_text(obj))
