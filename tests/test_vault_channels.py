"""The vault opening of an election with in-person voting at consulates: results per channel
(docs/protocol.md §20.5) from the real ceremony, against real SoftHSM2 tokens.

One 3-of-5 key ceremony (separate processes, as in ``test_ceremony.py``) for Chihuahua with a
consulate at LAX: 32 voters registered there vote at its kiosk, 32 by internet, and one unregistered
voter votes with a pool card (the SRE cells: 0 internet, 1 consulados). So the three CHIH cells qualify
(32 / 32) and the three SRE cells do not. Four key-holders decrypt; two different sets of three are
combined. Each key-holder recomputes the split from the board and the declaration and writes a
second share file (``…-canales.json``, session ``<opening>-canales``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from ceremonytools import (
    Ceremony,
    N,
    Result,
    World,
    _closing,
    _expected_counts,
    _key_ceremony,
    _opening,
    _require_softhsm,
    pin,
    token,
    tree,
)
from recordtools import chihuahua_only
from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import IssuedCredentials, synthetic_roll
from sivei.ballot.in_person import ConsulateLog, with_consulates
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.envelope import Envelope, seal
from sivei.custody import SoftHsmEnvironment, open_token
from sivei.record import layout
from sivei.record.verify import VerifyOptions, verify_record
from sivei_ceremonies.vault import channels_share_path

OPENING = "boveda-1"
REGISTERED = 32  # at LAX; as many vote by internet
DECRYPTING = (1, 2, 4, 5)


@dataclass
class Vault:
    c: Ceremony
    base: Path
    issued: IssuedCredentials
    export: Path = Path()
    shares: dict[int, Path] = field(default_factory=dict)
    decrypted: dict[int, Result] = field(default_factory=dict)


def _consulates_files(log_key: SoftwareSigner) -> Callable[[IssuedCredentials, ElectionContext], dict[str, bytes]]:
    def files(issued: IssuedCredentials, ctx: ElectionContext) -> dict[str, bytes]:
        """What the server exports under consulados/: the declaration and LAX's signed log (every
        registered voter served, and the one unregistered voter)."""
        assert issued.declaration is not None
        log = ConsulateLog("LAX", REGISTERED, (bytes(32),)).sign(log_key, ctx.manifest.election_id,
                                                                  ctx.election_hash)
        return {"consulados/consulados.json": json.dumps(issued.declaration.to_json()).encode(),
                "consulados/bitacora-LAX.json": json.dumps(log.to_json()).encode()}
    return files


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Vault:
    _require_softhsm()
    base = tmp_path_factory.mktemp("boveda-canales")
    log_key = SoftwareSigner()
    manifest = with_consulates(chihuahua_only(), [("LAX", "Consulado de México en Los Ángeles", 1,
                                                   log_key.public_key)])
    manifest_path = base / "manifiesto.json"
    manifest_path.write_text(json.dumps(manifest.to_json(), ensure_ascii=False))
    hsm = {i: SoftHsmEnvironment(base / "softhsm" / f"custodio-{i}") for i in range(1, N + 1)}
    c = Ceremony(World(base / "mundo", hsm), base / "instantaneas", manifest=manifest)
    _key_ceremony(c, manifest_path)
    roll = [replace(v, consulate="LAX") if k < REGISTERED else v
            for k, v in enumerate(synthetic_roll(manifest, 2 * REGISTERED, seed=3))]
    issued = _opening(c, base, roll, pool_voters=1, closed_files=_consulates_files(log_key))
    _closing(c, base)  # signed by three tokens
    w = c.world
    v = Vault(c, base, issued)
    v.export = base / f"{OPENING}.json"
    w.cli(["ceremonia", "boveda", "exportar", "--registro", str(c.closed), "--apertura", OPENING, "--salida",
           str(v.export), "--test-group", "--jobs", "1"]).ok()
    v.shares = {i: base / f"{OPENING}-parte-{i}.json" for i in DECRYPTING}
    v.decrypted = w.keyholders([(i, ["ceremonia", "boveda", "descifrar", "--registro", str(c.closed),
                                     "--exportacion", str(v.export), "--carpeta", str(w.private(i)), "--custodio",
                                     str(i), "--token", token(i), "--salida", str(v.shares[i]), "--test-group",
                                     "--jobs", "1"]) for i in DECRYPTING])
    for r in v.decrypted.values():
        r.ok()
    return v


def _combine(v: Vault, files: list[Path], name: str) -> tuple[Result, Path]:
    output = v.base / name
    result = v.c.world.cli(["ceremonia", "boveda", "combinar", "--registro", str(v.c.closed), "--exportacion",
                            str(v.export), "--partes", *map(str, files), "--salida", str(output), "--test-group",
                            "--jobs", "1"])
    return result, output


def _files(v: Vault, present: tuple[int, ...]) -> list[Path]:
    return [v.shares[i] for i in present] + [channels_share_path(v.shares[i]) for i in present]


def _expected_per_channel(v: Vault, channel: str) -> dict[tuple[str, str], list[int]]:
    """The vote script's counts of one channel: registered at LAX (consulados) or not (internet)."""
    c = v.c
    keep = [k for k, voter in enumerate(c.roll) if voter.entity == "CHIH"
            and (voter.consulate == "LAX") == (channel == "consulados")]
    return {key: counts for key, counts in _expected_counts(
        c.manifest, [c.roll[k] for k in keep], [c.choices[k] for k in keep]).items() if key[0] == "CHIH"}


