"""Sealing secrets with AES-256-GCM, and sealed files bound to their election, ceremony and holder.

Sealed value (the same for a token's key and a software key)::

    version (1 byte, 0x01) ‖ IV (12 random bytes) ‖ ciphertext ‖ tag (16 bytes)

The GCM associated data is ``version ‖ associated_data``, so the version byte is authenticated too.
A fresh random 96-bit IV is drawn for every seal (``secrets``), which is safe far beyond the number of
seals one key makes (well under 2³²).

Sealed file (``SealedFile``)::

    "SIVEISF1" ‖ u32 length ‖ context ‖ u32 length ‖ sealed value

where ``context`` is the canonical encoding (``sivei.crypto.encoding.Encoder`` strings) of
(purpose, election id, ceremony id, guardian id, what is sealed) and is also the associated data of
the seal. The clear copy of the context lets a mismatch be named precisely; the seal itself is what
protects it: a file whose context was edited to match does not open.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sivei.crypto.encoding import Encoder
from sivei.custody.errors import CustodyError, SealInvalidError
from sivei.i18n import tr

SEAL_VERSION = 1
IV_BYTES = 12
TAG_BYTES = 16
SEALED_OVERHEAD = 1 + IV_BYTES + TAG_BYTES

SEALED_SHARE_PURPOSE = "sivei/sealed-share"
"""Purpose string for a guardian's election secret share."""

FILE_MAGIC = b"SIVEISF1"
_FIELDS = ("purpose", "election_id", "ceremony_id", "guardian_id", "what")


class Sealer(Protocol):
    """Anything that seals and unseals with AES-GCM in the format above: a token key or a software key."""

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """version ‖ IV ‖ ciphertext+tag, authenticating ``associated_data``."""
        ...

    def unseal(self, sealed: bytes, associated_data: bytes) -> bytes:
        """The plaintext, or ``SealInvalidError``."""
        ...


def seal_invalid_message(detail_es: str = "", detail_en: str = "") -> str:
    """The one message for a seal that does not open, with an optional precise detail."""
    es = "el sello no es válido: archivo alterado, de otra elección/ceremonia/custodio, o de otro token"
    en = ("the seal is not valid: the file was altered, or belongs to another "
          "election/ceremony/key-holder, or to another token")
    return tr(f"{es} ({detail_es})" if detail_es else es, f"{en} ({detail_en})" if detail_en else en)


def new_iv() -> bytes:
    return secrets.token_bytes(IV_BYTES)


def gcm_associated_data(associated_data: bytes) -> bytes:
    """What GCM authenticates: the format version, then the caller's associated data."""
    return bytes([SEAL_VERSION]) + associated_data


def join_sealed(iv: bytes, ciphertext_and_tag: bytes) -> bytes:
    return bytes([SEAL_VERSION]) + iv + ciphertext_and_tag


def split_sealed(sealed: bytes) -> tuple[bytes, bytes]:
    """(IV, ciphertext+tag) of a sealed value, checking its length and version."""
    if len(sealed) < SEALED_OVERHEAD:
        raise SealInvalidError(seal_invalid_message(
            f"demasiado corto: {len(sealed)} bytes, mínimo {SEALED_OVERHEAD}",
            f"too short: {len(sealed)} bytes, at least {SEALED_OVERHEAD}"))
    if sealed[0] != SEAL_VERSION:
        raise SealInvalidError(seal_invalid_message(
            f"versión de formato desconocida {sealed[0]}", f"unknown format version {sealed[0]}"))
    return bytes(sealed[1:1 + IV_BYTES]), bytes(sealed[1 + IV_BYTES:])


class SoftwareSealer:
    """An AES-256 key held in memory, same format as a token's (drills without tokens, tests).

    Ceremonies use the token's key: this key can be copied, the token's cannot."""

    def __init__(self, key: bytes | None = None) -> None:
        if key is None:
            key = AESGCM.generate_key(bit_length=256)
        if len(key) != 32:
            raise CustodyError(tr("la llave AES debe tener 32 bytes", "the AES key must be 32 bytes"))
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        iv = new_iv()
        return join_sealed(iv, self._aead.encrypt(iv, plaintext, gcm_associated_data(associated_data)))

    def unseal(self, sealed: bytes, associated_data: bytes) -> bytes:
        iv, body = split_sealed(sealed)
        try:
            return self._aead.decrypt(iv, body, gcm_associated_data(associated_data))
        except InvalidTag:
            raise SealInvalidError(seal_invalid_message()) from None


