"""Ed25519 for voters' credentials (pynacl / libsodium), with strict verification.

A credential's signing key is derived from its private credential by the ballot layer; this module
only signs and verifies. Public keys must be canonical points of the prime-order subgroup (no small
order); libsodium's verification rejects non-canonical signatures.
"""

from __future__ import annotations

import nacl.bindings
import nacl.exceptions
import nacl.signing

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def public_key_from_seed(seed: bytes) -> bytes:
    return bytes(nacl.signing.SigningKey(seed).verify_key)


def sign(seed: bytes, message: bytes) -> bytes:
    return bytes(nacl.signing.SigningKey(seed).sign(message).signature)


def is_valid_public_key(public_key: bytes) -> bool:
    """Canonical encoding of a point in the prime-order subgroup, not of small order."""
    return len(public_key) == PUBLIC_KEY_BYTES and bool(
        nacl.bindings.crypto_core_ed25519_is_valid_point(public_key)
    )


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if not is_valid_public_key(public_key) or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        return False
    return True