def test_each_keyholder_decrypts_the_split_they_recomputed(vault: Vault) -> None:
    for i, r in vault.decrypted.items():
        assert "3 de 6 celdas (entidad × elección) tienen al menos 30 boletas en cada canal" in r.out, r.out
        assert channels_share_path(vault.shares[i]).exists()
        split = Envelope.from_json(json.loads(channels_share_path(vault.shares[i]).read_text()))
        assert split.ceremony_id == f"{OPENING}-canales" and split.sender == f"guardian-{i}"
        assert len(split.body["shares"]) == 3  # the three CHIH cells, not the SRE ones
        assert pin(i) not in r.text
    heard = {line.rsplit(": ", 1)[1] for r in vault.decrypted.values() for line in r.out.splitlines()
             if "LEA EN VOZ ALTA" in line and "agregados por canal" in line}
    assert len(heard) == 1


@pytest.mark.parametrize("present", [(1, 2, 4), (2, 4, 5)])
def test_any_three_publish_results_per_channel_where_the_rule_allows(vault: Vault, present: tuple[int, ...]
                                                                     ) -> None:
    result, record = _combine(vault, _files(vault, present), f"registro-{'-'.join(map(str, present))}")
    result.ok()
    report = verify_record(record, VerifyOptions(allow_test_group=True, jobs=1))
    assert report.ok, report.format_text()
    assert not report.has("consulates.channels")
    assert report.facts["channel_cells"] == "3 / 6"
    data = json.loads((record / "consulados" / "canales.json").read_text())
    assert [(c["entity"], c["internet"], c["consulados"]) for c in data["cells"]] == [
        ("CHIH", 32, 32)] * 3 + [("SRE", 0, 1)] * 3
    assert data["split"]["decryption"]["present"] == list(present)
    assert data["split"]["decryption"]["ceremony_id"] == f"{OPENING}-canales"
    got = {ch: {(r["entity"], r["contest_id"]): [o[ch] for o in r["options"]] for r in data["split"]["results"]}
           for ch in ("consulados", "internet")}
    for ch in ("consulados", "internet"):
        assert got[ch] == _expected_per_channel(vault, ch)  # exactly the CHIH cells, to the vote
    combined = json.loads((record / layout.RESULTS).read_text())
    assert combined  # the combined results are there as always
    assert "Resultados por canal de 3 celdas" in result.out
    assert "Resultados por canal (celdas con al menos 30 boletas en cada canal)" in result.out


def test_a_tampered_split_share_is_refused_and_changes_nothing(vault: Vault) -> None:
    c, w = vault.c, vault.c.world
    honest = Envelope.from_json(json.loads(channels_share_path(vault.shares[2]).read_text()))
    shares = json.loads(json.dumps(honest.body["shares"]))
    shares[1][0]["share"] = shares[1][1]["share"]  # a group element, the wrong one: its proof fails
    with w.pin_env(2), open_token(token(2), pin(2)) as session:
        forged = seal(session.signer(), type=honest.type, election_id=honest.election_id,
                      ceremony_id=honest.ceremony_id, round=0, sender=honest.sender, previous=honest.previous,
                      body=dict(honest.body, shares=shares))
    bad = vault.base / "forjada" / channels_share_path(vault.shares[2]).name
    bad.parent.mkdir()
    bad.write_text(json.dumps(forged.to_json()))
    # the same change without the token: the signature no longer holds
    flipped = vault.base / "sin-firma" / channels_share_path(vault.shares[4]).name
    flipped.parent.mkdir()
    obj = json.loads(channels_share_path(vault.shares[4]).read_text())
    obj["body"]["shares"][1][0]["share"] = obj["body"]["shares"][1][1]["share"]
    flipped.write_text(json.dumps(obj))
    before = tree(c.closed)
    contest = c.manifest.contests[1]
    for file, expected in ((bad, f"la prueba de descifrado del custodio 2 no es válida en CHIH/{contest.id}/"
                                 f"{contest.options[0].id}"),
                           (flipped, "la parte no está firmada por el token del custodio 4")):
        files = [vault.shares[i] for i in (1, 2, 4)] + [channels_share_path(vault.shares[1]), file]
        result, record = _combine(vault, files, f"no-{file.parent.name}")
        assert result.code != 0
        assert "hay partes no válidas; no se combina nada" in result.err
        assert str(file) in result.err
        assert expected in result.err, result.err
        assert not record.exists()
    assert tree(c.closed) == before


def test_without_the_split_shares_nothing_is_combined(vault: Vault) -> None:
    result, record = _combine(vault, [vault.shares[i] for i in (1, 2, 4)]
                              + [channels_share_path(vault.shares[1])], "sin-canales")
    assert result.code != 0
    assert ("se necesitan partes por canal (archivos «…-canales.json»: 3 celdas con al menos 30 boletas en cada "
            "canal) de al menos 3 custodios y hay 1 (custodio 1)") in result.err, result.err
    assert not record.exists()
