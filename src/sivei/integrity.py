"""The software-integrity constancia of an installation, and the offline install bundle.

Before the voting opens, auditors compare the SHA3-256 hashes of the audited programs with the
deployed ones. The constancia lists the SHA3-256 of every file the installation runs or serves:

* ``package``: every file of the installed distribution's RECORD (``sivei`` and the distributions of
  the other top-level packages, ``sivei_server`` and ``sivei_ceremonies``, when installed), without
  ``__pycache__``/``.pyc`` and without the two files the installer writes about the installation
  itself (``*.dist-info/RECORD`` and ``*.dist-info/direct_url.json``: they name this host's paths).
  When a package's files are not in a RECORD (an editable install, whose RECORD lists only a
  ``.pth`` and metadata; or a package imported from elsewhere), the directory the interpreter
  actually imports it from is walked instead, so that the constancia still covers the code that
  runs; ``mode`` says which was used (``record``, ``source-tree`` or ``mixed``).
* ``launcher``: RECORD files outside site-packages (the ``bin/sivei`` script the installer writes),
  hashed with their first ``#!`` line replaced by ``#!python`` as in the wheel, because it names
  this host's interpreter path.
* ``static``: every file the booth serves, from directories registered in the ``sivei.static``
  entry-point group (name = directory name in the constancia; value = a dotted path from an
  importable top-level package, e.g. ``sivei_server.booth.static`` for
  ``sivei_server/booth/static/``, resolved without importing anything) or given explicitly.
* ``lock``: the dependency lock file (``requirements.lock``), found in the project next to the
  imported sources or in the environment's prefix (``sys.prefix``), or given by path; ``lock_file``
  is null when it was not found.

Paths are relative (RECORD spelling, or ``<package>/<relative path>``), so two installations of
the same build give the same list. The digest is SHA3-256 over the canonical JSON of the file list
(``[{"kind", "path", "sha3_256"}, ...]`` sorted by kind, then path) and its read-aloud form is the
fingerprint. Python and package versions are reported but not in the digest. An auditor can
recompute the digest without SIVEI: ``jq -cjS .files constancia.json | openssl dgst -sha3-256``.

The offline install bundle (``build_bundle``) is a directory with the wheels of every locked
dependency and of the project, ``requirements.lock``, ``INSTALAR.txt``, the constancia an
installation from the bundle must show (``constancia-esperada.json``) and ``SHA3-256SUMS``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import Distribution, PackageNotFoundError, distribution, entry_points
from importlib.metadata import version as dist_version
from pathlib import Path, PurePosixPath
from typing import Any

from sivei import jsonstrict
from sivei.crypto.encoding import canonical_json
from sivei.crypto.fingerprint import fingerprint
from sivei.errors import EncodingError, SiveiError
from sivei.i18n import tr

SCHEMA = "sivei-integridad/1"
PACKAGE = "sivei"
TOP_LEVEL_PACKAGES = ("sivei", "sivei_server", "sivei_ceremonies")
STATIC_ENTRY_POINT_GROUP = "sivei.static"
LOCK_NAME = "requirements.lock"

KINDS = ("package", "launcher", "static", "lock")
MODES = ("record", "source-tree", "mixed")
# Written by the installer about this installation (host paths), not part of the build.
INSTALLER_FILES = frozenset({"RECORD", "direct_url.json"})

SUMS_NAME = "SHA3-256SUMS"
INSTRUCTIONS_NAME = "INSTALAR.txt"
EXPECTED_NAME = "constancia-esperada.json"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_FIELDS = frozenset({"schema", "package", "package_version", "python_version", "mode", "packages",
                     "static_dirs", "lock_file", "files", "digest"})
_FILE_FIELDS = frozenset({"kind", "path", "sha3_256"})
_CHUNK = 1 << 20


# -- hashing --------------------------------------------------------------------------------------


def sha3_file(path: Path, *, launcher: bool = False) -> str:
    """Lowercase hex SHA3-256 of a regular file; for a launcher, with its ``#!`` line as ``#!python``."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise SiveiError(tr(f"no es un archivo regular: {path}", f"not a regular file: {path}"))
        h = hashlib.sha3_256()
        with path.open("rb") as f:
            if launcher:
                first = f.readline()
                h.update(b"#!python\n" if first.startswith(b"#!") else first)
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
    except OSError as exc:
        raise SiveiError(tr(f"no se puede leer {path}: {exc.strerror or exc}",
                            f"cannot read {path}: {exc.strerror or exc}")) from exc
    return h.hexdigest()


# -- the constancia -------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class FileHash:
    """One hashed file: its kind, its relative path, its SHA3-256 (lowercase hex)."""

    kind: str
    path: str
    sha3_256: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise EncodingError(tr(f"tipo de archivo desconocido: {self.kind!r}", f"unknown file kind: {self.kind!r}"))
        _check_path(self.path, allow_parent=self.kind == "launcher")
        if not isinstance(self.sha3_256, str) or not _HEX64.fullmatch(self.sha3_256):
            raise EncodingError(tr(f"{self.path}: se esperaban 64 dígitos hexadecimales en minúscula",
                                   f"{self.path}: expected 64 lowercase hex digits"))

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.path)

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "sha3_256": self.sha3_256}


