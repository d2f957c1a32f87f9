"""Credential tokens: the authority's signed statement that one public credential belongs to one voter.

Why
    The public credential list is anonymous on purpose (anyone can count it against the roll, nobody
    can tell whose a credential is), so on its own the voting server cannot tell whether the
    logged-in voter is casting their own credential or one taken from someone else's letter. The
    credential authority therefore signs, for each voter,

        token = ECDSA-P256(authority key,
                           H("sivei/credential-token", string(election_id) ‖ string(VOTER_ID)
                                                       ‖ fixed(public_credential, 32)))

    (raw r‖s, low s, like every envelope signature; ``VOTER_ID`` is the roll's voter id in ASCII
    capitals, as the server keeps it). The booth sends the token beside the ballot — never onto the
    board — and the server refuses a ballot whose token does not name the logged-in voter and the
    ballot's public credential.

How the token reaches the booth: sealed, through the server
    A voter must be able to type the credential from a letter, and nobody can type 64 more bytes.
    So the authority seals each token under a key only the private credential gives

        key    = H("sivei/credential-token-key", string(election_id) ‖ string(canonical credential))
        sealed = nonce(12) ‖ AES-256-GCM(key, nonce, token, aad = string(election_id) ‖ string(VOTER_ID))

    and hands the sealed tokens (``sealed-tokens.jsonl``) to the server's operator with the public
    list. The server gives each logged-in voter their own sealed token; the booth opens it with the
    credential (typed, scanned or from the link) and so also learns, before the voter marks anything,
    whether the credential is theirs. The server stores only ciphertexts under 130-bit secrets it
    does not have: no voter → credential map. It sees the link between a login and a credential at
    cast time, as it always did (protocol 1.3); it does not keep it.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sivei.ballot.credentials import (
    CredentialError,
    CredentialList,
    Delivery,
    canonical_credential,
    credential_public_key,
    write_text_atomic,
)
from sivei.crypto.ecdsa import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, Signer, verify_digest
from sivei.crypto.encoding import Encoder, canonical_json, tagged_hash
from sivei.i18n import tr

TAG_TOKEN = "sivei/credential-token"  # noqa: S105 - a hash tag
TAG_SEAL_KEY = "sivei/credential-token-key"
TOKEN_BYTES = SIGNATURE_BYTES  # 64
NONCE_BYTES = 12
SEALED_BYTES = NONCE_BYTES + TOKEN_BYTES + 16  # nonce ‖ ciphertext ‖ GCM tag = 92
TOKEN_HEADER = "X-Credential-Token"  # noqa: S105 - how the booth sends the token beside the ballot (hex)
SEALED_FILE = "sealed-tokens.jsonl"
SEALED_FORMAT = "sivei-sealed-tokens"
SEALED_VERSION = 1
_VOTER_ID = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,63}")
_HEX = re.compile(r"[0-9a-f]*")


def token_voter_id(voter_id: str) -> str:
    """The voter id as tokens bind it: the roll's id in ASCII capitals (the server's form)."""
    upper = voter_id.strip().upper()
    if not _VOTER_ID.fullmatch(upper):
        raise CredentialError(tr(f"identificador de votante no válido {voter_id!r}",
                                 f"invalid voter id {voter_id!r}"))
    return upper


def token_digest(election_id: str, voter_id: str, public_credential: bytes) -> bytes:
    """H("sivei/credential-token", string(election_id) ‖ string(VOTER_ID) ‖ fixed(public credential))."""
    data = (Encoder().string(election_id).string(token_voter_id(voter_id))
            .fixed(public_credential, 32).to_bytes())
    return tagged_hash(TAG_TOKEN, data)


def sign_token(authority: Signer, election_id: str, voter_id: str, public_credential: bytes) -> bytes:
    """The authority's 64-byte token binding ``public_credential`` to ``voter_id``."""
    return authority.sign_digest(token_digest(election_id, voter_id, public_credential))


def verify_token(authority_key: bytes, election_id: str, voter_id: str, public_credential: bytes,
                 token: bytes) -> bool:
    """True when ``token`` is the authority's low-s signature binding this credential to this voter."""
    if len(public_credential) != 32 or len(token) != TOKEN_BYTES:
        return False
    try:
        digest = token_digest(election_id, voter_id, public_credential)
    except CredentialError:
        return False
    return verify_digest(authority_key, digest, token)


def parse_token_hex(text: str | None) -> bytes | None:
    """The 64 token bytes from the 128 lowercase hex digits the booth sends, or None if malformed."""
    if text is None or len(text) != 2 * TOKEN_BYTES or not _HEX.fullmatch(text):
        return None
    return bytes.fromhex(text)


