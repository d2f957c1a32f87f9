"""``sivei servidor`` (alias ``server``): the voting server's commands.

* ``db-upgrade``: create or migrate the database schema (Alembic).
* ``ejecutar`` (``run``): start the server locally (werkzeug, for development and drills). In
  production run gunicorn: ``gunicorn -w 4 -b 127.0.0.1:8000 'sivei_server.wsgi:app'`` behind a TLS
  reverse proxy (see ``server/README.md``).
* ``crear-operador`` (``create-operator``): an operator account with its role, password and TOTP secret.
* ``llave-recibos`` (``receipt-key``): create the election's receipt key (key file or PKCS#11 token)
  and print its public half for the opening act.
* ``datos-personales`` (``personal-data``): the personal-data deletion date an administrator confirmed
  on the console; ``--ejecutar`` deletes once it is due (a daily timer; ``sivei_server.retention``).

Configuration comes from the environment (``sivei_server.config``) plus the options here.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from typing import Any

from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei_server.config import ServerConfig


def _config(args: argparse.Namespace, **overrides: Any) -> ServerConfig:
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    if getattr(args, "data_dir", None):
        from pathlib import Path
        overrides["data_dir"] = Path(args.data_dir)
    return ServerConfig.from_env(**overrides)


def run_db_upgrade(args: argparse.Namespace) -> int:
    from sivei_server.db import make_engine
    from sivei_server.migrate import current_revision, upgrade

    cfg = _config(args)
    engine = make_engine(cfg)
    upgrade(engine)
    print(tr(f"Base de datos al día (revisión {current_revision(engine)}).",
             f"Database up to date (revision {current_revision(engine)})."))
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import run_simple

    from sivei_server.app import create_app
    from sivei_server.db import make_engine
    from sivei_server.migrate import upgrade

    overrides: dict[str, Any] = {}
    if args.insecure_cookies:
        overrides["cookie_secure"] = False
    cfg = _config(args, **overrides)
    if not cfg.production:  # the development server: file outboxes allowed (and said so at start-up)
        cfg = cfg.with_(extra={"buzon_desarrollo": True, **cfg.extra})
    upgrade(make_engine(cfg))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # its request lines include query strings
    app = create_app(cfg)
    print(tr(f"SIVEI en http://{args.host}:{args.port}/ (Ctrl-C para terminar)",
             f"SIVEI at http://{args.host}:{args.port}/ (Ctrl-C to stop)"), flush=True)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


def run_create_operator(args: argparse.Namespace) -> int:
    import pyotp
    from sqlalchemy import select

    from sivei_server.db import make_engine, session_scope
    from sivei_server.migrate import upgrade
    from sivei_server.models import ROLE_CONSULATE, ROLES, Operator
    from sivei_server.passwords import hash_password
    from sivei_server.secrets_key import operator_account, secrets_key

    if args.role not in ROLES:
        raise SiveiError(tr(f"función desconocida: {args.role}", f"unknown role: {args.role}"))
    consulate = (args.consulate or "").strip().upper() or None
    if (args.role == ROLE_CONSULATE) != (consulate is not None):
        raise SiveiError(tr("--consulado va con la función «consulado», y solo con ella",
                            "--consulate goes with the role «consulado», and only with it"))
    password = os.environ.get("SIVEI_OPERATOR_PASSWORD") or getpass.getpass(
        tr("Contraseña del operador: ", "Operator password: "))
    if len(password) < 12:
        raise SiveiError(tr("la contraseña debe tener al menos 12 caracteres",
                            "the password must have at least 12 characters"))
    cfg = _config(args)
    engine = make_engine(cfg)
    upgrade(engine)
    secret = pyotp.random_base32()
    with session_scope(engine) as s:
        if s.scalar(select(Operator).where(Operator.username == args.username)) is not None:
            raise SiveiError(tr(f"ya existe el operador {args.username}",
                                f"the operator {args.username} already exists"))
        s.add(Operator(username=args.username, role=args.role, consulate=consulate,
                       password_hash=hash_password(password),
                       totp_secret=secrets_key(cfg).seal(operator_account(args.username), secret)))
    uri = pyotp.TOTP(secret).provisioning_uri(name=args.username, issuer_name="SIVEI")
    print(tr(f"Operador {args.username} ({args.role}) creado.", f"Operator {args.username} ({args.role}) created."))
    print(tr("Registra esta clave en tu aplicación autenticadora (TOTP):",
             "Add this key to your authenticator app (TOTP):"))
    print(f"  {secret}\n  {uri}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", help=tr("URL de la base de datos (o SIVEI_DATABASE_URL)",
                                             "database URL (or SIVEI_DATABASE_URL)"))
    p.add_argument("--datos", "--data-dir", dest="data_dir",
                   help=tr("directorio de datos (o SIVEI_DATA_DIR)", "data directory (or SIVEI_DATA_DIR)"))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("servidor", aliases=["server"],
                       help=tr("servidor de votación", "voting server"),
                       description=tr("Servidor de votación SIVEI.", "SIVEI voting server."))
    ssub = p.add_subparsers(dest="server_command", metavar=tr("ACCIÓN", "ACTION"))

    up = ssub.add_parser("db-upgrade", help=tr("crear o migrar la base de datos", "create or migrate the database"))
    _common(up)
    up.set_defaults(func=run_db_upgrade)

    run = ssub.add_parser("ejecutar", aliases=["run"],
                          help=tr("iniciar el servidor localmente", "start the server locally"))
    _common(run)
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--puerto", "--port", dest="port", type=int, default=8000)
    run.add_argument("--cookies-inseguras", "--insecure-cookies", dest="insecure_cookies", action="store_true",
                     help=tr("cookies sin Secure (sólo HTTP local de desarrollo)",
                             "cookies without Secure (local plain-HTTP development only)"))
    run.set_defaults(func=run_serve)

    op = ssub.add_parser("crear-operador", aliases=["create-operator"],
                         help=tr("crear una cuenta de operador", "create an operator account"))
    _common(op)
    op.add_argument("username")
    op.add_argument("--funcion", "--role", dest="role", default="administrador",
                    help="administrador | observador | soporte | consulado")
    op.add_argument("--consulado", "--consulate", dest="consulate",
                    help=tr("código del consulado (función «consulado»: su personal)",
                            "the consulate's code (role «consulado»: its staff)"))
    op.set_defaults(func=run_create_operator)

    key = ssub.add_parser("llave-recibos", aliases=["receipt-key"],
                          help=tr("crear la llave de recibos del servidor", "create the server's receipt key"))
    _common(key)
    key.add_argument("--archivo", "--file", dest="file",
                     help=tr("archivo de la llave (por omisión DATOS/llave-recibos.pem)",
                             "key file (default DATA/llave-recibos.pem)"))
    key.add_argument("--token", help=tr("etiqueta del token PKCS#11 donde generarla",
                                        "label of the PKCS#11 token to generate it in"))
    key.add_argument("--pkcs11-module", help=tr("módulo PKCS#11 (por omisión SoftHSM2)",
                                                "PKCS#11 module (default SoftHSM2)"))
    key.add_argument("--publica", "--public", dest="public",
                     help=tr("dónde escribir la mitad pública (PEM)", "where to write the public half (PEM)"))
    key.set_defaults(func=run_receipt_key)

    from sivei_server.auth.cli import register_commands  # padron, operador-totp

    register_commands(ssub, _common)

    data = ssub.add_parser("datos-personales", aliases=["personal-data"],
                           help=tr("datos personales tras la elección: estado y eliminación programada (LGPDPPSO)",
                                   "personal data after the election: state and scheduled deletion (LGPDPPSO)"))
    _common(data)
    data.add_argument("--ejecutar", "--run", dest="run", action="store_true",
                      help=tr("eliminar si la fecha programada ya llegó (para un temporizador diario)",
                              "delete if the scheduled date has come (for a daily timer)"))
    data.add_argument("--abrir", "--open", dest="open_file", metavar=tr("ARCHIVO", "FILE"),
                      help=tr("abrir una exportación sellada (frase de paso de SIVEI_DATOS_PASSPHRASE o pedida)",
                              "open a sealed export (passphrase from SIVEI_DATOS_PASSPHRASE, or asked)"))
    data.add_argument("--salida", "--output", dest="output", metavar=tr("ARCHIVO", "FILE"),
                      help=tr("con --abrir: dónde escribir el tar.gz (archivo nuevo)",
                              "with --open: where to write the tar.gz (new file)"))
    data.set_defaults(func=run_personal_data)

    bench = ssub.add_parser("medir", aliases=["bench"],
                            help=tr("boletas aceptadas por segundo (gunicorn en loopback)",
                                    "ballots accepted per second (gunicorn on loopback)"))
    bench.add_argument("--database-url", help=tr("PostgreSQL (por omisión SQLite)", "PostgreSQL (default SQLite)"))
    bench.add_argument("--votantes", "--voters", dest="voters", type=int, default=40)
    bench.add_argument("--workers", type=int, default=2)
    bench.add_argument("--clientes", "--clients", dest="clients", type=int, default=4)
    bench.add_argument("--test-group", action="store_true",
                       help=tr("grupo de prueba de 512 bits (por omisión el de producción)",
                               "512-bit test group (default: production)"))
    bench.set_defaults(func=run_bench)

    load = ssub.add_parser("prueba-carga", aliases=["load-test"],
                           help=tr("carga y fallas: nginx + gunicorn + PostgreSQL en loopback (tamaño completo)",
                                   "load and faults: nginx + gunicorn + PostgreSQL on loopback (full size)"))
    load.add_argument("--database-url", required=True,
                      help=tr("PostgreSQL administrativo (se crea una base de prueba)",
                              "administrative PostgreSQL URL (a scratch database is created)"))
    load.add_argument("--votantes", "--voters", dest="voters", type=int, default=1000)
    load.add_argument("--clientes", "--clients", dest="clients", type=int, default=32)
    load.add_argument("--cierre", "--rush", dest="rush", type=int, default=300)
    load.add_argument("--tardios", "--late", dest="late", type=int, default=50)
    load.add_argument("--ritmo", "--rate", dest="rate", type=float, default=25.0,
                      help=tr("votos por segundo ofrecidos por los votantes en sesión (por omisión 25)",
                              "casts per second offered by the voters in session (default 25)"))
    load.add_argument("--solo-ritmo", "--throughput-only", dest="only_throughput", action="store_true",
                      help=tr("sólo la medición del ritmo sostenido", "only the sustained-rate measurement"))
    load.add_argument("--salida", "--output", dest="output", help=tr("JSON con las cifras", "JSON with the figures"))
    load.set_defaults(func=run_load_test)

    journal = ssub.add_parser("diario", aliases=["journal"],
                              help=tr("diario del tablero: comprobar, reponer tras una restauración, reconstruir",
                                      "board journal: check, replay after a restore, rebuild"))
    jsub = journal.add_subparsers(dest="journal_command", metavar=tr("ACCIÓN", "ACTION"))
    j_check = jsub.add_parser("comprobar", aliases=["check"],
                              help=tr("comparar la base de datos con el diario y las cabezas anotadas",
                                      "compare the database with the journal and the noted heads"))
    j_replay = jsub.add_parser("reponer", aliases=["replay"],
                               help=tr("reponer en la base de datos los eventos que sólo tiene el diario",
                                       "replay into the database the events only the journal holds"))
    j_rebuild = jsub.add_parser("reconstruir", aliases=["rebuild"],
                                help=tr("escribir de nuevo el diario desde la base de datos (diario perdido)",
                                        "write the journal again from the database (journal lost)"))
    for jp in (j_check, j_replay, j_rebuild):
        _common(jp)
        jp.add_argument("--diario", "--journal", dest="journal",
                        help=tr("el diario (o SIVEI_BOARD_JOURNAL)", "the journal (or SIVEI_BOARD_JOURNAL)"))
    for jp in (j_check, j_rebuild):
        jp.add_argument("--cabeza-observada", "--noted-head", dest="noted", action="append", default=[],
                        metavar="CABEZA", help=tr("cabeza del tablero anotada por un observador (se repite)",
                                                  "a board head an observer noted (repeatable)"))
    j_rebuild.add_argument("--aceptar-perdida", "--accept-loss", dest="loss", metavar="DECLARACION",
                           help=tr("declaración de la pérdida, que se publica en el tablero",
                                   "statement of the loss, published on the board"))
    j_check.set_defaults(func=run_journal_check)
    j_replay.set_defaults(func=run_journal_replay)
    j_rebuild.set_defaults(func=run_journal_rebuild)

    def _journal_help(_args: argparse.Namespace) -> int:
        journal.print_help(sys.stdout)
        return 2

    journal.set_defaults(func=_journal_help)

    def _help(_args: argparse.Namespace) -> int:
        p.print_help(sys.stdout)
        return 2

    p.set_defaults(func=_help)


def run_personal_data(args: argparse.Namespace) -> int:
    """The deletion date the console confirmed, and with ``--ejecutar`` the deletion once it is due;
    ``--abrir`` opens a sealed export (no database needed)."""
    if args.open_file:
        return _open_export(args)
    from sivei_server import retention
    from sivei_server.db import make_engine, session_scope
    from sivei_server.election import utc_text
    from sivei_server.migrate import upgrade

    cfg = _config(args)
    engine = make_engine(cfg)
    upgrade(engine)
    with session_scope(engine) as s:
        st = retention.status(s)
        row = st.row
        if row is None:
            print(tr(f"Sin fecha de eliminación programada; {st.voters} votantes en el padrón.",
                     f"No deletion date scheduled; {st.voters} voters on the roll."))
            return 0
        if row.deleted_at is not None:
            print(tr(f"Datos personales eliminados el {utc_text(row.deleted_at)}.",
                     f"Personal data deleted on {utc_text(row.deleted_at)}."))
            return 0
        print(tr(f"Eliminación programada a partir de {utc_text(row.delete_after)}; {st.voters} votantes.",
                 f"Deletion scheduled from {utc_text(row.delete_after)}; {st.voters} voters."))
    if args.run:
        counts = retention.delete_due(engine, cfg, None)
        if counts is None:
            print(tr("La fecha aún no llega: nada se eliminó.", "The date has not come: nothing was deleted."))
        else:
            print(tr("Eliminado: ", "Deleted: ") + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _open_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sivei.files import refuse_existing, write_new_bytes
    from sivei.passphrase_file import open_sealed

    if not args.output:
        raise SiveiError(tr("--abrir necesita --salida", "--open needs --output"))
    output = Path(args.output)
    refuse_existing(output)
    passphrase = os.environ.get("SIVEI_DATOS_PASSPHRASE") or getpass.getpass(tr("Frase de paso: ", "Passphrase: "))
    what, data = open_sealed(Path(args.open_file).read_bytes(), passphrase)
    write_new_bytes(output, data, mode=0o600)
    print(tr(f"Abierto: {what} → {output}", f"Opened: {what} → {output}"))
    return 0


def run_receipt_key(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sivei.crypto.ecdsa import key_fingerprint_digest
    from sivei.crypto.fingerprint import fingerprint
    from sivei_server.receipt_key import TOKEN_KEY_LABEL, create_key_file, default_key_file, public_pem

    cfg = _config(args)
    if args.token:
        from sivei.custody import open_token, read_pin

        pin = read_pin(tr(f"PIN del token «{args.token}»", f"PIN of token «{args.token}»"))
        with open_token(args.token, pin, args.pkcs11_module) as session:
            point = session.generate_signing_key(TOKEN_KEY_LABEL).public_key
        where = tr(f"token «{args.token}», llave «{TOKEN_KEY_LABEL}»", f"token «{args.token}», key «{TOKEN_KEY_LABEL}»")
    else:
        path = Path(args.file) if args.file else (cfg.receipt_key_file or default_key_file(cfg))
        if path.exists():
            raise SiveiError(tr(f"ya existe {path}; no se sobrescribe", f"{path} already exists; not overwritten"))
        point = create_key_file(path)
        where = str(path)
    public = Path(args.public) if args.public else cfg.data_dir / "llave-recibos-publica.pem"
    public.parent.mkdir(parents=True, exist_ok=True)
    public.write_text(public_pem(point), encoding="utf-8")
    print(tr(f"Llave de recibos creada en {where}.", f"Receipt key created in {where}."))
    print(tr(f"Mitad pública (para el acta de inicio): {public}", f"Public half (for the opening act): {public}"))
    print(f"  {point.hex()}")
    print(tr(f"Huella: {fingerprint(key_fingerprint_digest(point))}",
             f"Fingerprint: {fingerprint(key_fingerprint_digest(point))}"))
    return 0


def run_load_test(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sivei_server.carga import run_command

    return run_command(args.database_url, args.voters, args.clients, args.rush, args.late,
                       Path(args.output) if args.output else None, args.rate, args.only_throughput)


def run_bench(args: argparse.Namespace) -> int:
    import json

    from sivei.crypto.group import PRODUCTION_GROUP, TEST_GROUP
    from sivei_server.simulacro import bench_casting

    group = TEST_GROUP if args.test_group else PRODUCTION_GROUP
    result = bench_casting(group, args.voters, database_url=args.database_url, workers=args.workers,
                           clients=args.clients)
    print(json.dumps(result, indent=1))
    return 0


def _journal_config(args: argparse.Namespace) -> ServerConfig:
    from pathlib import Path

    overrides: dict[str, Any] = {}
    if args.journal:
        overrides["board_journal"] = Path(args.journal)
    return _config(args, **overrides)


def run_journal_check(args: argparse.Namespace) -> int:
    """Exit 0 when the database and the journal agree and every noted head is on the board."""
    import json

    from sivei_server.db import make_engine
    from sivei_server.recovery import AL_DIA, check

    cfg = _journal_config(args)
    st, missing = check(make_engine(cfg), cfg, args.noted)
    print(json.dumps({**st.to_json(), "journal": str(cfg.journal_path), "noted_heads_missing": missing},
                     indent=1, ensure_ascii=False))
    print(st.message, file=sys.stderr)
    for head in missing:
        print(tr(f"PÉRDIDA: la cabeza anotada {head} no está en el tablero",
                 f"LOSS: the noted head {head} is not on the board"), file=sys.stderr)
    return 0 if st.state == AL_DIA and not missing else 1


def run_journal_replay(args: argparse.Namespace) -> int:
    from sivei_server.db import make_engine
    from sivei_server.recovery import replay

    cfg = _journal_config(args)
    n = replay(make_engine(cfg), cfg)
    print(tr(f"{n} eventos repuestos desde el diario.", f"{n} events replayed from the journal."))
    return 0


def run_journal_rebuild(args: argparse.Namespace) -> int:
    from sivei_server.db import make_engine
    from sivei_server.recovery import rebuild

    cfg = _journal_config(args)
    done = rebuild(make_engine(cfg), cfg, args.noted, args.loss)
    print(tr(f"Diario reconstruido ({done.events} eventos); incidente {done.incident_index} en el tablero, cabeza "
             f"{done.head}.", f"Journal rebuilt ({done.events} events); incident {done.incident_index} on the board, "
             f"head {done.head}."))
    if done.set_aside:
        print(tr(f"El diario anterior quedó en {done.set_aside}.",
                 f"The previous journal was kept as {done.set_aside}."))
    for head in done.missing:
        print(tr(f"PÉRDIDA declarada: la cabeza anotada {head} no está en el tablero",
                 f"Declared LOSS: the noted head {head} is not on the board"))
    return 0
