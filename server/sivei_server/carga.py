"""The load-and-fault suite: the voting server as production runs it — nginx (the shipped proxy
settings) in front of gunicorn (2 workers × 4 threads) and PostgreSQL, on loopback — tried as a crowd
and as an attacker would. ``sivei servidor prueba-carga`` runs it at full size (bounded in time);
``tests/test_issue7_stack.py`` runs a small version in CI.

Scenarios (each returns its figures; the caller asserts):

* ``load``: N voters log in (password, then the SMS code) and cast, ``clients`` at a time; optionally
  a worker and then the master are killed (SIGKILL) mid-cast and gunicorn restarted; voters whose
  request failed retry in the same session (a lost answer gets the receipt, 200).
* ``closing_rush``: voters cast in the last seconds before the close (all on time by the proxy's
  stamp), others after it (refused, logged late), one with a forged arrival stamp (ignored).
* ``slow_and_oversized``: stalled uploads and huge bodies against nginx while health checks run.
* ``fuzz``: hostile JSON and forms against the casting and authentication endpoints (hypothesis).
* ``restore_with_journal``: ``pg_dump`` mid-election, more ballots (receipts handed out, a head
  noted by an observer), gunicorn stopped, ``pg_restore`` of the dump, gunicorn started: the
  workers replay the board journal (``sivei_server.recovery``), the board reaches the noted head
  again and voting continues from it.
* ``restore_without_journal``: the same, but the journal is lost with the database: the restarted
  server refuses every ballot (503); the rebuild is refused because an observer's noted head is not
  on the board; only a statement of the loss resumes voting, and it goes on the public board. The
  lost receipts and the noted head then fail ``sivei verificar``.
* ``invariants``: every receipt's ballot on the board at its index with its head, voted = ballot
  rows = ballot events, no duplicate, the chain recomputes, and ``sivei verificar`` on the record
  (exported, decrypted by the drill's key-holders) with every receipt and noted head.

The SMS gateway is a stand-in for the outside world (``SmsPorNumero``: the last message per phone in
a file the load clients read); mail is not used (voters are seeded activated).
"""

from __future__ import annotations

import dataclasses
import functools
import http.client
import json
import random
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from sivei.ballot.manifest import sample_manifest
from sivei.crypto.group import TEST_GROUP, Group
from sivei.record.verify import VerifyOptions, verify_record
from sivei_server.config import ServerConfig
from sivei_server.db import make_engine, session_scope
from sivei_server.migrate import upgrade
from sivei_server.models import BoardEventRow, CastBallot, LateBallot, Voter, utcnow
from sivei_server.nginx import Nginx
from sivei_server.notify import NotifySettings, SmsMessage
from sivei_server.receipt_key import create_key_file, default_key_file
from sivei_server.simulacro import (
    Client,
    ElectionKit,
    GunicornServer,
    ScratchDatabase,
    build_kit,
    complete_record,
    login_operator,
    operator_prepare,
)
from sivei_server.usernames import new_username

Say = Callable[[str], None]
PASSWORD = "frase de prueba de carga"  # noqa: S105 - the load voters' shared test password


class SmsPorNumero:
    """SMS gateway stand-in: the last message to each number in ``<sms_dir>/<digits>.txt``."""

    def __init__(self, settings: NotifySettings) -> None:
        self.folder = Path(settings.sms_outbox)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def send(self, message: SmsMessage) -> None:
        digits = "".join(c for c in message.to if c.isdigit())
        tmp = self.folder / f".{digits}.{secrets.token_hex(4)}"
        tmp.write_text(message.body, encoding="utf-8")
        tmp.replace(self.folder / f"{digits}.txt")


@dataclass
class Stack:
    """nginx + gunicorn + a scratch PostgreSQL database with an open election and activated voters."""

    kit: ElectionKit
    config: ServerConfig
    engine: Engine
    gunicorn: GunicornServer
    nginx: Nginx
    usernames: dict[str, str]
    work: Path

    @property
    def base(self) -> str:
        return self.nginx.base

    @property
    def sms_dir(self) -> Path:
        return self.config.data_dir / "sms"

    def phone(self, voter_id: str) -> str:
        return self.kit.phones[voter_id]


