"""Threshold decryption: shares, proofs, Lagrange weights, combination; DKG + decryption end to end."""

from __future__ import annotations

import dataclasses
import secrets
import time
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sivei.crypto.decryption import (
    DecryptionError,
    DecryptionShare,
    combine_shares,
    compute_share,
    lagrange_coefficient,
    verify_and_combine,
    verify_share,
)
from sivei.crypto.dkg import CeremonyRun, run_ceremony, verify_transcript
from sivei.crypto.dlog import discrete_log
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.elgamal import Ciphertext, ElectionKey, add_ciphertexts
from sivei.crypto.encoding import Encoder, element_to_hex, tagged_hash
from sivei.crypto.group import PRODUCTION_GROUP, TEST_GROUP, Group
from sivei.crypto.proofs import prove_chaum_pedersen, verify_chaum_pedersen
from sivei.errors import EncodingError

G = TEST_GROUP
EID, CID = "pef-2027", "ceremonia-1"
HB = tagged_hash("test/h_b", b"manifest")
HE = tagged_hash("test/h_e", b"election")


@cache
def ceremony(n: int, t: int) -> CeremonyRun:
    return run_ceremony(G, EID, CID, HB, n, t, [SoftwareSigner() for _ in range(n)])


def encrypt(group: Group, joint_key: int, m: int) -> Ciphertext:
    return ElectionKey(group, joint_key).encrypt(m, secrets.randbelow(group.q))


# -- end to end -----------------------------------------------------------------------------------


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_dkg_then_threshold_decryption(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 7), label="n")
    t = data.draw(st.integers(1, n), label="t")
    _, out, shares = ceremony(n, t)
    m = data.draw(st.integers(0, 50), label="m")
    ct = encrypt(G, out.joint_key, m)
    present = data.draw(st.lists(st.integers(1, n), min_size=t, max_size=n, unique=True),
                        label="present")
    ds = [compute_share(G, i, shares[i - 1], out.guardian_keys[i - 1], ct, HE) for i in present]
    assert all(verify_share(G, d, out.guardian_keys[d.guardian - 1], ct, HE) for d in ds)
    gm = verify_and_combine(G, ct, ds, out.guardian_keys, HE, t=t)
    assert gm == G.g_pow(m)
    assert discrete_log(G, gm, 50) == m
    # exactly t of them also suffice; t − 1 do not
    subset = data.draw(st.permutations(ds), label="order")[:t]
    assert combine_shares(G, ct, subset, n=n, t=t) == gm
    with pytest.raises(DecryptionError):
        combine_shares(G, ct, subset[:-1], n=n, t=t)


def test_homomorphic_tally_decrypts() -> None:
    _, out, shares = ceremony(5, 3)
    votes = [secrets.randbelow(2) for _ in range(20)]
    total = add_ciphertexts(G, [encrypt(G, out.joint_key, v) for v in votes])
    ds = [compute_share(G, i, shares[i - 1], out.guardian_keys[i - 1], total, HE) for i in (2, 4, 5)]
    assert discrete_log(G, combine_shares(G, total, ds, n=5, t=3), len(votes)) == sum(votes)


# -- shares and proofs ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_share() -> tuple[DecryptionShare, int, Ciphertext]:
    _, out, shares = ceremony(3, 2)
    ct = encrypt(G, out.joint_key, 3)
    return compute_share(G, 2, shares[1], out.guardian_keys[1], ct, HE), out.guardian_keys[1], ct


def test_share_proof_complete_and_bound(one_share: tuple[DecryptionShare, int, Ciphertext]) -> None:
    share, key, ct = one_share
    assert verify_share(G, share, key, ct, HE)
    assert not verify_share(G, share, key, ct, tagged_hash("x", b""))  # other H_E
    assert not verify_share(G, share, G.mul(key, G.g), ct, HE)  # other K_i
    assert not verify_share(G, share, key, Ciphertext(ct.alpha, G.mul(ct.beta, G.g)), HE)  # other B
    assert not verify_share(G, share, key, Ciphertext(G.mul(ct.alpha, G.g), ct.beta), HE)  # other A


