"""A key-holder's token: initialisation (label, SO PIN, user PIN), key generation inside it, and an
inspection that shows the keys' protection attributes.

The two keys are generated inside the token, sensitive and non-extractable (``sivei.custody``): an
ECDSA P-256 signing key that signs every envelope and act of the key-holder, and an AES-256 key that
seals their secrets. The AES key has no backup: a lost or broken token loses that key-holder's share
(up to n − t losses are tolerated).
"""

from __future__ import annotations

from dataclasses import dataclass

from sivei.custody import (
    PIN_ENV,
    SEALING_KEY_LABEL,
    SIGNING_KEY_LABEL,
    SO_PIN_ENV,
    KeyProtection,
    open_module,
    read_pin,
)
from sivei.i18n import tr
from sivei_ceremonies.common import (
    Out,
    constancia_banner,
    pin_prompt,
    signing_key_fingerprint,
    softhsm_store_note,
    warn_pin_from_environment,
)


@dataclass(frozen=True)
class TokenInfo:
    label: str
    signing_key: bytes
    protections: tuple[KeyProtection, ...]


def _describe(p: KeyProtection) -> str:
    def yes(flag: bool) -> str:
        return tr("sí", "yes") if flag else tr("no", "no")

    return tr(f"«{p.label}»: extraíble {yes(p.extractable)}, sensible {yes(p.sensitive)}, "
              f"nunca extraíble {yes(p.never_extractable)}, generada en el token {yes(p.local)}, "
              f"valor legible {yes(p.value_readable)}",
              f"«{p.label}»: extractable {yes(p.extractable)}, sensitive {yes(p.sensitive)}, "
              f"never extractable {yes(p.never_extractable)}, generated in the token {yes(p.local)}, "
              f"value readable {yes(p.value_readable)}")


def initialise_token(label: str, module_path: str | None, *, keys_only: bool, out: Out) -> TokenInfo:
    """Initialise a blank token (unless ``keys_only``) and generate both keys inside it."""
    out.title(tr(f"PREPARACIÓN DEL TOKEN «{label}»", f"TOKEN PREPARATION «{label}»"))
    constancia_banner(out)
    module = open_module(module_path)
    out.step(tr(f"Módulo PKCS#11: {module.path} ({module.description})",
                f"PKCS#11 module: {module.path} ({module.description})"))
    softhsm_store_note(out)
    warn_pin_from_environment(out)
    warn_pin_from_environment(out, SO_PIN_ENV)
    if keys_only:
        out.info(tr("el token ya está inicializado: solo se generan las llaves",
                    "the token is already initialised: only the keys are generated"))
        user_pin = read_pin(pin_prompt(label), env_var=PIN_ENV)
    else:
        so_pin = read_pin(tr(f"PIN de oficial de seguridad (SO) nuevo del token «{label}»",
                             f"new security officer (SO) PIN of token «{label}»"), env_var=SO_PIN_ENV, confirm=True)
        user_pin = read_pin(tr(f"PIN de usuario nuevo del token «{label}»", f"new user PIN of token «{label}»"),
                            env_var=PIN_ENV, confirm=True)
        module.initialize_token(label, so_pin, user_pin)
        del so_pin
        out.step(tr(f"Token «{label}» inicializado con su PIN de oficial de seguridad y su PIN de usuario",
                    f"Token «{label}» initialised with its security officer PIN and user PIN"))
    with module.open_token(label, user_pin) as session:
        del user_pin
        signer, sealer = session.generate_keys()
        out.step(tr("Llaves generadas dentro del token (no extraíbles):",
                    "Keys generated inside the token (non-extractable):"))
        out.info(tr(f"firma ECDSA P-256 «{signer.label}»; sellado AES-256 «{sealer.label}»",
                    f"ECDSA P-256 signing «{signer.label}»; AES-256 sealing «{sealer.label}»"))
        protections = (session.key_protection(SIGNING_KEY_LABEL), session.key_protection(SEALING_KEY_LABEL))
        for p in protections:
            out.ok(_describe(p))
        out.aloud(tr("huella de la llave de firma de este token", "fingerprint of this token's signing key"),
                  signing_key_fingerprint(signer.public_key))
        out.info(tr("anótela en su hoja: la verá en cada paso de la ceremonia y en las actas",
                    "write it on your sheet: you will see it at every ceremony step and in the acts"))
        out.warn(tr("la llave AES del token no tiene respaldo: si el token se pierde, se pierde su parte",
                    "the token's AES key has no backup: if the token is lost, its share is lost"))
        return TokenInfo(label, signer.public_key, protections)


def show_token(label: str, module_path: str | None, out: Out) -> TokenInfo:
    """Log in and show the signing key fingerprint and both keys' protection attributes."""
    out.title(tr(f"TOKEN «{label}»", f"TOKEN «{label}»"))
    constancia_banner(out)
    module = open_module(module_path)
    out.step(tr(f"Módulo PKCS#11: {module.path} ({module.description})",
                f"PKCS#11 module: {module.path} ({module.description})"))
    out.info(tr("tokens presentes: ", "tokens present: ") + ", ".join(f"«{x}»" for x in module.token_labels()))
    pin = read_pin(pin_prompt(label), env_var=PIN_ENV)
    with module.open_token(label, pin) as session:
        del pin
        signer = session.signer()
        session.sealer()
        protections = (session.key_protection(SIGNING_KEY_LABEL), session.key_protection(SEALING_KEY_LABEL))
        out.step(tr("Protección de las llaves, según el token:", "Key protection, as the token reports it:"))
        for p in protections:
            (out.ok if p.ok else out.warn)(_describe(p))
        out.aloud(tr("huella de la llave de firma", "signing key fingerprint"),
                  signing_key_fingerprint(signer.public_key))
        return TokenInfo(label, signer.public_key, protections)
