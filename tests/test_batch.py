"""Batch verification (protocol §8.5): the group structure it relies on, the batch verifier's tests
and bisection, and ballots checked in batches — every failure found and located (test group)."""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import gmpy2
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sivei.crypto.batch as batch_module
from sivei.ballot.context import ElectionContext
from sivei.ballot.encrypt import EncryptedBallot, encrypt_ballot, parse_unchecked_ballot, sign_ballot
from sivei.ballot.manifest import sample_manifest
from sivei.ballot.validate import BallotCheck, BallotVerdict, check_ballots, validate_ballot
from sivei.crypto import ed25519
from sivei.crypto.batch import BatchVerifier, batchable, check_bits, require_members
from sivei.crypto.elgamal import ElectionKey
from sivei.crypto.group import GROUPS, PRODUCTION_GROUP, TEST_GROUP, Group
from sivei.errors import BallotError, GroupMembershipError, SiveiError

G = TEST_GROUP
P, Q = G.p, G.q
Z_R = pow(3, 2 * Q, P)
"""An element of order r: Jacobi symbol 1, not in the order-q subgroup."""


def member() -> int:
    return G.g_pow(secrets.randbelow(Q))


# -- the group structure the soundness proof needs ----------------------------------------------------


@pytest.mark.parametrize("group", list(GROUPS.values()), ids=list(GROUPS))
def test_both_groups_have_the_structure_batching_needs(group: Group) -> None:
    """p = 2·q·r + 1 with q and r prime, q ≠ r, both > 2^128; p ≡ 3 (mod 4) so (−1/p) = −1."""
    r = group.r
    assert 2 * group.q * r + 1 == group.p
    assert gmpy2.is_prime(group.q, 40) and gmpy2.is_prime(r, 40) and gmpy2.is_prime(group.p, 40)
    assert r != group.q and min(group.q, r) > 2**128
    assert group.p % 4 == 3 and gmpy2.jacobi(group.p - 1, group.p) == -1
    assert gmpy2.jacobi(group.g, group.p) == 1  # members are quadratic residues
    assert all(batchable(group, bits) for bits in (64, 100, 128))


def test_bits_range() -> None:
    assert check_bits(64) == 64 and check_bits(128) == 128
    for bad in (63, 129, 0, True):
        with pytest.raises(ValueError):
            check_bits(bad)  # type: ignore[arg-type]
    assert not batchable(G, 256)  # q < 2^256: no soundness at λ = 256


# -- the batch verifier --------------------------------------------------------------------------------


def schnorr_like(b: BatchVerifier[Any], g: int, x_base: int, x: int, label: Any, *,
                 tamper: Callable[[int], int] = lambda a: a) -> None:
    """a = g^v · X^c for random v, c (a true equation unless ``tamper`` changes a)."""
    v, c = secrets.randbelow(Q), secrets.randbelow(Q)
    a = G.g_pow(v) * pow(x, c, P) % P
    b.equation(label, tamper(a), [(g, v), (x_base, c)])


def fresh(n: int = 40) -> tuple[BatchVerifier[Any], int, list[int], list[int]]:
    b: BatchVerifier[Any] = BatchVerifier(G, bits=64)
    g = b.known(G.g)
    xs = [member() for _ in range(n)]
    return b, g, xs, [b.element(x, ("x", i)) for i, x in enumerate(xs)]


def test_valid_batch_passes_with_two_tests() -> None:
    b, g, xs, idx = fresh()
    for i, x in enumerate(xs):
        schnorr_like(b, g, idx[i], x, ("eq", i))
    outcome = b.run()
    assert outcome.ok and outcome.tests == 2


@pytest.mark.parametrize("runs", [16])
def test_commitments_times_minus_one_always_rejected(runs: int) -> None:
    """Without the Jacobi symbol each run would pass with probability 1/2 (an even weight)."""
    for _ in range(runs):
        b, g, xs, idx = fresh(10)
        for i, x in enumerate(xs):
            schnorr_like(b, g, idx[i], x, ("eq", i), tamper=(lambda a: P - a) if i in (2, 7) else (lambda a: a))
        assert b.run().bad_equations == (("eq", 2), ("eq", 7))


