"""Browser tests: Playwright (from PyPI) driving Debian's headless Chromium (``/usr/bin/chromium``;
never ``playwright install``) against the real voting server on loopback (werkzeug in a thread,
SQLite file, the test group).

The browser tests are skipped only when /usr/bin/chromium is absent AND the ``CI`` variable is
unset; in CI (which installs chromium) a missing browser is a failure.

Voter and operator logins go through the authentication module's real pages when it is installed
(``sivei_server.auth``: activation link from the mail outbox, the last 4 phone digits, SMS code
from the SMS outbox, password; operators: password and TOTP); without it, through the server's
test-only session hooks (``/api/prueba/sesion``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Flags that keep Chromium off the network (there is none but loopback here) and quiet.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HAVE_AUTH = (importlib.util.find_spec("sivei_server.auth") is not None
             and not os.environ.get("SIVEI_E2E_SESION_DE_PRUEBA"))
# Fast argon2id for tests only (the production settings refuse these).
FAST_AUTH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
VOTER_PASSWORD = "una frase larga para votar desde lejos"
OPERATOR_PASSWORD = "operadora-clave-muy-larga"


def chromium_executable() -> str:
    if CHROMIUM.exists():
        return str(CHROMIUM)
    if os.environ.get("CI"):
        pytest.fail("/usr/bin/chromium is required for the browser tests (CI is set; .ci/run installs it)")
    pytest.skip("/usr/bin/chromium is not installed")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_executable()
    if os.environ.get("CI"):
        from playwright.sync_api import sync_playwright
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
        sync_playwright = sync_api.sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class ServerClock:
    """The server's clock (``sivei_server.election`` and ``sivei_server.app``), movable forward so
    that the operator can close the board without waiting for the real close instant."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Live:
    """A voting server on loopback around an election kit (test group)."""

    base: str
    setup: Any
    tmp: Path
    clock: ServerClock
    operator_totp: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def app(self) -> Any:
        return self.setup.app

    @property
    def kit(self) -> Any:
        return self.setup.kit

    def url(self, path: str) -> str:
        return self.base + path

    # -- the election, as the operator's files ----------------------------------------------------------

    def kit_files(self) -> dict[str, Path]:
        folder = self.tmp / "kit"
        folder.mkdir(exist_ok=True)
        files = {"manifiesto": ("manifest.json", self.kit.manifest_bytes),
                 "lista": ("credential-list.json", self.kit.list_bytes),
                 "entradas": ("credentials.jsonl", self.kit.entries_bytes),
                 "fichas": ("sealed-tokens.jsonl", self.kit.sealed_bytes),
                 "ceremonia": ("ceremony.json", self.kit.ceremony_bytes),
                 "acta": ("opening-act.json", self.kit.act_bytes),
                 "constancia": ("constancia.json", self.kit.constancia.dumps().encode())}
        out = {}
        for key, (name, data) in files.items():
            path = folder / name
            path.write_bytes(data)
            out[key] = path
        return out

    # -- logins ------------------------------------------------------------------------------------------

    def voter_page(self, context: Any, voter_id: str) -> Any:
        """A page logged in as this voter: the real activation (activation link, phone digits, SMS code,
        password) when the authentication module exists, else the test-only session."""
        page = context.new_page()
        watch(page, self.errors)
        if HAVE_AUTH:
            activate_voter(self, page, voter_id)
        else:
            page.goto(self.url("/"))
            token = page.locator('meta[name="csrf-token"]').get_attribute("content")
            r = page.request.post(self.url("/api/prueba/sesion"), data=json.dumps({"voter_id": voter_id}),
                                  headers={"Content-Type": "application/json", "X-CSRF-Token": token or ""})
            assert r.status == 200, r.text()
        return page

    def login_again(self, page: Any, voter_id: str) -> None:
        """Without the authentication module: a new test-only session for this voter in the page's
        browser (its ended session's cookie cleared first)."""
        page.context.clear_cookies()
        other = page.context.new_page()
        other.goto(self.url("/"))
        token = other.locator('meta[name="csrf-token"]').get_attribute("content")
        r = other.request.post(self.url("/api/prueba/sesion"), data=json.dumps({"voter_id": voter_id}),
                               headers={"Content-Type": "application/json", "X-CSRF-Token": token or ""})
        assert r.status == 200, r.text()
        other.close()

    def operator_page(self, context: Any, *, username: str = "ana", totp: str | None = None,
                      landing: str = "/operacion") -> Any:
        """A page logged in as an operator: the real login (password and authenticator code) when the
        authentication module exists, else the test-only session (``admin``, or ``username``)."""
        page = context.new_page()
        watch(page, self.errors)
        totp = totp or self.operator_totp
        if HAVE_AUTH and totp:
            import pyotp

            page.goto(self.url("/operacion/entrar"))
            page.fill("#usuario", username)
            page.fill("#clave", OPERATOR_PASSWORD)
            page.get_by_role("button", name="Continuar").click()
            page.wait_for_url(re.compile(r"/operacion/codigo"))
            page.fill("#codigo", pyotp.TOTP(totp).now())
            page.get_by_role("button", name="Verificar").click()
            page.wait_for_url(re.compile(f"{re.escape(landing)}$"))
        else:
            page.goto(self.url("/"))
            token = page.locator('meta[name="csrf-token"]').get_attribute("content")
            r = page.request.post(self.url("/api/prueba/sesion-operador"),
                                  data=json.dumps({"username": "admin" if username == "ana" else username}),
                                  headers={"Content-Type": "application/json", "X-CSRF-Token": token or ""})
            assert r.status == 200, r.text()
            page.goto(self.url(landing))
        return page


