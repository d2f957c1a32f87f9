"""Encrypted ballots: encryption with nonces derived from one ballot nonce, proofs, tracking code,
and the credential's signature.

Every nonce of a ballot is H("sivei/nonce", H_E ‖ ballot nonce ‖ contest ‖ option ‖ purpose) mod q,
so revealing the 32-byte ballot nonce (a Benaloh challenge) lets anyone rebuild the whole ballot
byte for byte. The tracking code is the read-aloud form of the ballot hash
H("sivei/ballot", H_E ‖ canonical ballot without signature): it exists before the voter chooses to
cast (sign) or challenge (reveal), and depends on no other voter's ballot.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sivei.ballot.context import ElectionContext
from sivei.crypto import ed25519
from sivei.crypto.batch import DEFAULT_BITS, require_members
from sivei.crypto.elgamal import Ciphertext
from sivei.crypto.encoding import (
    Decoder,
    Encoder,
    hash_to_scalar,
    hex_to_bytes,
    tagged_hash,
)
from sivei.crypto.fingerprint import fingerprint
from sivei.crypto.group import Group
from sivei.crypto.proofs import (
    ChaumPedersenProof,
    ZeroOneNonces,
    ZeroOneProof,
    prove_chaum_pedersen,
    prove_zero_one,
)
from sivei.errors import BallotError, EncodingError
from sivei.i18n import tr

TAG_NONCE = "sivei/nonce"
TAG_BALLOT = "sivei/ballot"
TAG_BALLOT_SIGNATURE = "sivei/ballot-signature"
BALLOT_NONCE_BYTES = 32

PURPOSE_ENCRYPT = "encrypt"
PURPOSE_REAL_COMMIT = "zero-one/real-commitment"
PURPOSE_FAKE_CHALLENGE = "zero-one/fake-challenge"
PURPOSE_FAKE_COMMIT = "zero-one/fake-commitment"
PURPOSE_SUM_COMMIT = "sum/commitment"
CONTEST_LEVEL = 0xFFFFFFFF
"""Option index used in the nonce derivation of contest-level values (the sum proof)."""


def derive_nonce(group: Group, election_hash: bytes, ballot_nonce: bytes, contest: int, option: int,
                 purpose: str) -> int:
    data = (Encoder().fixed(election_hash, 32).fixed(ballot_nonce, BALLOT_NONCE_BYTES).u32(contest)
            .u32(option).string(purpose).to_bytes())
    return hash_to_scalar(group, TAG_NONCE, data)


def selection_statement(credential: bytes, contest: int, option: int) -> bytes:
    """Binding of a 0/1 proof: the ballot's public credential, contest and option index."""
    return Encoder().fixed(credential, 32).u32(contest).u32(option).to_bytes()


def contest_statement(credential: bytes, contest: int, votes_allowed: int) -> bytes:
    """Binding of a contest's sum proof: credential, contest index and the claimed sum."""
    return Encoder().fixed(credential, 32).u32(contest).u32(votes_allowed).to_bytes()


@dataclass(frozen=True)
class EncryptedSelection:
    ciphertext: Ciphertext
    proof: ZeroOneProof


@dataclass(frozen=True)
class EncryptedContest:
    index: int  # global contest index in the manifest
    selections: tuple[EncryptedSelection, ...]
    sum_proof: ChaumPedersenProof


