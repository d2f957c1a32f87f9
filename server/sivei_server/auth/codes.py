"""Secrets of the authentication flows: link tokens, one-time codes, TOTP and password hashing.

* Link tokens (activation, password reset) are 256-bit random values; the database keeps their
  SHA-256 only (a random 256-bit value needs no slow hash).
* SMS codes are 6 random digits, stored as a keyed MAC (``hmac$salt$digest``, the key outside the
  database: ``sivei_server.secrets_key``); a code lives 5 minutes and allows 5 tries.
* TOTP (RFC 6238, pyotp): 30-second steps, one step of drift either way, and each accepted step is
  remembered so a code cannot be replayed.
* Passwords: argon2id (argon2-cffi) with the parameters from ``AuthSettings``. Unknown users are
  checked against a dummy hash of the same cost, so answering takes as long for them.
* Every comparison of secrets is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from datetime import datetime

import pyotp
import segno
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sivei_server.auth.settings import AuthSettings

TOTP_ISSUER = "SIVEI"
TOTP_DRIFT_STEPS = 1


def new_token() -> tuple[str, str]:
    """A fresh link token and the SHA-256 (hex) the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"




def normal_code(text: str) -> str | None:
    """The six digits the voter typed (spaces and dashes ignored), or None."""
    digits = "".join(c for c in text if c not in " -\u00a0\t")
    return digits if len(digits) == 6 and digits.isascii() and digits.isdigit() else None


# -- TOTP ----------------------------------------------------------------------------------------------

def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=TOTP_ISSUER)


def totp_qr_svg(secret: str, account: str) -> str:
    """The provisioning URI as an inline SVG QR code (no script, no style attribute: CSP-safe)."""
    qr = segno.make(totp_uri(secret, account), error="m")
    svg: str = qr.svg_inline(scale=5, border=4, dark="#000000", light="#ffffff", omitsize=True)
    return svg


def totp_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step this code belongs to when it is valid at ``at`` (±1 step) and newer than
    ``last_step`` (no replay); None otherwise."""
    totp = pyotp.TOTP(secret)
    base = totp.timecode(at)
    found: int | None = None
    for offset in range(-TOTP_DRIFT_STEPS, TOTP_DRIFT_STEPS + 1):
        step = base + offset
        # Compare against every candidate (no early exit) to keep the timing flat.
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()) and (
                last_step is None or step > last_step):
            found = step
    return found


def totp_now(secret: str, at: datetime) -> str:
    """The current code (tests and drills)."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(at))


# -- passwords --------------------------------------------------------------------------------------------

_hashers: dict[tuple[int, int, int], tuple[PasswordHasher, str]] = {}
_hashers_lock = threading.Lock()


def _hasher(settings: AuthSettings) -> tuple[PasswordHasher, str]:
    key = (settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism)
    with _hashers_lock:
        found = _hashers.get(key)
    if found is None:
        hasher = PasswordHasher(time_cost=key[0], memory_cost=key[1], parallelism=key[2], type=Type.ID)
        found = (hasher, hasher.hash(secrets.token_urlsafe(16)))
        with _hashers_lock:
            _hashers[key] = found
    return found


def hash_password(settings: AuthSettings, password: str) -> str:
    return _hasher(settings)[0].hash(password)


def verify_password(settings: AuthSettings, stored_hash: str | None, password: str) -> bool:
    """Check a password; with no stored hash (unknown or inactive user) spend the same time on a
    dummy hash and answer False."""
    hasher, dummy = _hasher(settings)
    target = stored_hash if stored_hash else dummy
    ok: bool
    try:
        ok = hasher.verify(target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    return ok and bool(stored_hash)


def needs_rehash(settings: AuthSettings, stored_hash: str) -> bool:
    try:
        return _hasher(settings)[0].check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False
