"""Rate limits and lockouts, kept in the database (table ``rate_limits``) so every worker sees the
same counters. Each update is its own short write transaction (SQLite ``BEGIN IMMEDIATE``;
PostgreSQL ``SELECT … FOR UPDATE`` on the row), committed at once, so a failure counts even when the
request fails later.

Keys
    * ``cuenta:<kind>:<sha256(name)>`` — an account's consecutive failures (password, phone digits,
      codes). Keyed by the NAME TYPED, whether or not such an account exists: unknown users are
      locked exactly like real ones, so a lock reveals nothing. ``threshold`` failures lock it for
      ``base · 2^level`` seconds, at most ``max`` seconds: never permanently (anyone who knows a
      username could otherwise shut a voter out during the voting window). A lock that runs out clears
      the failures but keeps the level (backoff); a day without failures resets the level; a success
      resets everything.
    * ``ip:<address>`` — authentication posts per client address per window.
    * ``sms:<voter>`` — SMS codes sent per voter per hour.
    * ``totp:<kind>:<id>`` — the last accepted TOTP step (``count``), against replays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sivei_server.auth.clock import now
from sivei_server.auth.settings import AuthSettings
from sivei_server.db import serialized, session_scope
from sivei_server.models import OneTimeCode, RateLimit, WebSession

T = TypeVar("T")


def account_key(kind: str, name: str) -> str:
    digest = hashlib.sha256(name.strip().casefold().encode("utf-8", "replace")).hexdigest()[:40]
    return f"cuenta:{kind}:{digest}"


def ip_key(address: str) -> str:
    return f"ip:{address[:64]}"


def _with_row(engine: Engine, key: str, fn: Callable[[RateLimit, datetime], T]) -> T:
    """Run ``fn`` on the locked row of ``key`` (created when missing) in one write transaction."""
    for attempt in range(3):
        try:
            with serialized(engine) as s:
                at = now()
                row = s.scalars(select(RateLimit).where(RateLimit.key == key).with_for_update()).one_or_none()
                if row is None:
                    row = RateLimit(key=key, window_start=at, count=0, failures=0, locked_until=None,
                                    lockout_level=0, updated_at=at)
                    s.add(row)
                    s.flush()
                return fn(row, at)
        except IntegrityError:  # created concurrently by another worker: lock the existing row
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def locked_until(engine: Engine, key: str) -> datetime | None:
    """When the account behind ``key`` is locked, until when; else None."""
    with session_scope(engine) as s:
        row = s.get(RateLimit, key)
        if row is not None and row.locked_until is not None and row.locked_until > now():
            return row.locked_until
    return None


@dataclass(frozen=True)
class Failure:
    locked_until: datetime | None
    failures: int


def record_failure(engine: Engine, key: str, settings: AuthSettings) -> Failure:
    """Count one failure; lock with backoff at the threshold. Returns the lock, if any."""

    def update(row: RateLimit, at: datetime) -> Failure:
        if row.locked_until is not None and row.locked_until > at:
            return Failure(row.locked_until, row.failures)
        if row.locked_until is not None:  # the last lock ran out: start counting again, keep the level
            row.locked_until, row.failures = None, 0
        if row.updated_at < at - timedelta(hours=settings.lockout_decay_hours):
            row.failures, row.lockout_level = 0, 0
        row.failures += 1
        row.updated_at = at
        if row.failures >= settings.lockout_threshold:
            seconds = min(settings.lockout_base_seconds * 2 ** min(row.lockout_level, 30),
                          settings.lockout_max_seconds)
            row.locked_until = at + timedelta(seconds=seconds)
            row.lockout_level += 1
            row.failures = 0
            return Failure(row.locked_until, settings.lockout_threshold)
        return Failure(None, row.failures)

    return _with_row(engine, key, update)


def record_success(engine: Engine, key: str) -> None:
    with session_scope(engine) as s:
        s.execute(delete(RateLimit).where(RateLimit.key == key))


def clear(engine: Engine, key: str) -> bool:
    """Lift a lock (help desk). True when there was one in force."""
    with session_scope(engine) as s:
        row = s.get(RateLimit, key)
        was = row is not None and row.locked_until is not None and row.locked_until > now()
        s.execute(delete(RateLimit).where(RateLimit.key == key))
    return was


def hit(engine: Engine, key: str, limit: int, window_seconds: int) -> datetime | None:
    """Count one event in a fixed window; when over ``limit``, the window's end (the caller answers
    429 until then), else None."""

    def update(row: RateLimit, at: datetime) -> datetime | None:
        end = row.window_start + timedelta(seconds=window_seconds)
        if at >= end:
            row.window_start, row.count = at, 0
            end = at + timedelta(seconds=window_seconds)
        row.updated_at = at
        if row.count >= limit:
            return end
        row.count += 1
        return None

    return _with_row(engine, key, update)


def housekeeping(engine: Engine, *, idle_hours: int = 48) -> None:
    """Delete what no longer matters: counters idle for ``idle_hours`` and not locking (the last
    TOTP steps stay), expired or used one-time codes older than a day, and expired sessions."""
    at = now()
    with session_scope(engine) as s:
        s.execute(delete(RateLimit).where(
            RateLimit.updated_at < at - timedelta(hours=idle_hours), ~RateLimit.key.startswith("totp:"),
            (RateLimit.locked_until.is_(None)) | (RateLimit.locked_until < at)))
        s.execute(delete(OneTimeCode).where(OneTimeCode.expires_at < at - timedelta(days=1)))
        s.execute(delete(WebSession).where(WebSession.expires_at <= at))


def last_totp_step(s: Session, kind: str, subject: str) -> int | None:
    row = s.get(RateLimit, f"totp:{kind}:{subject}")
    return row.count if row is not None else None


def accept_totp_step(engine: Engine, kind: str, subject: str, step: int) -> bool:
    """Remember ``step`` as used; False when it (or a later one) was already used (a replay that
    raced the first check)."""

    def update(row: RateLimit, at: datetime) -> bool:
        if row.count >= step:  # a new row holds 0, below any real step
            return False
        row.count, row.updated_at = step, at
        return True

    return _with_row(engine, f"totp:{kind}:{subject}", update)
