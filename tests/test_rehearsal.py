"""The key-holders' rehearsal of election night, on the same SoftHSM2 tokens and private folders as the
real ceremony of this test session (tests/ceremonytools.py):

a second 3-of-5 key ceremony under «ensayo-…» ids (each key-holder step its own process) → the
rehearsal's roll from a vote script → the credential authority's real commands → the opening act
signed by all five tokens → ``sivei ensayo votar`` casts the script and closes the board → the
closing act → the vault opening by all five key-holders → two different combinations of three →
results equal to the script, ``sivei ensayo conciliar`` and ``sivei verificar`` pass.

And the two elections cannot be mixed up: the real election's commands refuse the rehearsal's files
(and the rehearsal's the real ones) from their ids, before any long check — in well under two seconds
of CPU time, and without printing the board check."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ceremonytools import MANIFEST, Ceremony, N, Result, World, built_ceremony, pin, token
from sivei.ballot.manifest import load_manifest
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.fingerprint import fingerprint
from sivei.integrity import installation_constancia
from sivei.record import layout
from sivei.record.context import load_election_context

SCRIPT = """entity,contest,option,count
CHIH,gob-chih,PAN,2
CHIH,gob-chih,PAN_PRI,2
CHIH,gob-chih,PAN_PRI_PRD,1
CHIH,gob-chih,MORENA,1
CHIH,gob-chih,PT_MORENA,1
CHIH,gob-chih,CNR,1
CHIH,gob-chih,NULO,1
CHIH,sen-norte,PVEM_MORENA,4
CHIH,sen-norte,MC,5
CHIH,rm-2027,REVOCA,6
CHIH,rm-2027,SIGA,2
CHIH,rm-2027,NULO,1
OAX,dip-mig-oax,IND_1,2
OAX,dip-mig-oax,PT_PVEM_MORENA,1
OAX,rm-2027,SIGA,3
"""
PASSPHRASE = "frase-de-paso-del-ensayo"
REAL_CHECK_STEP = "Verificación del registro cerrado"


@dataclass
class Rehearsal:
    world: World
    real: Ceremony
    dir: Path
    manifest: Path = Path()
    election_id: str = ""
    ceremony_id: str = ""
    script: Path = Path()
    credentials: Path = Path()
    closed: Path = Path()
    export: Path = Path()
    shares: dict[int, Path] = field(default_factory=dict)
    complete: dict[str, Path] = field(default_factory=dict)
    outputs: dict[str, Result] = field(default_factory=dict)
    decrypt: dict[int, Result] = field(default_factory=dict)


@contextmanager
def passphrases() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("SIVEI_AUTORIDAD_PASSPHRASE",)}
    os.environ["SIVEI_AUTORIDAD_PASSPHRASE"] = PASSPHRASE
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _ok(results: dict[int, Result]) -> dict[int, Result]:
    for r in results.values():
        r.ok()
    return results


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    real = built_ceremony(tmp_path_factory)
    base = tmp_path_factory.mktemp("ensayo")
    # The same tokens (the same SoftHSM2 folders) and the same private folders as the real ceremony.
    w = World(base / "mundo", real.world.hsm)
    for i in range(1, N + 1):
        w.private(i).parent.mkdir(parents=True, exist_ok=True)
        w.private(i).symlink_to(real.world.private(i), target_is_directory=True)
    r = Rehearsal(w, real, base)

    # 1. The rehearsal's manifest from the real one.
    r.manifest = base / "manifiesto-ensayo.json"
    r.outputs["manifest"] = w.cli(["ensayo", "manifiesto", "--manifiesto", str(MANIFEST), "--salida",
                                   str(r.manifest)]).ok()
    manifest = load_manifest(r.manifest)
    r.election_id = manifest.election_id
    r.ceremony_id = f"{r.election_id}-llaves-1"

    # 2. The rehearsal's key ceremony: every key-holder step its own process, on their own token.
    w.cli(["ceremonia", "llaves", "preparar", "--ensayo", "--intercambio", str(w.exchange), "--manifiesto",
           str(r.manifest), "--id", r.ceremony_id, "--test-group"]).ok()
    for rnd in range(6):
        w.to_keyholders()
        _ok(w.keyholders([(i, [*w.step_args(i, rnd), "--ensayo"]) for i in range(1, N + 1)]))
        if rnd < 5:
            w.to_coordinator(rnd)
            w.cli(["ceremonia", "llaves", "recoger", "--ensayo", "--intercambio", str(w.exchange),
                   "--test-group"]).ok()

    # Every key-holder's signed confirmation that they sealed their share reaches the coordinator.
    w.to_coordinator(5)
    r.outputs["sealed"] = w.cli(["ceremonia", "llaves", "recoger", "--ensayo", "--intercambio", str(w.exchange),
                                 "--test-group"]).ok()

    # 3. The roll and the credential authority's real commands.
    r.script = base / "guion.csv"
    r.script.write_text(SCRIPT)
    roll = base / "padron.csv"
    w.cli(["ensayo", "padron", "--manifiesto", str(r.manifest), "--guion", str(r.script), "--abstenciones", "2",
           "--salida", str(roll)]).ok()
    authority = base / "autoridad"
    with passphrases():
        w.cli(["credenciales", "llave", "--salida", str(base / "autoridad.pem")]).ok()
        w.cli(["credenciales", "generar", "--manifiesto", str(r.manifest), "--padron", str(roll), "--llave",
               str(base / "autoridad.pem"), "--sitio", "https://votar.ensayo.example", "--salida", str(authority),
               "--olvidar", "--sin-cartas"]).ok()
        w.cli(["credenciales", "publicar", "--manifiesto", str(r.manifest), "--lista", str(authority / "lista"),
               "--llave", str(base / "autoridad.pem")]).ok()
    r.credentials = authority / "lista"

    # 4. The opening act, signed by all five tokens.
    receipt_key = base / "llave-recibos.hex"
    receipt_key.write_text(SoftwareSigner().public_key.hex() + "\n")
    constancia = base / "constancia.json"
    constancia.write_text(installation_constancia().dumps())
    draft, opening = base / "acta-inicio-borrador.json", base / "acta-inicio.json"
    w.cli(["ceremonia", "acta", "borrador-inicio", "--ensayo", "--ceremonia", str(w.exchange), "--credenciales",
           str(r.credentials), "--llave-recibos", str(receipt_key), "--constancia", str(constancia), "--salida",
           str(draft), "--test-group"]).ok()
    sigs = {i: base / f"firma-inicio-{i}.json" for i in range(1, N + 1)}
    _ok(w.keyholders([(i, ["ceremonia", "acta", "firmar", str(draft), "--ensayo", "--custodio", str(i), "--token",
                           token(i), "--ceremonia", str(w.usb(i)), "--credenciales", str(r.credentials),
                           "--salida", str(sigs[i]), "--test-group"]) for i in range(1, N + 1)]))
    w.cli(["ceremonia", "acta", "reunir", str(draft), *map(str, sigs.values()), "--ensayo", "--ceremonia",
           str(w.exchange), "--salida", str(opening), "--test-group"]).ok()

    # 5. The rehearsal command: the script cast against the rehearsal's joint key, the board closed.
    r.closed = base / "registro-cerrado"
    r.outputs["vote"] = w.cli(["ensayo", "votar", "--ceremonia", str(w.exchange), "--credenciales",
                               str(r.credentials), "--entregas", str(authority / "entregas" / "mail-merge.csv"),
                               "--acta-inicio", str(opening), "--constancia", str(constancia), "--guion",
                               str(r.script), "--salida", str(r.closed), "--test-group"]).ok()

    # 6. The closing act, signed by three key-holders.
    closing = base / "acta-cierre-borrador.json"
    w.cli(["ceremonia", "acta", "borrador-cierre", "--ensayo", "--registro", str(r.closed), "--salida",
           str(closing), "--test-group"]).ok()
    csigs = {i: base / f"firma-cierre-{i}.json" for i in (2, 4, 5)}
    _ok(w.keyholders([(i, ["ceremonia", "acta", "firmar", str(closing), "--ensayo", "--custodio", str(i),
                           "--token", token(i), "--registro", str(r.closed), "--salida", str(csigs[i]),
                           "--test-group"]) for i in csigs]))
    w.cli(["ceremonia", "acta", "reunir", str(closing), *map(str, csigs.values()), "--ensayo", "--registro",
           str(r.closed), "--test-group"]).ok()

    # 7. The vault opening: all five key-holders decrypt with their tokens and PINs ...
    r.export = base / "boveda.json"
    w.cli(["ceremonia", "boveda", "exportar", "--ensayo", "--registro", str(r.closed), "--apertura",
           f"{r.election_id}-boveda-1", "--salida", str(r.export), "--test-group", "--jobs", "1"]).ok()
    r.shares = {i: base / f"parte-{i}.json" for i in range(1, N + 1)}
    r.decrypt = _ok(w.keyholders([(i, ["ceremonia", "boveda", "descifrar", "--ensayo", "--registro", str(r.closed),
                           "--exportacion", str(r.export), "--carpeta", str(w.private(i)), "--custodio", str(i),
                           "--token", token(i), "--salida", str(r.shares[i]), "--test-group", "--jobs", "1"])
                      for i in range(1, N + 1)]))
    # ... and two different combinations of three are combined.
    for name, present in (("1-2-3", (1, 2, 3)), ("3-4-5", (3, 4, 5))):
        r.complete[name] = base / f"registro-{name}"
        r.outputs[f"combine {name}"] = w.cli(
            ["ceremonia", "boveda", "combinar", "--ensayo", "--registro", str(r.closed), "--exportacion",
             str(r.export), "--partes", *(str(r.shares[i]) for i in present), "--salida", str(r.complete[name]),
             "--test-group", "--jobs", "1"]).ok()
    return r


def test_rehearsal_ids_and_labels(rehearsal: Rehearsal) -> None:
    real_id = load_manifest(MANIFEST).election_id
    assert rehearsal.election_id == f"ensayo-{real_id}"
    manifest = load_manifest(rehearsal.manifest)
    assert manifest.name.startswith("ENSAYO — ")
    assert (manifest.voting_closes - manifest.voting_opens).total_seconds() == 3600  # closes within the hour
    assert "NO ES LA ELECCIÓN REAL" in rehearsal.outputs["vote"].out
    assert "NO ES LA ELECCIÓN REAL" in rehearsal.outputs["combine 1-2-3"].out


def test_every_keyholder_confirmed_sealing_and_was_warned(rehearsal: Rehearsal) -> None:
    assert "los 5 custodios confirmaron, con la firma de su token" in rehearsal.outputs["sealed"].out
    out = rehearsal.decrypt[3].out
    # A PIN from the environment and a development installation are said aloud, never silent.
    assert "el PIN se tomó de la variable de entorno SIVEI_PIN" in out
    assert "esta instalación es de desarrollo" in out
    # The token, the key-holder and the sealed share were checked before the board.
    assert out.index("token, custodio y parte sellada corresponden") < out.index(REAL_CHECK_STEP)


def test_both_combinations_give_the_script(rehearsal: Rehearsal) -> None:
    counts = {}
    for name, record in rehearsal.complete.items():
        r = rehearsal.world.cli(["ensayo", "conciliar", "--registro", str(record), "--guion", str(rehearsal.script),
                                 "--test-group"]).ok()
        assert "coinciden voto por voto" in r.out
        results = json.loads((record / layout.RESULTS).read_text())
        counts[name] = {(c["entity"], c["contest_id"]): [o["votes"] for o in c["options"]] for c in results["contests"]}
        decryption = json.loads((record / layout.DECRYPTION).read_text())
        assert decryption["present"] == [int(x) for x in name.split("-")]
    assert counts["1-2-3"] == counts["3-4-5"]
    ctx = load_election_context(rehearsal.complete["1-2-3"], allow_test_group=True)
    gob = ctx.manifest.contest("gob-chih")
    row = dict(zip([o.id for o in gob.options], counts["1-2-3"][("CHIH", "gob-chih")], strict=True))
    assert (row["PAN"], row["PAN_PRI"], row["PAN_PRI_PRD"], row["CNR"], row["NULO"]) == (2, 2, 1, 1, 1)
    assert sum(counts["1-2-3"][("OAX", "rm-2027")]) == 3 and sum(counts["1-2-3"][("JAL", "rm-2027")]) == 0


def test_the_verifier_passes_and_says_rehearsal(rehearsal: Rehearsal, tmp_path: Path) -> None:
    report = tmp_path / "informe.json"
    for record in rehearsal.complete.values():
        r = rehearsal.world.cli(["verificar", "--test-group", "--quiet", "--jobs", "1", "--json", str(report),
                                 str(record)])
        assert r.code == 0, r.text
        assert "ENSAYO — NO ES LA ELECCIÓN REAL" in r.out.splitlines()[0]
        data = json.loads(report.read_text())
        assert data["ok"] and data["facts"]["election_kind"] == "rehearsal"
        assert data["facts"]["ballots_on_board"] == 9 + 3  # CHIH and OAX
        assert data["facts"]["credentials_listed"] == 12 + 2 * 2  # two abstainers in each entity with votes
        report.unlink()


def _quick_refusal(world: World, args: list[str], *, keyholder: int | None = None) -> Result:
    """A refused command, its CPU time and the absence of any board check."""
    started = time.process_time()
    result = world.cli(args, keyholder=keyholder, pin_value=pin(keyholder) if keyholder else None)
    spent = time.process_time() - started
    assert result.code == 2, result.text
    assert spent < 2.0, f"refused after {spent:.2f} s of CPU time"
    assert REAL_CHECK_STEP not in result.text and "verificando el tablero" not in result.text
    return result


def test_real_tools_refuse_rehearsal_files_at_once(rehearsal: Rehearsal, tmp_path: Path) -> None:
    w, real = rehearsal.world, rehearsal.real
    # A key-holder who forgets --ensayo: refused from the record's id, before the token or the board.
    r = _quick_refusal(w, ["ceremonia", "boveda", "descifrar", "--registro", str(rehearsal.closed), "--exportacion",
                           str(rehearsal.export), "--carpeta", str(w.private(1)), "--custodio", "1", "--token",
                           token(1), "--salida", str(tmp_path / "p.json"), "--test-group"], keyholder=1)
    assert "es de un ENSAYO" in r.err and "no de la elección real" in r.err
    for args in (
        ["ceremonia", "boveda", "exportar", "--registro", str(rehearsal.closed), "--apertura", "boveda-9",
         "--salida", str(tmp_path / "e.json"), "--test-group"],
        ["ceremonia", "acta", "borrador-cierre", "--registro", str(rehearsal.closed), "--salida",
         str(tmp_path / "a.json"), "--test-group"],
        ["ceremonia", "boveda", "combinar", "--registro", str(rehearsal.closed), "--exportacion",
         str(rehearsal.export), "--partes", str(rehearsal.shares[1]), "--salida", str(tmp_path / "c"),
         "--test-group"],
        ["ceremonia", "llaves", "recoger", "--intercambio", str(w.exchange), "--test-group"],
    ):
        assert "ENSAYO" in _quick_refusal(w, args).err
    # The auditors' verifier, told which election is the real one, stops before the board.
    real_fp = fingerprint(load_election_context(real.full["boveda-1"], allow_test_group=True).election_hash)
    r = w.cli(["verificar", "--test-group", "--quiet", "--jobs", "1", "--expect-election", real_fp,
               str(rehearsal.complete["1-2-3"])])
    assert r.code == 1 and "election.expected" in r.out and "boletas en el tablero" not in r.out
    assert not (tmp_path / "p.json").exists() and not (tmp_path / "e.json").exists()


def test_rehearsal_tools_refuse_the_real_files(rehearsal: Rehearsal, tmp_path: Path) -> None:
    w, real = rehearsal.world, rehearsal.real
    r = _quick_refusal(w, ["ceremonia", "boveda", "descifrar", "--ensayo", "--registro", str(real.closed),
                           "--exportacion", str(real.exports["boveda-1"]), "--carpeta", str(w.private(1)),
                           "--custodio", "1", "--token", token(1), "--salida", str(tmp_path / "p.json"),
                           "--test-group"], keyholder=1)
    assert "es de la elección real" in r.err
    r = w.cli(["ensayo", "votar", "--ceremonia", str(real.world.exchange), "--credenciales", str(real.credentials),
               "--entregas", str(tmp_path / "x.csv"), "--acta-inicio", str(real.opening), "--guion",
               str(rehearsal.script), "--salida", str(tmp_path / "rec"), "--test-group"])
    assert r.code == 2 and "es de la elección real" in r.err and not (tmp_path / "rec").exists()


def test_a_token_of_another_keyholder_is_refused_before_the_board(rehearsal: Rehearsal, tmp_path: Path) -> None:
    """Key-holder 2's token named as key-holder 1: refused from the transcript, not after the board."""
    w = rehearsal.world
    r = _quick_refusal(w, ["ceremonia", "boveda", "descifrar", "--ensayo", "--registro", str(rehearsal.closed),
                           "--exportacion", str(rehearsal.export), "--carpeta", str(w.private(2)), "--custodio",
                           "1", "--token", token(2), "--salida", str(tmp_path / "p.json"), "--test-group"],
                       keyholder=2)
    assert "no es la del custodio 1" in r.err and "no se revisó el tablero" in r.err
