"""SoftHSM2, the default token: a private configuration and token folder, and token initialisation.

SoftHSM2 keeps its tokens in the folder its configuration names, and reads the configuration named
by ``SOFTHSM2_CONF`` when the library is initialised. ``SoftHsmEnvironment(directory)`` writes a
``softhsm2.conf`` whose tokens live in ``directory/tokens`` (mode 0700), and ``activate()`` points
``SOFTHSM2_CONF`` at it for this process and its children (reinitialising the library when this process
had already loaded it, which invalidates the sessions opened before).

Install SoftHSM2 with ``make setup-system`` (Debian: packages ``softhsm2`` and ``opensc``).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from sivei.custody.errors import CustodyError
from sivei.custody.token import Pkcs11Module, find_softhsm_module, loaded_module, open_module
from sivei.i18n import tr

__all__ = ["CONF_ENV", "SoftHsmEnvironment", "find_softhsm_module", "softhsm_available"]

CONF_ENV = "SOFTHSM2_CONF"


def softhsm_available() -> bool:
    """True when SoftHSM2's PKCS#11 module is installed."""
    return find_softhsm_module() is not None


class SoftHsmEnvironment:
    """A SoftHSM2 configuration and token folder that belong to one project, drill or test."""

    def __init__(self, directory: str | os.PathLike[str], *, module_path: str | None = None) -> None:
        self.directory = Path(directory).resolve()
        self.config_path = self.directory / "softhsm2.conf"
        self.token_directory = self.directory / "tokens"
        self._module_path = module_path
        self._previous: str | None = None
        self._active = False
        self.directory.mkdir(parents=True, exist_ok=True)
        self.token_directory.mkdir(mode=0o700, exist_ok=True)
        config = ("# SIVEI: SoftHSM2 configuration for the tokens in this folder.\n"
                  f"directories.tokendir = {self.token_directory}\n"
                  "objectstore.backend = file\n"
                  "log.level = ERROR\n"
                  "slots.removable = false\n")
        if not self.config_path.exists() or self.config_path.read_text(encoding="utf-8") != config:
            self.config_path.write_text(config, encoding="utf-8")

    def environ(self) -> dict[str, str]:
        """A copy of this process' environment pointing SoftHSM2 here (for subprocesses)."""
        env = dict(os.environ)
        env[CONF_ENV] = str(self.config_path)
        return env

    def activate(self) -> None:
        """Point ``SOFTHSM2_CONF`` here for this process (and the processes it starts)."""
        if not self._active:
            self._previous = os.environ.get(CONF_ENV)
            self._active = True
        if os.environ.get(CONF_ENV) != str(self.config_path):
            os.environ[CONF_ENV] = str(self.config_path)
            self._reload_if_loaded()

    def deactivate(self) -> None:
        """Restore the previous ``SOFTHSM2_CONF``."""
        if not self._active:
            return
        self._active = False
        if self._previous is None:
            os.environ.pop(CONF_ENV, None)
        else:
            os.environ[CONF_ENV] = self._previous
        self._reload_if_loaded()

    def __enter__(self) -> SoftHsmEnvironment:
        self.activate()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.deactivate()

    def module(self) -> Pkcs11Module:
        """The SoftHSM2 module, loaded in this process with this environment active."""
        path = self._module_path or find_softhsm_module()
        if path is None:
            raise CustodyError(tr("SoftHSM2 no está instalado (libsofthsm2.so): ejecute make setup-system",
                                  "SoftHSM2 is not installed (libsofthsm2.so): run make setup-system"))
        self.activate()
        return open_module(path)  # SoftHSM2 itself, whatever $SIVEI_PKCS11_MODULE says

    def init_token(self, label: str, so_pin: str, user_pin: str) -> None:
        """Initialise a new token in this folder (through PKCS#11 C_InitToken, PINs kept in memory)."""
        self.module().initialize_token(label, so_pin, user_pin)

    def _reload_if_loaded(self) -> None:
        path = self._module_path or find_softhsm_module()
        if path is None:
            return
        module = loaded_module(path)
        if module is not None:
            module.reload()