def test_errors_that_cancel_are_both_found() -> None:
    """a_3·g and a_5·g^−1: an unweighted product of the equations would accept."""
    g_inv = G.inv(G.g)
    for _ in range(8):
        b, g, xs, idx = fresh(10)
        for i, x in enumerate(xs):
            change = {3: lambda a: a * G.g % P, 5: lambda a: a * g_inv % P}.get(i, lambda a: a)
            schnorr_like(b, g, idx[i], x, ("eq", i), tamper=change)
        assert b.run().bad_equations == (("eq", 3), ("eq", 5))


def test_non_members_found_and_their_equations_skipped() -> None:
    b, g, xs, idx = fresh(30)
    minus = b.element(P - xs[0], "minus")  # order-2 component: Jacobi −1
    order_r = b.element(xs[1] * Z_R % P, "order-r")  # Jacobi 1: only the order-q test sees it
    for i, x in enumerate(xs):
        schnorr_like(b, g, idx[i], x, ("eq", i))
    b.equation("uses order-r", G.g, [(order_r, 5)])
    b.equation("uses minus", G.g, [(minus, 5)])
    outcome = b.run()
    assert outcome.bad_elements == ("minus", "order-r")
    assert outcome.bad_equations == ()  # equations on non-members are not evaluated


def test_one_bad_equation_among_many_found_by_bisection() -> None:
    b, g, xs, idx = fresh(600)
    for i, x in enumerate(xs):
        schnorr_like(b, g, idx[i], x, ("eq", i), tamper=(lambda a: a * G.g % P) if i == 411 else (lambda a: a))
    outcome = b.run()
    assert outcome.bad_equations == (("eq", 411),) and not outcome.bad_elements
    assert outcome.tests < 2 + 2 * 11 + 2  # ~2·log2(600) sub-batches, plus the final re-check


