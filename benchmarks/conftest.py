"""Session fixtures for the benchmarks: production group, both ballot shapes, warm tables.

Everything expensive that is not being measured (opening the election, building the fixed-base
tables, casting the ballots to aggregate, the guardians' shares to combine) is built once here.
Run: ``make bench`` (CPU time: ``--benchmark-timer=time.process_time``), or
``.venv/bin/python -m pytest benchmarks/ --benchmark-timer=time.process_time --benchmark-columns=min,mean,rounds``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from benchmarks import workloads as w
from benchmarks.manifests import Shape, eg_shape, federal
from sivei.ballot.encrypt import EncryptedBallot
from sivei.crypto.group import PRODUCTION_GROUP

SHAPES: dict[str, Callable[[], Shape]] = {"eg-shape": eg_shape, "federal": federal}


@pytest.fixture(scope="session")
def group() -> Any:
    return PRODUCTION_GROUP


@pytest.fixture(scope="session", params=list(SHAPES))
def election(request: pytest.FixtureRequest) -> w.Election:
    """Each shape's election on the production group, with the g and K tables already built."""
    e = w.open_election(PRODUCTION_GROUP, SHAPES[request.param]())
    w.warm_tables(e)
    return e


@pytest.fixture(scope="session")
def federal_election() -> w.Election:
    e = w.open_election(PRODUCTION_GROUP, federal())
    w.warm_tables(e)
    return e


@pytest.fixture(scope="session")
def cast_ballot(election: w.Election) -> EncryptedBallot:
    """One signed ballot with the shape's fixed choices."""
    return w.encrypt_and_sign(election, w.voter(0), election.shape.choices, w.ballot_nonce(0))


@pytest.fixture(scope="session")
def many_ballots(election: w.Election) -> list[EncryptedBallot]:
    return w.cast_many(election, w.AGGREGATE_BALLOTS)


@pytest.fixture(scope="session")
def federal_tally(federal_election: w.Election) -> w.DecryptedTallyInputs:
    """The aggregate of 50 federal ballots and the shares of the guardians present."""
    return w.tally_with_shares(federal_election)


@pytest.fixture(scope="session")
def modexp() -> float:
    """CPU seconds of one 4096-bit powmod with a 256-bit exponent, measured in this run: the unit
    of ``modexp_per_*`` in ``extra_info`` (a ratio that survives a noisy, shared machine)."""
    return w.modexp_seconds(PRODUCTION_GROUP)


@pytest.fixture
def run(benchmark: Any, modexp: float) -> Callable[..., Any]:
    """``run(fn, *args, rounds=R)``: ``benchmark.pedantic`` with one warm-up round and one
    iteration per round (each workload takes milliseconds or more). With ``per=(n, unit)`` it
    also stores the mean and min per item (e.g. per ballot) in ``extra_info``, in milliseconds and
    in modexp units. The modexp unit is CPU time: run with ``--benchmark-timer=time.process_time``
    (as ``make bench`` does) so that both are CPU time on a shared machine."""

    def runner(fn: Callable[..., Any], *args: Any, rounds: int, per: tuple[int, str] | None = None) -> Any:
        result = benchmark.pedantic(fn, args=args, rounds=rounds, iterations=1, warmup_rounds=1)
        stats = getattr(benchmark, "stats", None)
        if per is not None:
            n, unit = per
            benchmark.extra_info[unit + "s"] = n
            benchmark.extra_info["modexp_ms"] = round(modexp * 1000, 4)
            if stats is not None:
                benchmark.extra_info[f"mean_ms_per_{unit}"] = round(stats.stats.mean * 1000 / n, 3)
                benchmark.extra_info[f"min_ms_per_{unit}"] = round(stats.stats.min * 1000 / n, 3)
                benchmark.extra_info[f"min_modexp_per_{unit}"] = round(stats.stats.min / n / modexp, 3)
        return result

    return runner