def _check_path(path: object, *, allow_parent: bool) -> None:
    if not isinstance(path, str) or not path:
        raise EncodingError(tr("ruta vacía o no textual", "empty or non-text path"))
    if any(ord(c) < 32 or ord(c) == 127 for c in path) or "\\" in path:
        raise EncodingError(tr(f"ruta con caracteres no permitidos: {path!r}",
                               f"path with characters not allowed: {path!r}"))
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".") for p in parts):
        raise EncodingError(tr(f"ruta no canónica: {path!r}", f"non-canonical path: {path!r}"))
    if allow_parent:
        # ``../../../bin/sivei``: leading ``..`` only, then a real path.
        rest = list(parts)
        while rest and rest[0] == "..":
            rest.pop(0)
        parts = rest
    if not parts or ".." in parts:
        raise EncodingError(tr(f"ruta con '..': {path!r}", f"path with '..': {path!r}"))


def files_digest(files: Iterable[FileHash]) -> bytes:
    """SHA3-256 over the canonical JSON of the file list."""
    return hashlib.sha3_256(canonical_json([f.to_json() for f in files])).digest()


@dataclass(frozen=True)
class IntegrityConstancia:
    """What an installation runs and serves, hashed; see the module documentation."""

    package_version: str
    python_version: str
    packages: tuple[tuple[str, str], ...]  # (top-level package, "record" | "source-tree"), sorted
    static_dirs: tuple[str, ...]  # names of the static directories hashed, sorted
    lock_file: str | None  # name of the lock file hashed, or None when absent
    files: tuple[FileHash, ...]  # sorted by (kind, path)

    def __post_init__(self) -> None:
        for name, value in (("package_version", self.package_version), ("python_version", self.python_version)):
            if not isinstance(value, str) or not value or len(value) > 100:
                raise EncodingError(tr(f"constancia: {name} no válido", f"constancia: invalid {name}"))
        names = [p for p, _ in self.packages]
        if not self.packages or names != sorted(set(names)):
            raise EncodingError(tr("constancia: la lista de paquetes debe ser no vacía, ordenada y sin repetidos",
                                   "constancia: the package list must be non-empty, sorted and without repeats"))
        for name, mode in self.packages:
            if not isinstance(name, str) or not name.isidentifier() or mode not in ("record", "source-tree"):
                raise EncodingError(tr(f"constancia: paquete o modo no válido: {name!r}: {mode!r}",
                                       f"constancia: invalid package or mode: {name!r}: {mode!r}"))
        if list(self.static_dirs) != sorted(set(self.static_dirs)):
            raise EncodingError(tr("constancia: static_dirs debe estar ordenada y sin repetidos",
                                   "constancia: static_dirs must be sorted and without repeats"))
        for d in self.static_dirs:
            _check_static_name(d)
        keys = [f.key for f in self.files]
        if keys != sorted(set(keys)):
            raise EncodingError(tr("constancia: los archivos deben estar ordenados por tipo y ruta, sin repetidos",
                                   "constancia: files must be sorted by kind and path, without repeats"))
        locks = [f.path for f in self.files if f.kind == "lock"]
        if locks != ([] if self.lock_file is None else [self.lock_file]):
            raise EncodingError(tr("constancia: lock_file no corresponde a los archivos de tipo lock",
                                   "constancia: lock_file does not match the files of kind lock"))
        for f in self.files:
            if f.kind == "static" and f.path.split("/", 1)[0] not in self.static_dirs:
                raise EncodingError(tr(f"constancia: {f.path} no pertenece a un directorio estático declarado",
                                       f"constancia: {f.path} is not in a declared static directory"))

    @property
    def mode(self) -> str:
        modes = {m for _, m in self.packages}
        return modes.pop() if len(modes) == 1 else "mixed"

    @cached_property
    def digest(self) -> bytes:
        return files_digest(self.files)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.digest)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "package": PACKAGE,
            "package_version": self.package_version,
            "python_version": self.python_version,
            "mode": self.mode,
            "packages": dict(self.packages),
            "static_dirs": list(self.static_dirs),
            "lock_file": self.lock_file,
            "files": [f.to_json() for f in self.files],
            "digest": self.digest.hex(),
        }

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    def dumps(self) -> str:
        """Indented JSON for files (keys sorted; reads back with ``loads``)."""
        import json

        return json.dumps(self.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"

    @staticmethod
    def from_json(obj: object, what: str = "constancia") -> IntegrityConstancia:
        """Strict: exactly the fields of ``to_json``, in canonical form, and a digest that matches."""
        if not isinstance(obj, dict) or set(obj) != _FIELDS:
            raise EncodingError(tr(f"{what}: se esperaban exactamente los campos {sorted(_FIELDS)}",
                                   f"{what}: expected exactly the fields {sorted(_FIELDS)}"))
        if obj["schema"] != SCHEMA or obj["package"] != PACKAGE:
            raise EncodingError(tr(f"{what}: esquema o paquete desconocido (se esperaba {SCHEMA}, {PACKAGE})",
                                   f"{what}: unknown schema or package (expected {SCHEMA}, {PACKAGE})"))
        packages, static_dirs, files = obj["packages"], obj["static_dirs"], obj["files"]
        if not isinstance(packages, dict) or not all(isinstance(v, str) for v in packages.values()):
            raise EncodingError(tr(f"{what}.packages: se esperaba un objeto paquete → modo",
                                   f"{what}.packages: expected an object package → mode"))
        if not isinstance(static_dirs, list) or not all(isinstance(d, str) for d in static_dirs):
            raise EncodingError(tr(f"{what}.static_dirs: se esperaba una lista de nombres",
                                   f"{what}.static_dirs: expected a list of names"))
        if obj["lock_file"] is not None and not isinstance(obj["lock_file"], str):
            raise EncodingError(tr(f"{what}.lock_file: se esperaba un nombre o null",
                                   f"{what}.lock_file: expected a name or null"))
        if not isinstance(files, list):
            raise EncodingError(tr(f"{what}.files: se esperaba una lista", f"{what}.files: expected a list"))
        parsed = []
        for i, f in enumerate(files):
            if not isinstance(f, dict) or set(f) != _FILE_FIELDS:
                raise EncodingError(tr(f"{what}.files[{i}]: se esperaban los campos kind, path, sha3_256",
                                       f"{what}.files[{i}]: expected the fields kind, path, sha3_256"))
            try:
                parsed.append(FileHash(f["kind"], f["path"], f["sha3_256"]))
            except EncodingError as exc:
                raise EncodingError(f"{what}.files[{i}]: {exc}") from exc
        try:
            constancia = IntegrityConstancia(
                package_version=obj["package_version"], python_version=obj["python_version"],
                packages=tuple(sorted(packages.items())), static_dirs=tuple(static_dirs),
                lock_file=obj["lock_file"], files=tuple(parsed))
        except EncodingError as exc:
            raise EncodingError(f"{what}: {exc}") from exc
        except TypeError as exc:  # a non-string name somewhere
            raise EncodingError(tr(f"{what}: tipos no válidos", f"{what}: invalid types")) from exc
        if obj["mode"] != constancia.mode:
            raise EncodingError(tr(f"{what}.mode: {obj['mode']!r} no corresponde a los paquetes ({constancia.mode})",
                                   f"{what}.mode: {obj['mode']!r} does not match the packages ({constancia.mode})"))
        if obj["digest"] != constancia.digest.hex():
            raise EncodingError(tr(f"{what}.digest no corresponde a la lista de archivos",
                                   f"{what}.digest does not match the file list"))
        return constancia

    @staticmethod
    def loads(text: str | bytes, what: str = "constancia") -> IntegrityConstancia:
        import json

        try:
            obj = jsonstrict.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EncodingError(tr(f"{what}: JSON no válido: {exc}", f"{what}: invalid JSON: {exc}")) from exc
        return IntegrityConstancia.from_json(obj, what)

    @staticmethod
    def load(path: Path) -> IntegrityConstancia:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SiveiError(tr(f"no se puede leer {path}: {exc.strerror or exc}",
                                f"cannot read {path}: {exc.strerror or exc}")) from exc
        return IntegrityConstancia.loads(data, str(path))


def compare(a: IntegrityConstancia, b: IntegrityConstancia) -> list[str]:
    """Every file added, removed or changed from ``a`` (e.g. the audited build) to ``b`` (the
    deployed one), sorted by kind and path; empty when the file lists are equal."""
    left = {f.key: f.sha3_256 for f in a.files}
    right = {f.key: f.sha3_256 for f in b.files}
    out = []
    for key in sorted(left.keys() | right.keys()):
        kind, path = key
        if key not in left:
            out.append(tr(f"añadido ({kind}): {path}", f"added ({kind}): {path}"))
        elif key not in right:
            out.append(tr(f"eliminado ({kind}): {path}", f"removed ({kind}): {path}"))
        elif left[key] != right[key]:
            out.append(tr(f"modificado ({kind}): {path}  {left[key][:16]}… → {right[key][:16]}…",
                          f"changed ({kind}): {path}  {left[key][:16]}… → {right[key][:16]}…"))
    return out


def compare_metadata(a: IntegrityConstancia, b: IntegrityConstancia) -> list[str]:
    """Differences outside the file list (versions, mode, static directories): notes, not in the digest."""
    out = []
    labels = {"package_version": ("versión del paquete", "package version"),
              "python_version": ("versión de Python", "Python version"),
              "mode": ("modo", "mode")}
    for attr, (es, en) in labels.items():
        x, y = getattr(a, attr), getattr(b, attr)
        if x != y:
            out.append(tr(f"{es}: {x} → {y}", f"{en}: {x} → {y}"))
    if a.static_dirs != b.static_dirs:
        out.append(tr(f"directorios estáticos: {list(a.static_dirs)} → {list(b.static_dirs)}",
                      f"static directories: {list(a.static_dirs)} → {list(b.static_dirs)}"))
    return out


# -- collecting an installation -------------------------------------------------------------------


def _check_static_name(name: str) -> None:
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", "..") \
            or any(ord(c) < 32 for c in name):
        raise EncodingError(tr(f"nombre de directorio estático no válido: {name!r}",
                               f"invalid static directory name: {name!r}"))


def imported_packages(names: Sequence[str] = TOP_LEVEL_PACKAGES) -> dict[str, Path]:
    """The directory each importable top-level package is imported from (found without importing it)."""
    found: dict[str, Path] = {}
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        if spec.submodule_search_locations:
            found[name] = Path(next(iter(spec.submodule_search_locations)))
        elif spec.origin:
            raise SiveiError(tr(f"{name} es un módulo, no un paquete: {spec.origin}",
                                f"{name} is a module, not a package: {spec.origin}"))
    return found


def installed_distributions(packages: Iterable[str]) -> list[Distribution]:
    """The ``sivei`` distribution and those providing the given top-level packages, when installed."""
    from importlib.metadata import packages_distributions

    names = {PACKAGE}
    provided = packages_distributions()
    for pkg in packages:
        names.update(provided.get(pkg, ()))
    dists = []
    for n in sorted(names):
        try:
            dists.append(distribution(n))
        except PackageNotFoundError:
            continue
    return dists


def registered_static_dirs() -> dict[str, Path]:
    """Static directories registered in the ``sivei.static`` entry-point group, resolved without
    importing anything (the library never imports the server)."""
    found: dict[str, Path] = {}
    for ep in entry_points(group=STATIC_ENTRY_POINT_GROUP):
        _check_static_name(ep.name)
        found[ep.name] = resolve_dotted_dir(ep.value, f"{STATIC_ENTRY_POINT_GROUP}:{ep.name}")
    return found


def resolve_dotted_dir(value: str, what: str) -> Path:
    """``pkg.sub.dir`` (or ``pkg.sub:dir``) → ``<where pkg is imported from>/sub/dir``."""
    parts = [p for p in re.split(r"[.:]", value.strip()) if p]
    if not parts or not all(p.isidentifier() for p in parts):
        raise SiveiError(tr(f"{what}: valor no válido {value!r}", f"{what}: invalid value {value!r}"))
    top = imported_packages([parts[0]]).get(parts[0])
    if top is None:
        raise SiveiError(tr(f"{what}: el paquete {parts[0]} no está instalado",
                            f"{what}: the package {parts[0]} is not installed"))
    return top.joinpath(*parts[1:])


def find_project_root(start: Iterable[Path]) -> Path | None:
    """The nearest directory above one of ``start`` with a ``pyproject.toml`` naming ``sivei``."""
    for base in start:
        for parent in list(base.resolve().parents)[:4]:
            pyproject = parent / "pyproject.toml"
            if pyproject.is_file():
                try:
                    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                    continue
                if data.get("project", {}).get("name") == PACKAGE:
                    return parent
    return None


def find_lock_file(package_dirs: Iterable[Path]) -> Path | None:
    """``requirements.lock`` of the project the packages are imported from, else in ``sys.prefix``."""
    root = find_project_root(package_dirs)
    for candidate in ([root / LOCK_NAME] if root else []) + [Path(sys.prefix) / LOCK_NAME]:
        if candidate.is_file():
            return candidate
    return None


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative posix path, path) of every file under ``root``, without ``__pycache__``/``.pyc``."""
    if not root.is_dir():
        raise SiveiError(tr(f"no existe el directorio {root}", f"the directory {root} does not exist"))
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")):
                continue
            p = Path(dirpath) / name
            yield p.relative_to(root).as_posix(), p


def _record_files(dist: Distribution) -> list[tuple[str, Path]]:
    files = dist.files
    if files is None:
        raise SiveiError(tr(f"la distribución {dist.metadata['Name']} no tiene RECORD",
                            f"the distribution {dist.metadata['Name']} has no RECORD"))
    out = []
    for f in files:
        p = PurePosixPath(str(f).replace("\\", "/"))
        if "__pycache__" in p.parts or p.suffix in (".pyc", ".pyo"):
            continue
        if len(p.parts) == 2 and p.parts[0].endswith(".dist-info") and p.name in INSTALLER_FILES:
            continue
        out.append((p.as_posix(), Path(str(dist.locate_file(f)))))
    return out


def build_constancia(
    *,
    packages: Mapping[str, Path] | None = None,
    distributions: Sequence[Distribution] | None = None,
    static_dirs: Mapping[str, Path] | None = None,
    lock_file: Path | None = None,
    search_lock: bool = True,
    package_version: str | None = None,
    python_version: str | None = None,
) -> IntegrityConstancia:
    """The constancia of this installation; every argument left out is discovered.

    ``packages``: top-level package → directory it is imported from (default: the importable ones
    of ``TOP_LEVEL_PACKAGES``). ``distributions``: whose RECORDs to hash (default: ``sivei`` and the
    distributions of those packages). ``static_dirs``: name → directory (default: the
    ``sivei.static`` entry points). ``lock_file``: default, searched unless ``search_lock`` is false.
    """
    pkgs = imported_packages() if packages is None else dict(packages)
    if not pkgs:
        raise SiveiError(tr("no se encontró ningún paquete de SIVEI", "no SIVEI package found"))
    dists = installed_distributions(pkgs) if distributions is None else list(distributions)
    statics = registered_static_dirs() if static_dirs is None else dict(static_dirs)

    entries: dict[tuple[str, str], FileHash] = {}

    def add(kind: str, path: str, digest: str) -> None:
        key = (kind, path)
        old = entries.get(key)
        if old is not None and old.sha3_256 != digest:
            raise SiveiError(tr(f"dos archivos distintos con la misma ruta: {path}",
                                f"two different files with the same path: {path}"))
        entries[key] = FileHash(kind, path, digest)

    recorded: set[Path] = set()
    for dist in dists:
        for rel, real in _record_files(dist):
            kind = "launcher" if rel.startswith("../") else "package"
            add(kind, rel, sha3_file(real, launcher=kind == "launcher"))
            recorded.add(real.resolve())
    modes: dict[str, str] = {}
    for name, directory in sorted(pkgs.items()):
        if (directory / "__init__.py").resolve() in recorded:
            modes[name] = "record"
            continue
        modes[name] = "source-tree"
        for rel, real in _walk(directory):
            add("package", f"{name}/{rel}", sha3_file(real))
    for name, directory in sorted(statics.items()):
        _check_static_name(name)
        for rel, real in _walk(directory):
            add("static", f"{name}/{rel}", sha3_file(real))
    lock = lock_file
    if lock is None and search_lock:
        lock = find_lock_file(pkgs.values())
    if lock is not None:
        if not lock.is_file():
            raise SiveiError(tr(f"no existe el archivo de bloqueo {lock}", f"the lock file {lock} does not exist"))
        add("lock", lock.name, sha3_file(lock))
    if package_version is None:
        try:
            package_version = dist_version(PACKAGE)
        except PackageNotFoundError:
            from sivei import __version__

            package_version = __version__
    return IntegrityConstancia(
        package_version=package_version,
        python_version=python_version or platform.python_version(),
        packages=tuple(sorted(modes.items())),
        static_dirs=tuple(sorted(statics)),
        lock_file=lock.name if lock is not None else None,
        files=tuple(sorted(entries.values())),
    )


def installation_constancia() -> IntegrityConstancia:
    """The constancia of the running installation, everything discovered (what every ceremony
    command prints at start and what the opening act names)."""
    return build_constancia()


_MODE_TEXT = {
    "record": ("RECORD de la distribución instalada", "the installed distribution's RECORD"),
    "source-tree": ("árbol de fuentes importado (instalación editable)",
                    "imported source tree (editable install)"),
    "mixed": ("mixto (ver paquetes)", "mixed (see packages)"),
}


def format_constancia(c: IntegrityConstancia, *, list_files: bool = True) -> str:
    """The constancia as text (current language), ending with the fingerprint to read aloud."""
    es, en = _MODE_TEXT[c.mode]
    lines = [tr("CONSTANCIA DE INTEGRIDAD DEL SOFTWARE (SHA3-256)", "SOFTWARE INTEGRITY CONSTANCIA (SHA3-256)")]
    lines.append("=" * len(lines[0]))
    lines.append(tr(f"Paquete: {PACKAGE} {c.package_version}", f"Package: {PACKAGE} {c.package_version}"))
    lines.append(f"Python: {c.python_version}")
    lines.append(tr(f"Modo: {es}", f"Mode: {en}"))
    lines.append(tr("Paquetes: ", "Packages: ") + ", ".join(f"{p} ({m})" for p, m in c.packages))
    lines.append(tr("Directorios estáticos: ", "Static directories: ")
                 + (", ".join(c.static_dirs) or tr("ninguno", "none")))
    lines.append(tr("Archivo de bloqueo: ", "Lock file: ")
                 + (c.lock_file or tr("AUSENTE (no se encontró; use --bloqueo)", "ABSENT (not found; use --lock)")))
    counts = {k: sum(1 for f in c.files if f.kind == k) for k in KINDS}
    lines.append(tr("Archivos: ", "Files: ") + ", ".join(f"{k} {n}" for k, n in counts.items() if n)
                 + tr(f" (total {len(c.files)})", f" (total {len(c.files)})"))
    lines.append(tr("Excluidos: __pycache__, *.pyc, *.dist-info/RECORD y direct_url.json (los escribe el instalador)",
                    "Excluded: __pycache__, *.pyc, *.dist-info/RECORD and direct_url.json (written by the installer)"))
    if list_files:
        lines.append("")
        lines.extend(f"{f.sha3_256}  {f.kind}:{f.path}" for f in c.files)
        lines.append("")
    lines.append(tr(f"Resumen SHA3-256: {c.digest.hex()}", f"SHA3-256 digest: {c.digest.hex()}"))
    lines.append(tr(f"Huella para leer en voz alta: {c.fingerprint}", f"Fingerprint to read aloud: {c.fingerprint}"))
    return "\n".join(lines)


# -- the offline install bundle -------------------------------------------------------------------


def write_sums(directory: Path) -> Path:
    """Write ``SHA3-256SUMS`` (``<hex>  <name>``, sorted) for every file of ``directory``."""
    lines = []
    for p in sorted(directory.iterdir()):
        if p.name == SUMS_NAME:
            continue
        if not p.is_file() or p.is_symlink():
            raise SiveiError(tr(f"el paquete solo puede tener archivos: {p}", f"a bundle may only hold files: {p}"))
        lines.append(f"{sha3_file(p)}  {p.name}\n")
    out = directory / SUMS_NAME
    out.write_text("".join(lines), encoding="utf-8")
    return out


_SUMS_LINE = re.compile(r"([0-9a-f]{64})  ([^/\\\x00-\x1f]+)")


def parse_sums(text: str) -> tuple[dict[str, str], list[str]]:
    """(name → hex, problems) of a ``SHA3-256SUMS`` text; names are plain file names."""
    sums: dict[str, str] = {}
    problems = []
    for n, line in enumerate(text.splitlines(), start=1):
        m = _SUMS_LINE.fullmatch(line)
        if m is None or m.group(2) in (".", ".."):
            problems.append(tr(f"{SUMS_NAME}, línea {n}: formato no válido (se espera '<64 hex>  <archivo>')",
                               f"{SUMS_NAME}, line {n}: invalid format (expected '<64 hex>  <file>')"))
            continue
        digest, name = m.groups()
        if name in sums or name == SUMS_NAME:
            problems.append(tr(f"{SUMS_NAME}, línea {n}: {name} repetido o no permitido",
                               f"{SUMS_NAME}, line {n}: {name} repeated or not allowed"))
            continue
        sums[name] = digest
    if not sums and not problems:
        problems.append(tr(f"{SUMS_NAME} está vacío", f"{SUMS_NAME} is empty"))
    return sums, problems


def sums_digest(directory: Path) -> bytes:
    """SHA3-256 of the bundle's ``SHA3-256SUMS``: what names the bundle (read aloud as a fingerprint)."""
    return bytes.fromhex(sha3_file(directory / SUMS_NAME))


