"""Multi-exponentiation against plain powmod: every algorithm, every window, edge cases (test and
production groups)."""

from __future__ import annotations

import secrets

import gmpy2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sivei.crypto import multiexp
from sivei.crypto.group import PRODUCTION_GROUP, TEST_GROUP
from sivei.crypto.multiexp import multi_pow

P = TEST_GROUP.p


def reference(p: int, bases: list[int], exponents: list[int]) -> int:
    acc = 1
    for b, e in zip(bases, exponents, strict=True):
        acc = acc * int(gmpy2.powmod(b, e, p)) % p
    return acc


def random_inputs(p: int, n: int, bits: int) -> tuple[list[int], list[int]]:
    return [secrets.randbelow(p) for _ in range(n)], [secrets.randbits(bits) for _ in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 24, 40, 300, 2048, 3000])
@pytest.mark.parametrize("bits", [1, 64, 128, 256, 300])
def test_matches_powmod(n: int, bits: int) -> None:
    """Sizes on both sides of every crossover (Straus, Bos–Coster, Pippenger)."""
    bases, exps = random_inputs(P, n, bits)
    assert multi_pow(P, bases, exps) == reference(P, bases, exps)


@pytest.mark.production
def test_matches_powmod_production_group() -> None:
    p = PRODUCTION_GROUP.p
    for n, bits in [(2, 256), (50, 128), (2100, 128)]:
        bases, exps = random_inputs(p, n, bits)
        assert multi_pow(p, bases, exps) == reference(p, bases, exps)


@pytest.mark.parametrize("window", range(1, 9))
def test_every_window(window: int) -> None:
    bases, exps = random_inputs(P, 37, 200)
    pairs = [(gmpy2.mpz(b), e) for b, e in zip(bases, exps, strict=True) if e]
    bits = max(e.bit_length() for _, e in pairs)
    expected = reference(P, bases, exps)
    assert multiexp._straus(gmpy2.mpz(P), pairs, bits, window) == expected
    assert multiexp._pippenger(gmpy2.mpz(P), pairs, bits, window) == expected
    assert multiexp._bos_coster(gmpy2.mpz(P), pairs) == expected


def test_edge_cases() -> None:
    assert multi_pow(P, [], []) == 1
    assert multi_pow(P, [5, 7], [0, 0]) == 1
    assert multi_pow(P, [5], [3]) == 125
    assert multi_pow(P, [P - 1, P - 1, 1], [3, 2, 10**40]) == P - 1  # (−1)^5 · 1
    assert multi_pow(P, [P + 5], [2]) == 25  # bases are reduced
    # one huge exponent among small ones (Bos–Coster's quotient step), equal exponents
    bases, exps = random_inputs(P, 30, 8)
    exps[3] = 2**700 + 1
    exps[4] = exps[5]
    assert multi_pow(P, bases, exps) == reference(P, bases, exps)
    zeros = [0] * 29 + [1]
    assert multi_pow(P, bases, zeros) == bases[-1] % P
    with pytest.raises(ValueError):
        multi_pow(P, [2, 3], [1])
    with pytest.raises(ValueError):
        multi_pow(P, [2], [-1])


@given(st.lists(st.tuples(st.integers(0, P - 1), st.integers(0, 2**260)), max_size=60))
def test_random_inputs(pairs: list[tuple[int, int]]) -> None:
    bases = [b for b, _ in pairs]
    exps = [e for _, e in pairs]
    assert multi_pow(P, bases, exps) == reference(P, bases, exps)


def test_cost_models_pick_sensible_windows() -> None:
    assert multiexp.pippenger_cost(36_000, 256)[1] in range(10, 14)
    assert multiexp.straus_cost(3, 256)[1] in range(3, 6)
