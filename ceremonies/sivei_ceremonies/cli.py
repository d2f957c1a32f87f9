"""``sivei ceremonia`` (alias ``ceremony``): the key-holders' and the coordinator's commands.

Registered through the ``sivei.commands`` entry point. Subcommands are Spanish with English aliases::

    token inicializar|mostrar                         (token init|show)
    llaves preparar|paso|recoger                      (keys setup|step|collect)
    comprobar-llave, verificar-comprobacion           (check-key, verify-key-check)
    acta borrador-inicio|borrador-cierre|mostrar|firmar|reunir
                                                      (act draft-opening|draft-closing|show|sign|merge)
    boveda exportar|descifrar|combinar                (vault export|decrypt|combine)

Every command prints this installation's integrity constancia first. PINs come from ``SIVEI_PIN`` /
``SIVEI_SO_PIN`` (tests and drills) or are typed without echo. Exit status: 0 done, 2 refused (nothing
changed; the message says why), 3 the key ceremony aborted (culprit and round named).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sivei.i18n import tr

if TYPE_CHECKING:
    from sivei_ceremonies.common import Out

Handler = Callable[[argparse.Namespace, "Out"], Any]


def _handler(fn: Handler) -> Callable[[argparse.Namespace], int]:
    """Run a command; a key-ceremony abort is reported to everyone (exit 3). The ceremony modules are
    imported only when one of their commands runs, so other ``sivei`` commands do not pay for them."""
    def run(args: argparse.Namespace) -> int:
        from sivei.crypto.dkg import CeremonyAbortError
        from sivei_ceremonies.common import EXIT_ABORTED, EXIT_OK, Out, set_kind
        from sivei_ceremonies.keygen import print_abort

        set_kind("rehearsal" if getattr(args, "rehearsal", False) else "practice" if getattr(args, "practice", False)
                 else "drill" if getattr(args, "drill", False) else "real")
        out = Out()
        try:
            fn(args, out)
        except CeremonyAbortError as exc:
            print_abort(exc, out, getattr(args, "abort_ceremony_id", None))
            return EXIT_ABORTED
        return EXIT_OK
    return run


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# -- shared options ---------------------------------------------------------------------------------


def _token_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--token", required=True, metavar=tr("ETIQUETA", "LABEL"),
                   help=tr("etiqueta del token del custodio", "label of the key-holder's token"))
    p.add_argument("--pkcs11-module", dest="pkcs11_module", metavar=tr("RUTA", "PATH"), default=None,
                   help=tr("módulo PKCS#11 (por omisión $SIVEI_PKCS11_MODULE, si no SoftHSM2)",
                           "PKCS#11 module (default $SIVEI_PKCS11_MODULE, else SoftHSM2)"))


def _keyholder_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--custodio", "--keyholder", dest="index", type=int, required=True, metavar="I",
                   help=tr("su número de custodio (1..n)", "your key-holder number (1..n)"))
    p.add_argument("--carpeta", "--private", dest="private", type=Path, required=True,
                   metavar=tr("CARPETA", "FOLDER"),
                   help=tr("su carpeta privada en esta computadora (archivos sellados por su token)",
                           "your private folder on this laptop (files sealed by your token)"))
    _token_args(p)


def _test_group(p: argparse.ArgumentParser) -> None:
    p.add_argument("--test-group", action="store_true",
                   help=tr("aceptar el grupo de prueba (inseguro; solo pruebas y simulacros)",
                           "accept the test group (insecure; tests and drills only)"))
    kinds = p.add_mutually_exclusive_group()
    kinds.add_argument("--ensayo", "--rehearsal", dest="rehearsal", action="store_true",
                       help=tr("ensayo: aceptar solo archivos de un ensayo («ensayo-…»); sin esta opción se rehúsan",
                               "rehearsal: accept only a rehearsal's files («ensayo-…»); without it they are refused"))
    kinds.add_argument("--practica", "--practice", dest="practice", action="store_true",
                       help=tr("elección de práctica: solo archivos «practica-…» (la llave de la práctica)",
                               "practice election: only «practica-…» files (the practice election's key)"))
    kinds.add_argument("--simulacro", "--drill", dest="drill", action="store_true",
                       help=tr("simulacro con el servidor: solo archivos «simulacro-…»",
                               "drill on the server: only «simulacro-…» files"))


def _board_check(p: argparse.ArgumentParser) -> None:
    """Options of the closed record's verification: processes and the batch security λ."""
    from sivei.cli.verify_cmd import lote_bits_argument

    p.add_argument("--jobs", type=int, default=None,
                   help=tr("procesos para verificar el tablero (por omisión, todos los núcleos)",
                           "processes to check the board (default: all cores)"))
    lote_bits_argument(p)