def test_labels_shared_by_equations_reported_once_in_order() -> None:
    b, g, xs, idx = fresh(6)
    for i, x in enumerate(xs):
        change = (lambda a: a * G.g % P) if i == 5 else (lambda a: a)
        for _ in range(3):
            schnorr_like(b, g, idx[i], x, ("proof", i // 2), tamper=change)
    b.equation(("proof", 0), G.p - 1, [(g, 0)])  # Jacobi −1: fails before the batch
    assert b.run().bad_equations == (("proof", 0), ("proof", 2))


def test_weights_are_drawn_in_run_fresh_for_every_test(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[int] = []
    real = secrets.randbits

    def spy(k: int) -> int:
        drawn.append(k)
        return real(k)

    monkeypatch.setattr(batch_module.secrets, "randbits", spy)
    b, g, xs, idx = fresh(8)
    for i, x in enumerate(xs):
        schnorr_like(b, g, idx[i], x, ("eq", i), tamper=(lambda a: a * G.g % P) if i == 6 else (lambda a: a))
    assert drawn == []  # nothing drawn while the batch is being filled
    outcome = b.run()
    assert outcome.bad_equations == (("eq", 6),)
    assert set(drawn) == {64}
    # 8 membership weights, then 8 for the full equation test, then fresh ones for each half tried...
    assert len(drawn) > 8 + 8 + 4


def test_require_members_names_the_first_non_member() -> None:
    elements = [(member(), f"e{i}") for i in range(20)]
    require_members(G, elements)
    elements[7] = (elements[7][0] * Z_R % P, "e7")
    elements[12] = (P - elements[12][0], "e12")
    with pytest.raises(GroupMembershipError, match="e7: el elemento no pertenece"):
        require_members(G, elements)


def test_batch_refuses_values_out_of_range() -> None:
    b: BatchVerifier[str] = BatchVerifier(G)
    with pytest.raises(ValueError):
        b.element(0, "zero")
    with pytest.raises(ValueError):
        b.equation("p", P, [])


# -- ballots in batches --------------------------------------------------------------------------------

MANIFEST = sample_manifest()
CTX = ElectionContext(MANIFEST, ElectionKey(G, G.g_pow(secrets.randbelow(Q - 1) + 1)), b"\x07" * 32)
STYLE = min(MANIFEST.ballot_styles, key=lambda s: sum(len(c.options) for _, c in MANIFEST.style_contests(s.id))).id
OTHER_STYLE = next(s.id for s in MANIFEST.ballot_styles if s.id != STYLE)


def seed_of(i: int) -> bytes:
    return i.to_bytes(4, "big") * 8


def signed_ballot(i: int) -> EncryptedBallot:
    seed = seed_of(i)
    public = ed25519.public_key_from_seed(seed)
    contests = MANIFEST.style_contests(STYLE)
    choices = {c.id: c.options[(i + k) % len(c.options)].id for k, (_, c) in enumerate(contests)}
    ballot = encrypt_ballot(CTX, STYLE, choices, public, secrets.token_bytes(32))
    return sign_ballot(CTX, ballot, seed)


@pytest.fixture(scope="module")
def thousand() -> list[EncryptedBallot]:
    return [signed_ballot(i) for i in range(1000)]


def check_json(objs: list[dict[str, Any]]) -> list[BallotVerdict]:
    unchecked = [parse_unchecked_ballot(G, o, f"ballot[{k}]") for k, o in enumerate(objs)]
    return check_ballots(CTX, [BallotCheck(u, STYLE, f"ballot[{k}]") for k, u in enumerate(unchecked)])


def test_one_bad_proof_among_a_thousand(thousand: list[EncryptedBallot]) -> None:
    objs = [b.to_json(G) for b in thousand]
    bad = objs[613]["contests"][1]["selections"][0]["proof"]
    bad["v1"] = f"{(int(bad['v1'], 16) + 1) % Q:064x}"
    verdicts = check_json(objs)
    flagged = [k for k, v in enumerate(verdicts) if v.problems or v.not_member]
    assert flagged == [613]
    signature, proof = verdicts[613].problems  # the ballot hash changed too
    contest = MANIFEST.style_contests(STYLE)[1][1]
    assert (signature.check, proof.check) == ("ballot.signature", "ballot.proof.zero-one")
    assert proof.location == f"ballot[613], contienda {contest.id}, opción {contest.options[0].id}"
    assert all(v.ballot == b for v, b in zip(verdicts, thousand, strict=True) if v is not verdicts[613])


def test_single_ballot_checks_unchanged() -> None:
    """validate_ballot (casting): same reasons as before batching, α and β already members."""
    ballot = signed_ballot(1)
    validate_ballot(CTX, ballot, STYLE)
    sel = ballot.contests[0].selections[1]
    broken = replace(ballot, contests=(replace(ballot.contests[0], selections=(
        ballot.contests[0].selections[0], replace(sel, proof=replace(sel.proof, a1=P - sel.proof.a1)),
        *ballot.contests[0].selections[2:])), *ballot.contests[1:]))
    with pytest.raises(BallotError, match="cifra 0 o 1"):
        validate_ballot(CTX, sign_ballot(CTX, replace(broken, signature=b""), seed_of(1)), STYLE, bits=64)


def test_from_json_batches_membership_and_names_the_element() -> None:
    obj = signed_ballot(2).to_json(G)
    ct = obj["contests"][1]["selections"][2]["ciphertext"]
    ct["beta"] = f"{int(ct['beta'], 16) * Z_R % P:0128x}"
    with pytest.raises(GroupMembershipError, match=r"boleta\.contests\[1\]\.selections\[2\]\.ciphertext\.beta"):
        EncryptedBallot.from_json(G, obj, "boleta")
    unchecked = parse_unchecked_ballot(G, obj, "boleta")  # ranges only: parses
    (verdict,) = check_ballots(CTX, [BallotCheck(unchecked, STYLE, "b")])
    assert verdict.ballot is None and verdict.problems == ()
    assert verdict.not_member is not None and "contests[1].selections[2].ciphertext.beta" in verdict.not_member


# -- hypothesis: any single-field change in a batch is rejected and located -----------------------------

BATCH = [signed_ballot(100 + i).to_json(G) for i in range(5)]
PLAIN = BATCH[0]


def _leaves(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(obj, dict):
        return [leaf for k in sorted(obj) for leaf in _leaves(obj[k], (*path, k))]
    if isinstance(obj, list):
        return [leaf for i, v in enumerate(obj) for leaf in _leaves(v, (*path, i))]
    return [path]


LEAVES = _leaves(PLAIN)
ELEMENT_KEYS = {"alpha", "beta", "a0", "b0", "a1", "b1", "commitment_g", "commitment_h"}
SCALAR_KEYS = {"c0", "c1", "v0", "v1", "response"}


def _mutate(value: Any, key: Any, how: int, draw_int: int) -> Any:
    """A different value of the same field: group changes for elements (·g, ·−1, ·z of order r, a
    random value), ±1 or a random scalar, a flipped bit of bytes, another style, another index."""
    if key in ELEMENT_KEYS:
        x = int(value, 16)
        options = [x * G.g % P, P - x, x * Z_R % P, draw_int % (P - 1) + 1]
        y = options[how % len(options)]
        return f"{y if y != x else x * G.g % P:0128x}"
    if key in SCALAR_KEYS:
        x = int(value, 16)
        y = [(x + 1) % Q, (x - 1) % Q, draw_int % Q][how % 3]
        return f"{y if y != x else (x + 1) % Q:064x}"
    if key in ("credential", "signature"):
        raw = bytearray(bytes.fromhex(value))
        raw[draw_int % len(raw)] ^= 1 << (how % 8)
        return raw.hex()
    if key == "style":
        return OTHER_STYLE
    if key == "index":
        return value + 1 + how % 3
    raise AssertionError(key)


@given(st.integers(0, len(BATCH) - 1), st.sampled_from(LEAVES), st.integers(0, 7), st.integers(0, 2**512))
def test_single_field_mutation_rejected_and_located(target: int, leaf: tuple[Any, ...], how: int,
                                                    draw_int: int) -> None:
    objs = copy.deepcopy(BATCH)
    node: Any = objs[target]
    for step in leaf[:-1]:
        node = node[step]
    node[leaf[-1]] = _mutate(node[leaf[-1]], leaf[-1], how, draw_int)
    try:
        verdicts = check_json(objs)
    except SiveiError as exc:  # refused while parsing: the message names the field's path
        assert f"ballot[{target}]" in str(exc)
        return
    flagged = [k for k, v in enumerate(verdicts) if v.problems or v.not_member]
    assert flagged == [target], json.dumps(leaf)
    verdict = verdicts[target]
    if "selections" in leaf:  # a ciphertext or 0/1 proof field: its contest and option are named
        ci, si = leaf[1], leaf[3]
        contest = MANIFEST.style_contests(STYLE)[ci][1]
        where = f"contienda {contest.id}, opción {contest.options[si].id}"
        assert (any(p.check == "ballot.proof.zero-one" and where in p.location for p in verdict.problems)
                or (verdict.not_member is not None
                    and f"contests[{ci}].selections[{si}].ciphertext" in verdict.not_member))
    elif "sum_proof" in leaf:
        contest = MANIFEST.style_contests(STYLE)[leaf[1]][1]
        assert any(p.check == "ballot.proof.sum" and f"contienda {contest.id}" in p.location
                   for p in verdict.problems)


@pytest.mark.production
def test_production_group_batch() -> None:
    ctx = ElectionContext(MANIFEST, ElectionKey(PRODUCTION_GROUP, PRODUCTION_GROUP.g_pow(12345)), b"\x08" * 32)
    seed = b"\x01" * 32
    ballots = [sign_ballot(ctx, encrypt_ballot(ctx, STYLE, {}, ed25519.public_key_from_seed(seed),
                                               secrets.token_bytes(32)), seed) for _ in range(2)]
    objs = [b.to_json(PRODUCTION_GROUP) for b in ballots]
    ct = objs[1]["contests"][0]["selections"][0]["ciphertext"]
    ct["alpha"] = f"{int(ct['alpha'], 16) * PRODUCTION_GROUP.g % PRODUCTION_GROUP.p:01024x}"
    unchecked = [parse_unchecked_ballot(PRODUCTION_GROUP, o, f"b{k}") for k, o in enumerate(objs)]
    verdicts = check_ballots(ctx, [BallotCheck(u, STYLE, f"b{k}") for k, u in enumerate(unchecked)])
    assert verdicts[0].problems == ()
    assert {p.check for p in verdicts[1].problems} == {"ballot.proof.zero-one", "ballot.proof.sum",
                                                       "ballot.signature"}
