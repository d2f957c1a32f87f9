"""Voters' receipts: what the voting server signs after a ballot is on the board, and their check
against a published record (``sivei verificar REGISTRO --receipt RECIBO``).

A receipt is a JSON object::

    {"format": "sivei-recibo", "version": 1,
     "election_id": "…", "election_hash": "<64 hex: H_E, the election fingerprint>",
     "ballot_hash": "<64 hex>", "tracking_code": "XXXXX-XXXXX-XXXXX-XXXXX",
     "index": <the ballot's event index on the board>, "head": "<64 hex: the chain head after it>",
     "received_at": "YYYY-MM-DDTHH:MM:SSZ" (server clock, UTC),
     "signature": "<128 hex: ECDSA P-256 r‖s, low s>"}

The signature covers H("sivei/receipt", canonical_json(every field but ``signature``)) and is made
with the server's receipt key, whose public half the opening act names (``receipt_key``), so that a
receipt is checked with nothing but the published record. Checking a receipt against a record proves
that the server committed to this ballot at this position: the record's board must hold, at that
index, a ballot event with that ballot hash and that head, before the close, and the ballot must be
counted (no problem reported on its line: valid proofs and signature, listed credential, first ballot
of its credential, unique α). A voter whose receipt fails has evidence signed by the server.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sivei import jsonstrict
from sivei.ballot.board import EVENT_BALLOT, EVENT_CLOSE
from sivei.ballot.context import ElectionContext
from sivei.crypto.ecdsa import SIGNATURE_BYTES, Signer, verify_digest
from sivei.crypto.encoding import canonical_json, hex_to_bytes, tagged_hash
from sivei.crypto.fingerprint import fingerprint
from sivei.errors import EncodingError, RecordError, SiveiError
from sivei.i18n import tr
from sivei.record import layout
from sivei.record.board_file import event_header, iter_raw_events, parse_event
from sivei.record.report import VerificationReport

FORMAT = "sivei-recibo"
VERSION = 1
TAG_RECEIPT = "sivei/receipt"
MAX_RECEIPT_BYTES = 16 * 1024

_BODY_FIELDS = ("format", "version", "election_id", "election_hash", "ballot_hash", "tracking_code", "index",
                "head", "received_at")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@dataclass(frozen=True)
class Receipt:
    election_id: str
    election_hash: bytes
    ballot_hash: bytes
    tracking_code: str
    index: int
    head: bytes
    received_at: str
    signature: bytes = b""

    def body(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "election_id": self.election_id,
                "election_hash": self.election_hash.hex(), "ballot_hash": self.ballot_hash.hex(),
                "tracking_code": self.tracking_code, "index": self.index, "head": self.head.hex(),
                "received_at": self.received_at}

    @property
    def digest(self) -> bytes:
        return tagged_hash(TAG_RECEIPT, canonical_json(self.body()))

    def signed_by(self, signer: Signer) -> Receipt:
        return Receipt(self.election_id, self.election_hash, self.ballot_hash, self.tracking_code, self.index,
                       self.head, self.received_at, signer.sign_digest(self.digest))

    def signature_valid(self, receipt_key: bytes) -> bool:
        return verify_digest(receipt_key, self.digest, self.signature)

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "signature": self.signature.hex()}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n"

    @staticmethod
    def from_json(obj: object, what: str = "recibo") -> Receipt:
        """Strict parse: exact fields, canonical hex, consistent tracking code."""
        if not isinstance(obj, dict) or set(obj) != {*_BODY_FIELDS, "signature"}:
            raise EncodingError(tr(f"{what}: campos no válidos (se esperaban {sorted({*_BODY_FIELDS, 'signature'})})",
                                   f"{what}: invalid fields (expected {sorted({*_BODY_FIELDS, 'signature'})})"))
        if obj["format"] != FORMAT or obj["version"] != VERSION:
            raise EncodingError(tr(f"{what}: no es un recibo de SIVEI (formato o versión)",
                                   f"{what}: not a SIVEI receipt (format or version)"))
        election_id, code, received = obj["election_id"], obj["tracking_code"], obj["received_at"]
        if not isinstance(election_id, str) or not isinstance(code, str) or not isinstance(received, str):
            raise EncodingError(tr(f"{what}: election_id, tracking_code y received_at deben ser texto",
                                   f"{what}: election_id, tracking_code and received_at must be text"))
        if not _TIME.fullmatch(received):
            raise EncodingError(tr(f"{what}.received_at: se esperaba AAAA-MM-DDTHH:MM:SSZ",
                                   f"{what}.received_at: expected YYYY-MM-DDTHH:MM:SSZ"))
        index = obj["index"]
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 2**32:
            raise EncodingError(tr(f"{what}.index: entero no válido", f"{what}.index: invalid integer"))
        ballot_hash = hex_to_bytes(obj["ballot_hash"], 32, f"{what}.ballot_hash")
        if code != fingerprint(ballot_hash):
            raise EncodingError(tr(f"{what}.tracking_code: no corresponde al hash de la boleta",
                                   f"{what}.tracking_code: does not match the ballot hash"))
        return Receipt(election_id, hex_to_bytes(obj["election_hash"], 32, f"{what}.election_hash"), ballot_hash,
                       code, index, hex_to_bytes(obj["head"], 32, f"{what}.head"), received,
                       hex_to_bytes(obj["signature"], SIGNATURE_BYTES, f"{what}.signature"))

    @staticmethod
    def loads(text: str | bytes, what: str = "recibo") -> Receipt:
        try:
            obj = jsonstrict.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise EncodingError(tr(f"{what}: JSON no válido", f"{what}: invalid JSON")) from exc
        return Receipt.from_json(obj, what)

    @staticmethod
    def load(path: Path) -> Receipt:
        try:
            data = path.read_bytes()[: MAX_RECEIPT_BYTES + 1]
        except OSError as exc:
            raise EncodingError(tr(f"no se puede leer {path}: {exc.strerror}",
                                   f"cannot read {path}: {exc.strerror}")) from exc
        if len(data) > MAX_RECEIPT_BYTES:
            raise EncodingError(tr(f"{path}: demasiado grande para ser un recibo", f"{path}: too large for a receipt"))
        return Receipt.loads(data, str(path))


def receipt_problems(receipt: Receipt, *, election_id: str, election_hash: bytes, receipt_key: bytes,
                     event: Mapping[str, Any] | None, ballot_hash: bytes | None, closed_after: bool,
                     counted: bool) -> list[tuple[str, str, str]]:
    """Each (check, Spanish, English) problem of one receipt against the facts a record gives about
    the event at the receipt's index (``event``: its parsed line, or None when the board has no such
    index; ``ballot_hash``: the hash of its ballot)."""
    out: list[tuple[str, str, str]] = []
    if not receipt.signature_valid(receipt_key):
        out.append(("receipt.signature", "la firma del recibo no es de la llave de recibos del acta de inicio",
                    "the receipt's signature is not by the opening act's receipt key"))
    if receipt.election_id != election_id or receipt.election_hash != election_hash:
        out.append(("receipt.election", "el recibo es de otra elección", "the receipt is for another election"))
        return out
    if event is None:
        out.append(("receipt.chain", f"el tablero no tiene el evento {receipt.index}",
                    f"the board has no event {receipt.index}"))
        return out
    if event.get("type") != EVENT_BALLOT or ballot_hash != receipt.ballot_hash:
        out.append(("receipt.chain", f"el evento {receipt.index} del tablero no es esta boleta",
                    f"board event {receipt.index} is not this ballot"))
    elif event.get("head") != receipt.head.hex():
        out.append(("receipt.chain", f"la cabeza del tablero tras el evento {receipt.index} no es la del recibo",
                    f"the board head after event {receipt.index} is not the receipt's"))
    elif not closed_after:
        out.append(("receipt.counted", "el tablero no se cerró después de esta boleta",
                    "the board was not closed after this ballot"))
    elif not counted:
        out.append(("receipt.counted", "la boleta del recibo no se cuenta (el verificador reporta problemas en ella)",
                    "the receipt's ballot is not counted (the verifier reports problems on it)"))
    return out


def check_receipts(reader: layout.RecordReader, ctx: ElectionContext, receipts: Sequence[Path],
                   report: VerificationReport) -> None:
    """Check each receipt file against the record (called by the verifier after the board, acts and
    tally were checked, so ``report`` already holds any problem of the receipt's ballot line)."""
    if not receipts:
        return
    try:
        opening = reader.read_json(layout.OPENING_ACT)
        receipt_key = hex_to_bytes(opening["body"]["receipt_key"], 65, "receipt_key")
    except (SiveiError, KeyError, TypeError) as exc:
        report.add("receipt.key", layout.OPENING_ACT, tr(f"no se puede leer la llave de recibos: {exc}",
                                                         f"cannot read the receipt key: {exc}"))
        return
    parsed: dict[Path, Receipt] = {}
    for path in receipts:
        try:
            parsed[path] = Receipt.load(path)
        except SiveiError as exc:
            report.add("receipt.format", str(path), str(exc))
    wanted = {r.index for r in parsed.values()}
    events: dict[int, tuple[dict[str, Any], bytes | None, int]] = {}
    close_line: int | None = None
    name = reader.board_name
    with contextlib.suppress(RecordError):  # a board that cannot be framed: the verifier reports it
        for position, raw, _ in iter_raw_events(reader.root / name, name):
            header = event_header(raw)
            if header is None:
                continue
            index, type_, head = header
            if type_ == EVENT_CLOSE and close_line is None:
                close_line = position
            if index in wanted and index not in events:
                p_hash: bytes | None = None
                try:
                    _, p_hash = parse_event(ctx, raw, name, position)
                except SiveiError:
                    p_hash = None
                events[index] = ({"type": type_, "head": head.hex()}, p_hash, position)
    flagged = {p.location.split(" ", 1)[0] for p in report.problems}
    all_flagged_checks = report.failed_checks()
    checked = 0
    for path, receipt in parsed.items():
        found = events.get(receipt.index)
        event, b_hash, lineno = found if found is not None else (None, None, 0)
        where = f"{name}:{lineno}"
        # A line's problems may be beyond the listed ones when a check failed very often: then
        # nothing is known about this line and the receipt is not confirmed as counted.
        overflow = any(n > len([p for p in report.problems if p.check == c]) for c, n in all_flagged_checks.items())
        counted = found is not None and where not in flagged and not overflow
        closed_after = close_line is not None and lineno < close_line
        for check, es, en in receipt_problems(receipt, election_id=ctx.manifest.election_id,
                                              election_hash=ctx.election_hash, receipt_key=receipt_key,
                                              event=event, ballot_hash=b_hash, closed_after=closed_after,
                                              counted=counted):
            report.add(check, f"{path} ({receipt.tracking_code})", tr(es, en))
        checked += 1
    report.add_fact("receipts_checked", tr("recibos revisados", "receipts checked"), checked)