def watch(page: Any, errors: list[str]) -> None:
    """Collect the page's uncaught errors and CSP violations (the tests assert there are none)."""
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    def console(msg: Any) -> None:
        text = msg.text
        if msg.type == "error" and ("Content Security Policy" in text or "Refused" in text):
            errors.append(f"console: {text}")

    page.on("console", console)


def activate_voter(live: Live, page: Any, voter_id: str, *, go_vote: bool = True) -> None:
    """The server's activation message (mail outbox) to a logged-in voter; then, with ``go_vote``, the
    account page's "Ir a votar" link."""
    from sivei_server.auth import accounts
    from sivei_server.notify import read_mail_outbox, read_sms_outbox

    app = live.app
    data_dir = Path(app.extensions["sivei_config"].data_dir)
    accounts.send_activations(app.extensions["sivei_engine"], app.extensions["sivei_notifier"],
                              app.extensions["sivei_auth_settings"], live.base + "/", voter_ids=[voter_id], resend=True)
    mail = read_mail_outbox(data_dir / "buzon")[-1]
    from sivei_server.db import session_scope
    from sivei_server.models import Voter
    from sivei_server.usernames import shown

    with session_scope(app.extensions["sivei_engine"]) as s:
        voter = s.get(Voter, voter_id)
        assert voter is not None
        assert shown(voter.username) in mail.body  # the issued username, not the registry's id
    match = re.search(r"https?://\S+/cuenta/activar\?t=\S+", mail.body)
    assert match, mail.body
    link = urlsplit(match.group(0))
    page.goto(live.url(f"{link.path}?{link.query}"))
    phone = live.kit.phones[voter_id]
    page.fill("#digitos", re.sub(r"\D", "", phone)[-4:])
    page.get_by_role("button", name="Continuar").click()
    page.wait_for_url(re.compile(r"/cuenta/activar/factor"))
    page.get_by_label("Mensaje de texto (SMS) a mi celular").check()
    sms_before = len(read_sms_outbox(data_dir / "sms"))
    page.get_by_role("button", name="Continuar").click()
    page.wait_for_url(re.compile(r"/cuenta/codigo"))
    messages = read_sms_outbox(data_dir / "sms")
    assert len(messages) == sms_before + 1
    code = re.search(r"\b(\d{6})\b", messages[-1].body)
    assert code, messages[-1].body
    page.fill("#codigo", code.group(1))
    page.get_by_role("button", name="Verificar").click()
    page.wait_for_url(re.compile(r"/cuenta/clave"))
    page.fill("#clave", VOTER_PASSWORD)
    page.fill("#confirmacion", VOTER_PASSWORD)
    page.get_by_role("button", name="Guardar y entrar").click()
    page.wait_for_url(re.compile(r"/cuenta/$"))
    if go_vote:
        page.get_by_role("link", name="Ir a votar").click()


def _serve(app: Any) -> tuple[Any, threading.Thread, str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="sivei-e2e", daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def live_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Live]]:
    """``live_server(voters=3, open_=False)``: a server, its election kit and (with the
    authentication module) an administrator ``ana`` with password and TOTP."""
    import logging

    import sivei_server.election as server_election
    import sivei_server.models as server_models
    from servertools import election_setup, sealed_operator_totp

    started: list[tuple[Any, threading.Thread, Any]] = []
    clock = ServerClock()
    monkeypatch.setattr(server_election, "utcnow", clock.now)
    monkeypatch.setattr(server_models, "utcnow", clock.now)  # the arrival instant (sivei_server.app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    def start(voters: int = 3, **setup_kw: Any) -> Live:
        setup = election_setup(tmp_path, voters=voters, extra=dict(FAST_AUTH), closes_in=3600, **setup_kw)
        server, thread, base = _serve(setup.app)
        started.append((server, thread, setup))
        live = Live(base, setup, tmp_path, clock)
        if HAVE_AUTH:
            import pyotp

            from sivei_server.auth import codes
            from sivei_server.db import session_scope
            from sivei_server.models import ROLE_ADMIN, Operator

            secret = pyotp.random_base32()
            settings = setup.app.extensions["sivei_auth_settings"]
            with session_scope(setup.engine) as s:
                s.add(Operator(username="ana", role=ROLE_ADMIN,
                               totp_secret=sealed_operator_totp(setup.app, "ana", secret),
                               password_hash=codes.hash_password(settings, OPERATOR_PASSWORD)))
            live.operator_totp = secret
        return live

    yield start
    for server, thread, setup in started:
        server.shutdown()
        thread.join(timeout=10)
        setup.kit.close()
