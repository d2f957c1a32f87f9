"""In-person voting at consulates on the server: the officials' work and the kiosks' sessions.

A consulate official (operator role ``consulado``, bound to one consulate) serves each person who
comes to vote, then issues a one-time voting session on one of the consulate's kiosks:

* **A registered voter** (on the roll with this consulate as their in-person modality) is looked up
  by the roll's id or their voter-ID number. Refused, with the reason, when they already voted (by
  internet, or at a kiosk), registered to vote by internet, or at another consulate. At the kiosk they
  scan their own credential's QR code; the credential token binds it to their voter id as for an
  internet vote (protocol §11.6).
* **An unregistered voter** with a valid voter ID: the official types the ID's number; the server
  keeps only its keyed hash (``SecretsKey.card_hash``). Refused when the number is on the roll (they
  are a registered voter), when that person was already served at any consulate, or when this
  consulate reached its cap (manifest). At the kiosk they scan a card of the consulate's **pool**
  (``sivei.ballot.in_person``); the server accepts a ballot of that session only with a credential of
  this consulate's pool, as the authority declared it.

One row per person served (``consulate_served``, UNIQUE per voter and per keyed hash over all
consulates) holds THAT they were served and whether they cast; a kiosk session links it to one
kiosk for at most ``session_minutes`` and is deleted when it ends. A ballot cast in a kiosk session
sets the served row's ``voted`` (and the voter's, for a registered voter) in the casting transaction
(``sivei_server.casting``), so a person votes once across internet, kiosks and consulates.

At its close, each consulate signs its **log** of voters served (``sivei consulado firmar``, with the
key the manifest names) and uploads it; it goes into the record with the authority's declaration
(``consulados/``), where the verifier reconciles the pool credentials used with the voters served.
Once a consulate's log is signed, that consulate serves nobody else.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sivei import jsonstrict
from sivei.ballot.credentials import CredentialList
from sivei.ballot.in_person import (
    DECLARATION_FILE,
    ConsulateLog,
    InPersonDeclaration,
    check_log,
    log_file,
    normal_voter_card,
)
from sivei.ballot.manifest import Consulate, Manifest
from sivei.crypto.envelope import Envelope
from sivei.crypto.fingerprint import fingerprint
from sivei.errors import SiveiError
from sivei_server import election as el
from sivei_server import models
from sivei_server.config import ServerConfig
from sivei_server.db import serialized, session_scope
from sivei_server.models import (
    STATE_OPEN,
    AuditLog,
    Kiosk,
    KioskSession,
    Operator,
    ServedVoter,
    Voter,
)

DECLARATION = DECLARATION_FILE  # artifact name: the authority's declaration, imported with the list
RECORD_DIR = "consulados"
KIOSK_COOKIE_SECURE = "__Host-sivei-quiosco"
KIOSK_COOKIE_PLAIN = "sivei-quiosco"
KIOSK_COOKIE_DAYS = 20


def log_artifact(code: str) -> str:
    return log_file(code)


class ConsulateError(el.ElectionError):
    """A refused consulate action: status, code, bilingual message (shown to the official)."""


def stored_declaration(s: Session, manifest: Manifest) -> InPersonDeclaration | None:
    data = el.get_artifact(s, DECLARATION)
    if data is None or manifest.in_person is None:
        return None
    return InPersonDeclaration.from_json(jsonstrict.loads(data), DECLARATION)


def internet_refusal(voter: Voter) -> el.ElectionError | None:
    """A voter registered to vote in person at a consulate does not vote by internet (the modality they
    chose is the channel of their credential, §20); once they voted anywhere, the booth says so."""
    if voter.consulate is None or voter.voted:
        return None
    return el.ElectionError(409, "voto-presencial",
                            f"Te registraste para votar en persona en el consulado {voter.consulate}: tu voto se "
                            "emite en un quiosco de ese consulado, no por internet.",
                            f"You registered to vote in person at consulate {voter.consulate}: you vote on a kiosk "
                            "of that consulate, not by internet.")


def check_declaration(manifest: Manifest, credential_list: CredentialList, data: bytes | None) -> InPersonDeclaration:
    """The authority's declaration imported with the list: required with in-person voting, and it must
    be the one the list signs (``in_person_hash``) and agree with the list and the manifest."""
    if data is None:
        raise ConsulateError(422, "declaracion", "La elección tiene voto en consulados: importe también la "
                             "declaración de la autoridad (consulados.json).",
                             "The election has in-person voting: also import the authority's declaration "
                             "(consulados.json).")
    try:
        declaration = InPersonDeclaration.from_json(jsonstrict.loads(data), DECLARATION)
    except (ValueError, SiveiError) as exc:
        raise ConsulateError(422, "declaracion", f"Declaración de consulados ilegible: {exc}",
                             f"Unreadable consulates' declaration: {exc}") from exc
    problems = declaration.problems(manifest, credential_list.styles, credential_list.in_person_hash)
    if problems:
        raise ConsulateError(422, "declaracion",
                             f"La declaración de consulados no corresponde a la lista: {problems[0]}",
                             f"The consulates' declaration does not match the list: {problems[0]}")
    return declaration


# -- kiosks -----------------------------------------------------------------------------------------


def kiosk_cookie_name(config: ServerConfig) -> str:
    return KIOSK_COOKIE_SECURE if config.cookie_secure else KIOSK_COOKIE_PLAIN


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def enroll_kiosk(s: Session, operator: Operator, name: str) -> tuple[Kiosk, str]:
    """A new kiosk of the official's consulate; returns it and the token for its cookie."""
    assert operator.consulate is not None
    name = " ".join(name.split())[:64]
    if not name:
        raise ConsulateError(400, "quiosco-nombre", "Escriba un nombre para el quiosco (por ejemplo «Quiosco 2»).",
                             "Type a name for the kiosk (for example «Kiosk 2»).")
    token = secrets.token_urlsafe(32)
    kiosk = Kiosk(consulate=operator.consulate, name=name, token_hash=_token_hash(token), enrolled_by=operator.id,
                  active=True, enrolled_at=models.utcnow())
    s.add(kiosk)
    s.flush()
    s.add(AuditLog(operator_id=operator.id, action="consulado.quiosco", detail=f"{operator.consulate}: {name}"))
    return kiosk, token


