"""Personal data after the election (LGPDPPSO): kept only until its purpose is fulfilled, then exported
for INE's archive and deleted on the date an administrator confirms, with the deletion logged.

Personal data on the server is the voter roll and everything tied to a voter: ``voters`` (registry
id, issued username, entity, country, email, phone, password hash, second factor, activation and
voted flags), ``sealed_tokens``, voters' ``web_sessions`` and ``one_time_codes``, ``rate_limits``
(keys hold voter ids and addresses), ``late_ballots`` (sender addresses), the help desk's entries in
``audit_log`` (the voter's id, free-text reasons) and the addresses in ``audit_log``, plus the
development mail and SMS outboxes. The public record never held any of it: the board has no voter,
the credential list only public credentials and ballot styles.

* ``schedule``: the deletion date (00:00 of that day in the election's time zone), once the real
  election is published; it can be moved until the deletion runs. Logged (``datos.programar``).
* ``export``: a tar.gz for the archive — ``padron.csv`` (the roll with activation and voted flags),
  ``mesa-de-ayuda.csv`` (help-desk entries) and ``LEEME.txt`` — sealed under a passphrase the
  administrator types (``sivei.passphrase_file``: Argon2id, XSalsa20-Poly1305), so the copy that
  leaves the server is never in clear; logged with its SHA-256 (``datos.exportar``). Opened with
  ``sivei servidor datos-personales --abrir``. Not after the deletion.
* ``delete_due``: on or after the date, in one transaction, deletes the above (turnout aggregates
  are kept first: ``sivei_server.turnout``), and logs what it deleted (``datos.eliminar``). Run by
  the console (a confirmed action) or by ``sivei servidor datos-personales --ejecutar`` from a
  timer. Access logs outside the database (gunicorn, nginx) follow the host's own rotation.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tarfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from sivei.election_kind import kind_of
from sivei.passphrase_file import SealedFileError, check_passphrase, seal
from sivei_server import election as el
from sivei_server import models, turnout
from sivei_server.config import ServerConfig
from sivei_server.db import serialized, session_scope
from sivei_server.models import (
    STATE_PUBLISHED,
    AuditLog,
    DataRetention,
    KioskSession,
    LateBallot,
    OneTimeCode,
    Operator,
    RateLimit,
    SealedToken,
    ServedVoter,
    Voter,
    WebSession,
)

DEFAULT_ZONE = "America/Mexico_City"
OUTBOXES = ("buzon", "sms")


@dataclass(frozen=True)
class Status:
    """What the console shows about the personal data."""

    allowed: bool               # the real election is published: a date may be set
    row: DataRetention | None
    voters: int
    due: bool

    @property
    def deleted(self) -> bool:
        return self.row is not None and self.row.deleted_at is not None


def _zone(s: Session) -> str:
    manifest = el.stored_manifest(s)
    return manifest.display_timezone if manifest is not None else DEFAULT_ZONE


def status(s: Session) -> Status:
    row = s.get(DataRetention, 1)
    election = el.election_row(s)
    allowed = election is not None and election.state == STATE_PUBLISHED and kind_of(election.election_id) == "real"
    voters = s.scalar(select(func.count()).select_from(Voter)) or 0
    due = row is not None and row.deleted_at is None and models.utcnow() >= row.delete_after
    return Status(allowed, row, int(voters), due)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise el.ElectionError(400, "fecha", "Escriba la fecha como AAAA-MM-DD.", "Write the date as YYYY-MM-DD.") \
            from None


def schedule(engine: Engine, day: date, operator_id: int | None) -> DataRetention:
    """Set (or move) the deletion date: 00:00 of ``day`` in the election's time zone, today or later."""
    with session_scope(engine) as s:
        st = status(s)
        if st.deleted:
            raise el.ElectionError(409, "eliminados", "Los datos personales ya se eliminaron.",
                                   "The personal data was already deleted.")
        if not st.allowed:
            raise el.ElectionError(409, "no-publicada",
                                   "La fecha de eliminación se fija cuando la elección real ya se publicó.",
                                   "The deletion date is set once the real election is published.")
        zone = ZoneInfo(_zone(s))
        today = models.utcnow().astimezone(zone).date()
        if day < today:
            raise el.ElectionError(400, "pasado", f"La fecha {day.isoformat()} ya pasó (hoy es {today.isoformat()}).",
                                   f"The date {day.isoformat()} is past (today is {today.isoformat()}).")
        instant = datetime.combine(day, dtime(0, 0), tzinfo=zone)
        row = s.get(DataRetention, 1)
        if row is None:
            row = DataRetention(id=1, delete_after=instant, scheduled_by=operator_id, scheduled_at=models.utcnow())
            s.add(row)
        else:
            row.delete_after, row.scheduled_by, row.scheduled_at = instant, operator_id, models.utcnow()
        el.audit(s, operator_id, "datos.programar", f"eliminar a partir de {day.isoformat()} ({zone.key}); "
                 f"{st.voters} votantes en el padrón")
        s.flush()
        s.expunge(row)
        return row