@dataclass(frozen=True)
class SealContext:
    """What a sealed secret is bound to; its canonical encoding is the seal's associated data."""

    purpose: str
    election_id: str
    ceremony_id: str
    guardian_id: str
    what: str

    def associated_data(self) -> bytes:
        enc = Encoder()
        for name in _FIELDS:
            enc.string(getattr(self, name))
        return enc.to_bytes()

    @staticmethod
    def decode(data: bytes) -> SealContext | None:
        """Parse an encoded context; None when it is not exactly five strings."""
        values: list[str] = []
        pos = 0
        for _ in _FIELDS:
            if pos + 4 > len(data):
                return None
            n = int.from_bytes(data[pos:pos + 4], "big")
            pos += 4
            if pos + n > len(data):
                return None
            try:
                values.append(data[pos:pos + n].decode("utf-8"))
            except UnicodeDecodeError:
                return None
            pos += n
        if pos != len(data):
            return None
        return SealContext(*values)


_FIELD_NAMES = {
    "purpose": ("propósito", "purpose"),
    "election_id": ("elección", "election"),
    "ceremony_id": ("ceremonia", "ceremony"),
    "guardian_id": ("custodio", "key-holder"),
    "what": ("contenido", "content"),
}


class SealedFile:
    """A secret sealed to a file, bound to its ``SealContext``.

    Written atomically (temporary file in the same folder, fsync, rename), mode 0600. The plaintext
    exists only in memory: it is never written unsealed.
    """

    def __init__(self, path: str | os.PathLike[str], context: SealContext) -> None:
        self.path = Path(path)
        self.context = context

    def exists(self) -> bool:
        return self.path.exists()

    def write(self, sealer: Sealer, plaintext: bytes, *, overwrite: bool = False) -> None:
        """Seal ``plaintext`` into the file. Refuses to replace an existing file unless ``overwrite``."""
        if not overwrite and self.path.exists():
            raise CustodyError(tr(f"{self.path}: ya existe; no se sobrescribe un archivo sellado",
                                  f"{self.path}: already exists; a sealed file is not overwritten"))
        ad = self.context.associated_data()
        sealed = sealer.seal(plaintext, ad)
        data = (FILE_MAGIC + len(ad).to_bytes(4, "big") + ad + len(sealed).to_bytes(4, "big") + sealed)
        _write_atomically(self.path, data)

    def read(self, sealer: Sealer) -> bytes:
        """Unseal the file's secret. Clear errors for a missing, truncated, foreign or altered file."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise CustodyError(tr(f"no existe el archivo sellado {self.path}",
                                  f"sealed file {self.path} does not exist")) from None
        except OSError as exc:
            raise CustodyError(tr(f"no se puede leer {self.path}: {exc.strerror}",
                                  f"cannot read {self.path}: {exc.strerror}")) from None
        ad, sealed = self._parse(data)
        expected = self.context.associated_data()
        if ad != expected:
            raise SealInvalidError(self._mismatch(ad))
        try:
            return sealer.unseal(sealed, expected)
        except SealInvalidError:
            raise SealInvalidError(seal_invalid_message(str(self.path), str(self.path))) from None

    def _parse(self, data: bytes) -> tuple[bytes, bytes]:
        if not data.startswith(FILE_MAGIC):
            if FILE_MAGIC.startswith(data):
                self._truncated(len(FILE_MAGIC) + 8, len(data))
            raise CustodyError(tr(f"{self.path} no es un archivo sellado de SIVEI",
                                  f"{self.path} is not a SIVEI sealed file"))
        pos = len(FILE_MAGIC)
        parts: list[bytes] = []
        for _ in range(2):
            if pos + 4 > len(data):
                self._truncated(pos + 4, len(data))
            n = int.from_bytes(data[pos:pos + 4], "big")
            pos += 4
            if pos + n > len(data):
                self._truncated(pos + n, len(data))
            parts.append(data[pos:pos + n])
            pos += n
        if pos != len(data):
            raise CustodyError(tr(f"{self.path}: {len(data) - pos} bytes sobrantes tras el sello",
                                  f"{self.path}: {len(data) - pos} stray bytes after the seal"))
        return parts[0], parts[1]

    def _truncated(self, needed: int, have: int) -> None:
        raise CustodyError(tr(f"{self.path}: archivo sellado truncado (se esperaban al menos {needed} bytes, "
                              f"hay {have}); recupere la copia íntegra",
                              f"{self.path}: truncated sealed file (expected at least {needed} bytes, "
                              f"found {have}); recover the complete copy"))

    def _mismatch(self, ad: bytes) -> str:
        found = SealContext.decode(ad)
        if found is None:
            return seal_invalid_message(f"{self.path}: contexto ilegible", f"{self.path}: unreadable context")
        diffs_es: list[str] = []
        diffs_en: list[str] = []
        for name in _FIELDS:
            have, want = getattr(found, name), getattr(self.context, name)
            if have != want:
                es, en = _FIELD_NAMES[name]
                diffs_es.append(f"{es} «{have}», se esperaba «{want}»")
                diffs_en.append(f"{en} «{have}», expected «{want}»")
        return seal_invalid_message(f"{self.path}: " + "; ".join(diffs_es),
                                    f"{self.path}: " + "; ".join(diffs_en))


def _write_atomically(path: Path, data: bytes) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some file systems (e.g. FAT on a USB stick) cannot sync a folder
    finally:
        os.close(dir_fd)
