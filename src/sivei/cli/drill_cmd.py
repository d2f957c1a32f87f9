"""``sivei simulacro`` (alias ``drill``): a complete mock election on embedded defaults."""

from __future__ import annotations

import argparse
from pathlib import Path

from sivei.ballot.manifest import load_manifest
from sivei.cli.verify_cmd import lote_bits_argument
from sivei.crypto.group import PRODUCTION_GROUP, TEST_GROUP
from sivei.drill import DrillOptions, default_say, run_drill
from sivei.errors import SiveiError
from sivei.i18n import language, tr
from sivei.record.verify import VerifyOptions, verify_record
from sivei.tally.results import format_results


def run_http(args: argparse.Namespace) -> int:
    """``--http``: the drill through the voting server's real endpoints (the server package, when
    installed, provides it; the library does not depend on the server)."""
    import importlib

    try:
        simulacro = importlib.import_module("sivei_server.simulacro")
    except ModuleNotFoundError as exc:
        raise SiveiError(tr("--http necesita el servidor de votación (paquete sivei_server)",
                            "--http needs the voting server (package sivei_server)")) from exc
    group = TEST_GROUP if args.test_group else PRODUCTION_GROUP
    options = simulacro.HttpDrillOptions(group=group, voters=args.voters, guardians=args.guardians,
                                         threshold=args.threshold, output=Path(args.output),
                                         tokens=not args.no_tokens, seed=args.seed)
    try:
        simulacro.run_http_drill(options, default_say)
    except RuntimeError as exc:
        raise SiveiError(str(exc)) from exc
    return 0


def run(args: argparse.Namespace) -> int:
    if args.http:
        return run_http(args)
    group = TEST_GROUP if args.test_group else PRODUCTION_GROUP
    options = DrillOptions(
        group=group, voters=args.voters, guardians=args.guardians, threshold=args.threshold,
        absent=tuple(args.absent) if args.absent is not None else None, challenges=args.challenges,
        vote_script=Path(args.votes) if args.votes else None,
        manifest=load_manifest(Path(args.manifest)) if args.manifest else None,
        output=Path(args.output), seed=args.seed, tokens=not args.no_tokens, lote_bits=args.lote_bits,
        jobs=args.jobs,
    )
    outcome = run_drill(options, default_say)
    print()
    print(format_results(outcome.ctx.manifest, outcome.results, language()))
    print()
    print(tr("8. Verificación independiente del registro (sivei verificar):",
             "8. Independent verification of the record (sivei verify):"))
    report = verify_record(outcome.record, VerifyOptions(allow_test_group=args.test_group,
                                                         expect_heads=(outcome.head.hex(),),
                                                         lote_bits=args.lote_bits, jobs=args.jobs))
    print(report.format_text())
    return 0 if report.ok else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("simulacro", aliases=["drill"],
                       help=tr("simulacro completo de una elección", "complete mock election"))
    p.add_argument("--voters", type=int, default=200, help=tr("número de votantes", "number of voters"))
    p.add_argument("--guardians", type=int, default=5, help=tr("custodios (n)", "guardians (n)"))
    p.add_argument("--threshold", type=int, default=3, help=tr("umbral (t)", "threshold (t)"))
    p.add_argument("--absent", type=int, nargs="*", default=None,
                   help=tr("custodios ausentes en el cómputo (por omisión los últimos n−t)",
                           "guardians absent at the count (default: the last n−t)"))
    p.add_argument("--challenges", type=int, default=3,
                   help=tr("votantes que impugnan una boleta antes de votar", "voters who challenge a ballot first"))
    p.add_argument("--votes", metavar=tr("GUION.csv", "SCRIPT.csv"),
                   help=tr("guion de votos (entity,contest,option,count) para conciliar",
                           "vote script (entity,contest,option,count) to reconcile against"))
    p.add_argument("--manifest",
                   help=tr("manifiesto (por omisión el de muestra)", "manifest (default: the sample)"))
    p.add_argument("--output", default="simulacro-record", help=tr("directorio del registro", "record directory"))
    p.add_argument("--seed", type=int, default=None,
                   help=tr("semilla de las elecciones simuladas", "seed of the simulated choices"))
    p.add_argument("--sin-tokens", "--no-tokens", dest="no_tokens", action="store_true",
                   help=tr("llaves en software en vez de tokens SoftHSM2", "software keys instead of SoftHSM2 tokens"))
    p.add_argument("--test-group", action="store_true",
                   help=tr("usar el grupo de prueba pequeño (rápido, no seguro)",
                           "use the small test group (fast, not secure)"))
    lote_bits_argument(p)
    p.add_argument("--jobs", type=int, default=None,
                   help=tr("procesos que cifran y verifican boletas (por omisión, todos los núcleos)",
                           "processes that encrypt and check ballots (default: all cores)"))
    p.add_argument("--http", action="store_true",
                   help=tr("por HTTP: arrancar el servidor de votación en loopback y votar por sus rutas reales",
                           "over HTTP: start the voting server on loopback and vote through its real routes"))
    p.set_defaults(func=run)