def _csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def export(engine: Engine, operator_id: int | None, passphrase: str) -> bytes:
    """The archive copy of the personal data (a tar.gz sealed under ``passphrase``), logged with its
    SHA-256."""
    try:
        check_passphrase(passphrase)
    except SealedFileError as exc:
        raise el.ElectionError(400, "frase", str(exc), str(exc)) from exc
    with session_scope(engine) as s:
        st = status(s)
        if st.deleted:
            raise el.ElectionError(409, "eliminados", "Los datos personales ya se eliminaron: no hay qué exportar.",
                                   "The personal data was already deleted: there is nothing to export.")
        if not st.allowed:
            raise el.ElectionError(409, "no-publicada", "El padrón se exporta cuando la elección real ya se publicó.",
                                   "The roll is exported once the real election is published.")
        roll: list[list[Any]] = [["id_votante", "usuario", "entidad", "pais", "correo", "celular", "cuenta_activada",
                                  "voto", "dia_voto_utc"]]
        for v in s.scalars(select(Voter).order_by(Voter.voter_id)):
            roll.append([v.voter_id, v.username, v.entity, v.country or "", v.email, v.phone,
                         v.activated_at.date().isoformat() if v.activated_at else "", "si" if v.voted else "no",
                         v.voted_on.isoformat() if v.voted_on else ""])
        names = {int(i): str(n) for i, n in s.execute(select(Operator.id, Operator.username)).all()}
        desk: list[list[Any]] = [["fecha_utc", "accion", "operador", "id_votante", "detalle"]]
        for a in s.scalars(select(AuditLog).where(AuditLog.voter_id.is_not(None)).order_by(AuditLog.id)):
            desk.append([el.utc_text(a.at), a.action, names.get(a.operator_id or -1, ""), a.voter_id, a.detail or ""])
        election = el.election_row(s)
        assert election is not None
        election_id = election.election_id
        readme = (f"Datos personales de la elección {election_id} (SIVEI), exportados el "
                  f"{el.utc_text(models.utcnow())} para el archivo del INE (LGPDPPSO).\n"
                  "padron.csv: el padrón con la activación de la cuenta y si votó (nunca qué boleta).\n"
                  "mesa-de-ayuda.csv: las atenciones de la mesa de ayuda.\n"
                  "Guárdese bajo resguardo; el servidor los elimina en la fecha programada.\n")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("LEEME.txt", readme.encode()), ("padron.csv", _csv(roll)),
                           ("mesa-de-ayuda.csv", _csv(desk))):
            info = tarfile.TarInfo(f"datos-personales/{name}")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))
    archive = seal(buffer.getvalue(), passphrase, f"datos-personales.tar.gz ({election_id})")
    digest = el._sha256(archive)
    with session_scope(engine) as s:
        row = s.get(DataRetention, 1)
        if row is not None:
            row.exported_at, row.exported_by, row.export_sha256 = models.utcnow(), operator_id, digest
        el.audit(s, operator_id, "datos.exportar", f"{len(roll) - 1} votantes; sha256 {digest}")
    return archive


def delete_due(engine: Engine, config: ServerConfig, operator_id: int | None) -> dict[str, Any] | None:
    """Delete the personal data if its date has come; the summary of what was deleted, else None."""
    with serialized(engine) as s:
        st = status(s)
        if st.row is None or st.deleted or not st.due:
            return None
        kept = turnout.compute(s, el.stored_manifest(s))
        counts: dict[str, int] = {}
        for key, table, where in (
                ("kiosk_sessions", KioskSession, None),
                ("consulate_served", ServedVoter, None),
                ("one_time_codes", OneTimeCode, OneTimeCode.kind == "voter"),
                ("voter_sessions", WebSession, WebSession.kind == "voter"),
                ("rate_limits", RateLimit, None),
                ("sealed_tokens", SealedToken, None),
                ("late_ballots", LateBallot, None),
                ("voters", Voter, None)):
            stmt = delete(table) if where is None else delete(table).where(where)
            counts[key] = int(s.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
        counts["helpdesk_entries"] = int(s.execute(update(AuditLog).where(AuditLog.voter_id.is_not(None))
                                                   .values(voter_id=None, detail=None)).rowcount or 0)  # type: ignore[attr-defined]
        s.execute(update(AuditLog).values(address=None))
        row = st.row
        row.deleted_at, row.deleted_by = models.utcnow(), operator_id
        row.summary_json = json.dumps({"turnout": kept.to_json(), "deleted": counts})
        el.audit(s, operator_id, "datos.eliminar", "; ".join(f"{k} {v}" for k, v in counts.items()))
    for name in OUTBOXES:
        path = config.data_dir / name
        if path.is_dir():
            shutil.rmtree(path)
    return counts


def kept_turnout(s: Session) -> turnout.Turnout | None:
    """The turnout kept at the deletion (None before it)."""
    row = s.get(DataRetention, 1)
    if row is None or row.summary_json is None:
        return None
    return turnout.Turnout.from_json(json.loads(row.summary_json)["turnout"])
