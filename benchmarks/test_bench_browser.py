"""The booth's encryption in headless Chromium (Debian's /usr/bin/chromium through Playwright),
production group, the eg-shape ballot (3 contests, 18 options): what a voter's device does from the
moment it has the election context — start the Web Worker, load the modules, build the g and K
tables, read the credential, encrypt with proofs, sign — timed from the page, one fresh worker per
round. The issue's target is ≤ 1 s including the table set-up.

Served by a loopback static server with the voting server's Content-Security-Policy, so that the
page runs the booth's real modules (static/booth/js/client.js and the worker) as in the booth.
Run: ``.venv/bin/python -m pytest benchmarks/test_bench_browser.py --benchmark-columns=min,median,max``.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from benchmarks import workloads as w
from benchmarks.manifests import eg_shape
from sivei.ballot.credentials import generate_credential
from sivei.ballot.encrypt import EncryptedBallot
from sivei.ballot.validate import ballot_problems
from sivei.crypto.encoding import element_to_hex
from sivei.crypto.group import PRODUCTION_GROUP
from sivei_server.security import CSP

STATIC = Path(__file__).resolve().parents[1] / "server" / "sivei_server" / "static"
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

PAGE = b"""<!doctype html><html lang="es"><head><meta charset="utf-8"><title>bench</title>
<script type="module" src="/bench.js"></script></head><body><p id="ok">...</p></body></html>"""

SCRIPT = b"""
import { BoothCrypto } from "/static/booth/js/client.js";
window.runBooth = async (context, style, choices, typed) => {
  const t0 = performance.now();
  const booth = await BoothCrypto.start(context);
  const t1 = performance.now();
  const cred = await booth.openCredential(typed);
  const enc = await booth.encrypt(style, choices, cred.publicCredential);
  const signed = await booth.sign(enc, cred.seed);
  const t2 = performance.now();
  booth.forgetCredential(cred);
  booth.terminate();
  return { totalMs: t2 - t0, startMs: t1 - t0, tablesMs: booth.info.tablesMs, encryptMs: enc.encryptMs,
           encryptAndSignMs: t2 - t1, ballot: signed.ballot };
};
document.getElementById("ok").textContent = "ready";
"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        if self.path in ("/", "/bench.html"):
            self._send(PAGE, "text/html; charset=utf-8")
        elif self.path == "/bench.js":
            self._send(SCRIPT, "text/javascript")
        elif self.path.startswith("/static/"):
            self.path = self.path[len("/static"):]
            super().do_GET()
        else:
            self.send_error(404)

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def booth_page() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(STATIC)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/bench.html")
            page.wait_for_function("document.getElementById('ok').textContent === 'ready'")
            yield page
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.mark.benchmark(group="booth in headless Chromium: worker + tables + encrypt + sign")
def test_browser_booth_eg_shape(benchmark: Any, booth_page: Any) -> None:
    shape = eg_shape()
    election = w.open_election(PRODUCTION_GROUP, shape)
    ctx = election.ctx
    context = {"group": ctx.group.name, "election_key": element_to_hex(ctx.group, ctx.key.element),
               "election_hash": ctx.election_hash.hex(), "manifest": ctx.manifest.to_json()}
    credential = generate_credential()
    args = [context, shape.style, shape.choices, credential]
    runs: list[dict[str, Any]] = []

    def once() -> None:
        runs.append(booth_page.evaluate("(a) => window.runBooth(...a)", args))

    benchmark.pedantic(once, rounds=7, iterations=1, warmup_rounds=1)
    # The browser's ballot is a valid, signed ballot of this election.
    ballot = EncryptedBallot.from_json(ctx.group, runs[-1]["ballot"])
    assert ballot_problems(ctx, ballot, shape.style, "navegador") == []
    ordered = sorted(runs, key=lambda r: r["totalMs"])
    median = ordered[len(ordered) // 2]
    info = benchmark.extra_info
    info["options"] = shape.options
    info["in_page_median_ms"] = {k: round(median[k], 1) for k in ("totalMs", "startMs", "tablesMs", "encryptMs",
                                                                 "encryptAndSignMs")}
    info["in_page_max_total_ms"] = round(ordered[-1]["totalMs"], 1)
    info["ballot_json_bytes"] = len(json.dumps(runs[-1]["ballot"], separators=(",", ":")))

