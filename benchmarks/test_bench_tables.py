"""Precomputation: the fixed-base table for g or K (once per election in a booth, server or
verifier) and the baby-step table of the tally's discrete log; production group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from benchmarks import workloads as w
from sivei.crypto.fixedbase import WINDOW_BITS
from sivei.crypto.group import Group

Run = Callable[..., Any]


@pytest.mark.benchmark(group="precompute: fixed-base table (one base)")
def test_fixed_base_table(benchmark: Any, run: Run, group: Group) -> None:
    table = run(w.build_fixed_base_table, group, group.g, rounds=5)
    benchmark.extra_info["window_bits"] = WINDOW_BITS
    assert table.pow(12345) == group.pow(group.g, 12345)


@pytest.mark.benchmark(group="precompute: BSGS baby-step table")
def test_bsgs_table(benchmark: Any, run: Run, group: Group) -> None:
    steps = run(w.build_bsgs_table, group, w.DLOG_BOUND, rounds=10)
    benchmark.extra_info["bound"] = w.DLOG_BOUND
    benchmark.extra_info["entries"] = steps.size