@dataclass(frozen=True)
class EncryptedBallot:
    """A ballot as the booth produces it; ``signature`` is empty until the voter casts it.

    Invariant: every α and β is a member of the order-q subgroup — encryption produces members and
    ``from_json`` establishes it; a ballot read without that test is an ``UncheckedBallot``."""

    style: str
    credential: bytes
    contests: tuple[EncryptedContest, ...]
    signature: bytes = b""

    def encode(self, group: Group) -> bytes:
        """Canonical encoding of everything but the signature."""
        enc = Encoder(group).string(self.style).fixed(self.credential, ed25519.PUBLIC_KEY_BYTES)
        enc.u32(len(self.contests))
        for contest in self.contests:
            enc.u32(contest.index).u32(len(contest.selections))
            for sel in contest.selections:
                p = sel.proof
                sel.ciphertext.encode(enc)
                enc.element(p.a0).element(p.b0).element(p.a1).element(p.b1)
                enc.scalar(p.c0).scalar(p.c1).scalar(p.v0).scalar(p.v1)
            sp = contest.sum_proof
            enc.element(sp.commitment_g).element(sp.commitment_h).scalar(sp.response)
        return enc.to_bytes()

    def ballot_hash(self, ctx: ElectionContext) -> bytes:
        return ballot_hash_of_encoding(ctx, self.encode(ctx.group))

    def tracking_code(self, ctx: ElectionContext) -> str:
        return fingerprint(self.ballot_hash(ctx))

    def to_json(self, group: Group) -> dict[str, Any]:
        return {
            "style": self.style,
            "credential": self.credential.hex(),
            "contests": [
                {
                    "index": c.index,
                    "selections": [
                        {"ciphertext": s.ciphertext.to_json(group), "proof": s.proof.to_json(group)}
                        for s in c.selections
                    ],
                    "sum_proof": c.sum_proof.to_json(group),
                }
                for c in self.contests
            ],
            "signature": self.signature.hex(),
        }

    @staticmethod
    def from_json(group: Group, obj: object, what: str = "ballot", *,
                  bits: int = DEFAULT_BITS) -> EncryptedBallot:
        """Strict parse: exact fields, canonical hex, α and β in the subgroup (their membership is
        established in one batch of security ``bits``, protocol §3.2 and §8.5)."""
        return parse_unchecked_ballot(group, obj, what).require_members(group, bits=bits)


@dataclass(frozen=True)
class UncheckedBallot:
    """A ballot parsed with every range checked but the membership of its α and β NOT yet
    established. It is deliberately not an ``EncryptedBallot``: nothing that aggregates, decrypts or
    applies the board's rules accepts it. ``require_members`` (one ballot) or
    ``sivei.ballot.validate.check_ballots`` (many, in one batch) turn it into one."""

    unchecked: EncryptedBallot
    what: str
    """The JSON path of the ballot, for the paths of its elements in error messages."""

    def ballot_hash(self, ctx: ElectionContext) -> bytes:
        """The ballot hash (a hash of the bytes: it assumes nothing about the elements)."""
        return self.unchecked.ballot_hash(ctx)

    def element_path(self, contest: int, selection: int, component: str) -> str:
        return f"{self.what}.contests[{contest}].selections[{selection}].ciphertext.{component}"

    def elements(self) -> list[tuple[int, str]]:
        """Every α and β with its JSON path, in document order."""
        out = []
        for ci, contest in enumerate(self.unchecked.contests):
            for si, sel in enumerate(contest.selections):
                out.append((sel.ciphertext.alpha, self.element_path(ci, si, "alpha")))
                out.append((sel.ciphertext.beta, self.element_path(ci, si, "beta")))
        return out

    def require_members(self, group: Group, *, bits: int = DEFAULT_BITS) -> EncryptedBallot:
        """The ballot, once every α and β passed one batched membership test; otherwise
        ``GroupMembershipError`` naming the first element that is not in the subgroup."""
        require_members(group, self.elements(), bits=bits)
        return self.unchecked


