"""Writing an election record in two steps, as an election produces it.

At the close the operator writes the CLOSED record: everything up to the encrypted tally and the
closing act. The key-holders verify that closed record themselves before decrypting; the coordinator
then adds their decryption shares and the results (``add_decryption``), completing the record.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sivei import jsonstrict
from sivei.ballot.board import BoardEvent
from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import CredentialList
from sivei.ballot.manifest import Manifest
from sivei.crypto.envelope import Envelope
from sivei.integrity import IntegrityConstancia
from sivei.record import layout
from sivei.record.acts import SignedAct
from sivei.record.board_file import BoardFileWriter
from sivei.record.ceremony_io import ceremony_json
from sivei.tally.aggregate import EncryptedTally
from sivei.tally.decrypt import TallyDecryption
from sivei.tally.results import ElectionResults


def write_closed_record(output: Path, ctx: ElectionContext, *, ceremony_id: str, n: int, t: int,
                        rounds: Sequence[Sequence[Envelope]], credential_list: CredentialList,
                        events: Iterable[BoardEvent] | Path, tally: EncryptedTally, opening: SignedAct,
                        closing: SignedAct | None, constancia: IntegrityConstancia,
                        version: int = layout.VERSION) -> Path:
    """Write the closed record atomically (a crash never leaves a half-written record).

    ``events`` is streamed into the board file of record ``version``; or it is the path of a board
    file already written in that form (``BoardFileWriter``), which is moved into the record."""
    group, manifest = ctx.group, ctx.manifest
    writer = layout.RecordWriter(output)
    writer.write_json(layout.PARAMETERS, layout.parameters_json(group))
    writer.write_json(layout.MANIFEST, manifest.to_json())
    writer.write_json(layout.CEREMONY, ceremony_json(ceremony_id, n, t, rounds))
    credential_list.write(writer.root)
    board = writer.path(layout.board_name(version))
    if isinstance(events, Path):
        shutil.move(events, board)
    else:
        with BoardFileWriter(board, ctx, version) as f:
            for event in events:
                f.write(event)
    writer.write_json(layout.ENCRYPTED_TALLY, tally.to_json(group))
    writer.write_json(layout.OPENING_ACT, opening.to_json())
    if closing is not None:
        writer.write_json(layout.CLOSING_ACT, closing.to_json())
    writer.write_json(layout.INTEGRITY, constancia.to_json())
    return writer.finish({"election_id": manifest.election_id, "group": group.name,
                          "counting_policy": manifest.counting_policy}, version)


def decryption_json(decryption_id: str, decryption: TallyDecryption,
                    envelopes: Sequence[Envelope]) -> dict[str, Any]:
    return {"ceremony_id": decryption_id, **decryption.to_json(),
            "envelopes": [env.to_json() for env in sorted(envelopes, key=lambda e: e.sender)]}


def add_decryption(record: Path, *, manifest: Manifest, decryption_id: str, decryption: TallyDecryption,
                   envelopes: Sequence[Envelope], results: ElectionResults) -> None:
    """Complete a closed record with the decryption shares and the results; the index is rewritten
    last, so an interruption leaves a record whose index does not list the new files."""
    version = layout.RecordReader(record).version
    for name, obj in ((layout.DECRYPTION, decryption_json(decryption_id, decryption, envelopes)),
                      (layout.RESULTS, results.to_json(manifest, version))):
        _write_atomic(record / name, layout.dump_json(obj))
    _index(record, (layout.DECRYPTION, layout.RESULTS))


def add_files(record: Path, files: Mapping[str, bytes]) -> None:
    """Add files to a written record (``name`` → bytes, e.g. the consulates' ``consulados/…``) and
    list them in its index; each is written atomically and the index last, as in ``add_decryption``."""
    for name, data in files.items():
        path = record / name
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        _write_atomic(path, data)
    _index(record, tuple(files))


def _index(record: Path, names: Sequence[str]) -> None:
    """Rewrite ``record.json``'s file index with these files' hashes (atomically)."""
    if not names:
        return
    header = jsonstrict.loads((record / layout.HEADER).read_text(encoding="utf-8"))
    files = dict(header["files"])
    for name in names:
        files[name] = layout.file_sha256(record / name)
    header["files"] = dict(sorted(files.items()))
    _write_atomic(record / layout.HEADER, layout.dump_json(header))


def _write_atomic(path: Path, data: str | bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
