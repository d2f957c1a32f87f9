"""PINs: taken from an environment variable (tests and drills) or asked interactively without echo.

A PIN is never echoed, logged, written to disk or placed in an exception message. When no
environment variable provides it and there is no terminal on which echo can be switched off, reading
fails with a clear error rather than falling back to reading a visible line from standard input.
"""

from __future__ import annotations

import getpass
import os
import warnings

from sivei.custody.errors import CustodyError
from sivei.i18n import tr

PIN_ENV = "SIVEI_PIN"
"""Default environment variable for a key-holder's user PIN (tests and drills only)."""

SO_PIN_ENV = "SIVEI_SO_PIN"
"""Default environment variable for a token's security-officer PIN (tests and drills only)."""

MIN_PIN_LENGTH = 4
MAX_PIN_LENGTH = 255


def check_pin(pin: str, what: str) -> None:
    """Refuse a PIN that no token accepts (length 4–255, no control characters). ``what`` names it."""
    if not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
        raise CustodyError(tr(f"{what}: debe tener entre {MIN_PIN_LENGTH} y {MAX_PIN_LENGTH} caracteres",
                              f"{what}: must have between {MIN_PIN_LENGTH} and {MAX_PIN_LENGTH} characters"))
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in pin):
        raise CustodyError(tr(f"{what}: no puede contener caracteres de control",
                              f"{what}: must not contain control characters"))


def read_pin(what: str, *, env_var: str | None = PIN_ENV, confirm: bool = False) -> str:
    """Return a PIN from ``env_var`` when it is set, else ask for it on the terminal without echo.

    ``what`` names the PIN in prompts and errors (e.g. ``tr("PIN de usuario", "user PIN")``).
    ``confirm`` asks twice (for a new PIN). An environment variable is never confirmed.
    """
    if env_var is not None:
        value = os.environ.get(env_var)
        if value is not None and value != "":
            check_pin(value, what)
            return value
    pin = _ask(tr(f"{what}: ", f"{what}: "), what, env_var)
    check_pin(pin, what)
    if confirm:
        again = _ask(tr(f"{what} (otra vez): ", f"{what} (again): "), what, env_var)
        if again != pin:
            raise CustodyError(tr(f"{what}: las dos capturas no coinciden",
                                  f"{what}: the two entries do not match"))
    return pin


def _ask(prompt: str, what: str, env_var: str | None) -> str:
    hint_es = f"; o defina la variable de entorno {env_var}" if env_var else ""
    hint_en = f"; or set the environment variable {env_var}" if env_var else ""
    with warnings.catch_warnings():
        # getpass falls back to reading a visible line from stdin when it cannot switch echo off:
        # refuse instead.
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            return getpass.getpass(prompt)
        except getpass.GetPassWarning:
            raise CustodyError(tr(f"{what}: no hay una terminal donde escribirlo sin que se vea{hint_es}",
                                  f"{what}: no terminal on which to type it unseen{hint_en}")) from None
        except (EOFError, KeyboardInterrupt):
            raise CustodyError(tr(f"{what}: captura cancelada", f"{what}: entry cancelled")) from None
