"""Non-interactive zero-knowledge proofs (Fiat–Shamir over the canonical encoding).

Every proof carries its commitments, so a verifier recomputes the challenge
c = H(tag, context ‖ statement ‖ bases ‖ public values ‖ commitments) mod q and checks the
verification equations (and, later, can batch them). ``statement`` is the caller's extra binding
(guardian and coefficient index, credential, contest and option index ...); the proof functions
always add the bases and public values themselves so a caller cannot forget them.

Responses are v = u − c·x mod q; checks are a = base^v · X^c. ``verify_*`` check one proof exactly;
``batch_*`` recompute the challenge and its per-proof conditions and add the proof's equations to a
``BatchVerifier`` (protocol §8.5), in terms of base indices of that batch.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sivei.crypto.batch import BatchVerifier, L
from sivei.crypto.elgamal import Ciphertext, ElectionKey
from sivei.crypto.encoding import (
    Encoder,
    commitment_from_hex,
    element_to_hex,
    hash_to_scalar,
    scalar_from_hex,
    scalar_to_hex,
)
from sivei.crypto.group import Group
from sivei.errors import EncodingError
from sivei.i18n import tr

Exp = Callable[[int], int]
"""An exponentiation with a fixed base: a fixed-base table's ``pow`` or a plain ``powmod``."""
Terms = Sequence[tuple[int, int]]
"""A product Π base^exponent over base indices of a ``BatchVerifier``."""

TAG_SCHNORR = "sivei/proof/schnorr"
TAG_CHAUM_PEDERSEN = "sivei/proof/chaum-pedersen"
TAG_ZERO_ONE = "sivei/proof/zero-one"


def random_scalar(group: Group) -> int:
    return secrets.randbelow(group.q)


def _check_keys(obj: object, keys: set[str], what: str) -> dict[str, object]:
    if not isinstance(obj, dict) or set(obj) != keys:
        raise EncodingError(tr(f"{what}: se esperaban exactamente los campos {sorted(keys)}",
                               f"{what}: expected exactly the fields {sorted(keys)}"))
    return obj


# -- Schnorr: knowledge of x with X = g^x ------------------------------------------------------


@dataclass(frozen=True)
class SchnorrProof:
    commitment: int
    response: int

    def to_json(self, group: Group) -> dict[str, str]:
        return {"commitment": element_to_hex(group, self.commitment),
                "response": scalar_to_hex(self.response)}

    @staticmethod
    def from_json(group: Group, obj: object, what: str) -> SchnorrProof:
        d = _check_keys(obj, {"commitment", "response"}, what)
        return SchnorrProof(commitment_from_hex(group, d["commitment"], f"{what}.commitment"),
                            scalar_from_hex(group, d["response"], f"{what}.response"))


def _schnorr_challenge(group: Group, context: bytes, statement: bytes, public: int,
                       commitment: int) -> int:
    data = (Encoder(group).fixed(context, 32).raw(statement)
            .element(group.g).element(public).element(commitment).to_bytes())
    return hash_to_scalar(group, TAG_SCHNORR, data)


def prove_schnorr(group: Group, secret: int, public: int, *, context: bytes, statement: bytes,
                  nonce: int | None = None) -> SchnorrProof:
    u = random_scalar(group) if nonce is None else nonce
    h = group.pow_secret(group.g, u)
    c = _schnorr_challenge(group, context, statement, public, h)
    return SchnorrProof(h, (u - c * secret) % group.q)


def verify_schnorr(group: Group, proof: SchnorrProof, public: int, *, context: bytes,
                   statement: bytes) -> bool:
    c = _schnorr_challenge(group, context, statement, public, proof.commitment)
    return proof.commitment == group.mul(group.g_pow(proof.response), group.pow(public, c))


# -- Chaum–Pedersen: log_g X = log_h Y ----------------------------------------------------------


@dataclass(frozen=True)
class ChaumPedersenProof:
    commitment_g: int  # a = g^u
    commitment_h: int  # b = h^u
    response: int

    def to_json(self, group: Group) -> dict[str, str]:
        return {"commitment_g": element_to_hex(group, self.commitment_g),
                "commitment_h": element_to_hex(group, self.commitment_h),
                "response": scalar_to_hex(self.response)}

    @staticmethod
    def from_json(group: Group, obj: object, what: str) -> ChaumPedersenProof:
        d = _check_keys(obj, {"commitment_g", "commitment_h", "response"}, what)
        return ChaumPedersenProof(
            commitment_from_hex(group, d["commitment_g"], f"{what}.commitment_g"),
            commitment_from_hex(group, d["commitment_h"], f"{what}.commitment_h"),
            scalar_from_hex(group, d["response"], f"{what}.response"),
        )


