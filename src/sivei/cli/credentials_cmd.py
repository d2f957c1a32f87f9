"""``sivei credenciales``: the credential authority's commands (the voter registry, not the operator).

Subcommands (Spanish, with English aliases):

- ``llave`` (``key``): create the authority's P-256 signing key, an encrypted PKCS#8 PEM.
- ``generar`` (``generate``): roll CSV + manifest + the authority key → ``SALIDA/lista`` (unsigned list),
  and with ``--practica PRACTICA.json`` also ``SALIDA/practica/{lista,servidor}``: the practice
  election's list and sealed tokens from the SAME credentials (one letter for both elections),
  ``SALIDA/entregas`` (mail-merge CSV with each voter's voting link, QR codes of the links, letters:
  private; with in-person voting, each consulate's pool as cards in ``entregas/consulados/<C>/``),
  ``SALIDA/lista/consulados.json`` (the public declaration of the consulates' credentials, signed
  through the list's ``in_person_hash``), ``SALIDA/servidor/sealed-tokens.jsonl`` (each voter's
  credential token, sealed under their credential, for the voting server's operator) and
  ``SALIDA/custodia`` (sealed escrow, unless ``--olvidar``).
- ``publicar`` (``publish``): sign the list with the authority key and write the public list.
- ``reenviar`` (``redeliver``): after an identity check, one voter's message again (the same credential
  and link), from the escrow; every re-delivery is logged in ``custodia/reenvios.jsonl``.
- ``verificar-lista`` (``check-list``): verify a published list against a manifest.

Passphrases come from ``SIVEI_AUTORIDAD_PASSPHRASE`` (signing key) and ``SIVEI_CUSTODIA_PASSPHRASE``
(escrow key), or are asked for without echo; they are never printed or logged. Output directories are
built beside their final place and renamed into it, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sivei.ballot import credentials as cr
from sivei.ballot.credential_tokens import SEALED_FILE, SealedTokens, seal_tokens
from sivei.ballot.in_person import DECLARATION_FILE, InPersonDeclaration
from sivei.ballot.manifest import Manifest, load_manifest
from sivei.crypto.ecdsa import key_fingerprint_digest
from sivei.crypto.fingerprint import fingerprint, matches_fingerprint
from sivei.errors import SiveiError
from sivei.i18n import tr

AUTHORITY_PASSPHRASE_ENV = "SIVEI_AUTORIDAD_PASSPHRASE"  # noqa: S105 - a variable name
ESCROW_PASSPHRASE_ENV = "SIVEI_CUSTODIA_PASSPHRASE"  # noqa: S105 - a variable name
MIN_PASSPHRASE_CHARS = 12
LIST_SUBDIR = "lista"
DELIVERIES_SUBDIR = "entregas"
ESCROW_SUBDIR = "custodia"
SERVER_SUBDIR = "servidor"
PRACTICE_SUBDIR = "practica"
REDELIVERY_LOG = "reenvios.jsonl"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "credenciales", aliases=["credentials"],
        help=tr("autoridad de credenciales: llaves, generación, publicación y reenvío",
                "credential authority: keys, generation, publication and re-delivery"),
        description=tr("Comandos de la autoridad de credenciales (el padrón, no el operador del servidor).",
                       "Commands of the credential authority (the voter registry, not the server operator)."))
    parser.set_defaults(func=lambda _args: _no_subcommand(parser))
    sub = parser.add_subparsers(dest="credentials_command", metavar=tr("SUBCOMANDO", "SUBCOMMAND"))

    p = sub.add_parser("llave", aliases=["key"],
                       help=tr("crear la llave de firma de la autoridad (PEM cifrado)",
                               "create the authority's signing key (encrypted PEM)"))
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("archivo PEM a crear (no se sobrescribe)",
                           "PEM file to create (never overwritten)"))
    p.set_defaults(func=cmd_key)

    p = sub.add_parser("generar", aliases=["generate"],
                       help=tr("generar credenciales, entregas y custodia a partir del padrón",
                               "generate credentials, deliveries and escrow from the roll"))
    _manifest_arg(p)
    p.add_argument("--padron", "--roll", dest="roll", type=Path, required=True,
                   help=tr("padrón CSV (voter_id,entity,name,email)",
                           "roll CSV (voter_id,entity,name,email)"))
    p.add_argument("--llave", "--key", dest="key", type=Path, required=True,
                   help=tr("llave de la autoridad (PEM cifrado): firma la ficha de cada votante",
                           "authority key (encrypted PEM): signs each voter's credential token"))
    _site_arg(p)
    p.add_argument("--salida", "--output", dest="output", type=Path, required=True,
                   help=tr("directorio nuevo de salida", "new output directory"))
    p.add_argument("--practica", "--practice", dest="practice", type=Path, default=None,
                   metavar=tr("PRACTICA.json", "PRACTICE.json"),
                   help=tr("también la lista y las fichas de la elección de práctica, con las mismas credenciales",
                           "also the practice election's list and tokens, from the same credentials"))
    p.add_argument("--olvidar", "--forget", dest="forget", action="store_true",
                   help=tr("no guardar las credenciales tras entregarlas (sin recuperación posible)",
                           "do not keep the credentials after delivery (no recovery possible)"))
    p.add_argument("--sin-cartas", "--no-letters", dest="no_letters", action="store_true",
                   help=tr("solo el archivo de combinación de correspondencia, sin cartas",
                           "only the mail-merge file, no letters"))
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("publicar", aliases=["publish"],
                       help=tr("firmar y escribir la lista pública de credenciales",
                               "sign and write the public credential list"))
    _manifest_arg(p)
    p.add_argument("--lista", "--list", dest="list_dir", type=Path, required=True,
                   help=tr("directorio de la lista sin firmar (SALIDA/lista de «generar»)",
                           "directory of the unsigned list (OUTPUT/lista from «generate»)"))
    p.add_argument("--llave", "--key", dest="key", type=Path, required=True,
                   help=tr("llave de la autoridad (PEM cifrado)", "authority key (encrypted PEM)"))
    p.add_argument("--salida", "--output", dest="output", type=Path,
                   help=tr("directorio de la lista publicada (por omisión, el de --lista)",
                           "directory of the published list (default: the --list one)"))
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("reenviar", aliases=["redeliver"],
                       help=tr("tras verificar su identidad, volver a enviar a un votante su mensaje (la misma "
                               "credencial y el mismo enlace) desde la custodia",
                               "after an identity check, send one voter their message again (the same "
                               "credential and link) from the escrow"))
    _manifest_arg(p)
    _site_arg(p)
    p.add_argument("--verificacion", "--identity-check", dest="check", required=True,
                   help=tr("cómo se verificó la identidad (se registra en custodia/reenvios.jsonl)",
                           "how the identity was verified (logged in custodia/reenvios.jsonl)"))
    p.add_argument("--custodia", "--escrow", dest="escrow", type=Path, required=True,
                   help=tr("directorio de la custodia (SALIDA/custodia de «generar»)",
                           "escrow directory (OUTPUT/custodia from «generate»)"))
    p.add_argument("--votante", "--voter", dest="voter", required=True,
                   help=tr("identificador del votante", "voter id"))
    p.add_argument("--lista", "--list", dest="list_dir", type=Path,
                   help=tr("lista publicada: comprobar que la credencial está en ella",
                           "published list: check that the credential is on it"))
    p.add_argument("--salida", "--output", dest="output", type=Path,
                   help=tr("directorio donde escribir la carta, el código QR y la fila de correspondencia "
                           "(por omisión, la carta a la salida estándar)",
                           "directory to write the letter, the QR code and the mail-merge row to "
                           "(default: the letter to standard output)"))
    p.set_defaults(func=cmd_redeliver)

    p = sub.add_parser("verificar-lista", aliases=["check-list"],
                       help=tr("verificar una lista publicada contra el manifiesto",
                               "verify a published list against the manifest"))
    _manifest_arg(p)
    p.add_argument("--lista", "--list", dest="list_dir", type=Path, required=True,
                   help=tr("directorio de la lista publicada", "directory of the published list"))
    p.add_argument("--autoridad", "--authority", dest="authority",
                   help=tr("llave esperada de la autoridad: hexadecimal (130 dígitos) o su huella",
                           "expected authority key: hex (130 digits) or its fingerprint"))
    p.set_defaults(func=cmd_check_list)


def _manifest_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--manifiesto", "--manifest", dest="manifest", type=Path, required=True,
                   help=tr("manifiesto de la elección (JSON)", "election manifest (JSON)"))


def _site_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sitio", "--site", dest="site", type=_site, required=True,
                   help=tr("dirección del sitio de votación (https://…): los enlaces son SITIO/votar#credencial=…",
                           "the voting site's address (https://…): links are SITE/votar#credencial=…"))


def _site(text: str) -> str:
    try:
        return cr.site_url(text)
    except cr.CredentialError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


# -- passphrases ---------------------------------------------------------------------------------


def _passphrase(env: str, what_es: str, what_en: str, *, new: bool) -> bytes:
    """From the environment variable, or asked twice (new) / once without echo; never printed."""
    value = os.environ.get(env)
    if value is None:
        if not sys.stdin.isatty():
            raise cr.CredentialError(tr(
                f"falta la frase de paso de {what_es}: defina {env} o ejecute en una terminal",
                f"the {what_en} passphrase is missing: set {env} or run in a terminal"))
        value = getpass.getpass(tr(f"Frase de paso de {what_es}: ", f"Passphrase for the {what_en}: "))
        if new and value != getpass.getpass(tr("Repítala: ", "Repeat it: ")):
            raise cr.CredentialError(tr("las frases de paso no coinciden", "the passphrases do not match"))
    if new and len(value) < MIN_PASSPHRASE_CHARS:
        raise cr.CredentialError(tr(
            f"la frase de paso de {what_es} debe tener al menos {MIN_PASSPHRASE_CHARS} caracteres",
            f"the {what_en} passphrase must have at least {MIN_PASSPHRASE_CHARS} characters"))
    if not value:
        raise cr.CredentialError(tr(f"la frase de paso de {what_es} está vacía",
                                    f"the {what_en} passphrase is empty"))
    return value.encode("utf-8")


def _authority_passphrase(*, new: bool) -> bytes:
    return _passphrase(AUTHORITY_PASSPHRASE_ENV, "la llave de la autoridad", "authority key", new=new)


def _escrow_passphrase(*, new: bool) -> bytes:
    return _passphrase(ESCROW_PASSPHRASE_ENV, "la custodia", "escrow", new=new)


# -- output directories --------------------------------------------------------------------------


@contextlib.contextmanager
def _new_directory(target: Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``target`` that becomes ``target`` only on success."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise cr.CredentialError(tr(f"{target} ya existe y no está vacío: elija otro directorio",
                                    f"{target} already exists and is not empty: choose another directory"))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            target.rmdir()
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _print_counts(counts: dict[str, int]) -> None:
    width = max((len(s) for s in counts), default=0)
    for style, n in sorted(counts.items()):
        print(f"  {style:<{width}}  {n:>9}")
    print(f"  {'':<{width}}  {sum(counts.values()):>9}  " + tr("en total", "in total"))


# -- commands ------------------------------------------------------------------------------------


def cmd_key(args: argparse.Namespace) -> int:
    output: Path = args.output
    if output.exists():
        raise cr.CredentialError(tr(f"{output} ya existe: no se sobrescribe una llave",
                                    f"{output} already exists: a key is never overwritten"))
    signer = cr.create_authority_key(output, _authority_passphrase(new=True))
    print(tr(f"Llave de la autoridad creada: {output}", f"Authority key created: {output}"))
    print(tr("Llave pública:", "Public key:"), signer.public_key.hex())
    print(tr("Huella (compárela en voz alta en la ceremonia):",
             "Fingerprint (compare it aloud at the ceremony):"), cr.authority_fingerprint(signer.public_key))
    return 0


def _practice_manifest(args: argparse.Namespace, real: Manifest) -> Manifest | None:
    from sivei.election_kind import kind_of

    if args.practice is None:
        return None
    practice = load_manifest(args.practice)
    if kind_of(practice.election_id) != "practice" or practice.election_id != "practica-" + real.election_id:
        raise cr.CredentialError(tr(
            f"{args.practice}: no es la elección de práctica de «{real.election_id}» (se espera «practica-"
            f"{real.election_id}», de «sivei manifiesto derivar --practica»)",
            f"{args.practice}: not the practice election of «{real.election_id}» (expected «practica-"
            f"{real.election_id}», from «sivei manifest derive --practice»)"))
    if {e.code: e.ballot_style for e in practice.entities} != {e.code: e.ballot_style for e in real.entities}:
        raise cr.CredentialError(tr(f"{args.practice}: sus entidades y boletas no son las de la elección real",
                                    f"{args.practice}: its entities and ballots are not the real election's"))
    return practice


def cmd_generate(args: argparse.Namespace) -> int:
    manifest = load_manifest(args.manifest)
    practice = _practice_manifest(args, manifest)
    roll = cr.read_roll(args.roll, manifest)
    retain = not args.forget
    signer = cr.load_authority_key(args.key, _authority_passphrase(new=False))
    passphrase = _escrow_passphrase(new=True) if retain else None
    output: Path = args.output
    with _new_directory(output) as tmp:
        generated = cr.generate_credentials(manifest, roll, retain=retain)
        generated.draft.write(tmp / LIST_SUBDIR)
        if generated.declaration is not None:
            _write_declaration(tmp / LIST_SUBDIR, generated.declaration)
            cr.write_pool_cards(tmp / DELIVERIES_SUBDIR, manifest, generated.pools, site=args.site)
        seal_tokens(manifest.election_id, generated.deliveries, signer).write(tmp / SERVER_SUBDIR / SEALED_FILE)
        cr.write_deliveries(tmp / DELIVERIES_SUBDIR, manifest, generated.deliveries, retained=retain,
                            site=args.site, letters=not args.no_letters)
        if passphrase is not None:
            cr.Escrow.create(tmp / ESCROW_SUBDIR, manifest.election_id, generated.deliveries, passphrase,
                             opslimit=cr.DEFAULT_OPSLIMIT, memlimit=cr.DEFAULT_MEMLIMIT)
        if practice is not None:
            draft = cr.draft_for_same_credentials(practice, generated.deliveries, retain=retain, roll=roll,
                                                  pools=generated.pools)
            draft.write(tmp / PRACTICE_SUBDIR / LIST_SUBDIR)
            practice_declaration = cr.in_person_declaration(practice, generated.deliveries, roll, generated.pools)
            if practice_declaration is not None:
                _write_declaration(tmp / PRACTICE_SUBDIR / LIST_SUBDIR, practice_declaration)
            seal_tokens(practice.election_id, generated.deliveries, signer).write(
                tmp / PRACTICE_SUBDIR / SERVER_SUBDIR / SEALED_FILE)
    print(tr(f"{len(roll)} credenciales generadas para la elección {manifest.election_id}.",
             f"{len(roll)} credentials generated for election {manifest.election_id}."))
    for code, pool in generated.pools.items():
        where = output / DELIVERIES_SUBDIR / cr.POOL_DIR / code
        print(tr(f"Consulado {code}: {len(pool)} tarjetas para personas sin registro previo en {where} "
                 "(PRIVADAS: imprímalas y séllelas para el consulado)",
                 f"Consulate {code}: {len(pool)} cards for voters without prior registration in {where} "
                 "(PRIVATE: print and seal them for the consulate)"))
    print(tr("Por estilo de boleta:", "Per ballot style:"))
    _print_counts(dict(generated.draft.counts))
    print(tr(f"Lista sin firmar:   {output / LIST_SUBDIR}  (firme con «sivei credenciales publicar»)",
             f"Unsigned list:      {output / LIST_SUBDIR}  (sign with «sivei credentials publish»)"))
    print(tr(f"Entregas PRIVADAS:  {output / DELIVERIES_SUBDIR}  (nunca pasan por el servidor de votación)",
             f"PRIVATE deliveries: {output / DELIVERIES_SUBDIR}  (never go through the voting server)"))
    print(tr(f"Fichas selladas:    {output / SERVER_SUBDIR / SEALED_FILE}  (para el operador del servidor, "
             "con la lista publicada)",
             f"Sealed tokens:      {output / SERVER_SUBDIR / SEALED_FILE}  (for the server's operator, with "
             "the published list)"))
    if practice is not None:
        print(tr(f"Práctica:           {output / PRACTICE_SUBDIR}  (lista y fichas de {practice.election_id} con las "
                 "MISMAS credenciales; publíquela con «sivei credenciales publicar --manifiesto PRACTICA.json»)",
                 f"Practice:           {output / PRACTICE_SUBDIR}  (list and tokens of {practice.election_id} from the "
                 "SAME credentials; publish it with «sivei credentials publish --manifest PRACTICE.json»)"))
    if retain:
        print(tr(f"Custodia sellada:   {output / ESCROW_SUBDIR}",
                 f"Sealed escrow:      {output / ESCROW_SUBDIR}"))
    else:
        print(tr("Sin custodia (--olvidar): destruya las entregas después de enviarlas.",
                 "No escrow (--forget): destroy the deliveries once sent."))
    return 0


def _write_declaration(directory: Path, declaration: InPersonDeclaration) -> None:
    cr.write_text_atomic(directory / DECLARATION_FILE,
                         json.dumps(declaration.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n")


def read_declaration(directory: Path) -> InPersonDeclaration:
    """The consulates' declaration beside a list (``consulados.json``)."""
    path = directory / DECLARATION_FILE
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise cr.CredentialError(tr(f"no se puede leer {path}: la elección tiene voto en consulados",
                                    f"cannot read {path}: the election has in-person voting")) from exc
    return InPersonDeclaration.from_json(obj, str(path))


