"""``sivei manifiesto`` (alias ``manifest``): writing and checking the election manifest.

Subcommands (Spanish, with English aliases)::

    plantilla (template)   an example draft to edit (--consulta: a party-less referendum)
    generar (generate)     draft → manifest: every coalition combination, CNR, null, ballot styles
    validar (validate)     a draft or a manifest, every problem with its line; nothing is written
    mostrar (show)         what each entity's voters will see, for review before the ceremony
    derivar (derive)       the practice election's (--practica) or a drill's (--simulacro) manifest
                           from the real one: the same ballots, its own id, name and voting window

Guide: docs/manifest.md.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from sivei.i18n import tr

TEMPLATES = {False: "plantilla-manifiesto.json", True: "plantilla-consulta.json"}


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def cmd_template(args: argparse.Namespace) -> int:
    from sivei.files import write_new_bytes

    data = (resources.files("sivei") / "data" / TEMPLATES[args.referendum]).read_bytes()
    write_new_bytes(args.output, data)
    print(tr(f"Plantilla escrita en {args.output}: edítela y luego «sivei manifiesto generar {args.output} "
             "--salida manifest.json» (guía: docs/manifest.md)",
             f"Template written to {args.output}: edit it, then «sivei manifest generate {args.output} "
             "--output manifest.json» (guide: docs/manifest.md)"))
    return 0


def _summary(manifest_path: str, draft: bool) -> None:
    from sivei.ballot.manifest_draft import load_any
    from sivei.crypto.fingerprint import fingerprint

    manifest, _ = load_any(Path(manifest_path))
    print(tr(f"«{manifest.name}» ({manifest.election_id})", f"«{manifest.name}» ({manifest.election_id})"))
    opens, closes = manifest.local_window()
    print(tr(f"  votación: {opens} → {closes}", f"  voting: {opens} → {closes}"))
    print(tr(f"  {len(manifest.parties)} partidos, {len(manifest.entities)} entidades, {len(manifest.contests)} "
             "elecciones", f"  {len(manifest.parties)} parties, {len(manifest.entities)} entities, "
             f"{len(manifest.contests)} contests"))
    if not draft:
        print(tr(f"  huella del manifiesto: {fingerprint(manifest.hash)}",
                 f"  manifest fingerprint: {fingerprint(manifest.hash)}"))


def cmd_generate(args: argparse.Namespace) -> int:
    from sivei.ballot.manifest_draft import expand_draft_text, read_text
    from sivei.crypto.fingerprint import fingerprint
    from sivei.files import refuse_existing, write_new_json

    refuse_existing(args.output)
    manifest = expand_draft_text(read_text(args.draft), str(args.draft))
    write_new_json(args.output, manifest.to_json())
    combos = sum(1 for c in manifest.contests for o in c.options if o.kind == "combination")
    print(tr(f"Manifiesto escrito en {args.output}: {len(manifest.contests)} elecciones, {combos} combinaciones de "
             f"coalición generadas, {len(manifest.ballot_styles)} estilos de boleta",
             f"Manifest written to {args.output}: {len(manifest.contests)} contests, {combos} coalition combinations "
             f"generated, {len(manifest.ballot_styles)} ballot styles"))
    print(tr(f"  huella del manifiesto: {fingerprint(manifest.hash)}  (revísela con «sivei manifiesto mostrar»)",
             f"  manifest fingerprint: {fingerprint(manifest.hash)}  (review it with «sivei manifest show»)"))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sivei.ballot.manifest_draft import load_any

    _, draft = load_any(args.file)
    what = tr("borrador", "draft") if draft else tr("manifiesto", "manifest")
    print(tr(f"{args.file}: {what} válido", f"{args.file}: valid {what}"))
    _summary(str(args.file), draft)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from sivei.ballot.manifest_draft import load_any

    manifest, draft = load_any(args.file)
    _summary(str(args.file), draft)
    for entity in manifest.entities:
        print()
        print(tr(f"{entity.name} ({entity.code}) — boleta «{entity.ballot_style}»",
                 f"{entity.name} ({entity.code}) — ballot «{entity.ballot_style}»"))
        for _, contest in manifest.style_contests(entity.ballot_style):
            print(f"  {contest.title}  [{contest.id}]")
            for option in contest.options:
                print(f"    {option.id:<18} {option.label}")
            for coalition in contest.coalitions:
                print(tr(f"    · {coalition.name}: {'+'.join(coalition.parties)} → {coalition.candidate}",
                         f"    · {coalition.name}: {'+'.join(coalition.parties)} → {coalition.candidate}"))
    return 0


def _instant(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(tr("se espera un instante UTC como 2030-05-06T14:00:00Z",
                                            "expected a UTC instant like 2030-05-06T14:00:00Z")) from None


def cmd_derive(args: argparse.Namespace) -> int:
    from sivei.ballot.manifest import load_manifest
    from sivei.crypto.fingerprint import fingerprint
    from sivei.election_kind import FLAGS, ElectionKind, ElectionKindError, banner, derived_manifest
    from sivei.files import refuse_existing, write_new_json

    refuse_existing(args.output)
    real = load_manifest(args.manifest)
    kind: ElectionKind = "practice" if args.practice else "drill"
    if args.closes <= args.opens:
        raise ElectionKindError(tr("el cierre debe ser posterior a la apertura",
                                   "the close must come after the opening"))
    if args.closes > real.voting_opens:
        # One election at a time on the server: the practice election and drills end before voting opens.
        raise ElectionKindError(tr(
            f"la ventana debe terminar antes de que abra la elección real ({real.voting_opens:%Y-%m-%dT%H:%M:%SZ})",
            f"the window must end before the real election opens ({real.voting_opens:%Y-%m-%dT%H:%M:%SZ})"))
    manifest = derived_manifest(real, kind, opens=args.opens, closes=args.closes)
    write_new_json(args.output, manifest.to_json())
    print(banner(manifest.election_id))
    opens, closes = manifest.local_window()
    print(tr(f"Manifiesto escrito en {args.output}: «{manifest.name}»", f"Manifest written to {args.output}: "
             f"«{manifest.name}»"))
    print(tr(f"  elección {manifest.election_id}; ventana {opens} → {closes}",
             f"  election {manifest.election_id}; window {opens} → {closes}"))
    print(tr(f"  huella del manifiesto: {fingerprint(manifest.hash)}",
             f"  manifest fingerprint: {fingerprint(manifest.hash)}"))
    print(tr(f"  Siguiente: sus credenciales y su ceremonia de llaves («sivei ceremonia … {FLAGS[kind]}», id "
             f"«{manifest.election_id}-llaves-1»); guía: docs/operations.md",
             f"  Next: its credentials and its key ceremony («sivei ceremony … {FLAGS[kind]}», id "
             f"«{manifest.election_id}-llaves-1»); guide: docs/operations.md"))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "manifiesto", aliases=["manifest"],
        help=tr("escribir y validar el manifiesto de la elección", "write and check the election manifest"),
        description=tr("Manifiesto de la elección: plantilla, generación, validación (guía: docs/manifest.md).",
                       "The election manifest: template, generation, validation (guide: docs/manifest.md)."))
    parser.set_defaults(func=lambda _a: _no_subcommand(parser))
    sub = parser.add_subparsers(metavar=tr("SUBCOMANDO", "SUBCOMMAND"))
    p = sub.add_parser("plantilla", aliases=["template"], help=tr("borrador de ejemplo para editar",
                                                                   "an example draft to edit"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("borrador (archivo nuevo)", "draft (new file)"))
    p.add_argument("--consulta", "--referendum", dest="referendum", action="store_true",
                   help=tr("solo una consulta, sin partidos (p. ej. revocación de mandato)",
                           "a referendum only, without parties (e.g. a recall)"))
    p.set_defaults(func=cmd_template)
    p = sub.add_parser("generar", aliases=["generate"],
                       help=tr("del borrador al manifiesto (combinaciones, CNR, nulo, estilos de boleta)",
                               "from draft to manifest (combinations, CNR, null, ballot styles)"))
    p.add_argument("draft", type=Path, metavar=tr("BORRADOR", "DRAFT"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("manifiesto (archivo nuevo)", "manifest (new file)"))
    p.set_defaults(func=cmd_generate)
    p = sub.add_parser("validar", aliases=["validate"],
                       help=tr("validar un borrador o un manifiesto (errores con su línea)",
                               "check a draft or a manifest (errors with their line)"))
    p.add_argument("file", type=Path, metavar=tr("ARCHIVO", "FILE"))
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("mostrar", aliases=["show"],
                       help=tr("lo que verá cada entidad en su boleta", "what each entity's ballot will show"))
    p.add_argument("file", type=Path, metavar=tr("ARCHIVO", "FILE"))
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("derivar", aliases=["derive"],
                       help=tr("manifiesto de la elección de práctica o de un simulacro, desde el real",
                               "the practice election's or a drill's manifest, from the real one"))
    p.add_argument("manifest", type=Path, metavar=tr("MANIFIESTO", "MANIFEST"),
                   help=tr("el manifiesto de la elección real", "the real election's manifest"))
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--practica", "--practice", dest="practice", action="store_true",
                      help=tr("la elección de práctica (socialización): «practica-…»",
                              "the practice election: «practica-…»"))
    kind.add_argument("--simulacro", "--drill", dest="drill", action="store_true",
                      help=tr("un simulacro con el servidor: «simulacro-…»", "a drill on the server: «simulacro-…»"))
    p.add_argument("--abre", "--opens", dest="opens", type=_instant, required=True,
                   help=tr("apertura (UTC, 2030-05-06T14:00:00Z)", "opening (UTC, 2030-05-06T14:00:00Z)"))
    p.add_argument("--cierra", "--closes", dest="closes", type=_instant, required=True,
                   help=tr("cierre (UTC), antes de que abra la elección real",
                           "close (UTC), before the real election opens"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("manifiesto (archivo nuevo)", "manifest (new file)"))
    p.set_defaults(func=cmd_derive)