@contextmanager
def stack(admin_url: str, voters: int, *, closes_in: float, finish_minutes: int = 0, grace: float = 5.0,
          group: Group = TEST_GROUP, workers: int = 2, threads: int = 4, measure: bool = False,
          argon2: tuple[int, int, int] = (1, 1024, 1), say: Say = print) -> Iterator[Stack]:
    """Build everything; the close instant is ``closes_in`` seconds from now (fixed in the manifest
    before the key ceremony, as in a real election)."""
    work = Path(tempfile.mkdtemp(prefix="sivei-carga-"))
    scratch = ScratchDatabase(admin_url)
    url = scratch.create()
    engine: Engine | None = None
    try:
        t_cost, m_cost, par = argon2
        config = ServerConfig(data_dir=work / "datos", database_url=url, cookie_secure=False, test_login=True,
                              allow_test_group=group is TEST_GROUP, close_grace_seconds=grace,
                              proxy_addresses=("127.0.0.1",), trusted_proxies=1, measure=measure,
                              extra={"buzon_desarrollo": True, "sms": f"{__name__}:SmsPorNumero",
                                     "argon2_time_cost": t_cost, "argon2_memory_kib": m_cost,
                                     "argon2_parallelism": par, "ip_limit": 1_000_000})
        # The board journal on "other storage" than the data directory (and never in the database).
        config = config.with_(receipt_key_file=default_key_file(config),
                              board_journal=work / "otro-disco" / "diario-tablero.jsonl")
        engine = make_engine(config)
        upgrade(engine)
        receipt_key = create_key_file(default_key_file(config))
        now = datetime.now(UTC)
        manifest = dataclasses.replace(sample_manifest(), logged_in_finish_minutes=finish_minutes)
        kit = build_kit(group, voters, receipt_key, opens=now - timedelta(minutes=5),
                        closes=now + timedelta(seconds=closes_in), manifest=manifest)
        try:
            usernames = seed_active_voters(engine, config, kit)
            with GunicornServer(config, workers=workers, threads=threads) as server, Nginx(server.port) as proxy:
                operator_prepare(login_operator(proxy.base, "operador"), kit)
                yield Stack(kit, config, engine, server, proxy, usernames, work)
        finally:
            kit.close()
    finally:
        if engine is not None:
            engine.dispose()
        scratch.drop()
        shutil.rmtree(work, ignore_errors=True)


def seed_active_voters(engine: Engine, config: ServerConfig, kit: ElectionKit) -> dict[str, str]:
    """The kit's voters as activated accounts (issued username, password, SMS factor) and an
    administrator; returns voter id → username. One password hash is shared (the load measures
    checking passwords, not choosing them)."""
    from sivei_server.auth import codes
    from sivei_server.auth.settings import AuthSettings
    from sivei_server.models import ROLE_ADMIN, Operator
    from sivei_server.passwords import hash_password

    settings = AuthSettings.from_config(config, env={})
    hashed = codes.hash_password(settings, PASSWORD)
    at = utcnow()
    names: dict[str, str] = {}
    with session_scope(engine) as s:
        s.add(Operator(username="operador", role=ROLE_ADMIN, password_hash=hash_password(secrets.token_hex())))
        for v in kit.roll:
            names[v.voter_id] = new_username()
            s.add(Voter(voter_id=v.voter_id, username=names[v.voter_id], entity=v.entity, email=v.email,
                        phone=kit.phones[v.voter_id], activated_at=at, password_hash=hashed, second_factor="sms"))
    return names


# -- one voter ----------------------------------------------------------------------------------------

