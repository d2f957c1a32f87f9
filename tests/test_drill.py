"""The drill reconciles decrypted results against a vote script and fails loudly on a difference."""

from __future__ import annotations

from pathlib import Path

import pytest

import sivei.drill as drill
import sivei.synthetic_voters as synthetic_voters
from sivei.crypto.group import TEST_GROUP
from sivei.drill import DrillError, DrillOptions, run_drill

SCRIPT = """entity,contest,option,count
JAL,dip-mig-jal,PAN,2
JAL,dip-mig-jal,PT_MORENA,1
JAL,dip-mig-jal,CNR,1
JAL,rm-2027,REVOCA,3
JAL,rm-2027,NULO,1
OAX,dip-mig-oax,NULO,1
OAX,rm-2027,SIGA,1
"""


def test_vote_script_reconciles(tmp_path: Path) -> None:
    script = tmp_path / "guion.csv"
    script.write_text(SCRIPT)
    outcome = run_drill(DrillOptions(group=TEST_GROUP, vote_script=script, challenges=1,
                                     output=tmp_path / "rec"), say=lambda _m: None)
    jal = outcome.results.result("JAL", "dip-mig-jal")
    contest = outcome.ctx.manifest.contest("dip-mig-jal")
    counts = dict(zip([o.id for o in contest.options], jal.option_counts, strict=True))
    assert counts["PAN"] == 2 and counts["PT_MORENA"] == 1 and counts["CNR"] == 1 and jal.total == 4
    assert outcome.results.result("OAX", "rm-2027").option_counts[1] == 1
    assert outcome.results.result("CHIH", "gob-chih").total == 0


def test_drill_fails_loudly_when_results_differ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: a booth that encrypts NULO instead of the voter's choice in one contest."""
    script = tmp_path / "guion.csv"
    script.write_text(SCRIPT)
    honest = synthetic_voters.encrypt_ballot
    calls = {"n": 0}

    def faulty_booth(ctx, style, choices, credential, nonce):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:  # voter 2's cast ballot (the booth of cast ballots, in this process with jobs=1)
            choices = {k: v for k, v in choices.items() if not k.startswith("dip-mig")}
        return honest(ctx, style, choices, credential, nonce)

    monkeypatch.setattr(synthetic_voters, "encrypt_ballot", faulty_booth)
    with pytest.raises(DrillError, match="NO COINCIDEN") as info:
        run_drill(DrillOptions(group=TEST_GROUP, vote_script=script, challenges=1, output=tmp_path / "rec", jobs=1),
                  say=lambda _m: None)
    assert "esperado" in str(info.value)
    assert not (tmp_path / "rec").exists()


def test_too_few_guardians_present(tmp_path: Path) -> None:
    with pytest.raises(DrillError, match="se necesitan 3"):
        run_drill(DrillOptions(group=TEST_GROUP, voters=2, absent=(1, 2, 3), output=tmp_path / "r"),
                  say=lambda _m: None)


def test_challenge_catches_a_cheating_booth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A booth that encrypts another choice than the voter's is caught by the voter's challenge."""
    honest = drill.encrypt_ballot

    def cheating_booth(ctx, style, choices, credential, nonce):  # type: ignore[no-untyped-def]
        return honest(ctx, style, {}, credential, nonce)  # everything becomes a null vote

    monkeypatch.setattr(drill, "encrypt_ballot", cheating_booth)
    with pytest.raises(DrillError, match="impugnada"):
        run_drill(DrillOptions(group=TEST_GROUP, voters=3, challenges=1, output=tmp_path / "rec", seed=1),
                  say=lambda _m: None)
