"""Measure the ceremonies on this machine (by hand; not part of the test suite).

    .venv/bin/python ceremonies/scripts/measure.py --voters 10000 --dir /tmp/medicion [--test-group]

1. Five SoftHSM2 tokens (one folder each, as on five laptops) initialised with ``sivei ceremonia token``.
2. The 3-of-5 key ceremony: every key-holder step a separate ``sivei`` process (the five of a round in
   parallel), the coordinator's collection too; timed from the setup to the last conclusion.
3. A closed record of ``--voters`` ballots: credentials, ballots encrypted and signed in parallel worker
   processes (the booth's work, not measured), the board chained, the opening act signed by the five
   tokens and the closing act by three, the integrity constancia of this installation.
4. One key-holder's ``sivei ceremonia boveda descifrar``: the verification of the closed record (every
   ballot), the comparison with the coordinator's export, and the decryption share — timed as a
   separate process, with ``--jobs`` processes for the board (default: all cores).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sivei.ballot.board import EVENT_BALLOT, EVENT_CLOSE, EVENT_OPEN, BoardEvent, event_hash, genesis_head, payload_hash
from sivei.ballot.context import ElectionContext
from sivei.ballot.credentials import credential_public_key, credential_seed, issue_credentials, synthetic_roll
from sivei.ballot.encrypt import EncryptedBallot, encrypt_ballot, new_ballot_nonce, sign_ballot
from sivei.ballot.manifest import sample_manifest
from sivei.crypto.ecdsa import SoftwareSigner
from sivei.crypto.group import PRODUCTION_GROUP, TEST_GROUP
from sivei.custody import SoftHsmEnvironment, open_token
from sivei.drill import context_from_ceremony
from sivei.integrity import installation_constancia
from sivei.record import layout
from sivei.record.acts import SignedAct, closing_act
from sivei.record.ceremony_io import parse_ceremony
from sivei.record.writer import write_closed_record
from sivei.tally.aggregate import aggregate

SIVEI = str(Path(sys.executable).with_name("sivei"))
N, T = 5, 3
_ctx: ElectionContext | None = None


def _pin(i: int) -> str:
    return f"pin-medicion-{i}"


def _env(hsm: SoftHsmEnvironment, i: int) -> dict[str, str]:
    env = hsm.environ()
    env["SIVEI_PIN"] = _pin(i)
    env["SIVEI_SO_PIN"] = "so-pin-medicion"
    return env


def _run_parallel(calls: Sequence[tuple[dict[str, str], list[str]]], cwd: Path) -> list[str]:
    procs = [subprocess.Popen([SIVEI, *args], env=env, cwd=cwd, stdout=subprocess.PIPE,  # noqa: S603 - our CLI
                              stderr=subprocess.PIPE, text=True) for env, args in calls]
    outs = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"failed ({proc.returncode}): {proc.args!r}\n{out}\n{err}")
        outs.append(out)
    return outs


def _worker_init(ctx: ElectionContext) -> None:
    global _ctx
    _ctx = ctx


def _encrypt(job: tuple[str, dict[str, str], str]) -> EncryptedBallot:
    assert _ctx is not None
    style, choices, credential = job
    election_id = _ctx.manifest.election_id
    ballot = encrypt_ballot(_ctx, style, choices, credential_public_key(election_id, credential), new_ballot_nonce())
    return sign_ballot(_ctx, ballot, credential_seed(election_id, credential))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voters", type=int, default=10000)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--test-group", action="store_true")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--jobs", type=int, default=None, help="--jobs for the key-holder's verification")
    args = parser.parse_args(argv)
    group = TEST_GROUP if args.test_group else PRODUCTION_GROUP
    tg = ["--test-group"] if args.test_group else []
    base: Path = args.dir
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    hsm = {i: SoftHsmEnvironment(base / "softhsm" / f"custodio-{i}") for i in range(1, N + 1)}
    figures: dict[str, Any] = {"group": group.name, "voters": args.voters, "cpus": os.cpu_count()}

    # 1-2. Tokens and the key ceremony, each key-holder step its own process.
    _run_parallel([(_env(hsm[i], i), ["ceremonia", "token", "inicializar", "--token", f"custodio-{i}"])
                   for i in range(1, N + 1)], base)
    exchange = base / "intercambio"
    started = time.monotonic()
    _run_parallel([(_env(hsm[1], 1), ["ceremonia", "llaves", "preparar", "--intercambio", str(exchange),
                                      "--manifiesto", str(Path(__file__).resolve().parents[2] / "src" / "sivei" /
                                                          "data" / "sample-manifest.json"),
                                      "--id", "medicion-llaves-1", *tg])], base)
    for rnd in range(6):
        _run_parallel([(_env(hsm[i], i), ["ceremonia", "llaves", "paso", "--intercambio", str(exchange), "--carpeta",
                                          str(base / f"privado-{i}"), "--custodio", str(i), "--token",
                                          f"custodio-{i}", "--ronda", str(rnd), *tg]) for i in range(1, N + 1)], base)
        if rnd < 5:
            _run_parallel([(_env(hsm[1], 1), ["ceremonia", "llaves", "recoger", "--intercambio", str(exchange), *tg])],
                          base)
    figures["key_ceremony_seconds"] = round(time.monotonic() - started, 1)
    print(f"key ceremony 3 of 5 ({group.name}), separate processes: {figures['key_ceremony_seconds']} s", flush=True)

    # 3. The closed record.
    manifest = sample_manifest()
    roll = synthetic_roll(manifest, args.voters, seed=1)
    issued = issue_credentials(manifest, roll, SoftwareSigner(), retain=True)
    ceremony_id, n, t, rounds = parse_ceremony(json.loads((exchange / layout.CEREMONY).read_text()))
    ctx, outcome = context_from_ceremony(group, manifest, ceremony_id, n, t, rounds, issued.credential_list)
    rng = random.Random(3)  # noqa: S311 - simulated voters' choices, not a secret
    jobs = []
    credentials = {d.voter_id: d.credential for d in issued.deliveries}
    for voter in roll:
        style = manifest.style_for_entity(voter.entity)
        choice = {c.id: rng.choice(c.options).id for _, c in manifest.style_contests(style.id)}
        jobs.append((style.id, choice, credentials[voter.voter_id]))
    started = time.monotonic()
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn"), initializer=_worker_init,
                             initargs=(ctx,)) as pool:
        ballots = list(pool.map(_encrypt, jobs, chunksize=50))
    figures["ballot_generation_seconds"] = round(time.monotonic() - started, 1)
    print(f"{len(ballots)} ballots encrypted and signed in {figures['ballot_generation_seconds']} s", flush=True)
    events = [BoardEvent(0, EVENT_OPEN, genesis_head(ctx.election_hash), payload={})]
    for ballot in ballots:
        index = len(events)
        events.append(BoardEvent(index, EVENT_BALLOT, event_hash(ctx.election_hash, events[-1].head, index,
                                                                 EVENT_BALLOT, ballot.ballot_hash(ctx)), ballot))
    close = {"cast": len(ballots), "late": 0}
    events.append(BoardEvent(len(events), EVENT_CLOSE, event_hash(ctx.election_hash, events[-1].head, len(events),
                                                                  EVENT_CLOSE, payload_hash(close)), payload=close))
    tally = aggregate(ctx, ballots)
    constancia = installation_constancia()
    from sivei.record.acts import opening_act

    opening = opening_act(ctx, credential_list=issued.credential_list, ceremony_id=ceremony_id, n=n, t=t,
                          rounds=rounds, signing_keys=outcome.signing_keys,
                          receipt_key=SoftwareSigner().public_key, integrity_digest=constancia.digest)
    closing: SignedAct = closing_act(ctx, closed_at=manifest.to_json()["voting_closes"], close_event=events[-1],
                                     late=0, encrypted_tally_hash=tally.hash(ctx))
    for i in range(1, N + 1):
        with hsm[i], open_token(f"custodio-{i}", _pin(i)) as session:
            opening = opening.signed_by(session.signer(), f"guardian-{i}")
            if i <= T:
                closing = closing.signed_by(session.signer(), f"guardian-{i}")
    closed = base / "registro-cerrado"
    write_closed_record(closed, ctx, ceremony_id=ceremony_id, n=n, t=t, rounds=rounds,
                        credential_list=issued.credential_list, events=events, tally=tally, opening=opening,
                        closing=closing, constancia=constancia)
    figures["board_megabytes"] = round((closed / layout.board_name(layout.VERSION)).stat().st_size / 1e6, 1)

    # 4. The vault opening: the coordinator's export, then one key-holder's check and share.
    export = base / "boveda.json"
    _run_parallel([(_env(hsm[1], 1), ["ceremonia", "boveda", "exportar", "--registro", str(closed), "--apertura",
                                      "medicion-boveda-1", "--salida", str(export), *tg])], base)
    jobs_arg = ["--jobs", str(args.jobs)] if args.jobs else []
    started = time.monotonic()
    out = _run_parallel([(_env(hsm[2], 2), ["ceremonia", "boveda", "descifrar", "--registro", str(closed),
                                            "--exportacion", str(export), "--carpeta", str(base / "privado-2"),
                                            "--custodio", "2", "--token", "custodio-2", "--salida",
                                            str(base / "parte-2.json"), *tg, *jobs_arg])], base)[0]
    figures["keyholder_decrypt_seconds"] = round(time.monotonic() - started, 1)
    for line in out.splitlines():
        if "verificado en" in line or "descifrados parciales" in line:
            print(line.strip(), flush=True)
    print(f"key-holder's whole command (check of the closed record + share): {figures['keyholder_decrypt_seconds']} s")
    print(json.dumps(figures, indent=1))
    (base / "cifras.json").write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