def login(st: Stack, voter_id: str, *, timeout: float = 120, attempts: int = 3) -> Client:
    """The real login through nginx: username and password, then the SMS code; ends with the CSRF
    token of the logged-in session. A step that meets a dead worker (502, a reset connection) is
    tried again; a flow broken by a lost answer starts over (at most 3 SMS an hour per voter)."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return _login_once(st, voter_id, timeout)
        except (RuntimeError, OSError, http.client.HTTPException) as exc:
            last = exc
            time.sleep(0.5)
    raise RuntimeError(f"{voter_id}: could not log in: {last}")


def _submit(c: Client, path: str, fields: dict[str, str], tries: int = 8) -> tuple[int, str, str]:
    for attempt in range(tries):
        try:
            status, url, page = c.submit(path, fields)
        except (OSError, RuntimeError, http.client.HTTPException):  # a worker killed mid-answer
            status, url, page = 0, "", ""
        if 0 < status < 500:
            return status, url, page
        time.sleep(0.3 * (attempt + 1))
    return status, url, page


def _login_once(st: Stack, voter_id: str, timeout: float) -> Client:
    c = Client(st.base)
    digits = "".join(ch for ch in st.phone(voter_id) if ch.isdigit())
    sms_file = st.sms_dir / f"{digits}.txt"
    before = sms_file.stat().st_mtime_ns if sms_file.exists() else 0
    status, url, _ = _submit(c, "/cuenta/entrar", {"usuario": st.usernames[voter_id], "clave": PASSWORD})
    if not url.endswith("/cuenta/codigo"):
        raise RuntimeError(f"{voter_id}: login refused (HTTP {status})")
    deadline = time.monotonic() + timeout
    while not sms_file.exists() or sms_file.stat().st_mtime_ns == before:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{voter_id}: no SMS")
        time.sleep(0.02)
    code = re.search(r"\b(\d{6})\b", sms_file.read_text(encoding="utf-8"))
    assert code is not None
    status, url, _ = _submit(c, "/cuenta/codigo", {"codigo": code.group(1)})
    if urllib.parse.urlsplit(url).path != "/cuenta/":
        raise RuntimeError(f"{voter_id}: code refused (HTTP {status}, {url})")
    for attempt in range(8):
        try:
            c.fetch_csrf()
            return c
        except (OSError, ValueError):
            time.sleep(0.3 * (attempt + 1))
    raise RuntimeError(f"{voter_id}: no session page")


@dataclass
class Cast:
    voter_id: str
    status: int
    receipt: dict[str, Any] | None
    seconds: float
    tries: int
    sent_at: float


def cast(c: Client, voter_id: str, body: bytes, *, retries: int = 20, headers: dict[str, str] | None = None
         ) -> Cast:
    """Post the ballot; on a connection error or a 5xx (a killed worker or master) retry the same
    ballot in the same session, as the booth does."""
    started = time.monotonic()
    sent_at = time.time()
    status, answer = 0, None
    for attempt in range(1, retries + 1):
        try:
            status, answer = _post(c, "/api/votar", body, headers)
        except (OSError, http.client.HTTPException):  # a worker killed mid-answer: IncompleteRead
            status = 0
        if status in (200, 201) or 400 <= status < 500:
            receipt = answer.get("receipt") if isinstance(answer, dict) else None
            return Cast(voter_id, status, receipt, time.monotonic() - started, attempt, sent_at)
        time.sleep(min(0.2 * attempt, 2.0))
    return Cast(voter_id, status, None, time.monotonic() - started, retries, sent_at)


def _post(c: Client, path: str, body: bytes, headers: dict[str, str] | None) -> tuple[int, Any]:
    """POST with the session's CSRF token and ``headers``; a non-JSON answer (nginx's 502 page while
    a worker is killed) comes back as bytes, not as an exception."""
    return c.post_raw(path, body, headers=headers)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _run_all(tasks: list[Callable[[], Any]], clients: int) -> list[Any]:
    results: list[Any] = []
    lock = threading.Lock()
    queue = list(reversed(tasks))

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                task = queue.pop()
            out = task()
            with lock:
                results.append(out)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# -- scenarios ------------------------------------------------------------------------------------------------

@dataclass
class LoadFigures:
    voters: int
    clients: int
    seconds: float
    casts_per_second: float
    p50: float
    p95: float
    statuses: dict[int, int]
    server_errors: int
    killed: list[str] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    retried: int = 0


def load(st: Stack, voter_ids: list[str], *, clients: int = 8, kill_worker_after: int | None = None,
         kill_master_after: int | None = None, say: Say = print) -> LoadFigures:
    """Each voter logs in and casts once, ``clients`` voters at a time. With ``kill_*_after`` a worker
    (then the master) is killed with SIGKILL once that many ballots were answered; after the master,
    gunicorn is restarted on the same port (the orphaned workers must have freed it)."""
    bodies = {vid: st.kit.ballot(vid) for vid in voter_ids}
    done = Counter[str]()
    killed: list[str] = []
    lock = threading.Lock()

    def one(vid: str) -> Cast:
        c = login(st, vid)
        result = cast(c, vid, bodies[vid], headers=st.kit.cast_headers(vid))
        with lock:
            done["n"] += 1
            n = done["n"]
        if kill_worker_after is not None and n == kill_worker_after:
            killed.append(f"worker {st.gunicorn.kill_worker()} (SIGKILL) after {n} ballots")
        if kill_master_after is not None and n == kill_master_after:
            orphans = st.gunicorn.kill_master()
            t0 = time.monotonic()
            st.gunicorn.start()
            killed.append(f"master (SIGKILL) after {n} ballots, orphaned workers {orphans}; restarted on the same "
                          f"port in {time.monotonic() - t0:.1f} s")
        return result

    started = time.monotonic()
    tasks: list[Callable[[], Cast]] = [functools.partial(one, vid) for vid in voter_ids]
    results: list[Cast] = _run_all(tasks, clients)
    elapsed = time.monotonic() - started
    ok = [r for r in results if r.status in (200, 201)]
    statuses = Counter(r.status for r in results)
    figures = LoadFigures(len(voter_ids), clients, elapsed, len(ok) / elapsed if elapsed else 0.0,
                          percentile([r.seconds for r in ok], 50), percentile([r.seconds for r in ok], 95),
                          dict(statuses), sum(1 for r in results if r.status >= 500 or r.status == 0), killed,
                          [r.receipt for r in ok if r.receipt is not None], sum(1 for r in results if r.tries > 1))
    say(f"  carga: {len(ok)}/{len(voter_ids)} votos en {elapsed:.1f} s ({figures.casts_per_second:.1f}/s; p50 "
        f"{figures.p50:.2f} s, p95 {figures.p95:.2f} s; reintentos {figures.retried}; estados {dict(statuses)})")
    return figures


@dataclass
class RateFigures:
    voters: int
    offered_per_second: float
    login_seconds: float
    seconds: float
    casts_per_second: float
    p50: float
    p95: float
    p99: float
    worst: float
    statuses: dict[int, int]
    server_errors: int
    receipts: list[dict[str, Any]] = field(default_factory=list, repr=False)


def sustained(st: Stack, voter_ids: list[str], *, per_second: float = 25.0, clients: int = 32,
              say: Say = print) -> RateFigures:
    """The throughput goal's measurement: all ``voter_ids`` log in first (``clients`` at a time),
    so that they are all in a session at once; then they cast at ``per_second`` on average (Poisson
    arrivals, an open loop: a slow server does not slow the voters down), each request on its own
    thread. Latency is from sending to the receipt."""
    t0 = time.monotonic()
    sessions: dict[str, Client] = dict(_run_all([functools.partial(lambda v: (v, login(st, v)), vid)
                                                 for vid in voter_ids], clients))
    login_seconds = time.monotonic() - t0
    bodies = {vid: st.kit.ballot(vid) for vid in voter_ids}
    rng = random.Random(11)  # noqa: S311 - arrival times
    at, schedule = 0.0, []
    for vid in voter_ids:
        at += rng.expovariate(per_second)
        schedule.append((at, vid))
    results: list[Cast] = []
    lock = threading.Lock()

    def fire(vid: str) -> None:
        r = cast(sessions[vid], vid, bodies[vid], headers=st.kit.cast_headers(vid))
        with lock:
            results.append(r)

    threads: list[threading.Thread] = []
    start = time.monotonic() + 0.2
    for when, vid in schedule:
        delay = start + when - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=fire, args=(vid,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    ok = [r for r in results if r.status in (200, 201)]
    times = [r.seconds for r in ok]
    statuses = Counter(r.status for r in results)
    figures = RateFigures(len(voter_ids), per_second, login_seconds, elapsed, len(ok) / elapsed,
                          percentile(times, 50), percentile(times, 95), percentile(times, 99), max(times, default=0),
                          dict(statuses), sum(1 for r in results if r.status >= 500 or r.status == 0),
                          [r.receipt for r in ok if r.receipt is not None])
    say(f"  ritmo sostenido: {len(voter_ids)} votantes con sesión abierta (entraron en {login_seconds:.0f} s); "
        f"{len(ok)} votos en {elapsed:.1f} s ({figures.casts_per_second:.1f}/s ofreciendo {per_second:.0f}/s); p50 "
        f"{figures.p50:.2f} s, p95 {figures.p95:.2f} s, p99 {figures.p99:.2f} s; estados {dict(statuses)}")
    return figures


@dataclass
class RushFigures:
    on_time_sent: int
    on_time_accepted: int
    late_sent: int
    late_refused: int
    late_logged: int
    forged_refused: bool
    queue_p95: float
    receipts: list[dict[str, Any]]


def closing_rush(st: Stack, on_time: list[str], late: list[str], *, last_seconds: float = 5.0,
                 say: Say = print) -> RushFigures:
    """``on_time`` voters (logged in beforehand) cast spread over the last ``last_seconds`` before
    the close; ``late`` voters cast just after it; one late voter forges an arrival stamp from before
    the close. Waits for the board to be sealed."""
    closes = st.kit.manifest.voting_closes.timestamp()
    forger, *late = late
    sessions = {vid: login(st, vid) for vid in [*on_time, *late, forger]}
    bodies = {vid: st.kit.ballot(vid) for vid in sessions}
    lead = closes - last_seconds - time.time()
    if lead < 1:
        raise RuntimeError(f"the voters were not ready before the rush ({lead:.1f} s left)")
    time.sleep(lead)
    results: dict[str, Cast] = {}
    lock = threading.Lock()

    def fire(vid: str, at: float, headers: dict[str, str] | None = None) -> None:
        delay = at - time.time()
        if delay > 0:
            time.sleep(delay)
        r = cast(sessions[vid], vid, bodies[vid], headers={**st.kit.cast_headers(vid), **(headers or {})})
        with lock:
            results[vid] = r

    threads = []
    start = time.time()
    for i, vid in enumerate(on_time):  # every send leaves before the close instant
        at = start + (last_seconds - 0.5) * i / max(1, len(on_time))
        threads.append(threading.Thread(target=fire, args=(vid, at)))
    for i, vid in enumerate(late):
        threads.append(threading.Thread(target=fire, args=(vid, closes + 0.5 + 1.0 * i / max(1, len(late)))))
    forged = datetime.fromtimestamp(closes - 60, UTC).timestamp()
    threads.append(threading.Thread(target=fire, args=(forger, closes + 0.5),
                                    kwargs={"headers": {"X-Sivei-Llegada": f"{forged:.3f}"}}))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_sealed(st)
    on = [results[v] for v in on_time]
    refused = [results[v] for v in late if results[v].status == 409]
    with session_scope(st.engine) as s:
        logged = int(s.scalar(select(func.count()).select_from(LateBallot)) or 0)
    figures = RushFigures(len(on_time), sum(1 for r in on if r.status == 201), len(late), len(refused), logged,
                          results[forger].status == 409, percentile([r.seconds for r in on], 95),
                          [r.receipt for r in on if r.receipt is not None])
    say(f"  cierre: {figures.on_time_accepted}/{figures.on_time_sent} enviadas en los últimos {last_seconds:.0f} s "
        f"aceptadas (p95 {figures.queue_p95:.2f} s); {figures.late_refused}/{figures.late_sent} tardías rechazadas; "
        f"{logged} registradas como tardías; sello falsificado ignorado: {figures.forged_refused}")
    return figures


def wait_sealed(st: Stack, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        summary = Client(st.base).json("GET", "/api/tablero")
        if summary.get("closed"):
            return dict(summary)
        time.sleep(0.5)
    raise RuntimeError("the board was not sealed in time")


@dataclass
class AttackFigures:
    slow_clients: int
    health_checks: int
    health_failures: int
    health_p95: float
    slow_outcomes: dict[str, int]
    oversized_statuses: dict[int, int]


def slow_and_oversized(st: Stack, *, slow: int = 32, seconds: float = 12.0, direct: bool = False) -> AttackFigures:
    """``slow`` connections trickle a ballot body (one byte a second) while health checks run every
    0.2 s through nginx; then bodies larger than any ballot are posted. ``direct``: the same slow
    uploads and health checks straight at gunicorn, without the proxy (the deployment item 5 found:
    the control that shows what the proxy is for); no oversized bodies then."""
    port, base = (st.gunicorn.port, st.gunicorn.base) if direct else (st.nginx.port, st.base)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def trickle() -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=seconds + 15) as sock:
                sock.sendall(b"POST /api/votar HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 100000\r\n\r\n")
                while time.monotonic() < stop:
                    sock.sendall(b" ")
                    time.sleep(1.0)
                key = "stalled, never answered"  # the body never completed: no worker ever saw it
        except OSError as exc:
            key = type(exc).__name__
        with lock:
            outcomes[key] += 1

    threads = [threading.Thread(target=trickle) for _ in range(slow)]
    for t in threads:
        t.start()
    times: list[float] = []
    failures = 0
    while time.monotonic() < stop:
        t0 = time.monotonic()
        try:
            status, _, _ = Client(base).request("GET", "/api/salud", timeout=5)
            failures += status != 200
        except OSError:
            failures += 1
        times.append(time.monotonic() - t0)
        time.sleep(0.2)
    for t in threads:
        t.join()
    sizes = Counter[int]()
    for size in () if direct else (2 * 1024 * 1024, 8 * 1024 * 1024):
        try:
            status, _, _ = Client(st.base).request("POST", "/api/votar", b"{" + b" " * size + b"}",
                                                   "application/json", timeout=60)
        except OSError:
            status = 0
        sizes[status] += 1
    return AttackFigures(slow, len(times), failures, percentile(times, 95), dict(outcomes), dict(sizes))


# -- database restore ------------------------------------------------------------------------------------------

def pg_tool(name: str) -> str:
    """``pg_dump`` / ``pg_restore`` (Debian's wrapper, or the newest installed PostgreSQL's)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if not candidates:
        raise RuntimeError(f"{name} not found (Debian: apt-get install postgresql-client)")
    return str(candidates[-1])


