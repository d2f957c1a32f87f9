"""Credentials that reach the voter without typing, in real headless Chromium against gunicorn.

The server runs under gunicorn (its production settings, one worker) with its access log on and every
application log record written to a file; the credential authority's deliveries (mail-merge CSV with
each voter's link, letters, QR codes) are written by the library as ``sivei credenciales generar``
writes them. Three voters by internet, two at a consulate:

1. the link, already logged in: the server's activation message → account activated → (another
   voter's link is refused by name) → the credential authority's link → the booth reads the
   credential from the fragment and removes it from the address bar → ballot → receipt, with no
   credential typed;
2. the link, not logged in: the booth keeps the link's credential in memory while the login opens in
   another tab, which closes itself once the voter is in → ballot → receipt, nothing typed but the
   login;
3. the typed credential, as before;
4. at a consulate (the election has in-person voting at LAX): an official turns a device into a kiosk,
   serves a voter registered there, who holds their letter's QR code to the kiosk's reader (the link
   typed into the focused field), votes and ends; then a person without prior registration, with a
   card of the consulate's pool.

Then the credential — the internet voters', the kiosk voter's and the pool card's — appears
nowhere: in no request Chromium made (URL, headers, body — the popup and the worker included), in
neither gunicorn log nor the application's log, in no row of any table (nor the SQLite files'
bytes), in no file of the server's data directory (the mail and SMS outboxes). The opened credential
tokens, which tie a voter to a public credential, are in no log, row or file either. Each search is
shown able to find what it looks for (the token in the requests, the public credential in the
database, the cast in the access log). The voter-ID numbers the official typed are
in no log, row or file either (only their keyed hashes are kept)."""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2etools import HAVE_AUTH, VOTER_PASSWORD, Live, ServerClock, activate_voter, watch
from test_consulates import add_official, official, search, serve_unregistered, vote_on_kiosk

from servertools import election_setup, prepare
from sivei.ballot import credentials as cr
from sivei.ballot.credential_tokens import TOKEN_HEADER
from sivei_server.simulacro import Client, free_port

TIMEOUT = 30_000
CONSULATES = {"LAX": (1, 1)}  # cap 1; the roll's first voter is registered to vote there
UNREGISTERED = "GARCIA800101090H01"

APP_WRAPPER = """\
import logging
import os

logging.basicConfig(filename=os.environ["SIVEI_PRUEBA_LOG"], level=logging.DEBUG,
                    format="%(asctime)s %(name)s %(levelname)s %(message)s")
from sivei_server.wsgi import app  # noqa: E402
"""


def shown(page: Any, screen: str) -> None:
    page.wait_for_selector(f"#{screen}:not([hidden])", timeout=TIMEOUT)


class Gunicorn:
    """gunicorn with the production settings, its access log on, application logs to a file."""

    def __init__(self, setup: Any, tmp: Path) -> None:
        self.setup, self.tmp = setup, tmp
        self.access_log, self.error_log, self.app_log = tmp / "access.log", tmp / "error.log", tmp / "app.log"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        cfg = self.setup.config
        (self.tmp / "sivei_prueba_wsgi.py").write_text(APP_WRAPPER)
        env = {**os.environ, "SIVEI_DATA_DIR": str(cfg.data_dir), "SIVEI_COOKIE_SECURE": "0",
               "SIVEI_TEST_GROUP": "1", "SIVEI_RECEIPT_KEY_FILE": str(cfg.receipt_key_file),
               "SIVEI_BIND": f"127.0.0.1:{self.port}", "SIVEI_WORKERS": "1", "SIVEI_THREADS": "8",
               "SIVEI_PRUEBA_LOG": str(self.app_log), "PYTHONPATH": str(self.tmp),
               "SIVEI_BUZON_DESARROLLO": "1",  # outboxes in files: what the test searches
               "SIVEI_LOG_FILE": str(self.access_log)}  # the server's own loggers, its access log included
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:sivei_server.gunicorn_conf",
             "--access-logfile", str(self.access_log), "--error-logfile", str(self.error_log),
             "--log-level", "debug", "sivei_prueba_wsgi:app"], env=env, cwd=self.tmp)
        deadline = time.monotonic() + 60
        while True:
            try:
                Client(self.base).json("GET", "/api/salud")
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(self.error_log.read_text() if self.error_log.exists() else "no log") from None
                time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Live, Gunicorn]]:
    if not HAVE_AUTH:
        pytest.skip("the journeys start from the authentication module's activation message")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    setup = election_setup(tmp_path, voters=4, closes_in=3600, consulates=CONSULATES)
    try:
        prepare(setup)
        with Gunicorn(setup, tmp_path) as server:
            yield Live(server.base, setup, tmp_path, ServerClock()), server
    finally:
        setup.kit.close()


