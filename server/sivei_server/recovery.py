"""After a database restore: the database's board compared with the board journal
(``sivei_server.journal``), what the journal holds beyond the database's head replayed, and the
board stopped — loudly — when neither is possible (docs/security.md, "Database restore").

* ``status``: where the database's board and the journal stand. ``al-dia`` (the journal ends at the
  database's head, perhaps followed by one unconfirmed line: an attempt whose transaction never
  committed), ``adelante`` (the journal continues the database's chain with committed events: the
  database was restored from an older backup — replay them), ``atras`` / ``sin-diario`` (the
  journal ends before the database's head, or is missing), ``diverge`` (the journal's event at the
  database's head index is another one, or a line does not continue the chain).
* ``replay``: the ``adelante`` events written back into the database, each checked first (strict
  parse, group membership, chain hash, and for ballots the server's own signed receipt naming that
  ballot, index and head). Every worker starts it at start-up (``start_up``), in a thread: until it
  has caught up, ballots are refused (503), since the journal does not continue from the head.
* ``rebuild``: for ``atras`` / ``sin-diario`` / ``diverge``: a new journal written from the database,
  only when every head the observers noted is on the database's board; otherwise only with the
  operator's statement of the loss, which goes on the public board as an incident event. Either way
  the rebuild itself is an incident on the board.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from sivei import jsonstrict
from sivei.ballot.board import (
    EVENT_BALLOT,
    EVENT_CLOSE,
    EVENT_OPEN,
    GENESIS_PREVIOUS,
    OPERATOR_EVENTS,
    alpha_key,
    event_hash,
    payload_hash,
)
from sivei.ballot.encrypt import EncryptedBallot
from sivei.crypto.encoding import canonical_json
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei.record.receipts import Receipt
from sivei_server.config import ServerConfig
from sivei_server.db import serialized, session_scope
from sivei_server.election import (
    ElectionError,
    LoadedElection,
    audit,
    check_chain,
    election_row,
    event_row,
    loaded,
)
from sivei_server.journal import EventHeader, confirmation_line, event_line, journal_at
from sivei_server.models import (
    STATE_CLOSED,
    STATE_OPEN,
    STATE_PAUSED,
    BallotAlpha,
    BoardEventRow,
    CastBallot,
    ChainHead,
    utcnow,
)

LOG = logging.getLogger("sivei_server.tablero")
AL_DIA, ADELANTE, ATRAS, SIN_DIARIO, DIVERGE, SIN_TABLERO = "al-dia", "adelante", "atras", "sin-diario", "diverge", \
    "sin-tablero"
BATCH = 200


@dataclass(frozen=True)
class JournalStatus:
    state: str
    db_index: int          # the database's last event index (-1: no board)
    db_head: str
    journal_index: int     # the journal's last committed event index (-1: none)
    journal_head: str
    to_replay: tuple[EventHeader, ...] = field(default=(), repr=False)
    es: str = ""
    en: str = ""

    @property
    def message(self) -> str:
        return tr(self.es, self.en)

    def to_json(self) -> dict[str, object]:
        return {"state": self.state, "db_index": self.db_index, "db_head": self.db_head,
                "journal_index": self.journal_index, "journal_head": self.journal_head,
                "to_replay": len(self.to_replay), "message": self.es, "message_en": self.en}


def _db_head(s: Session, *, lock: bool) -> tuple[int, str, ChainHead | None]:
    query = select(ChainHead).where(ChainHead.id == 1)
    head = s.scalars(query.with_for_update() if lock else query).one_or_none()
    if head is None:
        return -1, GENESIS_PREVIOUS.hex(), None
    return head.next_index - 1, head.head, head


def _status(s: Session, config: ServerConfig, *, lock: bool = False) -> JournalStatus:
    index, head, _ = _db_head(s, lock=lock)
    journal = journal_at(config.journal_path)
    last = journal.last_event()
    if last is None:
        if index < 0:
            return JournalStatus(SIN_TABLERO, index, head, -1, "", es="sin tablero ni diario todavía",
                                 en="no board and no journal yet")
        return JournalStatus(SIN_DIARIO, index, head, -1, "",
                             es=f"el diario del tablero ({journal.path}) falta o está vacío, y la base de datos tiene "
                                f"{index + 1} eventos",
                             en=f"the board journal ({journal.path}) is missing or empty, and the database holds "
                                f"{index + 1} events")
    if last.index < index:
        return JournalStatus(ATRAS, index, head, last.index, last.head,
                             es=f"el diario termina en el evento {last.index} y la base de datos en el {index}: el "
                                "diario perdió su final (¿se restauró de un respaldo?)",
                             en=f"the journal ends at event {last.index} and the database at {index}: the journal "
                                "lost its end (was it restored from a backup?)")
    anchor, after, confirmed = journal.lines_back_to(index)
    if index < 0 and after and after[0].head != _genesis_named(s):
        return JournalStatus(DIVERGE, index, head, last.index, last.head,
                             es="el diario es el tablero de otra elección (su apertura no es la del acta de inicio "
                                "registrada): apártelo antes de abrir esta",
                             en="the journal is another election's board (its opening is not the registered "
                                "opening act's): set it aside before opening this one")
    if index >= 0 and (anchor is None or anchor.head != head):
        return JournalStatus(DIVERGE, index, head, last.index, last.head,
                             es=f"el evento {index} del diario no es el de la base de datos: son dos tableros "
                                "distintos",
                             en=f"the journal's event {index} is not the database's: they are two different boards")
    chain: list[EventHeader] = []
    cur_index, cur_head = index, head
    for line in after:
        if line.index == cur_index + 1 and line.previous == cur_head:
            chain.append(line)
        elif chain and line.index == chain[-1].index and line.previous == chain[-1].previous:
            chain[-1] = line  # an attempt that rolled back, superseded
        else:
            return JournalStatus(DIVERGE, index, head, last.index, last.head,
                                 es=f"la línea del evento {line.index} del diario no continúa la cadena",
                                 en=f"the journal's line for event {line.index} does not continue the chain")
        cur_index, cur_head = chain[-1].index, chain[-1].head
    if chain and (chain[-1].index, chain[-1].head) not in confirmed:
        chain.pop()  # never confirmed: its transaction did not commit, or its receipt was never handed out
    if not chain:
        return JournalStatus(AL_DIA, index, head, index, head, es="el diario y la base de datos coinciden",
                             en="the journal and the database agree")
    return JournalStatus(ADELANTE, index, head, chain[-1].index, chain[-1].head, tuple(chain),
                         es=f"la base de datos está {len(chain)} eventos detrás del diario (¿se restauró de un "
                            f"respaldo?): se reponen desde el diario",
                         en=f"the database is {len(chain)} events behind the journal (was it restored from a "
                            "backup?): they are replayed from the journal")


def _genesis_named(s: Session) -> str | None:
    """The genesis head the registered opening act names (None without one)."""
    from sivei_server.election import OPENING_ACT, get_artifact

    act = get_artifact(s, OPENING_ACT)
    if act is None:
        return None
    try:
        return str(jsonstrict.loads(act)["body"]["genesis_head"])
    except (ValueError, KeyError, TypeError):
        return None


def status(engine: Engine, config: ServerConfig) -> JournalStatus:
    with session_scope(engine) as s:
        return _status(s, config)


# -- replay --------------------------------------------------------------------------------------------

def _bad(index: int, es: str, en: str) -> ElectionError:
    return ElectionError(422, "diario-invalido", f"diario del tablero, evento {index}: {es}",
                         f"board journal, event {index}: {en}")


def _apply(s: Session, election: LoadedElection, head_row: ChainHead | None, header: EventHeader,
           raw: bytes) -> ChainHead:
    """Check one journal line and write its event into the database; returns the chain-head row."""
    ctx = election.ctx
    i = header.index
    try:
        obj = jsonstrict.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(i, "línea ilegible", "unreadable line") from exc
    base = {"index", "type", "previous", "head", "at"}
    body = {"ballot", "receipt"} if header.type == EVENT_BALLOT else {"payload"}
    if not isinstance(obj, dict) or set(obj) != base | body or (obj["index"], obj["type"], obj["previous"],
                                                                 obj["head"]) != (i, header.type, header.previous,
                                                                                  header.head):
        raise _bad(i, "campos no válidos", "invalid fields")
    try:
        at = datetime.fromisoformat(obj["at"])
    except (TypeError, ValueError) as exc:
        raise _bad(i, "instante no válido", "invalid instant") from exc
    if at.tzinfo is None:
        raise _bad(i, "instante sin zona", "instant without a time zone")
    previous = header.previous
    if head_row is None:
        if i != 0 or header.type != EVENT_OPEN:
            raise _bad(i, "la base de datos no tiene tablero", "the database has no board")
    elif head_row.next_index != i or head_row.head != previous:
        raise _bad(i, "no continúa la cabeza de la base de datos", "does not continue the database's head")
    try:
        if header.type == EVENT_BALLOT:
            ballot = EncryptedBallot.from_json(ctx.group, obj["ballot"], f"diario[{i}].ballot")
            p_hash = ballot.ballot_hash(ctx)
            receipt = Receipt.from_json(obj["receipt"], f"diario[{i}].receipt")
        else:
            payload = obj["payload"]
            if not isinstance(payload, dict):
                raise _bad(i, "carga no válida", "invalid payload")
            p_hash = payload_hash(payload)
    except SiveiError as exc:
        if isinstance(exc, ElectionError):
            raise
        raise _bad(i, str(exc), str(exc)) from exc
    if event_hash(ctx.election_hash, bytes.fromhex(previous), i, header.type, p_hash).hex() != header.head:
        raise _bad(i, "la cabeza no se recalcula", "the head does not recompute")
    if header.type == EVENT_BALLOT:
        receipt_key = bytes.fromhex(str(election.opening.body["receipt_key"]))
        if (receipt.election_hash != ctx.election_hash or receipt.ballot_hash != p_hash or receipt.index != i
                or receipt.head.hex() != header.head or not receipt.signature_valid(receipt_key)):
            raise _bad(i, "el recibo firmado no corresponde (o su firma no es la llave de recibos)",
                       "the signed receipt does not match (or its signature is not the receipt key's)")
        s.add(BoardEventRow(index=i, type=EVENT_BALLOT, head=header.head, at=at, payload_json=None))
        s.flush()
        s.execute(insert(CastBallot).values(
            chain_index=i, credential=ballot.credential.hex(), ballot_hash=p_hash.hex(),
            tracking_code=receipt.tracking_code, style=ballot.style,
            ballot_json=json.dumps(ballot.to_json(ctx.group), separators=(",", ":")), received_at=at,
            receipt_json=json.dumps(receipt.to_json(), ensure_ascii=False)))
        keys = [alpha_key(sel.ciphertext.alpha).to_bytes(32, "big") for c in ballot.contests for sel in c.selections]
        s.execute(insert(BallotAlpha), [{"alpha_key": k, "chain_index": i} for k in keys])
        assert head_row is not None
        head_row.cast_count += 1
        head_row.next_index, head_row.head, head_row.updated_at = i + 1, header.head, at
        return head_row
    row = election_row(s)
    if row is None:
        raise _bad(i, "la base de datos no tiene elección", "the database has no election")
    if header.type == EVENT_OPEN:
        if payload != {}:
            raise _bad(i, "apertura con carga", "opening with a payload")
        s.add(BoardEventRow(index=0, type=EVENT_OPEN, head=header.head, at=at,
                            payload_json=canonical_json({}).decode()))
        head_row = ChainHead(id=1, next_index=1, head=header.head, cast_count=0, closed=False)
        s.add(head_row)
        row.state, row.opened_at, row.updated_at = STATE_OPEN, at, utcnow()
        s.flush()
        return head_row
    assert head_row is not None
    if header.type not in (*OPERATOR_EVENTS, EVENT_CLOSE) or head_row.closed:
        raise _bad(i, f"evento {header.type} no permitido aquí", f"event {header.type} not allowed here")
    event_row(s, ctx, head_row, header.type, payload, at)
    if header.type == "pause":
        row.state = STATE_PAUSED
    elif header.type == "resume":
        row.state = STATE_OPEN
    elif header.type == EVENT_CLOSE:
        head_row.closed = True
        row.state, row.closed_at = STATE_CLOSED, at
    row.updated_at = utcnow()
    return head_row


def replay(engine: Engine, config: ServerConfig) -> int:
    """Write the journal's committed events beyond the database's head back into the database, in
    batches (each under the chain lock). Returns how many; raises ``ElectionError`` when the
    journal cannot be replayed (``atras``, ``sin-diario``, ``diverge``, or a line that fails a check)."""
    st = status(engine, config)
    if st.state in (AL_DIA, SIN_TABLERO):
        return 0
    if st.state != ADELANTE:
        raise ElectionError(409, "diario-" + st.state, st.es, st.en)
    journal = journal_at(config.journal_path)
    with session_scope(engine) as s:
        election = loaded(s, config)
    done = 0
    chain = list(st.to_replay)
    while True:
        with serialized(engine) as s:
            index, head, head_row = _db_head(s, lock=True)
            start = next((k for k, h in enumerate(chain) if h.index == index + 1 and h.previous == head), None)
            if start is None:
                if index >= chain[-1].index:
                    break  # another process replayed them
                raise ElectionError(409, "diario-diverge", "la base de datos cambió durante la reposición",
                                    "the database changed during the replay")
            batch = chain[start:start + BATCH]
            for header in batch:
                head_row = _apply(s, election, head_row, header, journal.read(header))
            audit(s, None, "election.journal-replay", f"{batch[0].index}-{batch[-1].index} {batch[-1].head}")
        done += len(batch)
        if start + len(batch) >= len(chain):
            break
    LOG.warning("tablero repuesto desde el diario: %d eventos (hasta el %d, cabeza %s)", done, chain[-1].index,
                chain[-1].head)
    return done


def start_up(engine: Engine, config: ServerConfig) -> JournalStatus | None:
    """At start-up (each worker): compare; replay in a thread when the journal is ahead; say loudly
    when the board cannot be vouched for (every ballot is then refused by the journal check)."""
    try:
        st = status(engine, config)
    except (SQLAlchemyError, OSError, SiveiError) as exc:
        LOG.debug("diario del tablero no comprobado al iniciar: %s", exc)
        return None
    if st.state == ADELANTE:
        LOG.critical("BASE DE DATOS RESTAURADA: %s (eventos %d a %d).", st.es, st.db_index + 1, st.journal_index)

        def run() -> None:
            try:
                replay(engine, config)
            except Exception:
                LOG.exception("TABLERO DETENIDO: la reposición desde el diario falló")

        threading.Thread(target=run, name="sivei-reposicion", daemon=True).start()
    elif st.state not in (AL_DIA, SIN_TABLERO):
        LOG.critical("TABLERO DETENIDO: %s. Ninguna boleta se acepta hasta resolverlo: «sivei servidor diario "
                     "comprobar» y, con las cabezas que anotaron los observadores, «sivei servidor diario "
                     "reconstruir».", st.es)
    return st


# -- noted heads and rebuilding -------------------------------------------------------------------------

def missing_heads(s: Session, noted: Sequence[str]) -> list[str]:
    """The noted heads (hex) that are not on the database's board."""
    heads = [h.strip().lower() for h in noted]
    found = set(s.scalars(select(BoardEventRow.head).where(BoardEventRow.head.in_(heads)))) if heads else set()
    return [h for h in heads if h not in found]


