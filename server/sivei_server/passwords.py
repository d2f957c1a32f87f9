"""Password hashing with argon2id (argon2-cffi). ``SIVEI_ARGON2_FAST=1`` lowers the cost for tests
only (thousands of hashes); it is ignored when ``SIVEI_PRODUCTION`` is set."""

from __future__ import annotations

import os

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


def _hasher() -> PasswordHasher:
    fast = os.environ.get("SIVEI_ARGON2_FAST") == "1" and os.environ.get("SIVEI_PRODUCTION", "") in ("", "0")
    if fast:
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)
    return PasswordHasher(type=Type.ID)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)
