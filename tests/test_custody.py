"""Key custody against a real SoftHSM2 token through PKCS#11 (no mocks).

Every test makes its own SoftHSM2 folder under tmp_path and initialises its tokens there. The tests
are skipped only when libsofthsm2.so is not installed (``make setup-system``); under CI they fail
instead, because .ci/run installs it.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pkcs11
import pytest
from pkcs11 import Attribute, ObjectClass

from sivei.crypto.ecdsa import P256_ORDER, verify_digest
from sivei.crypto.envelope import Envelope, seal
from sivei.custody import (
    SEALED_SHARE_PURPOSE,
    SEALING_KEY_LABEL,
    SIGNING_KEY_LABEL,
    CustodyError,
    KeyExistsError,
    PinIncorrectError,
    SealContext,
    SealedFile,
    SealInvalidError,
    SoftHsmEnvironment,
    SoftwareSealer,
    TokenNotFoundError,
    TokenSession,
    find_softhsm_module,
    open_module,
    open_token,
    read_pin,
)
from sivei.errors import SignatureError
from sivei.i18n import set_language

SO_PIN = "so-pin-8421"
PIN = "pin-de-prueba-1357"
LABEL = "custodio-1"
CONTEXT = SealContext(SEALED_SHARE_PURPOSE, "eleccion-2030", "ceremonia-1", "custodio-1", "election-secret-share")
SEAL_INVALID = "el sello no es válido"


@pytest.fixture(autouse=True)
def spanish() -> Iterator[None]:
    set_language("es")
    yield
    set_language("es")


@pytest.fixture
def hsm(tmp_path: Path) -> Iterator[SoftHsmEnvironment]:
    if find_softhsm_module() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install SoftHSM2 (libsofthsm2.so): .ci/run runs make setup-system")
        pytest.skip("SoftHSM2 (libsofthsm2.so) is not installed: run `make setup-system`")
    with SoftHsmEnvironment(tmp_path / "softhsm") as env:
        yield env


@pytest.fixture
def keyholder(hsm: SoftHsmEnvironment) -> Iterator[TokenSession]:
    """A token with both keys, logged in."""
    hsm.init_token(LABEL, SO_PIN, PIN)
    with open_token(LABEL, PIN) as session:
        session.generate_keys()
        yield session


def _key_files(env: SoftHsmEnvironment) -> dict[str, bytes]:
    """SoftHSM2's stored objects (keys), leaving out token.object, where it counts failed logins."""
    return {str(p.relative_to(env.token_directory)): p.read_bytes()
            for p in sorted(env.token_directory.rglob("*")) if p.is_file() and p.name != "token.object"}


# -- tokens and keys ----------------------------------------------------------------------------


def test_init_token_then_refuse_duplicates_and_bad_pins(hsm: SoftHsmEnvironment) -> None:
    hsm.init_token("custodio-1", SO_PIN, PIN)
    hsm.init_token("custodio-2", SO_PIN, "otro-pin-2468")
    assert hsm.module().token_labels() == ["custodio-1", "custodio-2"]
    assert stat.S_IMODE(hsm.token_directory.stat().st_mode) == 0o700
    with pytest.raises(CustodyError, match="ya existe un token con la etiqueta «custodio-1»"):
        hsm.init_token("custodio-1", SO_PIN, PIN)
    with pytest.raises(CustodyError, match="entre 4 y 255 caracteres"):
        hsm.init_token("custodio-3", SO_PIN, "123")
    with pytest.raises(CustodyError, match="de 1 a 32 bytes"):
        hsm.init_token("x" * 33, SO_PIN, PIN)
    assert hsm.module().token_labels() == ["custodio-1", "custodio-2"]
    # the user PIN works, the SO PIN is not a user PIN
    with open_token("custodio-2", "otro-pin-2468") as session:
        assert session.label == "custodio-2"
    with pytest.raises(PinIncorrectError):
        open_token("custodio-2", SO_PIN)


