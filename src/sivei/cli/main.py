"""Entry point of the ``sivei`` command.

Subcommands are Spanish with English aliases. The library registers its own; the server and the
ceremonies, which live outside ``src/``, add theirs through the ``sivei.commands`` entry-point group
(each entry point is a ``register(subparsers)`` function), so the library never imports them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

from sivei.errors import SiveiError
from sivei.i18n import set_language, tr

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

# Built-in command modules, each with a ``register(subparsers)`` function.
BUILTIN_COMMANDS = (
    "sivei.cli.drill_cmd",
    "sivei.cli.verify_cmd",
    "sivei.cli.credentials_cmd",
    "sivei.cli.consulate_cmd",
    "sivei.cli.challenge_cmd",
    "sivei.cli.integrity_cmd",
    "sivei.cli.manifest_cmd",
    "sivei.cli.rehearsal_cmd",
    "sivei.cli.results_cmd",
    "sivei.cli.record_cmd",
)


LANGUAGE_FLAGS = ("--english", "--en")


def _language_from_argv(argv: Sequence[str]) -> list[str]:
    """Choose the language before building the parser, so help texts are translated too. ``--english``
    may stand anywhere before a ``--`` separator (``sivei ceremonia … --english`` as well as
    ``sivei --english ceremonia …``); it is taken out of the arguments the parser sees."""
    end = list(argv).index("--") if "--" in argv else len(argv)
    english = any(a in LANGUAGE_FLAGS for a in argv[:end])
    set_language("en" if english else "es")
    return [a for k, a in enumerate(argv) if k >= end or a not in LANGUAGE_FLAGS]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sivei",
        description=tr("SIVEI: motor de voto por internet verificable.",
                       "SIVEI: a verifiable internet-voting engine."),
    )
    parser.add_argument("--english", "--en", action="store_true",
                        help=tr("mensajes en inglés", "messages in English"))
    sub = parser.add_subparsers(dest="command", metavar=tr("COMANDO", "COMMAND"))
    registrars: list[Register] = []
    for name in BUILTIN_COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        registrars.append(module.register)
    for ep in entry_points(group="sivei.commands"):
        registrars.append(ep.load())
    for register in registrars:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = _language_from_argv(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(args_list)
    func: Callable[[Any], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except SiveiError as exc:
        print(tr(f"error: {exc}", f"error: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(tr("interrumpido", "interrupted"), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
