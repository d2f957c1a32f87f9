"""Keys kept in a PKCS#11 token: an ECDSA P-256 signing key and an AES-256 sealing key.

Any PKCS#11 module can be used by path (the CLIs' ``--pkcs11-module``); without one, the
``SIVEI_PKCS11_MODULE`` environment variable, then SoftHSM2's usual locations, are tried.

Keys are generated inside the token, marked sensitive and non-extractable, and are refused when
loaded if the token reports they ever left it (``CKA_LOCAL``, ``CKA_NEVER_EXTRACTABLE``,
``CKA_ALWAYS_SENSITIVE``). An existing key is never overwritten.

Processes and fork
------------------
A PKCS#11 library, its sessions and its key handles belong to the process that opened them: a
session logged in before ``fork()`` fails in the child. ``open_module`` keeps one ``Pkcs11Module``
per module path *per process*: called in a forked child it initialises the library again for the
child (C_Finalize + C_Initialize), and every object opened in the parent (module, session, signer,
sealer) refuses to work in the child with a clear error. Open the module after forking (gunicorn's
``post_fork``; multiprocessing's ``spawn`` start method), never pass a session to another process.

``Pkcs11Module.reload()`` (C_Finalize + C_Initialize) makes the module re-read its configuration
(SoftHSM2 reads ``SOFTHSM2_CONF`` at initialisation) and invalidates the sessions opened before it.

Logging in is per token and per process (a PKCS#11 rule): while a ``TokenSession`` on a token is open
in this process, opening another one on the same token fails; close the first one.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn, cast

import pkcs11
from pkcs11 import Attribute, GCMParams, KeyType, Mechanism, ObjectClass, TokenFlag
from pkcs11 import exceptions as p11e
from pkcs11.util.ec import encode_named_curve_parameters

from sivei.crypto.ecdsa import SIGNATURE_BYTES, load_public_key, normalize_low_s, verify_digest
from sivei.custody.errors import (
    CustodyError,
    KeyExistsError,
    KeyNotFoundError,
    PinIncorrectError,
    SealInvalidError,
    TokenNotFoundError,
)
from sivei.custody.pin import check_pin
from sivei.custody.seal import gcm_associated_data, join_sealed, new_iv, seal_invalid_message, split_sealed
from sivei.i18n import tr

MODULE_ENV = "SIVEI_PKCS11_MODULE"
"""Environment variable naming the PKCS#11 module when no path is given."""

SOFTHSM_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/lib/pkcs11/libsofthsm2.so",
)

SIGNING_KEY_LABEL = "sivei-firma"
SEALING_KEY_LABEL = "sivei-sello"
MAX_LABEL_BYTES = 32

_P256_OID = "secp256r1"


def find_softhsm_module() -> str | None:
    """The path of SoftHSM2's PKCS#11 module, or None when it is not installed."""
    for candidate in SOFTHSM_MODULE_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    return None


def resolve_module_path(path: str | os.PathLike[str] | None = None) -> str:
    """The module to load: ``path``, else ``$SIVEI_PKCS11_MODULE``, else SoftHSM2. Must exist."""
    chosen: str | None = os.fspath(path) if path is not None else (os.environ.get(MODULE_ENV) or None)
    if chosen is None:
        chosen = find_softhsm_module()
        if chosen is None:
            raise CustodyError(tr(
                "no se encontró un módulo PKCS#11: instale SoftHSM2 (make setup-system) o indique "
                f"--pkcs11-module / {MODULE_ENV}",
                f"no PKCS#11 module found: install SoftHSM2 (make setup-system) or pass "
                f"--pkcs11-module / {MODULE_ENV}"))
    if not os.path.isfile(chosen):
        raise CustodyError(tr(f"no existe el módulo PKCS#11 {chosen}", f"PKCS#11 module {chosen} does not exist"))
    return os.path.realpath(chosen)


# -- errors -------------------------------------------------------------------------------------


