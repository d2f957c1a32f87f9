"""``sivei registro`` (alias ``record``): tools for an election record's files.

* ``evento REGISTRO N`` (``event``): one board event as JSON (the form of a version-1 board line),
  by its index or by a report's location (``board.bin:5``), whatever the record's format version.
* ``convertir REGISTRO SALIDA`` (``convert``): the record in another format version (2 by default:
  the binary board); every chain head, tracking code and act stays valid.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei.record import layout
from sivei.record.convert import convert_record, event_json


def run_event(args: argparse.Namespace) -> int:
    event = event_json(Path(args.record), args.event, allow_test_group=args.test_group)
    print(json.dumps(event, ensure_ascii=False, indent=1, sort_keys=True))
    return 0


def run_convert(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.exists():
        raise SiveiError(tr(f"{output} ya existe: elija otra salida",
                            f"{output} already exists: choose another output"))
    path = convert_record(Path(args.record), output, args.version, allow_test_group=args.test_group)
    print(tr(f"Registro en formato versión {args.version} escrito en {path}; verifíquelo con «sivei verificar {path}»",
             f"Record in format version {args.version} written to {path}; verify it with «sivei verify {path}»"))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("registro", aliases=["record"],
                       help=tr("herramientas para los archivos de un registro electoral",
                               "tools for an election record's files"))
    tools = p.add_subparsers(dest="record_command", metavar=tr("HERRAMIENTA", "TOOL"), required=True)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("record", metavar=tr("REGISTRO", "RECORD"),
                       help=tr("directorio del registro", "record directory"))
        q.add_argument("--test-group", action="store_true",
                       help=tr("aceptar el grupo de prueba (solo para pruebas)", "accept the test group (tests only)"))

    e = tools.add_parser("evento", aliases=["event"],
                         help=tr("mostrar un evento del tablero como JSON", "show a board event as JSON"))
    common(e)
    e.add_argument("event", metavar="N",
                   help=tr("índice del evento (p. ej. 4) o ubicación de un informe (p. ej. board.bin:5)",
                           "event index (e.g. 4) or a report's location (e.g. board.bin:5)"))
    e.set_defaults(func=run_event)
    c = tools.add_parser("convertir", aliases=["convert"],
                         help=tr("escribir el registro en otra versión del formato",
                                 "write the record in another format version"))
    common(c)
    c.add_argument("output", metavar=tr("SALIDA", "OUTPUT"), help=tr("directorio nuevo", "new directory"))
    c.add_argument("--version", type=int, choices=layout.VERSIONS, default=layout.VERSION,
                   help=tr(f"versión del formato (por omisión {layout.VERSION})",
                           f"format version (default {layout.VERSION})"))
    c.set_defaults(func=run_convert)
