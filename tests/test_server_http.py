"""End to end over real HTTP on loopback (werkzeug server thread): ``sivei simulacro --http`` — the
operator logs in with password + TOTP, imports the roll and emails the activation links; voters
activate (link, phone digits, SMS code, password), vote, keep receipts; close, count, publish, verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sivei.cli.main import main


def test_http_drill_ends_with_a_verified_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "registro"
    assert main(["simulacro", "--http", "--test-group", "--sin-tokens", "--voters", "5",
                 "--guardians", "3", "--threshold", "2", "--seed", "7", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Registro publicado" in text and "RESULTADO: verificación exitosa" in text
    assert "boleta tardía" in text
    # A drill runs under its own ids, never the real election's (issue 9).
    assert "SIMULACRO — NO ES LA ELECCIÓN REAL (simulacro-mx-2027-local-ext)" in text
    assert json.loads((out / "manifest.json").read_text())["election_id"] == "simulacro-mx-2027-local-ext"
    receipts = sorted((tmp_path / "registro-recibos").glob("recibo-*.json"))
    assert len(receipts) == 4  # the fifth voter arrives after the close
    args = ["verificar", str(out), "--test-group", "--quiet"]
    for r in receipts:
        args += ["--receipt", str(r)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "recibos revisados: 4" in out