def dump_database(st: Stack, to: Path) -> Path:
    """A backup of the live database (``pg_dump``, custom format), as an operator takes one."""
    subprocess.run([pg_tool("pg_dump"), "--format=custom", "--file", str(to), "--dbname",  # noqa: S603
                    str(st.config.database_url)], check=True, capture_output=True)
    return to


def restore_database(st: Stack, dump: Path) -> None:
    """Stop gunicorn and restore the database from ``dump`` (``pg_restore --clean``, one transaction)."""
    st.gunicorn.stop()
    st.engine.dispose()
    subprocess.run([pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",  # noqa: S603
                    "--dbname", str(st.config.database_url), str(dump)], check=True, capture_output=True)


def board_head(st: Stack) -> str:
    return str(Client(st.base).json("GET", "/api/tablero")["head"])


def _db_board(st: Stack) -> tuple[int, str]:
    from sivei_server.models import ChainHead

    with session_scope(st.engine) as s:
        head = s.get(ChainHead, 1)
        assert head is not None
        return head.next_index - 1, head.head


@dataclass
class RestoreFigures:
    dumped_at: int            # the board's last index in the dump
    after_dump: int           # ballots accepted after the dump (receipts handed out)
    noted: str                # the head an observer noted just before the restore
    restored_at: int          # the database's last index right after pg_restore
    head_after_restart: str   # the board's head once the workers have replayed the journal
    replay_seconds: float
    continued: int            # ballots accepted after the restart
    receipts: list[dict[str, Any]] = field(default_factory=list, repr=False)


