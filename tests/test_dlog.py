"""Baby-step giant-step decoding of g^m."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sivei.crypto.dlog import DiscreteLogError, _baby_steps, _table_size, discrete_log
from sivei.crypto.group import PRODUCTION_GROUP
from sivei.crypto.group import TEST_GROUP as G
from sivei.errors import GroupMembershipError


@pytest.mark.parametrize("bound", [0, 1, 2, 3, 15, 16, 17, 1000, 1500])
def test_edges(bound: int) -> None:
    assert discrete_log(G, 1, bound) == 0
    assert discrete_log(G, G.g_pow(bound), bound) == bound
    if bound >= 1:
        assert discrete_log(G, G.g, bound) == 1
    with pytest.raises(DiscreteLogError, match=str(bound)):
        discrete_log(G, G.g_pow(bound + 1), bound)


def test_far_beyond_bound_and_negative() -> None:
    with pytest.raises(DiscreteLogError):
        discrete_log(G, G.g_pow(10**6), 1000)
    with pytest.raises(DiscreteLogError):
        discrete_log(G, G.g_pow(G.q - 1), 1000)  # g^(−1)


@given(st.integers(0, 10**5), st.integers(0, 10**5))
def test_random(m: int, slack: int) -> None:
    assert discrete_log(G, G.g_pow(m), m + slack) == m


def test_invalid_inputs() -> None:
    for bad in (0, G.p, G.p - 1):
        with pytest.raises(GroupMembershipError):
            discrete_log(G, bad, 10)
    for bound in (-1, True, 2**41):
        with pytest.raises(ValueError):
            discrete_log(G, 1, bound)


def test_tables_are_cached_by_size() -> None:
    assert _table_size(0) == 1 and _table_size(3) == 2 and _table_size(4) == 4
    discrete_log(G, G.g_pow(500), 1000)
    discrete_log(G, G.g_pow(600), 1020)  # same table size (32)
    assert _baby_steps(G, 32) is _baby_steps(G, _table_size(1000))


@pytest.mark.production
def test_production_million() -> None:
    P = PRODUCTION_GROUP
    y = P.g_pow(10**6)
    discrete_log(P, P.g_pow(1), 10**6)  # build the table
    start = time.perf_counter()
    assert discrete_log(P, y, 10**6) == 10**6
    assert time.perf_counter() - start < 1.0
