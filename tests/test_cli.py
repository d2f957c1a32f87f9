"""The ``sivei`` command end to end on the test group: drill, verifier, challenged-ballot check, and
bad input answered with a clear message and no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sivei.ballot.challenge import ChallengedBallot
from sivei.ballot.encrypt import encrypt_ballot, new_ballot_nonce
from sivei.cli.main import main
from sivei.crypto import ed25519
from sivei.i18n import set_language
from sivei.record.context import load_election_context


@pytest.fixture(autouse=True)
def spanish() -> None:
    yield
    set_language("es")


@pytest.fixture(scope="module")
def drilled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "rec"
    assert main(["simulacro", "--test-group", "--voters", "8", "--challenges", "1", "--output", str(out)]) == 0
    return out


def test_drill_prints_results_and_success(drilled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verificar", "--test-group", "--quiet", "--jobs", "1", str(drilled)]) == 0
    out = capsys.readouterr().out
    assert "verificación exitosa" in out and "elección (H_E)" in out
    assert main(["--english", "verify", "--test-group", "--quiet", "--jobs", "1", str(drilled)]) == 0
    assert "verification successful" in capsys.readouterr().out


def test_batch_security_printed_and_bounded(drilled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--lote-bits λ appears in the report; outside 64..128 it is refused before anything runs;
    progress is reported from the board's byte offset up to 100 %."""
    assert main(["verificar", "--test-group", "--jobs", "2", "--lote-bits", "64", "--json", "-", str(drilled)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["facts"]["batch_bits"] == 64
    assert "100% (" in captured.err and "eventos" in captured.err
    assert main(["verificar", "--test-group", "--quiet", str(drilled)]) == 0
    assert "pruebas por lotes, λ (una prueba falsa pasa con probabilidad ≤ 2·2^−λ): 128" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["verificar", "--test-group", "--lote-bits", "32", str(drilled)])
    assert exc.value.code == 2 and "64" in capsys.readouterr().err


def test_verify_json_report(drilled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    assert main(["verificar", "--test-group", "--quiet", "--json", str(report), str(drilled)]) == 0
    data = json.loads(report.read_text())
    assert data["ok"] is True and data["problems"] == [] and data["failed_checks"] == {}
    capsys.readouterr()
    assert main(["verificar", "--quiet", "--json", "-", str(drilled)]) == 1  # test group refused
    data = json.loads(capsys.readouterr().out)
    assert data["failed_checks"] == {"parameters": 1}


def test_verify_missing_record(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verificar", "/nonexistent/record"]) == 2
    err = capsys.readouterr().err
    assert "no existe el directorio" in err and "Traceback" not in err


def test_challenged_ballot_checked_offline(drilled: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    ctx = load_election_context(drilled, allow_test_group=True)
    seed = bytes(32)
    public = ed25519.public_key_from_seed(seed)
    style = ctx.manifest.ballot_styles[0].id
    contest = ctx.manifest.style_contests(style)[0][1]
    choices = {contest.id: contest.options[0].id}
    nonce = new_ballot_nonce()
    challenged = ChallengedBallot(encrypt_ballot(ctx, style, choices, public, nonce), choices, nonce)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(challenged.to_json(ctx)))
    assert main(["corroborar", str(good), "--eleccion", str(drilled), "--test-group"]) == 0
    out = capsys.readouterr().out
    assert "corresponde exactamente" in out and contest.options[0].label in out
    lie = challenged.to_json(ctx)
    lie["choices"] = {contest.id: contest.options[1].id}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(lie))
    assert main(["impugnada", str(bad), "--eleccion", str(drilled), "--test-group"]) == 1
    assert "NO corresponde" in capsys.readouterr().out
    bad.write_text("{")
    assert main(["impugnada", str(bad), "--eleccion", str(drilled), "--test-group"]) == 2
    assert "no se puede leer" in capsys.readouterr().err


@pytest.mark.parametrize(("script", "message"), [
    ("entity,contest,votes\n", "encabezado"),
    ("entity,contest,option,count\nXX,gob-chih,PAN,1\n", "XX"),
    ("entity,contest,option,count\nCHIH,gob-chih,NOPE,1\n", "NOPE"),
    ("entity,contest,option,count\nJAL,gob-chih,PAN,1\n", "no está en la boleta"),
    ("entity,contest,option,count\nCHIH,gob-chih,PAN,uno\n", "entero"),
    ("entity,contest,option,count\nCHIH,gob-chih,PAN,2\nCHIH,sen-norte,NULO,1\nCHIH,rm-2027,NULO,2\n",
     "mismos votos"),
    ("entity,contest,option,count\n", "no tiene votos"),
])
def test_bad_vote_script(tmp_path: Path, capsys: pytest.CaptureFixture[str], script: str, message: str) -> None:
    path = tmp_path / "guion.csv"
    path.write_text(script)
    assert main(["simulacro", "--test-group", "--votes", str(path), "--output", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_bad_manifest_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"election_id": ')
    assert main(["simulacro", "--test-group", "--manifest", str(path)]) == 2
    assert "línea" in capsys.readouterr().err


def test_verify_json_keys_are_the_same_in_both_languages(drilled: Path, tmp_path: Path) -> None:
    """Machines read the JSON report: its keys are stable English identifiers whatever the language;
    only labels, messages and notes are translated."""
    es, en = tmp_path / "es.json", tmp_path / "en.json"
    assert main(["verificar", "--test-group", "--quiet", "--jobs", "1", "--json", str(es), str(drilled)]) == 0
    assert main(["verify", "--test-group", "--quiet", "--jobs", "1", "--json", str(en), str(drilled), "--english"]) == 0
    a, b = json.loads(es.read_text()), json.loads(en.read_text())
    assert (a["language"], b["language"]) == ("es", "en")
    for key in ("facts", "fingerprints", "labels"):
        assert list(a[key]) == list(b[key])
    assert a["facts"] == b["facts"] and a["fingerprints"] == b["fingerprints"]
    assert {"group", "election", "key_ceremony", "ballots_on_board", "guardians_decrypted"} <= set(a["facts"])
    assert {"election_hash", "manifest", "guardian_1", "final_board_head", "opening_act", "closing_act",
            "integrity_constancia"} <= set(a["fingerprints"])
    assert a["labels"]["election_hash"] == "elección (H_E)" and b["labels"]["election_hash"] == "election (H_E)"
    assert a["format"] == "sivei-verification-report" and a["version"] == 1


def test_english_after_the_subcommand(drilled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--test-group", "--quiet", "--jobs", "1", str(drilled), "--english"]) == 0
    assert "verification successful" in capsys.readouterr().out
    assert main(["ceremonia", "--english"]) == 2  # no subcommand: the English help, not a parse error
    assert "Key-holders' ceremonies" in capsys.readouterr().out
