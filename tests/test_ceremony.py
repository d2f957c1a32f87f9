"""The key-holders' ceremonies end to end, against real SoftHSM2 tokens (no mocks).

ONE 3-of-5 ceremony is built per test session (``ceremony``): five tokens initialised by the CLI, then
every key-holder's command runs as its own ``sivei`` process with its own token and PIN, exchanging
only files (the coordinator's folder copied to each key-holder's "USB stick" and back); the opening act
is signed by all five tokens, the voting is simulated with the library, the closing act is signed by
three tokens, and the vault is opened twice by different sets of three. The refusal tests
(``test_ceremony_refusals.py``) start from copies of this session's files, taken between rounds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ceremonytools import CEREMONY_ID, Ceremony, N, T, built_ceremony, pin
from sivei.record import layout
from sivei.record.acts import SignedAct
from sivei.record.ceremony_io import parse_ceremony
from sivei.record.verify import VerifyOptions, verify_record
from sivei.tally.results import ElectionResults


@pytest.fixture(scope="session")
def ceremony(tmp_path_factory: pytest.TempPathFactory) -> Ceremony:
    return built_ceremony(tmp_path_factory)


# -- the ceremony ---------------------------------------------------------------------------------------


def test_three_of_five_ceremony_in_separate_processes(ceremony: Ceremony) -> None:
    c, w = ceremony, ceremony.world
    for label, seconds in c.timings.items():
        print(f"{label}: {seconds:.1f} s")
    # every key-holder heard the same bundle fingerprints and the same joint key
    for rnd in range(1, 6):
        heard = {_aloud(c.steps[(rnd, i)].out, f"paquete de la ronda {rnd - 1}") for i in range(1, N + 1)}
        assert len(heard) == 1 and None not in heard
    joint = {_aloud(c.steps[(5, i)].out, "llave pública de la elección K") for i in range(1, N + 1)}
    assert len(joint) == 1 and None not in joint
    # every command started with its installation's integrity constancia, in the read-aloud format;
    # no PIN ever appears in any output
    for (_, i), r in c.steps.items():
        assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}", _aloud(r.out, "constancia de integridad") or "")
        assert pin(i) not in r.text
    # the transcript is what the record format expects, and its joint key is the one read aloud
    ceremony_id, n, t, rounds = parse_ceremony(json.loads((w.exchange / layout.CEREMONY).read_text()))
    assert (ceremony_id, n, t, len(rounds)) == (CEREMONY_ID, N, T, 5)
    assert joint == {_summary_value(w.exchange / "resumen.txt", "Llave pública de la elección K")}
    # only sealed files and public copies of the envelopes sent (and of the sealing confirmation) are
    # left on each laptop (other ceremonies, such as a rehearsal's, have their own folders beside it)
    for i in range(1, N + 1):
        files = sorted(p.relative_to(w.private(i)).as_posix() for p in w.private(i).rglob("*")
                       if p.is_file() and p.relative_to(w.private(i)).parts[0] == f"{CEREMONY_ID}-custodio-{i}")
        assert files == [f"{CEREMONY_ID}-custodio-{i}/enviados/ronda-{r}.json" for r in range(5)] + [
            f"{CEREMONY_ID}-custodio-{i}/enviados/sellado.json", f"{CEREMONY_ID}-custodio-{i}/parte.sellado"]
        share = w.private(i) / f"{CEREMONY_ID}-custodio-{i}" / "parte.sellado"
        assert share.read_bytes().startswith(b"SIVEISF1") and share.stat().st_mode & 0o077 == 0
    # the working state sealed between rounds held the secret polynomial, then dropped it
    assert "el polinomio secreto se borra del estado" in c.steps[(2, 1)].out
    assert "la llave de transporte X25519 se borra del estado" in c.steps[(3, 1)].out


def _aloud(text: str, label: str) -> str | None:
    for line in text.splitlines():
        if "LEA EN VOZ ALTA" in line and label in line:
            return line.rsplit(": ", 1)[1].strip()
    return None


def _summary_value(path: Path, label: str) -> str:
    for line in path.read_text().splitlines():
        if line.startswith(label):
            return line.split(": ", 1)[1].strip()
    raise AssertionError(label)


def test_vault_opened_by_two_different_sets_of_three(ceremony: Ceremony) -> None:
    c = ceremony
    for opening_id, present in (("boveda-1", [1, 2, 3]), ("boveda-2", [2, 4, 5])):
        record = c.full[opening_id]
        report = verify_record(record, VerifyOptions(allow_test_group=True, jobs=1))
        assert report.ok, report.format_text()
        decryption = json.loads((record / layout.DECRYPTION).read_text())
        assert decryption["present"] == present and decryption["ceremony_id"] == opening_id
        results = ElectionResults.from_json(c.manifest, json.loads((record / layout.RESULTS).read_text()))
        got = {(r.entity, r.contest_id): list(r.option_counts) for r in results.contests}
        assert got == c.expected
        assert "RESULTADO" not in c.combined[opening_id].err
        bits = "128" if opening_id == "boveda-1" else "64"  # the second combination ran with --lote-bits 64
        printed = c.combined[opening_id].out + c.combined[opening_id].err
        assert f"pruebas verificadas por lotes con λ = {bits}" in printed
    # the CLI verifier accepts the complete record
    result = c.world.cli(["verificar", str(c.full["boveda-1"]), "--test-group", "--jobs", "1", "--quiet"]).ok()
    assert "verificación exitosa" in result.out
    # the closed record was not modified by the vault opening
    assert not (c.closed / layout.DECRYPTION).exists()
    # without in-person voting: one share file per key-holder and no results per channel
    assert not any(p.name.endswith("-canales.json") for p in c.shares[("boveda-1", 1)].parent.iterdir())
    assert not (c.full["boveda-1"] / "consulados").exists()


def test_acts_signed_by_the_tokens(ceremony: Ceremony) -> None:
    c = ceremony
    record = c.full["boveda-2"]
    opening = SignedAct.from_json(json.loads((record / layout.OPENING_ACT).read_text()), "acta")
    closing = SignedAct.from_json(json.loads((record / layout.CLOSING_ACT).read_text()), "acta")
    assert [s.signer for s in opening.signatures] == [f"guardian-{i}" for i in range(1, N + 1)]
    assert [s.signer for s in closing.signatures] == ["guardian-1", "guardian-3", "guardian-5"]
    shown = c.world.cli(["ceremonia", "acta", "mostrar", str(record / layout.OPENING_ACT), "--ceremonia",
                         str(record), "--test-group"]).ok()
    assert "ACTA DE INICIO" in shown.out and "firmas electrónicas completas y válidas" in shown.out

