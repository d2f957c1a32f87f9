"""Tally: aggregation, one guardian's decryption shares, combination of 3 shares, discrete log;
production group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from benchmarks import workloads as w
from sivei.ballot.encrypt import EncryptedBallot
from sivei.crypto.group import Group
from sivei.tally.decrypt import parse_guardian_decryption

Run = Callable[..., Any]


@pytest.mark.benchmark(group="tally: aggregate 50 ballots")
def test_aggregate(benchmark: Any, run: Run, election: w.Election,
                   many_ballots: list[EncryptedBallot]) -> None:
    tally = run(w.aggregate_ballots, election, many_ballots, rounds=10, per=(len(many_ballots), "ballot"))
    benchmark.extra_info["shape"] = election.shape.name
    assert all(e.ballots == len(many_ballots) for e in tally.entries)


@pytest.mark.benchmark(group="decrypt: one guardian's shares + proofs, whole federal tally")
def test_guardian_share(run: Run, federal_election: w.Election,
                        federal_tally: w.DecryptedTallyInputs) -> None:
    guardian = w.PRESENT[0]
    env = run(w.guardian_share, federal_election, federal_tally.tally, guardian, rounds=3,
              per=(federal_tally.ciphertexts, "ciphertext"))
    assert parse_guardian_decryption(federal_election.ctx, env, "share").guardian == guardian


@pytest.mark.benchmark(group="decrypt: combine 3 shares, whole federal tally")
def test_combine_shares(run: Run, group: Group, federal_election: w.Election,
                        federal_tally: w.DecryptedTallyInputs) -> None:
    g_ms = run(w.combine, federal_election, federal_tally.tally, federal_tally.shares, rounds=5,
               per=(federal_tally.ciphertexts, "ciphertext"))
    counts = [w.decode_count(group, g_m, w.AGGREGATE_BALLOTS) for g_m in g_ms]
    assert sum(counts) == w.AGGREGATE_BALLOTS * len(federal_tally.tally.entries)


@pytest.mark.benchmark(group="decrypt: discrete log of a count of 100000 (table cached)")
def test_discrete_log(benchmark: Any, run: Run, group: Group) -> None:
    g_m = group.g_pow(w.DLOG_COUNT)
    w.decode_count(group, g_m, w.DLOG_BOUND)  # the baby-step table is built once per bound
    assert run(w.decode_count, group, g_m, w.DLOG_BOUND, rounds=20) == w.DLOG_COUNT
    benchmark.extra_info["bound"] = w.DLOG_BOUND