def _device_error(exc: BaseException, doing_es: str, doing_en: str) -> CustodyError:
    """A clear error for an unexpected PKCS#11 failure (type name only: never arguments or PINs)."""
    name = type(exc).__name__
    if isinstance(exc, (p11e.DeviceRemoved, p11e.TokenNotPresent, p11e.DeviceError)):
        return CustodyError(tr(f"{doing_es}: el token no responde o fue retirado ({name})",
                               f"{doing_en}: the token does not respond or was removed ({name})"))
    if isinstance(exc, (p11e.SessionClosed, p11e.SessionHandleInvalid, p11e.UserNotLoggedIn)):
        return CustodyError(tr(f"{doing_es}: la sesión con el token ya no es válida ({name}); ábralo de nuevo",
                               f"{doing_en}: the session with the token is no longer valid ({name}); open it again"))
    return CustodyError(tr(f"{doing_es}: el módulo PKCS#11 respondió {name}",
                           f"{doing_en}: the PKCS#11 module answered {name}"))


def check_label(label: str, what_es: str = "etiqueta", what_en: str = "label") -> None:
    """A token or key label: 1–32 UTF-8 bytes, printable, no leading or trailing space."""
    raw = label.encode("utf-8")
    if not 0 < len(raw) <= MAX_LABEL_BYTES or label != label.strip() or not label.isprintable():
        raise CustodyError(tr(
            f"{what_es} «{label}»: debe tener de 1 a {MAX_LABEL_BYTES} bytes imprimibles, sin espacios al "
            "inicio o al final",
            f"{what_en} «{label}»: must be 1 to {MAX_LABEL_BYTES} printable bytes, with no leading or "
            "trailing space"))


# -- the module ---------------------------------------------------------------------------------

_modules: dict[str, Pkcs11Module] = {}
_modules_lock = threading.Lock()


def open_module(path: str | os.PathLike[str] | None = None) -> Pkcs11Module:
    """The PKCS#11 module at ``path`` (see ``resolve_module_path``), loaded once per process."""
    resolved = resolve_module_path(path)
    with _modules_lock:
        current = _modules.get(resolved)
        if current is not None and current.pid == os.getpid():
            return current
        module = Pkcs11Module._load(resolved, inherited=current is not None)
        _modules[resolved] = module
        return module


def loaded_module(path: str | os.PathLike[str]) -> Pkcs11Module | None:
    """The module at ``path`` if this process has opened it (no loading)."""
    module = _modules.get(os.path.realpath(os.fspath(path)))
    return module if module is not None and module.pid == os.getpid() else None


