"""Voters' usernames: random, issued by the server, never the roll's id (issue 7, item 2).

The roll's ``voter_id`` comes from the registry and may well be sequential (a credential number, a
row number): as a login name it would let anyone walk the whole roll. The server therefore issues
every voter a username of 10 Crockford base-32 characters (50 random bits, shown ``ABCDE-FGHJK``)
when the roll is imported, and emails it with the activation link; ``voter_id`` stays the voter's
stable identity inside the server (sessions, the help desk, the credential authority's binding).
Typing is forgiving: case, spaces and dashes are ignored and the look-alikes I, L → 1 and O → 0 are
read as Crockford does. Anything outside ASCII is refused outright (``ı``.upper() is ``I``: a
username must not have two spellings).
"""

from __future__ import annotations

import secrets

from sivei.crypto.fingerprint import CROCKFORD

USERNAME_CHARS = 10
_LOOKALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_username() -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(USERNAME_CHARS))


def normal_username(typed: str) -> str | None:
    """The stored form of a typed username, or None when it cannot be one (a cheap refusal that never
    reaches the database: wrong characters, NUL bytes, non-ASCII, wrong length)."""
    if len(typed) > 64 or not typed.isascii():
        return None
    compact = "".join(c for c in typed if c not in " -\t").upper().translate(_LOOKALIKES)
    if not 1 <= len(compact) <= 64 or not all(c.isalnum() or c in "._" for c in compact):
        return None
    return compact


def shown(username: str) -> str:
    """``ABCDEFGHJK`` → ``ABCDE-FGHJK`` (other lengths as they are)."""
    if len(username) == USERNAME_CHARS:
        return f"{username[:5]}-{username[5:]}"
    return username
