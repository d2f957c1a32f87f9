"""Exponential ElGamal over the election group: (α, β) = (g^ξ, g^m · K^ξ)."""

from __future__ import annotations

from dataclasses import dataclass

from sivei.crypto.encoding import Encoder, element_from_hex, element_to_hex
from sivei.crypto.fixedbase import FixedBase, fixed_base
from sivei.crypto.group import Group
from sivei.errors import EncodingError
from sivei.i18n import tr


@dataclass(frozen=True)
class Ciphertext:
    alpha: int
    beta: int

    def encode(self, enc: Encoder) -> Encoder:
        return enc.element(self.alpha).element(self.beta)

    def to_json(self, group: Group) -> dict[str, str]:
        return {"alpha": element_to_hex(group, self.alpha), "beta": element_to_hex(group, self.beta)}

    @staticmethod
    def from_json(group: Group, obj: object, what: str, *, membership: bool = True) -> Ciphertext:
        """Parse α and β; ``membership=False`` checks their range only (the caller batches the
        membership test, protocol §3.2)."""
        if not isinstance(obj, dict) or set(obj) != {"alpha", "beta"}:
            raise EncodingError(tr(f"{what}: se esperaba un objeto con alpha y beta",
                                   f"{what}: expected an object with alpha and beta"))
        return Ciphertext(
            element_from_hex(group, obj["alpha"], f"{what}.alpha", membership=membership),
            element_from_hex(group, obj["beta"], f"{what}.beta", membership=membership),
        )


@dataclass(frozen=True)
class ElectionKey:
    """The joint public key K with its group; exponentiations of g and K use fixed-base tables."""

    group: Group
    element: int

    @property
    def g_table(self) -> FixedBase:
        return fixed_base(self.group, self.group.g)

    @property
    def k_table(self) -> FixedBase:
        return fixed_base(self.group, self.element)

    def encrypt(self, m: int, nonce: int) -> Ciphertext:
        """Encrypt a small integer m with nonce ξ (every exponentiation has base g or K)."""
        g = self.g_table
        alpha = g.pow(nonce)
        beta = self.group.mul(g.pow(m), self.k_table.pow(nonce))
        return Ciphertext(alpha, beta)


def add_ciphertexts(group: Group, cts: list[Ciphertext]) -> Ciphertext:
    """Homomorphic sum: component-wise product (the empty sum is the encryption (1, 1) of 0)."""
    return Ciphertext(group.mul(*(c.alpha for c in cts)), group.mul(*(c.beta for c in cts)))
