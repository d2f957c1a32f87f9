"""The observers' record checker (static/verificar/registro.html) in headless Chromium, on a real record.

A measurement, not a test (run it by hand; nothing asserts a time)::

    .venv/bin/sivei simulacro --sin-tokens --voters 1000 --challenges 0 --output /tmp/registro-1000
    .venv/bin/python -m benchmarks.registro_chromium /tmp/registro-1000 --ballots 5

The page is opened from its file (as an observer offline would), the record chosen as a folder, and
checked twice: every check but the ballots' proofs (the whole chain, rules and aggregates, the
decryption, the results, the acts), then with the proofs of ``--ballots`` chosen ballots. Reported:
wall time per stage, the renderer process's CPU time (Chrome DevTools ``Performance.getMetrics``:
``ProcessTime``), and the cost per ballot's proofs in units of one exponentiation in the record's
group with a 256-bit exponent measured in the same page (``measureExponentiation``) — the machine is
shared, so CPU time and that unit say more than the wall clock.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

PAGE = Path(__file__).resolve().parent.parent / "server" / "sivei_server" / "static" / "verificar" / "registro.html"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def _check(page: Any, cdp: Any, chosen: str, test_group: bool) -> tuple[dict[str, Any], float, float]:
    page.set_checked("#grupo-prueba", test_group)
    page.fill("#elegidas", chosen)
    before = _metrics(cdp)
    started = time.monotonic()
    page.click("#verificar")
    page.wait_for_selector("#resultado:not([hidden])", timeout=3_600_000)
    wall = time.monotonic() - started
    cpu = _metrics(cdp)["ProcessTime"] - before["ProcessTime"]
    with page.expect_download() as d:
        page.click("#descargar")
    return json.loads(Path(d.value.path()).read_text()), wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record", type=Path)
    parser.add_argument("--ballots", type=int, default=5, help="ballots whose proofs are checked in the second run")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_context(accept_downloads=True).new_page()
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(PAGE.as_uri())
        page.set_input_files("#carpeta", str(args.record))
        page.wait_for_selector("#resumen:not([hidden])", timeout=600_000)
        test_group = "sivei-test-512" in page.locator("#resumen-grupo").inner_text()
        unit_ms = page.evaluate("""(name) => globalThis.SiveiVerificar.registro.measureExponentiation(
            globalThis.SiveiVerificar.groupByName(name, {allowTestGroup: true}), 10)""",
                                "sivei-test-512" if test_group else "eg2-baseline")
        report, wall, cpu = _check(page, cdp, "", test_group)
        ballots = report["facts"]["ballots_on_board"]
        version = report["facts"]["record_version"]
        board = args.record / {1: "board.jsonl", 2: "board.bin"}[version]
        board_mb = board.stat().st_size / 1e6
        print(f"record: {args.record} (format {version}, {ballots} ballots, {board.name} {board_mb:.0f} MB), "
              f"ok={report['ok']}")
        print(f"one exponentiation (256-bit exponent) in this page: {unit_ms:.2f} ms")
        print(f"every check but the ballots' proofs: {wall:.1f} s wall, {cpu:.1f} s renderer CPU")
        for stage in report["stages"]:
            print(f"  {stage['id']:<12} {stage.get('seconds', 0):7.2f} s  {stage['status']}")
        chosen = "\n".join(f"#{i}" for i in range(1, args.ballots + 1))
        report2, wall2, cpu2 = _check(page, cdp, chosen, test_group)
        per_ballot = report2["facts"].get("seconds_per_ballot_proofs", 0.0)
        extra_cpu = (cpu2 - cpu) / max(1, report2["facts"]["ballots_proofs_checked"])
        print(f"with the proofs of {report2['facts']['ballots_proofs_checked']} ballots: {wall2:.1f} s wall, "
              f"{cpu2:.1f} s CPU; per ballot {per_ballot:.2f} s wall, ~{extra_cpu:.2f} s CPU "
              f"(= {1000 * extra_cpu / unit_ms:.0f} exponentiations)")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