def verify_bundle(directory: Path) -> list[str]:
    """Every problem of a bundle: a file changed, missing or not listed in ``SHA3-256SUMS``."""
    if not directory.is_dir():
        raise SiveiError(tr(f"no existe el directorio {directory}", f"the directory {directory} does not exist"))
    sums_path = directory / SUMS_NAME
    if not sums_path.is_file():
        raise SiveiError(tr(f"{directory} no tiene {SUMS_NAME}: no es un paquete de SIVEI",
                            f"{directory} has no {SUMS_NAME}: not a SIVEI bundle"))
    try:
        text = sums_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SiveiError(tr(f"no se puede leer {sums_path}: {exc}", f"cannot read {sums_path}: {exc}")) from exc
    sums, problems = parse_sums(text)
    for name, expected in sorted(sums.items()):
        p = directory / name
        if not p.is_file():
            problems.append(tr(f"falta {name}", f"{name} is missing"))
        elif sha3_file(p) != expected:
            problems.append(tr(f"{name}: el SHA3-256 no coincide (archivo modificado)",
                               f"{name}: SHA3-256 mismatch (file modified)"))
    for p in sorted(directory.iterdir()):
        if p.name != SUMS_NAME and p.name not in sums:
            problems.append(tr(f"{p.name}: no está en {SUMS_NAME} (sobra)", f"{p.name}: not in {SUMS_NAME} (extra)"))
    return problems