def restore_with_journal(st: Stack, after: list[str], then: list[str], *, clients: int = 4,
                         say: Say = print) -> RestoreFigures:
    """See the module docstring; ``after`` voters cast between the dump and the restore, ``then``
    voters after the restart."""
    dump = dump_database(st, st.work / "respaldo-1.dump")
    dumped_at = _db_board(st)[0]
    before = load(st, after, clients=clients, say=lambda _: None)
    noted = board_head(st)
    restore_database(st, dump)
    restored_at = _db_board(st)[0]
    t0 = time.monotonic()
    st.gunicorn.start()  # each worker compares the database with the journal and replays
    deadline = t0 + 120
    while (head := board_head(st)) != noted:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the board did not reach the noted head after the restore (at {head})")
        time.sleep(0.2)
    replay_seconds = time.monotonic() - t0
    later = load(st, then, clients=clients, say=lambda _: None)
    figures = RestoreFigures(dumped_at, len(before.receipts), noted, restored_at, head, replay_seconds,
                             len(later.receipts), before.receipts + later.receipts)
    say(f"  restauración con diario: respaldo en el evento {dumped_at}; {figures.after_dump} boletas después; "
        f"la base restaurada quedó en el evento {restored_at}; al reiniciar, el diario repuso el tablero hasta la "
        f"cabeza anotada en {replay_seconds:.1f} s; {figures.continued} boletas más después")
    return figures


