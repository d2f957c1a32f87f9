import hashlib

import nacl.signing
import pytest

from sivei.crypto import ed25519
from sivei.crypto.ecdsa import P256_ORDER, SoftwareSigner, verify_digest
from sivei.crypto.envelope import Envelope, bundle_hash, seal
from sivei.errors import EncodingError, SignatureError


def test_ecdsa_low_s_and_high_s_rejected() -> None:
    signer = SoftwareSigner()
    digest = hashlib.sha256(b"m").digest()
    sig = signer.sign_digest(digest)
    assert len(sig) == 64
    s = int.from_bytes(sig[32:], "big")
    assert s <= P256_ORDER // 2
    assert verify_digest(signer.public_key, digest, sig)
    high = sig[:32] + (P256_ORDER - s).to_bytes(32, "big")
    assert not verify_digest(signer.public_key, digest, high)
    assert not verify_digest(signer.public_key, hashlib.sha256(b"n").digest(), sig)
    assert not verify_digest(SoftwareSigner().public_key, digest, sig)


def test_envelope_round_trip_and_tamper() -> None:
    signer = SoftwareSigner()
    env = seal(signer, type="t", election_id="e", ceremony_id="c", round=2, sender="guardian-1",
               previous=b"\x01" * 32, body={"x": "ff", "n": 3})
    env.verify(signer.public_key)
    back = Envelope.from_json(env.to_json())
    assert back.content_hash == env.content_hash
    back.verify(signer.public_key)
    for field, value in [("type", "u"), ("election_id", "e2"), ("ceremony_id", "c2"), ("round", 3),
                         ("sender", "guardian-2"), ("previous", "02" * 32), ("body", {"x": "fe", "n": 3})]:
        data = env.to_json()
        data[field] = value
        with pytest.raises(SignatureError, match="ronda"):
            Envelope.from_json(data).verify(signer.public_key)


def test_envelope_rejects_malformed() -> None:
    signer = SoftwareSigner()
    env = seal(signer, type="t", election_id="e", ceremony_id="c", round=0, sender="s",
               previous=bytes(32), body={})
    data = env.to_json()
    data["extra"] = 1
    with pytest.raises(EncodingError):
        Envelope.from_json(data)
    data = env.to_json()
    data["body"] = {"f": 0.5}
    with pytest.raises(EncodingError):
        Envelope.from_json(data)


def test_bundle_hash_covers_order_and_content_not_signature() -> None:
    signer = SoftwareSigner()
    a = seal(signer, type="t", election_id="e", ceremony_id="c", round=0, sender="a", previous=bytes(32), body={})
    b = seal(signer, type="t", election_id="e", ceremony_id="c", round=0, sender="b", previous=bytes(32), body={})
    assert bundle_hash("e", "c", 0, [a, b]) != bundle_hash("e", "c", 0, [b, a])
    resigned = seal(signer, type="t", election_id="e", ceremony_id="c", round=0, sender="a",
                    previous=bytes(32), body={})
    assert resigned.signature != a.signature  # ECDSA is randomised
    assert bundle_hash("e", "c", 0, [a, b]) == bundle_hash("e", "c", 0, [resigned, b])


def test_ed25519_strict() -> None:
    seed = bytes(range(32))
    pk = ed25519.public_key_from_seed(seed)
    sig = ed25519.sign(seed, b"msg")
    assert ed25519.verify(pk, b"msg", sig)
    assert not ed25519.verify(pk, b"msh", sig)
    # small-order point (the identity) and a non-canonical encoding are refused as keys
    identity = (1).to_bytes(32, "little")
    assert not ed25519.is_valid_public_key(identity)
    noncanonical = (2**255 - 19 + 1).to_bytes(32, "little")  # y = p+1 ≡ 1, non-canonical
    assert not ed25519.is_valid_public_key(noncanonical)
    # non-canonical S (S + L) is refused
    order = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(sig[32:], "little")
    bad = sig[:32] + (s + order).to_bytes(32, "little")
    assert not ed25519.verify(pk, b"msg", bad)
    assert bytes(nacl.signing.SigningKey(seed).verify_key) == pk