@dataclass(frozen=True)
class BundleResult:
    directory: Path
    wheels: tuple[str, ...]
    project_wheel: str
    source: str  # "commit <sha>" or "working tree <path>"
    expected: IntegrityConstancia | None
    sums_digest: bytes


Log = Callable[[str], None]


def _run(cmd: Sequence[str], what: str, *, env: Mapping[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, env=None if env is None else dict(env),  # noqa: S603
                              cwd=cwd, check=False)
    except OSError as exc:
        raise SiveiError(tr(f"{what}: no se pudo ejecutar {cmd[0]}: {exc}",
                            f"{what}: cannot run {cmd[0]}: {exc}")) from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-12:])
        raise SiveiError(tr(f"{what} falló (código {proc.returncode}):\n{tail}",
                            f"{what} failed (exit code {proc.returncode}):\n{tail}"))
    return proc


def offline_env() -> dict[str, str]:
    """The environment of an air-gapped host: no pip configuration (no index, no find-links)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _copy_source(project: Path, dest: Path, revision: str | None) -> tuple[str, int]:
    """Copy the project's sources into ``dest``: the committed tree of ``revision`` (default HEAD)
    when the project is a git repository, else the working tree. Returns (description, epoch)."""
    git = shutil.which("git")
    if git and (project / ".git").exists():
        rev = revision or "HEAD"
        sha = _run([git, "-C", str(project), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                   tr(f"git: revisión {rev}", f"git: revision {rev}")).stdout.strip()
        epoch = int(_run([git, "-C", str(project), "show", "-s", "--format=%ct", sha], "git show").stdout.strip())
        archive = dest.parent / "source.tar"
        _run([git, "-C", str(project), "archive", "--format=tar", "-o", str(archive), sha], "git archive")
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
                tar.extractall(dest, filter="data")
            else:  # our own repository's archive
                tar.extractall(dest)  # noqa: S202
        archive.unlink()
        return f"commit {sha}", epoch
    if revision is not None:
        raise SiveiError(tr(f"{project} no es un repositorio git: no se puede usar --revision",
                            f"{project} is not a git repository: --revision cannot be used"))
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", "build", "dist", "*.egg-info",
                                    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", ".benchmarks")
    shutil.copytree(project, dest, ignore=ignore)
    return f"working tree {project}", 315532800  # 1980-01-01, the earliest date a wheel (zip) holds


def _instructions(version: str, wheel: str, source: str) -> str:
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    plat = sysconfig.get_platform()
    return f"""\