def test_every_single_field_mutation_rejected(one_share: tuple[DecryptionShare, int, Ciphertext]) -> None:
    share, key, ct = one_share
    mutants = [
        dataclasses.replace(share, guardian=1),
        dataclasses.replace(share, guardian=3),
        dataclasses.replace(share, share=G.mul(share.share, G.g)),
        dataclasses.replace(share, share=G.p - 1),
    ]
    for f in dataclasses.fields(share.proof):
        v = getattr(share.proof, f.name)
        new = (v + 1) % G.q if f.name == "response" else G.mul(v, G.g)
        mutants.append(dataclasses.replace(share, proof=dataclasses.replace(share.proof,
                                                                            **{f.name: new})))
    for bad in mutants:
        assert not verify_share(G, bad, key, ct, HE), bad


def test_share_outside_subgroup_rejected_even_with_a_passing_proof() -> None:
    """M' = −M (order-2 component): an honest-looking proof verifies for M' whenever the challenge
    is even, so only the membership check stops it."""
    _, out, shares = ceremony(3, 2)
    ct = encrypt(G, out.joint_key, 1)
    honest = compute_share(G, 1, shares[0], out.guardian_keys[0], ct, HE)
    forged_m = G.p - honest.share
    statement = Encoder(G).u32(1).element(ct.beta).to_bytes()
    for _ in range(64):
        proof = prove_chaum_pedersen(G, shares[0], ct.alpha, out.guardian_keys[0], forged_m,
                                     context=HE, statement=statement)
        if verify_chaum_pedersen(G, proof, ct.alpha, out.guardian_keys[0], forged_m, context=HE,
                                 statement=statement):
            break
    else:  # pragma: no cover - probability 2^-64
        pytest.fail("no even challenge found")
    forged = DecryptionShare(1, forged_m, proof)
    assert not verify_share(G, forged, out.guardian_keys[0], ct, HE)
    with pytest.raises(EncodingError):
        DecryptionShare.from_json(G, forged.to_json(G))


def test_share_json(one_share: tuple[DecryptionShare, int, Ciphertext]) -> None:
    share, _, _ = one_share
    data = share.to_json(G)
    assert DecryptionShare.from_json(G, data) == share
    width = G.element_bytes
    for bad in (element_to_hex(G, G.p - 1), "00" * width, format(G.p, f"0{2 * width}x"),
                element_to_hex(G, G.p - 1).upper()):
        with pytest.raises(EncodingError):
            DecryptionShare.from_json(G, {**data, "share": bad})
    for guardian in (0, True, "2", -1):
        with pytest.raises(EncodingError):
            DecryptionShare.from_json(G, {**data, "guardian": guardian})
    with pytest.raises(EncodingError):
        DecryptionShare.from_json(G, {**data, "extra": 1})


def test_compute_share_refuses_elements_outside_subgroup() -> None:
    _, out, shares = ceremony(3, 2)
    for alpha in (G.p - 1, 2):
        with pytest.raises(EncodingError):
            compute_share(G, 1, shares[0], out.guardian_keys[0], Ciphertext(alpha, G.g), HE)


def test_verify_and_combine_names_the_bad_guardian() -> None:
    _, out, shares = ceremony(3, 2)
    ct = encrypt(G, out.joint_key, 1)
    good = compute_share(G, 1, shares[0], out.guardian_keys[0], ct, HE)
    wrong = compute_share(G, 3, (shares[2] + 1) % G.q, out.guardian_keys[2], ct, HE)
    with pytest.raises(DecryptionError, match="3"):
        verify_and_combine(G, ct, [good, wrong], out.guardian_keys, HE, t=2)
    with pytest.raises(DecryptionError):
        verify_and_combine(G, ct, [dataclasses.replace(good, guardian=4)], out.guardian_keys, HE, t=1)


# -- Lagrange and combination ---------------------------------------------------------------------


