"""``sivei corroborar FILE`` (aliases ``impugnada``, the old name, and ``check-challenge``): check
offline a ballot the voter chose to verify ("verificar / corroborar esta boleta") instead of casting.

The voter's device reveals a challenged ballot (choices and ballot nonce) as a JSON file; this
command rebuilds the encryption from the election's public files and says whether the device
encrypted exactly what the voter chose. Nothing is sent anywhere.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sivei.ballot.challenge import ChallengedBallot, check_challenge
from sivei.crypto.fingerprint import fingerprint
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei.record.context import load_election_context


def run(args: argparse.Namespace) -> int:
    ctx = load_election_context(Path(args.election), allow_test_group=args.test_group)
    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SiveiError(tr(f"no se puede leer la boleta para verificar {args.file}: {exc}",
                            f"cannot read the challenged ballot {args.file}: {exc}")) from exc
    challenged = ChallengedBallot.from_json(ctx, data)
    print(tr(f"Elección: {ctx.manifest.name} (huella {fingerprint(ctx.election_hash)})",
             f"Election: {ctx.manifest.name} (fingerprint {fingerprint(ctx.election_hash)})"))
    print(tr(f"Código de seguimiento: {challenged.ballot.tracking_code(ctx)}",
             f"Tracking code: {challenged.ballot.tracking_code(ctx)}"))
    for _, contest in ctx.manifest.style_contests(challenged.ballot.style):
        chosen = challenged.choices.get(contest.id)
        option = contest.options[contest.option_index(chosen) if chosen else contest.null_option_index]
        print(f"  {contest.title}: {option.label}")
    problems = check_challenge(ctx, challenged)
    for p in problems:
        print(f"  ✗ {p}")
    if problems:
        print(tr("RESULTADO: el cifrado NO corresponde a estas opciones. No use ese dispositivo para votar.",
                 "RESULT: the encryption does NOT match these choices. Do not vote with that device."))
        return 1
    print(tr("RESULTADO: el cifrado corresponde exactamente a estas opciones.",
             "RESULT: the encryption matches exactly these choices."))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("corroborar", aliases=["impugnada", "check-challenge"],
                       help=tr("corroborar sin conexión una boleta que el votante eligió verificar",
                               "check offline a ballot the voter chose to verify"))
    p.add_argument("file", metavar=tr("ARCHIVO", "FILE"),
                   help=tr("la boleta para verificar (JSON, descargada de la cabina)",
                           "the ballot to verify (JSON, downloaded from the booth)"))
    p.add_argument("--eleccion", "--election", dest="election", required=True,
                   help=tr("directorio con los archivos públicos de la elección",
                           "directory with the election's public files"))
    p.add_argument("--test-group", action="store_true",
                   help=tr("aceptar el grupo de prueba (solo para pruebas)", "accept the test group (tests only)"))
    p.set_defaults(func=run)
