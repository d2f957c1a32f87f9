"""The voter's pages on a slow link with a slow CPU, in headless Chromium, production group.

A measurement, not a test (run it by hand; nothing asserts a time)::

    SIVEI_TEST_POSTGRES_URL="$(bash .ci/postgres.sh)" .venv/bin/python -m benchmarks.slow_link

The real stack on loopback — nginx with the shipped proxy settings, gunicorn, PostgreSQL, an open
election in the 4096-bit production group, activated voters — and Debian's Chromium driven by
Playwright, with:

* the network emulated by the Chrome DevTools Protocol (``Network.emulateNetworkConditions``): a
  2,000 ms round trip per request and 50 KB/s each way, on the page and (``Target.setAutoAttach``)
  on its workers;
* a CPU 4× slower. ``Emulation.setCPUThrottlingRate`` slows only a page's main thread (Chromium's
  throttler interrupts that one thread) and Chromium refuses it on worker targets ("Operation is
  only supported for pages, not workers"), so by default (``--cpu proceso``) the renderer
  processes are duty-cycled instead — running 1/4 of the time (SIGSTOP/SIGCONT every 20 ms) — which
  slows every thread of the page, its encryption worker included; ``--cpu cdp`` uses the DevTools
  throttle (main thread only) for comparison.

Two figures, each from a cold cache:

1. **login pages, in all**: the login page, username and password → the code page, the SMS code →
   the account page (each step until its ``load`` event; the form filling itself takes no time);
2. **booth ready to vote**: the credential authority's link ``/votar#credencial=…`` opened in the
   logged-in browser (cache emptied) until the ballot is on screen with the credential read; also
   when the first text was on screen, and when the encryption worker was ready.

Measured on the 2-core development machine (defaults: 2,000 ms, 50 KB/s, 4×, ``--cpu proceso``):

=====================  ===========================  ==========================================
                       before (41 requests, 220 kB)  after (7 requests, 81 kB)
=====================  ===========================  ==========================================
login pages, in all    16.9 s                       12.9 s (3 pages: 2 round trips each, a POST
                                                    and its redirect, + the style sheets once)
booth ready to vote    27.8 s                       5.8–6.1 s (worker ready at the same time)
=====================  ===========================  ==========================================
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sivei.ballot.credentials import voting_link

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def renderer_pids(ancestor: int) -> list[int]:
    """Chromium's renderer processes descending from ``ancestor`` (this process: never another
    program's browser on a shared machine), found by their command line."""
    parent: dict[int, int] = {}
    renderers = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if b"--type=renderer" in f.read():
                    renderers.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue

    def descends(pid: int) -> bool:
        for _ in range(64):
            if pid == ancestor:
                return True
            if pid not in parent or pid <= 1:
                return False
            pid = parent[pid]
        return False

    return [pid for pid in renderers if descends(pid)]


