"""Converting a record between format versions, and showing one board event as JSON.

Conversion re-encodes the two files whose form changed between versions — the board (JSON Lines in
version 1, binary in version 2) and the counts in ``results.json`` (by position in 1, named in 2) —
and copies every other file byte for byte. Nothing that any hash, signature or act covers changes:
chain heads hash each event's canonical encoding, tracking codes hash each ballot's, and the acts
name heads and the tally hash, never file bytes. Only ``record.json``'s file index is rewritten.

A record whose files do not match its own index is refused: converting must not launder damage.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sivei.ballot.board import EVENT_BALLOT, BoardEvent, event_to_json
from sivei.ballot.context import ElectionContext
from sivei.errors import RecordError, SiveiError
from sivei.i18n import tr
from sivei.record import layout
from sivei.record.board_file import BoardFileWriter, event_header, iter_raw_events, parse_event
from sivei.record.context import load_election_context
from sivei.tally.results import ElectionResults


def _check_index(reader: layout.RecordReader) -> dict[str, str]:
    header = reader.read_json(layout.HEADER)
    files = header.get("files") if isinstance(header, dict) else None
    if not isinstance(files, dict):
        raise RecordError(tr(f"{layout.HEADER}: falta la lista de archivos", f"{layout.HEADER}: missing file list"))
    for name, digest in files.items():
        path = reader.root / name
        if not path.is_file() or layout.file_sha256(path) != digest:
            raise RecordError(tr(f"{name}: no corresponde al índice del registro (verifíquelo antes de convertirlo)",
                                 f"{name}: does not match the record's index (verify it before converting)"))
    for path in reader.root.rglob("*"):
        rel = path.relative_to(reader.root).as_posix()
        if path.is_file() and rel != layout.HEADER and rel not in files:
            raise RecordError(tr(f"{rel}: archivo no listado en el índice", f"{rel}: file not listed in the index"))
    return dict(files)


def stored_events(reader: layout.RecordReader, ctx: ElectionContext) -> Iterator[tuple[str, BoardEvent, bytes]]:
    """Every stored event parsed WITHOUT any cryptographic check (ranges and shape only), as
    (location, event, payload hash), ballots carried as stored: for re-encoding and display, never
    for counting. The first event that does not parse raises ``SiveiError``."""
    name = reader.board_name
    for position, raw, _ in iter_raw_events(reader.root / name, name):
        event, p_hash = parse_event(ctx, raw, name, position, membership=False)
        if event.unchecked_ballot is not None:
            event = BoardEvent(event.index, event.type, event.head, ballot=event.unchecked_ballot.unchecked)
        yield f"{name}:{position}", event, p_hash


def convert_record(source: Path, output: Path, version: int = layout.VERSION, *,
                   allow_test_group: bool = False) -> Path:
    """Write ``source`` as a record of format ``version`` at ``output`` (atomically)."""
    if version not in layout.VERSIONS:
        raise RecordError(tr(f"versión de formato desconocida: {version}", f"unknown format version: {version}"))
    reader = layout.RecordReader(source)
    files = _check_index(reader)
    header = reader.read_json(layout.HEADER)
    ctx = load_election_context(source, allow_test_group=allow_test_group)
    writer = layout.RecordWriter(output)
    try:
        old_board, new_board = reader.board_name, layout.board_name(version)
        for name in files:
            if name not in (old_board, layout.RESULTS):
                target = writer.path(name)
                shutil.copyfile(source / name, target)
        with BoardFileWriter(writer.path(new_board), ctx, version) as board:
            for where, event, p_hash in stored_events(reader, ctx):
                again = event.ballot.ballot_hash(ctx) if event.ballot is not None else None
                if event.type == EVENT_BALLOT and again != p_hash:  # pragma: no cover - by construction
                    raise RecordError(tr(f"{where}: la conversión cambiaría el hash de la boleta",
                                         f"{where}: conversion would change the ballot hash"))
                board.write(event)
        if layout.RESULTS in files:
            results = ElectionResults.from_json(ctx.manifest, reader.read_json(layout.RESULTS), reader.version)
            writer.write_json(layout.RESULTS, results.to_json(ctx.manifest, version))
        kept = {k: v for k, v in header.items() if k not in ("format", "version", "files")}
        return writer.finish(kept, version)
    except BaseException:
        shutil.rmtree(writer.root, ignore_errors=True)
        raise


def event_json(record: Path, which: str, *, allow_test_group: bool = False) -> dict[str, Any]:
    """One board event as the JSON of a version-1 board line (``docs/record.md`` §4.6), whatever the
    record's version. ``which``: an event index (as receipts and the board page give it), or a
    location from a report, ``board.bin:5`` / ``board.jsonl:5`` (the 5th event of the file)."""
    reader = layout.RecordReader(record)
    name = reader.board_name
    want_index: int | None = None
    want_position: int | None = None
    try:
        if ":" in which:
            file, _, number = which.rpartition(":")
            if file not in layout.BOARD_FILES.values():
                raise ValueError(file)
            want_position = int(number)
        else:
            want_index = int(which)
    except ValueError:
        raise SiveiError(tr(f"«{which}»: se esperaba un índice de evento (p. ej. 4) o una ubicación (p. ej. {name}:5)",
                            f"«{which}»: expected an event index (e.g. 4) or a location (e.g. {name}:5)")) from None
    ctx = load_election_context(record, allow_test_group=allow_test_group)
    for position, raw, _ in iter_raw_events(reader.root / name, name):
        header = event_header(raw)
        if position == want_position or (header is not None and header[0] == want_index):
            event, _ = parse_event(ctx, raw, name, position, membership=False)
            if event.unchecked_ballot is not None:
                event = BoardEvent(event.index, event.type, event.head, ballot=event.unchecked_ballot.unchecked)
            return event_to_json(event, ctx)
    raise SiveiError(tr(f"el tablero no tiene el evento {which}", f"the board has no event {which}"))