# -- sealing -------------------------------------------------------------------------------------


def seal_key(election_id: str, credential: str) -> bytes:
    """The AES-256 key that seals a voter's token: only the private credential gives it."""
    return tagged_hash(TAG_SEAL_KEY, Encoder().string(election_id).string(canonical_credential(credential)).to_bytes())


def _aad(election_id: str, voter_id: str) -> bytes:
    return Encoder().string(election_id).string(token_voter_id(voter_id)).to_bytes()


def seal_token(election_id: str, voter_id: str, credential: str, token: bytes, *,
               nonce: bytes | None = None) -> bytes:
    """``nonce ‖ AES-256-GCM(seal_key, nonce, token, aad)`` (92 bytes); a fresh random nonce unless given."""
    if len(token) != TOKEN_BYTES:
        raise CredentialError(tr("una ficha de credencial tiene 64 bytes", "a credential token has 64 bytes"))
    nonce = secrets.token_bytes(NONCE_BYTES) if nonce is None else nonce
    if len(nonce) != NONCE_BYTES:
        raise CredentialError(tr("el nonce del sello tiene 12 bytes", "the seal's nonce has 12 bytes"))
    return nonce + AESGCM(seal_key(election_id, credential)).encrypt(nonce, token, _aad(election_id, voter_id))


def unseal_token(election_id: str, voter_id: str, credential: str, sealed: bytes) -> bytes:
    """Open a sealed token with the credential; a credential of another voter or election fails."""
    if len(sealed) != SEALED_BYTES:
        raise CredentialError(tr(f"una ficha sellada tiene {SEALED_BYTES} bytes",
                                 f"a sealed token has {SEALED_BYTES} bytes"))
    try:
        return AESGCM(seal_key(election_id, credential)).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:],
                                                                 _aad(election_id, voter_id))
    except InvalidTag as exc:
        raise CredentialError(tr(
            "esta credencial no corresponde a la cuenta de este votante (o es de otra elección)",
            "this credential does not belong to this voter's account (or is from another election)")) from exc


