"""Settings of the authentication flows, read from ``ServerConfig.extra`` (key as below) or the
environment (``SIVEI_`` + the key in capitals), else the defaults.

* ``activation_days`` (14) — life of an activation link.
* ``reset_minutes`` (30) — life of a password-reset link.
* ``code_minutes`` (5), ``code_tries`` (5) — an SMS code's life and tries.
* ``code_resend_seconds`` (60), ``codes_per_hour`` (5) — SMS sending limits per voter.
* ``lockout_threshold`` (5) — consecutive failures (password, phone digits, codes) that lock an
  account; ``lockout_base_seconds`` (60) doubling per lock up to ``lockout_max_seconds`` (900): a
  lock is always temporary; ``lockout_decay_hours`` (24) without failures resets the doubling.
* ``ip_limit`` (60) per ``ip_window_seconds`` (600) — authentication posts per client address.
* ``argon2_time_cost`` (3), ``argon2_memory_kib`` (65536), ``argon2_parallelism`` (4) — argon2id
  (argon2-cffi's defaults, about 0.24 s here). Production refuses less than t=2, m=19456 KiB
  (OWASP's floor); tests lower them through ``extra``.
* ``password_min_length`` (10).
* ``totp_requires_sms`` (off) — when on, choosing the authenticator app at activation first needs an
  SMS code (possession of the registered phone). INE's flow lets the voter choose either; see
  ``docs`` / the report for the trade-off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sivei.i18n import tr
from sivei_server.config import ConfigError, ServerConfig

PRODUCTION_MIN_TIME_COST = 2
PRODUCTION_MIN_MEMORY_KIB = 19456


@dataclass(frozen=True)
class AuthSettings:
    activation_days: int = 14
    reset_minutes: int = 30
    code_minutes: int = 5
    code_tries: int = 5
    code_resend_seconds: int = 60
    codes_per_hour: int = 5
    lockout_threshold: int = 5
    lockout_base_seconds: int = 60
    lockout_max_seconds: int = 900
    lockout_decay_hours: int = 24
    ip_limit: int = 60
    ip_window_seconds: int = 600
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    password_min_length: int = 10
    totp_requires_sms: bool = False

    @staticmethod
    def from_config(config: ServerConfig, env: Mapping[str, str] | None = None) -> AuthSettings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(AuthSettings):
            raw: Any = config.extra.get(f.name)
            if raw is None:
                raw = env.get("SIVEI_" + f.name.upper()) or None
            if raw is None:
                continue
            if f.type in (bool, "bool"):
                values[f.name] = raw if isinstance(raw, bool) else str(raw).strip().lower() in {
                    "1", "true", "yes", "si", "sí", "on"}
            else:
                try:
                    values[f.name] = int(raw)
                except (TypeError, ValueError) as exc:
                    raise ConfigError(tr(f"valor no válido para {f.name}: {raw!r}",
                                         f"invalid value for {f.name}: {raw!r}")) from exc
                if values[f.name] <= 0:
                    raise ConfigError(tr(f"{f.name} debe ser positivo", f"{f.name} must be positive"))
        settings = AuthSettings(**values)
        if config.production and (settings.argon2_time_cost < PRODUCTION_MIN_TIME_COST
                                  or settings.argon2_memory_kib < PRODUCTION_MIN_MEMORY_KIB):
            raise ConfigError(tr("en producción argon2id necesita al menos t=2 y m=19456 KiB",
                                 "production needs argon2id with at least t=2 and m=19456 KiB"))
        if settings.lockout_base_seconds > settings.lockout_max_seconds:
            raise ConfigError(tr("lockout_base_seconds no puede exceder lockout_max_seconds",
                                 "lockout_base_seconds cannot exceed lockout_max_seconds"))
        return settings