def parse_unchecked_ballot(group: Group, obj: object, what: str = "ballot") -> UncheckedBallot:
    """Strict parse of a ballot's JSON (exact fields, canonical hex, every element and scalar in
    range) without the membership test of α and β, which the caller batches."""
    d = _fields(obj, {"style", "credential", "contests", "signature"}, what)
    if not isinstance(d["style"], str):
        raise EncodingError(tr(f"{what}.style: se esperaba texto", f"{what}.style: expected text"))
    credential = hex_to_bytes(d["credential"], ed25519.PUBLIC_KEY_BYTES, f"{what}.credential")
    sig_hex = d["signature"]
    signature = b"" if sig_hex == "" else hex_to_bytes(sig_hex, ed25519.SIGNATURE_BYTES,
                                                       f"{what}.signature")
    contests_raw = d["contests"]
    if not isinstance(contests_raw, list):
        raise EncodingError(tr(f"{what}.contests: se esperaba una lista",
                               f"{what}.contests: expected a list"))
    contests = []
    for ci, craw in enumerate(contests_raw):
        cw = f"{what}.contests[{ci}]"
        cd = _fields(craw, {"index", "selections", "sum_proof"}, cw)
        index = cd["index"]
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 2**32:
            raise EncodingError(tr(f"{cw}.index: entero no válido", f"{cw}.index: invalid integer"))
        sels_raw = cd["selections"]
        if not isinstance(sels_raw, list):
            raise EncodingError(tr(f"{cw}.selections: se esperaba una lista",
                                   f"{cw}.selections: expected a list"))
        selections = []
        for si, sraw in enumerate(sels_raw):
            sw = f"{cw}.selections[{si}]"
            sd = _fields(sraw, {"ciphertext", "proof"}, sw)
            selections.append(EncryptedSelection(
                Ciphertext.from_json(group, sd["ciphertext"], f"{sw}.ciphertext", membership=False),
                ZeroOneProof.from_json(group, sd["proof"], f"{sw}.proof"),
            ))
        contests.append(EncryptedContest(
            index, tuple(selections),
            ChaumPedersenProof.from_json(group, cd["sum_proof"], f"{cw}.sum_proof"),
        ))
    return UncheckedBallot(EncryptedBallot(d["style"], credential, tuple(contests), signature), what)


def decode_unchecked_ballot(group: Group, dec: Decoder) -> UncheckedBallot:
    """Read a ballot's canonical encoding (protocol §12.4, without the signature) from ``dec``:
    every element and scalar range-checked, α and β NOT yet tested for membership. Paths in errors
    are the ballot's JSON paths, so a problem is named alike in both storage forms of the board."""
    style = dec.string(".style")
    credential = dec.fixed(ed25519.PUBLIC_KEY_BYTES, ".credential")
    contests = []
    for ci in range(dec.u32(".contests")):
        cw = f".contests[{ci}]"
        index = dec.u32(f"{cw}.index")
        selections = []
        for si in range(dec.u32(f"{cw}.selections")):
            sw = f"{cw}.selections[{si}]"
            ct = Ciphertext(dec.element(f"{sw}.ciphertext.alpha"), dec.element(f"{sw}.ciphertext.beta"))
            a0, b0, a1, b1 = (dec.element(f"{sw}.proof.{k}") for k in ("a0", "b0", "a1", "b1"))
            c0, c1, v0, v1 = (dec.scalar(f"{sw}.proof.{k}") for k in ("c0", "c1", "v0", "v1"))
            selections.append(EncryptedSelection(ct, ZeroOneProof(a0, b0, a1, b1, c0, c1, v0, v1)))
        sum_proof = ChaumPedersenProof(dec.element(f"{cw}.sum_proof.commitment_g"),
                                       dec.element(f"{cw}.sum_proof.commitment_h"),
                                       dec.scalar(f"{cw}.sum_proof.response"))
        contests.append(EncryptedContest(index, tuple(selections), sum_proof))
    return UncheckedBallot(EncryptedBallot(style, credential, tuple(contests)), dec.what)


def ballot_hash_of_encoding(ctx: ElectionContext, encoded: bytes | memoryview) -> bytes:
    """H("sivei/ballot", H_E ‖ encode(ballot)) from the canonical encoding itself (a stored board
    holds it: hashing the stored bytes after a strict decode is hashing the re-encoding)."""
    return tagged_hash(TAG_BALLOT, ctx.election_hash + bytes(encoded))