class DutyCycle:
    """Run Chromium's renderer processes 1/rate of the time: every thread (the page's and its
    workers') gets a CPU ``rate`` times slower. SIGSTOP/SIGCONT in periods of ``period`` seconds."""

    def __init__(self, rate: float, period: float = 0.02) -> None:
        self.rate, self.period = rate, period
        self.stopped: set[int] = set()
        self._run = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._run = True
        self._thread = threading.Thread(target=self._loop, name="duty-cycle", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        on = self.period / self.rate
        pids: list[int] = []
        refreshed = 0.0
        while self._run:
            if time.monotonic() - refreshed > 0.2:
                pids = renderer_pids(os.getpid())
                refreshed = time.monotonic()
            self._signal(pids, signal.SIGCONT)
            time.sleep(on)
            if not self._run:
                break
            self._signal(pids, signal.SIGSTOP)
            time.sleep(self.period - on)
        self._signal(list(self.stopped), signal.SIGCONT)

    def _signal(self, pids: list[int], sig: signal.Signals) -> None:
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
            if sig == signal.SIGSTOP:
                self.stopped.add(pid)
            else:
                self.stopped.discard(pid)

    def stop(self) -> None:
        self._run = False
        if self._thread is not None:
            self._thread.join(timeout=5)


def throttle(context: Any, page: Any, *, rtt_ms: float, kbps: float, cpu: float, cpu_mode: str) -> list[str]:
    """Network conditions on the page and on every worker it starts; CPU throttle per ``cpu_mode``.
    Returns a list the worker sessions' answers are appended to (to see what applied)."""
    cdp = context.new_cdp_session(page)
    bytes_per_s = kbps * 1000
    conditions = {"offline": False, "latency": rtt_ms, "downloadThroughput": bytes_per_s,
                  "uploadThroughput": bytes_per_s}
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", conditions)
    if cpu_mode == "cdp":
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    answers: list[str] = []

    def attached(event: dict[str, Any]) -> None:
        session = event["sessionId"]
        calls = [("Network.enable", {}), ("Network.emulateNetworkConditions", conditions)]
        if cpu_mode == "cdp":
            calls.append(("Emulation.setCPUThrottlingRate", {"rate": cpu}))  # refused by Chromium 156
        calls.append(("Runtime.runIfWaitingForDebugger", {}))
        for n, (method, params) in enumerate(calls):
            try:
                cdp.send("Target.sendMessageToTarget", {"sessionId": session, "message": json.dumps(
                    {"id": 90_000 + n, "method": method, "params": params})})
            except Exception as exc:  # a worker gone already: noted, not fatal
                answers.append(f"{method}: {exc}")

    cdp.on("Target.attachedToTarget", attached)
    cdp.on("Target.receivedMessageFromTarget", lambda event: answers.append(event["message"][:160]))
    cdp.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": False})
    return answers


def sms_code(sms_file: Path, before: int, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while not sms_file.exists() or sms_file.stat().st_mtime_ns == before:
        if time.monotonic() > deadline:
            raise RuntimeError("no SMS")
        time.sleep(0.05)
    found = re.search(r"\b(\d{6})\b", sms_file.read_text(encoding="utf-8"))
    assert found is not None
    return found.group(1)


def run(admin_url: str, *, rtt_ms: float, kbps: float, cpu: float, cpu_mode: str, say: Any = print) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from sivei.crypto.group import PRODUCTION_GROUP
    from sivei_server.carga import PASSWORD, stack

    figures: dict[str, Any] = {"rtt_ms": rtt_ms, "kbps": kbps, "cpu": cpu, "cpu_mode": cpu_mode}
    say("building the election (production group) and starting nginx + gunicorn + PostgreSQL…")
    with stack(admin_url, 2, closes_in=3600, group=PRODUCTION_GROUP, workers=1, threads=4, say=say) as st, \
            sync_playwright() as p:
        voter = st.kit.roll[0]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        duty = DutyCycle(cpu) if cpu_mode == "proceso" else None
        try:
            context = browser.new_context(viewport={"width": 390, "height": 844})
            page = context.new_page()
            answers = throttle(context, page, rtt_ms=rtt_ms, kbps=kbps, cpu=cpu, cpu_mode=cpu_mode)
            if duty is not None:
                duty.start()
            # 1. login pages
            steps: list[tuple[str, float]] = []
            t0 = time.monotonic()
            page.goto(st.base + "/cuenta/entrar", wait_until="load", timeout=300_000)
            steps.append(("entrar", time.monotonic() - t0))
            digits = "".join(ch for ch in st.phone(voter.voter_id) if ch.isdigit())
            sms_file = st.sms_dir / f"{digits}.txt"
            before = sms_file.stat().st_mtime_ns if sms_file.exists() else 0
            page.fill("#usuario", st.usernames[voter.voter_id])
            page.fill("#clave", PASSWORD)
            t1 = time.monotonic()
            with page.expect_navigation(url=re.compile(r"/cuenta/codigo"), wait_until="load", timeout=300_000):
                page.locator("form.formulario button[type=submit]").click()
            steps.append(("usuario y contraseña → código", time.monotonic() - t1))
            page.fill("#codigo", sms_code(sms_file, before))
            t2 = time.monotonic()
            with page.expect_navigation(url=re.compile(r"/cuenta/$"), wait_until="load", timeout=300_000):
                page.locator("form.formulario button[type=submit]").first.click()
            steps.append(("código → cuenta", time.monotonic() - t2))
            figures["login_steps_s"] = {name: round(s, 2) for name, s in steps}
            figures["login_total_s"] = round(sum(s for _, s in steps), 2)
            say(f"login pages, in all: {figures['login_total_s']:.1f} s {figures['login_steps_s']}")

            # 2. the booth from the credential authority's link, cache emptied
            cdp = context.new_cdp_session(page)
            cdp.send("Network.clearBrowserCache")
            link = voting_link(st.base, st.kit.deliveries[voter.voter_id].credential)
            page.evaluate("() => { window.__t0 = performance.now(); }")
            t3 = time.monotonic()
            page.goto(link, wait_until="commit", timeout=300_000)
            page.wait_for_function("() => { const s = document.querySelector('.cabina'); "
                                   "return s && s.innerText.trim().length > 0; }", timeout=300_000, polling=50)
            figures["booth_first_text_s"] = round(time.monotonic() - t3, 2)
            page.wait_for_selector("#p-boleta:not([hidden])", timeout=300_000)
            figures["booth_ready_s"] = round(time.monotonic() - t3, 2)
            shown_ms = page.evaluate("() => performance.now()")
            # The worker checks the context and builds its tables while the voter marks the ballot.
            page.wait_for_function("() => window.__siveiWorkerReadyMs !== undefined", timeout=300_000, polling=50)
            worker_ms = page.evaluate("() => window.__siveiWorkerReadyMs")
            figures["booth_worker_ready_s"] = round(figures["booth_ready_s"] + (worker_ms - shown_ms) / 1000, 2)
            resources = page.evaluate("() => performance.getEntriesByType('resource').map(r => "
                                      "[r.name.replace(location.origin, ''), r.transferSize, r.encodedBodySize])")
            nav = page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0]; "
                                "return [n.transferSize, n.encodedBodySize]; }")
            figures["booth_requests"] = 1 + len(resources)
            figures["booth_bytes"] = nav[0] + sum(r[1] for r in resources)
            figures["booth_resources"] = [[n, t] for n, t, _ in resources]
            figures["worker_sessions"] = [a for a in answers if "error" in a][:4]
            say(f"booth: first text {figures['booth_first_text_s']:.1f} s, ready to vote "
                f"{figures['booth_ready_s']:.1f} s (encryption worker ready {figures['booth_worker_ready_s']:.1f} s); "
                f"{figures['booth_requests']} requests, "
                f"{figures['booth_bytes'] / 1000:.0f} kB transferred")
        finally:
            if duty is not None:
                duty.stop()
            browser.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("SIVEI_TEST_POSTGRES_URL"),
                        help="PostgreSQL administrator URL (default: $SIVEI_TEST_POSTGRES_URL)")
    parser.add_argument("--rtt", type=float, default=2000, help="round trip per request, ms (2000)")
    parser.add_argument("--kbps", type=float, default=50, help="throughput each way, kB/s (50)")
    parser.add_argument("--cpu", type=float, default=4, help="CPU slow-down factor (4)")
    parser.add_argument("--cpu-mode", choices=("proceso", "cdp"), default="proceso")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("no PostgreSQL: set SIVEI_TEST_POSTGRES_URL (bash .ci/postgres.sh) or --database-url")
    figures = run(args.database_url, rtt_ms=args.rtt, kbps=args.kbps, cpu=args.cpu, cpu_mode=args.cpu_mode)
    text = json.dumps(figures, indent=1, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
