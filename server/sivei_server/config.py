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
* ``SIVEI_CLOSE_GRACE_SECONDS`` — bounded wait at the close instant for ballots already received.
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
    # Bounded wait at the close instant for ballots whose requests arrived before it (seconds).
    close_grace_seconds: float = 10.0
    # Extra bytes allowed over the exact size of a valid ballot of the voter's style.
    ballot_size_margin: int = 512
    # Largest request body for uploads by operators (records, credential lists).
    max_upload_bytes: int = 512 * 1024 * 1024
    # How many proxies in front of the server set X-Forwarded-For (0: use the socket address).
    trusted_proxies: int = 0
    # The public server URL (links in notifications); None: taken from the request.
    public_url: str | None = None
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
        values.update(overrides)
        known = {f.name for f in fields(ServerConfig)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown settings: {sorted(unknown)}")
        return ServerConfig(**values)
