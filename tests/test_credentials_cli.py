"""``sivei credenciales`` end to end in a temporary directory, through ``sivei.cli.main.main``."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import nacl.pwhash
import pytest

from sivei.ballot import credentials as cr
from sivei.ballot.credential_tokens import SealedTokens, unseal_token, verify_token
from sivei.ballot.manifest import load_manifest
from sivei.cli import main as cli_main
from sivei.cli.main import main
from sivei.crypto.fingerprint import fingerprint

AUTH_PW = "frase de la autoridad 2027"
SITE = "https://voto.ejemplo.mx"
ESCROW_PW = "frase de la custodia 2027"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only this command: other commands' modules are built concurrently and must not break these tests.
    monkeypatch.setattr(cli_main, "BUILTIN_COMMANDS", ("sivei.cli.credentials_cmd",))
    monkeypatch.setenv("SIVEI_AUTORIDAD_PASSPHRASE", AUTH_PW)
    monkeypatch.setenv("SIVEI_CUSTODIA_PASSPHRASE", ESCROW_PW)
    monkeypatch.setattr(cr, "DEFAULT_OPSLIMIT", nacl.pwhash.argon2id.OPSLIMIT_MIN)
    monkeypatch.setattr(cr, "DEFAULT_MEMLIMIT", nacl.pwhash.argon2id.MEMLIMIT_MIN)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    manifest_path = tmp_path / "manifiesto.json"
    manifest_path.write_bytes((resources.files("sivei") / "data" / "sample-manifest.json").read_bytes())
    manifest = load_manifest(manifest_path)
    roll = cr.synthetic_roll(manifest, 15, seed=4)
    roll_path = tmp_path / "padron.csv"
    with roll_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["voter_id", "entity", "name", "email"])
        for r in roll:
            writer.writerow([r.voter_id, r.entity, r.name, r.email])
    return {"manifest": manifest_path, "roll": roll_path, "key": tmp_path / "autoridad.pem",
            "out": tmp_path / "salida", "pub": tmp_path / "publica", "tmp": tmp_path}


def decoded_qr(png: Path) -> str | None:
    """The QR code's text as zbar reads it (an independent decoder), or None without zbarimg."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        if os.environ.get("CI"):
            pytest.fail("zbarimg (Debian's zbar-tools) is required in CI")
        return None
    out = subprocess.run([zbarimg, "--quiet", "--raw", str(png)], capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.rstrip("\n")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _setup(capsys: pytest.CaptureFixture[str], f: dict[str, Path], *extra: str) -> None:
    m = str(f["manifest"])
    assert _run(capsys, "credenciales", "llave", "--salida", str(f["key"]))[0] == 0
    assert _run(capsys, "credenciales", "generar", "--manifiesto", m, "--padron", str(f["roll"]),
                "--llave", str(f["key"]), "--sitio", SITE, "--salida", str(f["out"]), *extra)[0] == 0
    assert _run(capsys, "credenciales", "publicar", "--manifiesto", m, "--lista", str(f["out"] / "lista"),
                "--llave", str(f["key"]), "--salida", str(f["pub"]))[0] == 0


def test_end_to_end(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    m = str(files["manifest"])
    code, out, _ = _run(capsys, "credenciales", "llave", "--salida", str(files["key"]))
    assert code == 0 and "Huella" in out
    assert AUTH_PW not in out
    authority = cr.load_authority_key(files["key"], AUTH_PW)

    code, out, _ = _run(capsys, "credenciales", "generar", "--manifiesto", m, "--padron", str(files["roll"]),
                        "--llave", str(files["key"]), "--sitio", SITE, "--salida", str(files["out"]))
    assert code == 0 and "15 credenciales generadas" in out
    deliveries = files["out"] / "entregas"
    rows = list(csv.DictReader((deliveries / "mail-merge.csv").open(encoding="utf-8")))
    assert len(rows) == 15
    assert len(list((deliveries / "cartas").iterdir())) == 15
    assert (files["out"] / "custodia" / "escrow.jsonl").exists()
    assert not (files["out"] / "lista" / "credential-list.json").exists()
    assert not [p for p in files["tmp"].iterdir() if p.name.startswith(".")]

    code, out, _ = _run(capsys, "credenciales", "publicar", "--manifiesto", m,
                        "--lista", str(files["out"] / "lista"), "--llave", str(files["key"]),
                        "--salida", str(files["pub"]))
    assert code == 0
    manifest = load_manifest(files["manifest"])
    published = cr.CredentialList.read(files["pub"], manifest, authority_key=authority.public_key)
    assert fingerprint(published.hash) in out
    assert published.retains_credentials
    for row in rows:
        pk = cr.credential_public_key(manifest.election_id, row["credential"])
        assert published.style_of(pk) == manifest.style_for_entity(row["entity"]).id

    code, out, _ = _run(capsys, "credenciales", "verificar-lista", "--manifiesto", m, "--lista",
                        str(files["pub"]), "--autoridad", cr.authority_fingerprint(authority.public_key))
    assert code == 0
    assert "La lista es válida: 15 credenciales" in out
    assert cr.authority_fingerprint(authority.public_key) in out
    for style, n in published.counts.items():
        assert any(line.split() == [style, str(n)] for line in out.splitlines())

    # Each voter's sealed token, for the server's operator: signed with the key that signed the list.
    sealed = SealedTokens.read(files["out"] / "servidor" / "sealed-tokens.jsonl")
    assert sealed.problems_with(published, manifest.election_id) == []
    for row in rows:
        assert row["link"] == f"{SITE}/votar#credencial={cr.parse_credential(row['credential'])}"
        token = unseal_token(manifest.election_id, row["voter_id"], row["credential"], sealed.sealed[row["voter_id"]])
        pk = cr.credential_public_key(manifest.election_id, row["credential"])
        assert verify_token(authority.public_key, manifest.election_id, row["voter_id"], pk, token)
        assert (deliveries / row["qr"]).read_bytes().startswith(b"\x89PNG")
    assert decoded_qr(deliveries / rows[0]["qr"]) in (None, rows[0]["link"])

    # Re-delivery after an identity check: the same credential and link, logged.
    voter = rows[6]
    code, out, _ = _run(capsys, "credenciales", "reenviar", "--manifiesto", m, "--custodia",
                        str(files["out"] / "custodia"), "--votante", voter["voter_id"], "--sitio", SITE,
                        "--verificacion", "videollamada; pasaporte G1234567", "--lista", str(files["pub"]))
    assert code == 0 and voter["credential"] in out and voter["link"] in out and fingerprint(manifest.hash) in out

    letters = files["tmp"] / "reenvios"
    code, out, _ = _run(capsys, "credentials", "redeliver", "--manifest", m, "--escrow",
                        str(files["out"] / "custodia"), "--voter", voter["voter_id"], "--site", SITE,
                        "--identity-check", "en persona en el consulado, INE 0123", "--output", str(letters))
    assert code == 0
    assert voter["credential"] in (letters / f"{voter['voter_id']}.txt").read_text(encoding="utf-8")
    row = next(csv.DictReader((letters / f"{voter['voter_id']}-mail-merge.csv").open(encoding="utf-8")))
    assert row == voter
    assert (letters / row["qr"]).read_bytes() == (deliveries / row["qr"]).read_bytes()
    log = [json.loads(line) for line in (files["out"] / "custodia" / "reenvios.jsonl").read_text().splitlines()]
    assert [(e["voter_id"], e["identity_check"]) for e in log] == [
        (voter["voter_id"], "videollamada; pasaporte G1234567"),
        (voter["voter_id"], "en persona en el consulado, INE 0123")]
    assert (files["out"] / "custodia" / "reenvios.jsonl").stat().st_mode & 0o777 == 0o600


def test_check_list_in_english(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    _setup(capsys, files)
    key = cr.load_authority_key(files["key"], AUTH_PW).public_key
    code, out, _ = _run(capsys, "--english", "credentials", "check-list", "--manifest",
                        str(files["manifest"]), "--list", str(files["pub"]), "--authority", key.hex())
    assert code == 0
    assert "The list is valid: 15 credentials" in out and "Authority fingerprint" in out


def test_check_list_reports_every_problem(capsys: pytest.CaptureFixture[str],
                                          files: dict[str, Path]) -> None:
    _setup(capsys, files)
    path = files["pub"] / "credentials.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], *lines]) + "\n")
    code, out, _ = _run(capsys, "credenciales", "verificar-lista", "--manifiesto", str(files["manifest"]),
                        "--lista", str(files["pub"]))
    assert code == 1
    assert "NO es válida" in out
    assert "línea 2: credencial repetida" in out
    assert "body.count" in out and "entries_hash" in out


def test_check_list_wrong_authority(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    _setup(capsys, files)
    other = cr.authority_fingerprint(cr.SoftwareSigner().public_key)
    code, out, _ = _run(capsys, "credenciales", "verificar-lista", "--manifiesto", str(files["manifest"]),
                        "--lista", str(files["pub"]), "--autoridad", other)
    assert code == 1 and "huella de la autoridad no es la esperada" in out


def test_forget_keeps_no_escrow(capsys: pytest.CaptureFixture[str], files: dict[str, Path],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIVEI_CUSTODIA_PASSPHRASE")
    _setup(capsys, files, "--olvidar", "--sin-cartas")
    assert not (files["out"] / "custodia").exists()
    assert not (files["out"] / "entregas" / "cartas").exists()
    body = json.loads((files["pub"] / "credential-list.json").read_text())["body"]
    assert body["retains_credentials"] is False


def test_bad_roll_writes_nothing(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    files["roll"].write_text(files["roll"].read_text() + "X1,NOEXISTE,Ana,ana@x.mx\n", encoding="utf-8")
    code, _, err = _run(capsys, "credenciales", "generar", "--manifiesto", str(files["manifest"]),
                        "--padron", str(files["roll"]), "--llave", str(files["key"]), "--sitio", SITE,
                        "--salida", str(files["out"]))
    assert code == 2
    assert "línea 17: entidad desconocida 'NOEXISTE'" in err
    assert not files["out"].exists()


def test_generate_refuses_a_used_directory(capsys: pytest.CaptureFixture[str],
                                           files: dict[str, Path]) -> None:
    cr.create_authority_key(files["key"], AUTH_PW)
    files["out"].mkdir()
    (files["out"] / "algo.txt").write_text("x")
    code, _, err = _run(capsys, "credenciales", "generar", "--manifiesto", str(files["manifest"]),
                        "--padron", str(files["roll"]), "--llave", str(files["key"]), "--sitio", SITE,
                        "--salida", str(files["out"]))
    assert code == 2 and "no está vacío" in err


def test_failure_midway_leaves_nothing(capsys: pytest.CaptureFixture[str], files: dict[str, Path],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object, **_kwargs: object) -> None:
        raise cr.CredentialError("fallo simulado")

    monkeypatch.setattr(cr.Escrow, "create", boom)
    cr.create_authority_key(files["key"], AUTH_PW)
    code, _, err = _run(capsys, "credenciales", "generar", "--manifiesto", str(files["manifest"]),
                        "--padron", str(files["roll"]), "--llave", str(files["key"]), "--sitio", SITE,
                        "--salida", str(files["out"]))
    assert code == 2 and "fallo simulado" in err
    assert not files["out"].exists()
    assert not [p for p in files["tmp"].iterdir() if p.name.startswith(".")]


def test_publish_with_wrong_passphrase(capsys: pytest.CaptureFixture[str], files: dict[str, Path],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    m = str(files["manifest"])
    assert _run(capsys, "credenciales", "llave", "--salida", str(files["key"]))[0] == 0
    assert _run(capsys, "credenciales", "generar", "--manifiesto", m, "--padron", str(files["roll"]),
                "--llave", str(files["key"]), "--sitio", SITE, "--salida", str(files["out"]))[0] == 0
    monkeypatch.setenv("SIVEI_AUTORIDAD_PASSPHRASE", "otra frase de paso")
    code, out, err = _run(capsys, "credenciales", "publicar", "--manifiesto", m, "--lista",
                          str(files["out"] / "lista"), "--llave", str(files["key"]))
    assert code == 2 and "frase de paso incorrecta" in err
    assert "otra frase" not in out + err
    assert not (files["out"] / "lista" / "credential-list.json").exists()


def test_publish_with_another_key_than_the_tokens_is_refused(capsys: pytest.CaptureFixture[str],
                                                             files: dict[str, Path]) -> None:
    m = str(files["manifest"])
    cr.create_authority_key(files["key"], AUTH_PW)
    assert _run(capsys, "credenciales", "generar", "--manifiesto", m, "--padron", str(files["roll"]),
                "--llave", str(files["key"]), "--sitio", SITE, "--salida", str(files["out"]))[0] == 0
    other = files["tmp"] / "otra.pem"
    cr.create_authority_key(other, AUTH_PW)
    code, _, err = _run(capsys, "credenciales", "publicar", "--manifiesto", m, "--lista",
                        str(files["out"] / "lista"), "--llave", str(other))
    assert code == 2 and "las fichas se firmaron con otra llave" in err
    assert not (files["out"] / "lista" / "credential-list.json").exists()


def test_publish_twice_is_refused(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    _setup(capsys, files)
    code, _, err = _run(capsys, "credenciales", "publicar", "--manifiesto", str(files["manifest"]),
                        "--lista", str(files["out"] / "lista"), "--llave", str(files["key"]),
                        "--salida", str(files["pub"]))
    assert code == 2 and "ya se publicó" in err


def test_redeliver_wrong_passphrase(capsys: pytest.CaptureFixture[str], files: dict[str, Path],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _setup(capsys, files)
    monkeypatch.setenv("SIVEI_CUSTODIA_PASSPHRASE", "no es esta frase")
    code, out, err = _run(capsys, "credenciales", "reenviar", "--manifiesto", str(files["manifest"]),
                          "--custodia", str(files["out"] / "custodia"), "--votante", "V00000001", "--sitio", SITE,
                          "--verificacion", "videollamada y pasaporte")
    assert code == 2 and "frase de paso incorrecta" in err and out == ""
    assert not (files["out"] / "custodia" / "reenvios.jsonl").exists()
    # A re-delivery must say how the identity was checked.
    monkeypatch.setenv("SIVEI_CUSTODIA_PASSPHRASE", ESCROW_PW)
    code, out, err = _run(capsys, "credenciales", "reenviar", "--manifiesto", str(files["manifest"]),
                          "--custodia", str(files["out"] / "custodia"), "--votante", "V00000001", "--sitio", SITE,
                          "--verificacion", " ok ")
    assert code == 2 and "cómo se verificó la identidad" in err and out == ""


def test_key_rules(capsys: pytest.CaptureFixture[str], files: dict[str, Path],
                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIVEI_AUTORIDAD_PASSPHRASE", "corta")
    code, _, err = _run(capsys, "credenciales", "llave", "--salida", str(files["key"]))
    assert code == 2 and "al menos 12 caracteres" in err and not files["key"].exists()
    monkeypatch.delenv("SIVEI_AUTORIDAD_PASSPHRASE")
    code, _, err = _run(capsys, "credenciales", "llave", "--salida", str(files["key"]))
    assert code == 2 and "SIVEI_AUTORIDAD_PASSPHRASE" in err
    files["key"].write_text("x")
    code, _, err = _run(capsys, "credentials", "key", "--output", str(files["key"]))
    assert code == 2 and "ya existe" in err


def test_no_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["credenciales"])
    _, err = capsys.readouterr()
    assert code == 2 and "generar" in err
