"""SIVEI next to ElectionGuard 1.4 on the same 18-option ballot (3 contests of 4, 6 and 8 options).

Not a pytest benchmark and not run by CI: it installs ``electionguard==1.4.0`` from PyPI into its own
Python 3.10 virtual environment (ElectionGuard 1.4 does not import on 3.11), times it there, times
SIVEI here, and prints CPU times per ballot, each also in units of one 4096-bit ``powmod`` with a
256-bit exponent measured in the same process, and the ratios. Both use 4096-bit groups with 256-bit
q and gmpy2.

    .venv/bin/python benchmarks/eg_compare.py [--ballots 20] [--batch 200] [--eg-venv DIR]

Measured: encryption (EG ``encrypt_ballot`` without self-check; SIVEI encryption, proofs and the
credential's signature, tables built), and validation from JSON text (EG ``from_raw`` +
``ballot_is_valid_for_election``; SIVEI a ballot alone as at casting — parse with ranges only, then
the membership of its α and β and its proofs in one batch — and ballots in a verifier's batch of
``--batch``).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EG_VERSION = "1.4.0"

EG_WORKER = r'''
import json, secrets, sys, time
from datetime import datetime
import gmpy2
from electionguard.ballot import PlaintextBallot, PlaintextBallotContest, PlaintextBallotSelection, CiphertextBallot
from electionguard.ballot_validator import ballot_is_valid_for_election
from electionguard.constants import get_large_prime
from electionguard.election import make_ciphertext_election_context
from electionguard.elgamal import elgamal_keypair_from_secret
from electionguard.encrypt import EncryptionDevice, encrypt_ballot, generate_device_uuid
from electionguard.group import ElementModQ, rand_q, int_to_q
from electionguard.manifest import (BallotStyle, Candidate, CandidateContestDescription, ElectionType,
    GeopoliticalUnit, InternalManifest, Manifest, ReportingUnitType, SelectionDescription, SpecVersion,
    VoteVariationType)
from electionguard.serialize import from_raw, to_raw

ballots, sizes = int(sys.argv[1]), (4, 6, 8)
candidates, contests = [], []
for ci, n in enumerate(sizes):
    sels = []
    for oi in range(n):
        cid = f"c{ci}-o{oi}"
        candidates.append(Candidate(cid))
        sels.append(SelectionDescription(f"{cid}-sel", oi, cid))
    contests.append(CandidateContestDescription(f"c{ci}", ci, "unit", VoteVariationType.one_of_m, 1, 1,
                                                f"contest {ci}", sels))
manifest = Manifest("eg-shape", SpecVersion.EG0_95, ElectionType.general, datetime(2027, 6, 6),
                    datetime(2027, 6, 7), [GeopoliticalUnit("unit", "unit", ReportingUnitType.state)], [],
                    candidates, contests, [BallotStyle("style", ["unit"])])
internal = InternalManifest(manifest)
keypair = elgamal_keypair_from_secret(int_to_q(secrets.randbelow(2**255) + 2))
context = make_ciphertext_election_context(5, 3, keypair.public_key, rand_q(), manifest.crypto_hash())
device = EncryptionDevice(generate_device_uuid(), 12345, 67890, "polling-place")
seed = device.get_hash()

def plaintext(i):
    return PlaintextBallot(f"b{i}", "style", [PlaintextBallotContest(c.object_id, [
        PlaintextBallotSelection(c.ballot_selections[i % len(c.ballot_selections)].object_id, 1, False)])
        for c in contests])

p = get_large_prime()
xs = [gmpy2.mpz(secrets.randbelow(p)) for _ in range(40)]
es = [gmpy2.mpz(secrets.randbits(256)) for _ in range(40)]
def unit():
    t = time.process_time()
    for x, e in zip(xs, es):
        gmpy2.powmod(x, e, p)
    return (time.process_time() - t) / len(xs)
u = min(unit() for _ in range(3))
enc, val, texts = [], [], []
for i in range(ballots):
    t = time.process_time()
    ct = encrypt_ballot(plaintext(i), internal, context, seed, should_verify_proofs=False)
    enc.append(time.process_time() - t)
    texts.append(json.dumps(to_raw(ct)) if not isinstance(to_raw(ct), str) else to_raw(ct))
for text in texts:
    t = time.process_time()
    parsed = from_raw(CiphertextBallot, text)
    ok = ballot_is_valid_for_election(parsed, internal, context, True)
    val.append(time.process_time() - t)
    assert ok
u = min(u, unit())
print(json.dumps({"modexp_s": u, "encrypt_s": sorted(enc), "validate_s": sorted(val),
                  "ballot_json_bytes": len(texts[0]), "options": sum(sizes)}))
'''


def find_python310() -> str:
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python3.10")))
    candidates += [p for p in ("/usr/bin/python3.10", "/usr/local/bin/python3.10") if os.path.exists(p)]
    if not candidates:
        sys.exit("Python 3.10 not found (pyenv's ~/.pyenv/versions/3.10.*): ElectionGuard 1.4 needs it")
    return candidates[-1]


def eg_venv(directory: Path) -> Path:
    python = directory / "bin" / "python"
    if not python.exists():
        subprocess.run([find_python310(), "-m", "venv", str(directory)], check=True)
    check = subprocess.run([str(python), "-c", "import electionguard"], capture_output=True)
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"electionguard=={EG_VERSION}"], check=True)
    return python


def run_electionguard(python: Path, ballots: int) -> dict[str, Any]:
    out = subprocess.run([str(python), "-c", EG_WORKER, str(ballots)], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run_sivei(ballots: int, batch: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from benchmarks import workloads as w
    from benchmarks.manifests import eg_shape
    from sivei.crypto.group import PRODUCTION_GROUP

    election = w.open_election(PRODUCTION_GROUP, eg_shape())
    w.warm_tables(election)
    u = w.modexp_seconds()
    enc, val = [], []
    texts = []
    for i in range(ballots):
        t = time.process_time()
        ballot = w.encrypt_and_sign(election, w.voter(i), w.varied_choices(election.shape, i), w.ballot_nonce(i))
        enc.append(time.process_time() - t)
        texts.append(w.ballot_json_bytes(election, ballot))
    for data in texts:
        t = time.process_time()
        problems = w.cast_intake(election, data)
        val.append(time.process_time() - t)
        assert problems == []
    many = [w.ballot_json_bytes(election, b) for b in w.cast_many(election, batch)]
    t = time.process_time()
    verdicts = w.verify_batch(election, many)
    batched = (time.process_time() - t) / batch
    assert all(not v.problems for v in verdicts)
    return {"modexp_s": min(u, w.modexp_seconds()), "encrypt_s": sorted(enc), "validate_s": sorted(val),
            "batched_validate_s": batched, "ballot_json_bytes": len(texts[0]), "options": election.shape.options}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ballots", type=int, default=20, help="ballots encrypted and validated one by one")
    parser.add_argument("--batch", type=int, default=200, help="ballots in the verifier's batch")
    parser.add_argument("--eg-venv", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser()
                        / "sivei-electionguard-1.4", help="virtual environment for ElectionGuard 1.4")
    args = parser.parse_args()
    eg = run_electionguard(eg_venv(args.eg_venv), args.ballots)
    sv = run_sivei(args.ballots, args.batch)

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    rows = [
        ("encrypt (booth)", med(eg["encrypt_s"]), eg["modexp_s"], med(sv["encrypt_s"]), sv["modexp_s"]),
        ("parse + validate, one ballot (casting)", med(eg["validate_s"]), eg["modexp_s"], med(sv["validate_s"]),
         sv["modexp_s"]),
        (f"parse + validate, batch of {args.batch} (verifier)", med(eg["validate_s"]), eg["modexp_s"],
         sv["batched_validate_s"], sv["modexp_s"]),
    ]
    print(f"18-option ballot (4/6/8), CPU per ballot, median of {args.ballots}; modexp = 4096-bit powmod, "
          f"256-bit exponent (EG process {eg['modexp_s'] * 1e3:.3f} ms, SIVEI {sv['modexp_s'] * 1e3:.3f} ms)")
    print(f"{'':44} {'ElectionGuard 1.4':>24} {'SIVEI':>24} {'ratio':>8}")
    for name, eg_t, eg_u, sv_t, sv_u in rows:
        ratio = (eg_t / eg_u) / (sv_t / sv_u)
        print(f"{name:44} {eg_t * 1e3:9.1f} ms {eg_t / eg_u:7.1f} modexp "
              f"{sv_t * 1e3:9.1f} ms {sv_t / sv_u:7.1f} modexp {ratio:7.1f}×")
    print(f"ballot JSON: ElectionGuard {eg['ballot_json_bytes']:,} bytes, SIVEI {sv['ballot_json_bytes']:,} bytes")


if __name__ == "__main__":
    main()
