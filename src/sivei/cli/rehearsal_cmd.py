"""``sivei ensayo`` (alias ``rehearsal``): the key-holders' rehearsal of election night.

Subcommands (Spanish, with English aliases)::

    manifiesto (manifest)   the rehearsal's manifest from the real one: ensayo-<id>, «ENSAYO — …», a short window
    padron (roll)           one invented voter per scripted ballot, for the credential authority
    votar (vote)            cast the script against the rehearsal ceremony's key, close, write the closed record
    conciliar (reconcile)   the complete record's results against the script

Guide: docs/ceremony.md, section «Ensayo».
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from sivei.i18n import tr


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _instant(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(tr("se espera un instante UTC como 2027-05-01T18:00:00Z",
                                            "expected a UTC instant like 2027-05-01T18:00:00Z")) from None


def _say(message: str) -> None:
    print(message, flush=True)


def cmd_manifest(args: argparse.Namespace) -> int:
    from sivei.ballot.manifest import load_manifest
    from sivei.crypto.fingerprint import fingerprint
    from sivei.election_kind import banner
    from sivei.files import write_new_json
    from sivei.rehearsal import rehearsal_manifest

    manifest = rehearsal_manifest(load_manifest(args.manifest), opens=args.opens, minutes=args.minutes)
    write_new_json(args.output, manifest.to_json())
    print(banner(manifest.election_id))
    opens, closes = manifest.local_window()
    print(tr(f"Manifiesto del ensayo escrito en {args.output}: «{manifest.name}»",
             f"Rehearsal manifest written to {args.output}: «{manifest.name}»"))
    print(tr(f"  elección {manifest.election_id}; ventana {opens} → {closes}",
             f"  election {manifest.election_id}; window {opens} → {closes}"))
    print(tr(f"  huella del manifiesto: {fingerprint(manifest.hash)}",
             f"  manifest fingerprint: {fingerprint(manifest.hash)}"))
    print(tr("  Siguiente: la ceremonia de llaves del ensayo («sivei ceremonia llaves preparar --ensayo "
             f"--id {manifest.election_id}-llaves-1 …»)",
             "  Next: the rehearsal's key ceremony («sivei ceremonia llaves preparar --ensayo "
             f"--id {manifest.election_id}-llaves-1 …»)"))
    return 0


def cmd_roll(args: argparse.Namespace) -> int:
    from sivei.ballot.manifest import load_manifest
    from sivei.election_kind import check_kind
    from sivei.files import write_new_text
    from sivei.rehearsal import rehearsal_roll, roll_csv
    from sivei.vote_script import read_vote_script

    manifest = load_manifest(args.manifest)
    check_kind(manifest.election_id, "rehearsal", str(args.manifest))
    script = read_vote_script(args.script, manifest)
    roll = rehearsal_roll(script, abstaining=args.abstaining)
    write_new_text(args.output, roll_csv(roll))
    print(tr(f"Padrón del ensayo: {len(roll)} votantes inventados ({script.total_voters} votarán) en {args.output}",
             f"Rehearsal roll: {len(roll)} invented voters ({script.total_voters} will vote) in {args.output}"))
    print(tr("  Siguiente: «sivei credenciales generar --padron … --olvidar» y «sivei credenciales publicar …»",
             "  Next: «sivei credentials generate --roll … --forget» and «sivei credentials publish …»"))
    return 0


def cmd_vote(args: argparse.Namespace) -> int:
    from sivei.crypto.fingerprint import fingerprint
    from sivei.election_kind import banner
    from sivei.rehearsal import cast_rehearsal, load_rehearsal, read_deliveries
    from sivei.vote_script import read_vote_script

    election = load_rehearsal(args.ceremony, args.credentials, args.opening, constancia=args.constancia,
                              allow_test_group=args.test_group)
    manifest = election.ctx.manifest
    print(banner(manifest.election_id))
    script = read_vote_script(args.script, manifest)
    deliveries = read_deliveries(args.deliveries, election)
    print(tr(f"Ceremonia «{election.ceremony_id}» ({election.t} de {election.n}), lista de credenciales y acta de "
             "inicio verificadas",
             f"Ceremony «{election.ceremony_id}» ({election.t} of {election.n}), credential list and opening act "
             "verified"))
    print(tr(f"  huella de la elección (H_E): {fingerprint(election.ctx.election_hash)}",
             f"  election fingerprint (H_E): {fingerprint(election.ctx.election_hash)}"))
    outcome = cast_rehearsal(election, deliveries, script, args.output, _say)
    print(tr(f"Tablero cerrado: {outcome.ballots} boletas de {outcome.registered} credenciales",
             f"Board closed: {outcome.ballots} ballots from {outcome.registered} credentials"))
    if outcome.noted_head is not None:
        print(tr(f"  cabeza anotada a mitad de la votación: {fingerprint(outcome.noted_head)}",
                 f"  head noted halfway through voting: {fingerprint(outcome.noted_head)}"))
    print(tr(f"  ► LEA EN VOZ ALTA — cabeza final del tablero: {fingerprint(outcome.head)}",
             f"  ► READ ALOUD — final board head: {fingerprint(outcome.head)}"))
    print(tr(f"Registro cerrado escrito en {outcome.record}. Siguiente: el acta de cierre («sivei ceremonia acta "
             "borrador-cierre --ensayo …»), luego la apertura de la bóveda.",
             f"Closed record written to {outcome.record}. Next: the closing act («sivei ceremony act draft-closing "
             "--ensayo …»), then the vault opening."))
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from sivei.election_kind import banner, check_kind
    from sivei.record.context import load_election_context
    from sivei.record.layout import RESULTS, RecordReader
    from sivei.rehearsal import reconcile
    from sivei.tally.results import ElectionResults
    from sivei.vote_script import read_vote_script

    ctx = load_election_context(args.record, allow_test_group=args.test_group)
    check_kind(ctx.manifest.election_id, "rehearsal", str(args.record))
    print(banner(ctx.manifest.election_id))
    results = ElectionResults.from_json(ctx.manifest, RecordReader(args.record).read_json(RESULTS))
    script = read_vote_script(args.script, ctx.manifest)
    differences = reconcile(results, script)
    if differences:
        print(tr("¡LOS RESULTADOS NO COINCIDEN CON EL GUION!", "THE RESULTS DO NOT MATCH THE SCRIPT!"))
        for line in differences:
            print(f"  {line}")
        return 1
    print(tr(f"Conciliación: los resultados coinciden voto por voto con el guion ({script.total_voters} votantes)",
             f"Reconciliation: the results match the script vote for vote ({script.total_voters} voters)"))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "ensayo", aliases=["rehearsal"],
        help=tr("ensayo de la noche de la elección con los tokens de los custodios",
                "rehearsal of election night with the key-holders' tokens"),
        description=tr("Ensayo: una ceremonia completa con ids «ensayo-…», votos de un guion, cierre, "
                       "apertura de la bóveda y conciliación (guía: docs/ceremony.md).",
                       "Rehearsal: a complete ceremony under «ensayo-…» ids, scripted votes, close, vault "
                       "opening and reconciliation (guide: docs/ceremony.md)."))
    parser.set_defaults(func=lambda _a: _no_subcommand(parser))
    sub = parser.add_subparsers(metavar=tr("SUBCOMANDO", "SUBCOMMAND"))

    p = sub.add_parser("manifiesto", aliases=["manifest"],
                       help=tr("manifiesto del ensayo a partir del real", "the rehearsal's manifest from the real one"))
    p.add_argument("--manifiesto", "--manifest", dest="manifest", type=Path, required=True,
                   help=tr("manifiesto de la elección real", "the real election's manifest"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("manifiesto del ensayo (archivo nuevo)", "rehearsal manifest (new file)"))
    p.add_argument("--abre", "--opens", dest="opens", type=_instant, default=None,
                   help=tr("apertura (UTC, p. ej. 2027-05-01T18:00:00Z); por omisión, ahora",
                           "opening (UTC, e.g. 2027-05-01T18:00:00Z); default: now"))
    p.add_argument("--minutos", "--minutes", dest="minutes", type=int, default=60,
                   help=tr("duración de la ventana de votación del ensayo (60)", "length of the voting window (60)"))
    p.set_defaults(func=cmd_manifest)

    p = sub.add_parser("padron", aliases=["roll"],
                       help=tr("padrón inventado del ensayo, un votante por boleta del guion",
                               "the rehearsal's invented roll, one voter per scripted ballot"))
    p.add_argument("--manifiesto", "--manifest", dest="manifest", type=Path, required=True,
                   help=tr("manifiesto del ensayo", "rehearsal manifest"))
    p.add_argument("--guion", "--script", dest="script", type=Path, required=True,
                   help=tr("guion de votos (entity,contest,option,count)", "vote script (entity,contest,option,count)"))
    p.add_argument("--abstenciones", "--abstaining", dest="abstaining", type=int, default=0,
                   help=tr("votantes más por entidad que no votarán", "extra voters per entity who will not vote"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("padrón CSV (archivo nuevo)", "roll CSV (new file)"))
    p.set_defaults(func=cmd_roll)

    p = sub.add_parser("votar", aliases=["vote"],
                       help=tr("emitir el guion con la llave del ensayo, cerrar y escribir el registro cerrado",
                               "cast the script under the rehearsal's key, close and write the closed record"))
    p.add_argument("--ceremonia", "--ceremony", dest="ceremony", type=Path, required=True,
                   help=tr("carpeta de la ceremonia de llaves del ensayo", "the rehearsal's key ceremony folder"))
    p.add_argument("--credenciales", "--credentials", dest="credentials", type=Path, required=True,
                   help=tr("lista publicada de credenciales del ensayo", "the rehearsal's published credential list"))
    p.add_argument("--entregas", "--deliveries", dest="deliveries", type=Path, required=True,
                   help=tr("archivo de entregas de la autoridad (mail-merge.csv)",
                           "the authority's deliveries file (mail-merge.csv)"))
    p.add_argument("--acta-inicio", "--opening-act", dest="opening", type=Path, required=True,
                   help=tr("acta de inicio del ensayo firmada por los n custodios",
                           "the rehearsal's opening act signed by the n key-holders"))
    p.add_argument("--guion", "--script", dest="script", type=Path, required=True,
                   help=tr("guion de votos", "vote script"))
    p.add_argument("--constancia", type=Path, default=None,
                   help=tr("constancia de integridad nombrada en el acta (por omisión, la de esta instalación)",
                           "integrity constancia named in the act (default: this installation's)"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("registro cerrado (carpeta nueva)", "closed record (new folder)"))
    p.add_argument("--test-group", action="store_true",
                   help=tr("aceptar el grupo de prueba (solo pruebas)", "accept the test group (tests only)"))
    p.set_defaults(func=cmd_vote)

    p = sub.add_parser("conciliar", aliases=["reconcile"],
                       help=tr("comparar los resultados del registro completo con el guion",
                               "compare the complete record's results with the script"))
    p.add_argument("--registro", "--record", dest="record", type=Path, required=True,
                   help=tr("registro completo del ensayo", "the rehearsal's complete record"))
    p.add_argument("--guion", "--script", dest="script", type=Path, required=True,
                   help=tr("guion de votos", "vote script"))
    p.add_argument("--test-group", action="store_true",
                   help=tr("aceptar el grupo de prueba (solo pruebas)", "accept the test group (tests only)"))
    p.set_defaults(func=cmd_reconcile)
