"""The server's tables (SQLAlchemy 2 declarative, typed). Alembic migrations in ``migrations/``
create exactly these (a test compares them).

Privacy rules the schema itself enforces:

* ``voters`` records only THAT a voter cast (``voted``) and on which day (``voted_on``); it has no
  link to any ballot, and ``cast_ballots`` has no voter, session or address column.
* ``late_ballots`` keeps only the sender address and the time of a ballot received after the close
  (LGIPE art. 345), never its content.
* ``sealed_tokens`` holds each voter's credential token only as the authority sealed it, under a key
  derived from the voter's private credential: no table links a voter to a public credential.

Times are stored in UTC (``UtcDateTime`` returns aware datetimes on every backend).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Roles of operators.
ROLE_ADMIN = "administrador"
ROLE_OBSERVER = "observador"
ROLE_SUPPORT = "soporte"
ROLE_CONSULATE = "consulado"   # a consulate's staff: serves voters on its kiosks (sivei_server.consulates)
ROLES = (ROLE_ADMIN, ROLE_OBSERVER, ROLE_SUPPORT, ROLE_CONSULATE)

# Session kinds and stages.
KIND_VOTER = "voter"
KIND_OPERATOR = "operator"
SESSION_KINDS = (KIND_VOTER, KIND_OPERATOR)
STAGE_FULL = "full"

# Election states.
STATE_NEW = "new"              # nothing loaded yet, or manifest/credentials/acts being loaded
STATE_OPEN = "open"            # taking ballots
STATE_PAUSED = "paused"        # operator pause: ballots refused (503), window still running
STATE_CLOSED = "closed"        # close event appended
STATE_PUBLISHED = "published"  # verified record published
ELECTION_STATES = (STATE_NEW, STATE_OPEN, STATE_PAUSED, STATE_CLOSED, STATE_PUBLISHED)

SECOND_FACTORS = ("sms", "totp")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- voters and operators (authentication is built on these; see sivei_server.sessions) ---------

def _new_username() -> str:
    from sivei_server.usernames import new_username

    return new_username()


class Voter(Base):
    __tablename__ = "voters"

    voter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The login name the server issued (random; see sivei_server.usernames), never the roll's id.
    username: Mapped[str] = mapped_column(String(64), unique=True, default=_new_username)
    entity: Mapped[str] = mapped_column(String(8), index=True)
    # Country of residence (ISO 3166-1 alpha-2) when the roll gives it: turnout per country.
    country: Mapped[str | None] = mapped_column(String(2))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    # Activation link: only a hash of the token is stored (single use, expiring).
    activation_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    activation_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(128))
    second_factor: Mapped[str | None] = mapped_column(String(8))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lockout_level: Mapped[int] = mapped_column(Integer, default=0)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # THAT and WHEN (day only) the voter cast; never which ballot.
    voted: Mapped[bool] = mapped_column(Boolean, default=False)
    voted_on: Mapped[date | None] = mapped_column(Date)
    # The consulate where the voter registered to vote in person (None: by internet), and the keyed
    # hash of their voter-ID number when the roll gives it (never the number itself): a registered
    # voter cannot be served again as an unregistered one (sivei_server.consulates).
    consulate: Mapped[str | None] = mapped_column(String(8))
    card_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    __table_args__ = (
        CheckConstraint("second_factor IS NULL OR second_factor IN ('sms', 'totp')", name="second_factor"),
        Index("ix_voters_voted_on", "voted_on"),
    )


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # The consulate of a consulate's staff member (role ``consulado``), else None.
    consulate: Mapped[str | None] = mapped_column(String(8))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lockout_level: Mapped[int] = mapped_column(Integer, default=0)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("role IN ('administrador', 'observador', 'soporte', 'consulado')", name="role"),
    )


class WebSession(Base):
    """Server-side sessions. The cookie carries a random token; only its SHA-256 is stored. The
    absolute limit (``expires_at``) is set at creation and never extended. ``stage`` lets an
    authentication flow keep a partial session (e.g. password checked, code pending): only
    ``STAGE_FULL`` sessions authenticate. ``flow`` is free JSON text for that flow's state."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(32), default=STAGE_FULL)
    flow: Mapped[str | None] = mapped_column(Text)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # The ballot hash this (voter) session cast: only this session may fetch its receipt again
    # (a lost answer). Gone with the session, at most 30 minutes later.
    cast_ballot: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("kind IN ('voter', 'operator')", name="kind"),
        Index("ix_web_sessions_subject", "kind", "subject_id"),
    )