# -- the file the server's operator imports ------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SealedTokens:
    """Every voter's sealed token, keyed by VOTER_ID, with the election and the signing key.

    ``sealed-tokens.jsonl``: a header line ``{"format", "version", "election_id", "authority_key",
    "count"}`` then one ``{"voter_id", "sealed"}`` line per voter, sorted by voter id (canonical JSON,
    lowercase hex). Not public (it lists the roll's voter ids) and not secret (each line is a
    ciphertext under a key that only that voter's private credential gives)."""

    election_id: str
    authority_key: bytes
    sealed: Mapping[str, bytes]

    def __len__(self) -> int:
        return len(self.sealed)

    def header(self) -> dict[str, object]:
        return {"format": SEALED_FORMAT, "version": SEALED_VERSION, "election_id": self.election_id,
                "authority_key": self.authority_key.hex(), "count": len(self.sealed)}

    def to_bytes(self) -> bytes:
        lines = [canonical_json(self.header())]
        lines += [canonical_json({"voter_id": v, "sealed": self.sealed[v].hex()}) for v in sorted(self.sealed)]
        return b"\n".join(lines) + b"\n"

    def write(self, path: Path | str) -> None:
        write_text_atomic(path, self.to_bytes().decode("ascii"), mode=0o600)

    @staticmethod
    def parse(data: bytes, what: str = SEALED_FILE) -> SealedTokens:
        """Parse and check the file's shape; raise naming the line of the first problem."""
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError as exc:
            raise CredentialError(tr(f"{what}: el archivo no es ASCII", f"{what}: the file is not ASCII")) from exc
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if not text.strip():
            raise CredentialError(tr(f"{what}: el archivo está vacío", f"{what}: the file is empty"))
        header = _json_line(what, 1, lines[0])
        fields = {"format", "version", "election_id", "authority_key", "count"}
        if set(header) != fields or header["format"] != SEALED_FORMAT or header["version"] != SEALED_VERSION:
            raise CredentialError(tr(f"{what}, línea 1: no es un encabezado {SEALED_FORMAT} versión {SEALED_VERSION}",
                                     f"{what}, line 1: not a {SEALED_FORMAT} version {SEALED_VERSION} header"))
        key = _hex_field(what, 1, header, "authority_key", PUBLIC_KEY_BYTES)
        if not isinstance(header["election_id"], str) or not isinstance(header["count"], int):
            raise CredentialError(tr(f"{what}, línea 1: «election_id» o «count» mal formados",
                                     f"{what}, line 1: malformed «election_id» or «count»"))
        sealed: dict[str, bytes] = {}
        previous = ""
        for number, line in enumerate(lines[1:], start=2):
            obj = _json_line(what, number, line)
            if set(obj) != {"voter_id", "sealed"} or not isinstance(obj["voter_id"], str):
                raise CredentialError(tr(f"{what}, línea {number}: se esperaban «voter_id» y «sealed»",
                                         f"{what}, line {number}: expected «voter_id» and «sealed»"))
            voter_id = obj["voter_id"]
            if not _VOTER_ID.fullmatch(voter_id) or voter_id <= previous:
                raise CredentialError(tr(
                    f"{what}, línea {number}: identificador de votante no válido, repetido o fuera de orden",
                    f"{what}, line {number}: voter id invalid, repeated or out of order"))
            sealed[voter_id] = _hex_field(what, number, obj, "sealed", SEALED_BYTES)
            previous = voter_id
        if header["count"] != len(sealed):
            raise CredentialError(tr(f"{what}: el encabezado dice {header['count']} fichas y hay {len(sealed)}",
                                     f"{what}: the header says {header['count']} tokens and there are {len(sealed)}"))
        return SealedTokens(header["election_id"], key, MappingProxyType(sealed))

    @staticmethod
    def read(path: Path | str) -> SealedTokens:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CredentialError(tr(f"no se puede leer {path}: {exc.strerror}",
                                     f"cannot read {path}: {exc.strerror}")) from exc
        return SealedTokens.parse(data, path.name)

    def problems_with(self, credential_list: CredentialList, election_id: str, *, pooled: int = 0) -> list[str]:
        """What makes these sealed tokens unusable with this list: another election, another signing
        key (every token would be refused), or not one token per listed credential (``pooled``: the
        consulates' pool credentials, which have none: they belong to no voter)."""
        problems = []
        if self.election_id != election_id:
            problems.append(tr(f"{SEALED_FILE}: es de la elección {self.election_id!r}, no de {election_id!r}",
                               f"{SEALED_FILE}: belongs to election {self.election_id!r}, not {election_id!r}"))
        if self.authority_key != credential_list.authority_key:
            problems.append(tr(f"{SEALED_FILE}: las fichas están firmadas con otra llave que la de la lista",
                               f"{SEALED_FILE}: the tokens are signed with another key than the list's"))
        if len(self) != len(credential_list) - pooled:
            problems.append(tr(f"{SEALED_FILE}: hay {len(self)} fichas y {len(credential_list) - pooled} credenciales "
                               "de votantes",
                               f"{SEALED_FILE}: {len(self)} tokens for {len(credential_list) - pooled} voters' "
                               "credentials"))
        return problems


def _json_line(what: str, number: int, line: str) -> dict[str, object]:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise CredentialError(tr(f"{what}, línea {number}: JSON no válido",
                                 f"{what}, line {number}: invalid JSON")) from exc
    if not isinstance(obj, dict):
        raise CredentialError(tr(f"{what}, línea {number}: se esperaba un objeto",
                                 f"{what}, line {number}: expected an object"))
    return obj


def _hex_field(what: str, number: int, obj: Mapping[str, object], name: str, nbytes: int) -> bytes:
    value = obj[name]
    if not isinstance(value, str) or len(value) != 2 * nbytes or not _HEX.fullmatch(value):
        raise CredentialError(tr(f"{what}, línea {number}: «{name}» debe tener {2 * nbytes} dígitos hexadecimales",
                                 f"{what}, line {number}: «{name}» must have {2 * nbytes} hex digits"))
    return bytes.fromhex(value)


def seal_tokens(election_id: str, deliveries: Iterable[Delivery], authority: Signer) -> SealedTokens:
    """Sign and seal every voter's token (the ``generate`` step, with the authority's key)."""
    sealed: dict[str, bytes] = {}
    for d in deliveries:
        voter_id = token_voter_id(d.voter_id)
        if voter_id in sealed:
            raise CredentialError(tr(f"identificador de votante repetido (sin distinguir mayúsculas) {d.voter_id!r}",
                                     f"duplicate voter id (ignoring case) {d.voter_id!r}"))
        token = sign_token(authority, election_id, voter_id, credential_public_key(election_id, d.credential))
        sealed[voter_id] = seal_token(election_id, voter_id, d.credential, token)
    return SealedTokens(election_id, authority.public_key, MappingProxyType(sealed))