def test_keys_are_generated_once_and_found_again(hsm: SoftHsmEnvironment) -> None:
    hsm.init_token(LABEL, SO_PIN, PIN)
    with open_token(LABEL, PIN) as session:
        assert not session.has_key(SIGNING_KEY_LABEL)
        signer, sealer = session.generate_keys()
        public = signer.public_key
        sealed = sealer.seal(b"secreto", b"ad")
        assert len(public) == 65 and public[0] == 4
        assert (signer.label, sealer.label, signer.token_label) == (SIGNING_KEY_LABEL, SEALING_KEY_LABEL, LABEL)
    with open_token(LABEL, PIN) as session:
        assert session.signer().public_key == public
        assert session.sealer().unseal(sealed, b"ad") == b"secreto"


def test_refuses_to_create_keys_twice(keyholder: TokenSession) -> None:
    public = keyholder.signer().public_key
    objects = len(list(keyholder._session.get_objects()))  # type: ignore[attr-defined]
    with pytest.raises(KeyExistsError, match="ya tiene una llave «sivei-firma»: no se sobrescribe"):
        keyholder.generate_keys()
    with pytest.raises(KeyExistsError, match="sivei-firma"):
        keyholder.generate_signing_key()
    with pytest.raises(KeyExistsError, match="sivei-sello"):
        keyholder.generate_sealing_key()
    assert len(list(keyholder._session.get_objects())) == objects == 3  # type: ignore[attr-defined]
    assert keyholder.signer().public_key == public
    # other labels are fine (e.g. the credential authority's key next to a guardian's)
    authority = keyholder.generate_signing_key("sivei-autoridad")
    assert authority.public_key != public


def test_private_keys_are_sensitive_and_not_extractable(keyholder: TokenSession) -> None:
    for label in (SIGNING_KEY_LABEL, SEALING_KEY_LABEL):
        protection = keyholder.key_protection(label)
        assert protection.ok, protection
        assert not protection.extractable and protection.sensitive and not protection.value_readable
        assert protection.local and protection.never_extractable and protection.always_sensitive
    # independently of sivei.custody: ask the token directly (the login is shared by the process)
    token = pkcs11.lib(keyholder.module.path).get_token(token_label=LABEL)
    with token.open() as raw:
        for cls, label in ((ObjectClass.PRIVATE_KEY, SIGNING_KEY_LABEL), (ObjectClass.SECRET_KEY, SEALING_KEY_LABEL)):
            key = raw.get_key(object_class=cls, label=label)
            assert key[Attribute.EXTRACTABLE] is False
            assert key[Attribute.SENSITIVE] is True
            with pytest.raises(pkcs11.exceptions.AttributeSensitive):
                key[Attribute.VALUE]


# -- signatures ---------------------------------------------------------------------------------


def test_signatures_verify_and_are_low_s(keyholder: TokenSession) -> None:
    signer = keyholder.signer()
    for i in range(40):
        digest = hashlib.sha256(b"mensaje %d" % i).digest()
        signature = signer.sign_digest(digest)
        assert len(signature) == 64
        assert int.from_bytes(signature[32:], "big") <= P256_ORDER // 2
        assert verify_digest(signer.public_key, digest, signature)
        assert not verify_digest(signer.public_key, hashlib.sha256(b"otro").digest(), signature)
    with pytest.raises(CustodyError, match="32 bytes"):
        signer.sign_digest(b"\x00" * 31)


def test_envelope_signed_in_the_token(keyholder: TokenSession) -> None:
    signer = keyholder.signer()
    envelope = seal(signer, type="dkg/commitments", election_id="eleccion-2030", ceremony_id="ceremonia-1",
                    round=1, sender="custodio-1", previous=bytes(32), body={"commitments": ["00ff"]})
    envelope.verify(signer.public_key)
    again = Envelope.from_json(envelope.to_json())
    again.verify(signer.public_key)
    forged = Envelope.from_json({**envelope.to_json(), "body": {"commitments": ["00fe"]}})
    with pytest.raises(SignatureError, match="custodio-1"):
        forged.verify(signer.public_key)


# -- sealing ------------------------------------------------------------------------------------


