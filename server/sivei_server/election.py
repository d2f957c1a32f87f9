"""The election's lifecycle on the server: load, verify, open, pause, close, export, import, publish.

Every cryptographic step is the library's: the manifest parser, the credential list's verification,
the key ceremony transcript's verification (``sivei.drill.context_from_ceremony``), the opening act
(``sivei.record.acts``), the board's hash chain (``sivei.ballot.board``), the closed record
(``sivei.record.writer``) and the verifier (``sivei.record.verify``). This module keeps state in the
database and files in the data directory, and refuses every step taken out of order.

Artifacts (table ``artifacts``): ``manifest.json``, ``credential-list.json``, ``credentials.jsonl``,
``ceremony.json``, ``opening-act.json``, ``integrity.json``. The voters' sealed credential tokens,
imported with the list, are rows of ``sealed_tokens``. Records (large) live in the data
directory: ``registro-cerrado/`` (exported for the decryption ceremony), ``registro-importado/`` (the
completed record the operator brings back) and ``registro-publicado/`` (after ``publish``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, overload

from sqlalchemy import Engine, delete, exists, func, insert, select
from sqlalchemy.orm import Session

from sivei import jsonstrict
from sivei.ballot.board import (
    EVENT_BALLOT,
    EVENT_CLOSE,
    EVENT_OPEN,
    GENESIS_PREVIOUS,
    BoardEvent,
    event_hash,
    genesis_head,
    payload_hash,
)
from sivei.ballot.context import ElectionContext
from sivei.ballot.credential_tokens import SealedTokens
from sivei.ballot.credentials import CredentialList
from sivei.ballot.encrypt import EncryptedBallot
from sivei.ballot.manifest import Manifest, parse_manifest_bytes
from sivei.crypto.encoding import canonical_json
from sivei.crypto.envelope import Envelope
from sivei.crypto.fingerprint import fingerprint
from sivei.crypto.group import GROUPS, TEST_GROUP, Group
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei.integrity import IntegrityConstancia, installation_constancia
from sivei.record import layout
from sivei.record.acts import OPENING, SignedAct, guardian_keys_by_name, opening_act
from sivei.record.board_file import board_heads
from sivei.record.ceremony_io import parse_ceremony
from sivei.record.report import VerificationReport
from sivei.record.verify import VerifyOptions, verify_record
from sivei.record.writer import add_files, write_closed_record
from sivei.tally.aggregate import aggregate
from sivei_server.config import ServerConfig
from sivei_server.db import serialized, session_scope
from sivei_server.journal import JournalMismatchError, event_line, journal_at
from sivei_server.models import (
    STATE_CLOSED,
    STATE_NEW,
    STATE_OPEN,
    STATE_PAUSED,
    STATE_PUBLISHED,
    Artifact,
    AuditLog,
    BoardEventRow,
    CastBallot,
    ChainHead,
    Election,
    LateBallot,
    SealedToken,
    Voter,
    utcnow,
)
from sivei_server.receipt_key import receipt_signer

MANIFEST = "manifest.json"
CREDENTIAL_LIST = "credential-list.json"
CREDENTIALS = "credentials.jsonl"
CEREMONY = "ceremony.json"
OPENING_ACT = "opening-act.json"
INTEGRITY = "integrity.json"

CLOSED_DIR = "registro-cerrado"
IMPORTED_DIR = "registro-importado"
PUBLISHED_DIR = "registro-publicado"
PUBLISHED_ARCHIVE = "registro-publicado.tar.gz"
LOG = logging.getLogger("sivei_server.tablero")


class ElectionError(SiveiError):
    """A refused lifecycle step or ballot: an HTTP status, a stable code and a bilingual message."""

    def __init__(self, status: int, code: str, es: str, en: str, **extra: Any) -> None:
        super().__init__(tr(es, en))
        self.status = status
        self.code = code
        self.es = es
        self.en = en
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.es, "message_en": self.en, **self.extra}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def utc_text(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- artifacts --------------------------------------------------------------------------------------

def get_artifact(s: Session, name: str) -> bytes | None:
    row = s.get(Artifact, name)
    return row.content if row is not None else None


def put_artifact(s: Session, name: str, content: bytes, operator_id: int | None) -> None:
    row = s.get(Artifact, name)
    if row is None:
        s.add(Artifact(name=name, content=content, sha256=_sha256(content), operator_id=operator_id))
    else:
        row.content, row.sha256, row.operator_id, row.stored_at = content, _sha256(content), operator_id, utcnow()


def audit(s: Session, operator_id: int | None, action: str, detail: str | None = None,
          address: str | None = None) -> None:
    s.add(AuditLog(operator_id=operator_id, action=action, detail=detail, address=address))


def election_row(s: Session) -> Election | None:
    return s.get(Election, 1)


def _require_state(s: Session, *states: str) -> Election:
    row = election_row(s)
    if row is None:
        raise ElectionError(409, "sin-manifiesto", "Primero cargue el manifiesto de la elección.",
                            "Load the election manifest first.")
    if row.state not in states:
        raise ElectionError(409, "estado", f"La elección está en estado «{row.state}»; este paso no procede.",
                            f"The election is in state «{row.state}»; this step does not apply.")
    return row


# -- the election as loaded in this process -----------------------------------------------------------

@dataclass(frozen=True)
class LoadedElection:
    """Everything voting needs, rebuilt from the stored artifacts (verified) once per process."""

    key: str
    manifest: Manifest
    ctx: ElectionContext
    credential_list: CredentialList
    opening: SignedAct
    ceremony_id: str
    n: int
    t: int
    rounds: tuple[tuple[Envelope, ...], ...]
    constancia: IntegrityConstancia

    @property
    def election_hash_hex(self) -> str:
        return self.ctx.election_hash.hex()


_cache_lock = threading.Lock()
_cache: dict[str, LoadedElection] = {}
_size_cache: dict[tuple[str, str], int] = {}


def _read_credential_list(manifest: Manifest, list_bytes: bytes, entries_bytes: bytes) -> CredentialList:
    with tempfile.TemporaryDirectory(prefix="sivei-credenciales-") as tmp:
        Path(tmp, "credential-list.json").write_bytes(list_bytes)
        Path(tmp, "credentials.jsonl").write_bytes(entries_bytes)
        return CredentialList.read(tmp, manifest)


def _group_of(act: SignedAct, config: ServerConfig) -> Group:
    wanted = act.body.get("parameters_fingerprint")
    for group in GROUPS.values():
        if group.fingerprint.hex() == wanted:
            if group is TEST_GROUP and not config.allow_test_group:
                raise ElectionError(422, "grupo-de-prueba",
                                    "El acta usa el grupo de prueba, que este servidor no acepta.",
                                    "The act uses the test group, which this server does not accept.")
            return group
    raise ElectionError(422, "grupo", "El acta nombra parámetros de grupo desconocidos.",
                        "The act names unknown group parameters.")


def verify_opening(config: ServerConfig, manifest: Manifest, credential_list: CredentialList,
                   ceremony_bytes: bytes, act_bytes: bytes, constancia: IntegrityConstancia
                   ) -> LoadedElection:
    """Check that the opening act is signed by all n key-holders and matches, field by field, what
    the server recomputes from the manifest, the credential list, the ceremony transcript (verified),
    the server's own receipt key and the integrity constancia. Raise ``ElectionError`` naming every
    difference."""
    from sivei.drill import context_from_ceremony

    try:
        act = SignedAct.from_json(jsonstrict.loads(act_bytes), "acta de inicio")
    except (ValueError, SiveiError) as exc:
        raise ElectionError(400, "acta-ilegible", f"Acta de inicio ilegible: {exc}",
                            f"Unreadable opening act: {exc}") from exc
    if act.type != OPENING:
        raise ElectionError(422, "acta-tipo", "El archivo no es un acta de inicio.", "The file is not an opening act.")
    group = _group_of(act, config)
    try:
        ceremony_id, n, t, rounds = parse_ceremony(jsonstrict.loads(ceremony_bytes))
        ctx, outcome = context_from_ceremony(group, manifest, ceremony_id, n, t, rounds, credential_list)
    except (ValueError, SiveiError) as exc:
        raise ElectionError(422, "ceremonia", f"La transcripción de la ceremonia no se verifica: {exc}",
                            f"The ceremony transcript does not verify: {exc}") from exc
    signer = receipt_signer(config)
    expected = opening_act(ctx, credential_list=credential_list, ceremony_id=ceremony_id, n=n, t=t, rounds=rounds,
                           signing_keys=outcome.signing_keys, receipt_key=signer.public_key,
                           integrity_digest=constancia.digest)
    differing = sorted(k for k in set(expected.body) | set(act.body) if expected.body.get(k) != act.body.get(k))
    if differing:
        raise ElectionError(422, "acta-no-corresponde",
                            "El acta de inicio no corresponde a lo que el servidor tiene: " + ", ".join(differing),
                            "The opening act does not match what the server holds: " + ", ".join(differing),
                            fields=differing)
    problems = act.signature_problems(guardian_keys_by_name(outcome.signing_keys), required=n, what="acta de inicio")
    if problems:
        raise ElectionError(422, "acta-firmas", "Firmas del acta de inicio: " + "; ".join(problems),
                            "Opening act signatures: " + "; ".join(problems))
    key = _sha256(act_bytes)
    return LoadedElection(key, manifest, ctx, credential_list, act, ceremony_id, n, t, rounds, constancia)


def loaded(s: Session, config: ServerConfig) -> LoadedElection:
    """The verified election of this server (cached per process, keyed by the opening act)."""
    act_bytes = get_artifact(s, OPENING_ACT)
    if act_bytes is None:
        raise ElectionError(409, "sin-acta", "No hay acta de inicio registrada.", "No opening act is registered.")
    key = _sha256(act_bytes)
    with _cache_lock:
        found = _cache.get(key)
    if found is not None:
        return found
    manifest_bytes, list_bytes, entries_bytes, ceremony_bytes, integrity_bytes = (
        get_artifact(s, n) for n in (MANIFEST, CREDENTIAL_LIST, CREDENTIALS, CEREMONY, INTEGRITY))
    if None in (manifest_bytes, list_bytes, entries_bytes, ceremony_bytes, integrity_bytes):
        raise ElectionError(409, "incompleta", "Faltan archivos de la elección.", "Election files are missing.")
    assert manifest_bytes and list_bytes and entries_bytes and ceremony_bytes and integrity_bytes
    manifest = parse_manifest_bytes(manifest_bytes, MANIFEST)
    credential_list = _read_credential_list(manifest, list_bytes, entries_bytes)
    constancia = IntegrityConstancia.loads(integrity_bytes)
    election = verify_opening(config, manifest, credential_list, ceremony_bytes, act_bytes, constancia)
    with _cache_lock:
        _cache[key] = election
    return election


def stored_manifest(s: Session) -> Manifest | None:
    data = get_artifact(s, MANIFEST)
    return parse_manifest_bytes(data, MANIFEST) if data is not None else None


# -- lifecycle steps -------------------------------------------------------------------------------

def load_manifest(s: Session, data: bytes, operator_id: int | None) -> Manifest:
    row = election_row(s)
    if row is not None and row.state != STATE_NEW:
        raise ElectionError(409, "estado", "La elección ya se abrió: el manifiesto no se puede cambiar.",
                            "The election is already open: the manifest cannot change.")
    try:
        manifest = parse_manifest_bytes(data, MANIFEST)
    except SiveiError as exc:
        raise ElectionError(422, "manifiesto", f"Manifiesto no válido: {exc}", f"Invalid manifest: {exc}") from exc
    if row is None:
        row = Election(id=1, election_id=manifest.election_id, state=STATE_NEW, manifest_hash=manifest.hash.hex(),
                       voting_opens=manifest.voting_opens, voting_closes=manifest.voting_closes)
        s.add(row)
    else:
        row.election_id, row.manifest_hash = manifest.election_id, manifest.hash.hex()
        row.voting_opens, row.voting_closes, row.updated_at = manifest.voting_opens, manifest.voting_closes, utcnow()
    # A new manifest invalidates everything registered against the old one.
    from sivei_server.consulates import DECLARATION

    for name in (CREDENTIAL_LIST, CREDENTIALS, CEREMONY, OPENING_ACT, INTEGRITY, DECLARATION):
        old = s.get(Artifact, name)
        if old is not None:
            s.delete(old)
    s.execute(delete(SealedToken))
    put_artifact(s, MANIFEST, data, operator_id)
    audit(s, operator_id, "election.manifest", manifest.hash.hex())
    return manifest


def import_credentials(s: Session, list_bytes: bytes, entries_bytes: bytes, sealed_bytes: bytes,
                       operator_id: int | None, declaration_bytes: bytes | None = None) -> CredentialList:
    """The authority's signed list and, with it, every voter's sealed credential token (one per
    credential, signed with the list's key, for this election); with in-person voting, the authority's
    declaration of the consulates' credentials (``consulados.json``: its pools have no token)."""
    from sivei_server import consulates

    _require_state(s, STATE_NEW)
    manifest = stored_manifest(s)
    assert manifest is not None
    try:
        credential_list = _read_credential_list(manifest, list_bytes, entries_bytes)
    except SiveiError as exc:
        raise ElectionError(422, "credenciales", f"La lista de credenciales no se verifica: {exc}",
                            f"The credential list does not verify: {exc}") from exc
    declaration = (consulates.check_declaration(manifest, credential_list, declaration_bytes)
                   if manifest.in_person is not None else None)
    try:
        sealed = SealedTokens.parse(sealed_bytes)
        problems = sealed.problems_with(credential_list, manifest.election_id,
                                        pooled=declaration.pooled if declaration is not None else 0)
    except SiveiError as exc:
        problems = [str(exc)]
    if problems:
        raise ElectionError(422, "fichas", f"Las fichas selladas no sirven con esta lista: {problems[0]}",
                            f"The sealed tokens do not fit this list: {problems[0]}")
    s.execute(delete(SealedToken))
    s.execute(insert(SealedToken), [{"voter_id": v, "sealed": b} for v, b in sealed.sealed.items()])
    for name in (CEREMONY, OPENING_ACT, INTEGRITY):
        old = s.get(Artifact, name)
        if old is not None:
            s.delete(old)
    put_artifact(s, CREDENTIAL_LIST, list_bytes, operator_id)
    put_artifact(s, CREDENTIALS, entries_bytes, operator_id)
    old = s.get(Artifact, consulates.DECLARATION)
    if old is not None:
        s.delete(old)
    if declaration is not None and declaration_bytes is not None:
        put_artifact(s, consulates.DECLARATION, declaration_bytes, operator_id)
    audit(s, operator_id, "election.credentials", credential_list.hash.hex())
    return credential_list


def register_opening(s: Session, config: ServerConfig, ceremony_bytes: bytes, act_bytes: bytes,
                     constancia_bytes: bytes | None, operator_id: int | None) -> LoadedElection:
    _require_state(s, STATE_NEW)
    manifest = stored_manifest(s)
    list_bytes, entries_bytes = get_artifact(s, CREDENTIAL_LIST), get_artifact(s, CREDENTIALS)
    if manifest is None or list_bytes is None or entries_bytes is None:
        raise ElectionError(409, "sin-credenciales", "Primero importe la lista de credenciales firmada.",
                            "Import the signed credential list first.")
    credential_list = _read_credential_list(manifest, list_bytes, entries_bytes)
    if constancia_bytes is not None:
        try:
            constancia = IntegrityConstancia.loads(constancia_bytes)
        except SiveiError as exc:
            raise ElectionError(400, "constancia", f"Constancia de integridad ilegible: {exc}",
                                f"Unreadable integrity constancia: {exc}") from exc
    else:
        constancia = installation_constancia()
    election = verify_opening(config, manifest, credential_list, ceremony_bytes, act_bytes, constancia)
    put_artifact(s, CEREMONY, ceremony_bytes, operator_id)
    put_artifact(s, OPENING_ACT, act_bytes, operator_id)
    put_artifact(s, INTEGRITY, constancia.dumps().encode(), operator_id)
    audit(s, operator_id, "election.opening-act", fingerprint(election.opening.content_hash))
    with _cache_lock:
        _cache[election.key] = election
    return election


def roll_mismatch(s: Session, election: LoadedElection) -> dict[str, tuple[int, int]]:
    """Per ballot style: (voters on the roll, credentials on the list) where they differ. Empty when
    no roll is loaded (voters are imported by the roll module)."""
    rows = s.execute(select(Voter.entity, func.count()).group_by(Voter.entity)).all()
    if not rows:
        return {}
    by_style: dict[str, int] = {}
    manifest = election.manifest
    for entity, count in rows:
        try:
            style = manifest.style_for_entity(entity).id
        except SiveiError:
            style = f"?{entity}"
        by_style[style] = by_style.get(style, 0) + int(count)
    from sivei_server.roll import pooled_counts

    counts = election.credential_list.counts
    for style, n in pooled_counts(manifest).items():
        counts[style] = counts.get(style, 0) - n
    return {k: (by_style.get(k, 0), counts.get(k, 0)) for k in set(by_style) | set(counts)
            if by_style.get(k, 0) != counts.get(k, 0)}


def open_election(engine: Engine, config: ServerConfig, operator_id: int | None) -> BoardEvent:
    """Append the board's opening event (e_0, the genesis head named by the opening act)."""
    with session_scope(engine) as s:
        row = _require_state(s, STATE_NEW)
        election = loaded(s, config)  # re-verified in this process when not cached
        mismatch = roll_mismatch(s, election)
        if mismatch:
            detail = ", ".join(f"{k}: {a} votantes / {b} credenciales" for k, (a, b) in sorted(mismatch.items()))
            raise ElectionError(409, "padron", f"El padrón no corresponde a la lista de credenciales ({detail}).",
                                f"The roll does not match the credential list ({detail}).")
        unsealed = s.scalar(select(func.count()).select_from(Voter).where(
            ~exists().where(SealedToken.voter_id == Voter.voter_id))) or 0
        if unsealed:
            raise ElectionError(409, "fichas", f"{unsealed} votantes del padrón no tienen ficha de credencial "
                                "sellada: importe la lista con las fichas de la autoridad de credenciales.",
                                f"{unsealed} voters on the roll have no sealed credential token: import the "
                                "list with the credential authority's tokens.")
        if utcnow() >= row.voting_closes:
            raise ElectionError(409, "ventana", "La ventana de votación ya terminó.", "The voting window is over.")
        head = genesis_head(election.ctx.election_hash)
        if head.hex() != election.opening.body["genesis_head"]:
            raise ElectionError(500, "genesis", "La cabeza inicial no corresponde al acta.",
                                "The genesis head does not match the act.")
        at = utcnow()
        s.add(BoardEventRow(index=0, type=EVENT_OPEN, payload_json=canonical_json({}).decode(), head=head.hex(), at=at))
        s.add(ChainHead(id=1, next_index=1, head=head.hex(), cast_count=0, closed=False))
        row.state, row.opened_at, row.updated_at = STATE_OPEN, at, at
        audit(s, operator_id, "election.open", head.hex())
        s.flush()
        journal_event(config, 0, EVENT_OPEN, GENESIS_PREVIOUS.hex(), head.hex(), at, payload={})
    journal_confirm(config, 0, head.hex())
    return BoardEvent(0, EVENT_OPEN, head, payload={})


def sealed_token_of(s: Session, voter_id: str) -> bytes | None:
    """The voter's sealed credential token (only their private credential opens it), or None."""
    return s.scalar(select(SealedToken.sealed).where(SealedToken.voter_id == voter_id))


def lock_head(s: Session) -> ChainHead:
    """The chain-head row, locked until the end of the transaction (PostgreSQL ``FOR UPDATE``;
    SQLite is already locked by ``BEGIN IMMEDIATE``)."""
    head = s.scalars(select(ChainHead).where(ChainHead.id == 1).with_for_update()).one_or_none()
    if head is None:
        raise ElectionError(409, "no-abierta", "La votación no está abierta.", "Voting is not open.")
    return head


def append_event(s: Session, config: ServerConfig, ctx: ElectionContext, head: ChainHead, type_: str,
                 payload: Mapping[str, Any], at: datetime) -> BoardEventRow:
    """An operator or close event, in the database and (last, just before the caller commits) in
    the board journal; the caller confirms it in the journal after the commit."""
    previous = head.head
    row = event_row(s, ctx, head, type_, payload, at)
    journal_event(config, row.index, type_, previous, row.head, at, payload=dict(payload))
    return row


def event_row(s: Session, ctx: ElectionContext, head: ChainHead, type_: str, payload: Mapping[str, Any],
              at: datetime) -> BoardEventRow:
    """An event with a payload appended to the database's board (flushed), the head advanced."""
    index = head.next_index
    new_head = event_hash(ctx.election_hash, bytes.fromhex(head.head), index, type_, payload_hash(payload))
    row = BoardEventRow(index=index, type=type_, head=new_head.hex(), at=at,
                        payload_json=canonical_json(dict(payload)).decode())
    s.add(row)
    head.next_index, head.head, head.updated_at = index + 1, new_head.hex(), at
    s.flush()
    return row


JOURNAL_REFUSAL = ("La votación está detenida: el tablero del servidor no coincide con su diario (¿se restauró la base "
                   "de datos de un respaldo?). Intente más tarde.",
                   "Voting is stopped: the server's board does not match its journal (was the database restored from "
                   "a backup?). Try again later.")


def journal_event(config: ServerConfig, index: int, type_: str, previous: str, head: str, at: datetime, *,
                  payload: dict[str, Any] | None = None, ballot_json: str | None = None,
                  receipt_json: str | None = None) -> None:
    """Write an event to the board journal (``sivei_server.journal``) under the chain lock, before
    its transaction commits. A journal that does not continue from the database's head stops the
    board (503) and says so loudly: the database may have been restored from an older backup."""
    try:
        journal_at(config.journal_path).append_event(
            index, previous, event_line(index, type_, previous, head, at, payload=payload, ballot_json=ballot_json,
                                        receipt_json=receipt_json))
    except JournalMismatchError as exc:
        LOG.critical("TABLERO DETENIDO: %s. Ejecute «sivei servidor diario comprobar».", exc.es)
        raise ElectionError(503, "tablero-diario", *JOURNAL_REFUSAL) from exc
    except OSError as exc:
        LOG.critical("TABLERO DETENIDO: no se puede escribir el diario del tablero %s: %s", config.journal_path, exc)
        raise ElectionError(503, "tablero-diario", *JOURNAL_REFUSAL) from exc


def journal_confirm(config: ServerConfig, index: int, head: str) -> None:
    """After the commit, before any receipt is handed out: the event is confirmed in the journal."""
    try:
        journal_at(config.journal_path).confirm(index, head)
    except OSError as exc:
        LOG.critical("no se puede confirmar el evento %d en el diario del tablero %s: %s", index,
                     config.journal_path, exc)
        raise ElectionError(503, "tablero-diario", *JOURNAL_REFUSAL) from exc


def operator_event(engine: Engine, config: ServerConfig, type_: str, description: str,
                   operator_id: int | None) -> BoardEventRow:
    """Pause, resume or incident: an operator event on the board (never a voter's identity)."""
    if type_ not in ("pause", "resume", "incident"):
        raise ElectionError(400, "evento", "Tipo de evento no válido.", "Invalid event type.")
    description = description.strip()
    if not description or len(description) > 500:
        raise ElectionError(400, "descripcion", "Describa el evento (hasta 500 caracteres).",
                            "Describe the event (up to 500 characters).")
    with session_scope(engine) as s:
        election = loaded(s, config)
    with serialized(engine) as s:
        head = lock_head(s)
        row = _require_state(s, STATE_OPEN, STATE_PAUSED)
        if head.closed:
            raise ElectionError(409, "cerrada", "El tablero está cerrado.", "The board is closed.")
        if type_ == "pause" and row.state != STATE_OPEN:
            raise ElectionError(409, "estado", "La votación no está abierta.", "Voting is not open.")
        if type_ == "resume" and row.state != STATE_PAUSED:
            raise ElectionError(409, "estado", "La votación no está en pausa.", "Voting is not paused.")
        if type_ == "pause":
            row.state = STATE_PAUSED
        elif type_ == "resume":
            row.state = STATE_OPEN
        row.updated_at = utcnow()
        audit(s, operator_id, f"election.{type_}", description)
        event = append_event(s, config, election.ctx, head, type_, {"description": description}, utcnow())
    journal_confirm(config, event.index, event.head)
    return event


def sealing_instant(election: LoadedElection, config: ServerConfig) -> datetime:
    """When the board is sealed: the last instant a ballot may arrive (the close, plus
    ``logged_in_finish_minutes`` for sessions begun before it) plus the grace for ballots that
    arrived in time and still wait in the queue (docs/protocol.md §14.4)."""
    finish = timedelta(minutes=election.manifest.logged_in_finish_minutes)
    return election.manifest.voting_closes + finish + timedelta(seconds=config.close_grace_seconds)


def close_board(engine: Engine, config: ServerConfig, operator_id: int | None, *, wait: bool = True
                ) -> BoardEventRow:
    """Seal the board with its close event. Refused before the close instant; between the close and
    the sealing instant (sessions finishing, then the grace) the answer is "closing" (409), or with
    ``wait`` a bounded wait (at most the grace, 120 s) when only the grace remains. Then the close
    event is appended under the chain lock with the ballots and late ballots counted so far.
    Idempotent: an already closed board returns its event."""
    with session_scope(engine) as s:
        row = election_row(s)
        if row is None or row.state == STATE_NEW:
            raise ElectionError(409, "no-abierta", "La votación no se abrió.", "Voting was never opened.")
        closes = row.voting_closes
        election = loaded(s, config)
        already = s.get(ChainHead, 1)
        sealed = already is not None and already.closed
    now = utcnow()
    if now < closes:
        raise ElectionError(409, "antes-del-cierre",
                            f"El cierre se permite a partir de {utc_text(closes)} (UTC).",
                            f"Closing is allowed from {utc_text(closes)} (UTC).")
    settle = sealing_instant(election, config)
    if now < settle and not sealed:
        remaining = (settle - now).total_seconds()
        if not wait or remaining > config.close_grace_seconds:
            raise ElectionError(409, "cerrando",
                                f"El cierre está en curso: el tablero se sella a las {utc_text(settle)} (UTC).",
                                f"The close is in progress: the board is sealed at {utc_text(settle)} (UTC).")
        time.sleep(remaining)
    with serialized(engine) as s:
        head = lock_head(s)
        row2 = election_row(s)
        assert row2 is not None
        if head.closed:
            return s.scalars(select(BoardEventRow).where(BoardEventRow.type == EVENT_CLOSE)).one()
        late = s.scalar(select(func.count()).select_from(LateBallot)) or 0
        cast = head.cast_count
        head.closed = True
        row2.state, row2.closed_at, row2.updated_at = STATE_CLOSED, utcnow(), utcnow()
        event = append_event(s, config, election.ctx, head, EVENT_CLOSE, {"cast": cast, "late": int(late)}, utcnow())
        audit(s, operator_id, "election.close", f"{event.head} cast={cast} late={late}")
    journal_confirm(config, event.index, event.head)
    return event


def maybe_close(engine: Engine, config: ServerConfig) -> bool:
    """Close the board if its sealing instant has come; True when it is closed."""
    with session_scope(engine) as s:
        row = election_row(s)
        if row is None or row.state in (STATE_NEW,):
            return False
        if row.state in (STATE_CLOSED, STATE_PUBLISHED):
            return True
        if utcnow() < row.voting_closes:
            return False
        election = loaded(s, config)
    if utcnow() < sealing_instant(election, config):
        return False
    close_board(engine, config, None, wait=False)
    return True


class Closer:
    """A daemon thread per process that appends the close event at the sealing instant, whoever
    else may be serving requests; the chain lock makes it happen once."""

    def __init__(self, engine: Engine, config: ServerConfig, interval: float = 1.0) -> None:
        self.engine, self.config, self.interval = engine, config, interval
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sivei-cierre", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()

    def _run(self) -> None:
        import logging

        log = logging.getLogger("sivei_server.cierre")
        while not self.stop_event.wait(self.interval):
            try:
                # Keeps watching after a close: a practice election or a drill archived, the next
                # election is closed the same way (sivei_server.practice).
                maybe_close(self.engine, self.config)
            except ElectionError as exc:
                log.debug("cierre: %s", exc)
            except Exception:
                log.exception("cierre automático")


# -- the board as the library sees it ------------------------------------------------------------------

class StoredBoard(Sequence[BoardEvent]):
    """The board's events as library objects, read from the database in batches on each iteration
    (memory stays bounded whatever the number of ballots; every ballot is parsed strictly)."""

    BATCH = 200

    def __init__(self, engine: Engine, election: LoadedElection) -> None:
        self.engine, self.election = engine, election
        with session_scope(engine) as s:
            self._len = int(s.scalar(select(func.count()).select_from(BoardEventRow)) or 0)

    def __len__(self) -> int:
        return self._len

    def _event(self, row: BoardEventRow, ballot_json: str | None) -> BoardEvent:
        if row.type == EVENT_BALLOT:
            assert ballot_json is not None
            ballot = EncryptedBallot.from_json(self.election.ctx.group, json.loads(ballot_json))
            return BoardEvent(row.index, row.type, bytes.fromhex(row.head), ballot=ballot)
        return BoardEvent(row.index, row.type, bytes.fromhex(row.head), payload=json.loads(row.payload_json or "{}"))

    def __iter__(self) -> Iterator[BoardEvent]:
        start = 0
        while start < self._len:
            with session_scope(self.engine) as s:
                rows = s.execute(select(BoardEventRow, CastBallot.ballot_json)
                                 .outerjoin(CastBallot, CastBallot.chain_index == BoardEventRow.index)
                                 .where(BoardEventRow.index >= start).order_by(BoardEventRow.index)
                                 .limit(self.BATCH)).all()
            if not rows:
                return
            for row, ballot_json in rows:
                yield self._event(row, ballot_json)
            start = rows[-1][0].index + 1

    @overload
    def __getitem__(self, i: int) -> BoardEvent: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[BoardEvent]: ...

    def __getitem__(self, i: int | slice) -> BoardEvent | Sequence[BoardEvent]:
        if isinstance(i, slice):
            return list(self)[i]
        index = i + self._len if i < 0 else i
        with session_scope(self.engine) as s:
            found = s.execute(select(BoardEventRow, CastBallot.ballot_json)
                              .outerjoin(CastBallot, CastBallot.chain_index == BoardEventRow.index)
                              .where(BoardEventRow.index == index)).first()
        if found is None:
            raise IndexError(i)
        return self._event(found[0], found[1])


def check_chain(engine: Engine, election: LoadedElection) -> None:
    """Recompute the stored chain from the stored payload hashes (ballot hashes as received)."""
    previous = GENESIS_PREVIOUS
    expected = 0
    start = 0
    while True:
        with session_scope(engine) as s:
            rows = s.execute(select(BoardEventRow, CastBallot.ballot_hash)
                             .outerjoin(CastBallot, CastBallot.chain_index == BoardEventRow.index)
                             .where(BoardEventRow.index >= start).order_by(BoardEventRow.index).limit(1000)).all()
        if not rows:
            return
        for row, b_hash in rows:
            if row.type == EVENT_BALLOT:
                p_hash = bytes.fromhex(b_hash)
            else:
                p_hash = payload_hash(json.loads(row.payload_json or "{}"))
            head = event_hash(election.ctx.election_hash, previous, row.index, row.type, p_hash)
            if row.index != expected or head.hex() != row.head:
                raise ElectionError(500, "cadena", f"La cadena del tablero no se recalcula en el evento {row.index}.",
                                    f"The board chain does not recompute at event {row.index}.")
            previous, expected = head, expected + 1
        start = rows[-1][0].index + 1


def _tar(directory: Path, archive: Path) -> Path:
    tmp = archive.with_name(f".{archive.name}.tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        tar.add(directory, arcname=directory.name)
    tmp.replace(archive)
    return archive


def export_closed_record(engine: Engine, config: ServerConfig, operator_id: int | None) -> Path:
    """Write the closed record (library ``write_closed_record``: board, encrypted tally, opening act,
    constancia; the closing act is drafted, signed and inserted by the key-holders' ceremony) and
    its archive ``registro-cerrado.tar.gz``; returns the archive."""
    with session_scope(engine) as s:
        _require_state(s, STATE_CLOSED, STATE_PUBLISHED)
        election = loaded(s, config)
        audit(s, operator_id, "election.export")
    check_chain(engine, election)
    events = StoredBoard(engine, election)
    tally = aggregate(election.ctx, (e.ballot for e in events if e.ballot is not None))
    out = config.data_dir / CLOSED_DIR
    write_closed_record(out, election.ctx, ceremony_id=election.ceremony_id, n=election.n, t=election.t,
                        rounds=election.rounds, credential_list=election.credential_list, events=events,
                        tally=tally, opening=election.opening, closing=None, constancia=election.constancia)
    from sivei_server import consulates

    with session_scope(engine) as s:
        add_files(out, consulates.record_files(s, election.manifest))
    return _tar(out, config.data_dir / f"{CLOSED_DIR}.tar.gz")


def _safe_extract(data: bytes, target: Path) -> Path:
    """Extract a record archive (tar.gz) refusing links, devices and paths outside ``target``;
    returns the record directory (the archive's single top-level directory, or ``target``)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            members = tar.getmembers()
            for m in members:
                if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in Path(m.name).parts:
                    raise ElectionError(400, "archivo", f"Entrada no permitida en el archivo: {m.name}",
                                        f"Entry not allowed in the archive: {m.name}")
            tar.extractall(target, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ElectionError(400, "archivo", f"Archivo de registro ilegible: {exc}",
                            f"Unreadable record archive: {exc}") from exc
    entries = [p for p in target.iterdir()]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return target


def import_record(engine: Engine, config: ServerConfig, archive: bytes, operator_id: int | None) -> Path:
    """Bring back the completed record (decryption and results added by the decryption ceremony).
    It must be this election's: the same opening act and the same board as the server's."""
    with session_scope(engine) as s:
        _require_state(s, STATE_CLOSED)
        election = loaded(s, config)
        our_board = [(r.index, r.head) for r in s.scalars(select(BoardEventRow).order_by(BoardEventRow.index))]
        audit(s, operator_id, "election.import-record")
    record = _safe_extract(archive, config.data_dir / IMPORTED_DIR)
    try:
        theirs = jsonstrict.loads((record / layout.OPENING_ACT).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ElectionError(422, "registro", "El registro no trae el acta de inicio.",
                            "The record lacks the opening act.") from exc
    if theirs != election.opening.to_json():
        raise ElectionError(422, "registro-otra-eleccion", "El acta de inicio del registro no es la de esta elección.",
                            "The record's opening act is not this election's.")
    try:
        heads = board_heads(layout.RecordReader(record))
    except SiveiError as exc:
        raise ElectionError(422, "registro", "El tablero del registro es ilegible.",
                            "The record's board is unreadable.") from exc
    if heads != our_board:
        raise ElectionError(422, "registro-tablero", "El tablero del registro no es el del servidor.",
                            "The record's board is not the server's.")
    return record


def imported_record(config: ServerConfig) -> Path | None:
    base = config.data_dir / IMPORTED_DIR
    if not base.is_dir():
        return None
    entries = list(base.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return base


def final_head(engine: Engine) -> str:
    with session_scope(engine) as s:
        head = s.get(ChainHead, 1)
        if head is None or not head.closed:
            raise ElectionError(409, "no-cerrada", "El tablero no está cerrado.", "The board is not closed.")
        return head.head


def verify_imported(engine: Engine, config: ServerConfig) -> VerificationReport:
    """``sivei verificar`` on the imported record, with the server's own final head as an observer's
    noted head."""
    record = imported_record(config)
    if record is None:
        raise ElectionError(409, "sin-registro", "Primero importe el registro completo (con los resultados).",
                            "Import the complete record (with the results) first.")
    return verify_record(record, VerifyOptions(allow_test_group=config.allow_test_group,
                                               expect_heads=(final_head(engine),), jobs=1))


def publish(engine: Engine, config: ServerConfig, operator_id: int | None, *,
            verified: dict[str, Any] | None = None) -> dict[str, Any]:
    """Publish the imported record: refused unless the offline verifier accepts it (with the
    server's own final head as an observer's noted head). ``verified``: the passing report of that
    same imported record, already made (the verifier is not run twice)."""
    with session_scope(engine) as s:
        _require_state(s, STATE_CLOSED)
    final = final_head(engine)
    record = imported_record(config)
    if record is None:
        raise ElectionError(409, "sin-registro", "Primero importe el registro completo (con los resultados).",
                            "Import the complete record (with the results) first.")
    if verified is None or not verified.get("ok"):
        report = verify_imported(engine, config)
        if not report.ok:
            raise ElectionError(422, "verificacion", "El registro NO pasa la verificación; no se publica.",
                                "The record does NOT pass verification; it is not published.",
                                problems=[p.to_json() for p in report.problems[:50]])
        verified = report.to_json()
    published = config.data_dir / PUBLISHED_DIR
    if published.exists():
        shutil.rmtree(published)
    shutil.copytree(record, published)
    _tar(published, config.data_dir / PUBLISHED_ARCHIVE)
    with session_scope(engine) as s:
        row = _require_state(s, STATE_CLOSED)
        row.state, row.published_at, row.updated_at = STATE_PUBLISHED, utcnow(), utcnow()
        audit(s, operator_id, "election.publish", final)
    return verified


def published_results(config: ServerConfig) -> dict[str, Any] | None:
    path = config.data_dir / PUBLISHED_DIR / layout.RESULTS
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