def _fields(obj: object, keys: set[str], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise EncodingError(tr(f"{what}: se esperaba un objeto JSON", f"{what}: expected a JSON object"))
    if set(obj) != keys:
        missing = sorted(keys - set(obj))
        extra = sorted(set(obj) - keys)
        raise EncodingError(tr(f"{what}: campos faltantes {missing}, sobrantes {extra}",
                               f"{what}: missing fields {missing}, unexpected {extra}"))
    return obj


def signature_message(ctx: ElectionContext, ballot_hash: bytes) -> bytes:
    """What the credential signs: the tag, H_E and the ballot hash."""
    return Encoder().string(TAG_BALLOT_SIGNATURE).fixed(ctx.election_hash, 32).fixed(
        ballot_hash, 32).to_bytes()


def new_ballot_nonce() -> bytes:
    return secrets.token_bytes(BALLOT_NONCE_BYTES)


def resolve_choices(ctx: ElectionContext, style: str,
                    choices: Mapping[str, str]) -> tuple[tuple[int, int], ...]:
    """Map contest id → option id to (contest index, option index) over the style's contests.

    A contest left unmarked is encoded as its "voto nulo" option (as the review screen shows)."""
    style_contests = ctx.manifest.style_contests(style)
    known = {c.id for _, c in style_contests}
    for cid in choices:
        if cid not in known:
            raise BallotError(tr(f"la contienda «{cid}» no pertenece al tipo de boleta {style}",
                                 f"contest «{cid}» is not on ballot style {style}"))
    out = []
    for index, contest in style_contests:
        if contest.id in choices:
            out.append((index, contest.option_index(choices[contest.id])))
        else:
            out.append((index, contest.null_option_index))
    return tuple(out)


def encrypt_ballot(ctx: ElectionContext, style: str, choices: Mapping[str, str], credential: bytes,
                   ballot_nonce: bytes) -> EncryptedBallot:
    """Encrypt one choice per contest of ``style`` (unsigned: sign it to cast, or challenge it)."""
    if len(ballot_nonce) != BALLOT_NONCE_BYTES:
        raise BallotError(tr("el nonce de la boleta debe tener 32 bytes",
                             "the ballot nonce must be 32 bytes"))
    group, key, h_e = ctx.group, ctx.key, ctx.election_hash
    q = group.q
    contests = []
    for index, chosen in resolve_choices(ctx, style, choices):
        contest = ctx.manifest.contests[index]
        selections = []
        total_nonce = 0
        total_alpha, total_beta = 1, 1
        for oi in range(len(contest.options)):
            m = 1 if oi == chosen else 0

            def nonce(purpose: str, oi: int = oi, index: int = index) -> int:
                return derive_nonce(group, h_e, ballot_nonce, index, oi, purpose)

            xi = nonce(PURPOSE_ENCRYPT)
            ct = key.encrypt(m, xi)
            proof = prove_zero_one(
                key, ct, m, xi,
                ZeroOneNonces(nonce(PURPOSE_REAL_COMMIT), nonce(PURPOSE_FAKE_CHALLENGE),
                              nonce(PURPOSE_FAKE_COMMIT)),
                context=h_e, statement=selection_statement(credential, index, oi),
            )
            selections.append(EncryptedSelection(ct, proof))
            total_nonce = (total_nonce + xi) % q
            total_alpha = group.mul(total_alpha, ct.alpha)
            total_beta = group.mul(total_beta, ct.beta)
        votes = contest.votes_allowed
        sum_proof = prove_chaum_pedersen(
            group, total_nonce, key.element, total_alpha,
            group.div(total_beta, group.g_pow(votes)),
            context=h_e, statement=contest_statement(credential, index, votes),
            nonce=derive_nonce(group, h_e, ballot_nonce, index, CONTEST_LEVEL, PURPOSE_SUM_COMMIT),
            pow_g=key.g_table.pow, pow_h=key.k_table.pow,
        )
        contests.append(EncryptedContest(index, tuple(selections), sum_proof))
    return EncryptedBallot(style, credential, tuple(contests))


def sign_ballot(ctx: ElectionContext, ballot: EncryptedBallot, credential_seed: bytes) -> EncryptedBallot:
    """Cast: sign the ballot hash with the credential's Ed25519 key."""
    if ed25519.public_key_from_seed(credential_seed) != ballot.credential:
        raise BallotError(tr("la credencial no corresponde a la boleta",
                             "the credential does not match the ballot"))
    sig = ed25519.sign(credential_seed, signature_message(ctx, ballot.ballot_hash(ctx)))
    return replace(ballot, signature=sig)
