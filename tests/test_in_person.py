"""In-person voting at consulates in the library: the manifest's ``in_person`` (hash unchanged without
it), the credential authority's pools and declaration (bound into the signed list), the consulate's
log (signed by its key: file or PKCS#11 token, with ``sivei consulado``), voter-ID numbers."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from sivei.ballot import credentials as cr
from sivei.ballot.in_person import (
    ConsulateLog,
    InPersonDeclaration,
    check_log,
    normal_voter_card,
    with_consulates,
)
from sivei.ballot.manifest import Manifest, sample_manifest
from sivei.cli.main import main
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.envelope import Envelope
from sivei.custody import SoftHsmEnvironment, find_softhsm_module
from sivei.errors import ManifestError


def consulate_manifest(keys: dict[str, bytes] | None = None) -> Manifest:
    keys = keys or {"LAX": SoftwareSigner().public_key, "MAD": SoftwareSigner().public_key}
    return with_consulates(sample_manifest(), [(code, f"Consulado {code}", 2 if code == "LAX" else 1, key)
                                               for code, key in keys.items()])


def test_the_manifest_names_consulates_their_caps_keys_and_the_unregistered_ballot() -> None:
    plain = sample_manifest()
    m = consulate_manifest()
    assert plain.in_person is None and "in_person" not in plain.to_json()
    assert m.counting_policy == "one-vote-per-person" and m.in_person is not None
    assert m.in_person.unregistered_style == "sre" and m.style("sre").contests == ("rm-2027",)  # shared contest
    assert Manifest.from_json(m.to_json()) == m and m.hash != plain.hash
    # the policy and the block go together; keys are points, distinct; caps bounded
    obj = m.to_json()
    with pytest.raises(ManifestError, match="one-vote-per-person"):
        Manifest.from_json({**obj, "counting_policy": "one-vote"})
    no_block = {k: v for k, v in obj.items() if k != "in_person"}
    with pytest.raises(ManifestError, match="in_person"):
        Manifest.from_json(no_block)
    bad = json.loads(json.dumps(obj))
    bad["in_person"]["consulates"][1]["log_key"] = bad["in_person"]["consulates"][0]["log_key"]
    with pytest.raises(ManifestError, match=r"propia llave|own key"):
        Manifest.from_json(bad)
    bad = json.loads(json.dumps(obj))
    bad["in_person"]["consulates"][0]["log_key"] = "04" + "00" * 64
    with pytest.raises(ManifestError, match="P-256"):
        Manifest.from_json(bad)
    bad = json.loads(json.dumps(obj))
    bad["in_person"]["unregistered_style"] = "nada"
    with pytest.raises(ManifestError, match=r"in_person\.unregistered_style"):
        Manifest.from_json(bad)


def test_pools_and_the_declaration_are_bound_into_the_signed_list() -> None:
    m = consulate_manifest()
    roll = [cr.RollEntry(f"V{k}", "CHIH" if k % 2 else "JAL", f"N {k}", f"v{k}@x.invalid",
                         "LAX" if k < 2 else "MAD" if k == 2 else None) for k in range(5)]
    authority = SoftwareSigner()
    issued = cr.issue_credentials(m, roll, authority, retain=False)
    declaration = issued.declaration
    assert declaration is not None and {c: len(p) for c, p in issued.pools.items()} == {"LAX": 2, "MAD": 1}
    lst = issued.credential_list
    assert lst.counts["sre"] == 3 and len(lst) == 5 + 3
    assert lst.in_person_hash == declaration.hash.hex()
    assert cr.check_credential_list(m, lst.envelope, lst.entries) == []
    assert declaration.problems(m, lst.styles, lst.in_person_hash) == []
    assert [len(c.registered) for c in declaration.consulates] == [2, 1]
    # a registered voter's credential moved into a pool, or a pool credential dropped: named
    moved = InPersonDeclaration(declaration.election_id, (
        declaration.consulates[0].__class__("LAX", declaration.consulates[0].registered[1:],
                                            tuple(sorted((*declaration.consulates[0].pool,
                                                          declaration.consulates[0].registered[0])))),
        declaration.consulates[1]))
    found = moved.problems(m, lst.styles, moved.hash.hex())
    assert any("es del estilo" in p for p in found) and any("LAX.pool tiene 3" in p for p in found)
    # the list without the declaration's hash is refused for this manifest; with it, for another
    body = dict(lst.envelope.body)
    del body["in_person_hash"]
    unsigned = Envelope(lst.envelope.type, lst.envelope.election_id, lst.envelope.ceremony_id, 0,
                        lst.envelope.sender, lst.envelope.previous, body, lst.envelope.signature)
    assert any("in_person_hash" in p for p in cr.check_credential_list(m, unsigned, lst.entries))
    # nobody on the roll has the unregistered voters' entity; consulates are the manifest's
    with pytest.raises(cr.CredentialError):
        cr.generate_credentials(m, [cr.RollEntry("X", "SRE", "N", "x@x.invalid")], retain=False)


def test_voter_id_numbers() -> None:
    assert normal_voter_card(" gmzjrl 85032809 h300 ") == "GMZJRL85032809H300"
    assert normal_voter_card("GMZJRL-8503-2809-H300") == "GMZJRL85032809H300"
    assert normal_voter_card("12ZJRL85032809H300") is None and normal_voter_card("GMZJRL8503") is None


def test_generate_writes_pool_cards_and_publish_signs_the_declaration(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    m = consulate_manifest()
    (tmp_path / "manifest.json").write_text(json.dumps(m.to_json()), encoding="utf-8")
    (tmp_path / "padron.csv").write_text("voter_id,entity,name,email,consulate\n"
                                         "A1,CHIH,Ana,a1@x.invalid,LAX\nB2,JAL,Beto,b2@x.invalid,\n", encoding="utf-8")
    monkeypatch.setenv("SIVEI_AUTORIDAD_PASSPHRASE", "una frase de paso larga")
    assert main(["credenciales", "llave", "--salida", str(tmp_path / "autoridad.pem")]) == 0
    assert main(["credenciales", "generar", "--manifiesto", str(tmp_path / "manifest.json"), "--padron",
                 str(tmp_path / "padron.csv"), "--llave", str(tmp_path / "autoridad.pem"), "--sitio",
                 "https://votar.example.mx", "--salida", str(tmp_path / "salida"), "--olvidar", "--sin-cartas"]) == 0
    out = tmp_path / "salida"
    with (out / "entregas/consulados/LAX/tarjetas.csv").open(encoding="utf-8") as f:
        cards = list(csv.DictReader(f))
    assert [c["card"] for c in cards] == ["LAX-0001", "LAX-0002"]
    assert cards[0]["link"].startswith("https://votar.example.mx/votar#credencial=")
    assert (out / "entregas/consulados/LAX/qr/LAX-0001.png").read_bytes()[:4] == b"\x89PNG"
    assert oct((out / "entregas/consulados/LAX/tarjetas.csv").stat().st_mode & 0o777) == "0o600"
    assert main(["credenciales", "publicar", "--manifiesto", str(tmp_path / "manifest.json"), "--lista",
                 str(out / "lista"), "--llave", str(tmp_path / "autoridad.pem"), "--salida",
                 str(tmp_path / "publicada")]) == 0
    assert (tmp_path / "publicada/consulados.json").is_file()
    assert main(["credenciales", "verificar-lista", "--manifiesto", str(tmp_path / "manifest.json"), "--lista",
                 str(tmp_path / "publicada")]) == 0
    # a doctored declaration beside the published list is named
    declaration = json.loads((tmp_path / "publicada/consulados.json").read_text())
    declaration["consulates"][0]["pool"].pop()
    (tmp_path / "publicada/consulados.json").write_text(json.dumps(declaration))
    assert main(["credenciales", "verificar-lista", "--manifiesto", str(tmp_path / "manifest.json"), "--lista",
                 str(tmp_path / "publicada")]) == 1


def _signed_by_cli(tmp_path: Path, key_args: list[str], public: bytes) -> Envelope:
    m = consulate_manifest({"LAX": public, "MAD": SoftwareSigner().public_key})
    election_hash = bytes(range(32))
    log = ConsulateLog("LAX", 4, (bytes(32), bytes([1]) * 32))
    draft = tmp_path / "bitacora-LAX-sin-firmar.json"
    draft.write_text(json.dumps(log.draft(m.election_id, election_hash)), encoding="utf-8")
    assert main(["consulado", "firmar", "--bitacora", str(draft), "--salida", str(tmp_path / "firmada.json"),
                 *key_args]) == 0
    envelope = Envelope.from_json(json.loads((tmp_path / "firmada.json").read_text()))
    assert check_log(m, election_hash, "LAX", envelope, "bitácora") == (log, [])
    # MAD's key does not sign LAX's log
    assert check_log(m, election_hash, "MAD", envelope, "bitácora")[0] is None
    return envelope


def test_the_consulate_signs_its_log_with_a_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SIVEI_CONSULADO_PASSPHRASE", "frase de paso del consulado")
    assert main(["consulado", "llave", "--salida", str(tmp_path / "lax.pem")]) == 0
    public = bytes.fromhex(capsys.readouterr().out.split("\n")[2].strip())
    _signed_by_cli(tmp_path, ["--llave", str(tmp_path / "lax.pem")], public)
    assert "personas sin registro previo atendidas" in capsys.readouterr().out
    assert main(["consulado", "firmar", "--bitacora", str(tmp_path / "lax.pem"), "--salida",
                 str(tmp_path / "otra.json"), "--llave", str(tmp_path / "lax.pem")]) != 0  # not a log


def test_the_consulate_signs_its_log_in_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    if find_softhsm_module() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install SoftHSM2")
        pytest.skip("SoftHSM2 is not installed")
    with SoftHsmEnvironment(tmp_path / "softhsm") as env:
        env.init_token("consulado-lax", "87654321", "12345678")
        monkeypatch.setenv("SIVEI_PIN", "12345678")
        assert main(["consulado", "llave", "--token", "consulado-lax"]) == 0
        public = bytes.fromhex(capsys.readouterr().out.split("\n")[2].strip())
        _signed_by_cli(tmp_path, ["--token", "consulado-lax"], public)
