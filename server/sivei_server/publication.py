"""The count's last steps on the server: verify the imported record, publish it, and the results as INE
publishes them — ``resultados.json`` (named keys), ``resultados.csv``, the printable acta de cómputo
(PDF and text) — made by the library (``sivei.record.results_files``) from the published record.

* ``verify`` runs ``sivei verificar`` on the imported record (with the server's final head) so staff
  read the report before they confirm the publication; the passing report is kept (artifact
  ``verification.json``) with the import it belongs to, and ``publish`` does not run the verifier a
  second time on that same import (on a large board it takes hours).
* ``publish`` is refused for a practice election (its results are never published: it is archived,
  ``sivei_server.practice``); a drill's results are published under its banner.
* The acta's place, date and signers are the operator's (the publish form); the files are written to
  ``resultados-publicados/`` in the data directory and served by ``views.results``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from sivei import jsonstrict
from sivei.election_kind import kind_of
from sivei.record.results_files import RESULTS_FILES, RESULTS_JSON, RecordResults, write_results_folder
from sivei_server import election as el
from sivei_server.config import ServerConfig
from sivei_server.db import session_scope
from sivei_server.models import STATE_CLOSED, AuditLog

VERIFICATION = "verification.json"
ACTA_SETTING = "acta-setting.json"
RESULTS_DIR = "resultados-publicados"
DEFAULT_PLACE = "Ciudad de México"
MAX_SIGNERS = 20


@dataclass(frozen=True)
class ActaForm:
    """The acta's place, date (None: the day of publication) and signers (name, role)."""

    place: str = DEFAULT_PLACE
    date: str | None = None
    signers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> ActaForm:
        """From the publish form (``lugar``, ``fecha``, ``firmas``: one «Nombre|Cargo» per line) or the
        JSON API (the same names; ``firmas`` may be a list of strings)."""
        place = str(fields.get("lugar") or DEFAULT_PLACE).strip()
        date = str(fields.get("fecha") or "").strip() or None
        raw = fields.get("firmas") or ""
        lines = [str(x) for x in raw] if isinstance(raw, list) else str(raw).splitlines()
        signers = []
        for n, line in enumerate((x.strip() for x in lines), start=1):
            if not line:
                continue
            name, sep, role = line.partition("|")
            if not sep or not name.strip() or not role.strip():
                raise el.ElectionError(400, "firmas", f"Firmas, renglón {n}: escriba «Nombre|Cargo».",
                                       f"Signers, line {n}: write «Name|Role».")
            signers.append((name.strip()[:120], role.strip()[:160]))
        if len(place) > 200 or (date is not None and len(date) > 100) or len(signers) > MAX_SIGNERS:
            raise el.ElectionError(400, "acta", f"Lugar (200), fecha (100) o firmas ({MAX_SIGNERS}) demasiado largos.",
                                   f"Place (200), date (100) or signers ({MAX_SIGNERS}) too long.")
        return cls(place, date, tuple(signers))

    def to_json(self) -> dict[str, Any]:
        return {"place": self.place, "date": self.date, "signers": [list(s) for s in self.signers]}


def _latest_import(s: Session) -> int | None:
    found: int | None = s.scalar(select(func.max(AuditLog.id)).where(AuditLog.action == "election.import-record"))
    return found


def stored_verification(s: Session) -> dict[str, Any] | None:
    """The last verification report, if it is of the record imported last (else None)."""
    data = el.get_artifact(s, VERIFICATION)
    if data is None:
        return None
    stored = jsonstrict.loads(data)
    if stored.get("import") != _latest_import(s):
        return None
    report: dict[str, Any] = stored["report"]
    return report


def verify(engine: Engine, config: ServerConfig, operator_id: int | None) -> dict[str, Any]:
    """Verify the imported record and keep the report (a failing one too: the console shows it)."""
    with session_scope(engine) as s:
        el._require_state(s, STATE_CLOSED)
        imported = _latest_import(s)
    report = el.verify_imported(engine, config)
    data = report.to_json()
    with session_scope(engine) as s:
        el.put_artifact(s, VERIFICATION, json.dumps({"import": imported, "report": data}).encode(), operator_id)
        problems = sum(report.failed_checks().values())
        el.audit(s, operator_id, "election.verify", "ok" if report.ok else f"FALLA: {problems} problemas")
    return data


def refuse_practice(election_id: str) -> None:
    if kind_of(election_id) == "practice":
        raise el.ElectionError(409, "practica",
                               "Los resultados de la elección de práctica nunca se publican: archívela desde la "
                               "consola para preparar la siguiente elección.",
                               "The practice election's results are never published: archive it from the console "
                               "to prepare the next election.")


def publish(engine: Engine, config: ServerConfig, operator_id: int | None, form: ActaForm) -> dict[str, Any]:
    """Publish the imported record (verified: the stored report of this import, or now) and write the
    results files."""
    with session_scope(engine) as s:
        row = el._require_state(s, STATE_CLOSED)
        refuse_practice(row.election_id)
        verified = stored_verification(s)
        el.put_artifact(s, ACTA_SETTING, json.dumps(form.to_json(), ensure_ascii=False).encode(), operator_id)
    report: dict[str, Any] = el.publish(engine, config, operator_id, verified=verified)
    write_results(config, form)
    return report


def results_dir(config: ServerConfig) -> Path:
    return config.data_dir / RESULTS_DIR


def write_results(config: ServerConfig, form: ActaForm) -> Path:
    """The results files of the published record (replacing any earlier ones)."""
    record = config.data_dir / el.PUBLISHED_DIR
    source = RecordResults.read(record, allow_test_group=config.allow_test_group)
    target = results_dir(config)
    fresh = target.with_name(f"{target.name}.nuevo")
    if fresh.exists():
        shutil.rmtree(fresh)
    write_results_folder(source, source.setting(form.place, form.date, form.signers), fresh)
    if target.exists():
        shutil.rmtree(target)
    fresh.rename(target)
    return target


def results_file(config: ServerConfig, name: str) -> Path | None:
    """One of the published results files, or None before the publication."""
    if name not in RESULTS_FILES:
        return None
    path = results_dir(config) / name
    return path if path.is_file() else None


def published_results(config: ServerConfig) -> dict[str, Any] | None:
    """``resultados.json`` as published (named keys), or None."""
    path = results_file(config, RESULTS_JSON)
    if path is None:
        return None
    data: dict[str, Any] = jsonstrict.loads(path.read_bytes())
    return data