SIVEI {version}: paquete de instalación sin conexión / offline install bundle
===========================================================================

ESPAÑOL

Origen: {source}; construido con Python {platform.python_version()} en {plat}.
Instálelo en una computadora con Python {py} y la misma plataforma ({plat}).
Todo se hace sin red. En lo que sigue, PAQUETE es el directorio de este archivo
(por ejemplo /media/usb/paquete-sivei) y /opt/sivei es el entorno que se crea.

1. Verifique el paquete ANTES de instalar (cualquiera de estas formas):
     cd PAQUETE
     sha3sum -a 256 -c {SUMS_NAME}          (Debian: paquete libdigest-sha3-perl)
     openssl dgst -sha3-256 ARCHIVO          (archivo por archivo; compare con {SUMS_NAME})
     sivei integridad verificar-paquete PAQUETE   (con una instalación de SIVEI ya verificada)
   Compare en voz alta la huella del paquete (SHA3-256 de {SUMS_NAME}) con la que
   anunció quien lo construyó:  openssl dgst -sha3-256 {SUMS_NAME}

2. Instale sin red:
     cd PAQUETE
     python3 -m venv /opt/sivei
     /opt/sivei/bin/pip install --no-index --find-links . --require-hashes -r requirements.lock
     /opt/sivei/bin/pip install --no-index --no-deps {wheel}
     cp requirements.lock /opt/sivei/requirements.lock