def _check_declaration(manifest: Manifest, directory: Path, entries: tuple[cr.CredentialEntry, ...],
                       stated: object) -> list[str]:
    if manifest.in_person is None:
        return []
    try:
        declaration = read_declaration(directory)
    except SiveiError as exc:
        return [str(exc)]
    return declaration.problems(manifest, {e.public_key: e.ballot_style for e in entries}, stated)


def cmd_publish(args: argparse.Namespace) -> int:
    manifest = load_manifest(args.manifest)
    draft = cr.CredentialListDraft.read(args.list_dir, manifest)
    problems = _check_declaration(manifest, Path(args.list_dir), draft.entries,
                                  draft.in_person_hash.hex() if draft.in_person_hash else None)
    if problems:
        raise cr.CredentialError(problems[0])
    output: Path = args.output or args.list_dir
    if (output / cr.LIST_FILE).exists():
        existing = output / cr.LIST_FILE
        raise cr.CredentialError(tr(f"{existing} ya existe: la lista ya se publicó",
                                    f"{existing} already exists: the list was already published"))
    signer = cr.load_authority_key(args.key, _authority_passphrase(new=False))
    sealed_path = Path(args.list_dir).parent / SERVER_SUBDIR / SEALED_FILE
    if sealed_path.exists() and SealedTokens.read(sealed_path).authority_key != signer.public_key:
        raise cr.CredentialError(tr(
            f"{sealed_path}: las fichas se firmaron con otra llave; el servidor las rechazaría. Publique con "
            "la llave usada en «generar»",
            f"{sealed_path}: the tokens were signed with another key; the server would refuse them. Publish "
            "with the key used in «generate»"))
    signed = cr.sign_credential_list(draft, signer)
    declaration = read_declaration(Path(args.list_dir)) if manifest.in_person is not None else None
    if output.exists():
        if declaration is not None and output.resolve() != Path(args.list_dir).resolve():
            _write_declaration(output, declaration)
        signed.write(output)  # entries first, the signed list last: each file through a rename
    else:
        with _new_directory(output) as tmp:
            if declaration is not None:
                _write_declaration(tmp, declaration)
            signed.write(tmp)
    print(tr(f"Lista de credenciales publicada en {output}", f"Credential list published in {output}"))
    _print_summary(signed)
    return 0