class Pkcs11Module:
    """A PKCS#11 module loaded in this process. Obtain it with ``open_module``."""

    def __init__(self, path: str, lib: Any, pid: int) -> None:
        self._path = path
        self._lib = lib
        self._pid = pid
        self._generation = 0
        self._lock = threading.RLock()

    @classmethod
    def _load(cls, path: str, *, inherited: bool) -> Pkcs11Module:
        try:
            lib = pkcs11.lib(path)
            if inherited:
                # Opened by the parent before fork(): its state is the parent's. Start afresh here.
                lib.reinitialize()
        except p11e.PKCS11Error as exc:
            raise CustodyError(tr(f"no se pudo cargar el módulo PKCS#11 {path} ({type(exc).__name__})",
                                  f"could not load the PKCS#11 module {path} ({type(exc).__name__})")) from exc
        return cls(path, lib, os.getpid())

    @property
    def path(self) -> str:
        return self._path

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def description(self) -> str:
        """Manufacturer and library description, as the module reports them."""
        self.check_process()
        return f"{self._lib.manufacturer_id} — {self._lib.library_description}"

    def check_process(self) -> None:
        if os.getpid() != self._pid:
            raise CustodyError(tr(
                "el módulo PKCS#11 se abrió en otro proceso (antes de un fork): ábralo de nuevo en este "
                "proceso con open_module",
                "the PKCS#11 module was opened in another process (before a fork): open it again in this "
                "process with open_module"))

    def reload(self) -> None:
        """C_Finalize + C_Initialize: re-read the configuration; sessions opened before stop working."""
        self.check_process()
        with self._lock:
            try:
                self._lib.reinitialize()
            except p11e.PKCS11Error as exc:
                raise _device_error(exc, "al reiniciar el módulo PKCS#11", "reinitialising the PKCS#11 module") from exc
            self._generation += 1

    def token_labels(self) -> list[str]:
        """Labels of the initialised tokens present, in slot order."""
        self.check_process()
        labels: list[str] = []
        try:
            for slot in self._lib.get_slots(token_present=True):
                token = slot.get_token()
                if token.flags & TokenFlag.TOKEN_INITIALIZED:
                    labels.append(token.label)
        except p11e.PKCS11Error as exc:
            raise _device_error(exc, "al listar los tokens", "listing the tokens") from exc
        return labels

    def _token(self, label: str) -> Any:
        self.check_process()
        try:
            return self._lib.get_token(token_label=label)
        except p11e.NoSuchToken:
            present = ", ".join(f"«{x}»" for x in self.token_labels()) or tr("ninguno", "none")
            raise TokenNotFoundError(tr(
                f"no se encontró el token «{label}» en {self._path} (tokens presentes: {present}); "
                "¿está conectado? ¿es la etiqueta correcta?",
                f"token «{label}» not found in {self._path} (tokens present: {present}); "
                "is it connected? is the label right?")) from None
        except p11e.MultipleTokensReturned:
            raise CustodyError(tr(f"hay más de un token con la etiqueta «{label}»: retire los demás",
                                  f"more than one token is labelled «{label}»: remove the others")) from None
        except p11e.PKCS11Error as exc:
            raise _device_error(exc, f"al buscar el token «{label}»", f"looking for token «{label}»") from exc

    def open_token(self, label: str, pin: str) -> TokenSession:
        """Log in to the token ``label`` with the user PIN; a read-write session. Close it when done."""
        check_label(label, "etiqueta del token", "token label")
        token = self._token(label)
        with self._lock:
            try:
                session = token.open(rw=True, user_pin=pin)
            except p11e.PinIncorrect:
                raise PinIncorrectError(tr(
                    f"PIN incorrecto para el token «{label}»; no se modificó nada (las tarjetas reales se "
                    "bloquean tras pocos intentos fallidos)",
                    f"incorrect PIN for token «{label}»; nothing was changed (real cards lock after a few "
                    "failed attempts)")) from None
            except p11e.PinLocked:
                raise CustodyError(tr(f"el PIN del token «{label}» está bloqueado",
                                      f"the PIN of token «{label}» is locked")) from None
            except (p11e.PinExpired, p11e.PinInvalid, p11e.PinLenRange):
                raise CustodyError(tr(f"el token «{label}» no acepta ese PIN (vencido o de formato inválido)",
                                      f"token «{label}» does not accept that PIN (expired or malformed)")) from None
            except p11e.UserAlreadyLoggedIn:
                raise CustodyError(tr(
                    f"ya hay una sesión abierta con el token «{label}» en este proceso: ciérrela antes de "
                    "abrir otra",
                    f"a session with token «{label}» is already open in this process: close it before "
                    "opening another")) from None
            except p11e.PKCS11Error as exc:
                raise _device_error(exc, f"al abrir el token «{label}»", f"opening token «{label}»") from exc
            return TokenSession(self, label, session)

    def initialize_token(self, label: str, so_pin: str, user_pin: str) -> None:
        """Initialise a blank token (SoftHSM2: the free slot) with ``label``, its SO PIN and user PIN.

        Refuses when a token already has that label, and never touches an initialised token (that
        would destroy its keys). PINs go to the module in this process' memory only: never on a
        command line, in a file or in a message. SoftHSM2 moves the new token to another slot; it is
        found again by its label.
        """
        check_label(label, "etiqueta del token", "token label")
        check_pin(so_pin, tr("PIN de oficial de seguridad (SO)", "security officer (SO) PIN"))
        check_pin(user_pin, tr("PIN de usuario", "user PIN"))
        self.check_process()
        with self._lock:
            if label in self.token_labels():
                raise CustodyError(tr(f"ya existe un token con la etiqueta «{label}»; no se reinicializa",
                                      f"a token labelled «{label}» already exists; it is not reinitialised"))
            try:
                blank = [s for s in self._lib.get_slots(token_present=True)
                         if not s.get_token().flags & TokenFlag.TOKEN_INITIALIZED]
            except p11e.PKCS11Error as exc:
                raise _device_error(exc, "al buscar un token en blanco", "looking for a blank token") from exc
            if not blank:
                raise CustodyError(tr(
                    f"no hay un token sin inicializar en {self._path} (SoftHSM2 ofrece siempre uno libre; "
                    "una tarjeta debe ser nueva)",
                    f"no uninitialised token in {self._path} (SoftHSM2 always offers a free one; a card "
                    "must be new)"))
            _c_init_token(self._path, blank[0].slot_id, so_pin, label)
            try:
                token = self._lib.get_token(token_label=label)
            except p11e.NoSuchToken:
                self.reload()
                token = self._token(label)
            try:
                with token.open(rw=True, so_pin=so_pin) as so_session:
                    so_session.init_pin(user_pin)
                with token.open(rw=True, user_pin=user_pin):
                    pass
            except p11e.PKCS11Error as exc:
                raise _device_error(exc, f"al fijar el PIN de usuario del token «{label}»",
                                    f"setting the user PIN of token «{label}»") from exc


