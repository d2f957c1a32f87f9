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
from sivei.election_kind import PREFIXES, ElectionKind, banner, check_kind, kind_name, kind_of
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei.integrity import IntegrityConstancia, installation_constancia
from sivei.record import layout

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
    if constancia.mode != "record":
        out.warn(tr("esta instalación es de desarrollo (fuentes importadas, p. ej. «make setup»), no la del paquete "
                    "de instalación: su huella NO será la del paquete auditado. En una ceremonia use la instalación "
                    "desde el paquete sin conexión (docs/ceremony.md, sección 3)",
                    "this is a development installation (imported sources, e.g. «make setup»), not the install "
                    "bundle's: its fingerprint will NOT be the audited bundle's. At a ceremony use the installation "
                    "from the offline bundle (docs/ceremony.md, section 3)"))
    return constancia


def warn_pin_from_environment(out: Out, variable: str = PIN_ENV) -> None:
    """A PIN taken from the environment skips the prompt: say so, loudly (drills and tests only)."""
    if os.environ.get(variable):
        out.warn(tr(f"el PIN se tomó de la variable de entorno {variable} (solo simulacros y pruebas): en una "
                    f"ceremonia real bórrela («unset {variable}») para que el PIN se teclee",
                    f"the PIN was taken from the environment variable {variable} (drills and tests only): at a "
                    f"real ceremony remove it («unset {variable}») so that the PIN is typed"))


def softhsm_store_note(out: Out) -> None:
    """Which SoftHSM2 token store this laptop uses (each key-holder has their own)."""
    conf = os.environ.get("SOFTHSM2_CONF")
    if conf:
        out.info(tr(f"almacén de tokens SoftHSM2 de esta computadora: {conf}",
                    f"this laptop's SoftHSM2 token store: {conf}"))


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


# -- real election, rehearsal, practice election or drill ------------------------------------------------

_expected_kind: ElectionKind = "real"
_announced: set[str] = set()


def set_rehearsal(rehearsal: bool) -> None:
    """``--ensayo``: this command works on a rehearsal's files only; otherwise on the real election's only."""
    set_kind("rehearsal" if rehearsal else "real")


def set_kind(kind: ElectionKind) -> None:
    """``--ensayo``, ``--practica`` or ``--simulacro``: this command works on the files of that kind of
    election only (a practice election's key ceremony, a drill's…); without them, on the real one's."""
    global _expected_kind
    _expected_kind = kind
    _announced.clear()


def check_election(election_id: object, where: str) -> None:
    """Refuse at once a file of another kind of election than this command's (a rehearsal's file in a
    real ceremony, or the reverse), before any long check; announce a rehearsal on screen."""
    if not isinstance(election_id, str):
        raise RefusalError(tr(f"{where}: no nombra su elección", f"{where}: does not name its election"))
    try:
        check_kind(election_id, _expected_kind, where)
    except SiveiError as exc:
        raise RefusalError(str(exc)) from None
    line = banner(election_id)
    if line and election_id not in _announced:
        _announced.add(election_id)
        print(f"   {line}", flush=True)


def check_ceremony_kind(election_id: str, ceremony_id: str) -> None:
    """A rehearsal's ceremony ids start with its kind's prefix; the real election's never do."""
    kind = kind_of(election_id)
    prefix = PREFIXES.get(kind)
    if prefix is not None and not ceremony_id.startswith(prefix):
        raise RefusalError(tr(f"la ceremonia de {kind_name(kind)} debe llevar un identificador que empiece por "
                              f"«{prefix}» (p. ej. «{election_id}-llaves-1»)",
                              f"the ceremony of {kind_name(kind)} must have an id starting with «{prefix}» "
                              f"(e.g. «{election_id}-llaves-1»)"))
    if prefix is None and kind_of(ceremony_id) != "real":
        raise RefusalError(tr(f"el identificador «{ceremony_id}» es de {kind_name(kind_of(ceremony_id))}: la "
                              "ceremonia de la elección real no puede llevarlo",
                              f"the id «{ceremony_id}» is {kind_name(kind_of(ceremony_id))}'s: the real election's "
                              "ceremony cannot carry it"))


def peek_election_id(directory: Path) -> str | None:
    """The election id a ceremony folder (``ceremonia.json``) or a record (its index) names, read
    without checking anything else (milliseconds, whatever the size of the board)."""
    for name in ("ceremonia.json", layout.HEADER):
        path = directory / name
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError):
                return None
            value = data.get("election_id") if isinstance(data, dict) else None
            return value if isinstance(value, str) else None
    return None


def check_folder_election(directory: Path) -> None:
    election_id = peek_election_id(directory)
    if election_id is not None:
        check_election(election_id, str(directory))


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
    softhsm_store_note(out)
    warn_pin_from_environment(out)
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