def cast_null_ballot(page: Any) -> str:
    """From the ballot screen: nothing marked (null votes), review, encrypt, cast; the tracking code."""
    page.locator("#f-boleta button[type=submit]").click()
    shown(page, "p-revision")
    page.locator("#cifrar").click()
    shown(page, "p-codigo")
    code = str(page.locator("#codigo").inner_text())
    page.locator("#depositar").click()
    shown(page, "p-recibo")
    assert page.locator("#rec-codigo").inner_text() == code
    assert "corresponde" in page.locator("#rec-coincide").inner_text()
    return code


def test_link_journeys_typed_journey_kiosk_journey_and_the_credential_nowhere(browser: Any,
                                                                             served: tuple[Live, Gunicorn]) -> None:
    live, server = served
    kit = live.kit
    at_consulate, a, b, c = (v.voter_id for v in kit.roll)
    assert kit.roll[0].consulate == "LAX" and all(v.consulate is None for v in kit.roll[1:])
    # The credential authority's message: its mail-merge file, with each voter's link to this site (the
    # authority's own folder, outside the server's data directory).
    deliveries = live.tmp / "entregas"
    cr.write_deliveries(deliveries, kit.manifest, list(kit.deliveries.values()), retained=True, site=live.base)
    rows = {r["voter_id"]: r for r in csv.DictReader((deliveries / "mail-merge.csv").open(encoding="utf-8"))}

    requests: list[str] = []
    contexts = [browser.new_context(viewport={"width": 390, "height": 844}) for _ in range(3)]
    contexts += [browser.new_context(viewport={"width": 1280, "height": 900}),  # the official's desk
                 browser.new_context(viewport={"width": 1024, "height": 768})]  # the kiosk
    for ctx in contexts:
        ctx.on("request", lambda r: requests.append(
            f"{r.method} {r.url}\n{json.dumps(r.headers)}\n{r.post_data or ''}"))
    try:
        # 1. The link, already logged in: nothing typed after the activation.
        page = contexts[0].new_page()
        watch(page, live.errors)
        activate_voter(live, page, a, go_vote=False)
        # Another voter's link in this account's session: named before anything is marked.
        page.goto(rows[c]["link"])
        shown(page, "p-credencial")
        assert "no corresponde a la cuenta" in page.locator("#credencial-error").inner_text()
        assert "#" not in page.url
        # The voter's own link, opened in the same tab (only the fragment changes: no new page).
        page.goto(rows[a]["link"])
        shown(page, "p-boleta")
        assert "#" not in page.url and "#" not in page.evaluate("window.location.href")
        assert page.locator("#credencial").input_value() == ""
        assert "enlace" in page.locator("#estado").inner_text()
        cast_null_ballot(page)

        # 2. The link before logging in: the login opens in another tab; this one keeps the credential.
        first = contexts[1].new_page()
        watch(first, live.errors)
        activate_voter(live, first, b, go_vote=False)
        first.get_by_role("button", name="Cerrar sesión").click()
        first.wait_for_url(re.compile(r"/cuenta/entrar"))
        page = contexts[1].new_page()
        watch(page, live.errors)
        page.goto(rows[b]["link"])
        shown(page, "p-sesion")
        assert "#" not in page.url
        assert page.locator("#sesion-enlace").is_visible()
        with page.expect_popup() as popup_info:
            page.get_by_role("button", name="Iniciar sesión").click()
        login = popup_info.value
        watch(login, live.errors)
        login.wait_for_url(re.compile(r"/cuenta/entrar\?siguiente=/votar/sesion"))
        from sivei_server.db import session_scope
        from sivei_server.models import Voter

        with session_scope(live.app.extensions["sivei_engine"]) as s:
            voter_b = s.get(Voter, b)
            assert voter_b is not None
            username_b = voter_b.username  # the server's issued username, not the roll's id
        login.fill("#usuario", username_b)
        login.fill("#clave", VOTER_PASSWORD)
        login.get_by_role("button", name="Continuar").click()
        login.wait_for_url(re.compile(r"/cuenta/codigo"))
        from sivei_server.notify import read_sms_outbox

        sms = read_sms_outbox(live.setup.config.data_dir / "sms")
        code = re.search(r"\b(\d{6})\b", sms[-1].body)
        assert code and sms[-1].to == kit.phones[b]
        login.fill("#codigo", code.group(1))
        with login.expect_event("close"):
            login.get_by_role("button", name="Verificar").click()  # /votar/sesion closes its own tab
        shown(page, "p-boleta")
        assert "enlace" in page.locator("#estado").inner_text()
        cast_null_ballot(page)

        # 3. The typed credential.
        page = contexts[2].new_page()
        watch(page, live.errors)
        activate_voter(live, page, c)
        shown(page, "p-credencial")
        page.fill("#credencial", kit.deliveries[c].credential)
        page.get_by_role("button", name="Continuar").click()
        shown(page, "p-boleta")
        cast_null_ballot(page)

        # 4. At the consulate: a kiosk, the registered voter's letter QR code, then a pool card.
        desk_totp, kiosk_totp = add_official(live, "pedro", "LAX"), add_official(live, "luis", "LAX")
        desk = official(live, contexts[3], "pedro", desk_totp)
        kiosk = official(live, contexts[4], "luis", kiosk_totp)
        kiosk.locator("summary", has_text="Convertir este equipo").click()
        kiosk.fill("#nombre", "LAX-1")
        kiosk.get_by_role("button", name="Registrar este equipo como quiosco").click()
        kiosk.wait_for_url(re.compile(r"/quiosco$"))
        shown(kiosk, "p-quiosco")
        assert "Registrado para votar en este consulado" in search(desk, kit.cards[at_consulate])
        desk.select_option("#quiosco-registrado", label="LAX-1")
        desk.get_by_role("button", name="Emitir sesión en el quiosco").click()
        desk.wait_for_load_state()
        shown(kiosk, "p-credencial")
        vote_on_kiosk(kiosk, cr.voting_link(live.base, kit.deliveries[at_consulate].credential))
        kiosk.get_by_role("button", name="Terminar").click()
        shown(kiosk, "p-quiosco")
        desk.goto(live.url("/consulado"))
        assert "Entréguele una tarjeta" in serve_unregistered(desk, UNREGISTERED, "LAX-1")
        shown(kiosk, "p-credencial")
        vote_on_kiosk(kiosk, cr.voting_link(live.base, kit.pools["LAX"][0]))
        kiosk.get_by_role("button", name="Terminar").click()
        shown(kiosk, "p-quiosco")
    finally:
        for ctx in contexts:
            ctx.close()
    assert live.errors == []

    # -- the credential appears nowhere ------------------------------------------------------------------
    election = kit.manifest.election_id
    credentials: list[str] = []
    used = [d.credential for d in kit.deliveries.values()] + [kit.pools["LAX"][0]]
    for credential in used:
        canonical = cr.parse_credential(credential)
        credentials += [credential, credential.replace("-", ""), canonical, f"credencial={canonical}",
                        cr.credential_seed(election, credential).hex()]
    credentials = [x.lower() for x in credentials]
    tokens = [kit.token(v.voter_id) for v in kit.roll]
    public_credentials = [cr.credential_public_key(election, credential).hex() for credential in used]
    voter_ids = [kit.cards[at_consulate].lower(), UNREGISTERED.lower()]  # typed by the official

    def search_for(where: str, text: str, *, tokens_too: bool = True, voter_ids_too: bool = True) -> None:
        low = text.lower()
        for secret in credentials + (tokens if tokens_too else []) + (voter_ids if voter_ids_too else []):
            assert secret not in low, (where, secret)

    # Chromium's requests (the popup and the worker included): every cast carried its token in the
    # header beside a body with the public credential, and never the private credential.
    assert len(requests) > 50
    casts = [r for r in requests if r.startswith("POST ") and re.search(r"/api/(quiosco/)?votar$", r.split("\n")[0])]
    assert len(casts) == 5  # three by internet, two on the kiosk
    assert sum(TOKEN_HEADER.lower() in r.lower() for r in casts) == 4  # the pool card's ballot has no token
    assert {t for t in tokens if any(t in r for r in casts)} == set(tokens)
    assert {p for p in public_credentials if any(p in r for r in casts)} == set(public_credentials)
    assert all(any(n in r.lower() for r in requests) for n in voter_ids)  # the official's look-up and serving
    for r in requests:
        search_for("request", r, tokens_too=False, voter_ids_too=False)

    # gunicorn's access and error logs, the application's log.
    # gunicorn's own access log stays off (sivei_server.gunicorn_conf): the application's access lines
    # (logger sivei_server.access) go with the server's other logs to SIVEI_LOG_FILE.
    server_log = server.access_log.read_text()
    access = "\n".join(line for line in server_log.splitlines() if "sivei_server.access" in line)
    assert access.count("POST /api/votar 201") == 3 and "GET /votar 200" in access
    assert access.count("POST /api/quiosco/votar 201") == 2 and "POST /consulado/sin-registro" in access
    app_log = server.app_log.read_text() if server.app_log.exists() else ""
    for name, text in (("server log", server_log), ("error log", server.error_log.read_text()), ("app log", app_log)):
        search_for(name, text)

    # Every table, every row; the SQLite files' bytes; every file of the data directory (outboxes).
    data_dir = live.setup.config.data_dir
    db = sqlite3.connect(data_dir / "sivei.db")
    try:
        dump = []
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in db.execute(f'SELECT * FROM "{table}"'):
                dump.append(" ".join(v.hex() if isinstance(v, bytes) else str(v) for v in row))
    finally:
        db.close()
    rows_text = "\n".join(dump)
    assert all(p in rows_text for p in public_credentials)  # the ballots on the board: the search sees rows
    search_for("database rows", rows_text)
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any("buzon" in p.parts for p in files) and any("sms" in p.parts for p in files)
    for path in files:
        search_for(str(path.relative_to(data_dir)), path.read_bytes().decode("latin-1"))