def kiosk_by_token(s: Session, token: str | None) -> Kiosk | None:
    if not token or len(token) > 128:
        return None
    kiosk = s.scalar(select(Kiosk).where(Kiosk.token_hash == _token_hash(token)))
    return kiosk if kiosk is not None and kiosk.active else None


def kiosks_of(s: Session, consulate: str) -> list[tuple[Kiosk, KioskSession | None]]:
    rows = s.execute(select(Kiosk, KioskSession).outerjoin(KioskSession, KioskSession.kiosk_id == Kiosk.id)
                     .where(Kiosk.consulate == consulate, Kiosk.active.is_(True)).order_by(Kiosk.name)).all()
    return [(k, ks) for k, ks in rows]


def _purge_expired(s: Session) -> None:
    """Expired kiosk sessions end; a person who did not cast is no longer served (they may be again)."""
    now = models.utcnow()
    for ks in s.scalars(select(KioskSession).where(KioskSession.expires_at <= now)).all():
        _end(s, ks)


def _end(s: Session, ks: KioskSession) -> None:
    served = s.get(ServedVoter, ks.served_id)
    s.delete(ks)
    s.flush()
    if served is not None and not served.voted:
        s.delete(served)


def active_session(s: Session, kiosk: Kiosk) -> KioskSession | None:
    ks = s.scalar(select(KioskSession).where(KioskSession.kiosk_id == kiosk.id))
    if ks is not None and ks.expires_at <= models.utcnow():
        _end(s, ks)
        return None
    return ks


def end_kiosk_session(s: Session, kiosk: Kiosk) -> None:
    """The voter finished (or walked away): the kiosk is free again; a person who did not cast is no
    longer counted as served."""
    ks = s.scalar(select(KioskSession).where(KioskSession.kiosk_id == kiosk.id))
    if ks is not None:
        _end(s, ks)


def _not_ours() -> ConsulateError:
    return ConsulateError(404, "quiosco", "Ese quiosco no es de este consulado.", "That kiosk is not this consulate's.")