def test_seal_round_trip_fresh_iv(keyholder: TokenSession) -> None:
    sealer = keyholder.sealer()
    secret = secrets.token_bytes(200)
    a, b = sealer.seal(secret, b"ad"), sealer.seal(secret, b"ad")
    assert a != b and a[0] == b[0] == 1 and a[1:13] != b[1:13]
    assert len(a) == 1 + 12 + len(secret) + 16
    assert sealer.unseal(a, b"ad") == sealer.unseal(b, b"ad") == secret
    assert sealer.unseal(sealer.seal(b"", b""), b"") == b""
    with pytest.raises(SealInvalidError, match=SEAL_INVALID):
        sealer.unseal(a, b"ae")
    with pytest.raises(SealInvalidError, match="demasiado corto"):
        sealer.unseal(a[:20], b"ad")


def test_sealed_file_round_trip(keyholder: TokenSession, tmp_path: Path) -> None:
    sealer = keyholder.sealer()
    secret = b"s_i = 0x" + secrets.token_bytes(32).hex().encode()
    folder = tmp_path / "usb"
    folder.mkdir()
    sealed = SealedFile(folder / "share.sealed", CONTEXT)
    sealed.write(sealer, secret)
    assert stat.S_IMODE(sealed.path.stat().st_mode) == 0o600
    assert os.listdir(folder) == ["share.sealed"]  # no temporary file left behind
    assert secret not in sealed.path.read_bytes()
    assert sealed.read(sealer) == secret
    with pytest.raises(CustodyError, match="ya existe"):
        sealed.write(sealer, b"otro")
    sealed.write(sealer, b"otro", overwrite=True)
    assert sealed.read(sealer) == b"otro"
    with pytest.raises(CustodyError, match="no existe el archivo sellado"):
        SealedFile(tmp_path / "missing.sealed", CONTEXT).read(sealer)


def test_tampered_sealed_file(keyholder: TokenSession, tmp_path: Path) -> None:
    sealer = keyholder.sealer()
    sealed = SealedFile(tmp_path / "share.sealed", CONTEXT)
    sealed.write(sealer, b"secreto")
    original = sealed.path.read_bytes()
    for position in (len(original) - 1, len(original) - 20, len(original) - 30):  # tag, ciphertext, IV
        data = bytearray(original)
        data[position] ^= 0x01
        sealed.path.write_bytes(bytes(data))
        with pytest.raises(SealInvalidError, match=SEAL_INVALID) as info:
            sealed.read(sealer)
        assert "PKCS" not in str(info.value) and "Error" not in str(info.value)
    # the context in clear edited: named precisely
    sealed.path.write_bytes(original.replace(b"eleccion-2030", b"eleccion-2031"))
    with pytest.raises(SealInvalidError, match="elección «eleccion-2031», se esperaba «eleccion-2030»"):
        sealed.read(sealer)
    sealed.path.write_bytes(original)
    assert sealed.read(sealer) == b"secreto"


@pytest.mark.parametrize("field, value, named", [
    ("election_id", "eleccion-2031", "elección"),
    ("ceremony_id", "ceremonia-2", "ceremonia"),
    ("guardian_id", "custodio-2", "custodio"),
    ("what", "transport-key", "contenido"),
    ("purpose", "sivei/other", "propósito"),
])
def test_sealed_file_from_another_context(keyholder: TokenSession, tmp_path: Path,
                                          field: str, value: str, named: str) -> None:
    sealer = keyholder.sealer()
    path = tmp_path / "share.sealed"
    SealedFile(path, CONTEXT).write(sealer, b"secreto")
    other = SealContext(**{**CONTEXT.__dict__, field: value})
    with pytest.raises(SealInvalidError, match=f"{SEAL_INVALID}.*{named} «"):
        SealedFile(path, other).read(sealer)
    # the same seal relabelled as the other context: the clear context matches, GCM does not
    original = path.read_bytes()
    ad, other_ad = CONTEXT.associated_data(), other.associated_data()
    path.write_bytes(original.replace(len(ad).to_bytes(4, "big") + ad, len(other_ad).to_bytes(4, "big") + other_ad))
    with pytest.raises(SealInvalidError, match=SEAL_INVALID):
        SealedFile(path, other).read(sealer)
    with pytest.raises(SealInvalidError, match=SEAL_INVALID):
        sealer.unseal(sealer.seal(b"x", ad), other_ad)


