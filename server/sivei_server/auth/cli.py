"""``sivei servidor`` commands of the authentication package.

* ``padron importar ROLL.csv [--reemplazar]`` — import the voter roll (see ``sivei_server.roll``);
  every problem is listed with its line number and nothing is imported when there is one.
* ``padron notificar [--reenviar] [--url URL]`` — email each voter not yet activated their username
  and activation link (``--url`` or ``SIVEI_PUBLIC_URL``: the server's public address).
* ``operador-totp USUARIO [--qr ARCHIVO.svg]`` — (re)enrol an operator's authenticator app: a new TOTP
  secret, shown as text, as a QR code on the terminal, and optionally as an SVG file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei_server.config import ServerConfig


def _config(args: argparse.Namespace) -> ServerConfig:
    overrides: dict[str, Any] = {}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    return ServerConfig.from_env(**overrides)


def _engine(args: argparse.Namespace) -> Any:
    from sivei_server.db import make_engine
    from sivei_server.migrate import upgrade

    engine = make_engine(_config(args))
    upgrade(engine)
    return engine


def run_roll_import(args: argparse.Namespace) -> int:
    from sivei_server.db import session_scope
    from sivei_server.roll import RollError, import_roll

    path = Path(args.roll)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SiveiError(tr(f"no se puede leer {path}: {exc.strerror}", f"cannot read {path}: {exc.strerror}")) from exc
    engine = _engine(args)
    try:
        with session_scope(engine) as s:
            summary = import_roll(s, data, None, replace=args.replace, address="cli")
    except RollError as exc:
        print(tr(f"{path}: el padrón no se importó (no se guardó nada):",
                 f"{path}: the roll was not imported (nothing was stored):"), file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem.text()}", file=sys.stderr)
        if exc.more:
            print(tr(f"  … y {exc.more} problemas más", f"  … and {exc.more} more problems"), file=sys.stderr)
        return 1
    print(tr(f"Padrón importado: {summary.voters} votantes (sha256 {summary.sha256}).",
             f"Roll imported: {summary.voters} voters (sha256 {summary.sha256})."))
    for entity, n in summary.by_entity.items():
        print(f"  {entity}: {n}")
    return 0


def run_roll_notify(args: argparse.Namespace) -> int:
    from sivei_server.auth.accounts import send_activations
    from sivei_server.auth.settings import AuthSettings
    from sivei_server.notify import Notifier

    cfg = _config(args)
    url = args.url or cfg.public_url
    if not url:
        raise SiveiError(tr("indique la dirección pública del servidor con --url o SIVEI_PUBLIC_URL",
                            "give the server's public address with --url or SIVEI_PUBLIC_URL"))
    report = send_activations(_engine(args), Notifier.from_config(cfg), AuthSettings.from_config(cfg), url,
                              resend=args.resend)
    print(tr(f"Enlaces de activación enviados: {report.sent}; omitidos (enlace vigente): {report.skipped}.",
             f"Activation links sent: {report.sent}; skipped (link still valid): {report.skipped}."))
    return 0


def run_operator_totp(args: argparse.Namespace) -> int:
    import segno
    from sqlalchemy import select

    from sivei_server.auth import codes
    from sivei_server.db import session_scope
    from sivei_server.models import Operator, WebSession
    from sivei_server.secrets_key import operator_account, secrets_key

    engine = _engine(args)
    secret = codes.new_totp_secret()
    with session_scope(engine) as s:
        op = s.scalar(select(Operator).where(Operator.username == args.username))
        if op is None:
            raise SiveiError(tr(f"no existe el operador {args.username}", f"no operator {args.username}"))
        op.totp_secret = secrets_key(_config(args)).seal(operator_account(op.username), secret)
        for row in s.scalars(select(WebSession).where(WebSession.kind == "operator",
                                                      WebSession.subject_id == str(op.id))):
            s.delete(row)
    uri = codes.totp_uri(secret, args.username)
    qr = segno.make(uri, error="m")
    print(tr(f"Nueva clave TOTP del operador {args.username} (sus sesiones terminaron). Escanea el código QR o "
             "escribe la clave en tu aplicación autenticadora:",
             f"New TOTP key for operator {args.username} (their sessions ended). Scan the QR code or type the "
             "key into your authenticator app:"))
    print(f"  {secret}\n  {uri}")
    if args.qr:
        qr.save(args.qr, kind="svg", scale=5, border=4)
        Path(args.qr).chmod(0o600)
        print(tr(f"QR guardado en {args.qr} (bórralo después de escanearlo).",
                 f"QR saved to {args.qr} (delete it after scanning)."))
    elif sys.stdout.isatty():
        qr.terminal(compact=True)
    return 0


def register_commands(ssub: argparse._SubParsersAction[argparse.ArgumentParser],
                      common: Callable[[argparse.ArgumentParser], None]) -> None:
    roll = ssub.add_parser("padron", aliases=["roll"], help=tr("padrón de votantes", "voter roll"))
    rsub = roll.add_subparsers(dest="roll_command", metavar=tr("ACCIÓN", "ACTION"))
    imp = rsub.add_parser("importar", aliases=["import"], help=tr("importar el padrón (CSV)", "import the roll (CSV)"))
    common(imp)
    imp.add_argument("roll", metavar="PADRON.csv")
    imp.add_argument("--reemplazar", "--replace", dest="replace", action="store_true",
                     help=tr("sustituir el padrón cargado (si nadie ha activado su cuenta)",
                             "replace the loaded roll (when nobody has activated an account)"))
    imp.set_defaults(func=run_roll_import)
    notify = rsub.add_parser("notificar", aliases=["notify"],
                             help=tr("enviar los enlaces de activación", "send the activation links"))
    common(notify)
    notify.add_argument("--url", help=tr("dirección pública del servidor (o SIVEI_PUBLIC_URL)",
                                         "the server's public address (or SIVEI_PUBLIC_URL)"))
    notify.add_argument("--reenviar", "--resend", dest="resend", action="store_true",
                        help=tr("también a quien tiene un enlace vigente (el anterior deja de servir)",
                                "also to voters whose link is still valid (the old one stops working)"))
    notify.set_defaults(func=run_roll_notify)

    def _help(_args: argparse.Namespace) -> int:
        roll.print_help(sys.stdout)
        return 2

    roll.set_defaults(func=_help)

    totp = ssub.add_parser("operador-totp", aliases=["operator-totp"],
                           help=tr("registrar la aplicación autenticadora de un operador",
                                   "enrol an operator's authenticator app"))
    common(totp)
    totp.add_argument("username")
    totp.add_argument("--qr", help=tr("guardar el código QR como SVG", "save the QR code as SVG"))
    totp.set_defaults(func=run_operator_totp)
