"""The signed message envelope that every protocol message travels in.

An envelope binds a message's type, election id, ceremony id, round, sender and the hash of the
previous bundle to its body, and is signed (ECDSA P-256, low-s r‖s) over
``H("sivei/envelope", type ‖ election ‖ ceremony ‖ round ‖ sender ‖ previous ‖ canonical_json(body))``.
Hashes that chain envelopes and bundles cover that signed content, never the signature bytes, so
a re-signature cannot change a chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sivei.crypto.ecdsa import SIGNATURE_BYTES, Signer, verify_digest
from sivei.crypto.encoding import Encoder, canonical_json, hex_to_bytes, tagged_hash
from sivei.errors import EncodingError, SignatureError
from sivei.i18n import tr

TAG_ENVELOPE = "sivei/envelope"
TAG_BUNDLE = "sivei/bundle"
_FIELDS = {"type", "election_id", "ceremony_id", "round", "sender", "previous", "body", "signature"}


@dataclass(frozen=True, eq=False)
class Envelope:
    type: str
    election_id: str
    ceremony_id: str
    round: int
    sender: str
    previous: bytes
    body: Mapping[str, Any]
    signature: bytes

    @property
    def content_hash(self) -> bytes:
        """Hash of the signed content (what is signed and what chains refer to)."""
        return envelope_content_hash(self.type, self.election_id, self.ceremony_id, self.round,
                                     self.sender, self.previous, self.body)

    def verify(self, public_key: bytes) -> None:
        """Raise ``SignatureError`` naming the sender and round when the signature is invalid."""
        if not verify_digest(public_key, self.content_hash, self.signature):
            raise SignatureError(
                tr(f"firma inválida en el mensaje «{self.type}» de {self.sender} "
                   f"(ronda {self.round})",
                   f"invalid signature on the «{self.type}» message from {self.sender} "
                   f"(round {self.round})")
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type, "election_id": self.election_id, "ceremony_id": self.ceremony_id,
            "round": self.round, "sender": self.sender, "previous": self.previous.hex(),
            "body": dict(self.body), "signature": self.signature.hex(),
        }

    @staticmethod
    def from_json(obj: object, what: str = "envelope") -> Envelope:
        if not isinstance(obj, dict) or set(obj) != _FIELDS:
            raise EncodingError(tr(f"{what}: se esperaban exactamente los campos {sorted(_FIELDS)}",
                                   f"{what}: expected exactly the fields {sorted(_FIELDS)}"))
        for key in ("type", "election_id", "ceremony_id", "sender"):
            if not isinstance(obj[key], str):
                raise EncodingError(tr(f"{what}.{key}: se esperaba texto",
                                       f"{what}.{key}: expected a string"))
        rnd = obj["round"]
        if not isinstance(rnd, int) or isinstance(rnd, bool) or not 0 <= rnd < 2**32:
            raise EncodingError(tr(f"{what}.round: entero no válido",
                                   f"{what}.round: invalid integer"))
        if not isinstance(obj["body"], dict):
            raise EncodingError(tr(f"{what}.body: se esperaba un objeto",
                                   f"{what}.body: expected an object"))
        canonical_json(obj["body"])  # rejects floats and non-ASCII keys
        return Envelope(
            type=obj["type"], election_id=obj["election_id"], ceremony_id=obj["ceremony_id"],
            round=rnd, sender=obj["sender"],
            previous=hex_to_bytes(obj["previous"], 32, f"{what}.previous"),
            body=obj["body"],
            signature=hex_to_bytes(obj["signature"], SIGNATURE_BYTES, f"{what}.signature"),
        )


def envelope_content_hash(type_: str, election_id: str, ceremony_id: str, round_: int,
                          sender: str, previous: bytes, body: Mapping[str, Any]) -> bytes:
    data = (Encoder().string(type_).string(election_id).string(ceremony_id).u32(round_)
            .string(sender).fixed(previous, 32).blob(canonical_json(dict(body))).to_bytes())
    return tagged_hash(TAG_ENVELOPE, data)


def seal(signer: Signer, *, type: str, election_id: str, ceremony_id: str, round: int,
         sender: str, previous: bytes, body: Mapping[str, Any]) -> Envelope:
    """Sign a message body into an envelope."""
    digest = envelope_content_hash(type, election_id, ceremony_id, round, sender, previous, body)
    return Envelope(type, election_id, ceremony_id, round, sender, previous, dict(body),
                    signer.sign_digest(digest))


def bundle_hash(election_id: str, ceremony_id: str, round_: int,
                envelopes: Sequence[Envelope]) -> bytes:
    """Hash of one round's bundle: the content hashes of its envelopes, in the given order."""
    enc = Encoder().string(election_id).string(ceremony_id).u32(round_).u32(len(envelopes))
    for env in envelopes:
        enc.fixed(env.content_hash, 32)
    return tagged_hash(TAG_BUNDLE, enc.to_bytes())
