"""``sivei integridad`` (alias ``integrity``): the software-integrity constancia of this installation.

* ``sivei integridad [--json FILE] [--breve]``: print the constancia and its fingerprint to read aloud.
* ``sivei integridad comparar A.json B.json`` (``compare``): every file added, removed or changed
  (audited build A, deployed installation B); exit 1 when they differ.
* ``sivei integridad paquete DIR`` (``bundle``): the offline install bundle for air-gapped laptops.
* ``sivei integridad verificar-paquete DIR`` (``check-bundle``): recompute the bundle's SHA3-256 sums.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from sivei.crypto.fingerprint import fingerprint
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei.integrity import (
    EXPECTED_NAME,
    INSTRUCTIONS_NAME,
    SUMS_NAME,
    IntegrityConstancia,
    build_bundle,
    build_constancia,
    compare,
    compare_metadata,
    format_constancia,
    registered_static_dirs,
    sums_digest,
    verify_bundle,
)


def _static_dirs(specs: list[str] | None) -> dict[str, Path] | None:
    if not specs:
        return None
    dirs = registered_static_dirs()
    for spec in specs:
        name, sep, path = spec.partition("=")
        directory = Path(path if sep else spec)
        if not sep:
            name = directory.resolve().name
        if name in dirs:
            raise SiveiError(tr(f"directorio estático repetido: {name}", f"repeated static directory: {name}"))
        dirs[name] = directory
    return dirs


def _write_atomically(path: Path, text: str) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise SiveiError(tr(f"no existe el directorio {parent}", f"the directory {parent} does not exist"))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_show(args: argparse.Namespace) -> int:
    constancia = build_constancia(
        static_dirs=_static_dirs(args.static),
        lock_file=Path(args.lock) if args.lock else None,
    )
    if args.json == "-":
        sys.stdout.write(constancia.dumps())
        return 0
    if args.json:
        _write_atomically(Path(args.json), constancia.dumps())
    print(format_constancia(constancia, list_files=not args.brief))
    if args.json:
        print(tr(f"Constancia escrita en {args.json}", f"Constancia written to {args.json}"))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    a = IntegrityConstancia.load(Path(args.a))
    b = IntegrityConstancia.load(Path(args.b))
    print(tr(f"A: {args.a}  huella {a.fingerprint}", f"A: {args.a}  fingerprint {a.fingerprint}"))
    print(tr(f"B: {args.b}  huella {b.fingerprint}", f"B: {args.b}  fingerprint {b.fingerprint}"))
    for note in compare_metadata(a, b):
        print(tr(f"  nota: {note}", f"  note: {note}"))
    differences = compare(a, b)
    for d in differences:
        print(f"  ✗ {d}")
    if differences:
        print(tr(f"RESULTADO: {len(differences)} diferencia(s) en los archivos. Las instalaciones NO son iguales.",
                 f"RESULT: {len(differences)} file difference(s). The installations are NOT the same."))
        return 1
    print(tr(f"RESULTADO: los {len(a.files)} archivos coinciden (SHA3-256).",
             f"RESULT: all {len(a.files)} files match (SHA3-256)."))
    return 0


def run_bundle(args: argparse.Namespace) -> int:
    result = build_bundle(
        Path(args.directory),
        project=Path(args.project) if args.project else None,
        lock_file=Path(args.lock) if args.lock else None,
        revision=args.revision,
        self_test=not args.no_test,
        log=lambda msg: print(msg, flush=True),
    )
    print(tr(f"Paquete listo: {result.directory}", f"Bundle ready: {result.directory}"))
    print(tr(f"  origen: {result.source}", f"  source: {result.source}"))
    print(tr(f"  {len(result.wheels)} ruedas (proyecto: {result.project_wheel}), {SUMS_NAME}, {INSTRUCTIONS_NAME}",
             f"  {len(result.wheels)} wheels (project: {result.project_wheel}), {SUMS_NAME}, {INSTRUCTIONS_NAME}"))
    if result.expected is not None:
        print(tr(f"  instalación de prueba sin red: correcta; constancia esperada ({EXPECTED_NAME}): "
                 f"{result.expected.fingerprint}",
                 f"  offline test installation: succeeded; expected constancia ({EXPECTED_NAME}): "
                 f"{result.expected.fingerprint}"))
    print(tr(f"  SHA3-256 de {SUMS_NAME}: {result.sums_digest.hex()}",
             f"  SHA3-256 of {SUMS_NAME}: {result.sums_digest.hex()}"))
    print(tr(f"Huella del paquete para leer en voz alta: {fingerprint(result.sums_digest)}",
             f"Bundle fingerprint to read aloud: {fingerprint(result.sums_digest)}"))
    return 0


def run_check_bundle(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    problems = verify_bundle(directory)
    for p in problems:
        print(f"  ✗ {p}")
    if problems:
        print(tr(f"RESULTADO: el paquete NO es íntegro ({len(problems)} problema(s)). No lo instale.",
                 f"RESULT: the bundle is NOT intact ({len(problems)} problem(s)). Do not install it."))
        return 1
    expected = directory / EXPECTED_NAME
    if expected.is_file():
        constancia = IntegrityConstancia.load(expected)
        print(tr(f"Constancia esperada de la instalación: {constancia.fingerprint}",
                 f"Expected installation constancia: {constancia.fingerprint}"))
    digest = sums_digest(directory)
    print(tr(f"SHA3-256 de {SUMS_NAME}: {digest.hex()}", f"SHA3-256 of {SUMS_NAME}: {digest.hex()}"))
    print(tr(f"Huella del paquete para leer en voz alta: {fingerprint(digest)}",
             f"Bundle fingerprint to read aloud: {fingerprint(digest)}"))
    print(tr("RESULTADO: todos los archivos del paquete coinciden con sus sumas SHA3-256.",
             "RESULT: every file of the bundle matches its SHA3-256 sum."))
    return 0


def run(args: argparse.Namespace) -> int:
    action = {"comparar": run_compare, "compare": run_compare,
              "paquete": run_bundle, "bundle": run_bundle,
              "verificar-paquete": run_check_bundle, "check-bundle": run_check_bundle}.get(args.action or "", run_show)
    return action(args)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("integridad", aliases=["integrity"],
                       help=tr("constancia de integridad del software (SHA3-256) y paquete sin conexión",
                               "software integrity constancia (SHA3-256) and offline bundle"),
                       description=tr("Sin subcomando: imprime la constancia de integridad de esta instalación.",
                                      "Without a subcommand: print this installation's integrity constancia."))
    p.add_argument("--json", metavar=tr("ARCHIVO", "FILE"),
                   help=tr("escribir la constancia en JSON ('-' para la salida estándar)",
                           "write the constancia as JSON ('-' for standard output)"))
    p.add_argument("--breve", "--brief", dest="brief", action="store_true",
                   help=tr("sin la lista de archivos", "without the file list"))
    p.add_argument("--bloqueo", "--lock", dest="lock", metavar=tr("ARCHIVO", "FILE"),
                   help=tr("archivo de bloqueo de dependencias (por omisión, requirements.lock del proyecto "
                           "o del entorno)", "dependency lock file (default: the project's or the environment's "
                           "requirements.lock)"))
    p.add_argument("--estatico", "--static", dest="static", action="append", metavar=tr("[NOMBRE=]DIR", "[NAME=]DIR"),
                   help=tr("directorio de archivos estáticos de la cabina (repetible; se suman a los registrados)",
                           "directory of static booth files (repeatable; added to the registered ones)"))
    p.set_defaults(func=run, action=None)
    actions = p.add_subparsers(dest="action", metavar=tr("ACCIÓN", "ACTION"))

    c = actions.add_parser("comparar", aliases=["compare"],
                           help=tr("comparar dos constancias (auditada y desplegada)",
                                   "compare two constancias (audited and deployed)"))
    c.add_argument("a", metavar="A.json",
                   help=tr("constancia de referencia (auditada)", "reference (audited) constancia"))
    c.add_argument("b", metavar="B.json",
                   help=tr("constancia a comprobar (desplegada)", "constancia to check (deployed)"))

    b = actions.add_parser("paquete", aliases=["bundle"],
                           help=tr("crear el paquete de instalación sin conexión", "build the offline install bundle"))
    b.add_argument("directory", metavar="DIR", help=tr("directorio nuevo del paquete", "new bundle directory"))
    b.add_argument("--proyecto", "--project", dest="project", metavar="DIR",
                   help=tr("árbol de fuentes de SIVEI (por omisión, el de esta instalación)",
                           "SIVEI source tree (default: this installation's)"))
    b.add_argument("--bloqueo", "--lock", dest="lock", metavar=tr("ARCHIVO", "FILE"),
                   help=tr("archivo de bloqueo (por omisión, el requirements.lock de la revisión empaquetada)",
                           "lock file (default: the requirements.lock of the bundled revision)"))
    b.add_argument("--revision", metavar="REV",
                   help=tr("revisión de git a empaquetar (por omisión, HEAD)",
                           "git revision to bundle (default: HEAD)"))
    b.add_argument("--sin-prueba", "--no-test", dest="no_test", action="store_true",
                   help=tr("no instalar el paquete en un entorno de prueba", "do not install the bundle into a test "
                           "environment"))

    v = actions.add_parser("verificar-paquete", aliases=["check-bundle"],
                           help=tr(f"recalcular las sumas de {SUMS_NAME} de un paquete",
                                   f"recompute a bundle's {SUMS_NAME} sums"))
    v.add_argument("directory", metavar="DIR", help=tr("directorio del paquete", "bundle directory"))
