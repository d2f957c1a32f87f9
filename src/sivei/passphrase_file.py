"""Files sealed under a passphrase, for copies of personal data that leave a system for an archive (the
voters' roll exported after the election, ``sivei_server.retention``).

Format: the line ``SIVEI-SELLADO-1`` and a JSON line ``{"format": "sivei-sellado", "version": 1,
"kdf": "argon2id", "opslimit", "memlimit", "salt": hex, "what": text}``, then libsodium's SecretBox
(XSalsa20-Poly1305, random nonce first) of the content under the key Argon2id derives from the
passphrase and the salt. The header is authenticated too: it is the box's associated text, bound by
deriving the key from ``passphrase ‖ 0x00 ‖ SHA-256(header)`` — a changed header gives another key.
A wrong passphrase and a tampered file are the same error: nothing is written.
"""

from __future__ import annotations

import hashlib
import json

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from sivei.errors import SiveiError
from sivei.i18n import tr

MAGIC = b"SIVEI-SELLADO-1\n"
FORMAT = "sivei-sellado"
MIN_PASSPHRASE_CHARS = 16
OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_MODERATE


class SealedFileError(SiveiError):
    """A passphrase too short, a wrong passphrase or a damaged file."""


def _key(passphrase: str, header: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    secret = passphrase.encode("utf-8") + b"\x00" + hashlib.sha256(header).digest()
    key: bytes = nacl.pwhash.argon2id.kdf(nacl.secret.SecretBox.KEY_SIZE, secret, salt, opslimit=opslimit,
                                          memlimit=memlimit)
    return key


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise SealedFileError(tr(f"la frase de paso debe tener al menos {MIN_PASSPHRASE_CHARS} caracteres",
                                 f"the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters"))


def seal(data: bytes, passphrase: str, what: str) -> bytes:
    check_passphrase(passphrase)
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    header = json.dumps({"format": FORMAT, "version": 1, "kdf": "argon2id", "opslimit": OPSLIMIT,
                         "memlimit": MEMLIMIT, "salt": salt.hex(), "what": what},
                        ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    box = nacl.secret.SecretBox(_key(passphrase, header, salt, OPSLIMIT, MEMLIMIT))
    return MAGIC + header + b"\n" + bytes(box.encrypt(data))


def open_sealed(blob: bytes, passphrase: str) -> tuple[str, bytes]:
    """(what the file says it holds, the content)."""
    damaged = SealedFileError(tr("el archivo no es un archivo sellado de SIVEI o está dañado",
                                 "the file is not a SIVEI sealed file or it is damaged"))
    if not blob.startswith(MAGIC):
        raise damaged
    header, sep, body = blob[len(MAGIC):].partition(b"\n")
    try:
        meta = json.loads(header)
        salt, opslimit, memlimit = bytes.fromhex(meta["salt"]), int(meta["opslimit"]), int(meta["memlimit"])
        if not sep or meta.get("format") != FORMAT or meta.get("kdf") != "argon2id":
            raise ValueError
        if not (1 <= opslimit <= 16 and 8192 <= memlimit <= 2**30):  # no header makes the opener hang
            raise ValueError
        key = _key(passphrase, header, salt, opslimit, memlimit)
    except (ValueError, KeyError, TypeError, nacl.exceptions.CryptoError):
        raise damaged from None
    try:
        return str(meta.get("what", "")), bytes(nacl.secret.SecretBox(key).decrypt(body))
    except nacl.exceptions.CryptoError:
        raise SealedFileError(tr("frase de paso incorrecta o archivo alterado",
                                 "wrong passphrase or altered file")) from None
