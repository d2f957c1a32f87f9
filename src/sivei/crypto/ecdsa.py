"""ECDSA P-256 over SHA-256 digests, raw 64-byte r‖s, low-s: the signature every envelope carries.

This is the mechanism software keys, PKCS#11 tokens (CKM_ECDSA over a digest hashed in Python) and
HSMs share. Signatures are normalised to low s, and a high-s signature is rejected, so a signature has
one valid form. Keys are exchanged as 65-byte uncompressed SEC1 points.
"""

from __future__ import annotations

from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sivei.crypto.encoding import tagged_hash
from sivei.errors import SignatureError
from sivei.i18n import tr

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
PUBLIC_KEY_BYTES = 65
SIGNATURE_BYTES = 64


class Signer(Protocol):
    """Anything that signs digests with a P-256 key: a software key or a PKCS#11 token."""

    @property
    def public_key(self) -> bytes:
        """65-byte uncompressed SEC1 point."""
        ...

    def sign_digest(self, digest: bytes) -> bytes:
        """64-byte r‖s with low s over a 32-byte SHA-256 digest."""
        ...


def normalize_low_s(signature: bytes) -> bytes:
    """Replace s by n − s when s > n/2 (tokens return either form)."""
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if s > P256_ORDER // 2:
        s = P256_ORDER - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class SoftwareSigner:
    """A P-256 key held in memory (drills and tests; ceremonies use PKCS#11 tokens)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey | None = None) -> None:
        self._key = private_key or ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key(self) -> bytes:
        return self._key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def sign_digest(self, digest: bytes) -> bytes:
        der = self._key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        r, s = decode_dss_signature(der)
        return normalize_low_s(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def load_public_key(data: bytes, what: str) -> ec.EllipticCurvePublicKey:
    """Parse a 65-byte uncompressed P-256 point, checking it is on the curve."""
    if len(data) != PUBLIC_KEY_BYTES or data[0] != 4:
        raise SignatureError(tr(f"{what}: la llave pública P-256 debe tener 65 bytes (04‖x‖y)",
                                f"{what}: a P-256 public key must be 65 bytes (04‖x‖y)"))
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)
    except ValueError as exc:
        raise SignatureError(tr(f"{what}: el punto no está en la curva P-256",
                                f"{what}: point is not on the P-256 curve")) from exc


def verify_digest(public_key: bytes, digest: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid low-s r‖s signature of ``digest``."""
    if len(signature) != SIGNATURE_BYTES or len(digest) != 32:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < P256_ORDER and 0 < s <= P256_ORDER // 2):
        return False
    try:
        key = load_public_key(public_key, "key")
        key.verify(encode_dss_signature(r, s), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except (InvalidSignature, SignatureError):
        return False
    return True


def key_fingerprint_digest(public_key: bytes) -> bytes:
    """The hash whose read-aloud form identifies a signing key."""
    return tagged_hash("sivei/signing-key", public_key)