def check(engine: Engine, config: ServerConfig, noted: Sequence[str] = ()) -> tuple[JournalStatus, list[str]]:
    """The status and the noted heads found neither on the database's board nor among the journal's
    events still to be replayed."""
    with session_scope(engine) as s:
        st = _status(s, config)
        missing = missing_heads(s, noted)
    ahead = {h.head for h in st.to_replay}
    return st, [h for h in missing if h not in ahead]


def _db_lines(s: Session, last: int) -> Iterator[bytes]:
    """The database's board up to event ``last`` as journal lines, in order (streamed in batches)."""
    previous, start = GENESIS_PREVIOUS.hex(), 0
    while True:
        rows = s.execute(select(BoardEventRow, CastBallot.ballot_json, CastBallot.receipt_json)
                         .outerjoin(CastBallot, CastBallot.chain_index == BoardEventRow.index)
                         .where(BoardEventRow.index >= start, BoardEventRow.index <= last)
                         .order_by(BoardEventRow.index).limit(500)).all()
        if not rows:
            return
        for row, ballot_json, receipt_json in rows:
            if row.type == EVENT_BALLOT:
                yield event_line(row.index, row.type, previous, row.head, row.at, ballot_json=ballot_json,
                                 receipt_json=receipt_json)
            else:
                yield event_line(row.index, row.type, previous, row.head, row.at,
                                 payload=json.loads(row.payload_json or "{}"))
            previous = row.head
        start = rows[-1][0].index + 1


