"""Key custody in PKCS#11 tokens (SoftHSM2 by default, any module by path).

Generic building blocks for the drill and the key-holders' ceremony scripts — no ceremony logic:

- ``token``: open a module per process, log in to a token by label, generate inside it a
  non-extractable ECDSA P-256 signing key and AES-256 sealing key, sign digests (``Pkcs11Signer``
  implements ``sivei.crypto.ecdsa.Signer``) and seal with AES-GCM (``Pkcs11Sealer``).
- ``seal``: the sealed-value format, ``SealContext`` and ``SealedFile`` (atomic, 0600, bound to
  purpose, election, ceremony, guardian and what is sealed).
- ``pin``: PINs from an environment variable (tests, drills) or typed without echo.
- ``softhsm``: a private SoftHSM2 configuration and token folder; token initialisation.

Open the PKCS#11 module in the process that uses it, after any fork (see ``sivei.custody.token``).
"""

from sivei.custody.errors import (
    CustodyError,
    KeyExistsError,
    KeyNotFoundError,
    PinIncorrectError,
    SealInvalidError,
    TokenNotFoundError,
)
from sivei.custody.pin import PIN_ENV, SO_PIN_ENV, check_pin, read_pin
from sivei.custody.seal import SEALED_SHARE_PURPOSE, SealContext, SealedFile, Sealer, SoftwareSealer
from sivei.custody.softhsm import SoftHsmEnvironment, softhsm_available
from sivei.custody.token import (
    MODULE_ENV,
    SEALING_KEY_LABEL,
    SIGNING_KEY_LABEL,
    KeyProtection,
    Pkcs11Module,
    Pkcs11Sealer,
    Pkcs11Signer,
    TokenSession,
    TokenSigner,
    find_softhsm_module,
    open_module,
    open_token,
    resolve_module_path,
)

__all__ = [
    "MODULE_ENV",
    "PIN_ENV",
    "SEALED_SHARE_PURPOSE",
    "SEALING_KEY_LABEL",
    "SIGNING_KEY_LABEL",
    "SO_PIN_ENV",
    "CustodyError",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyProtection",
    "PinIncorrectError",
    "Pkcs11Module",
    "Pkcs11Sealer",
    "Pkcs11Signer",
    "SealContext",
    "SealInvalidError",
    "SealedFile",
    "Sealer",
    "SoftHsmEnvironment",
    "SoftwareSealer",
    "TokenNotFoundError",
    "TokenSession",
    "TokenSigner",
    "check_pin",
    "find_softhsm_module",
    "open_module",
    "open_token",
    "read_pin",
    "resolve_module_path",
    "softhsm_available",
]