3. Compruebe la constancia de integridad de la instalación:
     /opt/sivei/bin/sivei integridad --json /tmp/constancia.json
     /opt/sivei/bin/sivei integridad comparar {EXPECTED_NAME} /tmp/constancia.json
   La huella que imprime el primer comando debe ser la de {EXPECTED_NAME}; el segundo
   no debe mostrar diferencias.

ENGLISH

Source: {source}; built with Python {platform.python_version()} on {plat}.
Install it on a computer with Python {py} and the same platform ({plat}).
Everything works offline. Below, BUNDLE is the directory of this file
(e.g. /media/usb/paquete-sivei) and /opt/sivei is the environment created.

1. Check the bundle BEFORE installing (any of these):
     cd BUNDLE
     sha3sum -a 256 -c {SUMS_NAME}          (Debian: package libdigest-sha3-perl)
     openssl dgst -sha3-256 FILE             (file by file; compare with {SUMS_NAME})
     sivei integrity check-bundle BUNDLE     (with an already verified SIVEI installation)
   Compare aloud the bundle's fingerprint (SHA3-256 of {SUMS_NAME}) with the one
   announced by whoever built it:  openssl dgst -sha3-256 {SUMS_NAME}

2. Install offline:
     cd BUNDLE
     python3 -m venv /opt/sivei
     /opt/sivei/bin/pip install --no-index --find-links . --require-hashes -r requirements.lock
     /opt/sivei/bin/pip install --no-index --no-deps {wheel}
     cp requirements.lock /opt/sivei/requirements.lock

