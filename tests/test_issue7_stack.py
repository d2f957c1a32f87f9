"""Issue 7 on the production stack, CI-sized: nginx (the shipped proxy settings) + gunicorn (2 × 4) +
PostgreSQL on loopback, through ``sivei_server.carga`` (the full-size run is ``sivei servidor
prueba-carga``). One election for the whole module, in this order: voters for the closing rush log in
first; the crowd logs in and casts while a worker and then the master are killed; slow and oversized
uploads; the lockout attack (item 2); hostile input; then the closing rush at the close instant; the
invariants and ``sivei verificar`` on the record last.

PostgreSQL from ``.ci/postgres.sh``; without it the tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from sivei_server import carga
from sivei_server.db import session_scope
from sivei_server.fuzz import fuzz
from sivei_server.models import LateBallot
from sivei_server.simulacro import Client

DEFAULT_URL = "postgresql://sivei@127.0.0.1:54329/postgres"
CROWD, RUSH, LATE = 24, 40, 8
CLOSES_IN = 65.0


def _admin_url() -> str:
    return os.environ.get("SIVEI_TEST_POSTGRES_URL", DEFAULT_URL)


def _reachable(url: str) -> bool:
    try:
        eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                            connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return True
    except Exception:
        return False


@dataclass
class Election:
    st: carga.Stack
    crowd: list[str]
    rushers: list[str]
    latecomers: list[str]
    victim: str
    receipts: list[dict[str, Any]] = field(default_factory=list)
    noted: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def election() -> Iterator[Election]:
    admin = _admin_url()
    if not _reachable(admin):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {admin} (.ci/postgres.sh starts it)")
        pytest.skip(f"PostgreSQL is not reachable at {admin}; run .ci/postgres.sh")
    with carga.stack(admin, CROWD + RUSH + LATE + 1, closes_in=CLOSES_IN, grace=10.0, say=lambda _: None) as st:
        ids = [v.voter_id for v in st.kit.roll]
        yield Election(st, ids[:CROWD], ids[CROWD:CROWD + RUSH], ids[CROWD + RUSH:-1], ids[-1])


def test_nginx_compresses_the_public_static_files_and_context_never_a_page(election: Election) -> None:
    """Issue 10 (slow links): the booth's script, style sheets and the election's context travel
    gzip-compressed and versioned static URLs are cached for a year; a page with a CSRF token is never
    compressed (BREACH)."""
    import re
    import urllib.request

    def get(path: str) -> Any:
        req = urllib.request.Request(election.st.base + path, headers={"Accept-Encoding": "gzip"})
        return urllib.request.urlopen(req, timeout=30)

    booth = get("/votar")
    page = booth.read().decode()
    assert booth.headers.get("Content-Encoding") is None and 'name="csrf-token"' in page
    script = re.search(r'src="(/static/booth/dist/cabina\.js\?v=[0-9a-f]{16})"', page)
    assert script is not None
    r = get(script.group(1))
    body = r.read()
    assert r.headers["Content-Encoding"] == "gzip" and "immutable" in r.headers["Cache-Control"]
    import sivei_server

    on_disk = (Path(sivei_server.__file__).parent / "static" / "booth" / "dist" / "cabina.js").stat().st_size
    assert len(body) < 0.4 * on_disk  # what crosses a 50 KB/s link
    assert get("/api/eleccion/contexto").headers["Content-Encoding"] == "gzip"
    assert get("/cuenta/entrar").headers.get("Content-Encoding") is None


def test_issue7_load_with_a_worker_and_the_master_killed(election: Election) -> None:
    """Every voter who logged in casts exactly once although a worker and then the master die mid-cast;
    the orphaned workers free the port at once (item 6: they held it ~15 s)."""
    st = election.st
    figures = carga.load(st, election.crowd, clients=6, kill_worker_after=CROWD // 3,
                         kill_master_after=2 * CROWD // 3, say=lambda _: None)
    assert len(figures.killed) == 2, figures.killed
    assert figures.statuses.get(201, 0) + figures.statuses.get(200, 0) == CROWD, figures
    assert len(figures.receipts) == CROWD
    restarted = figures.killed[1]
    seconds = float(re.search(r"in ([0-9.]+) s", restarted).group(1))  # type: ignore[union-attr]
    assert seconds < 10, restarted
    election.receipts += figures.receipts
    election.noted.append(Client(st.base).json("GET", "/api/tablero")["head"])
    inv = carga.invariants(st, election.receipts, verify=False)
    assert inv.rows == inv.events == inv.voted == CROWD and inv.duplicates == 0 and not inv.missing


def test_issue7_item6_an_orphaned_worker_frees_the_port_at_once(election: Election) -> None:
    """After ``kill -9`` of the master, a worker still busy with a request outlives it for up to the
    graceful timeout (20 s); it must close the listening socket at once so that a new master binds
    the port (item 6: the orphaned worker held it ~15 s)."""
    gunicorn = election.st.gunicorn
    # A form whose body never completes, straight to gunicorn: the CSRF check reading the form
    # holds a worker thread (nginx would have buffered it).
    busy = socket.create_connection(("127.0.0.1", gunicorn.port))
    busy.sendall(b"POST /cuenta/entrar HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusuario=")
    try:
        time.sleep(0.5)
        orphans = gunicorn.kill_master()
        started, freed = time.monotonic(), None
        while time.monotonic() - started < 12:
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", gunicorn.port))
                    freed = time.monotonic() - started
                    break
                except OSError:
                    time.sleep(0.1)
        outlived = [p for p in orphans if _alive(p)]
    finally:
        busy.close()
        gunicorn.start()
    assert outlived, "no worker outlived its master: the test proves nothing"
    assert freed is not None and freed < 3, freed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_issue7_item5_slow_uploads_and_huge_bodies(election: Election) -> None:
    """Stalled uploads tie up nginx, never a worker: health checks keep answering (item 5: 16 slow
    uploads stopped the server). Bodies beyond any ballot are refused by nginx (413). The control:
    the same uploads straight at gunicorn, as deployed before the fix, stop the health checks."""
    figures = carga.slow_and_oversized(election.st, slow=24, seconds=6.0)
    assert figures.health_checks >= 10 and figures.health_failures == 0, figures
    assert figures.health_p95 < 1.0, figures
    assert set(figures.oversized_statuses) == {413}, figures
    without_proxy = carga.slow_and_oversized(election.st, slow=24, seconds=6.0, direct=True)
    assert without_proxy.health_failures > 0, without_proxy


class _From:
    """A browser at one loopback source address (127.0.0.k): nginx passes it on as the client."""

    def __init__(self, st: carga.Stack, source: str) -> None:
        self.port, self.source = st.nginx.port, source
        self.cookies: dict[str, str] = {}
        self.token = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str, dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60, source_address=(self.source, 0))
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body, headers)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie":
                k, _, rest = value.partition("=")
                self.cookies[k] = rest.split(";", 1)[0]
        conn.close()
        return resp.status, data, {k.lower(): v for k, v in resp.getheaders()}

    def form(self, path: str, **fields: str) -> tuple[int, str, dict[str, str]]:
        from urllib.parse import urlencode

        if not self.token:
            _, page, _ = self.request("GET", path)
            self.token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        return self.request("POST", path, urlencode({"csrf_token": self.token, **fields}))


def test_issue7_item2_lockout_attack_does_not_lock_the_voter_out(election: Election) -> None:
    """While 100 addresses send 1,000 wrong passwords a minute against one voter, that voter logs in
    from a new address within 60 s (item 2: five wrong passwords locked the account)."""
    st = election.st
    username = st.usernames[election.victim]
    stop = threading.Event()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def attacker(k: int) -> None:
        browser = _From(st, f"127.0.0.{10 + k}")
        sent = 0
        while not stop.is_set():
            sent += 1
            t0 = time.monotonic()
            try:
                status, _, _ = browser.form("/cuenta/entrar", usuario=username, clave=f"adivinanza {k} {t0}")
            except OSError:
                status = 0
            with lock:
                statuses[status] += 1
            if sent > 6:  # a burst, then 100 addresses × 10 a minute
                stop.wait(max(0.0, 6.0 - (time.monotonic() - t0)))

    threads = [threading.Thread(target=attacker, args=(k,)) for k in range(100)]
    for t in threads:
        t.start()
    try:
        time.sleep(8)  # the attack is on
        started = time.monotonic()
        victim = _From(st, "127.0.0.250")
        status, _, headers = victim.form("/cuenta/entrar", usuario=username, clave=carga.PASSWORD)
        assert status == 303 and headers["location"].endswith("/cuenta/codigo"), status
        digits = "".join(c for c in st.phone(election.victim) if c.isdigit())
        code = re.search(r"\b(\d{6})\b", (st.sms_dir / f"{digits}.txt").read_text()).group(1)  # type: ignore[union-attr]
        victim.token = ""
        status, _, headers = victim.form("/cuenta/codigo", codigo=code)
        elapsed = time.monotonic() - started
        assert status == 303 and headers["location"].endswith("/cuenta/"), status
        assert elapsed < 60
        time.sleep(2)
    finally:
        stop.set()
        for t in threads:
            t.join()
        errors = (st.nginx.dir / "error.log").read_text()
        log = st.gunicorn.log_path
        workers = log.read_text(errors="replace") if log.is_file() else ""
    # The attack ran at the intended rate and was throttled (429), never answered 5xx. (A rare 502, "upstream
    # prematurely closed", was seen twice in full suites on a machine at load 6-8; gunicorn's log is shown
    # to tell a worker timeout from a keep-alive race.)
    assert sum(statuses.values()) >= 150 and statuses[429] > 0 and not any(s >= 500 for s in statuses), (
        statuses, errors[-2000:], workers[-3000:])


def test_issue7_hostile_input_gives_no_5xx_and_stores_nothing_invalid(election: Election) -> None:
    figures = fuzz(election.st, examples=25)
    assert figures["requests"] >= 60 and figures["5xx"] == 0, figures
    assert figures["stored_invalid"] == 0, figures


def test_issue7_item1_closing_rush(election: Election) -> None:
    """Voters casting in the last second before the close are all accepted, however long their
    ballots wait in the queue (item 1: 152 of 200 were refused as late); those casting after the
    close are refused and logged as late; a client's forged arrival stamp is ignored. The 40 ballots
    leave within half a second, faster than two cores check them: the queue runs past the close
    instant (with the old rule, by a worker's clock, about half of them were refused)."""
    st = election.st
    figures = carga.closing_rush(st, election.rushers, election.latecomers, last_seconds=1.0, say=lambda _: None)
    assert figures.on_time_accepted == figures.on_time_sent == RUSH, figures
    assert figures.late_refused == figures.late_sent == LATE - 1, figures
    assert figures.forged_refused
    with session_scope(st.engine) as s:
        late = list(s.scalars(select(LateBallot.reason)))
    assert late == ["tarde"] * LATE  # every refused one logged (sender and time only), none lost in the queue
    election.receipts += figures.receipts


def test_issue7_invariants_and_the_verifier(election: Election) -> None:
    st = election.st
    inv = carga.invariants(st, election.receipts, noted_heads=tuple(election.noted))
    assert inv.receipts == CROWD + RUSH
    assert inv.rows == inv.events == inv.voted == CROWD + RUSH, inv
    assert inv.duplicates == 0 and not inv.missing
    assert inv.verified, inv.problems
