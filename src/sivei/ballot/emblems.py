"""Party emblems: the SVG files a manifest names, each by file name and SHA-256 (``Emblem``).

The manifest carries only the name and the hash, so that its hash binds the emblems the voters see
without the manifest growing by their bytes. The files travel beside it (a folder ``emblemas/``
next to ``manifest.json``; the voting server serves them inside the booth's context), and whoever
shows or accepts one — the booth, the server, the verifier — checks it first with
``check_emblem``: at most ``EMBLEM_MAX_BYTES`` (3 KB, so that a whole ballot's emblems cost little on
a slow link), the SHA-256 the manifest names, and a plain SVG image — no script, no event handler,
no external reference, no DTD — since an emblem is shown to every voter.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree

from sivei.ballot.manifest import EMBLEM_MAX_BYTES, Emblem, Manifest
from sivei.errors import ManifestError
from sivei.i18n import tr

EMBLEM_FOLDER = "emblemas"
SVG_NS = "{http://www.w3.org/2000/svg}"
_FORBIDDEN_TAGS = ("script", "foreignObject", "iframe", "object", "embed", "image", "use", "a", "style",
                   "animate", "set", "animateTransform", "animateMotion", "handler", "listener")


def _fail(emblem: Emblem, es: str, en: str) -> ManifestError:
    return ManifestError(tr(f"emblema {emblem.file}: {es}", f"emblem {emblem.file}: {en}"))


def check_emblem(emblem: Emblem, data: bytes) -> None:
    """Raise ManifestError unless ``data`` is the emblem the manifest names, small and inert."""
    if len(data) > EMBLEM_MAX_BYTES:
        raise _fail(emblem, f"{len(data)} bytes; el máximo es {EMBLEM_MAX_BYTES}",
                    f"{len(data)} bytes; the maximum is {EMBLEM_MAX_BYTES}")
    if hashlib.sha256(data).digest() != emblem.sha256:
        raise _fail(emblem, "su SHA-256 no es el que nombra el manifiesto",
                    "its SHA-256 is not the one the manifest names")
    text = data.decode("utf-8", errors="strict") if data.isascii() or _utf8(data) else None
    if text is None:
        raise _fail(emblem, "no es texto UTF-8", "not UTF-8 text")
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise _fail(emblem, "no se admite una DTD ni entidades", "a DTD or entities are not allowed")
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - 3 KB at most, no DTD (checked above)
    except ElementTree.ParseError as exc:
        raise _fail(emblem, f"no es XML bien formado ({exc})", f"not well-formed XML ({exc})") from None
    if root.tag != f"{SVG_NS}svg":
        raise _fail(emblem, "la raíz no es <svg> (espacio de nombres SVG)", "the root is not <svg> (SVG namespace)")
    for el in root.iter():
        local = el.tag.split("}", 1)[-1] if isinstance(el.tag, str) else ""
        if local in _FORBIDDEN_TAGS:
            raise _fail(emblem, f"elemento <{local}> no permitido", f"element <{local}> not allowed")
        for name, value in el.attrib.items():
            attr = name.split("}", 1)[-1].lower()
            if attr.startswith("on"):
                raise _fail(emblem, f"atributo {attr} no permitido", f"attribute {attr} not allowed")
            if attr == "href" or re.search(r"url\(\s*['\"]?(?!#)", value) or "javascript:" in value.lower():
                raise _fail(emblem, "referencia externa no permitida", "external reference not allowed")


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def load_emblems(manifest: Manifest, folder: Path) -> dict[str, bytes]:
    """Every emblem the manifest names, read from ``folder`` and checked; file name → bytes."""
    out: dict[str, bytes] = {}
    for party in manifest.parties:
        if party.emblem is None:
            continue
        path = folder / party.emblem.file
        if not path.is_file():
            raise _fail(party.emblem, f"falta el archivo {path}", f"missing file {path}")
        data = path.read_bytes()
        check_emblem(party.emblem, data)
        out[party.emblem.file] = data
    return out


def available_emblems(manifest: Manifest, folders: list[Path]) -> dict[str, bytes]:
    """The manifest's emblems found in the first of ``folders`` that has each one with the right
    bytes; emblems found nowhere (or altered) are left out, for the caller to say so."""
    out: dict[str, bytes] = {}
    for party in manifest.parties:
        if party.emblem is None:
            continue
        for folder in folders:
            path = folder / party.emblem.file
            if not path.is_file():
                continue
            data = path.read_bytes()
            try:
                check_emblem(party.emblem, data)
            except ManifestError:
                continue
            out[party.emblem.file] = data
            break
    return out


def sample_emblem_folder() -> Path:
    """The placeholder emblems of the sample manifest (package data)."""
    return Path(str(resources.files("sivei") / "data" / EMBLEM_FOLDER))


def emblem_json(emblems: Mapping[str, bytes]) -> dict[str, str]:
    """File name → SVG text, for a JSON answer (the SVGs are UTF-8 by ``check_emblem``)."""
    return {name: data.decode("utf-8") for name, data in sorted(emblems.items())}
