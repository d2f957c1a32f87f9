"""``sivei servidor medir`` (``bench_casting``): a small real run (nginx + gunicorn + SQLite on loopback,
test group) reports every cast accepted, the worker's CPU split, and the options per ballot and the
modexp unit measured in the same run (issue 8: casting CPU in modexp units)."""

from __future__ import annotations

from sivei.ballot.manifest import sample_manifest
from sivei.crypto.group import TEST_GROUP
from sivei_server.simulacro import bench_casting


def test_medir_reports_the_split_the_options_per_ballot_and_the_modexp_unit() -> None:
    said: list[str] = []
    result = bench_casting(TEST_GROUP, 6, database_url=None, workers=1, clients=2, say=said.append)
    assert result["accepted"] == result["ballots"] == 6
    split = result["worker_cpu_split_ms"]
    assert split["crypto"] > 0 and split["framework"] >= 0 and split["database"] > 0
    assert abs(split["crypto"] + split["database"] + split["framework"] - split["total"]) < 0.05
    manifest = sample_manifest()
    sizes = {sum(len(c.options) for _, c in manifest.style_contests(s.id)) for s in manifest.ballot_styles}
    assert min(sizes) <= result["options_per_ballot"] <= max(sizes)
    assert 0 < result["modexp_ms"] < 100
    expected = split["crypto"] / result["modexp_ms"] / result["options_per_ballot"]
    assert abs(result["worker_crypto_modexp_per_option"] - expected) < 0.01
    assert "modexp" in said[-1] and "opciones por boleta" in said[-1]