3. Check the installation's integrity constancia:
     /opt/sivei/bin/sivei --english integrity --json /tmp/constancia.json
     /opt/sivei/bin/sivei --english integrity compare {EXPECTED_NAME} /tmp/constancia.json
   The fingerprint the first command prints must be the one of {EXPECTED_NAME}; the
   second must show no differences.
"""


def build_bundle(
    dest: Path,
    *,
    project: Path | None = None,
    lock_file: Path | None = None,
    revision: str | None = None,
    self_test: bool = True,
    python: str = sys.executable,
    log: Log = lambda _msg: None,
) -> BundleResult:
    """Build the offline install bundle in a temporary directory next to ``dest``, then rename it
    to ``dest`` (which must not exist, or be empty): nothing is left half-written.

    Dependencies: ``pip download`` of exactly the locked wheels (hash-checked). The project: its
    wheel built from the committed sources of ``revision`` (default HEAD; the working tree when the
    project is not a git repository), offline, with the locked build backend, and
    ``SOURCE_DATE_EPOCH`` set to the commit time so the wheel is reproducible. With ``self_test``
    the bundle is installed offline into a throw-away environment, following INSTALAR.txt, and that
    installation's constancia is kept as ``constancia-esperada.json``."""
    dest = Path(os.path.abspath(dest))
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise SiveiError(tr(f"{dest} ya existe y no está vacío", f"{dest} already exists and is not empty"))
    if not dest.parent.is_dir():
        raise SiveiError(tr(f"no existe el directorio {dest.parent}", f"the directory {dest.parent} does not exist"))
    if project is None:
        project = find_project_root(imported_packages(["sivei"]).values())
        if project is None:
            raise SiveiError(tr("no se encontró el árbol de fuentes de SIVEI (pyproject.toml); "
                                "indíquelo con --proyecto",
                                "the SIVEI source tree (pyproject.toml) was not found; give it with --project"))
    project = project.resolve()
    if not (project / "pyproject.toml").is_file():
        raise SiveiError(tr(f"{project} no tiene pyproject.toml", f"{project} has no pyproject.toml"))
    if lock_file is not None and not lock_file.is_file():
        raise SiveiError(tr(f"no existe el archivo de bloqueo {lock_file}",
                            f"the lock file {lock_file} does not exist"))

    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    work = Path(tempfile.mkdtemp(prefix="sivei-bundle-"))
    try:
        src = work / "src"
        source, epoch = _copy_source(project, src, revision)
        # By default the lock file of the same sources (the commit's, not the working tree's).
        lock = lock_file.resolve() if lock_file is not None else src / LOCK_NAME
        if not lock.is_file():
            raise SiveiError(tr(f"{source} no tiene {LOCK_NAME}; indíquelo con --bloqueo",
                                f"{source} has no {LOCK_NAME}; give it with --lock"))
        log(tr(f"1/5 descargando las dependencias fijadas en {lock.name} (con verificación de hashes)…",
               f"1/5 downloading the dependencies pinned in {lock.name} (hash-checked)…"))
        _run([python, "-m", "pip", "download", "--disable-pip-version-check", "--require-hashes",
              "--only-binary=:all:", "--no-deps", "-r", str(lock), "-d", str(stage)],
             tr("pip download", "pip download"))
        shutil.copyfile(lock, stage / LOCK_NAME)

        log(tr(f"2/5 construyendo la rueda del proyecto ({source}) sin red…",
               f"2/5 building the project's wheel ({source}) offline…"))
        out = work / "wheel"
        env = offline_env()
        env["SOURCE_DATE_EPOCH"] = str(epoch)
        _run([python, "-m", "pip", "wheel", "--no-deps", "--no-index", "--find-links", str(stage),
              "-w", str(out), str(src)], tr("construcción de la rueda", "wheel build"), env=env)
        built = sorted(out.glob(f"{PACKAGE}-*.whl"))
        if len(built) != 1:
            raise SiveiError(tr(f"se esperaba una rueda {PACKAGE}-*.whl, hay {len(built)}",
                                f"expected one {PACKAGE}-*.whl wheel, found {len(built)}"))
        wheel = built[0].name
        if (stage / wheel).exists():
            raise SiveiError(tr(f"{wheel} ya está entre las dependencias",
                                f"{wheel} is already among the dependencies"))
        shutil.copyfile(built[0], stage / wheel)
        version = wheel.split("-")[1]

        (stage / INSTRUCTIONS_NAME).write_text(_instructions(version, wheel, source), encoding="utf-8")

        expected = None
        if self_test:
            log(tr("3/5 instalando el paquete sin red en un entorno de prueba…",
                   "3/5 installing the bundle offline into a test environment…"))
            expected = _self_test(stage, wheel, work / "venv", python)
            (stage / EXPECTED_NAME).write_text(expected.dumps(), encoding="utf-8")
        else:
            log(tr("3/5 prueba de instalación omitida", "3/5 installation test skipped"))

        log(tr(f"4/5 escribiendo {SUMS_NAME}…", f"4/5 writing {SUMS_NAME}…"))
        write_sums(stage)
        problems = verify_bundle(stage)
        if problems:
            raise SiveiError("; ".join(problems))
        digest = sums_digest(stage)
        wheels = tuple(sorted(p.name for p in stage.glob("*.whl")))

        log(tr(f"5/5 moviendo el paquete a {dest}", f"5/5 moving the bundle to {dest}"))
        stage.chmod(0o755)
        if dest.exists():
            dest.rmdir()
        os.rename(stage, dest)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BundleResult(dest, wheels, wheel, source, expected, digest)


