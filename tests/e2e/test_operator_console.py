"""An operator runs an election from the console's checklist to publication, in real headless Chromium
(see e2etools.py): each step's form inside its checklist item, the second step of every irreversible
action, who did each step; then the public results page on a 390 px phone (no horizontal scroll, in
Spanish and in English), the PDF acta downloaded from it (pdftotext: the totals and the signers), and
the page's numbers equal to ``resultados.json``'s."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from e2etools import Live

from resultstools import expected_rows, mixed_choices, page_rows
from servertools import voter_browser
from sivei_server.simulacro import complete_record, tar_gz

TIMEOUT = 30_000


def step(page: Any, key: str) -> Any:
    return page.locator(f"#paso-{key}")


def run_step(page: Any, live: Live, key: str, button: str, *, files: dict[str, Path] | None = None,
             fields: dict[str, str] | None = None, confirm: str | None = None) -> None:
    """Use the form inside the checklist item ``key``; answer its confirmation page when it has one."""
    page.goto(live.url("/operacion"))
    item = step(page, key)
    assert item.get_attribute("data-estado") in ("siguiente", "en-curso", "pendiente"), key
    for name, path in (files or {}).items():
        item.locator(f"input[name={name}]").set_input_files(str(path))
    for name, value in (fields or {}).items():
        item.locator(f"[name={name}]").fill(value)
    item.get_by_role("button", name=button).click()
    page.wait_for_load_state()
    if confirm is not None:
        # The second step names the election and the consequence; then the confirmation button.
        assert page.locator("h1").inner_text().startswith("¿"), page.locator("main").inner_text()
        assert live.kit.manifest.election_id in page.locator(".confirmar").inner_text()
        assert "No se puede deshacer" in page.locator("#consecuencias").inner_text() or key == "votacion"
        page.get_by_role("button", name=confirm).click()
        page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Hecho", page.locator("main").inner_text()
    page.get_by_role("link", name="Volver a la consola").click()
    page.wait_for_url(re.compile(r"/operacion"))


def done_by(page: Any, key: str) -> str:
    item = step(page, key)
    assert item.get_attribute("data-estado") == "hecho", (key, item.inner_text())
    return str(item.locator(".quien-nombre").inner_text())


def no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url}: {width} px wide"


def test_operator_runs_an_election_from_the_checklist(browser: Any, live_server: Any, tmp_path: Path) -> None:
    live: Live = live_server(voters=5)
    kit = live.kit
    files = live.kit_files()
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    try:
        op = live.operator_page(desk)
        assert step(op, "manifiesto").get_attribute("data-estado") == "siguiente"
        assert "Siguiente paso: Manifiesto de la elección" in op.locator("#siguiente").inner_text()
        # File inputs are labelled in Spanish.
        assert op.get_by_label("Manifiesto de la elección").count() == 1

        run_step(op, live, "manifiesto", "Cargar manifiesto", files={"manifiesto": files["manifiesto"]})
        assert done_by(op, "manifiesto") == "ana"
        assert step(op, "credenciales").get_attribute("data-estado") == "siguiente"
        run_step(op, live, "credenciales", "Importar lista de credenciales",
                 files={k: files[k] for k in ("lista", "entradas", "fichas")})
        # The roll page, linked from its step: the roll is loaded; send the activation links.
        step(op, "padron").get_by_role("link").click()
        op.wait_for_url(re.compile(r"/operacion/padron"))
        op.get_by_role("button", name="Enviar").click()
        op.wait_for_load_state()
        assert "Enlaces de activación enviados" in op.locator("main").inner_text()
        op.goto(live.url("/operacion"))
        assert done_by(op, "padron") == "ana"
        run_step(op, live, "acta-inicio", "Registrar acta de inicio",
                 files={k: files[k] for k in ("ceremonia", "acta", "constancia")})
        run_step(op, live, "abrir", "Abrir la votación", confirm="Sí, abrir la votación")
        assert step(op, "votacion").get_attribute("data-estado") == "en-curso"

        # Voters cast (the booth is the journey test's subject): combinations, CNR, null votes.
        for k, voter in enumerate(kit.roll[:4]):
            b = voter_browser(live.app, voter.voter_id)
            r = b.post_raw("/api/votar", kit.ballot(voter.voter_id, mixed_choices(kit.manifest, voter.entity, k)))
            assert r.status_code == 201, r.get_json()
        run_step(op, live, "votacion", "Registrar evento", fields={"descripcion": "Intermitencia del proveedor de SMS"},
                 confirm="Sí, registrar el evento")
        assert "Intermitencia del proveedor de SMS" in op.locator("#incidentes ~ table").first.inner_text()
        op.goto(live.url("/operacion/participacion"))
        assert op.locator("#por-entidad tbody tr").count() >= 1
        assert op.locator("#por-dia tbody td.num").first.inner_text() == "4"

        live.clock.offset = timedelta(hours=2)
        run_step(op, live, "cerrar", "Cerrar el tablero", confirm="Sí, cerrar el tablero")
        op.goto(live.url("/operacion"))
        with op.expect_download() as d:
            step(op, "exportar").get_by_role("button", name="Exportar registro cerrado").click()
        closed_tar = tmp_path / "cerrado.tar.gz"
        d.value.save_as(closed_tar)
        with tarfile.open(closed_tar) as tar:
            tar.extractall(tmp_path / "cerrado", filter="data")
        op.goto(live.url("/operacion"))
        assert done_by(op, "exportar") == "ana"
        # The key-holders' part, away from the server (library phases of the ceremony tools).
        full = complete_record(kit, next((tmp_path / "cerrado").iterdir()), tmp_path / "completo", [1, 2])
        record_tar = tmp_path / "registro.tar.gz"
        record_tar.write_bytes(tar_gz(full))
        run_step(op, live, "importar", "Importar registro", files={"registro": record_tar})
        assert "fuera del servidor" in step(op, "boveda").inner_text()
        run_step(op, live, "verificar", "Verificar el registro")
        # Staff review the results before publishing them.
        op.goto(live.url("/operacion/resultados"))
        assert "SIN PUBLICAR" in op.locator("main").inner_text()
        run_step(op, live, "publicar", "Publicar los resultados",
                 fields={"lugar": "Ciudad de México", "fecha": "2 de junio de 2027",
                         "firmas": "Lic. Ana Lucía Gálvez Ruiz|Presidenta de la Mesa\nJorge Máynez Ortiz|Secretario"},
                 confirm="Sí, publicar los resultados")
        for key in ("manifiesto", "credenciales", "padron", "acta-inicio", "abrir", "cerrar", "exportar", "importar",
                    "verificar", "publicar"):
            assert done_by(op, key) == "ana", key
        assert step(op, "datos").get_attribute("data-estado") == "siguiente"

        # The public results page on a phone: no horizontal scroll, Spanish and English.
        data = op.request.get(live.url("/resultados/resultados.json")).json()
        pub = phone.new_page()
        pub.goto(live.url("/resultados"))
        assert pub.locator("h1").inner_text() == "Resultados del cómputo"
        no_horizontal_scroll(pub)
        want = expected_rows(data)
        got = page_rows(pub.content())
        assert set(got) == set(want)
        for key, (votes, pct) in want.items():
            assert int(got[key][1].replace(",", "")) == votes and got[key][2] == pct, key
        with pub.expect_download() as d:
            pub.get_by_role("link", name="Acta de cómputo (PDF)").click()
        pdf = tmp_path / "acta.pdf"
        d.value.save_as(pdf)
        pub.get_by_role("link", name="English").click()
        pub.wait_for_load_state()
        assert pub.locator("h1").inner_text() == "Results of the count"
        assert "Null votes" in pub.locator("main").inner_text()
        no_horizontal_scroll(pub)
        assert page_rows(pub.content()).keys() == want.keys()

        # The acta opens and holds the totals and the signers.
        assert pdf.read_bytes().startswith(b"%PDF")
        if shutil.which("pdftotext") is None:
            pytest.fail("pdftotext (poppler-utils) is needed: .ci/run installs it")
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "Lic. Ana Lucía Gálvez Ruiz" in text and "Jorge Máynez Ortiz" in text
        for c in data["totals"]:
            assert re.search(rf"VOTACIÓN TOTAL\s+{c['total_votes']}\b", text), c["contest"]
        csv_text = op.request.get(live.url("/resultados/resultados.csv")).text()
        assert csv_text.startswith("entity,entity_name,contest")
        published = op.request.get(live.url("/tablero/registro.tar.gz"))
        with tarfile.open(fileobj=io.BytesIO(published.body()), mode="r:gz") as tar:
            assert any(n.endswith("results.json") for n in tar.getnames())
    finally:
        desk.close()
        phone.close()
    assert live.errors == []