# C_InitToken is not in python-pkcs11: call it through the module's function list (CK_FUNCTION_LIST
# starts with the version, then these function pointers in this order, in every PKCS#11 version).
_HEAD = ("C_Initialize", "C_Finalize", "C_GetInfo", "C_GetFunctionList", "C_GetSlotList",
         "C_GetSlotInfo", "C_GetTokenInfo", "C_GetMechanismList", "C_GetMechanismInfo", "C_InitToken")


class _FunctionListHead(ctypes.Structure):
    _fields_ = [("major", ctypes.c_ubyte), ("minor", ctypes.c_ubyte)] + [(n, ctypes.c_void_p) for n in _HEAD]


_C_INIT_TOKEN = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_RV_MESSAGES = {
    0xA0: ("el PIN de oficial de seguridad no es correcto", "the security officer PIN is incorrect"),
    0xA1: ("el token no acepta ese PIN de oficial de seguridad", "the token does not accept that SO PIN"),
    0xA2: ("longitud de PIN no aceptada por el token", "PIN length not accepted by the token"),
    0xA4: ("el PIN de oficial de seguridad está bloqueado", "the security officer PIN is locked"),
    0xB6: ("hay sesiones abiertas con ese token", "sessions are open with that token"),
    0xE2: ("el token está protegido contra escritura", "the token is write-protected"),
}


def _c_init_token(path: str, slot_id: int, so_pin: str, label: str) -> None:
    # The library is already loaded and initialised by python-pkcs11: dlopen returns the same copy.
    dll = ctypes.CDLL(path)
    head = ctypes.POINTER(_FunctionListHead)()
    rv = dll.C_GetFunctionList(ctypes.byref(head))
    if rv != 0 or not head or not head.contents.C_InitToken:
        raise CustodyError(tr(f"el módulo {path} no ofrece C_InitToken", f"module {path} does not offer C_InitToken"))
    init_token = _C_INIT_TOKEN(head.contents.C_InitToken)
    pin = so_pin.encode("utf-8")
    padded_label = label.encode("utf-8").ljust(MAX_LABEL_BYTES, b" ")
    rv = init_token(slot_id, pin, len(pin), padded_label)
    if rv != 0:
        es, en = _RV_MESSAGES.get(rv, (f"código 0x{rv:x}", f"code 0x{rv:x}"))
        raise CustodyError(tr(f"no se pudo inicializar el token «{label}»: {es}",
                              f"could not initialise token «{label}»: {en}"))