def release_kiosk(s: Session, operator: Operator, kiosk_id: int) -> None:
    kiosk = s.get(Kiosk, kiosk_id)
    if kiosk is None or kiosk.consulate != operator.consulate:
        raise _not_ours()
    end_kiosk_session(s, kiosk)
    s.add(AuditLog(operator_id=operator.id, action="consulado.liberar", detail=f"{kiosk.consulate}: {kiosk.name}"))


# -- serving ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """What the official sees of a person looked up on the roll: who, and whether they may vote here."""

    voter_id: str
    entity: str
    can_vote: bool
    code: str
    es: str
    en: str


def _consulate_of(manifest: Manifest, operator: Operator) -> Consulate:
    if manifest.in_person is None or operator.consulate is None or operator.consulate not in manifest.in_person.codes:
        raise ConsulateError(409, "sin-consulado", "Esta elección no tiene voto en su consulado.",
                             "This election has no voting at your consulate.")
    return manifest.in_person.consulate(operator.consulate)


def _served_where(s: Session, served: ServedVoter | None) -> str | None:
    return served.consulate if served is not None else None


def registered_verdict(s: Session, manifest: Manifest, consulate: str, voter: Voter) -> Found:
    """May this registered voter vote at ``consulate`` now? (the reasons are the official's to read)."""
    served = s.scalar(select(ServedVoter).where(ServedVoter.voter_id == voter.voter_id))
    if voter.voted:
        if served is not None:
            return Found(voter.voter_id, voter.entity, False, "ya-voto",
                         f"Ya votó en un quiosco del consulado {served.consulate}.",
                         f"Already voted at a kiosk of consulate {served.consulate}.")
        return Found(voter.voter_id, voter.entity, False, "ya-voto", "Ya votó por internet.",
                     "Already voted by internet.")
    if voter.consulate is None:
        return Found(voter.voter_id, voter.entity, False, "modalidad-internet",
                     "Se registró para votar por internet: vota desde su propio dispositivo, no en el consulado.",
                     "Registered to vote by internet: they vote from their own device, not at the consulate.")
    if voter.consulate != consulate:
        return Found(voter.voter_id, voter.entity, False, "otro-consulado",
                     f"Se registró para votar en el consulado {voter.consulate}.",
                     f"Registered to vote at consulate {voter.consulate}.")
    if served is not None:
        return Found(voter.voter_id, voter.entity, False, "en-quiosco",
                     "Ya tiene una sesión en un quiosco: termínela o libere el quiosco antes.",
                     "Already has a session on a kiosk: finish it or release the kiosk first.")
    return Found(voter.voter_id, voter.entity, True, "puede-votar",
                 "Registrado para votar en este consulado; no ha votado.",
                 "Registered to vote at this consulate; has not voted.")


def look_up(s: Session, manifest: Manifest, config: ServerConfig, operator: Operator, text: str) -> Found | None:
    """A registered voter by the roll's id or by their voter-ID number; None when not on the roll."""
    from sivei_server.roll import normal_voter_id
    from sivei_server.secrets_key import secrets_key

    consulate = _consulate_of(manifest, operator)
    voter: Voter | None = None
    card = normal_voter_card(text)
    if card is not None:
        voter = s.scalar(select(Voter).where(Voter.card_hash == secrets_key(config).card_hash(card)))
    if voter is None:
        voter_id = normal_voter_id(text)
        voter = s.get(Voter, voter_id) if voter_id is not None else None
    if voter is None:
        return None
    return registered_verdict(s, manifest, consulate.code, voter)


def _require_voting(s: Session, election: el.LoadedElection) -> None:
    row = el.election_row(s)
    now = models.utcnow()
    manifest = election.manifest
    if row is None or row.state != STATE_OPEN or not manifest.voting_opens <= now < manifest.voting_closes:
        raise ConsulateError(409, "no-abierta", "La votación no está abierta.", "Voting is not open.")