@dataclass
class LossFigures:
    after_dump: int
    noted: str
    refused_status: int        # a ballot posted after the restart, before anything is resolved
    refused_code: str
    missing: list[str]         # noted heads not on the restored board (``diario comprobar``)
    rebuild_refused: str       # the rebuild's refusal without a statement of the loss
    incident_index: int        # the published incident once the loss is stated
    continued: int             # ballots accepted after that (the lost voters may vote again)
    lost_receipts: list[dict[str, Any]] = field(default_factory=list, repr=False)
    receipts: list[dict[str, Any]] = field(default_factory=list, repr=False)


def restore_without_journal(st: Stack, after: list[str], then: list[str], *, clients: int = 4,
                            say: Say = print) -> LossFigures:
    """See the module docstring; ``after`` voters' ballots are lost; ``then`` voters cast once the
    operator has stated the loss, and the ``after`` voters vote again."""
    from sivei_server.election import ElectionError
    from sivei_server.recovery import check, rebuild

    dump = dump_database(st, st.work / "respaldo-2.dump")
    lost = load(st, after, clients=clients, say=lambda _: None)
    noted = board_head(st)
    restore_database(st, dump)
    journal = st.config.journal_path
    journal.rename(journal.with_name("diario-del-disco-perdido.jsonl"))  # the journal's disk is gone too
    st.gunicorn.start()
    vid = then[0]
    c = login(st, vid)
    status, answer = _post(c, "/api/votar", st.kit.ballot(vid), st.kit.cast_headers(vid))
    code = answer.get("error", "") if isinstance(answer, dict) else ""
    _, missing = check(st.engine, st.config, [noted])
    refused = ""
    try:
        rebuild(st.engine, st.config, [noted])
    except ElectionError as exc:
        refused = exc.code
    done = rebuild(st.engine, st.config, [noted], "Restauración de la base de datos sin su diario: se perdieron "
                   "las boletas posteriores al respaldo. Quien tenga un recibo que no aparezca, vote de nuevo.")
    later = load(st, [*then, *after], clients=clients, say=lambda _: None)
    figures = LossFigures(len(lost.receipts), noted, status, code, missing, refused, done.incident_index,
                          len(later.receipts), lost.receipts, later.receipts)
    say(f"  restauración sin diario: {figures.after_dump} boletas tras el respaldo se perdieron; al reiniciar, la "
        f"votación quedó detenida (HTTP {status} {code}); cabeza anotada ausente del tablero: {bool(missing)}; "
        f"reconstrucción sin declarar la pérdida: rechazada ({refused}); con la declaración, incidente "
        f"{done.incident_index} en el tablero; {figures.continued} boletas después (quienes perdieron la suya "
        "votaron de nuevo)")
    return figures


