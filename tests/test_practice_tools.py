"""The practice election's and drills' files (issue 9, item 2): ``sivei manifiesto derivar`` (its own id,
name and window, ending before voting opens), the credential authority's practice list from the SAME
credentials (one letter for both elections; unlinkable public credentials), and the ceremony tools'
``--practica`` / ``--simulacro`` (each refuses the other kinds' files at once)."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

import nacl.pwhash
import pytest

from sivei.ballot import credentials as cr
from sivei.ballot.credential_tokens import SealedTokens, unseal_token, verify_token
from sivei.ballot.manifest import load_manifest
from sivei.cli import main as cli_main
from sivei.cli.main import main
from sivei_ceremonies.common import RefusalError, check_election, set_kind

AUTH_PW = "frase de la autoridad 2027"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_main, "BUILTIN_COMMANDS", ("sivei.cli.credentials_cmd", "sivei.cli.manifest_cmd"))
    monkeypatch.setenv("SIVEI_AUTORIDAD_PASSPHRASE", AUTH_PW)
    monkeypatch.setattr(cr, "DEFAULT_OPSLIMIT", nacl.pwhash.argon2id.OPSLIMIT_MIN)
    monkeypatch.setattr(cr, "DEFAULT_MEMLIMIT", nacl.pwhash.argon2id.MEMLIMIT_MIN)


def test_practice_manifest_and_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real_path = tmp_path / "manifiesto.json"
    real_path.write_bytes((resources.files("sivei") / "data" / "sample-manifest.json").read_bytes())
    real = load_manifest(real_path)
    practice_path = tmp_path / "practica.json"
    # A window that reaches into the real election's is refused (one election at a time), nothing written.
    late = real.voting_opens.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert main(["manifiesto", "derivar", str(real_path), "--practica", "--abre", "2027-05-01T14:00:00Z",
                 "--cierra", "2099-01-01T00:00:00Z", "--salida", str(practice_path)]) == 2
    assert "antes de que abra la elección real" in capsys.readouterr().err and not practice_path.exists()
    assert main(["manifiesto", "derivar", str(real_path), "--practica", "--abre", "2027-05-01T14:00:00Z",
                 "--cierra", late, "--salida", str(practice_path)]) == 0
    out = capsys.readouterr().out
    assert "PRÁCTICA — NO ES LA ELECCIÓN REAL (practica-mx-2027-local-ext)" in out and "--practica" in out
    practice = load_manifest(practice_path)
    assert practice.name.startswith("PRÁCTICA — ") and practice.voting_closes == real.voting_opens
    assert [c.to_json() for c in practice.contests] == [c.to_json() for c in real.contests]

    roll = cr.synthetic_roll(real, 6, seed=2)
    roll_path = tmp_path / "padron.csv"
    with roll_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["voter_id", "entity", "name", "email"])
        for r in roll:
            w.writerow([r.voter_id, r.entity, r.name, r.email])
    key = tmp_path / "autoridad.pem"
    out_dir = tmp_path / "salida"
    assert main(["credenciales", "llave", "--salida", str(key)]) == 0
    # Another election's manifest is not this one's practice.
    assert main(["credenciales", "generar", "--manifiesto", str(real_path), "--padron", str(roll_path), "--llave",
                 str(key), "--sitio", "https://voto.ejemplo.mx", "--salida", str(out_dir), "--olvidar",
                 "--practica", str(real_path)]) == 2
    assert not out_dir.exists()
    capsys.readouterr()
    assert main(["credenciales", "generar", "--manifiesto", str(real_path), "--padron", str(roll_path), "--llave",
                 str(key), "--sitio", "https://voto.ejemplo.mx", "--salida", str(out_dir), "--olvidar",
                 "--practica", str(practice_path)]) == 0
    assert "MISMAS credenciales" in capsys.readouterr().out
    for manifest_path, lista in ((real_path, out_dir / "lista"), (practice_path, out_dir / "practica" / "lista")):
        assert main(["credenciales", "publicar", "--manifiesto", str(manifest_path), "--lista", str(lista),
                     "--llave", str(key)]) == 0
    authority = cr.load_authority_key(key, AUTH_PW)
    real_list = cr.CredentialList.read(out_dir / "lista", real, authority_key=authority.public_key)
    practice_list = cr.CredentialList.read(out_dir / "practica" / "lista", practice, authority_key=authority.public_key)
    assert practice_list.counts == real_list.counts
    assert not {e.public_key for e in real_list.entries} & {e.public_key for e in practice_list.entries}
    sealed = SealedTokens.read(out_dir / "practica" / "servidor" / "sealed-tokens.jsonl")
    assert sealed.problems_with(practice_list, practice.election_id) == []
    # One letter: the voter's one credential is on both lists and opens the practice's sealed token.
    rows = list(csv.DictReader((out_dir / "entregas" / "mail-merge.csv").open(encoding="utf-8")))
    for row in rows:
        pk = cr.credential_public_key(practice.election_id, row["credential"])
        assert practice_list.style_of(pk) == practice.style_for_entity(row["entity"]).id
        token = unseal_token(practice.election_id, row["voter_id"], row["credential"],
                             sealed.sealed[row["voter_id"].upper()])
        assert verify_token(authority.public_key, practice.election_id, row["voter_id"].upper(), pk, token)
    assert json.loads((out_dir / "practica" / "lista" / "credential-list.json").read_text())["election_id"] == \
        "practica-mx-2027-local-ext"


def test_ceremony_tools_work_on_one_kind_of_election() -> None:
    try:
        set_kind("practice")
        check_election("practica-mx-2027-local-ext", "ceremonia.json")
        with pytest.raises(RefusalError, match="--practica"):
            check_election("mx-2027-local-ext", "ceremonia.json")
        set_kind("real")
        with pytest.raises(RefusalError, match="--practica"):
            check_election("practica-mx-2027-local-ext", "ceremonia.json")
        with pytest.raises(RefusalError, match="--simulacro"):
            check_election("simulacro-mx-2027-local-ext", "ceremonia.json")
        set_kind("drill")
        check_election("simulacro-mx-2027-local-ext", "ceremonia.json")
    finally:
        set_kind("real")