# -- a logged-in session ------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyProtection:
    """How a key is protected, as the token reports it (and whether its value can be read)."""

    label: str
    extractable: bool
    sensitive: bool
    never_extractable: bool
    always_sensitive: bool
    local: bool
    value_readable: bool

    @property
    def ok(self) -> bool:
        return (not self.extractable and self.sensitive and self.never_extractable and self.always_sensitive
                and self.local and not self.value_readable)


_PROTECTION_ATTRIBUTES = (Attribute.EXTRACTABLE, Attribute.SENSITIVE, Attribute.NEVER_EXTRACTABLE,
                          Attribute.ALWAYS_SENSITIVE, Attribute.LOCAL)


class TokenSession:
    """A logged-in read-write session with one token. Use as a context manager or call ``close``."""

    def __init__(self, module: Pkcs11Module, label: str, session: Any) -> None:
        self._module = module
        self._label = label
        self._session = session
        self._generation = module.generation
        self._closed = False

    @property
    def label(self) -> str:
        return self._label

    @property
    def module(self) -> Pkcs11Module:
        return self._module

    def __enter__(self) -> TokenSession:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __getstate__(self) -> NoReturn:
        raise CustodyError(_not_shareable())

    def close(self) -> None:
        """Log out and close. Harmless twice, after a reload or in a forked child (it does nothing there)."""
        if self._closed:
            return
        self._closed = True
        if os.getpid() != self._module.pid or self._generation != self._module.generation:
            return
        with contextlib.suppress(p11e.PKCS11Error):  # the token went away: nothing left to close
            self._session.close()

    def check(self) -> None:
        """Raise unless this session can be used here and now."""
        self._module.check_process()
        if self._closed:
            raise CustodyError(tr(f"la sesión con el token «{self._label}» está cerrada",
                                  f"the session with token «{self._label}» is closed"))
        if self._generation != self._module.generation:
            raise CustodyError(tr(
                f"la sesión con el token «{self._label}» es anterior a un reinicio del módulo: ábralo de nuevo",
                f"the session with token «{self._label}» predates a module reinitialisation: open it again"))

    def call(self, doing: tuple[str, str], fn: Callable[[], Any]) -> Any:
        """Run a PKCS#11 call on this session, turning its failures into ``CustodyError``."""
        self.check()
        try:
            return fn()
        except p11e.PKCS11Error as exc:
            raise _device_error(exc, *doing) from exc

    # keys ----------------------------------------------------------------------------------------

    def _objects(self, label: str, object_class: ObjectClass | None = None) -> list[Any]:
        attrs: dict[Attribute, Any] = {Attribute.LABEL: label}
        if object_class is not None:
            attrs[Attribute.CLASS] = object_class
        return cast(list[Any], self.call((f"al buscar «{label}»", f"looking for «{label}»"),
                                         lambda: list(self._session.get_objects(attrs))))

    def has_key(self, label: str) -> bool:
        """True when any object (key) with this label exists in the token."""
        return bool(self._objects(label))

    def _refuse_existing(self, *labels: str) -> None:
        for label in labels:
            check_label(label, "etiqueta de llave", "key label")
            if self.has_key(label):
                raise KeyExistsError(tr(
                    f"el token «{self._label}» ya tiene una llave «{label}»: no se sobrescribe",
                    f"token «{self._label}» already has a key «{label}»: it is not overwritten"))

    def generate_signing_key(self, label: str = SIGNING_KEY_LABEL) -> Pkcs11Signer:
        """Generate an ECDSA P-256 key pair inside the token (private half sensitive, non-extractable)."""
        self._refuse_existing(label)
        return self._generate_signing_key(label)

    def generate_sealing_key(self, label: str = SEALING_KEY_LABEL) -> Pkcs11Sealer:
        """Generate an AES-256 key inside the token (sensitive, non-extractable, encrypt/decrypt only)."""
        self._refuse_existing(label)
        return self._generate_sealing_key(label)

    def generate_keys(self, signing_label: str = SIGNING_KEY_LABEL,
                      sealing_label: str = SEALING_KEY_LABEL) -> tuple[Pkcs11Signer, Pkcs11Sealer]:
        """Both keys; refuses before generating either when one already exists."""
        if signing_label == sealing_label:
            raise CustodyError(tr("las dos llaves necesitan etiquetas distintas", "the two keys need distinct labels"))
        self._refuse_existing(signing_label, sealing_label)
        return self._generate_signing_key(signing_label), self._generate_sealing_key(sealing_label)

    def _generate_signing_key(self, label: str) -> Pkcs11Signer:
        key_id = secrets.token_bytes(16)

        def generate() -> None:
            params = self._session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(_P256_OID)}, local=True)
            params.generate_keypair(
                store=True, label=label, id=key_id,
                public_template={Attribute.TOKEN: True, Attribute.PRIVATE: False, Attribute.VERIFY: True,
                                 Attribute.ENCRYPT: False, Attribute.WRAP: False, Attribute.DERIVE: False},
                private_template={Attribute.TOKEN: True, Attribute.PRIVATE: True, Attribute.SENSITIVE: True,
                                  Attribute.EXTRACTABLE: False, Attribute.SIGN: True, Attribute.DECRYPT: False,
                                  Attribute.UNWRAP: False, Attribute.DERIVE: False})

        self.call((f"al generar la llave de firma «{label}»", f"generating signing key «{label}»"), generate)
        return self.signer(label)

    def _generate_sealing_key(self, label: str) -> Pkcs11Sealer:
        key_id = secrets.token_bytes(16)

        def generate() -> None:
            self._session.generate_key(
                KeyType.AES, 256, store=True, label=label, id=key_id,
                template={Attribute.TOKEN: True, Attribute.PRIVATE: True, Attribute.SENSITIVE: True,
                          Attribute.EXTRACTABLE: False, Attribute.ENCRYPT: True, Attribute.DECRYPT: True,
                          Attribute.WRAP: False, Attribute.UNWRAP: False, Attribute.SIGN: False,
                          Attribute.VERIFY: False, Attribute.DERIVE: False})

        self.call((f"al generar la llave de sellado «{label}»", f"generating sealing key «{label}»"), generate)
        return self.sealer(label)

    def _one(self, label: str, object_class: ObjectClass, what_es: str, what_en: str) -> Any:
        found = self._objects(label, object_class)
        if not found:
            raise KeyNotFoundError(tr(
                f"el token «{self._label}» no tiene {what_es} «{label}» (¿se generaron las llaves?)",
                f"token «{self._label}» has no {what_en} «{label}» (were the keys generated?)"))
        if len(found) > 1:
            raise CustodyError(tr(f"el token «{self._label}» tiene {len(found)} objetos «{label}» de la misma clase",
                                  f"token «{self._label}» holds {len(found)} «{label}» objects of the same class"))
        return found[0]

    def key_protection(self, label: str) -> KeyProtection:
        """The private or secret key ``label``'s protection attributes, and whether CKA_VALUE is readable."""
        keys = [k for k in self._objects(label)
                if k[Attribute.CLASS] in (ObjectClass.PRIVATE_KEY, ObjectClass.SECRET_KEY)]
        if len(keys) != 1:
            raise KeyNotFoundError(tr(f"el token «{self._label}» no tiene una llave privada o secreta «{label}»",
                                      f"token «{self._label}» has no private or secret key «{label}»"))
        return self._protection(keys[0], label)

    def _protection(self, key: Any, label: str) -> KeyProtection:
        attrs = self.call((f"al leer los atributos de «{label}»", f"reading the attributes of «{label}»"),
                          lambda: key.get_attributes(list(_PROTECTION_ATTRIBUTES)))
        try:
            value = key[Attribute.VALUE]
            readable = value is not None and len(value) > 0
        except p11e.PKCS11Error:  # AttributeSensitive, as it must be
            readable = False
        return KeyProtection(label=label,
                             extractable=bool(attrs.get(Attribute.EXTRACTABLE, True)),
                             sensitive=bool(attrs.get(Attribute.SENSITIVE, False)),
                             never_extractable=bool(attrs.get(Attribute.NEVER_EXTRACTABLE, False)),
                             always_sensitive=bool(attrs.get(Attribute.ALWAYS_SENSITIVE, False)),
                             local=bool(attrs.get(Attribute.LOCAL, False)),
                             value_readable=readable)

    def _require_protected(self, key: Any, label: str) -> None:
        protection = self._protection(key, label)
        if not protection.ok:
            raise CustodyError(tr(
                f"la llave «{label}» del token «{self._label}» no está protegida como se exige (generada dentro "
                f"del token, sensible y no extraíble): {protection}; no se usa",
                f"key «{label}» of token «{self._label}» is not protected as required (generated in the token, "
                f"sensitive, non-extractable): {protection}; it is not used"))

    def signer(self, label: str = SIGNING_KEY_LABEL) -> Pkcs11Signer:
        """The signing key ``label`` (checked: P-256, protected, public half matching)."""
        private = self._one(label, ObjectClass.PRIVATE_KEY, "llave privada", "private key")
        public = self._one(label, ObjectClass.PUBLIC_KEY, "llave pública", "public key")
        doing = (f"al leer la llave «{label}»", f"reading key «{label}»")
        if self.call(doing, lambda: private[Attribute.KEY_TYPE]) != KeyType.EC:
            raise CustodyError(tr(f"la llave «{label}» no es de curva elíptica", f"key «{label}» is not an EC key"))
        if self.call(doing, lambda: private[Attribute.EC_PARAMS]) != encode_named_curve_parameters(_P256_OID):
            raise CustodyError(tr(f"la llave «{label}» no es P-256", f"key «{label}» is not P-256"))
        if self.call(doing, lambda: private[Attribute.ID]) != self.call(doing, lambda: public[Attribute.ID]):
            raise CustodyError(tr(f"las mitades de la llave «{label}» no corresponden (CKA_ID distinto)",
                                  f"the halves of key «{label}» do not match (different CKA_ID)"))
        self._require_protected(private, label)
        point = _unwrap_ec_point(self.call(doing, lambda: public[Attribute.EC_POINT]), label)
        return Pkcs11Signer(self, label, private, point)  # every signature is checked against ``point``

    def sealer(self, label: str = SEALING_KEY_LABEL) -> Pkcs11Sealer:
        """The AES-256 sealing key ``label`` (checked: AES, 32 bytes, protected)."""
        key = self._one(label, ObjectClass.SECRET_KEY, "llave de sellado", "sealing key")
        doing = (f"al leer la llave «{label}»", f"reading key «{label}»")
        if (self.call(doing, lambda: key[Attribute.KEY_TYPE]) != KeyType.AES
                or self.call(doing, lambda: key[Attribute.VALUE_LEN]) != 32):
            raise CustodyError(tr(f"la llave «{label}» no es AES-256", f"key «{label}» is not AES-256"))
        self._require_protected(key, label)
        return Pkcs11Sealer(self, label, key)


