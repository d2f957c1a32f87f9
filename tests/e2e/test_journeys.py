"""The whole voter journey and the operator journey in real headless Chromium (see conftest.py).

Operator (the console's own forms): load the manifest and the credential list, register the
opening act, open. Voter: activation (or the test session), the booth — a mistyped credential, the
right one; coalition marks that become one combination and the marks they rule out; review; the
tracking code; challenge, checked on the static verification page opened from a FILE; vote again
with a write-in; cast; the signed receipt; the tracking code found on the public board. A second
voter votes with the keyboard only. Operator: close (after the close instant), export the closed
record, the key-holders' part (library), import the record, publish. Finally ``sivei verificar``
accepts the published record and the receipts downloaded from the booth, and no request the pages
made ever carried a credential or the write-in name.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from e2etools import Live, watch

from sivei.cli.main import main as sivei_main
from sivei_server.simulacro import complete_record, tar_gz

WRITE_IN = "Juana Inés de Asbaje"
TIMEOUT = 30_000


def shown(page: Any, screen: str) -> None:
    page.wait_for_selector(f"#{screen}:not([hidden])", timeout=TIMEOUT)


def record_requests(page: Any, sink: list[str]) -> None:
    def on_request(request: Any) -> None:
        sink.append(f"{request.method} {request.url}\n{json.dumps(request.headers)}\n{request.post_data or ''}")

    page.on("request", on_request)


def operator_step(page: Any, live: Live, button: str, files: dict[str, Path] | None = None) -> str:
    page.goto(live.url("/operacion"))
    form = page.locator("form", has=page.get_by_role("button", name=button))
    for field, path in (files or {}).items():
        form.locator(f"input[name={field}]").set_input_files(str(path))
    form.get_by_role("button", name=button).click()
    page.wait_for_load_state()
    confirm = page.locator("form.confirmar-form button[type=submit]")
    if confirm.count():  # an irreversible action: the second step names the consequence
        confirm.click()
        page.wait_for_load_state()
    heading = page.locator("h1").inner_text()
    text = page.locator("main").inner_text()
    assert heading == "Hecho", text
    return text


def mark(page: Any, contest: str, option: str) -> Any:
    box = page.locator(f"#c-{contest} input[type=checkbox][value='{option}']")
    box.check()
    return box


def vote_choice_text(page: Any, contest: str) -> str:
    return str(page.locator(f"#c-{contest}-voto").inner_text())


def test_voter_and_operator_journeys(browser: Any, live_server: Any, tmp_path: Path) -> None:
    live: Live = live_server(voters=3)
    kit = live.kit
    files = live.kit_files()
    # Three devices: the operator's computer, voter 1's phone, voter 2's phone.
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    phone2 = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    requests: list[str] = []
    try:
        # -- operator: manifest, credential list, opening act, open -------------------------------------------
        op = live.operator_page(desk)
        operator_step(op, live, "Cargar manifiesto", {"manifiesto": files["manifiesto"]})
        operator_step(op, live, "Importar lista de credenciales",
                      {"lista": files["lista"], "entradas": files["entradas"], "fichas": files["fichas"]})
        opening = {k: files[k] for k in ("ceremonia", "acta", "constancia")}
        text = operator_step(op, live, "Registrar acta de inicio", opening)
        assert kit.ctx.election_hash.hex() in text
        operator_step(op, live, "Abrir la votación")

        # -- voter 1: the whole journey -------------------------------------------------------------------------
        voter = next(v for v in kit.roll if kit.manifest.style_for_entity(v.entity).id in ("cdmx", "chih"))
        style = kit.manifest.style_for_entity(voter.entity).id
        contest = {"cdmx": "dip-mig-cdmx", "chih": "gob-chih"}[style]
        credential = kit.deliveries[voter.voter_id].credential
        page = live.voter_page(context, voter.voter_id)
        record_requests(page, requests)
        if not page.url.endswith("/votar"):
            page.goto(live.url("/votar"))
        shown(page, "p-credencial")
        fingerprint_text = page.locator("#huella-manifiesto-1").inner_text()
        from sivei.crypto.fingerprint import fingerprint

        assert fingerprint_text == fingerprint(kit.manifest.hash)

        # A mistyped credential: its check character does not match (nothing leaves the page).
        wrong = credential[:-1] + ("0" if credential[-1] != "0" else "1")
        page.fill("#credencial", wrong)
        page.get_by_role("button", name="Continuar").click()
        error = page.locator("#credencial-error")
        error.wait_for(state="visible")
        assert "verificación" in error.inner_text()
        assert page.locator("#credencial").get_attribute("aria-invalid") == "true"
        page.fill("#credencial", credential.lower().replace("-", " "))
        page.get_by_role("button", name="Continuar").click()
        shown(page, "p-boleta")
        assert page.locator("#credencial").input_value() == ""

        # Coalition marks: PAN, then PRI → one vote for PAN-PRI; the others are not offered.
        c = page.locator(f"#c-{contest}")
        legends = page.locator("#contiendas legend").all_inner_texts()
        assert [re.sub(r"^Elección \d de \d\s*", "", x) for x in legends] == [
            cc.title for _, cc in kit.manifest.style_contests(style)]
        mark(page, contest, "PAN")
        assert vote_choice_text(page, contest).startswith("Tu voto: PAN:")
        mark(page, contest, "PRI")
        assert vote_choice_text(page, contest).startswith("Tu voto: PAN-PRI:")
        for other in ("MC", "MORENA", "CNR", "NULO"):
            assert c.locator(f"input[value='{other}']").is_disabled(), other
        assert c.locator("input[value='PRD']").is_enabled()
        assert not c.locator(f"#c-{contest}-pista").is_hidden()
        # The referendum: one answer.
        mark(page, "rm-2027", "SIGA")
        assert page.locator("#c-rm-2027 input[value='REVOCA']").is_disabled()
        page.get_by_role("button", name="Revisar mi voto").click()
        shown(page, "p-revision")
        review = page.locator("#revision").inner_text()
        assert "PAN-PRI:" in review and "Coalición" in review and "Que siga en la Presidencia" in review
        assert page.locator("#huella-eleccion").inner_text() == fingerprint(kit.ctx.election_hash)

        # Encrypt: the tracking code comes before the cast/challenge choice.
        page.get_by_role("button", name="Cifrar mi voto").click()
        shown(page, "p-codigo")
        first_code = page.locator("#codigo").inner_text()
        assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}", first_code)
        assert page.get_by_role("button", name="Depositar mi voto").is_visible()

        # Challenge: choices and nonce shown, files downloadable, QR drawn; nothing sent.
        posts_before = sum(1 for r in requests if r.startswith("POST"))
        page.get_by_role("button", name="Verificar esta boleta").click()
        shown(page, "p-impugnada")
        assert page.locator("#imp-codigo").inner_text() == first_code
        assert len(page.locator("#imp-nonce").inner_text().replace(" ", "")) == 64
        assert "PAN-PRI:" in page.locator("#imp-opciones").inner_text()
        assert page.locator("#imp-qr-img").get_attribute("src").startswith("data:image/svg+xml,")
        assert sum(1 for r in requests if r.startswith("POST")) == posts_before
        with page.expect_download() as d:
            page.locator("#imp-archivo").click()
        challenged = tmp_path / "impugnada.json"
        d.value.save_as(challenged)
        with page.expect_download() as d:
            page.locator("#imp-contexto").click()
        context_file = tmp_path / "contexto.json"
        d.value.save_as(context_file)
        file_json = json.loads(challenged.read_text())
        assert file_json["tracking_code"] == first_code and file_json["choices"][contest] == "PAN_PRI"
        assert file_json["ballot"]["signature"] == ""

        # The library agrees with the browser's challenged ballot (sivei impugnada's check).
        from sivei.ballot.challenge import ChallengedBallot, check_challenge

        assert check_challenge(kit.ctx, ChallengedBallot.from_json(kit.ctx, file_json)) == []

        # The static verification page, opened from a FILE (a copy of the folder, as a voter would keep it).
        verify_page = context.new_page()


        watch(verify_page, live.errors)
        static = Path(__file__).resolve().parents[2] / "server" / "sivei_server" / "static" / "verificar"
        verify_page.goto(static.joinpath("index.html").as_uri())
        verify_page.locator("#contexto").set_input_files(str(context_file))
        verify_page.wait_for_selector("#contexto-huella:not([hidden])")
        assert verify_page.locator("#huella-eleccion").inner_text() == fingerprint(kit.ctx.election_hash)
        verify_page.locator("#archivo").set_input_files(str(challenged))
        verify_page.get_by_role("button", name="Verificar").click()
        verify_page.wait_for_selector("#resultado:not([hidden])")
        assert "corresponde exactamente" in verify_page.locator("#veredicto").inner_text()
        assert verify_page.locator("#codigo").inner_text() == first_code
        # A doctored file (another choice revealed) is caught.
        doctored = dict(file_json, choices={**file_json["choices"], contest: "MC"})
        verify_page.locator("#texto").fill(json.dumps(doctored))
        verify_page.get_by_role("button", name="Verificar").click()
        verify_page.wait_for_function("document.querySelector('#veredicto').classList.contains('mal')")
        assert "NO corresponde" in verify_page.locator("#veredicto").inner_text()
        verify_page.close()

        # Vote again, with a write-in this time, then cast.
        page.get_by_role("button", name="Votar de nuevo").click()
        shown(page, "p-boleta")
        page.locator(f"#c-{contest} input[value='PRI']").uncheck()
        page.locator(f"#c-{contest} input[value='PAN']").uncheck()
        mark(page, contest, "CNR")
        name_box = page.locator(f"#c-{contest}-CNR-nombre")
        assert name_box.is_visible()
        page.get_by_role("button", name="Revisar mi voto").click()  # no name yet: refused
        assert page.locator("#alerta").is_visible()
        name_box.fill(WRITE_IN)
        page.get_by_role("button", name="Revisar mi voto").click()
        shown(page, "p-revision")
        assert WRITE_IN in page.locator("#revision").inner_text()
        page.get_by_role("button", name="Cifrar mi voto").click()
        shown(page, "p-codigo")
        code = page.locator("#codigo").inner_text()
        assert code != first_code  # a fresh encryption
        page.get_by_role("button", name="Depositar mi voto").click()
        shown(page, "p-recibo")
        assert page.locator("#rec-codigo").inner_text() == code
        assert "corresponde" in page.locator("#rec-coincide").inner_text()
        with page.expect_download() as d:
            page.locator("#rec-archivo").click()
        receipt_path = tmp_path / "recibo.json"
        d.value.save_as(receipt_path)
        receipt = json.loads(receipt_path.read_text())
        assert receipt["tracking_code"] == code and receipt["format"] == "sivei-recibo"
        page.get_by_role("link", name="Buscar mi código en el tablero público").click()
        page.wait_for_url(re.compile(r"/tablero\?codigo="))
        assert f"código {code}" in page.locator("[role=status]").inner_text()
        # The booth now says the voter has voted.
        page.goto(live.url("/votar"))
        shown(page, "p-votado")

        # -- voter 2: keyboard only, in English -------------------------------------------------------------------
        voter2 = next(v for v in kit.roll if v.voter_id != voter.voter_id)
        page2 = live.voter_page(phone2, voter2.voter_id)
        record_requests(page2, requests)
        if not page2.url.endswith("/votar"):
            page2.goto(live.url("/votar"))
        shown(page2, "p-credencial")
        page2.locator("#idioma").focus()
        page2.keyboard.press("Enter")
        assert page2.locator("html").get_attribute("lang") == "en"
        assert page2.locator("#t-credencial").inner_text().endswith("Your voting credential")
        page2.locator("#credencial").focus()
        page2.keyboard.type(kit.deliveries[voter2.voter_id].credential)
        page2.keyboard.press("Enter")
        shown(page2, "p-boleta")
        # Tab to the first option of the first contest and mark it with the space bar.
        page2.keyboard.press("Tab")
        for _ in range(10):
            if page2.evaluate("document.activeElement && document.activeElement.type === 'checkbox'"):
                break
            page2.keyboard.press("Tab")
        first_value = page2.evaluate("document.activeElement.value")
        page2.keyboard.press("Space")
        assert page2.evaluate("document.activeElement.checked")
        assert "Your vote:" in page2.locator("#contiendas .voto").first.inner_text()
        review_button = page2.get_by_role("button", name="Review my vote")
        review_button.focus()
        page2.keyboard.press("Enter")
        shown(page2, "p-revision")
        assert page2.evaluate("document.activeElement.id") == "t-revision"
        page2.get_by_role("button", name="Encrypt my vote").focus()
        page2.keyboard.press("Enter")
        shown(page2, "p-codigo")
        code2 = page2.locator("#codigo").inner_text()
        page2.get_by_role("button", name="Cast my vote").focus()
        page2.keyboard.press("Enter")
        shown(page2, "p-recibo")
        assert page2.locator("#rec-codigo").inner_text() == code2
        assert first_value

        # -- operator: close after the close instant, export, decrypt (library), import, publish ---------------------
        live.clock.offset = timedelta(hours=2)
        operator_step(op, live, "Cerrar el tablero")
        op.goto(live.url("/operacion"))
        with op.expect_download() as d:
            op.get_by_role("button", name="Exportar registro cerrado").click()
        closed_tar = tmp_path / "cerrado.tar.gz"
        d.value.save_as(closed_tar)
        closed_dir = tmp_path / "cerrado"
        with tarfile.open(closed_tar) as tar:
            tar.extractall(closed_dir, filter="data")
        full = complete_record(kit, next(closed_dir.iterdir()), tmp_path / "completo", [1, 2])
        record_tar = tmp_path / "registro.tar.gz"
        record_tar.write_bytes(tar_gz(full))
        operator_step(op, live, "Importar registro", {"registro": record_tar})
        operator_step(op, live, "Publicar los resultados")
        op.goto(live.url("/tablero"))
        assert op.get_by_role("heading", name="Resultados").is_visible()
        published = op.request.get(live.url("/tablero/registro.tar.gz"))
        assert published.status == 200
        out = tmp_path / "publicado"
        with tarfile.open(fileobj=io.BytesIO(published.body()), mode="r:gz") as tar:
            tar.extractall(out, filter="data")
        record = next(out.iterdir())
        # sivei verificar accepts the record with the booth's receipt (a ballot encrypted in the browser).
        assert sivei_main(["verificar", str(record), "--test-group", "--quiet", "--receipt", str(receipt_path)]) == 0
    finally:
        for ctx in (desk, context, phone2):
            ctx.close()

    # Nothing the pages sent carried a credential or the write-in name.
    secrets_ = [WRITE_IN, *(kit.deliveries[v.voter_id].credential for v in kit.roll)]
    for r in requests:
        for s in secrets_:
            for form in {s, s.replace("-", ""), s.lower(), s.lower().replace("-", "")}:
                assert form not in r, (form, r[:200])
    assert live.errors == []
