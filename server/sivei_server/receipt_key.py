"""The election's receipt key: ECDSA P-256, held by the server operator in a key file or a PKCS#11
token, never in the database. Its public half goes into the opening act; the server signs voters'
receipts with it (``sivei.record.receipts``).

* Key file: PKCS#8 PEM, encrypted with the passphrase in ``SIVEI_RECEIPT_KEY_PASSPHRASE`` when set
  (mode 0600). Created by ``sivei servidor llave-recibos --archivo FILE``.
* Token: the signing key labelled ``sivei-recibos`` in the token ``SIVEI_RECEIPT_TOKEN`` (PIN from
  ``SIVEI_PIN``), created by ``sivei servidor llave-recibos --token LABEL``. The PKCS#11 module is
  opened in each worker process on first use (after gunicorn's fork).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sivei.crypto.ecdsa import Signer, SoftwareSigner
from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei_server.config import ServerConfig

PASSPHRASE_ENV = "SIVEI_RECEIPT_KEY_PASSPHRASE"  # noqa: S105 - a variable name
TOKEN_KEY_LABEL = "sivei-recibos"  # noqa: S105 - a key label


class ReceiptKeyError(SiveiError):
    """The receipt key is missing or unusable."""


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def create_key_file(path: Path) -> bytes:
    """Create a new receipt key file (refusing to overwrite); returns the public point."""
    key = ec.generate_private_key(ec.SECP256R1())
    passphrase = _passphrase()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return SoftwareSigner(key).public_key


def load_key_file(path: Path) -> SoftwareSigner:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReceiptKeyError(tr(f"no se puede leer la llave de recibos {path}: {exc.strerror}",
                                 f"cannot read the receipt key {path}: {exc.strerror}")) from exc
    try:
        key = serialization.load_pem_private_key(data, password=_passphrase())
    except (ValueError, TypeError) as exc:
        raise ReceiptKeyError(tr(f"{path}: llave de recibos ilegible (¿frase de paso en {PASSPHRASE_ENV}?)",
                                 f"{path}: unreadable receipt key (passphrase in {PASSPHRASE_ENV}?)")) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ReceiptKeyError(tr(f"{path}: la llave de recibos debe ser ECDSA P-256",
                                 f"{path}: the receipt key must be ECDSA P-256"))
    return SoftwareSigner(key)


def public_pem(point: bytes) -> str:
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def default_key_file(config: ServerConfig) -> Path:
    return config.data_dir / "llave-recibos.pem"


_lock = threading.Lock()
_cached: dict[tuple[int, str], Signer] = {}
_sessions: list[object] = []


def receipt_signer(config: ServerConfig) -> Signer:
    """This process's receipt signer (loaded once per process: after a fork it is opened again)."""
    if config.receipt_token:
        source = f"token:{config.receipt_token}"
    else:
        source = f"file:{config.receipt_key_file or default_key_file(config)}"
    key = (os.getpid(), source)
    with _lock:
        signer = _cached.get(key)
        if signer is not None:
            return signer
        if config.receipt_token:
            from sivei.custody import PIN_ENV, open_token

            pin = os.environ.get(PIN_ENV)
            if not pin:
                raise ReceiptKeyError(tr(f"falta el PIN del token de recibos ({PIN_ENV})",
                                         f"the receipt token's PIN is missing ({PIN_ENV})"))
            session = open_token(config.receipt_token, pin, config.receipt_token_module)
            _sessions.append(session)
            signer = session.signer(TOKEN_KEY_LABEL)
        else:
            path = config.receipt_key_file or default_key_file(config)
            if not path.is_file():
                raise ReceiptKeyError(tr(
                    f"no hay llave de recibos en {path}: créela con «sivei servidor llave-recibos»",
                    f"no receipt key at {path}: create it with «sivei servidor llave-recibos»"))
            signer = load_key_file(path)
        _cached[key] = signer
        return signer


def forget_cached() -> None:
    """Drop this process's signers and close its token sessions (tests, key changes)."""
    with _lock:
        _cached.clear()
        for session in _sessions:
            close = getattr(session, "close", None)
            if callable(close):
                close()
        _sessions.clear()
