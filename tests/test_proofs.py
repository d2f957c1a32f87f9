"""Completeness of every proof and rejection of every single-field mutation (test group)."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sivei.crypto.elgamal import Ciphertext, ElectionKey
from sivei.crypto.encoding import Encoder
from sivei.crypto.group import TEST_GROUP as G
from sivei.crypto.proofs import (
    ChaumPedersenProof,
    SchnorrProof,
    ZeroOneNonces,
    ZeroOneProof,
    prove_chaum_pedersen,
    prove_schnorr,
    prove_zero_one,
    random_scalar,
    verify_chaum_pedersen,
    verify_schnorr,
    verify_zero_one,
)

CTX = b"\x07" * 32
STMT = Encoder().u32(1).u32(2).to_bytes()
scalars = st.integers(min_value=1, max_value=G.q - 1)


def mutations(proof: object) -> list[object]:
    """Every proof with exactly one field changed (elements multiplied by g, scalars +1)."""
    out = []
    for f in dataclasses.fields(proof):  # type: ignore[arg-type]
        value = getattr(proof, f.name)
        is_scalar = f.name.startswith(("c", "v")) or f.name == "response"
        new = (value + 1) % G.q if is_scalar else G.mul(value, G.g)
        out.append(dataclasses.replace(proof, **{f.name: new}))  # type: ignore[type-var]
    return out


@given(scalars)
def test_schnorr(secret: int) -> None:
    public = G.g_pow(secret)
    proof = prove_schnorr(G, secret, public, context=CTX, statement=STMT)
    assert verify_schnorr(G, proof, public, context=CTX, statement=STMT)
    assert not verify_schnorr(G, proof, public, context=b"\x08" * 32, statement=STMT)
    assert not verify_schnorr(G, proof, public, context=CTX, statement=Encoder().u32(1).u32(3).to_bytes())
    assert not verify_schnorr(G, proof, G.mul(public, G.g), context=CTX, statement=STMT)
    for bad in mutations(proof):
        assert isinstance(bad, SchnorrProof)
        assert not verify_schnorr(G, bad, public, context=CTX, statement=STMT)
    assert SchnorrProof.from_json(G, proof.to_json(G), "p") == proof


@given(scalars, scalars)
def test_chaum_pedersen(secret: int, h_exp: int) -> None:
    h = G.g_pow(h_exp)
    x, y = G.g_pow(secret), G.pow(h, secret)
    proof = prove_chaum_pedersen(G, secret, h, x, y, context=CTX, statement=STMT)
    assert verify_chaum_pedersen(G, proof, h, x, y, context=CTX, statement=STMT)
    assert not verify_chaum_pedersen(G, proof, h, x, G.mul(y, G.g), context=CTX, statement=STMT)
    for bad in mutations(proof):
        assert isinstance(bad, ChaumPedersenProof)
        assert not verify_chaum_pedersen(G, bad, h, x, y, context=CTX, statement=STMT)
    assert ChaumPedersenProof.from_json(G, proof.to_json(G), "p") == proof


def test_chaum_pedersen_unequal_logs_fail() -> None:
    s = random_scalar(G)
    h = G.g_pow(random_scalar(G))
    proof = prove_chaum_pedersen(G, s, h, G.g_pow(s), G.pow(h, s + 1), context=CTX, statement=STMT)
    assert not verify_chaum_pedersen(G, proof, h, G.g_pow(s), G.pow(h, s + 1), context=CTX, statement=STMT)


@given(st.sampled_from([0, 1]), scalars, scalars)
def test_zero_one(m: int, secret: int, xi: int) -> None:
    key = ElectionKey(G, G.g_pow(secret))
    ct = key.encrypt(m, xi)
    assert ct == Ciphertext(G.g_pow(xi), G.mul(G.g_pow(m), G.pow(key.element, xi)))
    nonces = ZeroOneNonces(random_scalar(G), random_scalar(G), random_scalar(G))
    proof = prove_zero_one(key, ct, m, xi, nonces, context=CTX, statement=STMT)
    assert verify_zero_one(key, ct, proof, context=CTX, statement=STMT)
    assert not verify_zero_one(key, ct, proof, context=CTX, statement=Encoder().u32(9).to_bytes())
    for bad in mutations(proof):
        assert isinstance(bad, ZeroOneProof)
        assert not verify_zero_one(key, ct, bad, context=CTX, statement=STMT)
    assert not verify_zero_one(key, Ciphertext(ct.alpha, G.mul(ct.beta, G.g)), proof, context=CTX, statement=STMT)
    assert ZeroOneProof.from_json(G, proof.to_json(G), "p") == proof


def test_zero_one_cannot_prove_two() -> None:
    key = ElectionKey(G, G.g_pow(random_scalar(G)))
    xi = random_scalar(G)
    ct = key.encrypt(2, xi)
    nonces = ZeroOneNonces(random_scalar(G), random_scalar(G), random_scalar(G))
    for claimed in (0, 1):
        proof = prove_zero_one(key, ct, claimed, xi, nonces, context=CTX, statement=STMT)
        assert not verify_zero_one(key, ct, proof, context=CTX, statement=STMT)


def test_proof_json_rejects_extra_fields() -> None:
    s = random_scalar(G)
    proof = prove_schnorr(G, s, G.g_pow(s), context=CTX, statement=STMT)
    data = proof.to_json(G)
    data["challenge"] = "00" * 32
    with pytest.raises(Exception, match="campos"):
        SchnorrProof.from_json(G, data, "p")