def _require_unsigned(s: Session, consulate: str) -> None:
    if el.get_artifact(s, log_artifact(consulate)) is not None:
        raise ConsulateError(409, "bitacora-firmada", "La bitácora de este consulado ya se firmó: el consulado cerró "
                             "y no atiende a nadie más.",
                             "This consulate's log is already signed: the consulate closed and serves nobody else.")


def _free_kiosk(s: Session, consulate: str, kiosk_id: int) -> Kiosk:
    kiosk = s.get(Kiosk, kiosk_id)
    if kiosk is None or not kiosk.active or kiosk.consulate != consulate:
        raise _not_ours()
    if active_session(s, kiosk) is not None:
        raise ConsulateError(409, "quiosco-ocupado", f"El quiosco «{kiosk.name}» está ocupado.",
                             f"Kiosk «{kiosk.name}» is busy.")
    return kiosk


def _issue(s: Session, config: ServerConfig, kiosk: Kiosk, served: ServedVoter) -> KioskSession:
    now = models.utcnow()
    ks = KioskSession(kiosk_id=kiosk.id, served_id=served.id, created_at=now,
                      expires_at=now + timedelta(minutes=config.session_minutes))
    s.add(ks)
    s.flush()
    return ks


def _open_desk(s: Session, election: el.LoadedElection, operator_id: int) -> Consulate:
    """Before serving anyone: the official's consulate, voting open, its log not yet signed, and the
    expired kiosk sessions freed."""
    operator = s.get(Operator, operator_id)
    assert operator is not None
    consulate = _consulate_of(election.manifest, operator)
    _require_voting(s, election)
    _require_unsigned(s, consulate.code)
    _purge_expired(s)
    return consulate


def serve_registered(engine: Engine, config: ServerConfig, election: el.LoadedElection, operator_id: int,
                     voter_id: str, kiosk_id: int) -> KioskSession:
    """Serve a registered voter of this consulate and give them a session on a free kiosk."""
    with serialized(engine) as s:
        consulate = _open_desk(s, election, operator_id)
        voter = s.get(Voter, voter_id)
        if voter is None:
            raise ConsulateError(404, "no-encontrado", "No está en el padrón.", "Not on the roll.")
        verdict = registered_verdict(s, election.manifest, consulate.code, voter)
        if not verdict.can_vote:
            raise ConsulateError(409, verdict.code, verdict.es, verdict.en)
        kiosk = _free_kiosk(s, consulate.code, kiosk_id)
        served = ServedVoter(consulate=consulate.code, voter_id=voter.voter_id, operator_id=operator_id,
                             served_at=models.utcnow(), voted=False)
        s.add(served)
        s.flush()
        ks = _issue(s, config, kiosk, served)
        s.add(AuditLog(operator_id=operator_id, action="consulado.atender", voter_id=voter.voter_id,
                       detail=f"{consulate.code}: registrado, {kiosk.name}"))
        return ks