class RateLimit(Base):
    """Rate-limit and lockout counters shared by all workers, one row per key (for example
    ``login:voter:<id>`` or ``code:ip:<address>``)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    count: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lockout_level: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OneTimeCode(Base):
    """One-time codes (SMS codes, password-reset links…), stored hashed, with expiry and tries."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    tries_left: Mapped[int] = mapped_column(Integer, default=5)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_one_time_codes_subject", "kind", "subject_id", "purpose"),)


class AuditLog(Base):
    """Operators' actions: help desk (``helpdesk.*``, e.g. a lost phone) and election lifecycle
    (``election.*``). Never a ballot, tracking code or credential."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    action: Mapped[str] = mapped_column(String(64))
    voter_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(64))


# --- the election ----------------------------------------------------------------------------------

class Election(Base):
    """The one election this server runs (row id = 1)."""

    __tablename__ = "election"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    election_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=STATE_NEW)
    manifest_hash: Mapped[str] = mapped_column(String(64))
    voting_opens: Mapped[datetime] = mapped_column(UtcDateTime)
    voting_closes: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("id = 1", name="single"),
        CheckConstraint("state IN ('new', 'open', 'paused', 'closed', 'published')", name="state"),
    )


class Artifact(Base):
    """Files the operators load or the server produces (manifest, credential list, ceremony
    transcript, acts, record archive…), by name."""

    __tablename__ = "artifacts"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))


class ChainHead(Base):
    """The board's head (row id = 1). Every append locks this row (PostgreSQL ``FOR UPDATE``;
    SQLite's ``BEGIN IMMEDIATE`` locks the database)."""

    __tablename__ = "chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_index: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(64))
    cast_count: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("id = 1", name="single"),)


class BoardEventRow(Base):
    """One event of the board's hash chain. Ballot events point to ``cast_ballots``; other events
    keep their public payload (canonical JSON)."""

    __tablename__ = "board_events"

    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(16))
    payload_json: Mapped[str | None] = mapped_column(Text)
    head: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CastBallot(Base):
    """A cast ballot as it is on the board. No voter, session or address column, by design."""

    __tablename__ = "cast_ballots"

    chain_index: Mapped[int] = mapped_column(ForeignKey("board_events.index"), primary_key=True,
                                             autoincrement=False)
    credential: Mapped[str] = mapped_column(String(64), unique=True)   # one-vote policy
    ballot_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tracking_code: Mapped[str] = mapped_column(String(32), index=True)
    style: Mapped[str] = mapped_column(String(64))
    ballot_json: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The signed receipt, written once right after the ballot's transaction commits.
    receipt_json: Mapped[str | None] = mapped_column(Text)


class BallotAlpha(Base):
    """Unique α on the board: ``alpha_key`` (low 256 bits of α, 32 bytes) of every ciphertext."""

    __tablename__ = "ballot_alphas"

    alpha_key: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    chain_index: Mapped[int] = mapped_column(ForeignKey("cast_ballots.chain_index"), index=True)


class SealedToken(Base):
    """A voter's credential token, sealed by the credential authority under a key that only the
    voter's private credential gives (``sivei.ballot.credential_tokens``). Served to that voter's
    booth; without the credential it says nothing, so this is no voter → credential map."""

    __tablename__ = "sealed_tokens"

    voter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary(92))


