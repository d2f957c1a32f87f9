"""Batched proof checking (protocol §8.5), production group: one ballot at casting, a verifier's
batch of ballots (λ = 64 and 128), the verifier on a generated record, and the modexp unit itself.

``extra_info`` gives every figure per ballot and per option, in milliseconds and in units of one
4096-bit powmod with a 256-bit exponent measured in the same run (``min_modexp_per_option``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import gmpy2
import pytest

from benchmarks import workloads as w
from sivei.crypto.group import PRODUCTION_GROUP
from sivei.drill import DrillOptions, DrillOutcome, run_drill
from sivei.record.verify import VerifyOptions, verify_record

Run = Callable[..., Any]
BATCH = 200
"""Ballots in the verifier's batch (a board chunk of ~30 MB holds about this many 20-option ballots)."""
RECORD_VOTERS = 40


@pytest.fixture(scope="session")
def batch_texts(election: w.Election) -> list[bytes]:
    return [w.ballot_json_bytes(election, b) for b in w.cast_many(election, BATCH)]


@pytest.fixture(scope="session")
def generated_record(tmp_path_factory: pytest.TempPathFactory) -> DrillOutcome:
    """A drilled production-group record on the sample manifest (software keys)."""
    out = tmp_path_factory.mktemp("bench-record") / "record"
    return run_drill(DrillOptions(group=PRODUCTION_GROUP, voters=RECORD_VOTERS, challenges=0, output=out,
                                  seed=11, tokens=False), say=lambda _m: None)


@pytest.mark.benchmark(group="unit: 4096-bit powmod, 256-bit exponent")
def test_modexp_unit(benchmark: Any, run: Run) -> None:
    # A dense 256-bit exponent (about half its bits set, as a random one): a sparse one such as
    # 2^255 + 0xABCDEF skips most multiplications and times about 13% faster than the unit.
    e = int.from_bytes(hashlib.sha256(b"sivei/bench/modexp-unit").digest(), "big") | (1 << 255)
    x, p = gmpy2.mpz(PRODUCTION_GROUP.g + 12345), PRODUCTION_GROUP.p
    assert bin(e).count("1") > 100
    run(gmpy2.powmod, x, gmpy2.mpz(e), p, rounds=200)


@pytest.mark.benchmark(group="batch: cast ballot, parse + validate (one batch per ballot)")
def test_cast_intake(benchmark: Any, run: Run, election: w.Election, cast_ballot: Any) -> None:
    data = w.ballot_json_bytes(election, cast_ballot)
    problems = run(w.cast_intake, election, data, rounds=10, per=(election.shape.options, "option"))
    benchmark.extra_info["shape"] = election.shape.name
    assert problems == []


@pytest.mark.parametrize("bits", [64, 128])
@pytest.mark.benchmark(group=f"batch: verifier, {BATCH} ballots parsed + checked in one batch")
def test_verify_batch(benchmark: Any, run: Run, election: w.Election, batch_texts: list[bytes], bits: int) -> None:
    verdicts = run(w.verify_batch, election, batch_texts, bits, rounds=3,
                   per=(BATCH * election.shape.options, "option"))
    info = benchmark.extra_info
    info.update(shape=election.shape.name, bits=bits, ballots=BATCH,
                min_ms_per_ballot=round(info["min_ms_per_option"] * election.shape.options, 3))
    assert all(v.ballot is not None and not v.problems for v in verdicts)


@pytest.mark.benchmark(group="batch: sivei verificar --jobs 1 on a generated record (sample manifest)")
def test_verifier_record(benchmark: Any, run: Run, generated_record: DrillOutcome) -> None:
    record = generated_record.record
    shape = w.record_shape(record)
    options = shape["options"]
    report = run(verify_record, record, VerifyOptions(jobs=1), rounds=2, per=(options, "option"))
    benchmark.extra_info.update(ballots=RECORD_VOTERS, options_per_ballot=round(options / RECORD_VOTERS, 2),
                                board_bytes_per_option=round(shape["board_bytes"] / options))
    assert report.ok, report.format_text()
