"""The software-integrity constancia as the record holds it (``integrity.json``), checked against
the digest the opening act names."""

from __future__ import annotations

from sivei.crypto.encoding import hex_to_bytes
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei.integrity import IntegrityConstancia
from sivei.record import layout
from sivei.record.report import VerificationReport


def check_integrity_file(reader: layout.RecordReader, digest: object, report: VerificationReport) -> None:
    try:
        expected = hex_to_bytes(digest, 32, "integrity_digest")
        constancia = IntegrityConstancia.from_json(reader.read_json(layout.INTEGRITY))
    except SiveiError as exc:
        report.add("integrity", layout.INTEGRITY, str(exc))
        return
    if constancia.digest != expected:
        report.add("integrity", layout.INTEGRITY,
                   tr("la constancia de integridad no es la que nombra el acta de inicio",
                      "the integrity constancia is not the one the opening act names"))
        return
    report.add_fingerprint("integrity_constancia", tr("constancia de integridad", "integrity constancia"),
                           constancia.fingerprint)