# -- handlers ---------------------------------------------------------------------------------------


def _token_init(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import tokens

    tokens.initialise_token(args.token, args.pkcs11_module, keys_only=args.keys_only, out=out)


def _token_show(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import tokens

    tokens.show_token(args.token, args.pkcs11_module, out)


def _keys_setup(args: argparse.Namespace, out: Out) -> None:
    from sivei.crypto.group import PRODUCTION_GROUP, TEST_GROUP
    from sivei_ceremonies import keygen

    group = TEST_GROUP if args.test_group else PRODUCTION_GROUP
    keygen.prepare(args.exchange, args.manifest, group, args.ceremony_id, args.n, args.t, args.names or [], out,
                   usb_path=args.usb_path, private_path=args.private_path)


def _keys_step(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import keygen

    args.abort_ceremony_id = _ceremony_id_of(args.exchange)
    keygen.keyholder_step(args.exchange, args.private, args.index, args.token, args.pkcs11_module,
                          expected_round=args.round, allow_test_group=args.test_group, out=out)


def _keys_collect(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import keygen

    args.abort_ceremony_id = _ceremony_id_of(args.exchange)
    keygen.coordinator_collect(args.exchange, allow_test_group=args.test_group, out=out)


def _ceremony_id_of(exchange: Path) -> str | None:
    from sivei_ceremonies import keygen
    from sivei_ceremonies.common import read_json

    try:
        data = read_json(exchange / keygen.SETUP_FILE)
    except Exception:
        return None
    value = data.get("ceremony_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _check_key(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import keycheck

    keycheck.prove_key(args.ceremony, args.private, args.index, args.token, args.pkcs11_module, args.challenge,
                       args.output, share_path=args.share, allow_test_group=args.test_group, out=out)


def _verify_key_check(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import keycheck

    keycheck.verify_key_proof(args.ceremony, args.proof, args.challenge, allow_test_group=args.test_group, out=out)


def _act_draft_opening(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import acts

    acts.draft_opening(args.ceremony, args.credentials, args.receipt_key, args.constancia, args.output,
                       allow_test_group=args.test_group, out=out)


def _act_draft_closing(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import acts

    acts.draft_closing(args.record, args.output, allow_test_group=args.test_group, out=out)


def _act_show(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import acts

    acts.show_act(args.act, args.ceremony, allow_test_group=args.test_group, out=out, printout=args.printout)


def _act_sign(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import acts

    acts.sign_act(args.act, args.index, args.token, args.pkcs11_module, args.output, ceremony=args.ceremony,
                  credentials=args.credentials, record=args.record, allow_test_group=args.test_group, out=out)


def _act_merge(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import acts

    acts.merge_act(args.act, args.signatures, args.output, ceremony=args.ceremony, record=args.record,
                   allow_test_group=args.test_group, out=out)


def _vault_export(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import vault

    vault.export(args.record, args.opening_id, args.output, allow_test_group=args.test_group, jobs=args.jobs,
                 lote_bits=args.lote_bits, out=out)


def _vault_decrypt(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import vault

    vault.decrypt(args.record, args.export, args.private, args.index, args.token, args.pkcs11_module, args.output,
                  share_path=args.share, allow_test_group=args.test_group, jobs=args.jobs,
                 lote_bits=args.lote_bits, out=out)


def _vault_combine(args: argparse.Namespace, out: Out) -> None:
    from sivei_ceremonies import vault

    vault.combine(args.record, args.export, args.shares, args.output, allow_test_group=args.test_group,
                  jobs=args.jobs, lote_bits=args.lote_bits, out=out)


# -- the parser -------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    top = subparsers.add_parser(
        "ceremonia", aliases=["ceremony"],
        help=tr("ceremonias de los custodios: tokens, llaves, actas, apertura de la bóveda",
                "key-holders' ceremonies: tokens, keys, acts, vault opening"),
        description=tr("Ceremonias de los custodios (guía: docs/ceremony.md).",
                       "Key-holders' ceremonies (guide: docs/ceremony.md)."))
    top.set_defaults(func=lambda _a: _no_subcommand(top))
    sub = top.add_subparsers(metavar=tr("SUBCOMANDO", "SUBCOMMAND"))

    # token
    token = sub.add_parser("token", help=tr("preparar o inspeccionar el token de un custodio",
                                            "prepare or inspect a key-holder's token"))
    token.set_defaults(func=lambda _a: _no_subcommand(token))
    tsub = token.add_subparsers(metavar=tr("SUBCOMANDO", "SUBCOMMAND"))
    p = tsub.add_parser("inicializar", aliases=["init"],
                        help=tr("inicializar un token (etiqueta, PIN SO, PIN de usuario) y generar sus llaves",
                                "initialise a token (label, SO PIN, user PIN) and generate its keys"))
    _token_args(p)
    p.add_argument("--solo-llaves", "--keys-only", dest="keys_only", action="store_true",
                   help=tr("el token ya está inicializado: solo generar las llaves",
                           "the token is already initialised: only generate the keys"))
    p.set_defaults(func=_handler(_token_init))
    p = tsub.add_parser("mostrar", aliases=["show"],
                        help=tr("mostrar la huella de la llave de firma y la protección de las llaves",
                                "show the signing key fingerprint and the keys' protection"))
    _token_args(p)
    p.set_defaults(func=_handler(_token_show))

    # keys
    keys = sub.add_parser("llaves", aliases=["keys"],
                          help=tr("ceremonia de generación de la llave de la elección",
                                  "election key-generation ceremony"))
    keys.set_defaults(func=lambda _a: _no_subcommand(keys))
    ksub = keys.add_subparsers(metavar=tr("SUBCOMANDO", "SUBCOMMAND"))
    p = ksub.add_parser("preparar", aliases=["setup"],
                        help=tr("(coordinador) crear la carpeta de intercambio de una ceremonia",
                                "(coordinator) create a ceremony's exchange folder"))
    p.add_argument("--intercambio", "--exchange", dest="exchange", type=Path, required=True,
                   metavar=tr("CARPETA", "FOLDER"), help=tr("carpeta de intercambio nueva", "new exchange folder"))
    p.add_argument("--manifiesto", "--manifest", dest="manifest", type=Path, required=True,
                   help=tr("manifiesto de la elección", "election manifest"))
    p.add_argument("--id", dest="ceremony_id", required=True,
                   help=tr("identificador de esta ceremonia (nuevo tras un aborto)",
                           "this ceremony's id (a new one after an abort)"))
    p.add_argument("--custodios", "--keyholders", dest="n", type=int, default=5, help=tr("n (5)", "n (5)"))
    p.add_argument("--umbral", "--threshold", dest="t", type=int, default=3, help=tr("t (3)", "t (3)"))
    p.add_argument("--nombre", "--name", dest="names", action="append",
                   help=tr("nombre de cada custodio, en orden (repetible)",
                           "each key-holder's name, in order (repeatable)"))
    p.add_argument("--ruta-memoria", "--usb-path", dest="usb_path", default="E:/ceremonia",
                   help=tr("cómo verán los custodios la carpeta de intercambio en su laptop (para sus tarjetas)",
                           "how key-holders will see the exchange folder on their laptop (for their cards)"))
    p.add_argument("--ruta-privada", "--private-path", dest="private_path", default="C:/custodio",
                   help=tr("la carpeta privada de cada custodio (para sus tarjetas)",
                           "each key-holder's private folder (for their cards)"))
    _test_group(p)
    p.set_defaults(func=_handler(_keys_setup))
    p = ksub.add_parser("paso", aliases=["step"],
                        help=tr("(custodio) el siguiente paso: lee el paquete del coordinador y escribe su sobre",
                                "(key-holder) the next step: reads the coordinator's bundle and writes your envelope"))
    p.add_argument("--intercambio", "--exchange", dest="exchange", type=Path, required=True,
                   metavar=tr("CARPETA", "FOLDER"), help=tr("carpeta de intercambio (memoria USB)",
                                                             "exchange folder (USB stick)"))
    _keyholder_args(p)
    p.add_argument("--ronda", "--round", dest="round", type=int, default=None,
                   help=tr("ronda que se espera hacer (0–4; 5 = conclusión); se rehúsa si no corresponde",
                           "round you expect to do (0–4; 5 = conclusion); refused if it does not match"))
    _test_group(p)
    p.set_defaults(func=_handler(_keys_step))
    p = ksub.add_parser("recoger", aliases=["collect"],
                        help=tr("(coordinador) comprobar y empaquetar los sobres de la ronda",
                                "(coordinator) check and bundle the round's envelopes"))
    p.add_argument("--intercambio", "--exchange", dest="exchange", type=Path, required=True,
                   metavar=tr("CARPETA", "FOLDER"), help=tr("carpeta de intercambio", "exchange folder"))
    _test_group(p)
    p.set_defaults(func=_handler(_keys_collect))

    # key check
    p = sub.add_parser("comprobar-llave", aliases=["check-key"],
                       help=tr("(custodio) probar que su token abre la parte que corresponde a su K_i",
                               "(key-holder) prove your token opens the share matching your K_i"))
    p.add_argument("--ceremonia", "--ceremony", dest="ceremony", type=Path, required=True,
                   help=tr("carpeta de la ceremonia o registro (con ceremony.json)",
                           "ceremony folder or record (with ceremony.json)"))
    _keyholder_args(p)
    p.add_argument("--reto", "--challenge", dest="challenge", required=True,
                   help=tr("texto nuevo que dicta el auditor", "fresh text the auditor dictates"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("archivo de la prueba", "proof file"))
    p.add_argument("--parte", "--share", dest="share", type=Path, default=None,
                   help=tr("archivo sellado de la parte (por omisión, el de su carpeta)",
                           "sealed share file (default: the one in your folder)"))
    _test_group(p)
    p.set_defaults(func=_handler(_check_key))
    p = sub.add_parser("verificar-comprobacion", aliases=["verify-key-check"],
                       help=tr("(cualquiera) verificar la prueba de un custodio",
                               "(anyone) verify a key-holder's proof"))
    p.add_argument("--ceremonia", "--ceremony", dest="ceremony", type=Path, required=True,
                   help=tr("carpeta de la ceremonia o registro", "ceremony folder or record"))
    p.add_argument("--prueba", "--proof", dest="proof", type=Path, required=True, help=tr("archivo de la prueba",
                                                                                          "proof file"))
    p.add_argument("--reto", "--challenge", dest="challenge", required=True,
                   help=tr("el reto que usted dictó (obligatorio: una prueba sin él no demuestra nada)",
                           "the challenge you dictated (required: a proof without it proves nothing)"))
    _test_group(p)
    p.set_defaults(func=_handler(_verify_key_check))

    # acts
    act = sub.add_parser("acta", aliases=["act"], help=tr("actas de inicio y de cierre", "opening and closing acts"))
    act.set_defaults(func=lambda _a: _no_subcommand(act))
    asub = act.add_subparsers(metavar=tr("SUBCOMANDO", "SUBCOMMAND"))
    p = asub.add_parser("borrador-inicio", aliases=["draft-opening"],
                        help=tr("(coordinador) redactar el acta de inicio", "(coordinator) draft the opening act"))
    p.add_argument("--ceremonia", "--ceremony", dest="ceremony", type=Path, required=True,
                   help=tr("carpeta de la ceremonia de llaves", "key ceremony folder"))
    p.add_argument("--credenciales", "--credentials", dest="credentials", type=Path, required=True,
                   help=tr("carpeta con la lista firmada de credenciales", "folder with the signed credential list"))
    p.add_argument("--llave-recibos", "--receipt-key", dest="receipt_key", type=Path, required=True,
                   help=tr("llave pública de recibos del servidor (PEM o hex)",
                           "server receipt public key (PEM or hex)"))
    p.add_argument("--constancia", dest="constancia", type=Path, required=True,
                   help=tr("constancia de integridad del servidor (sivei integridad --json)",
                           "server integrity constancia (sivei integridad --json)"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True, help=tr("acta (JSON)",
                                                                                            "act (JSON)"))
    _test_group(p)
    p.set_defaults(func=_handler(_act_draft_opening))
    p = asub.add_parser("borrador-cierre", aliases=["draft-closing"],
                        help=tr("(coordinador) redactar el acta de cierre desde el registro cerrado",
                                "(coordinator) draft the closing act from the closed record"))
    p.add_argument("--registro", "--record", dest="record", type=Path, required=True,
                   help=tr("registro cerrado", "closed record"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True, help=tr("acta (JSON)",
                                                                                            "act (JSON)"))
    _test_group(p)
    p.set_defaults(func=_handler(_act_draft_closing))
    p = asub.add_parser("mostrar", aliases=["show"],
                        help=tr("imprimir un acta para firma autógrafa", "print an act for autograph signature"))
    p.add_argument("act", type=Path, metavar=tr("ACTA", "ACT"))
    p.add_argument("--imprimir", "--print", dest="printout", type=Path, default=None,
                   metavar=tr("ARCHIVO.pdf", "FILE.pdf"),
                   help=tr("escribir el acta para imprimir, con líneas de firma (PDF; y .txt al lado)",
                           "write the act for printing, with signature lines (PDF; and .txt beside it)"))
    p.add_argument("--ceremonia", "--ceremony", dest="ceremony", type=Path, default=None,
                   help=tr("comprobar sus firmas con las llaves de esta ceremonia o registro",
                           "check its signatures against this ceremony's or record's keys"))
    _test_group(p)
    p.set_defaults(func=_handler(_act_show))
    p = asub.add_parser("firmar", aliases=["sign"],
                        help=tr("(custodio) recalcular el acta y firmarla con su token",
                                "(key-holder) recompute the act and sign it with your token"))
    p.add_argument("act", type=Path, metavar=tr("ACTA", "ACT"))
    p.add_argument("--custodio", "--keyholder", dest="index", type=int, required=True, metavar="I",
                   help=tr("su número de custodio", "your key-holder number"))
    _token_args(p)
    p.add_argument("--ceremonia", "--ceremony", dest="ceremony", type=Path, default=None,
                   help=tr("carpeta de la ceremonia de llaves (acta de inicio)", "key ceremony folder (opening act)"))
    p.add_argument("--credenciales", "--credentials", dest="credentials", type=Path, default=None,
                   help=tr("lista firmada de credenciales (acta de inicio)", "signed credential list (opening act)"))
    p.add_argument("--registro", "--record", dest="record", type=Path, default=None,
                   help=tr("registro cerrado (acta de cierre; o de inicio)", "closed record (closing act; or opening)"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("archivo de su firma", "your signature file"))
    _test_group(p)
    p.set_defaults(func=_handler(_act_sign))
    p = asub.add_parser("reunir", aliases=["merge"],
                        help=tr("(coordinador) reunir y comprobar las firmas",
                                "(coordinator) merge and check the signatures"))
    p.add_argument("act", type=Path, metavar=tr("ACTA", "ACT"))
    p.add_argument("signatures", type=Path, nargs="+", metavar=tr("FIRMA", "SIGNATURE"))
    p.add_argument("--ceremonia", "--ceremony", dest="ceremony", type=Path, default=None,
                   help=tr("carpeta de la ceremonia de llaves", "key ceremony folder"))
    p.add_argument("--registro", "--record", dest="record", type=Path, default=None,
                   help=tr("registro: se toman de ahí las llaves y se le incorpora el acta firmada",
                           "record: the keys come from it and the signed act is added to it"))
    p.add_argument("--salida", "--output", dest="output", type=Path, default=None,
                   help=tr("acta firmada (JSON)", "signed act (JSON)"))
    _test_group(p)
    p.set_defaults(func=_handler(_act_merge))

    # vault
    v = sub.add_parser("boveda", aliases=["vault"],
                       help=tr("apertura de la bóveda: descifrado del recuento", "vault opening: decrypting the tally"))
    v.set_defaults(func=lambda _a: _no_subcommand(v))
    vsub = v.add_subparsers(metavar=tr("SUBCOMANDO", "SUBCOMMAND"))
    p = vsub.add_parser("exportar", aliases=["export"],
                        help=tr("(coordinador) verificar el registro cerrado y exportar el recuento cifrado",
                                "(coordinator) verify the closed record and export the encrypted tally"))
    p.add_argument("--registro", "--record", dest="record", type=Path, required=True, help=tr("registro cerrado",
                                                                                              "closed record"))
    p.add_argument("--apertura", "--opening-id", dest="opening_id", required=True,
                   help=tr("identificador de esta apertura de la bóveda", "this vault opening's id"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("archivo de exportación", "export file"))
    _test_group(p)
    _board_check(p)
    p.set_defaults(func=_handler(_vault_export))
    p = vsub.add_parser("descifrar", aliases=["decrypt"],
                        help=tr("(custodio) verificar el registro cerrado y producir su parte de descifrado",
                                "(key-holder) verify the closed record and produce your decryption share"))
    p.add_argument("--registro", "--record", dest="record", type=Path, required=True, help=tr("registro cerrado",
                                                                                              "closed record"))
    p.add_argument("--exportacion", "--export", dest="export", type=Path, required=True,
                   help=tr("exportación del coordinador", "the coordinator's export"))
    _keyholder_args(p)
    p.add_argument("--parte", "--share", dest="share", type=Path, default=None,
                   help=tr("archivo sellado de la parte (por omisión, el de su carpeta)",
                           "sealed share file (default: the one in your folder)"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("archivo de su parte de descifrado (con voto presencial, también «…-canales.json» a su "
                           "lado: la parte de los resultados por canal)",
                           "your decryption share file (with in-person voting, also «…-canales.json» beside it: "
                           "the share of the results per channel)"))
    _test_group(p)
    _board_check(p)
    p.set_defaults(func=_handler(_vault_decrypt))
    p = vsub.add_parser("combinar", aliases=["combine"],
                        help=tr("(coordinador) combinar al menos t partes y completar el registro",
                                "(coordinator) combine at least t shares and complete the record"))
    p.add_argument("--registro", "--record", dest="record", type=Path, required=True, help=tr("registro cerrado",
                                                                                              "closed record"))
    p.add_argument("--exportacion", "--export", dest="export", type=Path, required=True,
                   help=tr("exportación de la bóveda", "vault export"))
    p.add_argument("--partes", "--shares", dest="shares", type=Path, nargs="+", required=True,
                   help=tr("archivos de las partes de descifrado (con voto presencial, también las "
                           "«…-canales.json»)", "decryption share files (with in-person voting, the "
                           "«…-canales.json» too)"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("registro completo (carpeta nueva)", "complete record (new folder)"))
    _test_group(p)
    _board_check(p)
    p.set_defaults(func=_handler(_vault_combine))