def serve_unregistered(engine: Engine, config: ServerConfig, election: el.LoadedElection, operator_id: int,
                       card_text: str, kiosk_id: int) -> KioskSession:
    """Serve a person not on the list abroad who showed a valid voter ID: their ID's number, kept as a
    keyed hash, against the one-person rule and this consulate's cap; a session on a free kiosk."""
    from sivei_server.secrets_key import secrets_key

    card = normal_voter_card(card_text)
    if card is None:
        raise ConsulateError(400, "clave", "Clave de elector no válida: 18 caracteres, los seis primeros letras.",
                             "Invalid voter ID number: 18 characters, the first six letters.")
    card_hash = secrets_key(config).card_hash(card)
    try:
        with serialized(engine) as s:
            consulate = _open_desk(s, election, operator_id)
            if s.scalar(select(Voter.voter_id).where(Voter.card_hash == card_hash)) is not None:
                raise ConsulateError(409, "registrado", "Esta persona está en la lista nominal del extranjero: "
                                     "búsquela como votante registrado.",
                                     "This person is on the list of voters abroad: look them up as a registered voter.")
            served = s.scalar(select(ServedVoter).where(ServedVoter.card_hash == card_hash))
            if served is not None:
                if served.consulate == consulate.code and not served.voted:
                    raise ConsulateError(409, "en-quiosco", "Esta persona ya tiene una sesión en un quiosco.",
                                         "This person already has a session on a kiosk.")
                raise ConsulateError(409, "ya-atendida",
                                     f"Esta persona ya fue atendida en el consulado {served.consulate}: "
                                     "solo se vota una vez.",
                                     f"This person was already served at consulate {served.consulate}: "
                                     "one vote only.")
            count = s.scalar(select(func.count()).select_from(ServedVoter).where(
                ServedVoter.consulate == consulate.code, ServedVoter.card_hash.is_not(None))) or 0
            if count >= consulate.unregistered_cap:
                raise ConsulateError(409, "tope",
                                     f"Se alcanzó el tope de {consulate.unregistered_cap} personas sin registro "
                                     "previo en este consulado.",
                                     f"This consulate reached its cap of {consulate.unregistered_cap} voters "
                                     "without prior registration.")
            kiosk = _free_kiosk(s, consulate.code, kiosk_id)
            served = ServedVoter(consulate=consulate.code, card_hash=card_hash, operator_id=operator_id,
                                 served_at=models.utcnow(), voted=False)
            s.add(served)
            s.flush()
            ks = _issue(s, config, kiosk, served)
            s.add(AuditLog(operator_id=operator_id, action="consulado.atender",
                           detail=f"{consulate.code}: sin registro ({count + 1} de {consulate.unregistered_cap}), "
                           f"{kiosk.name}"))
            return ks
    except IntegrityError:  # served meanwhile elsewhere (UNIQUE card_hash)
        raise ConsulateError(409, "ya-atendida", "Esta persona ya fue atendida: solo se vota una vez.",
                             "This person was already served: one vote only.") from None


# -- what a kiosk session may cast ----------------------------------------------------------------------


@dataclass(frozen=True)
class KioskVoter:
    """The person a kiosk session is for: a registered voter (``voter``) or an unregistered one (the
    consulate's pool)."""

    session: KioskSession
    served: ServedVoter
    kiosk: Kiosk
    voter: Voter | None


def kiosk_voter(s: Session, kiosk: Kiosk) -> KioskVoter | None:
    ks = active_session(s, kiosk)
    if ks is None:
        return None
    served = s.get(ServedVoter, ks.served_id)
    assert served is not None
    voter = s.get(Voter, served.voter_id) if served.voter_id is not None else None
    return KioskVoter(ks, served, kiosk, voter)


def pool_of(s: Session, manifest: Manifest, consulate: str) -> frozenset[bytes]:
    declaration = stored_declaration(s, manifest)
    return declaration.pool_of(consulate) if declaration is not None else frozenset()


# -- the log ----------------------------------------------------------------------------------------


def current_log(s: Session, consulate: str) -> ConsulateLog:
    """The consulate's log as the server holds it: registered voters served, and the keyed hashes of
    the unregistered voters served (a session cancelled before casting is not a person served)."""
    registered = s.scalar(select(func.count()).select_from(ServedVoter).where(
        ServedVoter.consulate == consulate, ServedVoter.voter_id.is_not(None))) or 0
    hashes = sorted(bytes.fromhex(h) for h in s.scalars(select(ServedVoter.card_hash).where(
        ServedVoter.consulate == consulate, ServedVoter.card_hash.is_not(None))) if h)
    return ConsulateLog(consulate, int(registered), tuple(hashes))


def log_draft(s: Session, election: el.LoadedElection, consulate: str) -> dict[str, object]:
    return current_log(s, consulate).draft(election.manifest.election_id, election.ctx.election_hash)


