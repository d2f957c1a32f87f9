"""What every ceremony command shares: output for people, files, tokens and PINs, fingerprints.

Output is for people reading along in a room: numbered steps, one fact per line, and every value to
compare aloud marked «LEA EN VOZ ALTA» in the project's one read-aloud format. Errors that refuse an
operation raise ``RefusalError`` (a ``SiveiError``: the CLI prints it and exits 2) and are raised
before anything is written, so a refusal never leaves a half-done step behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from sivei.crypto.ecdsa import key_fingerprint_digest
from sivei.crypto.encoding import Encoder, element_to_hex, tagged_hash
from sivei.crypto.fingerprint import fingerprint
from sivei.crypto.group import GROUPS, TEST_GROUP, Group
from sivei.custody import PIN_ENV, TokenSession, open_module, read_pin
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei.integrity import IntegrityConstancia, installation_constancia

TAG_JOINT_KEY = "sivei/joint-key"
TAG_VERIFICATION_KEY = "sivei/verification-key"

EXIT_OK = 0
EXIT_REFUSED = 2
EXIT_ABORTED = 3


class RefusalError(SiveiError):
    """The command refuses; the message says why and what to do. Nothing was written or changed."""


# -- output -----------------------------------------------------------------------------------------


class Out:
    """Step-by-step output for the people in the room (standard output, flushed line by line)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._step = 0

    def _print(self, text: str = "") -> None:
        print(text, file=self._stream or sys.stdout, flush=True)

    def title(self, text: str) -> None:
        self._print()
        self._print(text)
        self._print("=" * len(text))

    def step(self, text: str) -> None:
        self._step += 1
        self._print(f"{self._step}. {text}")

    def info(self, text: str) -> None:
        self._print(f"   {text}")

    def ok(self, text: str) -> None:
        self._print(f"   ✓ {text}")

    def warn(self, text: str) -> None:
        self._print(f"   ⚠ {text}")

    def aloud(self, label: str, value: str) -> None:
        self._print(tr(f"   ► LEA EN VOZ ALTA — {label}: {value}", f"   ► READ ALOUD — {label}: {value}"))

    def blank(self) -> None:
        self._print()

    def raw(self, text: str) -> None:
        self._print(text)


def constancia_banner(out: Out) -> IntegrityConstancia:
    """Print this installation's integrity constancia fingerprint (every command starts with it)."""
    constancia = installation_constancia()
    out.aloud(tr("constancia de integridad de esta instalación (SHA3-256)",
                 "integrity constancia of this installation (SHA3-256)"), constancia.fingerprint)
    out.info(tr(f"compárela con la del software auditado («sivei integridad»); resumen {constancia.digest.hex()}",
                f"compare it with the audited software's («sivei integridad»); digest {constancia.digest.hex()}"))
    return constancia


# -- fingerprints -----------------------------------------------------------------------------------


def joint_key_fingerprint(group: Group, joint_key: int) -> str:
    """Read-aloud form of the election public key K (the same as the opening act prints)."""
    return fingerprint(tagged_hash(TAG_JOINT_KEY, bytes.fromhex(element_to_hex(group, joint_key))))


def verification_key_fingerprint(group: Group, index: int, key: int) -> str:
    """Read-aloud form of key-holder ``index``'s verification key K_i:
    H("sivei/verification-key", u32(i) ‖ element(K_i))."""
    return fingerprint(tagged_hash(TAG_VERIFICATION_KEY, Encoder(group).u32(index).element(key).to_bytes()))


def signing_key_fingerprint(public_key: bytes) -> str:
    return fingerprint(key_fingerprint_digest(public_key))


def guardian_name(index: int) -> str:
    return f"guardian-{index}"


def custodian(index: int) -> str:
    """The key-holder as people call them."""
    return tr(f"custodio {index}", f"key-holder {index}")


# -- groups -----------------------------------------------------------------------------------------


def group_named(name: object, *, allow_test_group: bool, where: str) -> Group:
    group = GROUPS.get(name) if isinstance(name, str) else None
    if group is None:
        raise RefusalError(tr(f"{where}: grupo desconocido {name!r}", f"{where}: unknown group {name!r}"))
    if group is TEST_GROUP and not allow_test_group:
        raise RefusalError(tr(f"{where}: usa el grupo de prueba (inseguro); solo se acepta con --test-group",
                              f"{where}: uses the (insecure) test group; accepted only with --test-group"))
    return group


# -- files ------------------------------------------------------------------------------------------


def read_json(path: Path, what: str | None = None) -> Any:
    """Parse a JSON file with an error that names the file (and the line and column)."""
    name = what or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RefusalError(tr(f"no existe el archivo {path}", f"file {path} does not exist")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RefusalError(tr(f"no se puede leer {path}: {exc}", f"cannot read {path}: {exc}")) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RefusalError(tr(f"{name}: JSON no válido en la línea {exc.lineno}, columna {exc.colno} ({exc.msg}); "
                              "¿se copió completo?",
                              f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
                              "was it copied completely?")) from None


def json_text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def write_text_atomic(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Write through a temporary file in the same folder, fsync, rename: never half a file."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise RefusalError(tr(f"no existe la carpeta {parent}", f"the folder {parent} does not exist"))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def check_new_file(path: Path, text: str | None = None) -> None:
    """Refuse to replace an existing file unless it already holds exactly ``text``."""
    if path.exists() and (text is None or path.read_text(encoding="utf-8") != text):
        raise RefusalError(tr(f"{path} ya existe con otro contenido: no se sobrescribe (muévalo o elija otra salida)",
                              f"{path} already exists with other content: it is not overwritten (move it or choose "
                              "another output)"))


def write_json_new(path: Path, obj: Any) -> None:
    """Write a JSON file that must not exist yet (or already hold the same content)."""
    text = json_text(obj)
    check_new_file(path, text)
    write_text_atomic(path, text)


# -- tokens -----------------------------------------------------------------------------------------


def pin_prompt(label: str) -> str:
    return tr(f"PIN de usuario del token «{label}»", f"user PIN of token «{label}»")


@contextlib.contextmanager
def keyholder_token(label: str, module_path: str | None, out: Out) -> Iterator[TokenSession]:
    """Open the PKCS#11 module in this process, ask for the PIN (or read ``SIVEI_PIN``) and log in."""
    module = open_module(module_path)
    out.info(tr(f"módulo PKCS#11: {module.path}", f"PKCS#11 module: {module.path}"))
    pin = read_pin(pin_prompt(label), env_var=PIN_ENV)
    session = module.open_token(label, pin)
    del pin
    try:
        out.ok(tr(f"token «{label}» abierto", f"token «{label}» open"))
        yield session
    finally:
        session.close()


def refuse_existing(path: Path) -> None:
    if path.exists():
        raise RefusalError(tr(f"{path} ya existe: no se sobrescribe",
                              f"{path} already exists: it is not overwritten"))
