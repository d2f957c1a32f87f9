"""QR code paths, where the browser has BarcodeDetector with QR codes (Chromium on Android, macOS,
ChromeOS; not Chromium on Linux, so here the camera and the detector are stood in for by an init
script that answers with a given text): the booth reads the credential from its letter's QR code
(the voting link); the verification
page rebuilds a challenged ballot from the booth's QR text (``sivei-impugnada-qr/1``) and shows the
tracking code the booth showed; the QR code the booth draws decodes (zbar) to that text. Without
BarcodeDetector the scan buttons stay hidden."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from e2etools import Live, watch

from servertools import prepare
from sivei.ballot.credentials import voting_link

STAND_IN = """
(() => {
  globalThis.__qrText = null;
  globalThis.BarcodeDetector = class {
    constructor(options) { this.options = options; }
    static async getSupportedFormats() { return ["qr_code"]; }
    async detect() {
      return globalThis.__qrText === null ? [] : [{ rawValue: globalThis.__qrText, format: "qr_code" }];
    }
  };
  navigator.mediaDevices.getUserMedia = async () => new MediaStream();
})();
"""


def decode_qr(png: Path) -> str:
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        if os.environ.get("CI"):
            pytest.fail("zbarimg (Debian's zbar-tools) is required in CI; .ci/run installs it")
        pytest.skip("zbarimg is not installed (apt-get install zbar-tools)")
    out = subprocess.run([zbarimg, "--quiet", "--raw", str(png)], capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.rstrip("\n")


def shown(page: Any, screen: str) -> None:
    page.wait_for_selector(f"#{screen}:not([hidden])", timeout=30_000)


def test_qr_scanning_paths(browser: Any, live_server: Any, tmp_path: Path) -> None:
    live: Live = live_server(voters=2)
    prepare(live.setup)
    kit = live.kit
    voter = kit.roll[0]
    plain = browser.new_context(accept_downloads=True)
    context = browser.new_context(accept_downloads=True)
    context.add_init_script(STAND_IN)
    try:
        # Without BarcodeDetector (Chromium on Linux): no scan button.
        page0 = live.voter_page(plain, kit.roll[1].voter_id)
        if not page0.url.endswith("/votar"):
            page0.goto(live.url("/votar"))
        shown(page0, "p-credencial")
        assert page0.locator("#escanear").is_hidden()

        page = live.voter_page(context, voter.voter_id)
        if not page.url.endswith("/votar"):
            page.goto(live.url("/votar"))
        shown(page, "p-credencial")
        scan = page.get_by_role("button", name="Leer el código QR de mi carta")
        assert scan.is_visible()
        # The letter's QR code holds the voting link (sivei credenciales: qr/<voter>.png).
        link = voting_link(live.base, kit.deliveries[voter.voter_id].credential)
        page.evaluate("(t) => { globalThis.__qrText = t; }", link)
        scan.click()
        shown(page, "p-boleta")
        assert page.locator("#camara").is_hidden()
        page.locator("#f-boleta button[type=submit]").click()  # nothing marked: null votes
        shown(page, "p-revision")
        page.locator("#cifrar").click()
        shown(page, "p-codigo")
        code = page.locator("#codigo").inner_text()
        page.locator("#impugnar").click()
        shown(page, "p-impugnada")
        with page.expect_download() as d:
            page.locator("#imp-archivo").click()
        file = json.loads(Path(d.value.path()).read_text())
        qr_text = page.evaluate("""async (file) => {
            const { challengeQrText } = await import('/static/booth/ui/qr.js');
            return challengeQrText(file); }""", file)
        # The QR code the booth draws reads back as that text (zbar, an independent decoder).
        shot = tmp_path / "qr.png"
        page.locator("#imp-qr-img").screenshot(path=str(shot))
        assert decode_qr(shot) == qr_text

        # The verification page (from the server: the context loads by itself) reads the QR text.
        verify = context.new_page()
        watch(verify, live.errors)
        verify.goto(live.url("/static/verificar/index.html"))
        verify.wait_for_selector("#contexto-huella:not([hidden])")
        verify.evaluate("(t) => { globalThis.__qrText = t; }", qr_text)
        verify.get_by_role("button", name="Leer el código QR con la cámara").click()
        verify.wait_for_selector("#resultado:not([hidden])")
        assert verify.locator("#codigo").inner_text() == code
        assert "reconstruida" in verify.locator("#veredicto").inner_text()
        # Another nonce in the QR text gives another tracking code: the voter sees the difference.
        other = dict(json.loads(qr_text), ballot_nonce="00" * 32)
        verify.locator("#texto").fill(json.dumps(other))
        verify.get_by_role("button", name="Verificar").click()
        verify.wait_for_function("(c) => document.querySelector('#codigo').textContent !== c", arg=code)
    finally:
        plain.close()
        context.close()
    assert live.errors == []
