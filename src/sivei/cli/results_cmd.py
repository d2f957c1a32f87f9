"""``sivei resultados REGISTRO`` (alias ``results``): the results as files, as INE publishes them.

Verifies the complete record (unless told it was already verified), then writes into a new folder
``resultados.json`` (named keys), ``resultados.csv`` (one row per value), ``acta-computo.pdf`` (the
printable acta de cómputo, with a Unicode font embedded) and ``acta-computo.txt`` (the same as text).
A rehearsal's or a drill's record is refused at once unless ``--ensayo`` or ``--simulacro`` says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sivei.i18n import tr


def _signer(text: str) -> tuple[str, str]:
    name, sep, role = text.partition("|")
    if not sep or not name.strip() or not role.strip():
        raise argparse.ArgumentTypeError(tr("se espera «Nombre|Cargo»", "expected «Name|Role»"))
    return name.strip(), role.strip()


def run(args: argparse.Namespace) -> int:
    from sivei.cli.verify_cmd import print_progress
    from sivei.election_kind import ElectionKind, check_kind
    from sivei.errors import SiveiError
    from sivei.files import refuse_existing
    from sivei.record import layout
    from sivei.record.results_files import RecordResults, write_results_folder
    from sivei.record.verify import VerifyOptions, verify_record
    from sivei.tally.results import format_results

    record: Path = args.record
    output: Path = args.output
    try:
        header = json.loads((record / layout.HEADER).read_text(encoding="utf-8"))
        election_id = header["election_id"]
    except (OSError, ValueError, KeyError, TypeError):
        raise SiveiError(tr(f"{record}: no es un registro electoral de SIVEI",
                            f"{record}: not a SIVEI election record")) from None
    expected: ElectionKind = "rehearsal" if args.rehearsal else "drill" if args.drill else "real"
    check_kind(str(election_id), expected, str(record))
    refuse_existing(output)
    if not args.no_verify:
        report = verify_record(record, VerifyOptions(allow_test_group=args.test_group, jobs=args.jobs,
                                                     progress=None if args.quiet else print_progress))
        if not report.ok:
            print(report.format_text())
            raise SiveiError(tr("el registro NO verifica: no se publican resultados",
                                "the record does NOT verify: no results are published"))
        print(tr("Registro verificado («sivei verificar»)", "Record verified («sivei verify»)"))
    source = RecordResults.read(record, allow_test_group=args.test_group)
    write_results_folder(source, source.setting(args.place, args.date, args.signers or ()), output)
    print(format_results(source.manifest, source.results))
    print(tr(f"Resultados escritos en {output}: resultados.json, resultados.csv, acta-computo.pdf, acta-computo.txt",
             f"Results written to {output}: resultados.json, resultados.csv, acta-computo.pdf, acta-computo.txt"))
    sys.stdout.flush()
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("resultados", aliases=["results"],
                       help=tr("resultados como archivos (JSON, CSV) y acta de cómputo imprimible (PDF)",
                               "results as files (JSON, CSV) and the printable acta de cómputo (PDF)"))
    p.add_argument("record", type=Path, metavar=tr("REGISTRO", "RECORD"),
                   help=tr("registro completo (después de la apertura de la bóveda)",
                           "complete record (after the vault opening)"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("carpeta nueva de resultados", "new results folder"))
    p.add_argument("--lugar", "--place", dest="place", default="Ciudad de México",
                   help=tr("lugar del cómputo (Ciudad de México)", "place of the count (Ciudad de México)"))
    p.add_argument("--fecha", "--date", dest="date", default=None,
                   help=tr("fecha del acta (por omisión, hoy)", "date of the acta (default: today)"))
    p.add_argument("--firma", "--signer", dest="signers", type=_signer, action="append",
                   metavar=tr("«NOMBRE|CARGO»", "«NAME|ROLE»"),
                   help=tr("quien firma el acta (repetible)", "who signs the acta (repeatable)"))
    p.add_argument("--ensayo", "--rehearsal", dest="rehearsal", action="store_true",
                   help=tr("el registro es de un ensayo", "the record is a rehearsal's"))
    p.add_argument("--simulacro", "--drill", dest="drill", action="store_true",
                   help=tr("el registro es de un simulacro", "the record is a drill's"))
    p.add_argument("--sin-verificar", "--no-verify", dest="no_verify", action="store_true",
                   help=tr("no volver a verificar (solo si ya lo verificó)", "do not verify again (only if already "
                                                                             "verified)"))
    p.add_argument("--test-group", action="store_true",
                   help=tr("aceptar el grupo de prueba (solo pruebas)", "accept the test group (tests only)"))
    p.add_argument("--jobs", type=int, default=None,
                   help=tr("procesos para verificar (por omisión, todos los núcleos)",
                           "processes to verify (default: all cores)"))
    p.add_argument("--quiet", action="store_true", help=tr("sin progreso", "no progress"))
    p.set_defaults(func=run)
