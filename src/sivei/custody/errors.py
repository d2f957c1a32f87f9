"""Errors of the custody layer. Every message is user-facing (``tr``) and never contains a PIN."""

from __future__ import annotations

from sivei.errors import SiveiError


class CustodyError(SiveiError):
    """A PKCS#11 token, key, PIN or sealed file cannot be used; the message says why."""


class TokenNotFoundError(CustodyError):
    """No token with the requested label is present in the module."""


class PinIncorrectError(CustodyError):
    """The token refused the PIN. Nothing was changed."""


class KeyExistsError(CustodyError):
    """A key with that label already exists in the token (keys are never silently overwritten)."""


class KeyNotFoundError(CustodyError):
    """The token has no key with the requested label."""


class SealInvalidError(CustodyError):
    """A sealed value does not open: altered, bound to other associated data, or sealed by another key."""
