"""Printed ceremony material: command cards, fingerprint sheets and the read-aloud script written by
«llaves preparar», and acts printed with signature lines («acta mostrar --imprimir»)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ceremonytools import MANIFEST, Ceremony, built_ceremony
from sivei.ballot.manifest import sample_manifest
from sivei.cli.main import main
from sivei.crypto.fingerprint import fingerprint
from sivei.i18n import set_language


@pytest.fixture(autouse=True)
def spanish() -> None:
    yield
    set_language("es")


def pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed: .ci/run installs it")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_setup_writes_cards_sheets_and_script(tmp_path: Path) -> None:
    exchange = tmp_path / "intercambio"
    names = ["Ana Lucía Gálvez Ruiz", "Beatriz Núñez", "César Ávila", "Dolores Peña", "Jorge Máynez Ortiz"]
    assert main(["ceremonia", "llaves", "preparar", "--intercambio", str(exchange), "--manifiesto", str(MANIFEST),
                 "--id", "eleccion-llaves-1", "--test-group", "--ruta-memoria", "/media/usb/ceremonia",
                 "--ruta-privada", "/home/custodio/sivei", *(x for name in names for x in ("--nombre", name))]) == 0
    material = exchange / "material"
    card = (material / "tarjeta-custodio-5.txt").read_text()
    assert "JORGE MÁYNEZ ORTIZ (CUSTODIO 5)" in card
    assert ("sivei ceremonia llaves paso --intercambio /media/usb/ceremonia --carpeta /home/custodio/sivei "
            "--custodio 5 --token custodio-5 --ronda 3 --test-group") in " ".join(card.split())
    assert "--ensayo" not in card
    manifest_fp = fingerprint(sample_manifest().hash)
    sheet = pdf_text(material / "hoja-de-huellas-custodio-1.pdf")
    assert "Ana Lucía Gálvez Ruiz" in sheet and manifest_fp in sheet and "Paquete de la ronda 4" in sheet
    script = (material / "guion-de-lectura.txt").read_text()
    assert manifest_fp in script and "ronda-5/custodio-<i>.json" in script
    assert "Máynez" in pdf_text(material / "tarjeta-custodio-5.pdf")


def test_rehearsal_cards_carry_the_rehearsal_flag(tmp_path: Path) -> None:
    manifest = tmp_path / "ensayo.json"
    assert main(["ensayo", "manifiesto", "--manifiesto", str(MANIFEST), "--salida", str(manifest)]) == 0
    exchange = tmp_path / "intercambio"
    assert main(["ceremonia", "llaves", "preparar", "--ensayo", "--intercambio", str(exchange), "--manifiesto",
                 str(manifest), "--id", "ensayo-mx-2027-local-ext-llaves-1"]) == 0
    card = " ".join((exchange / "material" / "tarjeta-custodio-2.txt").read_text().split())
    assert "ENSAYO — NO ES LA ELECCIÓN REAL" in card and "--ronda 0 --ensayo" in card
    # A rehearsal's ceremony id must say so, and the real election's must not.
    assert main(["ceremonia", "llaves", "preparar", "--ensayo", "--intercambio", str(tmp_path / "x"), "--manifiesto",
                 str(manifest), "--id", "llaves-2"]) == 2
    assert main(["ceremonia", "llaves", "preparar", "--intercambio", str(tmp_path / "y"), "--manifiesto",
                 str(MANIFEST), "--id", "ensayo-llaves-3"]) == 2
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_an_act_prints_with_signature_lines(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    c: Ceremony = built_ceremony(tmp_path_factory)
    out = tmp_path / "acta-inicio.pdf"
    assert main(["ceremonia", "acta", "mostrar", str(c.opening), "--ceremonia", str(c.world.exchange), "--imprimir",
                 str(out), "--test-group"]) == 0
    text = pdf_text(out)
    for fragment in ("Acta de inicio", "Huella del acta", "Custodio 1", "Custodio 5", "Notaría pública",
                     "Firman todos los 5 custodios"):
        assert fragment in text, fragment
    assert (tmp_path / "acta-inicio.txt").exists()
    assert main(["ceremonia", "acta", "mostrar", str(c.opening), "--ceremonia", str(c.world.exchange), "--imprimir",
                 str(out), "--test-group"]) == 2  # not overwritten