def test_sealed_by_another_token(hsm: SoftHsmEnvironment, tmp_path: Path) -> None:
    hsm.init_token("custodio-1", SO_PIN, PIN)
    hsm.init_token("custodio-2", SO_PIN, PIN)
    path = tmp_path / "share.sealed"
    with open_token("custodio-1", PIN) as one:
        SealedFile(path, CONTEXT).write(one.generate_sealing_key(), b"secreto")
    with open_token("custodio-2", PIN) as two, \
            pytest.raises(SealInvalidError, match=f"{SEAL_INVALID}.*o de otro token"):
        SealedFile(path, CONTEXT).read(two.generate_sealing_key())
    with open_token("custodio-1", PIN) as one:
        assert SealedFile(path, CONTEXT).read(one.sealer()) == b"secreto"


def test_truncated_or_foreign_file(keyholder: TokenSession, tmp_path: Path) -> None:
    sealer = keyholder.sealer()
    sealed = SealedFile(tmp_path / "share.sealed", CONTEXT)
    sealed.write(sealer, b"secreto")
    original = sealed.path.read_bytes()
    for length in (0, 5, 10, 40, len(original) - 1):
        sealed.path.write_bytes(original[:length])
        with pytest.raises(CustodyError, match="archivo sellado truncado"):
            sealed.read(sealer)
    sealed.path.write_bytes(original + b"\n")
    with pytest.raises(CustodyError, match="sobrantes"):
        sealed.read(sealer)
    sealed.path.write_bytes(b'{"json": true}')
    with pytest.raises(CustodyError, match="no es un archivo sellado de SIVEI"):
        sealed.read(sealer)