def _print_summary(lst: cr.CredentialList) -> None:
    print(tr("Huella de la lista:          ", "List fingerprint:            "), fingerprint(lst.hash))
    print(tr("Hash de la lista:            ", "List hash:                   "), lst.hash.hex())
    print(tr("Huella de la autoridad:      ", "Authority fingerprint:       "),
          cr.authority_fingerprint(lst.authority_key))
    print(tr("Conserva las credenciales:   ", "Keeps the credentials:       "),
          tr("sí", "yes") if lst.retains_credentials else tr("no", "no"))
    print(tr("Credenciales por estilo de boleta:", "Credentials per ballot style:"))
    _print_counts(lst.counts)


def cmd_redeliver(args: argparse.Namespace) -> int:
    manifest = load_manifest(args.manifest)
    check = " ".join(str(args.check).split())
    if len(check) < 8:
        raise cr.CredentialError(tr("--verificacion: describa cómo se verificó la identidad (al menos 8 caracteres)",
                                    "--identity-check: describe how the identity was verified (8 characters or more)"))
    published = cr.CredentialList.read(args.list_dir, manifest) if args.list_dir else None
    escrow: Path = args.escrow
    delivery = cr.Escrow(escrow).redeliver(args.voter, _escrow_passphrase(new=False), credential_list=published)
    _log_redelivery(escrow / REDELIVERY_LOG, delivery.voter_id, check)
    text = cr.letter(manifest, delivery, retained=True, site=args.site)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    output = Path(args.output)
    cr.write_text_atomic(output / f"{delivery.voter_id}.txt", text, mode=0o600)
    cr.write_bytes_atomic(output / cr.qr_file(delivery.voter_id),
                          cr.qr_png(cr.voting_link(args.site, delivery.credential)), mode=0o600)
    cr.write_text_atomic(output / f"{delivery.voter_id}-{cr.MAIL_MERGE_FILE}", cr.mail_merge_csv([delivery], args.site),
                         mode=0o600)
    print(tr(f"Mensaje de {delivery.voter_id} (carta, código QR y fila de correspondencia) escrito en {output}",
             f"Message for {delivery.voter_id} (letter, QR code and mail-merge row) written to {output}"))
    return 0