# -- checks ----------------------------------------------------------------------------------------------------

@dataclass
class Invariants:
    receipts: int
    rows: int
    events: int
    voted: int
    duplicates: int
    missing: list[int]
    verified: bool
    problems: list[str]
    lost_detected: dict[str, int] = field(default_factory=dict)


def invariants(st: Stack, receipts: list[dict[str, Any]], *, noted_heads: tuple[str, ...] = (),
               verify: bool = True, lost_receipts: Sequence[dict[str, Any]] = (),
               lost_heads: tuple[str, ...] = ()) -> Invariants:
    """See the module docstring. ``verify`` needs a sealed board. ``lost_receipts`` and ``lost_heads``
    (a restore that lost ballots) are checked apart: ``lost_detected`` counts the problems the
    verifier reports on them (each must fail)."""
    from sivei_server.election import check_chain, export_closed_record, loaded

    with session_scope(st.engine) as s:
        rows = int(s.scalar(select(func.count()).select_from(CastBallot)) or 0)
        events = int(s.scalar(select(func.count()).select_from(BoardEventRow)
                              .where(BoardEventRow.type == "ballot")) or 0)
        voted = int(s.scalar(select(func.count()).select_from(Voter).where(Voter.voted.is_(True))) or 0)
        distinct = int(s.scalar(select(func.count(func.distinct(CastBallot.ballot_hash)))) or 0)
        board = {r.index: r.head for r in s.scalars(select(BoardEventRow))}
        hashes = {i: h for i, h in s.execute(select(CastBallot.chain_index, CastBallot.ballot_hash)).all()}
        election = loaded(s, st.config)
    check_chain(st.engine, election)
    missing = [r["index"] for r in receipts
               if board.get(r["index"]) != r["head"] or hashes.get(r["index"]) != r["ballot_hash"]]
    problems: list[str] = []
    ok = True
    lost: dict[str, int] = {}
    if verify:
        export_closed_record(st.engine, st.config, None)
        full = complete_record(st.kit, st.config.data_dir / "registro-cerrado", st.work / "registro-completo", [1, 2])
        report = _verify(st, full, receipts, noted_heads, "recibos")
        ok = report.ok
        problems = [f"{p.check}: {p.location}: {p.message}" for p in report.problems[:20]]
        if lost_receipts or lost_heads:
            lost = _verify(st, full, list(lost_receipts), lost_heads, "recibos-perdidos").failed_checks()
    return Invariants(len(receipts), rows, events, voted, rows - distinct, missing, ok, problems, lost)


def _verify(st: Stack, record: Path, receipts: list[dict[str, Any]], heads: tuple[str, ...],
            folder: str) -> Any:
    """``sivei verificar RECORD --receipt … --expect-head …`` (the library's verifier)."""
    rdir = st.work / folder
    rdir.mkdir(exist_ok=True)
    paths = []
    for i, r in enumerate(receipts):
        p = rdir / f"recibo-{i:05d}.json"
        p.write_text(json.dumps(r), encoding="utf-8")
        paths.append(p)
    return verify_record(record, VerifyOptions(allow_test_group=True, receipts=tuple(paths), expect_heads=heads,
                                               jobs=1))


# -- the command ----------------------------------------------------------------------------------------------