def _unwrap_ec_point(value: bytes, label: str) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING holding the point in most modules; a few give it bare."""
    data = bytes(value)
    if len(data) == 67 and data[0] == 0x04 and data[1] == 0x41:
        data = data[2:]
    load_public_key(data, tr(f"llave pública «{label}» del token", f"token public key «{label}»"))
    return data


def _not_shareable() -> str:
    return tr("las sesiones y llaves de un token no se pasan a otro proceso: ábralo allí",
              "token sessions and keys are not passed to another process: open the token there")


class Pkcs11Signer:
    """``sivei.crypto.ecdsa.Signer`` backed by a token's P-256 key (the credential authority's too).

    The caller hashes (SHA-256) in Python; the token signs the 32-byte digest with CKM_ECDSA. The
    token's raw r‖s is normalised to low s and checked against the public key before it is returned.
    """

    def __init__(self, session: TokenSession, label: str, private_key: Any, public_key: bytes) -> None:
        self._session = session
        self._label = label
        self._key = private_key
        self._public = public_key

    def __getstate__(self) -> NoReturn:
        raise CustodyError(_not_shareable())

    @property
    def public_key(self) -> bytes:
        return self._public

    @property
    def label(self) -> str:
        return self._label

    @property
    def token_label(self) -> str:
        return self._session.label

    def sign_digest(self, digest: bytes) -> bytes:
        if len(digest) != 32:
            raise CustodyError(tr("se firma un resumen SHA-256 de 32 bytes", "a 32-byte SHA-256 digest is signed"))
        raw = self._session.call(
            (f"al firmar con «{self._label}» del token «{self._session.label}»",
             f"signing with «{self._label}» of token «{self._session.label}»"),
            lambda: self._key.sign(bytes(digest), mechanism=Mechanism.ECDSA))
        if not isinstance(raw, bytes) or len(raw) != SIGNATURE_BYTES:
            raise CustodyError(tr("el token devolvió una firma de tamaño inesperado",
                                  "the token returned a signature of unexpected size"))
        signature = normalize_low_s(raw)
        if not verify_digest(self._public, digest, signature):
            raise CustodyError(tr(
                f"la firma del token «{self._session.label}» no verifica con su llave pública «{self._label}»",
                f"the signature from token «{self._session.label}» does not verify with its public key "
                f"«{self._label}»"))
        return signature


TokenSigner = Pkcs11Signer
"""The same class, for the credential authority's (or any other) token-held signing key."""