def brute_force_weights(q: int, present: list[int]) -> dict[int, int]:
    """Solve Σ_i w_i·i^k = [k = 0] (k < |S|) by Gaussian elimination mod q."""
    size = len(present)
    rows = [[pow(i, k, q) for i in present] + [1 if k == 0 else 0] for k in range(size)]
    for col in range(size):
        pivot = next(r for r in range(col, size) if rows[r][col] % q)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        inv = pow(rows[col][col], -1, q)
        rows[col] = [x * inv % q for x in rows[col]]
        for r in range(size):
            if r != col and rows[r][col]:
                f = rows[r][col]
                rows[r] = [(a - f * b) % q for a, b in zip(rows[r], rows[col], strict=True)]
    return {i: rows[pos][size] for pos, i in enumerate(present)}


@given(st.lists(st.integers(1, 300), min_size=1, max_size=9, unique=True),
       st.lists(st.integers(0, G.q - 1), min_size=1, max_size=9))
def test_lagrange_against_brute_force(present: list[int], coefficients: list[int]) -> None:
    q = G.q
    expected = brute_force_weights(q, present)
    weights = {i: lagrange_coefficient(G, i, present) for i in present}
    assert weights == expected
    if len(coefficients) <= len(present):  # degree < |S|: interpolation at 0 is exact
        f = {i: sum(a * pow(i, k, q) for k, a in enumerate(coefficients)) % q for i in present}
        assert sum(weights[i] * f[i] for i in present) % q == coefficients[0]


def test_lagrange_errors() -> None:
    with pytest.raises(DecryptionError):
        lagrange_coefficient(G, 1, [1, 2, 2])
    with pytest.raises(DecryptionError):
        lagrange_coefficient(G, 3, [1, 2])
    with pytest.raises(DecryptionError):
        lagrange_coefficient(G, 0, [0, 1])
    assert lagrange_coefficient(G, 4, [4]) == 1


def test_combine_errors() -> None:
    _, out, shares = ceremony(3, 2)
    ct = encrypt(G, out.joint_key, 2)
    ds = [compute_share(G, i, shares[i - 1], out.guardian_keys[i - 1], ct, HE) for i in (1, 2, 3)]
    raw = {d.guardian: d.share for d in ds}
    assert combine_shares(G, ct, raw, n=3, t=2) == G.g_pow(2)
    assert combine_shares(G, ct, {1: raw[1], 3: raw[3]}, n=3, t=2) == G.g_pow(2)
    with pytest.raises(DecryptionError):
        combine_shares(G, ct, [ds[0], ds[0]], n=3, t=2)  # duplicate
    with pytest.raises(DecryptionError):
        combine_shares(G, ct, {1: raw[1], 4: raw[3]}, n=3, t=2)  # index outside 1..n
    with pytest.raises(DecryptionError):
        combine_shares(G, ct, {0: raw[1], 2: raw[2]}, n=3, t=2)
    with pytest.raises(DecryptionError):
        combine_shares(G, ct, {2: raw[2]}, n=3, t=2)  # fewer than t
    with pytest.raises(DecryptionError):
        combine_shares(G, ct, {1: 0, 2: raw[2]}, n=3, t=2)
    # a wrong share gives a wrong result (why shares are verified first)
    assert combine_shares(G, ct, {1: G.mul(raw[1], G.g), 2: raw[2]}, n=3, t=2) != G.g_pow(2)


# -- production group ---------------------------------------------------------------------------


@pytest.mark.production
def test_production_ceremony_and_decryption() -> None:
    P = PRODUCTION_GROUP
    n, t = 5, 3
    start = time.perf_counter()
    rounds, out, shares = run_ceremony(P, EID, CID, HB, n, t, [SoftwareSigner() for _ in range(n)])
    dkg_seconds = time.perf_counter() - start
    assert verify_transcript(P, EID, CID, HB, n, t, rounds) == out
    ct = encrypt(P, out.joint_key, 7)
    start = time.perf_counter()
    ds = [compute_share(P, i, shares[i - 1], out.guardian_keys[i - 1], ct, HE) for i in (1, 4, 5)]
    share_seconds = (time.perf_counter() - start) / 3
    gm = verify_and_combine(P, ct, ds, out.guardian_keys, HE, t=t)
    assert discrete_log(P, gm, 1000) == 7
    print(f"\nproduction DKG 3-of-5: {dkg_seconds:.2f} s; one decryption share: "
          f"{share_seconds * 1000:.1f} ms")
