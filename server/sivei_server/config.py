"""Server configuration: one frozen dataclass, built from the environment or given to ``create_app``.

Environment variables (all optional):

* ``SIVEI_DATABASE_URL`` — SQLAlchemy URL; PostgreSQL as ``postgresql+psycopg://user@host:port/db``.
  Default: a SQLite file ``sivei.db`` in the data directory.
* ``SIVEI_DATA_DIR`` — where the server keeps its files (SQLite database, exported records, receipt
  key file). Default: ``./sivei-servidor``.
* ``SIVEI_PRODUCTION`` — ``1`` for production: secure cookies are forced and test-only helpers refused.
* ``SIVEI_COOKIE_SECURE`` — ``0`` only for plain-HTTP loopback development.
* ``SIVEI_RECEIPT_KEY_FILE`` — the receipt key as a key file (see ``sivei servidor llave-recibos``).
* ``SIVEI_RECEIPT_TOKEN`` — the receipt key in a PKCS#11 token with this label (PIN from ``SIVEI_PIN``,
  module from ``SIVEI_PKCS11_MODULE``).
* ``SIVEI_TEST_LOGIN`` — ``1`` enables the test-only voter login (drills, tests). Refused in production.
* ``SIVEI_TEST_GROUP`` — ``1`` accepts elections on the 512-bit test group (drills, tests). Refused in
  production.
* ``SIVEI_CLOSE_GRACE_SECONDS`` — bounded wait (at most 120 s; default 60 s) after the close for
  ballots whose requests arrived in time and still wait in the queue (docs/protocol.md §14.4).
* ``SIVEI_PROXY`` — comma-separated addresses of the buffering reverse proxy (nginx) in front of the
  server. Requests from these addresses are trusted for ``X-Forwarded-For`` and for the arrival stamp
  ``X-Sivei-Llegada`` the proxy writes (``server/deploy/nginx-sivei.conf``); from any other address
  both headers are ignored. Required in production.
* ``SIVEI_PUBLIC_URL`` — the public URL (links in e-mails). Required in production; requests for any
  other host are refused (400) so a forged ``Host`` never reaches a link.
* ``SIVEI_SECRETS_KEY_FILE`` / ``SIVEI_SECRETS_KEY`` — the key that encrypts TOTP seeds and keys the
  SMS-code MACs (``sivei_server.secrets_key``): a file (default ``<data>/llave-secretos.key``) or 64
  hex digits in the environment. Never in the database or its backups.
* ``SIVEI_BOARD_JOURNAL`` — the board journal (``sivei_server.journal``): an append-only file with
  every board event, on storage apart from the database and its backups (another disk, ideally
  mirrored elsewhere), which a restored database is compared with and replayed from. Default
  ``<data>/diario-tablero.jsonl``; required in production.
* ``SIVEI_MEDIR`` — ``1`` adds a ``Server-Timing`` header with the request's CPU split (``sivei
  servidor medir``). Refused in production (it tells timings to clients).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sivei.errors import SiveiError
from sivei.i18n import tr

SESSION_MINUTES = 30
MAX_CLOSE_GRACE_SECONDS = 120.0


class ConfigError(SiveiError):
    """The server's configuration is not usable."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "si", "sí", "on"}


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path = field(default_factory=lambda: Path("sivei-servidor"))
    database_url: str | None = None
    production: bool = False
    cookie_secure: bool = True
    session_minutes: int = SESSION_MINUTES
    # Test-only voter login (``POST /api/prueba/sesion``): drills and tests before/without the real
    # authentication flows. OFF by default; refused together with ``production``.
    test_login: bool = False
    receipt_key_file: Path | None = None
    receipt_token: str | None = None
    receipt_token_module: str | None = None
    # Accept elections on the 512-bit test group (tests and drills only; refused in production).
    allow_test_group: bool = False
    # Run the per-process thread that appends the close event at the close instant.
    closer_thread: bool = True
    # Bounded wait after the close for ballots whose requests arrived in time (seconds, <= 120).
    close_grace_seconds: float = 60.0
    # Extra bytes allowed over the exact size of a valid ballot of the voter's style.
    ballot_size_margin: int = 512
    # Largest request body for uploads by operators (records, credential lists).
    max_upload_bytes: int = 512 * 1024 * 1024
    # How many proxies in front of the server set X-Forwarded-For (0: use the socket address).
    trusted_proxies: int = 0
    # Socket addresses of the buffering reverse proxy: only requests from these are trusted for
    # X-Forwarded-For and the arrival stamp (empty: both headers ignored).
    proxy_addresses: tuple[str, ...] = ()
    # The public server URL (links in notifications). Required in production; without it (development)
    # only loopback host names are accepted.
    public_url: str | None = None
    # Add Server-Timing (CPU split per request) for ``sivei servidor medir``; refused in production.
    measure: bool = False
    # The board journal (outside the database and its backups); default ``<data_dir>/diario-tablero.jsonl``.
    board_journal: Path | None = None
    # The voters' help desk, shown on the home page (SIVEI_AYUDA_TELEFONO, SIVEI_AYUDA_CORREO,
    # SIVEI_AYUDA_HORARIO).
    help_phone: str | None = None
    help_email: str | None = None
    help_hours: str | None = None
    # Anything else (plug-ins such as the authentication package read their settings here).
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.production and self.test_login:
            raise ConfigError(tr("el acceso de prueba (test_login) no se permite en producción",
                                 "the test-only login (test_login) is refused in production"))
        if self.production and self.allow_test_group:
            raise ConfigError(tr("el grupo de prueba no se permite en producción",
                                 "the test group is refused in production"))
        if self.production and not self.cookie_secure:
            raise ConfigError(tr("en producción las cookies deben ser seguras (cookie_secure)",
                                 "production requires secure cookies (cookie_secure)"))
        if self.production and not self.public_url:
            raise ConfigError(tr("en producción falta SIVEI_PUBLIC_URL (los enlaces de los correos se forman con ella)",
                                 "production needs SIVEI_PUBLIC_URL (the links in e-mails are built from it)"))
        if self.production and not self.proxy_addresses:
            raise ConfigError(tr("en producción el servidor va detrás de nginx: indique su dirección en SIVEI_PROXY",
                                 "in production the server runs behind nginx: give its address in SIVEI_PROXY"))
        if self.production and self.board_journal is None:
            raise ConfigError(tr("en producción falta SIVEI_BOARD_JOURNAL: el diario del tablero, en un disco aparte "
                                 "de la base de datos y de sus respaldos",
                                 "production needs SIVEI_BOARD_JOURNAL: the board journal, on storage apart from the "
                                 "database and its backups"))
        if self.production and self.measure:
            raise ConfigError(tr("la medición (SIVEI_MEDIR) no se permite en producción",
                                 "measuring (SIVEI_MEDIR) is refused in production"))
        if not 0 <= self.close_grace_seconds <= MAX_CLOSE_GRACE_SECONDS:
            raise ConfigError(tr(f"la gracia del cierre va de 0 a {MAX_CLOSE_GRACE_SECONDS:.0f} s",
                                 f"the close grace is 0 to {MAX_CLOSE_GRACE_SECONDS:.0f} s"))
        if self.session_minutes <= 0 or self.session_minutes > SESSION_MINUTES:
            raise ConfigError(tr(f"la sesión dura a lo más {SESSION_MINUTES} minutos",
                                 f"a session lasts at most {SESSION_MINUTES} minutes"))

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Plain postgresql:// URLs use psycopg 3 (the driver the project installs).
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://"):]
            elif url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url[len("postgres://"):]
            return url
        return f"sqlite:///{(self.data_dir / 'sivei.db').resolve()}"

    @property
    def journal_path(self) -> Path:
        from sivei_server.journal import JOURNAL_NAME

        return self.board_journal or self.data_dir / JOURNAL_NAME

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    def with_(self, **changes: Any) -> ServerConfig:
        return replace(self, **changes)

    @staticmethod
    def from_env(env: Mapping[str, str] | None = None, **overrides: Any) -> ServerConfig:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if env.get("SIVEI_DATA_DIR"):
            values["data_dir"] = Path(env["SIVEI_DATA_DIR"])
        if env.get("SIVEI_DATABASE_URL"):
            values["database_url"] = env["SIVEI_DATABASE_URL"]
        values["production"] = _flag(env.get("SIVEI_PRODUCTION"), False)
        values["cookie_secure"] = _flag(env.get("SIVEI_COOKIE_SECURE"), True)
        values["test_login"] = _flag(env.get("SIVEI_TEST_LOGIN"), False)
        values["allow_test_group"] = _flag(env.get("SIVEI_TEST_GROUP"), False)
        if env.get("SIVEI_CLOSE_GRACE_SECONDS"):
            values["close_grace_seconds"] = float(env["SIVEI_CLOSE_GRACE_SECONDS"])
        if env.get("SIVEI_RECEIPT_KEY_FILE"):
            values["receipt_key_file"] = Path(env["SIVEI_RECEIPT_KEY_FILE"])
        if env.get("SIVEI_RECEIPT_TOKEN"):
            values["receipt_token"] = env["SIVEI_RECEIPT_TOKEN"]
        if env.get("SIVEI_PKCS11_MODULE"):
            values["receipt_token_module"] = env["SIVEI_PKCS11_MODULE"]
        if env.get("SIVEI_PUBLIC_URL"):
            values["public_url"] = env["SIVEI_PUBLIC_URL"]
        if env.get("SIVEI_TRUSTED_PROXIES"):
            values["trusted_proxies"] = int(env["SIVEI_TRUSTED_PROXIES"])
        if env.get("SIVEI_PROXY"):
            values["proxy_addresses"] = tuple(a.strip() for a in env["SIVEI_PROXY"].split(",") if a.strip())
            values.setdefault("trusted_proxies", 1)
        if env.get("SIVEI_BOARD_JOURNAL"):
            values["board_journal"] = Path(env["SIVEI_BOARD_JOURNAL"])
        values["measure"] = _flag(env.get("SIVEI_MEDIR"), False)
        for name, var in (("help_phone", "SIVEI_AYUDA_TELEFONO"), ("help_email", "SIVEI_AYUDA_CORREO"),
                          ("help_hours", "SIVEI_AYUDA_HORARIO")):
            if env.get(var):
                values[name] = env[var]
        values.update(overrides)
        known = {f.name for f in fields(ServerConfig)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown settings: {sorted(unknown)}")
        return ServerConfig(**values)
