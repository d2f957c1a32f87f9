"""Credential tokens (the authority's signature binding a public credential to a voter), their seal
under the voter's credential, the sealed-tokens file, and the voting link."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sivei.ballot import credentials as cr
from sivei.ballot.credential_tokens import (
    SEALED_BYTES,
    SealedTokens,
    parse_token_hex,
    seal_token,
    seal_tokens,
    sign_token,
    token_digest,
    unseal_token,
    verify_token,
)
from sivei.ballot.credentials import CredentialError, credential_public_key
from sivei.ballot.manifest import sample_manifest
from sivei.crypto.ecdsa import P256_ORDER, SoftwareSigner

ELECTION = "mx-2027-local-ext"
AUTHORITY = SoftwareSigner()


@pytest.fixture(scope="module")
def issued() -> tuple[cr.IssuedCredentials, SealedTokens]:
    manifest = sample_manifest()
    issued = cr.issue_credentials(manifest, cr.synthetic_roll(manifest, 6), AUTHORITY, retain=False)
    return issued, seal_tokens(manifest.election_id, issued.deliveries, AUTHORITY)


def test_token_binds_election_voter_and_credential() -> None:
    cred, other = cr.generate_credential(), cr.generate_credential()
    pk, pk2 = credential_public_key(ELECTION, cred), credential_public_key(ELECTION, other)
    token = sign_token(AUTHORITY, ELECTION, "v0001", pk)
    key = AUTHORITY.public_key
    assert verify_token(key, ELECTION, "V0001", pk, token)  # ids as the server keeps them: capitals
    assert token_digest(ELECTION, " v0001 ", pk) == token_digest(ELECTION, "V0001", pk)
    assert not verify_token(key, ELECTION, "V0002", pk, token)
    assert not verify_token(key, "otra-eleccion", "V0001", pk, token)
    assert not verify_token(key, ELECTION, "V0001", pk2, token)
    assert not verify_token(SoftwareSigner().public_key, ELECTION, "V0001", pk, token)
    assert not verify_token(key, ELECTION, "../x", pk, token)
    assert not verify_token(key, ELECTION, "V0001", pk, token[:63])
    s = int.from_bytes(token[32:], "big")
    high_s = token[:32] + (P256_ORDER - s).to_bytes(32, "big")
    assert not verify_token(key, ELECTION, "V0001", pk, high_s)  # one accepted form only
    assert parse_token_hex(token.hex()) == token
    for bad in (None, "", token.hex()[:-2], token.hex().upper(), "g" * 128):
        assert parse_token_hex(bad) is None


def test_seal_opens_only_with_the_voters_credential() -> None:
    cred, other = cr.generate_credential(), cr.generate_credential()
    token = sign_token(AUTHORITY, ELECTION, "V0001", credential_public_key(ELECTION, cred))
    sealed = seal_token(ELECTION, "V0001", cred, token)
    assert len(sealed) == SEALED_BYTES == 92
    assert unseal_token(ELECTION, "v0001", cr.parse_credential(cred), sealed) == token
    assert seal_token(ELECTION, "V0001", cred, token) != sealed  # a fresh nonce each time
    for election, voter, credential in ((ELECTION, "V0001", other), (ELECTION, "V0002", cred),
                                        ("otra-eleccion", "V0001", cred)):
        with pytest.raises(CredentialError, match="no corresponde a la cuenta"):
            unseal_token(election, voter, credential, sealed)
    for i in (0, 12, 50, 91):
        tampered = bytearray(sealed)
        tampered[i] ^= 1
        with pytest.raises(CredentialError):
            unseal_token(ELECTION, "V0001", cred, bytes(tampered))
    with pytest.raises(CredentialError, match="92 bytes"):
        unseal_token(ELECTION, "V0001", cred, sealed[:-1])


def test_sealed_tokens_file(issued: tuple[cr.IssuedCredentials, SealedTokens]) -> None:
    credentials, sealed = issued
    data = sealed.to_bytes()
    again = SealedTokens.parse(data)
    assert again.to_bytes() == data and again.authority_key == AUTHORITY.public_key
    lst = credentials.credential_list
    assert again.problems_with(lst, ELECTION) == []
    # Each voter's line opens with their credential to a token the list's key verifies.
    for d in credentials.deliveries:
        token = unseal_token(ELECTION, d.voter_id, d.credential, again.sealed[d.voter_id])
        assert verify_token(lst.authority_key, ELECTION, d.voter_id, credential_public_key(ELECTION, d.credential),
                            token)
    other_key = seal_tokens(ELECTION, credentials.deliveries, SoftwareSigner())
    assert any("otra llave" in p for p in other_key.problems_with(lst, ELECTION))
    assert any("de la elección" in p for p in again.problems_with(lst, "otra"))
    lines = data.decode().splitlines()
    short = SealedTokens.parse(("\n".join([lines[0].replace('"count":6', '"count":5'), *lines[1:-1]]) + "\n").encode())
    assert any("5 fichas y 6 credenciales" in p for p in short.problems_with(lst, ELECTION))


def _short(line: str) -> str:
    obj = json.loads(line)
    return json.dumps({**obj, "sealed": obj["sealed"][:-2]})


@pytest.mark.parametrize(("edit", "message"), [
    (lambda ls: [], "vacío"),
    (lambda ls: ["{", *ls[1:]], "línea 1: JSON no válido"),
    (lambda ls: [ls[0].replace("sivei-sealed-tokens", "otra-cosa"), *ls[1:]], "línea 1: no es un encabezado"),
    (lambda ls: [ls[0].replace('"count":6', '"count":7'), *ls[1:]], "el encabezado dice 7 fichas y hay 6"),
    (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], "línea 3: identificador de votante no válido, repetido o fuera"),
    (lambda ls: [ls[0], ls[1], ls[1], *ls[3:]], "línea 3: identificador de votante no válido, repetido o fuera"),
    (lambda ls: [ls[0], _short(ls[1]), *ls[2:]], "línea 2: «sealed» debe tener 184"),
    (lambda ls: [ls[0], json.dumps({"voter_id": "V00000001"}), *ls[2:]], "línea 2: se esperaban"),
    (lambda ls: [ls[0], "[1]", *ls[2:]], "línea 2: se esperaba un objeto"),
])
def test_sealed_tokens_file_refusals(issued: tuple[cr.IssuedCredentials, SealedTokens], edit: Any,
                                    message: str) -> None:
    lines = issued[1].to_bytes().decode().splitlines()
    with pytest.raises(CredentialError, match=message):
        SealedTokens.parse(("\n".join(edit(lines)) + "\n").encode())
    with pytest.raises(CredentialError, match="no es ASCII"):
        SealedTokens.parse("ñ".encode())


def test_seal_tokens_refuses_ids_equal_but_for_case(issued: tuple[cr.IssuedCredentials, SealedTokens]) -> None:
    d = issued[0].deliveries[0]
    twin = cr.Delivery(d.voter_id.lower(), d.name, "otro@ejemplo.mx", d.entity, cr.generate_credential())
    with pytest.raises(CredentialError, match="repetido"):
        seal_tokens(ELECTION, [d, twin], AUTHORITY)


def test_voting_link() -> None:
    cred = "0DJZF-42J6A-80F1B-KXTDD-C26VB-S7"
    link = cr.voting_link("https://voto.ejemplo.mx/ext/", cred)
    assert link == "https://voto.ejemplo.mx/ext/votar#credencial=0DJZF42J6A80F1BKXTDDC26VBS"
    assert cr.credential_from_link(link) == "0DJZF42J6A80F1BKXTDDC26VBS"
    assert cr.credential_from_link("credencial=0djzf42j6a80f1bkxtddc26vbs") == "0DJZF42J6A80F1BKXTDDC26VBS"
    assert cr.credential_from_link(cred) is None  # a typed credential, not a link
    assert cr.credential_from_link("https://voto.ejemplo.mx/votar#contenido") is None
    for damaged in (link[:-1], link + "X", link[:-1] + "U"):
        with pytest.raises(CredentialError, match="enlace está incompleto o dañado"):
            cr.credential_from_link(damaged)
    assert cr.site_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    for bad in ("http://voto.ejemplo.mx", "https://voto.ejemplo.mx/?a=1", "https://voto.ejemplo.mx/#x",
                "ftp://voto.ejemplo.mx", "voto.ejemplo.mx", "https://user@voto.ejemplo.mx"):
        with pytest.raises(CredentialError, match="dirección del sitio"):
            cr.site_url(bad)
