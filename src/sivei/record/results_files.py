"""The results files of a complete record, as INE publishes them: ``resultados.json`` (named keys),
``resultados.csv``, the printable ``acta-computo.pdf`` and its text ``acta-computo.txt``.

``sivei resultados`` and the voting server's publication both make them here, from the same record
reader, so the files an auditor makes offline are byte for byte the server's (the acta's date and
signers aside). The record is NOT verified here: callers verify it first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sivei.ballot.credentials import load_credential_list_files
from sivei.ballot.manifest import Manifest
from sivei.errors import SiveiError
from sivei.files import json_text, refuse_existing, write_new_bytes
from sivei.i18n import tr
from sivei.printing import render_pdf, render_text
from sivei.record import layout
from sivei.record.board_file import last_head
from sivei.record.context import load_election_context
from sivei.tally.publication import (
    ActaSetting,
    acta_date_today,
    acta_document,
    registered_per_entity,
    results_csv,
    results_json,
)
from sivei.tally.results import ElectionResults

RESULTS_JSON = "resultados.json"
RESULTS_CSV = "resultados.csv"
ACTA_PDF = "acta-computo.pdf"
ACTA_TEXT = "acta-computo.txt"
RESULTS_FILES = (RESULTS_JSON, RESULTS_CSV, ACTA_PDF, ACTA_TEXT)


@dataclass(frozen=True)
class RecordResults:
    """What the results files are made of: the manifest, the results, the list per entity (the signed
    credential list's counts), the election fingerprint, the final board head and the key-holders who
    opened the vault."""

    manifest: Manifest
    results: ElectionResults
    registered: Mapping[str, int]
    election_hash: bytes
    final_head: bytes | None
    keyholders_present: tuple[int, ...]

    @classmethod
    def read(cls, record: Path, *, allow_test_group: bool = False, board_head: bool = True) -> RecordResults:
        """``board_head=False`` skips reading the board for its final head (a preview of the results:
        the board of a large election is gigabytes)."""
        ctx = load_election_context(record, allow_test_group=allow_test_group)
        manifest = ctx.manifest
        reader = layout.RecordReader(record)
        results = ElectionResults.from_json(manifest, reader.read_json(layout.RESULTS))
        envelope, _ = load_credential_list_files(record)
        counts = envelope.body.get("counts")
        registered = registered_per_entity(manifest, counts if isinstance(counts, dict) else {})
        decryption = reader.read_json(layout.DECRYPTION)
        present = tuple(int(i) for i in decryption.get("present", ())) if isinstance(decryption, dict) else ()
        head = last_head(reader) if board_head else None
        return cls(manifest, results, registered, ctx.election_hash, head, present)

    def setting(self, place: str, date: str | None, signers: Sequence[tuple[str, str]]) -> ActaSetting:
        """Where, when (default: today in the manifest's time zone) and by whom the acta is signed."""
        return ActaSetting(place=place, date=date or acta_date_today(self.manifest.display_timezone),
                           signers=tuple(signers), election_hash=self.election_hash, final_head=self.final_head,
                           keyholders_present=self.keyholders_present)

    def json(self) -> dict[str, object]:
        return results_json(self.manifest, self.results, self.registered, election_hash=self.election_hash)

    def files(self, setting: ActaSetting) -> dict[str, bytes]:
        """The four files by name."""
        document = acta_document(self.manifest, self.results, self.registered, setting)
        return {RESULTS_JSON: json_text(self.json()).encode(),
                RESULTS_CSV: results_csv(self.manifest, self.results, self.registered).encode(),
                ACTA_PDF: render_pdf(document),
                ACTA_TEXT: render_text(document).encode()}


def write_results_folder(source: RecordResults, setting: ActaSetting, output: Path) -> None:
    """Write the four files into the new folder ``output``, built beside it and renamed into place (a
    failure leaves nothing half-written)."""
    refuse_existing(output)
    staging = output.with_name(f".{output.name}.tmp")
    if staging.exists():
        raise SiveiError(tr(f"{staging} ya existe (¿una ejecución interrumpida?): bórrela",
                            f"{staging} already exists (an interrupted run?): remove it"))
    staging.mkdir(parents=True)
    for name, data in source.files(setting).items():
        write_new_bytes(staging / name, data)
    staging.rename(output)