def _cp_challenge(group: Group, context: bytes, statement: bytes, h: int, x: int, y: int,
                  a: int, b: int) -> int:
    data = (Encoder(group).fixed(context, 32).raw(statement).element(group.g).element(h)
            .element(x).element(y).element(a).element(b).to_bytes())
    return hash_to_scalar(group, TAG_CHAUM_PEDERSEN, data)


def prove_chaum_pedersen(group: Group, secret: int, h: int, x: int, y: int, *, context: bytes,
                         statement: bytes, nonce: int | None = None, pow_g: Exp | None = None,
                         pow_h: Exp | None = None) -> ChaumPedersenProof:
    """Prove X = g^s and Y = h^s. Without ``pow_g``/``pow_h`` the constant-time path is used
    (for guardians' secret shares); ballots pass fixed-base tables for g and K."""
    u = random_scalar(group) if nonce is None else nonce
    a = pow_g(u) if pow_g else group.pow_secret(group.g, u)
    b = pow_h(u) if pow_h else group.pow_secret(h, u)
    c = _cp_challenge(group, context, statement, h, x, y, a, b)
    return ChaumPedersenProof(a, b, (u - c * secret) % group.q)


def verify_chaum_pedersen(group: Group, proof: ChaumPedersenProof, h: int, x: int, y: int, *,
                          context: bytes, statement: bytes, pow_h: Exp | None = None) -> bool:
    c = _cp_challenge(group, context, statement, h, x, y, proof.commitment_g, proof.commitment_h)
    v = proof.response
    hv = pow_h(v) if pow_h else group.pow(h, v)
    return (proof.commitment_g == group.mul(group.g_pow(v), group.pow(x, c))
            and proof.commitment_h == group.mul(hv, group.pow(y, c)))


def batch_chaum_pedersen(batch: BatchVerifier[L], label: L, proof: ChaumPedersenProof, h: int, x: int,
                         y: int, *, context: bytes, statement: bytes, g: int, h_terms: Terms,
                         x_terms: Terms, y_terms: Terms) -> None:
    """Add a = g^v·X^c and b = h^v·Y^c to ``batch``. ``h``, ``x``, ``y`` are the values the challenge
    covers; ``g`` and the ``*_terms`` give the same values as products of the batch's bases (the sum
    proof's X = Π α_o is expanded into its factors, so no product needs its own exponentiation)."""
    c = _cp_challenge(batch.group, context, statement, h, x, y, proof.commitment_g, proof.commitment_h)
    v = proof.response
    batch.equation(label, proof.commitment_g, [(g, v), *((b, e * c) for b, e in x_terms)])
    batch.equation(label, proof.commitment_h, [*((b, e * v) for b, e in h_terms),
                                              *((b, e * c) for b, e in y_terms)])


# -- Disjunctive 0/1 proof on an ElGamal ciphertext ---------------------------------------------


@dataclass(frozen=True)
class ZeroOneNonces:
    """The three nonces of a 0/1 proof, derived from the ballot nonce by the caller."""

    real_commitment: int  # u for the true branch
    fake_challenge: int  # c_k for the simulated branch
    fake_commitment: int  # u_k = v_k + ξ·c_k for the simulated branch


@dataclass(frozen=True)
class ZeroOneProof:
    a0: int
    b0: int
    a1: int
    b1: int
    c0: int
    c1: int
    v0: int
    v1: int

    def to_json(self, group: Group) -> dict[str, str]:
        return {
            "a0": element_to_hex(group, self.a0), "b0": element_to_hex(group, self.b0),
            "a1": element_to_hex(group, self.a1), "b1": element_to_hex(group, self.b1),
            "c0": scalar_to_hex(self.c0), "c1": scalar_to_hex(self.c1),
            "v0": scalar_to_hex(self.v0), "v1": scalar_to_hex(self.v1),
        }

    @staticmethod
    def from_json(group: Group, obj: object, what: str) -> ZeroOneProof:
        d = _check_keys(obj, {"a0", "b0", "a1", "b1", "c0", "c1", "v0", "v1"}, what)
        el = {k: commitment_from_hex(group, d[k], f"{what}.{k}") for k in ("a0", "b0", "a1", "b1")}
        sc = {k: scalar_from_hex(group, d[k], f"{what}.{k}") for k in ("c0", "c1", "v0", "v1")}
        return ZeroOneProof(el["a0"], el["b0"], el["a1"], el["b1"],
                            sc["c0"], sc["c1"], sc["v0"], sc["v1"])