class Pkcs11Sealer:
    """``sivei.custody.seal.Sealer`` backed by a token's AES-256 key (CKM_AES_GCM, 128-bit tag)."""

    def __init__(self, session: TokenSession, label: str, key: Any) -> None:
        self._session = session
        self._label = label
        self._key = key

    def __getstate__(self) -> NoReturn:
        raise CustodyError(_not_shareable())

    @property
    def label(self) -> str:
        return self._label

    @property
    def token_label(self) -> str:
        return self._session.label

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        iv = new_iv()
        params = GCMParams(iv, gcm_associated_data(associated_data), 128)
        body = self._session.call(
            (f"al sellar con el token «{self._session.label}»", f"sealing with token «{self._session.label}»"),
            lambda: self._key.encrypt(bytes(plaintext), mechanism=Mechanism.AES_GCM, mechanism_param=params))
        return join_sealed(iv, bytes(body))

    def unseal(self, sealed: bytes, associated_data: bytes) -> bytes:
        iv, body = split_sealed(sealed)
        params = GCMParams(iv, gcm_associated_data(associated_data), 128)
        self._session.check()
        try:
            return bytes(self._key.decrypt(body, mechanism=Mechanism.AES_GCM, mechanism_param=params))
        except (p11e.GeneralError, p11e.FunctionFailed, p11e.EncryptedDataInvalid, p11e.EncryptedDataLenRange,
                p11e.DataInvalid, p11e.DataLenRange):
            # SoftHSM2 reports a wrong tag as a general error; other modules as "encrypted data invalid".
            raise SealInvalidError(seal_invalid_message()) from None
        except p11e.PKCS11Error as exc:
            raise _device_error(exc, f"al abrir un sello con el token «{self._session.label}»",
                                f"unsealing with token «{self._session.label}»") from exc


def open_token(label: str, pin: str, module_path: str | os.PathLike[str] | None = None) -> TokenSession:
    """Open (in this process) the module and log in to the token ``label``."""
    return open_module(module_path).open_token(label, pin)