def store_signed_log(s: Session, election: el.LoadedElection, operator: Operator, data: bytes) -> Envelope:
    """The official's signed log: signed with the consulate's key named in the manifest, and exactly the
    server's own log of this consulate (with no session still open on its kiosks)."""
    consulate = _consulate_of(election.manifest, operator)
    try:
        envelope = Envelope.from_json(jsonstrict.loads(data), "bitácora")
    except (ValueError, SiveiError) as exc:
        raise ConsulateError(400, "bitacora", f"Bitácora ilegible: {exc}", f"Unreadable log: {exc}") from exc
    log, problems = check_log(election.manifest, election.ctx.election_hash, consulate.code, envelope, "bitácora")
    if log is None:
        raise ConsulateError(422, "bitacora-firma", "La bitácora no es válida: " + "; ".join(problems),
                             "The log is not valid: " + "; ".join(problems))
    _purge_expired(s)
    busy = s.scalar(select(func.count()).select_from(KioskSession).join(Kiosk, Kiosk.id == KioskSession.kiosk_id)
                    .where(Kiosk.consulate == consulate.code)) or 0
    if busy:
        raise ConsulateError(409, "quioscos-ocupados", "Hay quioscos con una sesión abierta: espere a que terminen o "
                             "libérelos antes de firmar la bitácora.",
                             "Some kiosks still have an open session: wait for them to finish or release them "
                             "before signing the log.")
    if log != current_log(s, consulate.code):
        raise ConsulateError(422, "bitacora-distinta",
                             "La bitácora firmada no es la del servidor: descárguela de nuevo, revísela y fírmela.",
                             "The signed log is not the server's: download it again, review it and sign it.")
    el.put_artifact(s, log_artifact(consulate.code), json.dumps(envelope.to_json(), indent=1).encode(), operator.id)
    s.add(AuditLog(operator_id=operator.id, action="consulado.bitacora",
                   detail=f"{consulate.code}: {fingerprint(envelope.content_hash)}"))
    return envelope


def record_files(s: Session, manifest: Manifest) -> dict[str, bytes]:
    """What the closed record carries under ``consulados/``: the authority's declaration and each
    consulate's signed log (a consulate without one is reported by the verifier)."""
    if manifest.in_person is None:
        return {}
    out: dict[str, bytes] = {}
    declaration = el.get_artifact(s, DECLARATION)
    if declaration is not None:
        out[f"{RECORD_DIR}/{DECLARATION_FILE}"] = declaration
    for code in manifest.in_person.codes:
        data = el.get_artifact(s, log_artifact(code))
        if data is not None:
            out[f"{RECORD_DIR}/{log_file(code)}"] = data
    return out


@dataclass(frozen=True)
class Summary:
    consulate: Consulate
    registered_served: int
    unregistered_served: int
    voted: int
    signed: bool


def summary(s: Session, manifest: Manifest, consulate: str) -> Summary:
    log = current_log(s, consulate)
    voted = s.scalar(select(func.count()).select_from(ServedVoter).where(
        ServedVoter.consulate == consulate, ServedVoter.voted.is_(True))) or 0
    assert manifest.in_person is not None
    return Summary(manifest.in_person.consulate(consulate), log.registered_served, len(log.unregistered), int(voted),
                   el.get_artifact(s, log_artifact(consulate)) is not None)


def mark_cast(s: Session, served_id: int, kiosk_session_id: int, ballot_hash: str) -> int:
    """In the casting transaction: the served person has cast (once); the kiosk session remembers the
    ballot for a retry's receipt. Returns how many served rows changed (1, or 0 if already cast)."""
    flagged = s.execute(update(ServedVoter).where(ServedVoter.id == served_id, ServedVoter.voted.is_(False))
                        .values(voted=True))
    s.execute(update(KioskSession).where(KioskSession.id == kiosk_session_id).values(cast_ballot=ballot_hash))
    return int(getattr(flagged, "rowcount", 0) or 0)


def session_cast_ballot(engine: Engine, kiosk_session_id: int) -> str | None:
    with session_scope(engine) as s:
        return s.scalar(select(KioskSession.cast_ballot).where(KioskSession.id == kiosk_session_id))


def forget_personal_data(s: Session) -> dict[str, int]:
    """Personal-data deletion (``sivei_server.retention``): who was served, kiosks' sessions."""
    counts = {"kiosk_sessions": s.execute(delete(KioskSession)), "consulate_served": s.execute(delete(ServedVoter))}
    return {k: int(getattr(v, "rowcount", 0) or 0) for k, v in counts.items()}


def seconds_left(ks: KioskSession) -> int:
    return max(0, int((ks.expires_at - models.utcnow()).total_seconds()))


def session_started(ks: KioskSession) -> datetime:
    return ks.created_at
