"""National scale: a drill and a record verification timed on this machine and extrapolated to
INE 2024's internet vote (122,497 ballots), each wall-time goal scaled by this machine's modexp.

Not a pytest benchmark and not run by CI (minutes to hours). It runs the real commands as child
processes and reports, for the whole process tree (coordinator and workers): CPU time, wall time,
peak resident memory (the sum over the tree, sampled every 0.5 s), the load average (1-minute, at the
start, the end and its mean over the run: wall times mean little without it on a shared machine),
the modexp time measured in the same run (4096-bit ``powmod``, 256-bit exponent, best of several
rounds, before and after), the ballots and encrypted options of the record, the board's bytes per
option, and the linear extrapolation to 122,497 ballots next to the goal scaled by (modexp ÷ 1.19 ms).

    .venv/bin/python benchmarks/national_scale.py simulacro --voters 10000 --output /tmp/p10k [--lote-bits 64]
    .venv/bin/python benchmarks/national_scale.py verificar /tmp/p10k --jobs 2 [--lote-bits 128]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sivei.crypto import cost_unit
from sivei.crypto.group import PRODUCTION_GROUP

ROOT = Path(__file__).resolve().parents[1]
SIVEI = str(Path(sys.executable).with_name("sivei"))
INE_2024 = 122_497
REFERENCE_MODEXP = 1.19e-3
GOALS = {"verificar": 30 * 60, "simulacro": 3 * 3600}


def modexp_seconds() -> float:
    return cost_unit.modexp_seconds(PRODUCTION_GROUP, bases=60, rounds=5)


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and every descendant (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def run(command: list[str]) -> dict[str, Any]:
    load_start = os.getloadavg()[0]
    before = os.times()
    start = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]
    loads: list[float] = []

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            loads.append(os.getloadavg()[0])
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.monotonic() - start
    sampler.join()
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"returncode": proc.returncode, "wall_s": wall, "cpu_s": cpu, "peak_rss_bytes": peak[0],
            "load_1min": {"start": load_start, "mean": sum(loads) / len(loads) if loads else load_start,
                          "end": os.getloadavg()[0]},
            "output_tail": out[-1500:]}


def report(kind: str, measured: dict[str, Any], shape: dict[str, int], unit: float, extra: dict[str, Any]) -> None:
    ballots = shape["ballots"]
    scale = INE_2024 / ballots
    goal = GOALS[kind] * unit / REFERENCE_MODEXP
    out = {
        "command": measured["command"], "returncode": measured["returncode"],
        "modexp_ms": round(unit * 1e3, 4), **extra,
        "ballots": ballots, "options_per_ballot": round(shape["options"] / ballots, 2),
        "board_bytes_per_option": round(shape["board_bytes"] / shape["options"], 1),
        "cpu_s": round(measured["cpu_s"], 1), "wall_s": round(measured["wall_s"], 1),
        "load_1min": {k: round(v, 2) for k, v in measured["load_1min"].items()},
        "peak_rss_mb": round(measured["peak_rss_bytes"] / 2**20, 1),
        "cpu_ms_per_ballot": round(measured["cpu_s"] / ballots * 1e3, 2),
        "cpu_modexp_per_option": round(measured["cpu_s"] / shape["options"] / unit, 3),
        f"extrapolated_wall_s_{INE_2024}": round(measured["wall_s"] * scale),
        f"goal_wall_s_{INE_2024}_scaled": round(goal),
        f"extrapolated_cpu_s_{INE_2024}": round(measured["cpu_s"] * scale),
    }
    print(json.dumps(out, indent=1, ensure_ascii=False))
    if measured["returncode"] != 0:
        print(measured["output_tail"], file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="kind", required=True)
    d = sub.add_parser("simulacro")
    d.add_argument("--voters", type=int, default=10_000)
    d.add_argument("--output", type=Path, required=True)
    d.add_argument("--lote-bits", type=int, default=64)
    d.add_argument("--jobs", type=int, default=None)
    v = sub.add_parser("verificar")
    v.add_argument("record", type=Path)
    v.add_argument("--jobs", type=int, default=2)
    v.add_argument("--lote-bits", type=int, default=128)
    args = parser.parse_args()
    unit = modexp_seconds()
    if args.kind == "simulacro":
        command = [SIVEI, "simulacro", "--voters", str(args.voters), "--sin-tokens", "--output", str(args.output),
                   "--lote-bits", str(args.lote_bits)] + (["--jobs", str(args.jobs)] if args.jobs else [])
        record = args.output
    else:
        command = [SIVEI, "verificar", str(args.record), "--jobs", str(args.jobs), "--lote-bits", str(args.lote_bits),
                   "--quiet"]
        record = args.record
    measured = run(command)
    measured["command"] = " ".join(command[1:])
    unit = min(unit, modexp_seconds())
    sys.path.insert(0, str(ROOT))
    from benchmarks.workloads import record_shape

    report(args.kind, measured, record_shape(record), unit, {"lote_bits": args.lote_bits, "jobs": args.jobs})


if __name__ == "__main__":
    main()