def test_software_sealer_same_format(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    path = tmp_path / "x.sealed"
    SealedFile(path, CONTEXT).write(SoftwareSealer(key), b"secreto")
    assert SealedFile(path, CONTEXT).read(SoftwareSealer(key)) == b"secreto"
    with pytest.raises(SealInvalidError, match=SEAL_INVALID):
        SealedFile(path, CONTEXT).read(SoftwareSealer())


# -- PINs, missing tokens, modules --------------------------------------------------------------


def test_wrong_pin_changes_nothing(keyholder: TokenSession, hsm: SoftHsmEnvironment) -> None:
    public = keyholder.signer().public_key
    keyholder.close()
    before = _key_files(hsm)
    assert len(before) >= 3
    for wrong in ("0000", PIN + "x", PIN.upper()):
        with pytest.raises(PinIncorrectError, match="PIN incorrecto para el token «custodio-1»") as info:
            open_token(LABEL, wrong)
        assert wrong not in str(info.value) and PIN not in str(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert _key_files(hsm) == before
    with open_token(LABEL, PIN) as session:
        assert session.signer().public_key == public
    set_language("en")
    with pytest.raises(PinIncorrectError, match="incorrect PIN for token «custodio-1»; nothing was changed"):
        open_token(LABEL, "0000")


def test_missing_token(hsm: SoftHsmEnvironment) -> None:
    hsm.init_token(LABEL, SO_PIN, PIN)
    with pytest.raises(TokenNotFoundError, match=r"no se encontró el token «custodio-9».*«custodio-1»"):
        open_token("custodio-9", PIN)


def test_one_login_per_token_and_process(keyholder: TokenSession) -> None:
    with pytest.raises(CustodyError, match="ya hay una sesión abierta con el token «custodio-1»"):
        open_token(LABEL, PIN)


def test_module_paths(hsm: SoftHsmEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CustodyError, match=r"no existe el módulo PKCS#11 /no/such/module\.so"):
        open_module("/no/such/module.so")
    hsm.init_token(LABEL, SO_PIN, PIN)
    monkeypatch.setenv("SIVEI_PKCS11_MODULE", "/no/such/env-module.so")
    with pytest.raises(CustodyError, match=r"env-module\.so"):
        open_token(LABEL, PIN)
    hsm.module().open_token(LABEL, PIN).close()  # SoftHsmEnvironment always means SoftHSM2
    monkeypatch.setenv("SIVEI_PKCS11_MODULE", str(find_softhsm_module()))
    open_token(LABEL, PIN).close()
    not_a_module = tmp_path / "not-a-module.so"
    not_a_module.write_bytes(b"\x7fELF nope")
    with pytest.raises(CustodyError, match="no se pudo cargar el módulo PKCS#11"):
        open_module(not_a_module)


def test_sessions_stop_after_reload(keyholder: TokenSession) -> None:
    signer, sealer = keyholder.signer(), keyholder.sealer()
    keyholder.module.reload()
    with pytest.raises(CustodyError, match="anterior a un reinicio del módulo"):
        signer.sign_digest(bytes(32))
    with pytest.raises(CustodyError, match="anterior a un reinicio del módulo"):
        sealer.seal(b"x", b"")
    keyholder.close()
    with pytest.raises(CustodyError, match="está cerrada"):
        keyholder.signer()
    with open_token(LABEL, PIN) as session:
        assert session.signer().public_key == signer.public_key


def test_read_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIVEI_PIN", PIN)
    assert read_pin("PIN de usuario") == PIN
    monkeypatch.setenv("CUSTODIO_PIN", "12")
    with pytest.raises(CustodyError, match="PIN del custodio: debe tener entre 4 y 255"):
        read_pin("PIN del custodio", env_var="CUSTODIO_PIN")
    # no terminal (new session, no controlling tty) and no variable: refuse, never read a visible line
    env = {k: v for k, v in os.environ.items() if k != "SIVEI_PIN"}
    code = ("from sivei.custody import read_pin, CustodyError\n"
            "try:\n    read_pin('PIN de usuario')\nexcept CustodyError as e:\n    print(e); raise SystemExit(3)\n")
    done = subprocess.run([sys.executable, "-c", code], input="1234\n", capture_output=True, text=True,
                          env=env, start_new_session=True, timeout=60, check=False)
    assert done.returncode == 3, done.stderr
    assert "no hay una terminal donde escribirlo sin que se vea" in done.stdout
    assert "SIVEI_PIN" in done.stdout and "1234" not in done.stdout + done.stderr


# -- processes ----------------------------------------------------------------------------------


def _child_uses_token(label: str, sealed: bytes, digest: bytes) -> tuple[bytes, bytes, bytes]:
    """Runs in a spawned process: opens the library itself, PIN from the environment."""
    pin = read_pin("PIN de usuario")
    with open_token(label, pin) as session:
        signer = session.signer()
        return signer.public_key, signer.sign_digest(digest), session.sealer().unseal(sealed, b"ad")


def test_child_process_opens_the_library_itself(keyholder: TokenSession, monkeypatch: pytest.MonkeyPatch) -> None:
    # The parent holds its own logged-in session meanwhile; the child inherits only SOFTHSM2_CONF and SIVEI_PIN.
    monkeypatch.setenv("SIVEI_PIN", PIN)
    signer = keyholder.signer()
    sealed = keyholder.sealer().seal(b"secreto del padre", b"ad")
    digest = hashlib.sha256(b"hijo").digest()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        public, signature, plaintext = pool.apply(_child_uses_token, (LABEL, sealed, digest))
    assert public == signer.public_key
    assert verify_digest(public, digest, signature)
    assert plaintext == b"secreto del padre"
    assert verify_digest(public, digest, signer.sign_digest(digest))  # the parent's session still works
    with pytest.raises(CustodyError, match="no se pasan a otro proceso"):
        import pickle
        pickle.dumps(signer)


def test_fork_guard(keyholder: TokenSession) -> None:
    signer = keyholder.signer()
    digest = hashlib.sha256(b"fork").digest()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the parent's objects refuse; opening again works
        report = []
        try:
            signer.sign_digest(digest)
            report.append("inherited signer worked")
        except CustodyError as exc:
            report.append("refused" if "otro proceso" in str(exc) else f"other error: {exc}")
        try:
            with open_token(LABEL, PIN) as session:
                ok = verify_digest(signer.public_key, digest, session.signer().sign_digest(digest))
                report.append("reopened" if ok else "bad signature")
        except Exception as exc:
            report.append(f"reopen failed: {type(exc).__name__}: {exc}")
        os.write(write_end, "|".join(report).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        report = fh.read().decode()
    os.waitpid(pid, 0)
    assert report == "refused|reopened"
    assert verify_digest(signer.public_key, digest, signer.sign_digest(digest))
