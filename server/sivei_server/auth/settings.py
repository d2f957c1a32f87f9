"""Settings of the authentication flows, read from ``ServerConfig.extra`` (key as below) or the
environment (``SIVEI_`` + the key in capitals), else the defaults.

* ``activation_days`` (14) — life of an activation link.
* ``reset_minutes`` (30) — life of a password-reset link.
* ``code_minutes`` (5), ``code_tries`` (5) — an SMS code's life and tries.
* ``code_resend_seconds`` (60), ``codes_per_hour`` (3, at most 3) — SMS sending limits per voter.
* Throttle, never lock (``sivei_server.auth.limits``): ``throttle_free_failures`` (5) failures of one
  account from one address, then that pair waits ``throttle_base_seconds`` (30) doubling up to
  ``throttle_max_seconds`` (900) between attempts; failures fade after ``throttle_window_hours`` (1)
  without any. ``code_failures`` (10): wrong codes per account (any address) before its code step is
  throttled the same way.
* ``ip_limit`` (60) per ``ip_window_seconds`` (600) — authentication posts per client address.
* ``argon2_time_cost`` (2), ``argon2_memory_kib`` (19456), ``argon2_parallelism`` (1) — argon2id at
  OWASP's recommended minimum (about 30 ms here, against 0.24 s for argon2-cffi's defaults: a login
  no longer costs more than a cast). Production refuses less. The password is one factor of two and
  online guessing is throttled; the cost guards a stolen database. Tests lower it through ``extra``.
* ``password_min_length`` (10).

Enrolling an authenticator app always needs an SMS code first (possession of the registered phone):
the activation link and the phone's last digits alone never suffice (issue 7, item 3).
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
MAX_SMS_PER_HOUR = 3


@dataclass(frozen=True)
class AuthSettings:
    activation_days: int = 14
    reset_minutes: int = 30
    code_minutes: int = 5
    code_tries: int = 5
    code_resend_seconds: int = 60
    codes_per_hour: int = MAX_SMS_PER_HOUR
    throttle_free_failures: int = 5
    throttle_base_seconds: int = 30
    throttle_max_seconds: int = 900
    throttle_window_hours: int = 1
    code_failures: int = 10
    ip_limit: int = 60
    ip_window_seconds: int = 600
    argon2_time_cost: int = PRODUCTION_MIN_TIME_COST
    argon2_memory_kib: int = PRODUCTION_MIN_MEMORY_KIB
    argon2_parallelism: int = 1
    password_min_length: int = 10

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
        if settings.throttle_base_seconds > settings.throttle_max_seconds:
            raise ConfigError(tr("throttle_base_seconds no puede exceder throttle_max_seconds",
                                 "throttle_base_seconds cannot exceed throttle_max_seconds"))
        if settings.codes_per_hour > MAX_SMS_PER_HOUR:
            raise ConfigError(tr(f"a lo más {MAX_SMS_PER_HOUR} SMS por votante por hora",
                                 f"at most {MAX_SMS_PER_HOUR} SMS per voter per hour"))
        return settings
