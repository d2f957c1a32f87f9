"""The operator console's checklist: every step from preparation to publication, in order, with what is
done, what is next and who did it (from the server's audit log).

Steps of the real election and of a drill: manifest → credential list → roll and activation links →
key ceremony and opening act → open → voting → close → export of the closed record → vault opening
(the key-holders, away from the server) → import of the completed record → verification →
publication; then, for the real election, the personal data (``sivei_server.retention``). A practice
election stops at the close and is archived (``sivei_server.practice``); a drill may be archived after
its publication.

The audit rows considered are those since the election in the server's slot began (after the last
archive of a practice election or drill), so an earlier practice's steps never count for the next
election — except the roll's: the roll and the voters' accounts stay from the practice to the real
election.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sivei.election_kind import kind_of
from sivei_server import election as el
from sivei_server.config import ServerConfig
from sivei_server.models import (
    STATE_CLOSED,
    STATE_OPEN,
    STATE_PAUSED,
    STATE_PUBLISHED,
    AuditLog,
    ChainHead,
    DataRetention,
    Operator,
    Voter,
)

Text = tuple[str, str]

DONE, NEXT, RUNNING, PENDING = "hecho", "siguiente", "en-curso", "pendiente"
SERVER = ("el servidor (automático)", "the server (automatic)")
KEYHOLDERS = ("los custodios, fuera del servidor", "the key-holders, away from the server")


@dataclass(frozen=True)
class Step:
    key: str
    title: Text
    hint: Text
    status: str
    by: Text | None = None
    at: datetime | None = None
    detail: Text | None = None

    @property
    def done(self) -> bool:
        return self.status == DONE


@dataclass(frozen=True)
class _Spec:
    key: str
    title: Text
    hint: Text
    actions: tuple[str, ...]
    done: Callable[[_Facts], bool]


@dataclass(frozen=True)
class _Facts:
    state: str | None
    kind: str | None
    artifacts: frozenset[str]
    voters: int
    notified: bool
    closed: bool
    imported: bool
    verified: bool | None
    exported_after_close: bool
    retention_set: bool
    retention_done: bool


def _opened(f: _Facts) -> bool:
    return f.state in (STATE_OPEN, STATE_PAUSED, STATE_CLOSED, STATE_PUBLISHED)


SPECS: tuple[_Spec, ...] = (
    _Spec("manifiesto", ("Manifiesto de la elección", "Election manifest"),
          ("Cargue el manifiesto revisado («sivei manifiesto validar»); su huella se lee en la ceremonia.",
           "Load the reviewed manifest («sivei manifest validate»); its fingerprint is read at the ceremony."),
          ("election.manifest",), lambda f: el.MANIFEST in f.artifacts),
    _Spec("credenciales", ("Lista de credenciales firmada", "Signed credential list"),
          ("La autoridad de credenciales entrega la lista publicada y las fichas selladas.",
           "The credential authority hands over the published list and the sealed tokens."),
          ("election.credentials",), lambda f: el.CREDENTIAL_LIST in f.artifacts),
    _Spec("padron", ("Padrón y enlaces de activación", "Roll and activation links"),
          ("Importe el padrón (sus conteos deben coincidir con la lista) y envíe los enlaces de activación.",
           "Import the roll (its counts must match the list) and send the activation links."),
          ("padron.importar", "padron.notificar"), lambda f: f.voters > 0 and f.notified),
    _Spec("acta-inicio", ("Ceremonia de llaves y acta de inicio", "Key ceremony and opening act"),
          ("Registre la transcripción de la ceremonia y el acta de inicio firmada por los n custodios.",
           "Register the ceremony transcript and the opening act signed by all n key-holders."),
          ("election.opening-act",), lambda f: el.OPENING_ACT in f.artifacts),
    _Spec("abrir", ("Apertura de la votación", "Opening of voting"),
          ("Abrir agrega el evento de apertura al tablero público: no se puede deshacer.",
           "Opening appends the opening event to the public board: it cannot be undone."),
          ("election.open",), _opened),
    _Spec("votacion", ("Votación", "Voting"),
          ("Siga la participación; registre pausas e incidentes (quedan en el tablero público).",
           "Follow turnout; record pauses and incidents (they go on the public board)."),
          ("election.pause", "election.resume", "election.incident"), lambda f: f.closed),
    _Spec("cerrar", ("Cierre del tablero", "Close of the board"),
          ("El servidor sella el tablero solo al llegar el cierre; lea en voz alta la cabeza final.",
           "The server seals the board itself at the close; read the final head aloud."),
          ("election.close",), lambda f: f.closed),
    _Spec("exportar", ("Exportación del registro cerrado", "Export of the closed record"),
          ("Descargue el registro cerrado y entréguelo a los custodios para el acta de cierre.",
           "Download the closed record and hand it to the key-holders for the closing act."),
          ("election.export",), lambda f: f.exported_after_close),
    _Spec("boveda", ("Apertura de la bóveda", "Vault opening"),
          ("Los custodios firman el acta de cierre, descifran con sus tokens y combinan (guía de ceremonias).",
           "The key-holders sign the closing act, decrypt with their tokens and combine (ceremony guide)."),
          (), lambda f: f.imported or f.state == STATE_PUBLISHED),
    _Spec("importar", ("Importación del registro completo", "Import of the complete record"),
          ("Suba el registro completo que escribió «boveda combinar» (.tar.gz).",
           "Upload the complete record written by «vault combine» (.tar.gz)."),
          ("election.import-record",), lambda f: f.imported or f.state == STATE_PUBLISHED),
    _Spec("verificar", ("Verificación del registro", "Verification of the record"),
          ("«sivei verificar» sobre el registro importado, con la cabeza final del servidor.",
           "«sivei verify» on the imported record, with the server's final head."),
          ("election.verify",), lambda f: bool(f.verified) or f.state == STATE_PUBLISHED),
    _Spec("publicar", ("Publicación de resultados y acta de cómputo", "Publication of results and acta"),
          ("Publica el registro, los resultados (JSON, CSV) y el acta de cómputo (PDF): no se puede deshacer.",
           "Publishes the record, the results (JSON, CSV) and the acta (PDF): it cannot be undone."),
          ("election.publish",), lambda f: f.state == STATE_PUBLISHED),
    _Spec("archivar", ("Archivo de esta elección", "Archive of this election"),
          ("Guarda su registro en el archivo público y vacía el tablero para la siguiente elección.",
           "Keeps its record in the public archive and empties the board for the next election."),
          ("election.archive",), lambda f: False),
    _Spec("datos", ("Datos personales (LGPDPPSO)", "Personal data (LGPDPPSO)"),
          ("Programe la eliminación del padrón y los datos de contacto; expórtelos antes para el archivo.",
           "Schedule the deletion of the roll and contact data; export them first for the archive."),
          ("datos.programar", "datos.exportar", "datos.eliminar"), lambda f: f.retention_done),
)

PRACTICE_STEPS = ("manifiesto", "credenciales", "padron", "acta-inicio", "abrir", "votacion", "cerrar", "archivar")
DRILL_STEPS = tuple(s.key for s in SPECS if s.key != "datos")
REAL_STEPS = tuple(s.key for s in SPECS if s.key != "archivar")


def slot_start(s: Session) -> int:
    """The first audit id of the election in the slot (after the last archive)."""
    last = s.scalar(select(func.max(AuditLog.id)).where(AuditLog.action == "election.archive"))
    return int(last or 0)


def _facts(s: Session, config: ServerConfig, start: int) -> _Facts:
    from sivei_server.publication import stored_verification

    row = el.election_row(s)
    head = s.get(ChainHead, 1)
    artifacts = frozenset(n for n in (el.MANIFEST, el.CREDENTIAL_LIST, el.OPENING_ACT) if el.get_artifact(s, n))

    def last(action: str, since: int = start) -> int:
        return int(s.scalar(select(func.max(AuditLog.id)).where(AuditLog.action == action, AuditLog.id > since))
                   or 0)

    close_id = last("election.close")
    closed = head is not None and head.closed
    verification = stored_verification(s) if closed else None
    retention = s.get(DataRetention, 1)
    return _Facts(
        state=row.state if row else None, kind=kind_of(row.election_id) if row else None, artifacts=artifacts,
        voters=int(s.scalar(select(func.count()).select_from(Voter)) or 0),
        notified=last("padron.notificar", 0) > 0 or (retention is not None and retention.deleted_at is not None),
        closed=closed, imported=closed and el.imported_record(config) is not None,
        verified=None if verification is None else bool(verification.get("ok")),
        exported_after_close=closed and last("election.export") > close_id,
        retention_set=retention is not None, retention_done=retention is not None and retention.deleted_at is not None)


def steps(s: Session, config: ServerConfig) -> list[Step]:
    """The checklist of the election in the slot (the real election's when none is loaded)."""
    start = slot_start(s)
    facts = _facts(s, config, start)
    keys = {"practice": PRACTICE_STEPS, "drill": DRILL_STEPS}.get(facts.kind or "real", REAL_STEPS)
    names = {int(i): str(n) for i, n in s.execute(select(Operator.id, Operator.username)).all()}
    out: list[Step] = []
    seen_next = False
    for spec in (sp for sp in SPECS if sp.key in keys):
        audit = None
        if spec.actions:
            # The roll and the accounts outlive an archived practice election: their whole history counts.
            since = 0 if spec.key == "padron" else start
            audit = s.scalars(select(AuditLog).where(AuditLog.action.in_(spec.actions), AuditLog.id > since)
                              .order_by(AuditLog.id.desc()).limit(1)).first()
        by: Text | None = None
        if audit is not None:
            by = (names[audit.operator_id], names[audit.operator_id]) if audit.operator_id in names else SERVER
        elif spec.key == "boveda" and spec.done(facts):
            by = KEYHOLDERS
        done = spec.done(facts)
        if spec.key == "votacion" and facts.state in (STATE_OPEN, STATE_PAUSED):
            status = RUNNING
            seen_next = True
        elif done:
            status = DONE
        elif not seen_next:
            status = NEXT
            seen_next = True
        else:
            status = PENDING
        detail: Text | None = None
        if spec.key == "verificar" and facts.verified is False:
            detail = ("El registro importado NO pasó la verificación: no se puede publicar.",
                      "The imported record did NOT pass verification: it cannot be published.")
        if spec.key == "datos" and facts.retention_set and not facts.retention_done:
            detail = ("Eliminación programada: vea la página de datos personales.",
                      "Deletion scheduled: see the personal data page.")
        if spec.key == "padron" and facts.voters and not facts.notified:
            detail = (f"{facts.voters} votantes en el padrón; faltan los enlaces de activación.",
                      f"{facts.voters} voters on the roll; the activation links are still to be sent.")
        out.append(Step(spec.key, spec.title, spec.hint, status, by, audit.at if audit is not None else None,
                        detail))
    return out


def next_step(items: list[Step]) -> Step | None:
    return next((x for x in items if x.status in (NEXT, RUNNING)), None)
