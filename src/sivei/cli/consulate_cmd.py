"""``sivei consulado``: a consulate's key and the signature of its log of voters served (§20).

* ``llave`` (``key``): create the consulate's log key — inside a PKCS#11 token (``--token LABEL``,
  non-extractable, as the key-holders' keys; the PIN from ``SIVEI_PIN`` or typed) or as an encrypted
  P-256 key file (``--salida FILE``; passphrase from ``SIVEI_CONSULADO_PASSPHRASE`` or typed). It prints
  the public key (hex) for the manifest's ``in_person.consulates[].log_key`` and its fingerprint, to
  read aloud when the manifest is reviewed.
* ``firmar`` (``sign``): at the consulate's close, sign the log downloaded from the official's page
  (``bitacora-<C>-sin-firmar.json``) after showing what it says (how many people served, its
  fingerprint); the signed file is uploaded on the same page and goes into the election record.

The signature is the project's envelope (ECDSA P-256 over the content hash, low s, ``sivei.crypto.
envelope``), like every other signed message; the verifier checks it with the key the manifest names.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from sivei.ballot.credentials import authority_fingerprint, create_authority_key, load_authority_key
from sivei.ballot.in_person import InPersonError, parse_log_body, sign_log_draft
from sivei.crypto.ecdsa import Signer
from sivei.crypto.envelope import envelope_content_hash
from sivei.crypto.fingerprint import fingerprint
from sivei.custody.token import TokenSession
from sivei.errors import SiveiError
from sivei.i18n import tr

PASSPHRASE_ENV = "SIVEI_CONSULADO_PASSPHRASE"  # noqa: S105 - a variable name
TOKEN_KEY_LABEL = "sivei-bitacora"  # noqa: S105 - a key label


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "consulado", aliases=["consulate"],
        help=tr("consulados: la llave del consulado y la firma de su bitácora de personas atendidas",
                "consulates: the consulate's key and the signature of its log of voters served"))
    parser.set_defaults(func=lambda _args: _no_subcommand(parser))
    sub = parser.add_subparsers(dest="consulate_command", metavar=tr("SUBCOMANDO", "SUBCOMMAND"))

    p = sub.add_parser("llave", aliases=["key"], help=tr("crear la llave de bitácora del consulado",
                                                         "create the consulate's log key"))
    _key_args(p, new=True)
    p.set_defaults(func=cmd_key)

    p = sub.add_parser("firmar", aliases=["sign"], help=tr("firmar la bitácora de personas atendidas",
                                                           "sign the log of voters served"))
    p.add_argument("--bitacora", "--log", dest="log", type=Path, required=True,
                   help=tr("bitácora sin firmar (de la página del consulado)",
                           "unsigned log (from the consulate's page)"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("bitácora firmada a escribir (no se sobrescribe)",
                           "signed log to write (never overwritten)"))
    _key_args(p, new=False)
    p.set_defaults(func=cmd_sign)


def _key_args(p: argparse.ArgumentParser, *, new: bool) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--token", help=tr("etiqueta del token PKCS#11 del consulado (PIN en SIVEI_PIN)",
                                          "label of the consulate's PKCS#11 token (PIN in SIVEI_PIN)"))
    if new:
        where.add_argument("--salida", "--output", dest="key_file", type=Path,
                           help=tr("archivo de llave cifrado a crear", "encrypted key file to create"))
    else:
        where.add_argument("--llave", "--key", dest="key_file", type=Path,
                           help=tr("archivo de llave cifrado del consulado", "the consulate's encrypted key file"))
    p.add_argument("--modulo", "--module", dest="module", default=None,
                   help=tr("biblioteca PKCS#11 (por omisión SoftHSM2)", "PKCS#11 library (default SoftHSM2)"))


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _passphrase(*, new: bool) -> bytes:
    import getpass

    value = os.environ.get(PASSPHRASE_ENV)
    if value is None:
        if not sys.stdin.isatty():
            raise SiveiError(tr(f"falta la frase de paso de la llave del consulado: defina {PASSPHRASE_ENV}",
                                f"the consulate key's passphrase is missing: set {PASSPHRASE_ENV}"))
        value = getpass.getpass(tr("Frase de paso de la llave del consulado: ", "Consulate key passphrase: "))
        if new and value != getpass.getpass(tr("Repítala: ", "Repeat it: ")):
            raise SiveiError(tr("las frases de paso no coinciden", "the passphrases do not match"))
    if new and len(value) < 12:
        raise SiveiError(tr("la frase de paso debe tener al menos 12 caracteres",
                            "the passphrase must have at least 12 characters"))
    return value.encode("utf-8")


def _token_session(args: argparse.Namespace) -> TokenSession:
    from sivei.custody import read_pin
    from sivei.custody.token import open_token

    return open_token(args.token, read_pin(tr("PIN del token del consulado", "consulate token PIN")), args.module)


def cmd_key(args: argparse.Namespace) -> int:
    if args.token:
        session = _token_session(args)
        try:
            public = session.generate_signing_key(TOKEN_KEY_LABEL).public_key
        finally:
            session.close()
        where = tr(f"en el token «{args.token}» (etiqueta {TOKEN_KEY_LABEL})",
                   f"in token «{args.token}» (label {TOKEN_KEY_LABEL})")
    else:
        public = create_authority_key(args.key_file, _passphrase(new=True)).public_key
        where = str(args.key_file)
    print(tr(f"Llave de bitácora del consulado creada {where}.", f"Consulate log key created {where}."))
    print(tr("Llave pública (para «log_key» del manifiesto):", "Public key (for the manifest's «log_key»):"))
    print(f"  {public.hex()}")
    print(tr("Huella (léala en voz alta al revisar el manifiesto):",
             "Fingerprint (read it aloud when the manifest is reviewed):"), authority_fingerprint(public))
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    output: Path = args.output
    if output.exists():
        raise SiveiError(tr(f"{output} ya existe: no se sobrescribe", f"{output} already exists: not overwritten"))
    try:
        draft = json.loads(Path(args.log).read_text(encoding="utf-8"))
        log = parse_log_body(draft.get("body") if isinstance(draft, dict) else None, "body")
    except (OSError, ValueError, InPersonError) as exc:
        raise SiveiError(tr(f"{args.log}: no es una bitácora sin firmar: {exc}",
                            f"{args.log}: not an unsigned log: {exc}")) from exc
    print(tr(f"Consulado {log.consulate}: {log.registered_served} votantes registrados atendidos, "
             f"{len(log.unregistered)} personas sin registro previo atendidas.",
             f"Consulate {log.consulate}: {log.registered_served} registered voters served, "
             f"{len(log.unregistered)} voters without prior registration served."))
    print(tr("Compare estos números con la lista en papel del consulado antes de firmar.",
             "Compare these numbers with the consulate's paper list before signing."))
    session: TokenSession | None = None
    try:
        signer: Signer
        if args.token:
            session = _token_session(args)
            signer = session.signer(TOKEN_KEY_LABEL)
        else:
            signer = load_authority_key(args.key_file, _passphrase(new=False))
        envelope = sign_log_draft(draft, signer)
    finally:
        if session is not None:
            session.close()
    digest = envelope_content_hash(envelope.type, envelope.election_id, envelope.ceremony_id, envelope.round,
                                   envelope.sender, envelope.previous, envelope.body)
    output.write_text(json.dumps(envelope.to_json(), indent=1) + "\n", encoding="utf-8")
    print(tr(f"Bitácora firmada escrita en {output} (huella {fingerprint(digest)}): súbala en la página del "
             "consulado.",
             f"Signed log written to {output} (fingerprint {fingerprint(digest)}): upload it on the consulate's "
             "page."))
    print(tr("Llave que firmó:", "Signing key:"), authority_fingerprint(signer.public_key))
    return 0
