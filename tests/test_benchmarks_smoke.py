"""Smoke run of the benchmarks' workloads on the test group, so that ``benchmarks/`` cannot rot:
the same manifests and the same functions the benchmarks time, each run once and checked.

The benchmarks themselves (production group) run separately: ``python -m pytest benchmarks``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from sivei.crypto.group import TEST_GROUP as G
from sivei.tally.decrypt import parse_guardian_decryption

BENCH_MODULES = ("test_bench_ballot", "test_bench_batch", "test_bench_tally", "test_bench_tables",
                 "test_bench_board_journal")


def _import(name: str) -> ModuleType:
    """Import a module of the ``benchmarks`` package, which lives beside ``tests/`` at the root."""
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module(f"benchmarks.{name}")


manifests = _import("manifests")
w = _import("workloads")


def test_shapes_are_the_specified_ones() -> None:
    eg, fed = manifests.eg_shape(), manifests.federal()
    assert [len(c.options) for _, c in eg.manifest.style_contests(eg.style)] == [4, 6, 8]
    assert [len(c.options) for _, c in fed.manifest.style_contests(fed.style)] == [17, 17]
    for shape in (eg, fed):
        for _, contest in shape.manifest.style_contests(shape.style):
            assert [o.kind for o in contest.options[-2:]] == ["write_in", "null"]


@pytest.mark.parametrize("name", BENCH_MODULES)
def test_benchmark_modules_import(name: str) -> None:
    module = _import(name)
    assert any(k.startswith("test_") for k in vars(module))


@pytest.mark.parametrize("make_shape", [manifests.eg_shape, manifests.federal], ids=["eg-shape", "federal"])
def test_ballot_workloads(make_shape: Callable[[], Any]) -> None:
    shape = make_shape()
    table = w.build_fixed_base_table(G, G.g)
    assert table.pow(987654321) == G.pow(G.g, 987654321)
    election = w.open_election(G, shape)
    w.warm_tables(election)
    ballot = w.encrypt_and_sign(election, w.voter(0), shape.choices, w.ballot_nonce(0))
    assert ballot.signature
    data = w.ballot_json_bytes(election, ballot)
    assert w.parse_ballot(election, data) == ballot
    assert w.membership_checks(election, ballot)
    assert w.validate(election, ballot) == []
    ballots = w.cast_many(election, 3)
    tally = w.aggregate_ballots(election, ballots)
    assert all(e.ballots == 3 for e in tally.entries)
    assert w.cast_intake(election, data, bits=64) == []
    texts = [w.ballot_json_bytes(election, b) for b in ballots]
    verdicts = w.verify_batch(election, texts)
    assert [v.ballot for v in verdicts] == ballots and all(not v.problems for v in verdicts)


def test_modexp_unit() -> None:
    assert 0 < w.modexp_seconds(G) < 0.01


def test_decryption_workloads() -> None:
    election = w.open_election(G, manifests.federal())
    w.warm_tables(election)
    inputs = w.tally_with_shares(election, ballots=4)
    assert [e.guardian for e in (parse_guardian_decryption(election.ctx, env, "s")
                                 for env in inputs.envelopes)] == list(w.PRESENT)
    assert w.guardian_share(election, inputs.tally, w.PRESENT[0]).sender == "guardian-1"
    g_ms = w.combine(election, inputs.tally, inputs.shares)
    assert len(g_ms) == inputs.ciphertexts == 34
    counts = [w.decode_count(G, g_m, 4) for g_m in g_ms]
    assert sum(counts) == 4 * len(inputs.tally.entries)  # one option per contest per ballot
    # Voter i chose option (i + k) mod 17 in contest k: each of the first 4 options once.
    assert counts[:17] == [1, 1, 1, 1] + [0] * 13


def test_discrete_log_workloads() -> None:
    steps = w.build_bsgs_table(G, w.DLOG_BOUND)
    assert steps.size ** 2 > w.DLOG_BOUND
    assert w.decode_count(G, G.g_pow(w.DLOG_COUNT), w.DLOG_BOUND) == w.DLOG_COUNT