def full_run(admin_url: str, *, voters: int = 1000, clients: int = 32, rush: int = 300, late: int = 50,
             per_second: float = 25.0, faults: int = 300, restored: int = 100, only_throughput: bool = False,
             say: Say = print) -> dict[str, Any]:
    """The full-size suite (``sivei servidor prueba-carga``): ``voters`` in a session at once casting
    at ``per_second``; ``faults`` voters logging in and casting while a worker and then the master are
    killed; slow and oversized uploads; a database restore with and without the board journal
    (``restored`` ballots after each backup); the closing rush (``rush`` on time, ``late`` after);
    the invariants and the verifier; hostile input. ``only_throughput``: the first part alone."""
    out: dict[str, Any] = {}
    lost_n = max(1, restored // 3)
    groups = {"crowd": voters, "faults": faults, "after": restored, "then": restored // 2, "lost": lost_n,
              "later": lost_n, "rush": rush, "late": late + 1}
    total = sum(groups.values())
    # The close instant leaves time for everything before the rush (measured on 2 cores, with room).
    closes_in = 150 + voters * 0.12 + voters / per_second + faults * 0.25 + restored * 1.0 + (rush + late) * 0.15
    with stack(admin_url, total, closes_in=closes_in, grace=60.0, argon2=(2, 19456, 1), say=say) as st:
        ids = [v.voter_id for v in st.kit.roll]
        random.Random(7).shuffle(ids)  # noqa: S311 - test order
        part: dict[str, list[str]] = {}
        k = 0
        for name, n in groups.items():
            part[name], k = ids[k:k + n], k + n
        say(f"  elección abierta: {total} votantes en el padrón; cierre en {closes_in:.0f} s")
        rate = sustained(st, part["crowd"], per_second=per_second, clients=clients, say=say)
        out["throughput"] = {k: v for k, v in dataclasses.asdict(rate).items() if k != "receipts"}
        out["throughput"]["goal_met"] = rate.casts_per_second >= 20 and rate.p95 <= 1.0 and rate.server_errors == 0
        if only_throughput:
            return out
        figures = load(st, part["faults"], clients=clients, kill_worker_after=faults // 3,
                       kill_master_after=2 * faults // 3, say=say)
        out["faults"] = {k: v for k, v in dataclasses.asdict(figures).items() if k != "receipts"}
        out["attacks"] = dataclasses.asdict(slow_and_oversized(st))
        noted = [board_head(st)]
        kept = rate.receipts + figures.receipts
        restore = restore_with_journal(st, part["after"], part["then"], clients=8, say=say)
        out["restore_with_journal"] = {k: v for k, v in dataclasses.asdict(restore).items() if k != "receipts"}
        kept += restore.receipts
        noted.append(restore.noted)
        loss = restore_without_journal(st, part["lost"], part["later"], clients=8, say=say)
        out["restore_without_journal"] = {k: v for k, v in dataclasses.asdict(loss).items()
                                          if k not in ("receipts", "lost_receipts")}
        kept += loss.receipts
        noted.append(board_head(st))
        rush_figures = closing_rush(st, part["rush"], part["late"], say=say)
        out["rush"] = {k: v for k, v in dataclasses.asdict(rush_figures).items() if k != "receipts"}
        kept += rush_figures.receipts
        inv = invariants(st, kept, noted_heads=tuple(noted), lost_receipts=loss.lost_receipts,
                         lost_heads=(loss.noted,))
        out["invariants"] = dataclasses.asdict(inv)
        out["invariants"]["replayed_voters_unmarked"] = restore.after_dump
        say(f"  invariantes: {inv.receipts} recibos, {inv.rows} filas, {inv.events} eventos, {inv.voted} votaron "
            f"({restore.after_dump} repuestos sin marca), {inv.duplicates} duplicadas, {len(inv.missing)} perdidas; "
            f"verificación: {inv.verified}; pérdida declarada detectada: {inv.lost_detected}")
    out["fuzz"] = fuzz_run(admin_url, say=say)
    return out


def fuzz_run(admin_url: str, *, examples: int = 300, say: Say = print) -> dict[str, Any]:
    from sivei_server.fuzz import fuzz

    with stack(admin_url, 6, closes_in=3600, say=say) as st:
        figures = fuzz(st, examples=examples)
    say(f"  entradas hostiles: {figures['requests']} solicitudes, {figures['4xx']} 4xx, {figures['5xx']} 5xx, "
        f"{figures['stored']} guardadas")
    return figures


def run_command(admin_url: str, voters: int, clients: int, rush: int, late: int, output: Path | None,
                per_second: float = 25.0, only_throughput: bool = False) -> int:
    started = time.monotonic()
    result = full_run(admin_url, voters=voters, clients=clients, rush=rush, late=late, per_second=per_second,
                      only_throughput=only_throughput)
    result["seconds"] = round(time.monotonic() - started, 1)
    text = json.dumps(result, indent=1, default=str)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
    print(text)
    if only_throughput:
        return 0 if result["throughput"]["server_errors"] == 0 else 1
    inv, rush_, loss = result["invariants"], result["rush"], result["restore_without_journal"]
    good = (inv["verified"] and not inv["missing"] and inv["duplicates"] == 0
            and inv["rows"] == inv["events"] == inv["voted"] + inv["replayed_voters_unmarked"]
            and inv["lost_detected"].get("receipt.chain") == loss["after_dump"]
            and inv["lost_detected"].get("board.expected-head") == 1
            and result["restore_with_journal"]["head_after_restart"] == result["restore_with_journal"]["noted"]
            and loss["refused_status"] == 503 and loss["rebuild_refused"] == "perdida"
            and result["fuzz"]["5xx"] == 0 and result["fuzz"]["stored_invalid"] == 0
            and rush_["on_time_accepted"] == rush_["on_time_sent"] and rush_["late_refused"] == rush_["late_sent"]
            and rush_["forged_refused"])
    return 0 if good else 1

