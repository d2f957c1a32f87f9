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
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sivei.i18n import tr


def _signer(text: str) -> tuple[str, str]:
    name, sep, role = text.partition("|")
    if not sep or not name.strip() or not role.strip():
        raise argparse.ArgumentTypeError(tr("se espera «Nombre|Cargo»", "expected «Name|Role»"))
    return name.strip(), role.strip()


def _today(zone: str) -> str:
    from sivei.ballot.manifest import _MONTHS

    now = datetime.now(ZoneInfo(zone))
    es, en = _MONTHS[now.month - 1]
    return tr(f"{now.day} de {es} de {now.year}", f"{en} {now.day}, {now.year}")


def run(args: argparse.Namespace) -> int:
    from sivei.ballot.credentials import load_credential_list_files
    from sivei.cli.verify_cmd import print_progress
    from sivei.election_kind import ElectionKind, check_kind
    from sivei.errors import SiveiError
    from sivei.files import refuse_existing, write_new_bytes, write_new_json, write_new_text
    from sivei.printing import render_pdf, render_text
    from sivei.record import layout
    from sivei.record.board_file import last_head
    from sivei.record.context import load_election_context
    from sivei.record.verify import VerifyOptions, verify_record
    from sivei.tally.publication import (
        ActaSetting,
        acta_document,
        registered_per_entity,
        results_csv,
        results_json,
    )
    from sivei.tally.results import ElectionResults, format_results

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
    ctx = load_election_context(record, allow_test_group=args.test_group)
    manifest = ctx.manifest
    reader = layout.RecordReader(record)
    results = ElectionResults.from_json(manifest, reader.read_json(layout.RESULTS))
    envelope, _ = load_credential_list_files(record)
    counts = envelope.body.get("counts")
    registered = registered_per_entity(manifest, counts if isinstance(counts, dict) else {})
    decryption = reader.read_json(layout.DECRYPTION)
    present = tuple(decryption.get("present", ())) if isinstance(decryption, dict) else ()
    head = last_head(reader)
    setting = ActaSetting(place=args.place, date=args.date or _today(manifest.display_timezone),
                          signers=tuple(args.signers or ()), election_hash=ctx.election_hash,
                          final_head=head,
                          keyholders_present=tuple(int(i) for i in present))
    document = acta_document(manifest, results, registered, setting)
    pdf = render_pdf(document)
    staging = output.with_name(f".{output.name}.tmp")
    if staging.exists():
        raise SiveiError(tr(f"{staging} ya existe (¿una ejecución interrumpida?): bórrela",
                            f"{staging} already exists (an interrupted run?): remove it"))
    staging.mkdir(parents=True)
    write_new_json(staging / "resultados.json", results_json(manifest, results, registered,
                                                             election_hash=ctx.election_hash))
    write_new_text(staging / "resultados.csv", results_csv(manifest, results, registered))
    write_new_bytes(staging / "acta-computo.pdf", pdf)
    write_new_text(staging / "acta-computo.txt", render_text(document))
    staging.rename(output)
    print(format_results(manifest, results))
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
