"""The server's secrets key: it encrypts TOTP seeds and keys the MACs of SMS codes, so that the
database (and every backup of it) holds neither a usable seed nor a code that can be searched
offline (issue 7: "secrets at rest").

* Where: ``SIVEI_SECRETS_KEY`` (64 hex digits, e.g. from the service manager's credential store) or
  the key file ``SIVEI_SECRETS_KEY_FILE`` (default ``<data>/llave-secretos.key``, 64 hex digits,
  mode 0600), created by ``sivei servidor llave-secretos``. Never in the database. Back it up
  SEPARATELY from the database backups (docs/security.md): a database restored without it leaves
  every authenticator app unusable (voters then go through the help desk), which is the point.
  Outside production a missing key file is created on first use.
* TOTP seeds: AES-256-GCM with a fresh 96-bit nonce, the account (``voter:<voter_id>``,
  ``operator:<username>``) as associated data, stored as ``gcm1:<base64 nonce‖ciphertext‖tag>``: a
  seed copied onto another account does not decrypt, and a seed planted in clear is refused.
* SMS codes: ``hmac$<salt>$<HMAC-SHA256(key, salt ‖ code)>``: without the key, 10^6 candidates no
  longer reverse a stored code in seconds.
* Voter-ID numbers (consulates): ``HMAC-SHA256(key, "sivei/clave-elector" ‖ number)``, the keyed hash
  under which the roll and the consulates keep (and the consulates' signed logs publish) the number
  of a voter's ID card: equal numbers give equal hashes, so nobody is served twice, but a hash does
  not give back a number without the key.
The keys are derived from the one secret with HKDF-SHA256 under distinct labels.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sivei.errors import SiveiError
from sivei.i18n import tr
from sivei_server.config import ServerConfig

KEY_ENV = "SIVEI_SECRETS_KEY"
KEY_FILE_ENV = "SIVEI_SECRETS_KEY_FILE"
SEALED_PREFIX = "gcm1:"
MAC_PREFIX = "hmac$"


class SecretsKeyError(SiveiError):
    """The secrets key is missing, malformed, or does not open a stored secret."""


def default_key_file(config: ServerConfig) -> Path:
    return config.data_dir / "llave-secretos.key"


def key_file(config: ServerConfig) -> Path:
    named = os.environ.get(KEY_FILE_ENV)
    return Path(named) if named else default_key_file(config)


def create_key_file(path: Path) -> None:
    """A new random key file (refusing to overwrite one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")


def _parse(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise SecretsKeyError(tr(f"{where}: la llave de secretos debe ser de 64 dígitos hexadecimales",
                                 f"{where}: the secrets key must be 64 hexadecimal digits"))
    return key


@dataclass(frozen=True)
class SecretsKey:
    seal_key: bytes
    mac_key: bytes
    card_key: bytes

    @staticmethod
    def from_master(master: bytes) -> SecretsKey:
        def derive(label: bytes) -> bytes:
            return HKDF(hashes.SHA256(), 32, salt=None, info=label).derive(master)

        return SecretsKey(derive(b"sivei/totp-seed"), derive(b"sivei/sms-code-mac"), derive(b"sivei/clave-elector"))

    def card_hash(self, number: str) -> str:
        """The keyed hash (64 hex) of a voter-ID number already normalised
        (``sivei.ballot.in_person.normal_voter_card``)."""
        return hmac.new(self.card_key, b"sivei/clave-elector" + number.encode("ascii"), hashlib.sha256).hexdigest()

    def seal(self, account: str, secret: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.seal_key).encrypt(nonce, secret.encode(), account.encode())
        return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, account: str, stored: str) -> str:
        if not stored.startswith(SEALED_PREFIX):
            raise SecretsKeyError(tr("secreto TOTP sin cifrar en la base de datos: se rechaza",
                                     "an unencrypted TOTP secret in the database is refused"))
        try:
            raw = base64.b64decode(stored[len(SEALED_PREFIX):], validate=True)
            return AESGCM(self.seal_key).decrypt(raw[:12], raw[12:], account.encode()).decode()
        except (ValueError, InvalidTag) as exc:
            raise SecretsKeyError(tr("el secreto TOTP no se abre con esta llave y esta cuenta",
                                     "the TOTP secret does not open with this key and this account")) from exc

    def code_mac(self, code: str, salt: str | None = None) -> str:
        salt = salt if salt is not None else secrets.token_hex(16)
        digest = hmac.new(self.mac_key, f"{salt}:{code}".encode("utf-8", "replace"), hashlib.sha256).hexdigest()
        return f"{MAC_PREFIX}{salt}${digest}"

    def code_matches(self, stored: str, code: str) -> bool:
        parts = stored.split("$")
        if len(parts) != 3 or parts[0] + "$" != MAC_PREFIX:
            return False
        return hmac.compare_digest(self.code_mac(code, parts[1]), stored)


_lock = threading.Lock()
_cache: dict[tuple[int, str], SecretsKey] = {}


def secrets_key(config: ServerConfig) -> SecretsKey:
    """This process's secrets key (read once)."""
    from_env = os.environ.get(KEY_ENV)
    source = "env" if from_env else str(key_file(config).resolve())
    cache_key = (os.getpid(), source)
    with _lock:
        found = _cache.get(cache_key)
        if found is not None:
            return found
        if from_env:
            master = _parse(from_env, KEY_ENV)
        else:
            path = key_file(config)
            if not path.is_file():
                if config.production:
                    raise SecretsKeyError(tr(
                        f"no hay llave de secretos en {path}: créela con «sivei servidor llave-secretos» (o "
                        f"{KEY_ENV}) y respáldela aparte de la base de datos",
                        f"no secrets key at {path}: create it with «sivei servidor llave-secretos» (or {KEY_ENV}) "
                        "and back it up apart from the database"))
                with contextlib.suppress(FileExistsError):  # another worker created it first
                    create_key_file(path)
            master = _parse(path.read_text(), str(path))
        found = SecretsKey.from_master(master)
        _cache[cache_key] = found
        return found


def voter_account(voter_id: str) -> str:
    return f"voter:{voter_id}"


def operator_account(username: str) -> str:
    return f"operator:{username}"


def enrolment_account(voter_id: str) -> str:
    """The associated data of a seed waiting in an activation flow (not yet the account's)."""
    return f"voter-enrol:{voter_id}"