@dataclass(frozen=True)
class Rebuilt:
    events: int
    missing: list[str]
    incident_index: int
    head: str
    set_aside: str | None


def rebuild(engine: Engine, config: ServerConfig, noted: Sequence[str], loss_statement: str | None = None,
            operator_id: int | None = None) -> Rebuilt:
    """Write the journal again from the database (the old one, if any, set aside), with an incident
    event on the board saying so. Refused unless the journal is behind, missing or diverging, and
    unless every noted head is on the database's board — or the operator states the loss
    (``loss_statement``), which the incident then publishes with the missing heads."""
    heads = [h.strip().lower() for h in noted if h.strip()]
    if not heads:
        raise ElectionError(400, "cabezas", "Indique las últimas cabezas que anotaron los observadores "
                            "(--cabeza-observada, al menos una).",
                            "Give the latest heads the observers noted (--cabeza-observada, at least one).")
    journal = journal_at(config.journal_path)
    with session_scope(engine) as s:
        election = loaded(s, config)
    check_chain(engine, election)  # the database's own board must recompute before it is copied
    with serialized(engine) as s:
        st = _status(s, config, lock=True)
        if st.state in (AL_DIA, ADELANTE, SIN_TABLERO):
            raise ElectionError(409, "diario-" + st.state, f"No hay nada que reconstruir: {st.es}.",
                                f"Nothing to rebuild: {st.en}.")
        missing = missing_heads(s, heads)
        if missing and not (loss_statement and loss_statement.strip()):
            raise ElectionError(409, "perdida", "Cabezas anotadas por observadores que NO están en el tablero de la "
                                "base de datos: " + ", ".join(missing) + ". Se perdieron boletas aceptadas; el "
                                "tablero sigue detenido. Sólo con una declaración de la pérdida (--aceptar-perdida) "
                                "se reanuda, y la pérdida queda en el tablero público.",
                                "Heads noted by observers that are NOT on the database's board: " + ", ".join(missing)
                                + ". Accepted ballots were lost; the board stays stopped. Only with a statement of "
                                "the loss (--aceptar-perdida) does it resume, and the loss goes on the public board.",
                                missing=missing)
        head_row = s.scalars(select(ChainHead).where(ChainHead.id == 1).with_for_update()).one()
        if head_row.closed:
            raise ElectionError(409, "cerrada", "El tablero está cerrado.", "The board is closed.")
        description = (f"Diario del tablero reconstruido desde la base de datos ({st.state}); "
                       f"{len(heads) - len(missing)} de {len(heads)} cabezas anotadas por observadores están en el "
                       "tablero.")
        if missing:
            description += (" PÉRDIDA: no están " + ", ".join(h[:16] for h in missing) + ". "
                            + (loss_statement or "").strip())
        description = description[:500]
        previous, last, now = head_row.head, head_row.next_index - 1, utcnow()
        incident = event_row(s, election.ctx, head_row, "incident", {"description": description}, now)

        def lines() -> Iterator[bytes]:
            yield from _db_lines(s, last)
            yield event_line(incident.index, "incident", previous, incident.head, now,
                             payload={"description": description})
            yield confirmation_line(incident.index, incident.head)

        aside = None
        if journal.path.exists():
            aside = journal.path.with_name(f"{journal.path.name}.apartado-{now.strftime('%Y%m%dT%H%M%S')}")
        audit(s, operator_id, "election.journal-rebuild", f"{st.state} missing={len(missing)} {incident.head}")
        journal.replace(lines(), aside)
        LOG.critical("diario del tablero reconstruido desde la base de datos; cabezas anotadas ausentes: %s",
                     missing or "ninguna")
        return Rebuilt(incident.index + 1, missing, incident.index, incident.head, str(aside) if aside else None)