class LateBallot(Base):
    """A ballot received after the close: sender and time only (never content). ``reason``:
    ``tarde`` (it arrived after the close rule allowed) or ``cola`` (it arrived in time but reached a
    worker after the board was sealed: the close grace was too short — an incident to report)."""

    __tablename__ = "late_ballots"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sender: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(8), default="tarde", server_default="tarde")


# --- in-person voting at consulates (sivei_server.consulates) ---------------------------------------

class Kiosk(Base):
    """A voting kiosk of a consulate: a browser that a consulate official enrolled; its cookie holds a
    random token, of which only the SHA-256 is kept."""

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consulate: Mapped[str] = mapped_column(String(8), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    enrolled_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ServedVoter(Base):
    """A person a consulate served: a registered voter (``voter_id``) or an unregistered one with a valid
    voter ID (``card_hash``, the keyed hash of its number: the number itself is never stored). One row
    per person over all consulates (UNIQUE), which is the consulates' log (signed by each consulate and
    published in the record): THAT they were served, where, and whether they cast — never which ballot."""

    __tablename__ = "consulate_served"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consulate: Mapped[str] = mapped_column(String(8), index=True)
    voter_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    card_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    served_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    voted: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        CheckConstraint("(voter_id IS NULL AND card_hash IS NOT NULL) OR "
                           "(voter_id IS NOT NULL AND card_hash IS NULL)",
                        name="who"),
    )


class KioskSession(Base):
    """One voter's one-time session on a kiosk, issued by the consulate's official. Deleted when it
    ends (cast and finished, cancelled or expired); ``cast_ballot`` (the hash of the ballot it cast,
    for a retry's receipt) lives only as long as the session, as on a voter's own session."""

    __tablename__ = "kiosk_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id"), unique=True)
    served_id: Mapped[int] = mapped_column(ForeignKey("consulate_served.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cast_ballot: Mapped[str | None] = mapped_column(String(64))


# --- practice elections and drills that ran before; personal data after the election ------------------

class ArchivedElection(Base):
    """A practice election (``practica-…``) or a drill (``simulacro-…``) this server ran and archived to
    make room for the next one (never the real election: ``sivei_server.practice``). Its closed record
    is a file in the data directory (``archivo/``), public like the board it came from; this row keeps
    what the console and the archive page show, aggregates only."""

    __tablename__ = "archived_elections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    election_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    manifest_hash: Mapped[str] = mapped_column(String(64))
    election_hash: Mapped[str | None] = mapped_column(String(64))
    voting_opens: Mapped[datetime] = mapped_column(UtcDateTime)
    voting_closes: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    final_head: Mapped[str | None] = mapped_column(String(64))
    cast_count: Mapped[int] = mapped_column(Integer, default=0)
    late_count: Mapped[int] = mapped_column(Integer, default=0)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    # Turnout aggregates (per entity, country and day) as JSON: no voter in it.
    summary_json: Mapped[str] = mapped_column(Text)
    record_file: Mapped[str | None] = mapped_column(String(128))
    record_sha256: Mapped[str | None] = mapped_column(String(64))
    archived_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))

    __table_args__ = (CheckConstraint("kind IN ('practice', 'drill')", name="kind"),)


class DataRetention(Base):
    """When the voters' personal data (roll, contact data, accounts, codes, sessions) is deleted after
    the election, as the operator confirmed it (LGPDPPSO), and what was done (row id = 1;
    ``sivei_server.retention``)."""

    __tablename__ = "data_retention"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delete_after: Mapped[datetime] = mapped_column(UtcDateTime)
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    scheduled_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    exported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    exported_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    export_sha256: Mapped[str | None] = mapped_column(String(64))
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    # Aggregates kept after the deletion (turnout per entity, country and day; what was deleted).
    summary_json: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (CheckConstraint("id = 1", name="single"),)
