"""Files sealed under a passphrase (the personal-data export): only the passphrase opens them; a changed
header or body, or a header asking the opener for absurd work, is refused the same way."""

from __future__ import annotations

import nacl.pwhash
import pytest

from sivei import passphrase_file as pf


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pf, "OPSLIMIT", nacl.pwhash.argon2id.OPSLIMIT_MIN)
    monkeypatch.setattr(pf, "MEMLIMIT", nacl.pwhash.argon2id.MEMLIMIT_MIN)


def test_only_the_passphrase_opens_and_tampering_is_refused() -> None:
    phrase = "frase de paso del archivo del INE"
    with pytest.raises(pf.SealedFileError, match="16"):
        pf.seal(b"x", "corta", "prueba")
    blob = pf.seal("padrón: ana@example.org".encode(), phrase, "padrón")
    assert b"ana@example.org" not in blob
    assert pf.open_sealed(blob, phrase) == ("padrón", "padrón: ana@example.org".encode())
    with pytest.raises(pf.SealedFileError, match="incorrecta"):
        pf.open_sealed(blob, phrase + "!")
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(pf.SealedFileError, match="incorrecta"):
        pf.open_sealed(flipped, phrase)
    relabelled = blob.replace("padrón".encode(), b"otra c", 1)  # the header is bound to the key
    with pytest.raises(pf.SealedFileError):
        pf.open_sealed(relabelled, phrase)
    greedy = blob.replace(b'"memlimit":', b'"memlimit":999999', 1)  # > 1 GiB
    with pytest.raises(pf.SealedFileError, match="dañado"):
        pf.open_sealed(greedy, phrase)
    with pytest.raises(pf.SealedFileError, match="dañado"):
        pf.open_sealed(b"no es un archivo sellado", phrase)
