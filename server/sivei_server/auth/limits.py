"""Rate limits and throttles, kept in the database (table ``rate_limits``) so every worker sees the
same counters. Each update is its own short write transaction (SQLite ``BEGIN IMMEDIATE``;
PostgreSQL ``SELECT … FOR UPDATE`` on the row), committed at once, so a failure counts even when the
request fails later.

Throttle, never lock (issue 7, item 2). A lock on an account is a weapon: anyone who knows a
username could shut a voter out during the voting window. So failures are counted per ACCOUNT AND
CLIENT ADDRESS (``guard_key``; IPv6 by its /64): after ``throttle_free_failures`` failures that pair
must wait ``throttle_base_seconds · 2^k`` (at most ``throttle_max_seconds``) between attempts, and a
throttled attempt is answered 429 without checking anything (no password hash is computed for it).
The same voter from another address is not slowed at all. Guessing is bounded by the pairs an
attacker controls times a few attempts each per quarter hour, by ``ip:<address>`` (all
authentication posts per address) and, behind the password, by the second factor: codes are limited
per account (``codigo:<kind>:<id>``, only reachable with the password), at most 3 SMS per voter per
hour (``sms:<voter>``).

Keys
    * ``par:<kind>:<sha256(account)[:24]>:<address>`` — failures of one account from one address.
      Unknown usernames are counted the same way (a throttle reveals nothing).
    * ``codigo:<kind>:<id>`` — wrong codes for an account, whatever the address.
    * ``ip:<address>`` — authentication posts per client address per window.
    * ``sms:<voter>`` — SMS codes sent per voter per hour.
    * ``restablecer:<hash>`` — password-reset requests per typed username per hour.
    * ``totp:<kind>:<id>`` — the last accepted TOTP step (``count``), against replays (kept).
"""

from __future__ import annotations

import hashlib
import ipaddress
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


def address_bucket(address: str) -> str:
    """An IPv4 address as it is; an IPv6 address by its /64 (one host usually owns the whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def account_digest(kind: str, account: str) -> str:
    return hashlib.sha256(f"{kind}:{account}".encode("utf-8", "replace")).hexdigest()[:24]


def guard_key(kind: str, account: str, address: str) -> str:
    """The throttle of one account from one client address. ``account`` is the account's stable id
    when it exists, else the normalized name typed."""
    return f"par:{kind}:{account_digest(kind, account)}:{address_bucket(address)}"


def code_key(kind: str, subject: str) -> str:
    return f"codigo:{kind}:{subject}"


def ip_key(address: str) -> str:
    return f"ip:{address_bucket(address)}"


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


def throttled_until(engine: Engine, *keys: str) -> datetime | None:
    """When any of ``keys`` is throttled, until when (the latest); else None."""
    at = now()
    with session_scope(engine) as s:
        rows = s.scalars(select(RateLimit.locked_until).where(RateLimit.key.in_(keys))).all()
    found = [u for u in rows if u is not None and u > at]
    return max(found) if found else None


@dataclass(frozen=True)
class Failure:
    throttled_until: datetime | None
    failures: int


def record_failure(engine: Engine, key: str, settings: AuthSettings, *, free: int | None = None) -> Failure:
    """Count one failure of ``key``; beyond ``free`` failures (default ``throttle_free_failures``)
    the key waits ``base · 2^k`` seconds (at most ``max``) before its next attempt. Failures fade
    after ``throttle_window_hours`` without any."""
    allowed = settings.throttle_free_failures if free is None else free

    def update(row: RateLimit, at: datetime) -> Failure:
        if row.locked_until is not None and row.locked_until > at:
            return Failure(row.locked_until, row.failures)
        if row.updated_at < at - timedelta(hours=settings.throttle_window_hours):
            row.failures = 0
        row.failures += 1
        row.updated_at = at
        row.locked_until = None
        if row.failures >= allowed:
            step = min(row.failures - allowed, 30)
            seconds = min(settings.throttle_base_seconds * 2 ** step, settings.throttle_max_seconds)
            row.locked_until = at + timedelta(seconds=seconds)
        return Failure(row.locked_until, row.failures)

    return _with_row(engine, key, update)


def record_success(engine: Engine, *keys: str) -> None:
    with session_scope(engine) as s:
        s.execute(delete(RateLimit).where(RateLimit.key.in_(keys)))


def account_prefixes(kind: str, account: str) -> tuple[str, str]:
    """The key prefixes of every throttle of one account (all its addresses, and its codes)."""
    return f"par:{kind}:{account_digest(kind, account)}:", code_key(kind, account)


def account_throttled_until(engine: Engine, kind: str, account: str) -> datetime | None:
    """The latest throttle in force on any address of this account, or on its codes."""
    at = now()
    found: list[datetime] = []
    with session_scope(engine) as s:
        for prefix in account_prefixes(kind, account):
            found += [u for u in s.scalars(select(RateLimit.locked_until).where(
                RateLimit.key.startswith(prefix, autoescape=True))) if u is not None and u > at]
    return max(found) if found else None


def clear_prefix(engine: Engine, prefix: str) -> int:
    """Lift every throttle whose key starts with ``prefix`` (help desk). Returns how many were in force."""
    at = now()
    with session_scope(engine) as s:
        rows = s.scalars(select(RateLimit).where(RateLimit.key.startswith(prefix, autoescape=True))).all()
        active = sum(1 for r in rows if r.locked_until is not None and r.locked_until > at)
        s.execute(delete(RateLimit).where(RateLimit.key.startswith(prefix, autoescape=True)))
    return active


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