def _zero_one_challenge(key: ElectionKey, context: bytes, statement: bytes, ct: Ciphertext,
                        a0: int, b0: int, a1: int, b1: int) -> int:
    enc = Encoder(key.group).fixed(context, 32).raw(statement).element(key.group.g)
    enc.element(key.element).element(ct.alpha).element(ct.beta)
    enc.element(a0).element(b0).element(a1).element(b1)
    return hash_to_scalar(key.group, TAG_ZERO_ONE, enc.to_bytes())


def prove_zero_one(key: ElectionKey, ct: Ciphertext, m: int, xi: int, nonces: ZeroOneNonces, *,
                   context: bytes, statement: bytes) -> ZeroOneProof:
    """Prove that ``ct`` encrypts 0 or 1. The simulated branch k ≠ m is filled with the known
    nonce ξ: a_k = g^{u_k}, b_k = K^{u_k}·g^{(m−k)c_k}, v_k = u_k − ξ·c_k, so every
    exponentiation has base g or K."""
    if m not in (0, 1):
        raise ValueError("m must be 0 or 1")
    group, q = key.group, key.group.q
    g, kt = key.g_table, key.k_table
    k = 1 - m
    u, ck, uk = nonces.real_commitment, nonces.fake_challenge, nonces.fake_commitment
    a_real, b_real = g.pow(u), kt.pow(u)
    a_fake = g.pow(uk)
    b_fake = group.mul(kt.pow(uk), g.pow(((m - k) * ck) % q))
    if m == 0:
        a0, b0, a1, b1 = a_real, b_real, a_fake, b_fake
    else:
        a0, b0, a1, b1 = a_fake, b_fake, a_real, b_real
    c = _zero_one_challenge(key, context, statement, ct, a0, b0, a1, b1)
    cm = (c - ck) % q
    v_real = (u - cm * xi) % q
    v_fake = (uk - ck * xi) % q
    if m == 0:
        return ZeroOneProof(a0, b0, a1, b1, cm, ck, v_real, v_fake)
    return ZeroOneProof(a0, b0, a1, b1, ck, cm, v_fake, v_real)


def verify_zero_one(key: ElectionKey, ct: Ciphertext, proof: ZeroOneProof, *, context: bytes,
                    statement: bytes) -> bool:
    group = key.group
    c = _zero_one_challenge(key, context, statement, ct, proof.a0, proof.b0, proof.a1, proof.b1)
    if (proof.c0 + proof.c1) % group.q != c:
        return False
    g, kt = key.g_table, key.k_table
    beta_over_g = group.div(ct.beta, group.g)
    return (
        proof.a0 == group.mul(g.pow(proof.v0), group.pow(ct.alpha, proof.c0))
        and proof.b0 == group.mul(kt.pow(proof.v0), group.pow(ct.beta, proof.c0))
        and proof.a1 == group.mul(g.pow(proof.v1), group.pow(ct.alpha, proof.c1))
        and proof.b1 == group.mul(kt.pow(proof.v1), group.pow(beta_over_g, proof.c1))
    )


def batch_zero_one(batch: BatchVerifier[L], label: L, key: ElectionKey, ct: Ciphertext, proof: ZeroOneProof,
                   *, context: bytes, statement: bytes, g: int, k: int, alpha: int, beta: int) -> bool:
    """Check c0 + c1 ≡ c (never batched) and add the four equations of a 0/1 proof to ``batch``, with
    (β/g)^{c1} written β^{c1}·g^{−c1} (no inverse). ``g``, ``k``, ``alpha``, ``beta`` are the batch's
    base indices of g, K, α and β. False (nothing added) when the challenges do not add up."""
    c = _zero_one_challenge(key, context, statement, ct, proof.a0, proof.b0, proof.a1, proof.b1)
    if (proof.c0 + proof.c1) % key.group.q != c:
        return False
    batch.equation(label, proof.a0, ((g, proof.v0), (alpha, proof.c0)))
    batch.equation(label, proof.b0, ((k, proof.v0), (beta, proof.c0)))
    batch.equation(label, proof.a1, ((g, proof.v1), (alpha, proof.c1)))
    batch.equation(label, proof.b1, ((k, proof.v1), (beta, proof.c1), (g, -proof.c1)))
    return True
