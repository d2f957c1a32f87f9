"""Benaloh cast-or-challenge: a challenged ballot reveals its choices and ballot nonce.

Anyone — a second device, the static verification page, ``sivei`` offline — rebuilds the ballot
from (choices, nonce, credential) and compares it byte for byte, tracking code included. A challenged
ballot is never signed, so it can never be cast, and it is never sent to the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sivei.ballot.context import ElectionContext
from sivei.ballot.encrypt import BALLOT_NONCE_BYTES, EncryptedBallot, encrypt_ballot
from sivei.crypto.encoding import hex_to_bytes
from sivei.crypto.fingerprint import matches_fingerprint
from sivei.errors import EncodingError, SiveiError
from sivei.i18n import tr
from sivei.problems import Problem


@dataclass(frozen=True)
class ChallengedBallot:
    ballot: EncryptedBallot
    choices: Mapping[str, str]
    ballot_nonce: bytes
    stated_tracking_code: str | None = None
    """The code the voter's device showed, as the file states it (checked, never trusted)."""

    def to_json(self, ctx: ElectionContext) -> dict[str, Any]:
        return {
            "election_hash": ctx.election_hash.hex(),
            "tracking_code": self.ballot.tracking_code(ctx),
            "ballot": self.ballot.to_json(ctx.group),
            "choices": dict(self.choices),
            "ballot_nonce": self.ballot_nonce.hex(),
        }

    @staticmethod
    def from_json(ctx: ElectionContext, obj: object) -> ChallengedBallot:
        keys = {"election_hash", "tracking_code", "ballot", "choices", "ballot_nonce"}
        if not isinstance(obj, dict) or set(obj) != keys:
            raise EncodingError(tr(f"boleta impugnada: se esperaban los campos {sorted(keys)}",
                                   f"challenged ballot: expected the fields {sorted(keys)}"))
        if hex_to_bytes(obj["election_hash"], 32, "election_hash") != ctx.election_hash:
            raise EncodingError(tr("la boleta impugnada es de otra elección",
                                   "the challenged ballot belongs to another election"))
        choices = obj["choices"]
        if not isinstance(choices, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in choices.items()
        ):
            raise EncodingError(tr("choices: se esperaba un objeto contienda → opción",
                                   "choices: expected an object contest → option"))
        if not isinstance(obj["tracking_code"], str):
            raise EncodingError(tr("tracking_code: se esperaba texto", "tracking_code: expected text"))
        return ChallengedBallot(
            EncryptedBallot.from_json(ctx.group, obj["ballot"]),
            choices,
            hex_to_bytes(obj["ballot_nonce"], BALLOT_NONCE_BYTES, "ballot_nonce"),
            obj["tracking_code"],
        )


def check_challenge(ctx: ElectionContext, challenged: ChallengedBallot) -> list[Problem]:
    """Rebuild the ballot from its revealed choices and nonce; every difference is a problem."""
    where = tr(f"boleta impugnada {challenged.ballot.tracking_code(ctx)}",
               f"challenged ballot {challenged.ballot.tracking_code(ctx)}")
    problems = []
    if challenged.ballot.signature:
        problems.append(Problem("challenge.signed", where, tr(
            "una boleta impugnada no debe estar firmada (podría haberse depositado)",
            "a challenged ballot must not be signed (it could have been cast)")))
    stated = challenged.stated_tracking_code
    if stated is not None and not matches_fingerprint(stated, challenged.ballot.ballot_hash(ctx)):
        problems.append(Problem("challenge.tracking-code", where, tr(
            f"el código de seguimiento del archivo ({stated}) no es el de la boleta: compare con el que "
            "le mostró su dispositivo",
            f"the file's tracking code ({stated}) is not the ballot's: compare with the one your device showed")))
    try:
        rebuilt = encrypt_ballot(ctx, challenged.ballot.style, challenged.choices,
                                 challenged.ballot.credential, challenged.ballot_nonce)
    except SiveiError as exc:
        return [*problems, Problem("challenge.choices", where, str(exc))]
    if rebuilt.encode(ctx.group) != challenged.ballot.encode(ctx.group):
        problems.append(Problem("challenge.mismatch", where, tr(
            "el cifrado NO corresponde a las opciones reveladas: el dispositivo que cifró no es confiable",
            "the encryption does NOT match the revealed choices: the encrypting device is not trustworthy")))
    return problems