def _self_test(stage: Path, wheel: str, venv: Path, python: str) -> IntegrityConstancia:
    """Follow INSTALAR.txt offline in a throw-away environment; return its constancia."""
    env = offline_env()
    what = tr("instalación de prueba sin red", "offline test installation")
    _run([python, "-m", "venv", str(venv)], what, env=env)
    vpy = str(venv / "bin" / "python")
    _run([vpy, "-m", "pip", "install", "--no-index", "--find-links", ".", "--require-hashes",
          "-r", LOCK_NAME], what, env=env, cwd=stage)
    _run([vpy, "-m", "pip", "install", "--no-index", "--no-deps", wheel], what, env=env, cwd=stage)
    shutil.copyfile(stage / LOCK_NAME, venv / LOCK_NAME)
    out = venv / "constancia.json"
    _run([str(venv / "bin" / PACKAGE), "integridad", "--breve", "--json", str(out)], what, env=env, cwd=venv)
    constancia = IntegrityConstancia.load(out)
    if constancia.mode != "record" or constancia.lock_file != LOCK_NAME:
        raise SiveiError(tr(f"{what}: constancia inesperada (modo {constancia.mode}, bloqueo {constancia.lock_file})",
                            f"{what}: unexpected constancia (mode {constancia.mode}, lock {constancia.lock_file})"))
    return constancia