def _log_redelivery(path: Path, voter_id: str, check: str) -> None:
    """Append one line per re-delivery (who, when, which identity check): the authority's own audit trail."""
    line = json.dumps({"at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "voter_id": voter_id,
                       "identity_check": check}, ensure_ascii=False, sort_keys=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o600)


def cmd_check_list(args: argparse.Namespace) -> int:
    manifest = load_manifest(args.manifest)
    envelope, entries = cr.load_credential_list_files(args.list_dir)
    expected: bytes | None = None
    typed: str | None = args.authority
    if typed is not None and len(typed.strip()) == 2 * 65:
        try:
            expected = bytes.fromhex(typed.strip())
        except ValueError as exc:
            raise cr.CredentialError(tr("--autoridad: hexadecimal no válido",
                                        "--authority: invalid hex")) from exc
        typed = None
    problems = cr.check_credential_list(manifest, envelope, entries, authority_key=expected)
    problems += _check_declaration(manifest, Path(args.list_dir), entries, envelope.body.get(cr.IN_PERSON_FIELD))
    if not problems and typed is not None:
        lst = cr.CredentialList(envelope, entries)
        if not matches_fingerprint(typed, key_fingerprint_digest(lst.authority_key)):
            problems.append(tr(
                f"{cr.LIST_FILE}: la huella de la autoridad no es la esperada ({typed})",
                f"{cr.LIST_FILE}: the authority fingerprint is not the expected one ({typed})"))
    if problems:
        print(tr(f"La lista NO es válida ({len(problems)} problemas):",
                 f"The list is NOT valid ({len(problems)} problems):"))
        for problem in problems:
            print(f"  - {problem}")
        return 1
    lst = cr.CredentialList(envelope, entries)
    print(tr(f"La lista es válida: {len(lst)} credenciales para la elección {manifest.election_id}.",
             f"The list is valid: {len(lst)} credentials for election {manifest.election_id}."))
    _print_summary(lst)
    return 0
